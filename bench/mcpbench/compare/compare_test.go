package compare

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/bench/mcpbench/measure"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestRoutePattern(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/me", "/me"},
		{"/collections", "/collections"},
		{"/collections/123-abc", "/collections/{id}"},
		{"/monitors/m1/run", "/monitors/{id}/run"},
		{"/collection-updates-tasks/t9", "/collection-updates-tasks/{id}"},
		{"/", "/"},
	}
	for _, tt := range tests {
		if got := RoutePattern(tt.in); got != tt.want {
			t.Errorf("RoutePattern(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestVariants(t *testing.T) {
	names := NameArgs{"workspace": "W", "collection": "C", "request": "R"}
	tests := []struct {
		name     string
		tool     string
		wantRO   bool
		wantArgs []map[string]any
		wantSkip string
	}{
		{"no args", `{"name":"a","annotations":{"readOnlyHint":true},"inputSchema":{"type":"object"}}`, true,
			[]map[string]any{{}}, ""},
		{"optional name only", `{"name":"list","annotations":{"readOnlyHint":true},"inputSchema":{"properties":{"workspace":{},"limit":{}}}}`, true,
			[]map[string]any{{}, {"workspace": "W"}}, ""},
		{"required and optional names", `{"name":"get","annotations":{"readOnlyHint":true},"inputSchema":{"properties":{"collection":{},"request":{},"depth":{}},"required":["collection"]}}`, true,
			[]map[string]any{{"collection": "C"}, {"collection": "C", "request": "R"}}, ""},
		{"unknown required", `{"name":"x","annotations":{"readOnlyHint":false},"inputSchema":{"properties":{"cron":{}},"required":["cron"]}}`, false,
			[]map[string]any{{}}, `required argument "cron" has no demo value`},
		{"no annotations", `{"name":"y","inputSchema":{}}`, false, []map[string]any{{}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ro, vs, err := Variants(json.RawMessage(tt.tool), names)
			if err != nil {
				t.Fatal(err)
			}
			if ro != tt.wantRO {
				t.Errorf("readOnly = %v, want %v", ro, tt.wantRO)
			}
			var got []map[string]any
			for _, v := range vs {
				got = append(got, v.Args)
				if v.Skip != tt.wantSkip {
					t.Errorf("skip = %q, want %q", v.Skip, tt.wantSkip)
				}
			}
			if !reflect.DeepEqual(got, tt.wantArgs) {
				t.Errorf("args = %v, want %v", got, tt.wantArgs)
			}
		})
	}
	if _, _, err := Variants(json.RawMessage(`[`), names); err == nil {
		t.Error("bad JSON: want error")
	}
}

func TestCountingProxy(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer backend.Close()
	p, err := NewCountingProxy(backend.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	get := func(path, key string) {
		req, _ := http.NewRequest(http.MethodGet, p.URL+path, nil)
		req.Header.Set("X-Api-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get("/me", "k1")
	mark := p.Mark()
	get("/monitors/m1", "k2")
	get("/monitors/m2", "k2")
	get("/missing", "k2")
	got := p.Since(mark)
	want := []APIRequest{
		{Key: "k2", Method: "GET", Path: "/monitors/m1", Status: 200},
		{Key: "k2", Method: "GET", Path: "/monitors/m2", Status: 200},
		{Key: "k2", Method: "GET", Path: "/missing", Status: 404},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Since = %+v\nwant %+v", got, want)
	}
	if s := Routes(got); s != "GET /monitors/{id} ×2, GET /missing (404) ×1" {
		t.Errorf("Routes = %q", s)
	}
	if s := Routes(nil); s != "–" {
		t.Errorf("Routes(nil) = %q", s)
	}
}

func TestShellJoin(t *testing.T) {
	got := ShellJoin([]string{"-generate-name", "Generated 4000", "-x", "it's", ""})
	want := `-generate-name 'Generated 4000' -x 'it'\''s' ''`
	if got != want {
		t.Errorf("ShellJoin = %s, want %s", got, want)
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 10; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		p    int
		want time.Duration
	}{{90, 9 * time.Millisecond}, {100, 10 * time.Millisecond}, {50, 5 * time.Millisecond}, {1, time.Millisecond}} {
		if got := percentile(ds, tt.p); got != tt.want {
			t.Errorf("p%d = %s, want %s", tt.p, got, tt.want)
		}
	}
	if percentile(nil, 90) != 0 {
		t.Error("empty: want 0")
	}
}

func reqs(routes ...string) []APIRequest {
	var out []APIRequest
	for _, r := range routes {
		m, p, _ := strings.Cut(r, " ")
		out = append(out, APIRequest{Key: Key, Method: m, Path: p, Status: 200})
	}
	return out
}

func ds(msList ...float64) []time.Duration {
	var out []time.Duration
	for _, m := range msList {
		out = append(out, time.Duration(m*float64(time.Millisecond)))
	}
	return out
}

// sampleReport is a fixed report whose figures meet every target.
func sampleReport() *Report {
	return &Report{
		Machine:   "Test CPU, 2 CPUs, Linux; Node v20.0.0 for the peer",
		Emulator:  "postman-emulator -addr 127.0.0.1:0 -generate 4000",
		Generated: CollectionRef{ID: "c1", UID: "1-c1", Name: "Generated 4000"},
		GenerateN: 4000,
		Ours: measure.Result{Name: "pmops", InitTimes: ds(9, 10, 11), Tools: 14, ToolsListBytes: 13000, ToolsListMsgBytes: 13034,
			ToolsListTimes: ds(1), PeakRSS: []int64{12 << 20, 13 << 20, 14 << 20}, PeakRSSProcs: 1},
		OursDemo: measure.Result{Name: "pmops -demo", InitTimes: ds(30), Tools: 23, ToolsListBytes: 23000, ToolsListMsgBytes: 23034,
			ToolsListTimes: ds(1), PeakRSS: []int64{17 << 20}, PeakRSSProcs: 1},
		Peer: measure.Result{Name: "peer (default)", InitTimes: ds(1400), Tools: 42, ToolsListBytes: 164622, ToolsListMsgBytes: 164656,
			ToolsListTimes: ds(40), PeakRSS: []int64{145 << 20}, PeakRSSProcs: 1},
		PeerFull: measure.Result{Name: "peer (--full)", InitTimes: ds(1800), Tools: 204, ToolsListBytes: 411262, ToolsListMsgBytes: 411296,
			ToolsListTimes: ds(60), PeakRSS: []int64{146 << 20}, PeakRSSProcs: 1},
		ToolsetsCovered: []string{"account", "workspaces", "collections", "environments"},
		Collection: []CollectionResult{
			{Server: "pmops", Tool: "get_collection", Args: map[string]any{"collection": "1-c1"}, ResultBytes: 21000, TextBytes: 6000,
				Continuation: "abc", Items: 100, Elapsed: ds(90)[0], Samples: ds(80, 90, 100), PeakRSS: 58 << 20},
			{Server: "peer (default)", Tool: "getCollection", Args: map[string]any{"collectionId": "c1"}, ResultBytes: 640000, TextBytes: 590000,
				Elapsed: ds(180)[0], Samples: ds(170, 180, 190), PeakRSS: 170 << 20},
		},
		Overhead: []OverheadResult{
			{Server: "pmops", Tool: "get_account", MCP: ds(0.8, 0.9, 1.0), Direct: ds(0.3, 0.4, 0.5)},
			{Server: "peer (default)", Tool: "getAuthenticatedUser", MCP: ds(1.5, 1.6, 1.7), Direct: ds(0.2, 0.2, 0.3)},
		},
		OverheadWarmCalls: 20,
		Calls: []CallCount{
			{ToolVariant: ToolVariant{Tool: "get_account", Args: map[string]any{}}, Cold: reqs("GET /me"), Warm: reqs("GET /me"), Allowed: 2},
			{ToolVariant: ToolVariant{Tool: "get_monitor", Args: map[string]any{"monitor": "M"}}, Cold: reqs("GET /monitors", "GET /monitors/m1"), Allowed: 2},
			{ToolVariant: ToolVariant{Tool: "list_monitors", Args: map[string]any{}}, FanOut: FanOuts["list_monitors"],
				Cold: reqs("GET /monitors", "GET /monitors/a", "GET /monitors/b"), Warm: reqs("GET /monitors"), Allowed: 4},
			{ToolVariant: ToolVariant{Tool: "explain_monitor_failure", Args: map[string]any{"monitor": "M", "rerun": false}, Extra: true},
				Cold: reqs("GET /monitors", "GET /monitors/m1", "GET /monitors/m1"), Allowed: 2},
		},
	}
}

func TestWriteMarkdownGolden(t *testing.T) {
	var b strings.Builder
	if err := sampleReport().WriteMarkdown(&b, "go run ./bench/mcpbench -compare"); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("Markdown differs from %s (rerun with -update if intended):\n%s", golden, b.String())
	}
}

func TestTargets(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(r *Report)
		target string // the target that must flip to not met
	}{
		{"slow start", func(r *Report) { r.Ours.InitTimes = ds(25, 26, 27) }, "spawn"},
		{"fat process", func(r *Report) { r.Ours.PeakRSS = []int64{30 << 20} }, "peak RSS"},
		{"big tools/list", func(r *Report) { r.Ours.ToolsListBytes = 16_001 }, "tools/list result"},
		{"toolset missing", func(r *Report) { r.ToolsetsMissing = []string{"environments"} }, "tools/list result"},
		{"no continuation", func(r *Report) { r.Collection[0].Continuation = "" }, "get_collection"},
		{"big collection", func(r *Report) { r.Collection[0].ResultBytes = 40_000 }, "get_collection"},
		{"collection error", func(r *Report) { r.Collection[0].IsError = true }, "get_collection"},
		{"slow outline", func(r *Report) { r.Collection[0].Elapsed = ds(181)[0] }, "outline page time"},
		{"slow calls", func(r *Report) { r.Overhead[0].MCP = ds(3, 3, 3) }, "overhead"},
		{"chatty tool", func(r *Report) { r.Calls[1].Warm = reqs("GET /a", "GET /b", "GET /c") }, "API calls"},
		{"fan-out over", func(r *Report) { r.Calls[2].Cold = reqs("GET /a", "GET /b", "GET /c", "GET /d", "GET /e") }, "API calls"},
		{"read tool skipped", func(r *Report) { r.Calls[1].Skip = "no value" }, "API calls"},
	}
	for _, tg := range sampleReport().Targets() {
		if !tg.Met {
			t.Fatalf("sample report: target %q not met (%s)", tg.Name, tg.Ours)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleReport()
			tt.edit(r)
			for _, tg := range r.Targets() {
				if strings.Contains(tg.Name, tt.target) == tg.Met {
					t.Errorf("target %q: met = %v", tg.Name, tg.Met)
				}
			}
		})
	}
	// An extra (non-read-only) row never affects the verdict.
	r := sampleReport()
	r.Calls[3].Cold = reqs("GET /a", "GET /b", "GET /c", "GET /d")
	for _, tg := range r.Targets() {
		if !tg.Met {
			t.Errorf("extra row changed target %q", tg.Name)
		}
	}
}

// TestBaselineRows: baselines sit right after pmops's rows in the start-up table and are named in the note; without
// baselines the report is unchanged (the golden file above).
func TestBaselineRows(t *testing.T) {
	r := sampleReport()
	old := r.Ours
	old.Name, old.InitTimes = "8bb725f", ds(20, 21, 22)
	oldDemo := r.OursDemo
	oldDemo.Name = "8bb725f -demo"
	r.Baselines = []measure.Result{old, oldDemo}
	var b strings.Builder
	if err := r.WriteMarkdown(&b, "go run ./bench/mcpbench -compare -baseline 8bb725f=/tmp/old"); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	order := []string{"| pmops |", "| pmops -demo |", "| 8bb725f |", "| 8bb725f -demo |", "| peer (default) |"}
	at := -1
	for _, row := range order {
		i := strings.Index(md, row)
		if i <= at {
			t.Fatalf("row %q missing or out of order in:\n%s", row, md)
		}
		at = i
	}
	if !strings.Contains(md, "| 8bb725f | 14 | 13,000 (13,034) | 21.0 (20.0–22.0, n=3) |") {
		t.Errorf("baseline row figures:\n%s", md)
	}
	if !strings.Contains(md, "Baseline builds (`8bb725f`, `8bb725f -demo`)") {
		t.Errorf("no note naming the baselines:\n%s", md)
	}
	for _, tg := range r.Targets() {
		if !tg.Met {
			t.Errorf("a baseline changed target %q", tg.Name)
		}
	}
}
