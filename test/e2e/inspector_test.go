package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/newman/newmantest"
	"github.com/pmops/pmops/internal/tools"
)

// inspectorTimeout bounds one inspector run: Node start-up plus an embedded-emulator demo server.
const inspectorTimeout = 60 * time.Second

// forbidden are strings no output of the demo server may contain: the demo's secret variable values and its
// API key.
func forbidden() []string { return append(emulator.DemoSecretValues(), emulator.DemoKey) }

// inspect runs the MCP inspector CLI against `mcp -demo` over stdio with the given inspector arguments, and
// fails the test if any output contains a demo secret or the demo key.
func inspect(t *testing.T, args ...string) result {
	t.Helper()
	return inspectEnv(t, nil, args...)
}

// inspectEnv is inspect with extra environment for the server (the inspector passes its environment on).
func inspectEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	res := inspectRaw(t, env, args...)
	assertNoLeak(t, "inspector "+strings.Join(args, " "), forbidden(), res.stdout, res.stderr)
	return res
}

func inspectRaw(t *testing.T, env []string, args ...string) result {
	t.Helper()
	inspector := npmTool(t, "INSPECTOR")
	argv := append([]string{inspector, "--cli", mcpBin, "-demo"}, args...)
	return runCommand(t, inspectorTimeout, t.TempDir(), cleanEnv(env...), argv...)
}

// toolCallResult is the raw tools/call result the inspector prints.
type toolCallResult struct {
	Content []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
	StructuredContent map[string]any `json:"structuredContent"`
	IsError           *bool          `json:"isError"`
}

func (r toolCallResult) text() string {
	var parts []string
	for _, c := range r.Content {
		if c.Type == "text" {
			parts = append(parts, c.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// callTool runs tools/call through the inspector; args values are JSON-encoded because the inspector
// JSON.parses every --tool-arg value (an unquoted "123" would arrive as a number).
func callTool(t *testing.T, tool string, args map[string]any) (toolCallResult, result) {
	t.Helper()
	argv := []string{"--method", "tools/call", "--tool-name", tool}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, err := json.Marshal(args[k])
		if err != nil {
			t.Fatal(err)
		}
		argv = append(argv, "--tool-arg", k+"="+string(v))
	}
	// Calls reach every toolset, not only the default ones tools/list is checked against.
	env := []string{"PMOPS_TOOLSETS=all"}
	if nm := newmantest.Find(); nm != "" {
		env = append(env, "PMOPS_NEWMAN="+nm)
	}
	res := inspectEnv(t, env, argv...)
	if res.exitCode != 0 {
		t.Fatalf("inspector tools/call %s exited %d\nstdout:\n%s\nstderr:\n%s", tool, res.exitCode, tail(res.stdout), tail(res.stderr))
	}
	var out toolCallResult
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("inspector tools/call %s: stdout is not a JSON result: %v\n%s", tool, err, tail(res.stdout))
	}
	return out, res
}

func TestInspectorToolsList(t *testing.T) {
	t.Parallel()
	res := inspect(t, "--method", "tools/list")
	if res.exitCode != 0 {
		t.Fatalf("inspector tools/list exited %d\nstderr:\n%s", res.exitCode, tail(res.stderr))
	}
	var list struct {
		Tools []struct {
			Name         string         `json:"name"`
			Description  string         `json:"description"`
			InputSchema  map[string]any `json:"inputSchema"`
			OutputSchema map[string]any `json:"outputSchema"`
			Annotations  map[string]any `json:"annotations"`
		} `json:"tools"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &list); err != nil {
		t.Fatalf("tools/list output is not JSON: %v\n%s", err, tail(res.stdout))
	}
	want, err := tools.Select(tools.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	var wantNames, gotNames []string
	for _, w := range want {
		wantNames = append(wantNames, w.Name)
	}
	toolsets := map[tools.Toolset]bool{}
	for _, tool := range list.Tools {
		gotNames = append(gotNames, tool.Name)
		if def, ok := tools.Lookup(tool.Name); ok {
			toolsets[def.Toolset] = true
		}
		if strings.TrimSpace(tool.Description) == "" {
			t.Errorf("%s: no description", tool.Name)
		}
		if tool.InputSchema["type"] != "object" {
			t.Errorf("%s: inputSchema type is %v, want object", tool.Name, tool.InputSchema["type"])
		}
		if tool.OutputSchema == nil || tool.OutputSchema["type"] != "object" {
			t.Errorf("%s: outputSchema missing or not an object schema: %v", tool.Name, tool.OutputSchema)
		}
		for _, hint := range []string{"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} {
			if _, ok := tool.Annotations[hint].(bool); !ok {
				t.Errorf("%s: annotation %s is not set (annotations %v)", tool.Name, hint, tool.Annotations)
			}
		}
	}
	slices.Sort(wantNames)
	slices.Sort(gotNames)
	if !slices.Equal(gotNames, wantNames) {
		t.Errorf("tools/list names = %v\nwant the default selection %v", gotNames, wantNames)
	}
	for _, ts := range tools.Toolsets() {
		if ts.Default && !toolsets[ts.ID] {
			t.Errorf("default toolset %s has no tool in tools/list", ts.ID)
		}
	}
}

func TestInspectorToolCalls(t *testing.T) {
	t.Parallel()
	tests := []struct {
		toolset string
		tool    string
		args    map[string]any
		check   func(t *testing.T, sc map[string]any, text string)
	}{
		{"account", "get_account", nil, func(t *testing.T, sc map[string]any, text string) {
			if sc["username"] != "dana-okafor" || sc["user_id"] != float64(emulator.DemoUserID) {
				t.Errorf("get_account answered for %v (%v), want dana-okafor (%d)", sc["username"], sc["user_id"], emulator.DemoUserID)
			}
		}},
		{"workspaces", "list_workspaces", nil, func(t *testing.T, sc map[string]any, text string) {
			requireItemNamed(t, sc, emulator.DemoWorkspacePayments)
		}},
		{"collections", "get_collection", map[string]any{"collection": emulator.DemoCollectionPayments}, func(t *testing.T, sc map[string]any, text string) {
			if sc["name"] != emulator.DemoCollectionPayments {
				t.Errorf("name = %v, want %q", sc["name"], emulator.DemoCollectionPayments)
			}
			if n, _ := sc["requests"].(float64); n < 100 {
				t.Errorf("requests = %v, want the seed's ~300", sc["requests"])
			}
			if items, _ := sc["items"].([]any); len(items) == 0 {
				t.Error("no outline items")
			}
		}},
		{"environments", "get_environment", map[string]any{"environment": "staging"}, func(t *testing.T, sc map[string]any, text string) {
			vars, _ := sc["variables"].([]any)
			secrets := 0
			for _, v := range vars {
				m, _ := v.(map[string]any)
				if m["type"] != "secret" {
					continue
				}
				secrets++
				if m["masked"] != true {
					t.Errorf("secret variable %v is not marked masked: %v", m["key"], m)
				}
			}
			if secrets == 0 {
				t.Errorf("staging has no secret variables in structuredContent; the masking check checked nothing: %v", vars)
			}
			if !strings.Contains(text, "[secret]") {
				t.Errorf("text does not mark secret variables:\n%s", text)
			}
		}},
		{"monitors", "list_monitors", nil, func(t *testing.T, sc map[string]any, text string) {
			requireItemNamed(t, sc, emulator.DemoMonitorFailing)
		}},
		{"monitors", "explain_monitor_failure", map[string]any{"monitor": emulator.DemoMonitorFailing, "rerun": true}, func(t *testing.T, sc map[string]any, text string) {
			if sc["passed"] != false {
				t.Errorf("passed = %v, want false for the always-failing monitor", sc["passed"])
			}
			failures, _ := sc["failures"].([]any)
			found := false
			for _, f := range failures {
				if m, _ := f.(map[string]any); m["request"] == "Create order" {
					found = true
				}
			}
			if !found {
				t.Errorf("failures do not name the failing request \"Create order\": %v", failures)
			}
		}},
		{"mocks", "list_mocks", nil, func(t *testing.T, sc map[string]any, text string) {
			requireItemNamed(t, sc, "Payments API mock")
		}},
		// Real Newman, offline: the demo staging environment points the Payments API at the emulator's mock.
		{"runs", "run_collection", map[string]any{"collection": "Payments API", "environment": "staging"}, func(t *testing.T, sc map[string]any, text string) {
			totals, _ := sc["totals"].(map[string]any)
			if sc["status"] != "failed" || totals["failed_assertions"] != float64(1) {
				t.Errorf("want exactly one failing assertion; got %v %v\n%s", sc["status"], totals, text)
			}
		}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.toolset] = true
	}
	for _, ts := range tools.Toolsets() {
		if !covered[string(ts.ID)] {
			t.Errorf("toolset %s has no tools/call case here; add one", ts.ID)
		}
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			t.Parallel()
			out, _ := callTool(t, tt.tool, tt.args)
			if out.IsError != nil && *out.IsError {
				t.Fatalf("%s returned isError: %s", tt.tool, out.text())
			}
			if out.StructuredContent == nil {
				t.Fatalf("%s: no structuredContent; text:\n%s", tt.tool, out.text())
			}
			if strings.TrimSpace(out.text()) == "" {
				t.Errorf("%s: empty text content", tt.tool)
			}
			tt.check(t, out.StructuredContent, out.text())
		})
	}
}

func requireItemNamed(t *testing.T, sc map[string]any, name string) {
	t.Helper()
	items, _ := sc["items"].([]any)
	var names []string
	for _, it := range items {
		m, _ := it.(map[string]any)
		n := fmt.Sprint(m["name"])
		if n == name {
			return
		}
		names = append(names, n)
	}
	t.Errorf("no item named %q among %q", name, names)
}

// TestInspectorRevealShowsSecrets proves the leak checks above can fail: asked to reveal, the server shows the
// very values emulator.DemoSecretValues lists.
func TestInspectorRevealShowsSecrets(t *testing.T) {
	t.Parallel()
	res := inspectRaw(t, nil, "--method", "tools/call", "--tool-name", "get_environment",
		"--tool-arg", `environment="staging"`, "--tool-arg", "reveal=true")
	if res.exitCode != 0 {
		t.Fatalf("exit code %d\nstderr:\n%s", res.exitCode, tail(res.stderr))
	}
	shown := 0
	for _, s := range emulator.DemoSecretValues() {
		if strings.Contains(res.stdout, s) {
			shown++
		}
	}
	if shown == 0 {
		t.Fatalf("reveal=true showed none of the demo secret values; the no-leak assertions would be vacuous:\n%s", tail(res.stdout))
	}
}

func TestInspectorErrors(t *testing.T) {
	t.Parallel()
	t.Run("unknown monitor", func(t *testing.T) {
		t.Parallel()
		out, _ := callTool(t, "get_monitor", map[string]any{"monitor": "nonexistent"})
		if out.IsError == nil || !*out.IsError {
			t.Fatalf("isError = %v, want true; result: %s", out.IsError, out.text())
		}
		if !strings.Contains(out.text(), "nonexistent") || !strings.Contains(out.text(), "list_monitors") {
			t.Errorf("error text should name the query and the tool that lists monitors:\n%s", out.text())
		}
	})
	t.Run("misspelt monitor gets candidates", func(t *testing.T) {
		t.Parallel()
		typo := strings.Replace(emulator.DemoMonitorFailing, "regression", "regresion", 1)
		out, _ := callTool(t, "get_monitor", map[string]any{"monitor": typo})
		if out.IsError == nil || !*out.IsError {
			t.Fatalf("isError = %v, want true; result: %s", out.IsError, out.text())
		}
		if !strings.Contains(out.text(), "did you mean") || !strings.Contains(out.text(), emulator.DemoMonitorFailing) {
			t.Errorf("error text should offer %q as a candidate:\n%s", emulator.DemoMonitorFailing, out.text())
		}
	})
	t.Run("unknown tool", func(t *testing.T) {
		t.Parallel()
		res := inspect(t, "--method", "tools/call", "--tool-name", "no_such_tool")
		if res.exitCode != 1 {
			t.Fatalf("exit code %d, want 1 (a JSON-RPC error)\nstdout:\n%s\nstderr:\n%s", res.exitCode, tail(res.stdout), tail(res.stderr))
		}
		if !strings.Contains(res.stderr, "no_such_tool") {
			t.Errorf("stderr does not name the unknown tool:\n%s", tail(res.stderr))
		}
	})
}
