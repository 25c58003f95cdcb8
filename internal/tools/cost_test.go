package tools

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
)

// sendLog records the requests that reach the emulator, in order.
type sendLog struct {
	mu   sync.Mutex
	next http.RoundTripper
	sent []string
}

func (l *sendLog) RoundTrip(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.sent = append(l.sent, req.Method+" "+req.URL.Path)
	l.mu.Unlock()
	return l.next.RoundTrip(req)
}

// matches says whether "METHOD /path" is a request of c ("{id}" matches one segment).
func (c Call) matches(sent string) bool {
	method, path, _ := strings.Cut(sent, " ")
	want, got := strings.Split(strings.Trim(c.Path, "/"), "/"), strings.Split(strings.Trim(path, "/"), "/")
	if method != c.Method || len(want) != len(got) {
		return false
	}
	for i, w := range want {
		if w != got[i] && !(strings.HasPrefix(w, "{") && got[i] != "") {
			return false
		}
	}
	return true
}

// TestPlansMatchCalls: each declared plan is the calls its tool makes, in order, on a gate with an empty cache
// (the demo emulator; a step of N requests is N requests of its path one after the other in the log, in any
// order among themselves). A handler that gains or loses a call fails here until its plan says so.
func TestPlansMatchCalls(t *testing.T) {
	cases := []struct {
		tool string
		args map[string]any
	}{
		{"get_account", nil},
		{"list_workspaces", nil},
		{"get_workspace", map[string]any{"workspace": emulator.DemoWorkspacePayments}},
		{"list_collections", nil},
		{"list_collections", map[string]any{"workspace": emulator.DemoWorkspaceOrders}},
		{"get_collection", map[string]any{"collection": emulator.DemoCollectionOrders}},
		{"list_environments", nil},
		{"get_environment", map[string]any{"environment": "staging"}},
		{"list_monitors", nil},
		{"list_monitors", map[string]any{"status": false}},
		{"get_monitor", map[string]any{"monitor": emulator.DemoMonitorFailing}},
		{"list_mocks", nil},
	}
	for _, tc := range cases {
		raw, _ := json.Marshal(tc.args)
		t.Run(tc.tool+string(raw), func(t *testing.T) {
			emu := emulator.New(emulator.Options{RoutePerWindow: 10_000})
			srv := httptest.NewServer(emu)
			t.Cleanup(func() { srv.Close(); _ = emu.Close() })
			log := &sendLog{next: srv.Client().Transport}
			gate := ratelimit.New(log, ratelimit.Options{Cache: api.CacheRules()})
			c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: srv.URL, Gate: gate})
			if err != nil {
				t.Fatal(err)
			}
			tool, ok := Lookup(tc.tool)
			if !ok {
				t.Fatalf("no tool %s", tc.tool)
			}
			if _, err := tool.Call(context.Background(), &Env{Client: c, Budget: c.RateBudget, Runs: NewRunLog(4)}, raw); err != nil {
				t.Fatalf("%s: %v", tc.tool, err)
			}
			plan := tool.Plan(raw) // after the call: list_monitors' fan-out is the page it just listed
			if plan == nil {
				t.Fatalf("%s declares no plan", tc.tool)
			}
			var want []Call
			for _, step := range plan {
				for range step.Count() {
					want = append(want, step)
				}
			}
			if len(want) != len(log.sent) {
				t.Fatalf("plan %+v, sent %q", plan, log.sent)
			}
			for i, s := range log.sent {
				if !want[i].matches(s) {
					t.Errorf("request %d is %s, the plan says %s %s (plan %+v, sent %q)", i, s, want[i].Method, want[i].Path, plan, log.sent)
				}
			}
		})
	}
}

// TestPlanOfUnknownTool: a tool without a declared plan says so (nil), so adapters fall back to other estimates.
func TestPlanOfUnknownTool(t *testing.T) {
	tool, ok := Lookup("run_monitor")
	if !ok {
		t.Fatal("no run_monitor")
	}
	if p := tool.Plan(json.RawMessage(`{"monitor":"x"}`)); p != nil {
		t.Errorf("run_monitor plan = %+v, want none", p)
	}
}
