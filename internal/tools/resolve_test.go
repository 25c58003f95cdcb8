package tools

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/emulator"
)

// TestReadsSayWhatTheyResolved: a read may take part of a name, and then says in text and structured result what
// it matched; an exact name says nothing extra.
func TestReadsSayWhatTheyResolved(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	tests := []struct {
		tool string
		args map[string]any
		want string // in Resolved; "" for none
	}{
		{"get_environment", map[string]any{"environment": "prod"}, `environment "prod" → production (`},
		{"get_environment", map[string]any{"environment": "production"}, ""},
		{"get_environment", map[string]any{"environment": "PRODUCTION"}, `environment "PRODUCTION" → production (`},
		{"get_monitor", map[string]any{"monitor": "nightly"}, `monitor "nightly" → Orders API nightly regression (`},
		{"list_collections", map[string]any{"workspace": "Payments Plat"}, `workspace "Payments Plat" → Payments Platform (`},
		{"get_workspace", map[string]any{"workspace": "orders &"}, `workspace "orders &" → Orders & Checkout (`},
	}
	for _, tc := range tests {
		t.Run(tc.tool+"/"+tc.want, func(t *testing.T) {
			res := f.mustCall(t, tc.tool, tc.args)
			b, _ := json.Marshal(res)
			var sc struct {
				Resolved string `json:"resolved"`
			}
			_ = json.Unmarshal(b, &sc)
			if tc.want == "" {
				if sc.Resolved != "" {
					t.Errorf("exact name, yet resolved = %q", sc.Resolved)
				}
				return
			}
			if !strings.HasPrefix(sc.Resolved, tc.want) {
				t.Errorf("structured resolved = %q, want prefix %q", sc.Resolved, tc.want)
			}
			if !strings.Contains(res.Text(), tc.want) {
				t.Errorf("text does not say what it resolved:\n%s", res.Text())
			}
		})
	}
}

// TestModeFollowsTheTool: the resolution mode comes from the tool's annotations, not from its code.
func TestModeFollowsTheTool(t *testing.T) {
	if ModeOf(context.Background()) != Exact {
		t.Error("outside a tool call the mode must be Exact")
	}
	for _, tl := range All() {
		var got Mode = -1
		probe := define(Tool{Name: tl.Name, Hints: tl.Hints}, func(ctx context.Context, _ *Env, _ struct{}) (Change, error) {
			got = ModeOf(ctx)
			return Change{}, nil
		})
		if _, err := probe.run(context.Background(), &Env{}, nil); err != nil {
			t.Fatal(err)
		}
		want := Exact
		if tl.Hints.ReadOnly {
			want = Forgiving
		}
		if got != want {
			t.Errorf("%s (readOnly=%v) resolves in mode %d, want %d", tl.Name, tl.Hints.ReadOnly, got, want)
		}
	}
}
