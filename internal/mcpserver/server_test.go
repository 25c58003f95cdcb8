package mcpserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/tools"
)

func demoEnv(t *testing.T) *tools.Env {
	t.Helper()
	emu := emulator.New(emulator.Options{RoutePerWindow: 10_000})
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: srv.URL,
		Gate: ratelimit.New(srv.Client().Transport, ratelimit.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	return &tools.Env{Client: c, Budget: c.RateBudget, Runs: tools.NewRunLog(8)}
}

// all serves every toolset (the defaults leave some out).
var all = tools.Selection{Toolsets: []string{"all"}}

func start(t *testing.T, sel tools.Selection, env *tools.Env) *client.Client {
	t.Helper()
	s, err := New(Options{Selection: sel, Env: func(context.Context) (*tools.Env, error) { return env, nil }})
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewInProcessClient(s)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = "2025-06-18"
	req.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
	res, err := c.Initialize(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Instructions, "next_cursor") {
		t.Errorf("instructions missing: %q", res.Instructions)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func callTool(t *testing.T, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	return res
}

func textOf(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestToolsListCarriesEveryHintAndSchema(t *testing.T) {
	c := start(t, all, demoEnv(t))
	res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tools) != len(tools.All()) {
		t.Fatalf("listed %d tools, want %d", len(res.Tools), len(tools.All()))
	}
	for _, tool := range res.Tools {
		a := tool.Annotations
		if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil || a.Title == "" {
			t.Errorf("%s: annotations not all set: %+v", tool.Name, a)
		}
		var wire map[string]json.RawMessage
		b, _ := json.Marshal(tool)
		_ = json.Unmarshal(b, &wire)
		if len(wire["inputSchema"]) < 10 || len(wire["outputSchema"]) < 10 {
			t.Errorf("%s: missing input or output schema", tool.Name)
		}
		def, _ := tools.Lookup(tool.Name)
		if *a.ReadOnlyHint != def.Hints.ReadOnly || *a.DestructiveHint != def.Hints.Destructive {
			t.Errorf("%s: hints differ from the tool definition", tool.Name)
		}
	}
}

func TestCallReturnsStructuredAndText(t *testing.T) {
	c := start(t, all, demoEnv(t))
	res := callTool(t, c, "get_environment", map[string]any{"environment": "staging"})
	if res.IsError {
		t.Fatalf("isError: %s", textOf(res))
	}
	if res.StructuredContent == nil {
		t.Fatal("no structuredContent")
	}
	b, _ := json.Marshal(res)
	for _, secret := range emulator.DemoSecretValues() {
		if strings.Contains(string(b), secret) {
			t.Fatalf("MCP result leaks secret %q", secret)
		}
	}
	if !strings.Contains(textOf(res), "baseUrl = ") {
		t.Fatalf("text rendering: %s", textOf(res))
	}
}

func TestErrorsAreToolResults(t *testing.T) {
	c := start(t, all, demoEnv(t))
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"get_monitor", map[string]any{"monitor": "Orders nightly"}, "did you mean"},
		{"get_monitor", map[string]any{}, "required"},
		{"list_monitors", map[string]any{"limit": "lots"}, "whole number"},
	} {
		res := callTool(t, c, tc.tool, tc.args)
		if !res.IsError || !strings.Contains(textOf(res), tc.want) {
			t.Errorf("%s(%v): isError=%v %q, want an error result mentioning %q", tc.tool, tc.args, res.IsError, textOf(res), tc.want)
		}
		if res.StructuredContent != nil {
			t.Errorf("%s: error results carry no structuredContent", tc.tool)
		}
	}
}

func TestReadOnlyHidesAndRefusesWrites(t *testing.T) {
	c := start(t, tools.Selection{Toolsets: []string{"all"}, ReadOnly: true}, demoEnv(t))
	list, _ := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	for _, tool := range list.Tools {
		if !*tool.Annotations.ReadOnlyHint {
			t.Errorf("read-only server lists %s", tool.Name)
		}
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = "delete_monitor"
	req.Params.Arguments = map[string]any{"monitor": "Legacy billing sync", "confirm": true}
	if _, err := c.CallTool(context.Background(), req); err == nil {
		t.Fatal("a hidden write tool could still be called")
	}
}

func TestRunMonitorSendsProgress(t *testing.T) {
	c := start(t, all, demoEnv(t))
	var mu sync.Mutex
	var got []mcp.JSONRPCNotification
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
	})
	req := mcp.CallToolRequest{}
	req.Params.Name = "run_monitor"
	req.Params.Arguments = map[string]any{"monitor": "Orders API nightly regression"}
	req.Params.Meta = &mcp.Meta{ProgressToken: "tok-1"}
	res, err := c.CallTool(context.Background(), req)
	if err != nil || res.IsError {
		t.Fatalf("run: %v %s", err, textOf(res))
	}
	// The first progress notice is sent before the API call, so it arrives before the result.
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, n := range got {
		if n.Method == "notifications/progress" && n.Params.AdditionalFields["progressToken"] == "tok-1" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no progress notification among %d notifications", len(got))
	}
}

func TestHTTPKeyTravelsPerRequest(t *testing.T) {
	for _, tc := range []struct {
		header, value, want string
	}{
		{"Authorization", "Bearer PMAK-one", "PMAK-one"},
		{"Authorization", "bearer  PMAK-two ", "PMAK-two"},
		{"X-Api-Key", "PMAK-three", "PMAK-three"},
		{"Authorization", "Basic abc", ""},
	} {
		r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
		r.Header.Set(tc.header, tc.value)
		if got := requestKey(r); got != tc.want {
			t.Errorf("%s: %q → %q, want %q", tc.header, tc.value, got, tc.want)
		}
	}
}

func TestCapText(t *testing.T) {
	long := strings.Repeat("é", 100)
	got := capText(long, 51)
	if !strings.Contains(got, "[truncated: 50 of 200 bytes shown") {
		t.Fatalf("capText = %q", got)
	}
	if capText("short", 10) != "short" {
		t.Fatal("short text changed")
	}
}

func TestCollectionResourceTemplate(t *testing.T) {
	c := start(t, all, demoEnv(t))
	ctx := context.Background()
	templates, err := c.ListResourceTemplates(ctx, mcp.ListResourceTemplatesRequest{})
	if err != nil || len(templates.ResourceTemplates) != 1 {
		t.Fatalf("templates: %+v, %v", templates, err)
	}
	req := mcp.ReadResourceRequest{}
	req.Params.URI = "postman://collections/Orders%20API"
	res, err := c.ReadResource(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	text := res.Contents[0].(mcp.TextResourceContents).Text
	if !strings.Contains(text, "Orders API") || !strings.Contains(text, "Create order") {
		t.Fatalf("outline: %s", text)
	}
	req.Params.URI = "postman://collections/No%20such%20thing"
	if _, err := c.ReadResource(ctx, req); err == nil {
		t.Fatal("an unknown collection read without error")
	}
}
