package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/sqlitestore"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

// stepSlack runs the half of the pipeline that needs no Postman call (what Run's Slack loop does).
func (r *rig) stepSlack() {
	r.t.Helper()
	r.n.stepSlack(context.Background())
}

// finishRun moves the schedule to the monitor's next run and waits until its webhook is stored, without running
// the notifier.
func (r *rig) finishRun() {
	r.t.Helper()
	r.emu.Advance(5 * time.Minute)
	r.emu.WaitWebhooks()
}

// TestWebhookPostedBeforeAnyPostmanCall: a webhook that cannot repeat a recorded run is posted by the Slack half
// of the pipeline alone, with no call to Postman; the one lastRun read that follows only binds the run key to it.
func TestWebhookPostedBeforeAnyPostmanCall(t *testing.T) {
	r := newRig(t, rigOpts{})
	f := r.newFlipMonitor("Fast")
	r.subscribe(slackfake.ChannelGeneral, f.uid, store.PolicyAll)
	for round, want := range []string{"FAILING", "RECOVERED", "FAILING"} {
		if round == 1 {
			f.setCode(200)
		}
		if round == 2 {
			f.setCode(500)
		}
		r.finishRun()
		calls := r.emu.Requests(emulator.DemoKey)
		r.stepSlack()
		if got := r.emu.Requests(emulator.DemoKey); got != calls {
			t.Fatalf("round %d: the Slack half called Postman %d times", round, got-calls)
		}
		var all []string
		for _, m := range r.slack.Messages(slackfake.ChannelGeneral) {
			for _, tm := range r.slack.Thread(slackfake.ChannelGeneral, m.TS) {
				all = append(all, tm.Text)
			}
		}
		if !containsAny(all, want) {
			t.Fatalf("round %d: want a %s message before any Postman call, got %q", round, want, all)
		}
		r.settle()
	}
	hist, err := r.n.History().MonitorRuns(context.Background(), f.uid, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 {
		t.Fatalf("history: %d runs, want 3: %+v", len(hist), hist)
	}
	for _, h := range hist {
		if isHookKey(h.Key) || h.StartedAt.IsZero() {
			t.Errorf("run %s was not bound to Postman's run (started %v)", h.Key, h.StartedAt)
		}
	}
	if inbox, _ := r.st.Inbox(context.Background(), 0, 0); len(inbox) != 0 {
		t.Errorf("%d webhooks left unbound", len(inbox))
	}
}

func containsAny(texts []string, want string) bool {
	for _, s := range texts {
		if strings.Contains(s, want) {
			return true
		}
	}
	return false
}

// TestPostedWebhookRunIsNotPostedAgain: once a webhook is posted under its provisional key, the same run arriving
// another way (the poller, a pmops run report, a replay of the webhook), before or after the lastRun read that
// binds it, is kept once in the history and never posted again.
func TestPostedWebhookRunIsNotPostedAgain(t *testing.T) {
	cases := []struct {
		name      string
		bindFirst bool
		again     func(r *rig, f *flipMonitor, hook []byte)
	}{
		{"poller before binding", false, recordPolled},
		{"poller after binding", true, recordPolled},
		{"pmops run report before binding", false, observeLastRun},
		{"pmops run report after binding", true, observeLastRun},
		{"replay before binding", false, replay},
		{"replay after binding", true, replay},
		{"later replay after binding", true, func(r *rig, f *flipMonitor, hook []byte) {
			r.clk.Advance(minReplayHorizon - 10*time.Second)
			replay(r, f, hook)
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, rigOpts{})
			f := r.newFlipMonitor("Once")
			r.subscribe(slackfake.ChannelGeneral, f.uid, store.PolicyAll)
			r.finishRun()
			var hook []byte
			for _, d := range r.emu.WebhookDeliveries() {
				hook, _ = json.Marshal(d.Payload)
			}
			r.stepSlack()
			if msgs := r.slack.Messages(slackfake.ChannelGeneral); len(msgs) != 1 {
				t.Fatalf("webhook not posted at once: %q", titles(msgs))
			}
			if tt.bindFirst {
				r.settle()
			}
			tt.again(r, f, hook)
			r.settle()
			msgs := r.slack.Messages(slackfake.ChannelGeneral)
			if len(msgs) != 1 || len(r.slack.Thread(slackfake.ChannelGeneral, msgs[0].TS)) > 1 {
				t.Fatalf("the run was posted again: %q", titles(msgs))
			}
			hist, _ := r.n.History().MonitorRuns(context.Background(), f.uid, 0)
			if len(hist) != 1 {
				t.Errorf("history counts the run %d times: %+v", len(hist), hist)
			}
		})
	}
}

func recordPolled(r *rig, f *flipMonitor, _ []byte) {
	r.t.Helper()
	st, err := tools.FetchMonitorStatus(ratelimit.WithCache(context.Background(), -1), r.env, f.uid)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.n.Record(context.Background(), fromLastRun(st, SourcePoll)); err != nil {
		r.t.Fatal(err)
	}
}

func observeLastRun(r *rig, f *flipMonitor, _ []byte) { observe(r, f, "Health: Status code is 200") }

func replay(r *rig, _ *flipMonitor, hook []byte) {
	r.t.Helper()
	if code, ans := r.postHook(HookPathPrefix+testToken, hook); code != 202 {
		r.t.Fatalf("replay: %d %s", code, ans)
	}
}

// TestManualRunRightAfterScheduledRun: a run started by hand in Postman half a minute after a scheduled run, with
// the same numbers, may look like a replay; it waits for lastRun, which names it a new run, and is posted.
func TestManualRunRightAfterScheduledRun(t *testing.T) {
	r := newRig(t, rigOpts{})
	f := r.newFlipMonitor("Manual")
	f.setCode(200)
	r.subscribe(slackfake.ChannelGeneral, f.uid, store.PolicyAll)
	r.advance(5 * time.Minute)
	r.clk.Advance(30 * time.Second)
	r.emuDo("POST", "/monitors/"+f.uid+"/run", nil)
	r.emu.WaitWebhooks()
	r.settle()
	msgs := r.slack.Messages(slackfake.ChannelGeneral)
	if len(msgs) != 2 || !strings.Contains(msgs[1].Text, "Passed") {
		t.Fatalf("messages: %q", titles(msgs))
	}
	hist, _ := r.n.History().MonitorRuns(context.Background(), f.uid, 0)
	if len(hist) != 2 || hist[0].Key == hist[1].Key {
		t.Errorf("history: %+v", hist)
	}
}

// TestReportedBy: which webhook run a run key stands for.
func TestReportedBy(t *testing.T) {
	fin := t0.Add(5 * time.Minute)
	hook := func(arrive time.Duration, failed int) store.NotifyRun {
		b := hookBody{MonitorUID: "m", Metrics: hookMetrics{FailedTests: failed, PassedTests: 2 - failed, RequestCount: 2, TotalLatency: 100}}
		return mustRun(t, hookEvent(b, fin.Add(arrive)))
	}
	run := func(key string, failed int, alias string) Event {
		status := "success"
		if failed > 0 {
			status = "failed"
		}
		return Event{Key: key, MonitorUID: "m", Status: status, StartedAt: fin.Add(-time.Second), FinishedAt: fin, Requests: 2,
			Assertions: 2, FailedAsserts: failed, AliasOf: alias}
	}
	h := hook(time.Second, 1)
	cases := []struct {
		name string
		ev   Event
		runs []store.NotifyRun
		want string
	}{
		{"webhook a second after the finish", run("m@1", 1, ""), []store.NotifyRun{h}, h.Key},
		{"other numbers", run("m@1", 0, ""), []store.NotifyRun{h}, ""},
		{"webhook 3 minutes later", run("m@1", 1, ""), []store.NotifyRun{hook(3*time.Minute, 1)}, ""},
		{"webhook 50 s early (clocks disagree)", run("m@1", 1, ""), []store.NotifyRun{hook(-50*time.Second, 1)}, hook(-50*time.Second, 1).Key},
		{"bound to another run", run("m@2", 1, ""), []store.NotifyRun{h, mustRun(t, run("m@1", 1, h.Key))}, ""},
		{"bound to this run", run("m@1", 1, ""), []store.NotifyRun{h, mustRun(t, run("m@1", 1, h.Key))}, h.Key},
		{"alias", run("m@1", 1, h.Key), nil, h.Key},
		{"a webhook run itself", hookFieldsKeyed(h), []store.NotifyRun{h}, ""},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if got := reportedBy(tt.ev, tt.runs); got != tt.want {
				t.Errorf("reportedBy = %q, want %q", got, tt.want)
			}
		})
	}
	// The history keeps the run key and folds the webhook run it stands for.
	runs := dedupeRuns([]store.NotifyRun{h, mustRun(t, run("m@1", 1, "")), hook(30*time.Minute, 0)})
	if len(runs) != 2 || runs[0].Key != "m@1" {
		t.Errorf("dedupeRuns kept %+v", runs)
	}
}

func hookFieldsKeyed(r store.NotifyRun) Event {
	ev, _ := eventOf(r)
	return ev
}

func mustRun(t *testing.T, ev Event) store.NotifyRun {
	t.Helper()
	r, err := ev.asRun(t0)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPmopsRunDetailsReachThePostedWebhookMessage: when the webhook of a run pmops started is posted first, the
// run's own report (with its failing requests and assertions, which the webhook lacks) edits those messages, the
// thread parent and a reply alike, instead of posting again.
func TestPmopsRunDetailsReachThePostedWebhookMessage(t *testing.T) {
	r := newRig(t, rigOpts{})
	f := r.newFlipMonitor("Detailed")
	r.subscribe(slackfake.ChannelGeneral, f.uid, store.PolicyAll)
	const detail = "Health: Status code is 200 (expected 200, got 500)"
	for round := range 2 {
		r.finishRun()
		r.stepSlack() // the webhook is posted
		observe(r, f, detail)
		r.settle()
		msgs := r.slack.Messages(slackfake.ChannelGeneral)
		if len(msgs) != 1 {
			t.Fatalf("round %d: messages %q", round, titles(msgs))
		}
		thread := r.slack.Thread(slackfake.ChannelGeneral, msgs[0].TS)
		if len(thread) != round+1 {
			t.Fatalf("round %d: thread of %d, want %d", round, len(thread), round+1)
		}
		edited := thread[round]
		if edited.EditedTS == "" || !strings.Contains(string(edited.Blocks)+edited.Text, "Status code is 200") {
			t.Errorf("round %d: the posted message was not given the run's failures (edited %q): %s", round, edited.EditedTS, edited.Blocks)
		}
	}
}

func observe(r *rig, f *flipMonitor, failure string) {
	r.t.Helper()
	st, err := tools.FetchMonitorStatus(ratelimit.WithCache(context.Background(), -1), r.env, f.uid)
	if err != nil {
		r.t.Fatal(err)
	}
	r.n.ObserveRun(tools.ObservedRun{MonitorUID: f.uid, MonitorName: st.Name, Run: *st.LastRun, Failures: []string{failure}})
}

// TestMonitorRunSecretsNeverAtRest: a failing monitor whose request URL carries the value of a credential variable
// kept as plain text ("session": Postman masks only secret-typed values in run results) in the path, where
// nothing says it is one, and as ?api_key=, is run through run_monitor; the value appears in neither the tool's
// result, the notifier's SQLite files, nor any Slack message.
func TestMonitorRunSecretsNeverAtRest(t *testing.T) {
	const canary = "canary-7f3e9b2c41d8"
	db := filepath.Join(t.TempDir(), "pmops.db")
	s, err := sqlitestore.OpenSQLite(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	r := newRig(t, rigOpts{store: s.Notify()})
	ws := r.workspaceID(emulator.DemoWorkspacePayments)
	col := r.emuDo("POST", "/collections?workspace="+ws, map[string]any{"collection": map[string]any{
		"info": map[string]any{"name": "Leaky checks", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
		"item": []any{map[string]any{"name": "Health", "request": map[string]any{"method": "GET",
			"url": "https://echo.example/status/500/{{session}}?api_key={{session}}"},
			"event": []any{map[string]any{"listen": "test", "script": map[string]any{"exec": []any{
				`pm.test("Status code is 200", function () { pm.response.to.have.status(200); });`}}}}}},
	}})
	envr := r.emuDo("POST", "/environments?workspace="+ws, map[string]any{"environment": map[string]any{
		"name": "Leaky env", "values": []any{map[string]any{"key": "session", "value": canary, "enabled": true, "type": "default"}}}})
	mon := r.emuDo("POST", "/monitors?workspace="+ws, map[string]any{"monitor": map[string]any{
		"name": "Leaky", "collection": col["collection"].(map[string]any)["uid"], "environment": envr["environment"].(map[string]any)["uid"],
		"schedule": map[string]any{"cron": "0 0 1 1 *", "timezone": "UTC"}}})
	uid := mon["monitor"].(map[string]any)["uid"].(string)
	r.subscribe(slackfake.ChannelGeneral, uid, store.PolicyAll)

	raw, _ := json.Marshal(map[string]any{"monitor": uid})
	res, err := mustTool(t, "run_monitor").Call(context.Background(), r.env, raw)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(res)
	if !strings.Contains(string(out), "echo.example/status/500") {
		t.Fatalf("the run's failing request is not reported: %s", out)
	}
	r.emu.WaitWebhooks()
	r.settle()
	if strings.Contains(string(out), canary) {
		t.Errorf("run_monitor's result shows the secret: %s", out)
	}
	for _, m := range r.slack.Messages(slackfake.ChannelGeneral) {
		for _, tm := range r.slack.Thread(slackfake.ChannelGeneral, m.TS) {
			if strings.Contains(tm.Text+string(tm.Blocks), canary) {
				t.Errorf("a Slack message shows the secret: %s", tm.Blocks)
			}
		}
	}
	hist, _ := r.n.History().MonitorRuns(context.Background(), uid, 0)
	if len(hist) == 0 || len(hist[0].Failures) == 0 {
		t.Fatalf("history: %+v", hist)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(db + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("%s holds the secret", filepath.Base(db+suffix))
		}
	}
}
