package tools

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var snakeVerbNoun = regexp.MustCompile(`^[a-z]+(_[a-z]+)+$`)

func TestCatalogInvariants(t *testing.T) {
	seen := map[string]bool{}
	sets := map[Toolset]int{}
	for _, tool := range All() {
		t.Run(tool.Name, func(t *testing.T) {
			if seen[tool.Name] {
				t.Fatalf("duplicate tool name")
			}
			seen[tool.Name] = true
			if !snakeVerbNoun.MatchString(tool.Name) {
				t.Errorf("name is not snake_case verb_noun")
			}
			if len(tool.Description) < 40 || tool.Title == "" {
				t.Errorf("needs a title and a description that tells when to use it")
			}
			if !knownToolset(tool.Toolset) {
				t.Errorf("unknown toolset %q", tool.Toolset)
			}
			sets[tool.Toolset]++
			if tool.Hints.ReadOnly && tool.Hints.Destructive {
				t.Errorf("read-only tools cannot be destructive")
			}
			if !tool.Hints.OpenWorld {
				t.Errorf("every tool calls Postman, so open-world must be true")
			}
			if strings.HasPrefix(tool.Name, "delete_") && !tool.Hints.Destructive {
				t.Errorf("deletes must be marked destructive")
			}
			for _, which := range []struct {
				name string
				raw  json.RawMessage
			}{{"input", tool.InputSchema}, {"output", tool.OutputSchema}} {
				var s map[string]any
				if err := json.Unmarshal(which.raw, &s); err != nil {
					t.Fatalf("%s schema: %v", which.name, err)
				}
				if s["type"] != "object" {
					t.Errorf("%s schema type = %v, want object", which.name, s["type"])
				}
				for _, bad := range []string{"anyOf", "oneOf", "allOf"} {
					if _, ok := s[bad]; ok {
						t.Errorf("%s schema has top-level %s", which.name, bad)
					}
				}
			}
		})
	}
	for _, ts := range Toolsets() {
		if sets[ts.ID] == 0 {
			t.Errorf("toolset %s has no tools", ts.ID)
		}
	}
}

// TestWritesNeedConfirmation checks that every destructive tool previews unless confirm=true is passed, except
// the variable removal, whose preview is dry_run.
func TestWritesNeedConfirmation(t *testing.T) {
	for _, tool := range All() {
		if !tool.Hints.Destructive {
			continue
		}
		var s struct {
			Properties map[string]any `json:"properties"`
		}
		_ = json.Unmarshal(tool.InputSchema, &s)
		_, confirm := s.Properties["confirm"]
		_, dry := s.Properties["dry_run"]
		if !confirm && !dry {
			t.Errorf("%s is destructive but has neither confirm nor dry_run", tool.Name)
		}
	}
}

// TestSchemaSnapshots keeps every tool's public surface under review: a change to a schema, description or hint
// shows up as a diff of testdata/schemas. Run with -update to accept it.
func TestSchemaSnapshots(t *testing.T) {
	var names []string
	for _, tool := range All() {
		names = append(names, tool.Name+".json")
		snap := map[string]any{
			"name": tool.Name, "title": tool.Title, "description": tool.Description, "toolset": tool.Toolset,
			"hints": map[string]bool{"readOnly": tool.Hints.ReadOnly, "destructive": tool.Hints.Destructive,
				"idempotent": tool.Hints.Idempotent, "openWorld": tool.Hints.OpenWorld},
			"inputSchema": json.RawMessage(tool.InputSchema), "outputSchema": json.RawMessage(tool.OutputSchema),
		}
		got, err := json.MarshalIndent(snap, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		path := filepath.Join("testdata", "schemas", tool.Name+".json")
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("no snapshot for %s: run go test ./internal/tools -run TestSchemaSnapshots -update and review it", tool.Name)
			continue
		}
		if !bytes.Equal(want, got) {
			t.Errorf("schema of %s changed (run with -update to accept):\n%s", tool.Name, got)
		}
	}
	entries, _ := os.ReadDir(filepath.Join("testdata", "schemas"))
	for _, e := range entries {
		if !slices.Contains(names, e.Name()) {
			t.Errorf("stale snapshot %s: its tool is gone; delete it", e.Name())
		}
	}
}

func TestSelect(t *testing.T) {
	count := func(sel Selection) (int, error) {
		list, err := Select(sel)
		return len(list), err
	}
	all := len(All())
	defaults := 0
	for _, tool := range All() {
		for _, ts := range Toolsets() {
			if ts.ID == tool.Toolset && ts.Default {
				defaults++
			}
		}
	}
	if defaults == 0 || defaults == all {
		t.Fatalf("%d of %d tools are in default toolsets; the defaults are a core subset", defaults, all)
	}
	tests := []struct {
		name    string
		sel     Selection
		want    int
		wantErr string
	}{
		{"defaults", Selection{}, defaults, ""},
		{"default plus one", Selection{Toolsets: []string{"default", "mocks"}}, defaults + 2, ""},
		{"all", Selection{Toolsets: []string{"all"}}, all, ""},
		{"one toolset", Selection{Toolsets: []string{"mocks"}}, 2, ""},
		{"tools alone", Selection{Tools: []string{"get_account", "list_mocks"}}, 2, ""},
		{"toolset plus tool", Selection{Toolsets: []string{"mocks"}, Tools: []string{"get_account"}}, 3, ""},
		{"exclude wins", Selection{Toolsets: []string{"mocks"}, Exclude: []string{"get_mock"}}, 1, ""},
		{"unknown toolset", Selection{Toolsets: []string{"monitor"}}, 0, `unknown toolset "monitor"`},
		{"unknown tool suggests", Selection{Tools: []string{"get_acount"}}, 0, `did you mean "get_account"`},
		{"unknown exclude", Selection{Exclude: []string{"nope_nope"}}, 0, "unknown tool"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := count(tc.sel)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	ro, _ := Select(Selection{ReadOnly: true, Toolsets: []string{"all"}})
	for _, tool := range ro {
		if !tool.Hints.ReadOnly {
			t.Errorf("read-only selection serves %s", tool.Name)
		}
	}
	if len(ro) == 0 || len(ro) == all {
		t.Errorf("read-only selection has %d of %d tools", len(ro), all)
	}
}

func TestInstructionsFollowSelection(t *testing.T) {
	mocks, _ := Select(Selection{Toolsets: []string{"mocks"}})
	monitors, _ := Select(Selection{Toolsets: []string{"monitors"}})
	if strings.Contains(Instructions(mocks), "explain_monitor_failure") {
		t.Error("instructions mention a monitor tool that is not served")
	}
	if !strings.Contains(Instructions(monitors), "explain_monitor_failure") {
		t.Error("instructions miss the monitors guidance")
	}
}
