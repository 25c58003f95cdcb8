package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/newman"
	"github.com/pmops/pmops/internal/newman/newmantest"
)

const runSecret = "sk_live_4f9a8b7c6d5e"

// runFixture is the demo emulator with collections whose requests go to a local API, and a Newman runner.
type runFixture struct {
	*fixture
	api       *httptest.Server
	ws, ws2   string
	mu        sync.Mutex
	release   chan struct{}
	blockSeen chan struct{}
}

func newRunFixture(t *testing.T, maxRuns int) *runFixture {
	t.Helper()
	path := newmantest.Path(t)
	f := &runFixture{fixture: newFixture(t, emulator.Options{Seed: emulator.SeedDemo}), release: make(chan struct{}), blockSeen: make(chan struct{}, 16)}
	f.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/fail"):
			w.WriteHeader(500)
		case r.URL.Path == "/block":
			f.blockSeen <- struct{}{}
			select {
			case <-f.release:
			case <-r.Context().Done():
			}
		}
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	t.Cleanup(func() {
		select {
		case <-f.release:
		default:
			close(f.release)
		}
		f.api.Close()
	})
	runner := newman.NewRunner(newman.Options{Path: path, MaxRuns: maxRuns, TempDir: t.TempDir()})
	if err := runner.Available(); err != nil {
		t.Fatal(err)
	}
	f.env.CollectionRuns = NewCollectionRuns(runner)
	wss, err := api.Collect(context.Background(), f.env.Client.WorkspacesPager(api.ListWorkspacesOptions{}, "", api.Bound{}))
	if err != nil || len(wss) < 2 {
		t.Fatalf("workspaces: %v (%d)", err, len(wss))
	}
	f.ws, f.ws2 = wss[0].ID, wss[1].ID
	return f
}

type req struct {
	name, method, path string
	tests              []string
}

// addCollection creates a collection in workspace ws whose requests go to the fixture's API ({{base}}).
func (f *runFixture) addCollection(t *testing.T, ws, name string, folders map[string][]req, top ...req) string {
	t.Helper()
	toItem := func(r req) map[string]any {
		it := map[string]any{"name": r.name, "request": map[string]any{"method": r.method, "url": "{{base}}" + r.path}}
		if len(r.tests) > 0 {
			it["event"] = []any{map[string]any{"listen": "test", "script": map[string]any{"type": "text/javascript", "exec": r.tests}}}
		}
		return it
	}
	var items []any
	for _, r := range top {
		items = append(items, toItem(r))
	}
	for _, name := range sortedKeys(folders) {
		var sub []any
		for _, r := range folders[name] {
			sub = append(sub, toItem(r))
		}
		items = append(items, map[string]any{"name": name, "item": sub})
	}
	raw, _ := json.Marshal(map[string]any{"info": map[string]any{"name": name, "schema": api.SchemaV21}, "item": items})
	var col api.Collection
	if err := json.Unmarshal(raw, &col); err != nil {
		t.Fatal(err)
	}
	ref, err := f.env.Client.CreateCollection(context.Background(), ws, &col)
	if err != nil {
		t.Fatal(err)
	}
	return ref.UID
}

func (f *runFixture) addEnvironment(t *testing.T, ws, name string) string {
	t.Helper()
	ref, err := f.env.Client.CreateEnvironment(context.Background(), ws, api.EnvironmentInput{Name: name, Values: []api.EnvVar{
		{Key: "base", Value: f.api.URL, Enabled: true, Type: "default"},
		{Key: "apikey", Value: runSecret, Enabled: true, Type: "secret"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return firstNonEmpty(ref.UID, ref.ID)
}

const ok200 = "pm.test('status is 200', () => pm.response.to.have.status(200));"

func (f *runFixture) run(t *testing.T, args map[string]any) CollectionRun {
	t.Helper()
	res, err := f.call(t, "run_collection", args)
	if err != nil {
		t.Fatalf("run_collection(%v): %v", args, err)
	}
	return res.(CollectionRun)
}

func TestRunCollectionResult(t *testing.T) {
	f := newRunFixture(t, 2)
	// 40 requests, 3 failing: the result stays compact and masks the apikey, in URLs and in messages.
	var reqs []req
	for i := range 40 {
		r := req{name: fmt.Sprintf("Request %02d", i), method: "GET", path: fmt.Sprintf("/ok/%d?apikey={{apikey}}&page=%d", i, i), tests: []string{ok200}}
		if i%13 == 5 {
			r.path = fmt.Sprintf("/fail/%d?apikey={{apikey}}", i)
			r.name = fmt.Sprintf("Failing %02d", i)
			r.tests = append(r.tests, "pm.test('echoes the key', () => pm.expect(pm.request.url.toString()).to.include('nope'));")
		}
		reqs = append(reqs, r)
	}
	f.addCollection(t, f.ws, "Run Fixture", nil, reqs...)
	envUID := f.addEnvironment(t, f.ws, "Run Env")
	var progress []string
	var mu sync.Mutex
	f.env.Progress = func(done, total int, msg string) {
		mu.Lock()
		defer mu.Unlock()
		progress = append(progress, fmt.Sprintf("%d/%d %s", done, total, msg))
	}
	defer func() { f.env.Progress = nil }()
	var run CollectionRun
	calls := f.requests(func() { run = f.run(t, map[string]any{"collection": "Run Fixture", "environment": envUID}) })
	if run.Status != RunFailed || run.Outcome() != OutcomeFailed {
		t.Fatalf("status %s: %s", run.Status, run.Text())
	}
	tot := run.Totals
	if tot.Requests != 40 || tot.FailedRequests != 3 || tot.Assertions != 43 || tot.FailedAssertions != 6 {
		t.Errorf("totals %+v", *tot)
	}
	text := run.Text()
	if len(text) > 2048 {
		t.Errorf("text is %d bytes, budget 2048:\n%s", len(text), text)
	}
	b, _ := json.Marshal(run)
	for _, s := range []string{string(b), text, strings.Join(progress, "\n")} {
		if strings.Contains(s, runSecret) {
			t.Errorf("secret leaked: %s", s)
		}
	}
	if !strings.Contains(text, "apikey="+masked) || len(run.Failures) != 3 {
		t.Errorf("failures not shown with a masked key:\n%s", text)
	}
	for _, fl := range run.Failures {
		if fl.Code != 500 || len(fl.Problems) != 2 {
			t.Errorf("failure %+v", fl)
		}
	}
	if len(run.Slowest) != 3 || run.Newman != newman.PinnedVersion {
		t.Errorf("slowest %v, newman %q", run.Slowest, run.Newman)
	}
	if calls > 4 {
		t.Errorf("%d Postman API calls for a run; want at most 4 (find and get the collection and environment) and no uploads", calls)
	}
	mu.Lock()
	if len(progress) < 41 || !strings.HasPrefix(progress[len(progress)-1], "40/40 ") {
		t.Errorf("progress: %d reports, last %q", len(progress), progress[len(progress)-1])
	}
	mu.Unlock()
	t.Logf("result text %d bytes, structured %d bytes:\n%s", len(text), len(b), text)

	// Passing run: fix nothing but run only the passing folder-less subset via vars pointing elsewhere? Simply run
	// a collection that passes.
	pass := f.addCollection(t, f.ws, "Run Fixture Pass", nil, req{name: "ok", method: "GET", path: "/ok", tests: []string{ok200}})
	if run := f.run(t, map[string]any{"collection": pass, "vars": map[string]any{"base": f.api.URL}}); run.Status != RunPassed || run.Outcome() != OutcomePassed {
		t.Errorf("passing run: %s", run.Text())
	}
}

func TestRunCollectionBadInput(t *testing.T) {
	f := newRunFixture(t, 2)
	f.addCollection(t, f.ws, "Bad Input", map[string][]req{"Orders": {{name: "o", method: "GET", path: "/ok"}}},
		req{name: "top", method: "GET", path: "/ok"})
	f.addEnvironment(t, f.ws2, "Elsewhere Env")
	wsName := func(id string) string {
		w, err := f.env.Client.GetWorkspace(context.Background(), id, api.GetWorkspaceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return w.Name
	}
	big := strings.Repeat("x", 1<<20)
	for _, tc := range []struct {
		name string
		args map[string]any
		kind Kind
		want string
	}{
		{"iterations 0", map[string]any{"collection": "Bad Input", "iterations": 0}, KindInvalid, `"iterations": must be at least 1`},
		{"iterations 10000", map[string]any{"collection": "Bad Input", "iterations": 10000}, KindInvalid, `"iterations": must be at most 1000`},
		{"unknown folder", map[string]any{"collection": "Bad Input", "folders": []string{"Ordres"}}, KindNotFound, `has no folder "Ordres" (did you mean "Orders"?)`},
		{"unknown stop", map[string]any{"collection": "Bad Input", "stop": "never"}, KindInvalid, "must be one of failure, error"},
		{"environment from another workspace", map[string]any{"collection": "Bad Input", "workspace": f.ws, "environment": "Elsewhere Env"},
			KindInvalid, fmt.Sprintf("is not in workspace %q", wsName(f.ws))},
		{"17 MB of data", map[string]any{"collection": "Bad Input", "data": []map[string]any{
			{"v": big}, {"v": big}, {"v": big}, {"v": big}, {"v": big}, {"v": big}, {"v": big}, {"v": big}, {"v": big},
			{"v": big}, {"v": big}, {"v": big}, {"v": big}, {"v": big}, {"v": big}, {"v": big}, {"v": big}}}, KindInvalid, "at most 16 MB of iteration data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.call(t, "run_collection", tc.args)
			te, ok := AsError(err)
			if !ok || te.Kind != tc.kind || !strings.Contains(te.Error(), tc.want) {
				t.Fatalf("err %v, want %s containing %q", err, tc.kind, tc.want)
			}
		})
	}
}

func TestRunCollectionOptions(t *testing.T) {
	f := newRunFixture(t, 2)
	col := f.addCollection(t, f.ws, "Options", map[string][]req{
		"A": {{name: "a1", method: "GET", path: "/ok/a1", tests: []string{ok200}}},
		"B": {{name: "b1", method: "GET", path: "/fail/b1", tests: []string{ok200}}, {name: "b2", method: "GET", path: "/ok/b2", tests: []string{ok200}}},
	})
	envUID := f.addEnvironment(t, f.ws, "Options Env")
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"collection": col, "environment": envUID}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	names := func(r CollectionRun) string {
		var n []string
		for _, x := range r.Executions() {
			n = append(n, x.Name)
		}
		return strings.Join(n, ",")
	}
	if r := f.run(t, base(map[string]any{"folders": []string{"A"}})); r.Status != RunPassed || names(r) != "a1" {
		t.Errorf("folder A: %s ran %s", r.Status, names(r))
	}
	if r := f.run(t, base(map[string]any{"folders": []string{"B"}, "stop": "failure"})); names(r) != "b1" || r.Status != RunFailed {
		t.Errorf("stop=failure: %s ran %s", r.Status, names(r))
	}
	if r := f.run(t, base(map[string]any{"folders": []string{"B"}, "stop": "error"})); names(r) != "b1,b2" {
		t.Errorf("stop=error goes on after a failed assertion: ran %s", names(r))
	}
	if r := f.run(t, base(map[string]any{"folders": []string{"B"}, "stop": "error", "vars": map[string]any{"base": "http://127.0.0.1:1"}})); names(r) != "b1" {
		t.Errorf("stop=error stops at a request error: ran %s", names(r))
	}
	if r := f.run(t, base(map[string]any{"folders": []string{"A"}, "iterations": 3})); r.Totals.Iterations != 3 || r.Totals.Requests != 3 {
		t.Errorf("iterations=3: %+v", r.Totals)
	}
	// Data rows of 1 MB each: the run works and the result stays compact.
	big := strings.Repeat("y", 1<<20)
	r := f.run(t, base(map[string]any{"folders": []string{"A"}, "data": []map[string]any{{"blob": big}, {"blob": big}, {"blob": big}}}))
	if r.Status != RunPassed || r.Totals.Iterations != 3 || len(r.Text()) > 1024 {
		t.Errorf("1 MB rows: %s (%d bytes)", r.Status, len(r.Text()))
	}
	slow := f.addCollection(t, f.ws, "Slow", nil, req{name: "blocks", method: "GET", path: "/block", tests: []string{ok200}})
	if r := f.run(t, base(map[string]any{"collection": slow, "request_timeout_ms": 300})); r.Status != RunFailed || !strings.Contains(r.Text(), "TIMEDOUT") {
		t.Errorf("request timeout: %s", r.Text())
	}
	if r := f.run(t, base(map[string]any{"collection": slow, "timeout_s": 1})); r.Status != RunError || !strings.Contains(r.Error, "timed out") {
		t.Errorf("overall timeout: %s", r.Text())
	}
	if r := f.run(t, base(map[string]any{"folders": []string{"A"}, "delay_ms": 1})); r.Status != RunPassed {
		t.Errorf("delay: %s", r.Text())
	}
}

func TestRunCollectionAsyncCancelAndConcurrency(t *testing.T) {
	f := newRunFixture(t, 2)
	col := f.addCollection(t, f.ws, "Blocking", nil, req{name: "blocks", method: "GET", path: "/block", tests: []string{ok200}})
	envUID := f.addEnvironment(t, f.ws, "Blocking Env")
	start := func() CollectionRun {
		r := f.run(t, map[string]any{"collection": col, "environment": envUID, "async": true})
		if r.Run == "" || r.Outcome() != OutcomePending {
			t.Fatalf("async: %+v", r)
		}
		return r
	}
	// Three runs of one collection with two slots: two run, one waits.
	a, b, c := start(), start(), start()
	<-f.blockSeen
	<-f.blockSeen
	get := func(id string, cancel bool) CollectionRun {
		res, err := f.call(t, "get_collection_run", map[string]any{"run": id, "cancel": cancel})
		if err != nil {
			t.Fatal(err)
		}
		return res.(CollectionRun)
	}
	deadline := time.Now().Add(time.Minute)
	for get(c.Run, false).Status != RunQueued && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := get(c.Run, false); s.Status != RunQueued || !strings.Contains(s.Text(), "waiting") {
		t.Errorf("third run: %s", s.Text())
	}
	if r := get(a.Run, true); r.Status != RunCancelled {
		t.Errorf("cancelled run: %s", r.Text())
	}
	<-f.blockSeen // the queued run started in the freed slot
	close(f.release)
	for _, id := range []string{b.Run, c.Run} {
		deadline := time.Now().Add(time.Minute)
		for get(id, false).Outcome() == OutcomePending && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if r := get(id, false); r.Status != RunPassed {
			t.Errorf("run %s: %s", id, r.Text())
		}
	}
	// Another key cannot read these runs.
	other := *f.env
	c2, err := api.New(api.Config{APIKey: "PMAK-other", BaseURL: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	other.Client = c2
	tool, _ := Lookup("get_collection_run")
	if _, err := tool.Call(context.Background(), &other, json.RawMessage(fmt.Sprintf(`{"run":%q}`, b.Run))); err == nil {
		t.Error("another key read a run")
	}
}

func TestRunCollectionWithoutNewman(t *testing.T) {
	f := newFixture(t, emulator.Options{Seed: emulator.SeedDemo})
	f.env.CollectionRuns = NewCollectionRuns(newman.NewRunner(newman.Options{Path: t.TempDir() + "/none"}))
	_, err := f.call(t, "run_collection", map[string]any{"collection": "Orders API"})
	if err == nil || !strings.Contains(err.Error(), "npm install -g newman@6.2.2") {
		t.Fatalf("err %v, want the install hint", err)
	}
}

func TestMaskText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://h/x?apikey=abc123&page=2", "http://h/x?apikey=" + masked + "&page=2"},
		{"http://h/x?page=2&api_key=zz", "http://h/x?page=2&api_key=" + masked},
		{"https://user:hunter22@h/x", "https://user:" + masked + "@h/x"},
		{"expected 'sk_live_4f9a8b7c6d5e' to equal 'x'", "expected '" + masked + "' to equal 'x'"},
		{"http://h/x?q=sk_live_4f9a8b7c6d5e", "http://h/x?q=" + masked},
		{"http://h/x?token=&a=1", "http://h/x?token=&a=1"},
		{"expected 'sk_live_4f9a…", "expected '" + masked + "…"},
	} {
		if got := maskText(tc.in, []string{runSecret, "ab"}); got != tc.want {
			t.Errorf("maskText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCollectionRunsCloseStopsRuns: a server shutting down stops its async runs instead of leaving Newman behind.
func TestCollectionRunsCloseStopsRuns(t *testing.T) {
	f := newRunFixture(t, 1)
	col := f.addCollection(t, f.ws, "Close", nil, req{name: "blocks", method: "GET", path: "/block"})
	envUID := f.addEnvironment(t, f.ws, "Close Env")
	r := f.run(t, map[string]any{"collection": col, "environment": envUID, "async": true})
	<-f.blockSeen
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f.env.CollectionRuns.Close(ctx)
	e, ok := f.env.CollectionRuns.get(r.Run, f.env.Client)
	if !ok {
		t.Fatal("run forgotten")
	}
	if s := e.snapshot(); s.Status != RunCancelled {
		t.Errorf("after Close: %s", s.Text())
	}
}

// TestRunCollectionUsesWorkspaceGlobals: with a workspace, its globals reach the run (and secret ones are masked).
func TestRunCollectionUsesWorkspaceGlobals(t *testing.T) {
	f := newRunFixture(t, 2)
	const token = "gl0bal-secret-token-42"
	if _, err := f.env.Client.ReplaceGlobalVariables(context.Background(), f.ws, []api.GlobalVariable{
		{Key: "gpath", Value: "/ok/from-globals", Enabled: true, Type: "default"},
		{Key: "token", Value: token, Enabled: true, Type: "secret"},
	}); err != nil {
		t.Fatal(err)
	}
	col := f.addCollection(t, f.ws, "Globals", nil, req{name: "g", method: "GET", path: "{{gpath}}?token={{token}}",
		tests: []string{"pm.test('path from globals', () => pm.expect(pm.request.url.getPath()).to.eql('/ok/from-globals'));",
			"pm.test('shows the token', () => pm.expect(pm.request.url.toString()).to.eql('nope'));"}})
	envUID := f.addEnvironment(t, f.ws, "Globals Env")
	r := f.run(t, map[string]any{"collection": col, "environment": envUID, "workspace": f.ws})
	if r.Totals == nil || r.Totals.Assertions != 2 || r.Totals.FailedAssertions != 1 {
		t.Fatalf("globals not used: %s", r.Text())
	}
	b, _ := json.Marshal(r)
	if strings.Contains(r.Text()+string(b), token) {
		t.Errorf("the secret global leaked:\n%s", r.Text())
	}
}
