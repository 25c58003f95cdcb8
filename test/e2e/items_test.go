package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pmops/pmops/internal/newman/newmantest"
)

// itemSession is the mcp binary in demo mode over stdio, driven by mcp-go's client as an assistant would.
type itemSession struct {
	t *testing.T
	c *client.Client
}

func startItemSession(t *testing.T, flags ...string) *itemSession {
	t.Helper()
	c, err := client.NewStdioMCPClient(mcpBin, cleanEnv(), append([]string{"-demo", "-toolsets", "all"}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18"
	init.Params.ClientInfo = mcp.Implementation{Name: "items-e2e", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	return &itemSession{t: t, c: c}
}

// call calls a tool and returns its text and structured content; isError fails the test unless wantErr.
func (s *itemSession) call(tool string, args map[string]any, wantErr bool) (string, map[string]any) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = tool, args
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		s.t.Fatalf("%s: %v", tool, err)
	}
	var b strings.Builder
	for _, ct := range res.Content {
		if tc, ok := ct.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	if res.IsError != wantErr {
		s.t.Fatalf("%s %v: isError=%v: %s", tool, args, res.IsError, b.String())
	}
	var sc map[string]any
	raw, _ := json.Marshal(res.StructuredContent)
	_ = json.Unmarshal(raw, &sc)
	return b.String(), sc
}

func ref(sc map[string]any, field string) (name, id string) {
	m, _ := sc[field].(map[string]any)
	name, _ = m["name"].(string)
	id, _ = m["id"].(string)
	return name, id
}

// TestEditCollectionItemsOverMCP adds a request with a test script (and the saved example the demo mock answers
// from) to the demo "Payments API" through MCP, then fixes its test, moves it and deletes it, checking each step
// in get_collection.
func TestEditCollectionItemsOverMCP(t *testing.T) {
	t.Parallel()
	s := startItemSession(t)
	failing := "pm.test(\"probe answers 201\", function () {\n    pm.response.to.have.status(201);\n});"
	text, sc := s.call("edit_collection_item", map[string]any{"collection": "Payments API", "action": "add", "kind": "request",
		"parent": "Accounts/Happy path", "name": "Status probe", "method": "GET", "url": "{{baseUrl}}/v1/status-probe",
		"headers": map[string]any{"X-Api-Key": "probe-secret-value"}, "tests": failing}, false)
	if strings.Contains(text, "probe-secret-value") {
		t.Errorf("secret header value shown: %s", text)
	}
	if col, colID := ref(sc, "collection"); col != "Payments API" || colID == "" {
		t.Errorf("result does not name the collection: %v", sc)
	}
	_, reqID := ref(sc, "item")
	if folder, folderID := ref(sc, "folder"); folder != "Accounts/Happy path" || folderID == "" || reqID == "" {
		t.Fatalf("result does not name folder and item: %v", sc)
	}
	s.call("edit_collection_item", map[string]any{"collection": "Payments API", "action": "add", "kind": "example",
		"parent": reqID, "name": "ok", "status": 200, "body": `{"status":"ok"}`}, false)

	text, _ = s.call("get_collection", map[string]any{"collection": "Payments API", "request": reqID}, false)
	if !strings.Contains(text, "status(201)") || !strings.Contains(text, "Accounts/Happy path/Status probe") {
		t.Fatalf("get_collection does not show the new request: %s", text)
	}

	// A partial name is refused, with the whole one offered.
	text, _ = s.call("edit_collection_item", map[string]any{"collection": "Payments API", "action": "update", "kind": "request",
		"item": "Status pro", "tests": "x", "confirm": true}, true)
	if !strings.Contains(text, "did you mean") || !strings.Contains(text, "Status probe") {
		t.Errorf("partial name: %s", text)
	}

	fixed := strings.ReplaceAll(failing, "201", "200")
	fix := map[string]any{"collection": "Payments API", "action": "update", "kind": "request", "item": "Accounts/Happy path/Status probe", "tests": fixed}
	text, sc = s.call("edit_collection_item", fix, false)
	if sc["done"] != false || !strings.Contains(text, "- test: pm.test(\"probe answers 201\"") || !strings.Contains(text, "+ test: pm.test(\"probe answers 200\"") {
		t.Fatalf("update preview: %s", text)
	}
	fix["confirm"] = true
	if _, sc = s.call("edit_collection_item", fix, false); sc["done"] != true {
		t.Fatalf("update not done: %v", sc)
	}
	text, _ = s.call("get_collection", map[string]any{"collection": "Payments API", "request": reqID}, false)
	if !strings.Contains(text, "status(200)") || strings.Contains(text, "status(201)") {
		t.Fatalf("the fix is not stored: %s", text)
	}

	_, sc = s.call("edit_collection_item", map[string]any{"collection": "Payments API", "action": "move", "kind": "request",
		"item": reqID, "parent": "Customers", "confirm": true}, false)
	_, newID := ref(sc, "item")
	if newID == "" || newID == reqID {
		t.Fatalf("move: %v", sc)
	}
	text, _ = s.call("get_collection", map[string]any{"collection": "Payments API", "request": "Customers/Status probe"}, false)
	if !strings.Contains(text, "status(200)") || !strings.Contains(text, "X-Api-Key: ••••••") {
		t.Fatalf("moved request: %s", text)
	}
	s.call("get_collection", map[string]any{"collection": "Payments API", "request": reqID}, true) // the old ID is gone

	text, _ = s.call("edit_collection_item", map[string]any{"collection": "Payments API", "action": "delete", "kind": "request",
		"item": "Customers/Status probe"}, false)
	if !strings.Contains(text, "PREVIEW") || !strings.Contains(text, "1 saved example") {
		t.Fatalf("delete preview: %s", text)
	}
	s.call("edit_collection_item", map[string]any{"collection": "Payments API", "action": "delete", "kind": "request",
		"item": "Customers/Status probe", "confirm": true}, false)
	s.call("get_collection", map[string]any{"collection": "Payments API", "request": newID}, true)
}

// TestAddTestRunFixRun is issue 11's end to end: through MCP, add a request with a test script (and the saved
// example the demo mock answers it from) to the demo "Payments API", run it with real Newman in demo mode and see
// its assertion fail, fix the request's test, run again and see it pass.
func TestAddTestRunFixRun(t *testing.T) {
	t.Parallel()
	s := startItemSession(t, "-newman", newmantest.Path(t))
	col := "Payments API"
	_, sc := s.call("edit_collection_item", map[string]any{"collection": col, "action": "add", "kind": "folder", "name": "Probe checks"}, false)
	_, folderID := ref(sc, "item")
	_, sc = s.call("edit_collection_item", map[string]any{"collection": col, "action": "add", "kind": "request", "parent": folderID,
		"name": "Status probe", "method": "GET", "url": "{{baseUrl}}/v1/status-probe",
		"tests": "pm.test(\"probe answers 201\", function () {\n    pm.response.to.have.status(201);\n});"}, false)
	_, reqID := ref(sc, "item")
	s.call("edit_collection_item", map[string]any{"collection": col, "action": "add", "kind": "example", "parent": reqID,
		"name": "ok", "status": 200, "body": `{"status":"ok"}`}, false)

	run := func() (string, map[string]any) {
		return s.call("run_collection", map[string]any{"collection": col, "environment": "staging", "folders": []any{"Probe checks"}}, false)
	}
	text, sc := run()
	if sc["status"] != "failed" || !strings.Contains(text, "Status probe") || !strings.Contains(text, "probe answers 201") {
		t.Fatalf("first run should fail the new assertion: %v\n%s", sc["status"], text)
	}

	fix := map[string]any{"collection": col, "action": "update", "kind": "request", "item": "Probe checks/Status probe",
		"tests": "pm.test(\"probe answers 200\", function () {\n    pm.response.to.have.status(200);\n});", "confirm": true}
	if _, sc = s.call("edit_collection_item", fix, false); sc["done"] != true {
		t.Fatalf("fix: %v", sc)
	}
	text, sc = run()
	totals, _ := sc["totals"].(map[string]any)
	if sc["status"] != "passed" || totals["assertions"] != float64(1) || totals["failed_assertions"] != float64(0) {
		t.Fatalf("second run should pass: %v %v\n%s", sc["status"], totals, text)
	}
}
