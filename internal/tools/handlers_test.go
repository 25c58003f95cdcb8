package tools

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/emulator"
)

// TestReadToolsGolden runs every read tool on the demo team by name, as a person would call it, and compares the
// text rendering with a golden file. Each also must stay within two API calls (list_monitors fans out on purpose).
func TestReadToolsGolden(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	tests := []struct {
		name     string
		tool     string
		args     map[string]any
		maxCalls int
	}{
		{"get_account", "get_account", nil, 1},
		{"list_workspaces", "list_workspaces", nil, 1},
		{"get_workspace_by_name", "get_workspace", map[string]any{"workspace": "Payments Platform"}, 2},
		{"list_collections_in_workspace", "list_collections", map[string]any{"workspace": "Payments Platform"}, 2},
		{"get_collection_outline", "get_collection", map[string]any{"collection": "Payments API", "depth": 2, "limit": 20}, 2},
		{"get_collection_request", "get_collection", map[string]any{"collection": "Orders API", "request": "Create order"}, 2},
		{"list_environments", "list_environments", nil, 1},
		{"get_environment_masked", "get_environment", map[string]any{"environment": "staging"}, 2},
		{"list_monitors_status_off", "list_monitors", map[string]any{"status": false}, 1},
		{"get_monitor_by_name", "get_monitor", map[string]any{"monitor": "Orders API nightly regression"}, 2},
		{"list_mocks", "list_mocks", nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var res Result
			calls := f.requests(func() { res = f.mustCall(t, tc.tool, tc.args) })
			if calls > tc.maxCalls {
				t.Errorf("%s spent %d API calls, want ≤ %d", tc.tool, calls, tc.maxCalls)
			}
			golden(t, tc.name+".txt", stabilize(res.Text()))
		})
	}
}

// stabilize blanks the parts of a rendering that depend on the wall clock.
func stabilize(s string) string {
	s = cursorRE.ReplaceAllString(s, "cursor=<cursor>")
	return dateRE.ReplaceAllString(s, "<time>")
}

// cursorRE matches a rendered next_cursor, which carries a snapshot's timestamp.
var cursorRE = regexp.MustCompile(`cursor=pc1\.[A-Za-z0-9_-]+`)

func TestNameResolution(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	tests := []struct {
		name      string
		tool      string
		args      map[string]any
		wantKind  Kind
		wantInMsg string
	}{
		{"typo suggests the closest", "get_monitor", map[string]any{"monitor": "Orders API nightly regresion"}, KindNotFound, "Orders API nightly regression"},
		{"unknown environment lists candidates", "get_environment", map[string]any{"environment": "stage"}, KindNotFound, `"staging"`},
		{"ambiguous name asks for an ID", "get_environment", map[string]any{"environment": "stag"}, KindAmbiguous, `"Orders staging"`},
		{"unknown workspace", "list_collections", map[string]any{"workspace": "Paymnts Platfrom"}, KindNotFound, "Payments Platform"},
		{"unknown request in a collection", "get_collection", map[string]any{"collection": "Orders API", "request": "Create ordr"}, KindNotFound, "Create order"},
		{"missing required argument", "get_monitor", map[string]any{}, KindInvalid, `"monitor" is required`},
		{"unknown argument", "get_monitor", map[string]any{"monitor": "x", "verbose": true}, KindInvalid, `unknown argument "verbose"`},
		{"bad enum", "list_workspaces", map[string]any{"type": "secret"}, KindInvalid, "must be one of"},
		{"out of range", "list_monitors", map[string]any{"limit": 100}, KindInvalid, "at most 25"},
		{"foreign cursor", "list_environments", map[string]any{"cursor": "bm9wZQ"}, KindInvalid, "next_cursor"},
		{"plain 404 by ID", "get_monitor", map[string]any{"monitor": "1e6e2c6f-0000-4000-8000-000000000000"}, KindNotFound, "instanceNotFoundError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.call(t, tc.tool, tc.args)
			te, ok := AsError(err)
			if !ok {
				t.Fatalf("err = %v, want a tools.Error", err)
			}
			if te.Kind != tc.wantKind || !strings.Contains(te.Error(), tc.wantInMsg) {
				t.Fatalf("got %s %q; want %s containing %q", te.Kind, te.Error(), tc.wantKind, tc.wantInMsg)
			}
		})
	}
}

func TestLenientArguments(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	// Numbers and booleans as strings, as some clients send them.
	res := f.mustCall(t, "list_monitors", map[string]any{"limit": "2", "status": "false"})
	if got := len(res.(MonitorList).Items); got != 2 {
		t.Fatalf("limit \"2\" gave %d items", got)
	}
}

func TestPaginationContinues(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	seen := map[string]bool{}
	cursor := ""
	for page := 0; page < 20; page++ {
		res := f.mustCall(t, "list_monitors", map[string]any{"limit": 2, "status": false, "cursor": cursor}).(MonitorList)
		for _, m := range res.Items {
			if seen[m.UID] {
				t.Fatalf("monitor %s listed twice", m.Name)
			}
			seen[m.UID] = true
		}
		if res.NextCursor == "" {
			break
		}
		cursor = res.NextCursor
	}
	if len(seen) < 4 {
		t.Fatalf("paged through %d monitors, want the demo's ≥ 4", len(seen))
	}
	// The collection outline pages too, with the same uniform cursor.
	first := f.mustCall(t, "get_collection", map[string]any{"collection": "Payments API", "limit": 50}).(CollectionView)
	if first.NextCursor == "" || len(first.Items) != 50 {
		t.Fatalf("outline page 1: %d rows, cursor %q", len(first.Items), first.NextCursor)
	}
	second := f.mustCall(t, "get_collection", map[string]any{"collection": "Payments API", "limit": 50, "cursor": first.NextCursor}).(CollectionView)
	if second.Items[0] == first.Items[0] {
		t.Fatal("second outline page repeats the first")
	}
}

func TestEnvironmentWrites(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	ctx := context.Background()
	_ = ctx
	dry := f.mustCall(t, "set_environment_variables", map[string]any{
		"environment": "staging", "set": map[string]string{"currency": "USD", "new_flag": "on", "fresh_token": "s3cr3t-value"},
		"secret": []string{"fresh_token"}, "dry_run": true}).(EnvDiff)
	if dry.Applied {
		t.Fatal("dry run applied")
	}
	golden(t, "set_environment_variables_dry_run.txt", dry.Text())
	if strings.Contains(dry.Text(), "s3cr3t-value") {
		t.Fatal("dry run shows a secret value")
	}
	before := f.mustCall(t, "get_environment", map[string]any{"environment": "staging", "key": "currency"}).(EnvironmentView)
	if before.Variables[0].Value == "USD" {
		t.Fatal("dry run changed the value")
	}

	applied := f.mustCall(t, "set_environment_variables", map[string]any{
		"environment": "staging", "set": map[string]string{"currency": "USD", "new_flag": "on", "fresh_token": "s3cr3t-value"},
		"secret": []string{"fresh_token"}}).(EnvDiff)
	if !applied.Applied {
		t.Fatal("not applied")
	}
	// reveal=true is the one way to see secret values, so this call is exempt from the leak check.
	revealed, err := f.call(t, "get_environment", map[string]any{"environment": "staging", "reveal": true})
	if err != nil {
		t.Fatal(err)
	}
	got := revealed.(EnvironmentView)
	vals := map[string]EnvVariable{}
	for _, v := range got.Variables {
		vals[v.Key] = v
	}
	if vals["currency"].Value != "USD" || vals["new_flag"].Value != "on" || vals["fresh_token"].Type != "secret" {
		t.Fatalf("after set: %+v", vals)
	}

	f.mustCall(t, "unset_environment_variables", map[string]any{"environment": "staging", "keys": []string{"new_flag", "fresh_token"}, "confirm": true})
	after := f.mustCall(t, "get_environment", map[string]any{"environment": "staging"}).(EnvironmentView)
	for _, v := range after.Variables {
		if v.Key == "new_flag" || v.Key == "fresh_token" {
			t.Fatalf("%s still present after unset", v.Key)
		}
	}
	if len(after.Variables) != len(got.Variables)-2 {
		t.Fatalf("unset removed %d variables, want 2", len(got.Variables)-len(after.Variables))
	}
}

func TestDestructiveToolsPreviewFirst(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	for _, tc := range []struct{ tool, arg, name string }{
		{"delete_collection", "collection", "Legacy Billing"},
		{"delete_environment", "environment", "local"},
		{"delete_monitor", "monitor", "Legacy billing sync"},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			preview := f.mustCall(t, tc.tool, map[string]any{tc.arg: tc.name}).(Change)
			if preview.Done || !strings.Contains(preview.Text(), "PREVIEW") {
				t.Fatalf("without confirm: %+v", preview)
			}
			done := f.mustCall(t, tc.tool, map[string]any{tc.arg: tc.name, "confirm": true}).(Change)
			if !done.Done {
				t.Fatalf("with confirm: %+v", done)
			}
			_, err := f.call(t, tc.tool, map[string]any{tc.arg: tc.name, "confirm": true})
			if te, ok := AsError(err); !ok || te.Kind != KindNotFound {
				t.Fatalf("second delete: %v, want not found", err)
			}
		})
	}
}

func TestCollectionLifecycle(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	created := f.mustCall(t, "create_collection", map[string]any{
		"workspace": "Payments Platform", "name": "Smoke from assistant",
		"requests": []map[string]any{
			{"name": "Health", "url": "https://api.example.com/health"},
			{"name": "Create user", "method": "post", "url": "https://api.example.com/users", "folder": "Users/Admin",
				"headers": map[string]string{"Content-Type": "application/json"}, "body": `{"name":"a"}`},
		}}).(Change)
	if created.UID == "" {
		t.Fatalf("no uid: %+v", created)
	}
	view := f.mustCall(t, "get_collection", map[string]any{"collection": "Smoke from assistant"}).(CollectionView)
	if view.Requests != 2 || view.Folders != 2 {
		t.Fatalf("created outline: %d requests, %d folders", view.Requests, view.Folders)
	}
	req := f.mustCall(t, "get_collection", map[string]any{"collection": created.UID, "request": "Users/Admin/Create user"}).(CollectionView)
	if req.Request == nil || req.Request.Method != "POST" || req.Request.Body != `{"name":"a"}` {
		t.Fatalf("request detail: %+v", req.Request)
	}
	f.mustCall(t, "update_collection", map[string]any{"collection": created.UID, "name": "Smoke v2",
		"variables": map[string]string{"baseUrl": "https://api.example.com"}, "auth_type": "bearer", "auth": map[string]string{"token": "{{token}}"}})
	renamed := f.mustCall(t, "get_collection", map[string]any{"collection": "Smoke v2"}).(CollectionView)
	if renamed.UID != created.UID {
		t.Fatalf("rename lost the collection: %+v", renamed)
	}
	_, err := f.call(t, "update_collection", map[string]any{"collection": created.UID, "auth_type": "basic", "auth": map[string]string{"token": "x"}})
	if te, ok := AsError(err); !ok || te.Kind != KindInvalid {
		t.Fatalf("bad auth attribute: %v", err)
	}
}

func TestMonitorRunAndExplain(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	const failing = "Orders API nightly regression"
	before := f.mustCall(t, "explain_monitor_failure", map[string]any{"monitor": failing}).(RunReport)
	if before.Source != "last_run_stats" || !strings.Contains(before.Note, "rerun=true") {
		t.Fatalf("unseen run should be explained from its numbers with a rerun hint: %+v", before)
	}
	var progress []string
	f.env.Progress = func(done, total int, msg string) { progress = append(progress, msg) }
	run := f.mustCall(t, "run_monitor", map[string]any{"monitor": failing}).(RunReport)
	f.env.Progress = nil
	if run.Passed || len(run.Failures) == 0 {
		t.Fatalf("failing monitor passed: %+v", run)
	}
	if len(progress) == 0 {
		t.Error("no progress reported while running")
	}
	golden(t, "run_monitor_failing.txt", run.Text())
	explained := f.mustCall(t, "explain_monitor_failure", map[string]any{"monitor": failing}).(RunReport)
	if explained.Source != "run" || len(explained.Failures) != len(run.Failures) {
		t.Fatalf("explain after a run should use the run's details: %+v", explained)
	}
	pass := f.mustCall(t, "run_monitor", map[string]any{"monitor": "Payments API smoke (staging)"}).(RunReport)
	if !pass.Passed || len(pass.Failures) != 0 {
		t.Fatalf("passing monitor: %s", pass.Text())
	}
	async := f.mustCall(t, "run_monitor", map[string]any{"monitor": "Payments API smoke (staging)", "async": true}).(RunReport)
	if !async.Running {
		t.Fatalf("async run: %+v", async)
	}
	paused := f.mustCall(t, "set_monitor_active", map[string]any{"monitor": "Payments API smoke (staging)", "active": false}).(Change)
	if !paused.Done {
		t.Fatal("pause not done")
	}
	m := f.mustCall(t, "get_monitor", map[string]any{"monitor": "Payments API smoke (staging)"}).(MonitorView)
	if m.Active {
		t.Fatal("monitor still active after pause")
	}
}

func TestLongRunningMonitorRun(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	uid, _ := f.emu.UIDByName("monitor", "Checkout flow synthetic")
	f.emu.ForceLongRun(uid)
	res := f.mustCall(t, "run_monitor", map[string]any{"monitor": uid}).(RunReport)
	if !res.Running || !strings.Contains(res.Text(), "still running") {
		t.Fatalf("202 still-running answer: %s", res.Text())
	}
}

func TestUpstreamFailures(t *testing.T) {
	tests := []struct {
		name  string
		opts  emulator.Options
		fault *emulator.Fault
		want  Kind
		hint  string
	}{
		{"5xx", emulator.Options{}, &emulator.Fault{Kind: emulator.FaultServerError, Route: "GET /me"}, KindUpstream, "retry"},
		{"503 legacy body", emulator.Options{}, &emulator.Fault{Kind: emulator.FaultUnavailable, Route: "GET /me"}, KindUpstream, "retry"},
		{"invalid key", emulator.Options{Keys: []emulator.User{}}, nil, KindUnauthorized, "API key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts)
			if tc.fault != nil {
				f.emu.SetFault(*tc.fault)
			}
			_, err := f.call(t, "get_account", nil)
			te, ok := AsError(err)
			if !ok || te.Kind != tc.want || !strings.Contains(te.Error(), tc.hint) {
				t.Fatalf("err = %v (kind %v), want %s mentioning %q", err, te, tc.want, tc.hint)
			}
			if strings.Contains(te.Error(), emulator.DemoKey) {
				t.Fatal("error leaks the key")
			}
		})
	}
}

func TestRateLimitedCallerGetsRetryTime(t *testing.T) {
	// A window of 2 requests per minute: the third call cannot go before the window resets, and a caller who
	// will not wait that long is told when to retry instead of hanging.
	f := newFixture(t, emulator.Options{PerWindow: 2})
	f.mustCall(t, "get_account", nil)
	f.mustCall(t, "get_account", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	tool, _ := Lookup("get_account")
	_, err := tool.Call(ctx, f.env, nil)
	te, ok := AsError(err)
	if !ok || te.Kind != KindRateLimited || te.RetryAt.IsZero() || !strings.Contains(te.Error(), "UTC") {
		t.Fatalf("err = %v, want rate limited with a retry time", err)
	}
	if errors.Is(err, context.DeadlineExceeded) && te.Kind != KindRateLimited {
		t.Fatal("deadline surfaced instead of the rate limit")
	}
}

// TestServer429Styles: when Postman itself answers 429 (here its route bucket, which this client's gate is not
// told about), the tool says rate limited with a retry time, whatever body style the 429 carries.
func TestServer429Styles(t *testing.T) {
	for _, style := range []string{emulator.Style429Object, emulator.Style429String, emulator.Style429Problem} {
		t.Run(style, func(t *testing.T) {
			f := newFixture(t, emulator.Options{RoutePerWindow: 1, Style429: style})
			f.mustCall(t, "list_workspaces", nil)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			tool, _ := Lookup("list_workspaces")
			_, err := tool.Call(ctx, f.env, nil)
			te, ok := AsError(err)
			if !ok || te.Kind != KindRateLimited {
				t.Fatalf("err = %v, want rate limited", err)
			}
			if !strings.Contains(te.Error(), "UTC") {
				t.Fatalf("no retry time: %v", te)
			}
			if f.emu.Stats(emulator.DemoKey).RateLimited == 0 {
				t.Fatal("the server never answered 429; the test did not exercise a 429 body")
			}
		})
	}
}
