package emulator

import (
	"fmt"
	"testing"
	"time"
)

func runMonitor(f *fixture, key, name, query string) *resp {
	f.t.Helper()
	f.clk.Advance(time.Second) // keep the route bucket (10 per 10 s) out of the way
	return f.do("POST", "/monitors/"+f.uid("monitor", name)+"/run"+query, key, nil)
}

func TestDemoMonitorOutcomes(t *testing.T) {
	f := demo(t)
	for i := range 5 {
		pass := runMonitor(f, DemoKey, DemoMonitorPassing, "")
		wantStatus(t, pass, 200)
		if pass.str("run", "info", "status") != "success" || pass.num("run", "stats", "assertions", "failed") != 0 || len(pass.arr("run", "failures")) != 0 {
			t.Fatalf("passing monitor run %d: %.800s", i, pass.Raw)
		}
		fail := runMonitor(f, DemoKey, DemoMonitorFailing, "")
		if fail.str("run", "info", "status") != "failed" || fail.num("run", "stats", "assertions", "failed") < 1 {
			t.Fatalf("failing monitor run %d passed", i)
		}
		var sawServerError bool
		for _, ex := range fail.arr("run", "executions") {
			if dig(ex, "item", "name") == "Create order" && fmt.Sprint(dig(ex, "response", "code")) == "500" {
				sawServerError = true
			}
		}
		if !sawServerError || fail.str("run", "failures", 0, "assertion") != "Status code is 201" {
			t.Fatalf("failing monitor: no 500 / failing status assertion: %s", fail.arr("run", "failures"))
		}
	}
	// The flaky monitor both passes and fails over a few runs, and never its other requests.
	outcomes := map[string]int{}
	for range 12 {
		r := runMonitor(f, DemoKey, DemoMonitorFlaky, "")
		outcomes[r.str("run", "info", "status")]++
		for _, fl := range r.arr("run", "failures") {
			if dig(fl, "item", "name") != "Confirm payment" {
				t.Fatalf("flaky failure on %v", dig(fl, "item", "name"))
			}
		}
	}
	if outcomes["success"] == 0 || outcomes["failed"] == 0 {
		t.Fatalf("flaky outcomes %v", outcomes)
	}
	// The run updates the monitor.
	run := runMonitor(f, DemoKey, DemoMonitorFailing, "")
	mon := f.do("GET", "/monitors/"+f.uid("monitor", DemoMonitorFailing), DemoKey, nil)
	if mon.str("monitor", "jobId") != run.str("run", "info", "jobId") || mon.str("monitor", "lastRun", "status") != "failed" ||
		mon.str("monitor", "lastRun", "finishedAt") != run.str("run", "info", "finishedAt") {
		t.Fatalf("lastRun not updated: %s", mon.Raw)
	}
}

func TestRunsAreDeterministic(t *testing.T) {
	a, b := demo(t), demo(t)
	for range 6 {
		ra := runMonitor(a, DemoKey, DemoMonitorFlaky, "")
		rb := runMonitor(b, DemoKey, DemoMonitorFlaky, "")
		if string(ra.Raw) != string(rb.Raw) {
			t.Fatalf("same seed and run number gave different runs:\n%.400s\n%.400s", ra.Raw, rb.Raw)
		}
	}
	// Another seed changes the flaky monitor's luck but not the others' outcome.
	e := New(Options{Clock: a.clk, Seed: SeedDemo})
	m := e.monitors[bareID(a.uid("monitor", DemoMonitorFlaky))]
	r1 := e.simulateRun(m, 3, testStart, "job")
	r2 := e.simulateRun(m, 3, testStart, "job")
	if r1.status != r2.status || r1.stats != r2.stats {
		t.Fatal("simulateRun is not a function of its inputs")
	}
}

func TestAsyncAndLongRuns(t *testing.T) {
	f := demo(t)
	uid := f.uid("monitor", DemoMonitorFailing)
	before := f.do("GET", "/monitors/"+uid, DemoKey, nil).str("monitor", "lastRun", "startedAt")
	r := runMonitor(f, DemoKey, DemoMonitorFailing, "?async=true")
	wantStatus(t, r, 200)
	if r.str("run", "info", "status") != "running" || r.get("run", "stats") != nil || r.get("run", "executions") != nil {
		t.Fatalf("async reply %s", r.Raw)
	}
	job := r.str("run", "info", "jobId")
	mon := f.do("GET", "/monitors/"+uid, DemoKey, nil)
	if mon.str("monitor", "jobId") != job || mon.str("monitor", "lastRun", "startedAt") != before {
		t.Fatalf("while running: jobId should move, lastRun should not: %s", mon.Raw)
	}
	f.clk.Advance(time.Minute)
	mon = f.do("GET", "/monitors/"+uid, DemoKey, nil)
	if mon.str("monitor", "lastRun", "jobId") != job || mon.str("monitor", "lastRun", "status") != "failed" {
		t.Fatalf("async run did not finish: %s", mon.Raw)
	}

	f.e.ForceLongRun(uid)
	r = runMonitor(f, DemoKey, DemoMonitorFailing, "")
	wantStatus(t, r, 202)
	if r.str("run", "info", "status") != "running" || r.str("run", "info", "monitorId") != bareID(uid) {
		t.Fatalf("long run reply %s", r.Raw)
	}
	f.clk.Advance(5 * time.Minute)
	if f.do("GET", "/monitors/"+uid, DemoKey, nil).str("monitor", "lastRun", "jobId") == f.do("GET", "/monitors/"+uid, DemoKey, nil).str("monitor", "jobId") {
		t.Fatal("the long run finished before LongRunDelay")
	}
	if n := f.e.Advance(2 * time.Minute); n < 1 {
		t.Fatalf("Tick finished %d runs", n)
	}
	mon = f.do("GET", "/monitors/"+uid, DemoKey, nil)
	if mon.str("monitor", "lastRun", "jobId") != mon.str("monitor", "jobId") {
		t.Fatal("the long run never finished")
	}
	// The next synchronous run is normal again.
	wantStatus(t, runMonitor(f, DemoKey, DemoMonitorFailing, ""), 200)
}

func TestScheduledRuns(t *testing.T) {
	f := demo(t)
	uid := f.uid("monitor", DemoMonitorPassing) // */15 UTC; testStart is 09:30:20
	mon := f.do("GET", "/monitors/"+uid, DemoKey, nil)
	if mon.str("monitor", "schedule", "nextRun") != "2026-03-12T09:45:00.000Z" || mon.str("monitor", "lastRun", "startedAt") != "2026-03-12T09:30:00.000Z" {
		t.Fatalf("seeded schedule %s", mon.Raw)
	}
	paused := f.uid("monitor", DemoMonitorPaused)
	pausedBefore := f.do("GET", "/monitors/"+paused, DemoKey, nil)
	if pausedBefore.get("monitor", "schedule", "nextRun") != nil {
		t.Fatal("a paused monitor has a next run")
	}

	// One hour later: 4 runs of the */15 monitor (09:45, 10:00, 10:15, 10:30), 6 of the */10 one, 1 of the other
	// team's hourly one, none of the paused one.
	n := f.e.Advance(time.Hour)
	if n != 11 {
		t.Fatalf("Tick ran %d monitors, want 11", n)
	}
	mon = f.do("GET", "/monitors/"+uid, DemoKey, nil)
	if mon.str("monitor", "lastRun", "startedAt") != "2026-03-12T10:30:00.000Z" || mon.str("monitor", "schedule", "nextRun") != "2026-03-12T10:45:00.000Z" {
		t.Fatalf("after an hour: %s", mon.Raw)
	}
	if got := f.do("GET", "/monitors/"+paused, DemoKey, nil).str("monitor", "lastRun", "jobId"); got != pausedBefore.str("monitor", "lastRun", "jobId") {
		t.Fatal("the paused monitor ran")
	}

	// Pause and resume through the API; requests settle lazily without Tick.
	f.clk.Advance(time.Second)
	wantStatus(t, f.do("PUT", "/monitors/"+uid, DemoKey, `{"monitor":{"active":false}}`), 200)
	f.clk.Advance(2 * time.Hour)
	mon = f.do("GET", "/monitors/"+uid, DemoKey, nil)
	if mon.str("monitor", "lastRun", "startedAt") != "2026-03-12T10:30:00.000Z" || mon.get("monitor", "active") != false {
		t.Fatalf("paused monitor ran: %s", mon.Raw)
	}
	f.clk.Advance(time.Second)
	wantStatus(t, f.do("PUT", "/monitors/"+uid, DemoKey, `{"monitor":{"active":true,"schedule":{"cron":"0 */2 * * *","timezone":"America/Chicago"}}}`), 200)
	mon = f.do("GET", "/monitors/"+uid, DemoKey, nil)
	if mon.str("monitor", "schedule", "nextRun") != "2026-03-12T13:00:00.000Z" { // now 07:30 CDT; next even hour 08:00 CDT
		t.Fatalf("resumed schedule %s", mon.get("monitor", "schedule"))
	}
	f.clk.Advance(2 * time.Hour)
	mon = f.do("GET", "/monitors/"+uid, DemoKey, nil)
	if mon.str("monitor", "lastRun", "startedAt") != "2026-03-12T13:00:00.000Z" {
		t.Fatalf("lazy scheduled run missing: %s", mon.get("monitor", "lastRun"))
	}
}

func TestMonitorCreateUpdateDelete(t *testing.T) {
	f := demo(t)
	col, env := f.uid("collection", DemoCollectionSmoke), f.uid("environment", "staging")
	r := f.do("POST", "/monitors", DemoKey, map[string]any{"monitor": map[string]any{
		"name": "Mine", "collection": col, "environment": env, "active": true, "notificationLimit": 2, "retry": map[string]any{"attempts": 1},
		"schedule":      map[string]any{"cron": "*/5 * * * *", "timezone": "America/Chicago"},
		"options":       map[string]any{"strictSSL": true, "followRedirects": false, "requestTimeout": 4000, "requestDelay": 5},
		"notifications": map[string]any{"onError": []any{map[string]any{"email": "a@example.com"}}, "onFailure": []any{}},
		"distribution":  []any{map[string]any{"region": "us-east"}, map[string]any{"region": "ca-central"}},
	}})
	wantStatus(t, r, 200)
	uid := r.str("monitor", "uid")
	f.clk.Advance(time.Second)
	got := f.do("GET", "/monitors/"+uid, DemoKey, nil)
	if got.num("monitor", "owner") != float64(DemoUserID) || got.str("monitor", "collectionUid") != col || got.num("monitor", "options", "requestDelay") != 5 ||
		got.get("monitor", "lastRun") != nil || got.str("monitor", "schedule", "nextRun") != "2026-03-12T09:35:00.000Z" {
		t.Fatalf("created monitor %s", got.Raw)
	}
	run := runMonitor(f, DemoKey, "Mine", "")
	if run.num("run", "stats", "runCount") != 2 || run.str("run", "info", "status") != "success" {
		t.Fatalf("run of a created monitor %s", run.Raw)
	}
	for body, name := range map[string]string{
		`{"monitor":{"collection":"x"}}`:                             "parameterNotAllowedError",
		`{"monitor":{"active":"yes"}}`:                               "badRequest",
		`{"monitor":{"schedule":{"cron":"*/2 * * * *"}}}`:            "cronPatternNotAllowedError",
		`{"monitor":{"schedule":{"cron":"61 * * * *"}}}`:             "cronPatternNotAllowedError",
		`{"monitor":{"schedule":{"cron":"0 * * * *","timezone":1}}}`: "invalidParamsError",
		`{"monitor":{"options":{"requestDelay":0}}}`:                 "invalidParamsError",
		`{"monitor":{"distribution":[{"region":"moon"}]}}`:           "invalidParamsError",
		`{"monitor":{"notificationLimit":100}}`:                      "invalidParamsError",
		`{"monitor":`:                                                "malformedRequestError",
		`{}`:                                                         "paramMissingError",
	} {
		f.clk.Advance(time.Second)
		wantError(t, f.do("PUT", "/monitors/"+uid, DemoKey, body), 400, name)
	}
	f.clk.Advance(time.Second)
	if f.do("GET", "/monitors/"+uid, DemoKey, nil).str("monitor", "schedule", "cron") != "*/5 * * * *" {
		t.Fatal("a rejected PUT changed the monitor")
	}
	f.clk.Advance(time.Second)
	r = f.do("POST", "/monitors", DemoKey, `{"monitor":{"name":"x"}}`)
	wantError(t, r, 400, "paramMissingError")
	if fmt.Sprint(r.get("error", "details", "param")) != "[collection schedule]" {
		t.Fatalf("missing params %v", r.get("error", "details"))
	}
	f.clk.Advance(time.Second)
	wantError(t, f.do("POST", "/monitors", DemoKey, map[string]any{"monitor": map[string]any{"name": "x", "collection": f.uid("collection", "Inventory API"),
		"schedule": map[string]any{"cron": "0 * * * *"}}}), 400, "invalidParamsError")
	f.clk.Advance(time.Second)
	wantStatus(t, f.do("DELETE", "/monitors/"+uid, DemoKey, nil), 200)
	f.clk.Advance(time.Second)
	wantError(t, f.do("GET", "/monitors/"+uid, DemoKey, nil), 404, "instanceNotFoundError")

	hook := f.do("POST", "/webhooks", DemoKey, map[string]any{"webhook": map[string]any{"name": "Trigger", "collection": col, "environment": env}})
	wantStatus(t, hook, 200)
	if hook.str("webhook", "webhookUrl") == "" || hook.str("webhook", "collection") != col {
		t.Fatalf("webhook %s", hook.Raw)
	}
	f.clk.Advance(time.Second)
	m := f.do("GET", "/monitors/"+hook.str("webhook", "uid"), DemoKey, nil)
	if m.get("monitor", "schedule") != nil {
		t.Fatalf("a trigger-only monitor has a schedule: %s", m.Raw)
	}
}

func TestCron(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct {
		expr, tz, after, want string
	}{
		{"*/15 * * * *", "UTC", "2026-03-12T09:30:20Z", "2026-03-12T09:45:00Z"},
		{"0 0 * * * *", "UTC", "2026-03-12T09:30:20Z", "2026-03-12T10:00:00Z"},
		{"30 9 * * 1-5", "UTC", "2026-03-13T10:00:00Z", "2026-03-16T09:30:00Z"}, // Friday after 09:30 → Monday
		{"0 17 1,15 * *", "UTC", "2026-03-02T00:00:00Z", "2026-03-15T17:00:00Z"},
		{"0 0 * * SUN", "UTC", "2026-03-12T00:00:00Z", "2026-03-15T00:00:00Z"},
		{"0 0 * * 7", "UTC", "2026-03-12T00:00:00Z", "2026-03-15T00:00:00Z"},
		{"0 12 * JAN *", "UTC", "2026-03-12T00:00:00Z", "2027-01-01T12:00:00Z"},
		{"0 0 29 2 *", "UTC", "2026-03-12T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"0 2 * * *", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-09T06:00:00Z"}, // 02:00 does not exist on the DST day
		{"30 1 * * *", "America/New_York", "2026-11-01T04:00:00Z", "2026-11-01T05:30:00Z"},
		{"0 0 1 * 1", "UTC", "2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z"}, // day-of-month OR day-of-week
	}
	for _, c := range cases {
		spec, loc, err := parseSchedule(c.expr, c.tz)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		if got := spec.next(at(c.after), loc); !got.Equal(at(c.want)) {
			t.Errorf("%s (%s) after %s = %s, want %s", c.expr, c.tz, c.after, got.UTC().Format(time.RFC3339), c.want)
		}
	}
	_ = ny
	for _, bad := range []string{"", "* * * *", "* * * * *", "*/4 * * * *", "60 * * * *", "0 24 * * *", "0 0 0 * *", "0 0 * 13 *", "0 0 * * 8",
		"a b c d e", "5-1 * * * *", "*/0 * * * *", "1,,2 * * * *", "0 0 31 2 *"} {
		if _, _, err := parseSchedule(bad, "UTC"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, _, err := parseSchedule("0 * * * *", "Nowhere/City"); err == nil {
		t.Error("bad time zone accepted")
	}
}
