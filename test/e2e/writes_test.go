package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/cli"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/mcpserver"
	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/tools"
)

// world is a demo-seeded emulator in this process, with a count of the requests that could change something.
type world struct {
	emu    *emulator.Emulator
	env    *tools.Env
	writes atomic.Int64
	ids    map[string]string // "<kind>:<name>" → ID or UID
}

// Names every kind of resource has in a world: one unique name, a pair of names equal under case folding, and
// a Unicode name.
var (
	uniqueName = map[string]string{
		"environment": "production", "collection": "Payments API", "monitor": "Orders API nightly regression",
		"workspace": "Payments Platform",
	}
	partialName = map[string]string{
		"environment": "prod", "collection": "Payments A", "monitor": "nightly", "workspace": "Payments Plat",
	}
	twinNames   = []string{"Twin Ops", "twin OPS"}
	unicodeName = "Ünïcødé Ωmega Straße"
)

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{emu: emulator.New(emulator.Options{RoutePerWindow: 1_000_000, PerWindow: 1_000_000}), ids: map[string]string{}}
	inner := http.Handler(w.emu)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.writes.Add(1)
		}
		inner.ServeHTTP(rw, r)
	}))
	t.Cleanup(func() { srv.Close(); _ = w.emu.Close() })
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: srv.URL, Gate: ratelimit.New(srv.Client().Transport, ratelimit.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	w.env = &tools.Env{Client: c, Budget: c.RateBudget, Runs: tools.NewRunLog(8)}
	for kind, name := range uniqueName {
		id, ok := w.emu.UIDByName(kind, name)
		if !ok {
			t.Fatalf("demo has no %s %q", kind, name)
		}
		w.ids[kind+":"+name] = id
	}
	ctx := context.Background()
	ws := w.ids["workspace:Payments Platform"]
	for _, name := range append(slices.Clone(twinNames), unicodeName) {
		e, err := c.CreateEnvironment(ctx, ws, api.EnvironmentInput{Name: name, Values: []api.EnvVar{}})
		if err != nil {
			t.Fatal(err)
		}
		w.ids["environment:"+name] = e.UID
		col, err := c.CreateCollection(ctx, ws, &api.Collection{Info: api.Info{Name: name, Schema: api.SchemaV21}})
		if err != nil {
			t.Fatal(err)
		}
		w.ids["collection:"+name] = col.UID
		m, err := c.CreateMonitor(ctx, ws, api.CreateMonitorInput{Name: name, Collection: w.ids["collection:Payments API"],
			Schedule: api.Schedule{Cron: "0 3 * * *", Timezone: "UTC"}})
		if err != nil {
			t.Fatal(err)
		}
		w.ids["monitor:"+name] = m.UID
	}
	w.writes.Store(0)
	return w
}

// outcome of one call, whichever adapter made it.
type outcome struct {
	isError bool
	text    string // the text a person or model reads (error text included)
	size    int    // bytes of everything returned: text plus structured content
}

type adapter struct {
	name string
	call func(t *testing.T, w *world, tool string, args map[string]any) outcome
}

var adapters = []adapter{
	{"mcp", func(t *testing.T, w *world, tool string, args map[string]any) outcome {
		t.Helper()
		s, err := mcpserver.New(mcpserver.Options{Selection: tools.Selection{Toolsets: []string{"all"}},
			Env: func(context.Context) (*tools.Env, error) { return w.env, nil }})
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.NewInProcessClient(s)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		init := mcp.InitializeRequest{}
		init.Params.ProtocolVersion = "2025-06-18"
		init.Params.ClientInfo = mcp.Implementation{Name: "writes-test", Version: "1"}
		if _, err := c.Initialize(ctx, init); err != nil {
			t.Fatal(err)
		}
		req := mcp.CallToolRequest{}
		req.Params.Name = tool
		req.Params.Arguments = args
		res, err := c.CallTool(ctx, req)
		if err != nil {
			t.Fatalf("%s: JSON-RPC error %v (a tool failure must be an isError result)", tool, err)
		}
		var b strings.Builder
		for _, ct := range res.Content {
			if tc, ok := ct.(mcp.TextContent); ok {
				b.WriteString(tc.Text)
			}
		}
		sc, _ := json.Marshal(res.StructuredContent)
		return outcome{isError: res.IsError, text: b.String(), size: b.Len() + len(sc)}
	}},
	{"mcp call", func(t *testing.T, w *world, tool string, args map[string]any) outcome {
		t.Helper()
		var words []string
		for k, v := range args {
			b, _ := json.Marshal(v)
			if s, ok := v.(string); ok && !json.Valid([]byte(s)) {
				b = []byte(s)
			}
			words = append(words, k+"="+string(b))
		}
		var out bytes.Buffer
		_, err := cli.Call(context.Background(), w.env, tool, words, &out, cli.Options{JSON: true})
		if err != nil {
			return outcome{isError: true, text: err.Error(), size: out.Len() + len(err.Error())}
		}
		return outcome{text: out.String(), size: out.Len()}
	}},
}

// namingArgs returns the arguments of a tool that name a resource of a kind this test knows.
func namingArgs(t *tools.Tool) (props map[string]map[string]any, required []string, naming []string) {
	var s struct {
		Properties map[string]map[string]any `json:"properties"`
		Required   []string                  `json:"required"`
	}
	_ = json.Unmarshal(t.InputSchema, &s)
	for name := range s.Properties {
		if _, ok := uniqueName[name]; ok {
			naming = append(naming, name)
		}
	}
	slices.Sort(naming)
	return s.Properties, s.Required, naming
}

// argsFor fills a tool's required arguments with valid values: resources by ID, the rest from their schema.
func argsFor(t *tools.Tool, w *world) map[string]any {
	props, required, _ := namingArgs(t)
	args := map[string]any{}
	for _, name := range required {
		if kind, ok := uniqueName[name]; ok {
			args[name] = w.ids[name+":"+kind]
			continue
		}
		switch name {
		case "name":
			args[name] = "pmops write test"
			continue
		case "cron":
			args[name] = "*/15 * * * *"
			continue
		}
		switch props[name]["type"] {
		case "string":
			args[name] = "x"
		case "boolean":
			args[name] = false
		case "integer", "number":
			args[name] = 1
			if m, ok := props[name]["minimum"].(float64); ok {
				args[name] = m
			}
		case "array":
			args[name] = []any{"x"}
		case "object":
			args[name] = map[string]any{"x": "1"}
		}
	}
	if t.Name == "update_collection" {
		args["description"] = "set by the writes test"
	}
	if t.Name == "edit_collection_item" {
		args["action"], args["kind"], args["item"] = "delete", "request", "Health check"
	}
	if _, ok := props["confirm"]; ok {
		args["confirm"] = true
	}
	return args
}

// TestWritesResolveExactly holds every tool that can change something (readOnlyHint=false), through MCP and
// through `mcp call`, to the naming rule: an ID, a UID or the whole name (trimmed, any case, Unicode case
// folding) is accepted; a partial name, a name several resources share, or part of a Unicode name is a "did you
// mean" error with candidates, and nothing is sent that could change anything — even with confirm=true.
func TestWritesResolveExactly(t *testing.T) {
	t.Parallel()
	type nameCase struct {
		name    string
		value   func(kind string) string
		refuse  bool
		wantIn  func(kind string) []string // text the outcome must contain
		kindsOK func(kind string) bool
	}
	all := func(string) bool { return true }
	created := func(kind string) bool { return kind != "workspace" } // the API cannot create workspaces
	cases := []nameCase{
		{"partial name", func(k string) string { return partialName[k] }, true,
			func(k string) []string { return []string{"did you mean", uniqueName[k]} }, all},
		{"whole name in other case, padded", func(k string) string { return "  " + strings.ToUpper(uniqueName[k]) + " " }, false,
			func(k string) []string { return []string{uniqueName[k]} }, all},
		{"ambiguous name", func(string) string { return "twin ops" }, true,
			func(string) []string { return []string{"did you mean", twinNames[0], twinNames[1]} }, created},
		{"unicode name fully case-folded", func(string) string { return "üNÏCØDÉ ωMEGA STRASSE" }, false,
			func(string) []string { return []string{unicodeName} }, created},
		{"unicode name in other case", func(string) string { return "üNÏCØDÉ ωMEGA STRAßE" }, false,
			func(string) []string { return []string{unicodeName} }, created},
		{"unicode partial", func(string) string { return "ünïcødé" }, true,
			func(string) []string { return []string{"did you mean", unicodeName} }, created},
	}
	var writeTools []*tools.Tool
	for _, tl := range tools.All() {
		if !tl.Hints.ReadOnly {
			writeTools = append(writeTools, tl)
		}
	}
	if len(writeTools) < 10 {
		t.Fatalf("only %d write tools in the catalogue", len(writeTools))
	}
	for _, ad := range adapters {
		for _, tl := range writeTools {
			_, _, naming := namingArgs(tl)
			for _, arg := range naming {
				for _, nc := range cases {
					if !nc.kindsOK(arg) {
						continue
					}
					t.Run(fmt.Sprintf("%s/%s/%s=%s", ad.name, tl.Name, arg, nc.name), func(t *testing.T) {
						w := newWorld(t)
						args := argsFor(tl, w)
						args[arg] = nc.value(arg)
						got := ad.call(t, w, tl.Name, args)
						if nc.refuse {
							if !got.isError {
								t.Fatalf("accepted %q: %s", args[arg], got.text)
							}
							if n := w.writes.Load(); n != 0 {
								t.Errorf("refused, yet %d requests that change things were sent", n)
							}
						} else if got.isError && (strings.Contains(got.text, "named exactly") || strings.Contains(got.text, "did you mean")) {
							t.Fatalf("refused the whole name %q: %s", args[arg], got.text)
						}
						for _, want := range nc.wantIn(arg) {
							if !strings.Contains(got.text, want) {
								t.Errorf("outcome lacks %q:\n%s", want, got.text)
							}
						}
					})
				}
			}
		}
	}
}

// TestDestructiveToolsPreview: every destructive tool has confirm, and without confirm=true sends nothing that
// changes anything, and its preview names the resource by name and ID.
func TestDestructiveToolsPreview(t *testing.T) {
	t.Parallel()
	for _, tl := range tools.All() {
		if !tl.Hints.Destructive {
			continue
		}
		t.Run(tl.Name, func(t *testing.T) {
			props, _, naming := namingArgs(tl)
			if _, ok := props["confirm"]; !ok {
				t.Fatalf("%s is destructive but has no confirm argument", tl.Name)
			}
			w := newWorld(t)
			args := argsFor(tl, w)
			delete(args, "confirm")
			got := adapters[0].call(t, w, tl.Name, args)
			if got.isError {
				t.Fatalf("preview failed: %s", got.text)
			}
			if n := w.writes.Load(); n != 0 {
				t.Errorf("preview sent %d requests that change things", n)
			}
			for _, arg := range naming {
				name := uniqueName[arg]
				if !strings.Contains(got.text, name) || !strings.Contains(got.text, w.ids[arg+":"+name]) {
					t.Errorf("preview does not name %s %q by name and ID:\n%s", arg, name, got.text)
				}
			}
		})
	}
}

// TestWriteRegressions are the two deletions issue 8 reported.
func TestWriteRegressions(t *testing.T) {
	t.Parallel()
	for _, ad := range adapters {
		for _, tc := range []struct{ tool, arg, value, survivor string }{
			{"delete_environment", "environment", "prod", "production"},
			{"delete_monitor", "monitor", "m", "Payments API smoke (staging)"},
		} {
			t.Run(ad.name+"/"+tc.tool, func(t *testing.T) {
				w := newWorld(t)
				got := ad.call(t, w, tc.tool, map[string]any{tc.arg: tc.value, "confirm": true})
				if !got.isError || w.writes.Load() != 0 {
					t.Fatalf("%s %s=%s confirm=true: isError=%v, %d writes: %s", tc.tool, tc.arg, tc.value, got.isError, w.writes.Load(), got.text)
				}
				if _, ok := w.emu.UIDByName(tc.arg, tc.survivor); !ok {
					t.Fatalf("%s %q is gone", tc.arg, tc.survivor)
				}
			})
		}
	}
}
