package slackbot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/tools"
)

func (c *clickRig) clickLabel(s shown, label string) shown {
	c.t.Helper()
	got := c.click(s, findLabel(c.t, s.blocks, label))
	if len(got) == 0 {
		c.t.Fatalf("click %q showed nothing", label)
	}
	return current(got)
}

func hasButton(c *clickRig, s shown, label string) bool {
	for _, b := range buttonsOf(c.t, s.blocks) {
		if b.label == label {
			return true
		}
	}
	return false
}

// TestWritesResolveBeforeConfirm: unknown names get candidates and no Confirm; a partial name is never written to;
// a pick leads straight to the one preview, titled with the resolved name; no-ops say so without a Confirm.
func TestWritesResolveBeforeConfirm(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, writers: []string{alice}})
	c := &clickRig{rig: r, t: t}
	before := postmanState(t, r)
	cases := []struct{ cmd, want string }{
		{"monitor pause nosuchmonitor", "no monitor is named exactly"},
		{"monitor run Checkout", "no monitor is named exactly"},
		{"env set stag currency=USD", "no environment is named exactly"},
		{"monitor pause Legacy billing sync", "already paused; nothing to do"},
		{"env unset staging nosuchkey", "Nothing to remove"},
		{"env set staging currency=EUR", "already as asked"},
	}
	for _, tc := range cases {
		got := c.run(tc.cmd)
		if !strings.Contains(got.text+string(got.blocks), tc.want) {
			t.Errorf("%s: want %q, got %q", tc.cmd, tc.want, got.text)
		}
		if hasButton(c, got, "Confirm") || hasButton(c, got, "Remove") {
			t.Errorf("%s: offers a Confirm before the target is resolved", tc.cmd)
		}
	}
	if after := postmanState(t, r); after != before {
		t.Fatalf("Postman changed:\n%s\n---\n%s", before, after)
	}

	pick := c.run("monitor pause Checkout")
	preview := c.clickLabel(pick, "Checkout flow synthetic")
	if !strings.Contains(preview.text, "Pause monitor Checkout flow synthetic?") || !hasButton(c, preview, "Confirm") {
		t.Fatalf("the pick should lead straight to the preview titled with the name: %q", preview.text)
	}
	if strings.Contains(preview.text, "10472312-") {
		t.Fatalf("preview titled with a UID: %q", preview.text)
	}
	done := c.clickLabel(preview, "Confirm")
	if !strings.Contains(done.text, "paused monitor Checkout flow synthetic") {
		t.Fatalf("done: %q", done.text)
	}
	if again := c.run("monitor pause Checkout flow synthetic"); !strings.Contains(again.text, "already paused") {
		t.Fatalf("pausing a paused monitor: %q", again.text)
	}
}

// TestEnvSetPreviewCountsAndSecrets: a big change previews 20 lines and "and N more" with counts that add up; keys
// that look secret are stored as secret-type variables, and the preview says so; --plain stores them as default.
func TestEnvSetPreviewCountsAndSecrets(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, writers: []string{alice}})
	c := &clickRig{rig: r, t: t}
	var b strings.Builder
	b.WriteString("env set local")
	for i := range 120 {
		fmt.Fprintf(&b, " var%03d=value-%d", i, i)
	}
	got := c.run(b.String())
	all := got.text + string(got.blocks)
	for _, want := range []string{"120 variables in local: 120 to add", "and 100 more", "var019", "Update environment local?"} {
		if !strings.Contains(all, want) {
			t.Errorf("big preview lacks %q: %s", want, got.blocks)
		}
	}
	if strings.Contains(all, "var020 ") {
		t.Error("the preview lists more than 20 changes")
	}

	got = c.run("env set local apiToken=canary-token-1 region=eu")
	if !strings.Contains(string(got.blocks), "apiToken = •••••• (stored as secret)") || !strings.Contains(string(got.blocks), "--plain") {
		t.Fatalf("preview should say apiToken is stored as secret: %s", got.blocks)
	}
	c.clickLabel(got, "Confirm")
	got = c.run("env set local dbPassword=canary-pass-2 --plain")
	if strings.Contains(string(got.blocks), "stored as secret") {
		t.Fatalf("--plain still stores as secret: %s", got.blocks)
	}
	c.clickLabel(got, "Confirm")
	types := varTypes(t, r, "local")
	if types["apiToken"] != "secret" || types["region"] == "secret" || types["dbPassword"] == "secret" {
		t.Fatalf("types in Postman: %v", types)
	}
	for _, s := range c.snapshot() {
		if strings.Contains(s.text+string(s.blocks), "canary-token-1") {
			t.Fatalf("a secret value was shown in Slack: %s", s.where)
		}
	}
}

// postmanState is what writes could change: every monitor's state and every environment's variables.
func postmanState(t *testing.T, r *rig) string {
	t.Helper()
	env, err := r.d.cfg.Envs.Env(emulator.DemoKey)
	if err != nil {
		t.Fatal(err)
	}
	call := func(name, args string) tools.Result {
		tl, _ := tools.Lookup(name)
		res, err := tl.Call(context.Background(), env, []byte(args))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var b strings.Builder
	for _, m := range call("list_monitors", `{"status":false,"limit":25}`).(tools.MonitorList).Items {
		fmt.Fprintf(&b, "monitor %s active=%v\n", m.Name, m.Active)
	}
	for _, e := range call("list_environments", `{}`).(tools.EnvironmentList).Items {
		for _, v := range call("get_environment", `{"environment":"`+e.UID+`"}`).(tools.EnvironmentView).Variables {
			fmt.Fprintf(&b, "env %s %s=%s (%s)\n", e.Name, v.Key, v.Value, v.Type)
		}
	}
	return b.String()
}

func varTypes(t *testing.T, r *rig, envName string) map[string]string {
	t.Helper()
	env, err := r.d.cfg.Envs.Env(emulator.DemoKey)
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := tools.Lookup("get_environment")
	res, err := tl.Call(context.Background(), env, []byte(`{"environment":"`+envName+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, v := range res.(tools.EnvironmentView).Variables {
		out[v.Key] = v.Type
	}
	return out
}

// TestSetSecretFromAModal: the value is typed in a private form, never in a command, and stored as a secret.
func TestSetSecretFromAModal(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, writers: []string{alice}})
	c := &clickRig{rig: r, t: t}
	r.command(t, alice, "env set-secret local stripeKey")
	if _, err := r.fake.WaitCalls(context.Background(), "views.open", 1); err != nil {
		t.Fatal(err)
	}
	views := r.fake.Views()
	if len(views) != 1 || views[0].CallbackID != setSecretCallback {
		t.Fatalf("views: %+v", views)
	}
	const canary = "sk_live_canary_93f1"
	p, err := r.fake.ViewSubmissionPayload(views[0].ID, alice, map[string]map[string]string{secretBlock: {secretAction: canary}})
	if err != nil {
		t.Fatal(err)
	}
	del, err := r.fake.Deliver(context.Background(), r.http.URL+"/slack/interactions", slackfake.DeliverInteraction, p)
	if err != nil || del.Status != 200 || strings.Contains(string(del.Body), "errors") {
		t.Fatalf("submit: %v %d %s", err, del.Status, del.Body)
	}
	r.d.Idle()
	if types := varTypes(t, r, "local"); types["stripeKey"] != "secret" {
		t.Fatalf("stripeKey type: %v", types)
	}
	done := false
	for _, s := range c.snapshot() {
		if strings.Contains(s.text+string(s.blocks), canary) {
			t.Fatalf("the secret was shown in Slack: %s", s.where)
		}
		if strings.Contains(s.text, "set stripeKey (1 as secret) in environment local") {
			done = true
		}
	}
	if !done {
		t.Fatal("no done message")
	}

	// A partial environment name keeps the form open with candidates; nothing is written.
	r.command(t, alice, "env set-secret loc stripeKey")
	if _, err := r.fake.WaitCalls(context.Background(), "views.open", 2); err != nil {
		t.Fatal(err)
	}
	views = r.fake.Views()
	p, _ = r.fake.ViewSubmissionPayload(views[len(views)-1].ID, alice, map[string]map[string]string{secretBlock: {secretAction: "x"}})
	del, _ = r.fake.Deliver(context.Background(), r.http.URL+"/slack/interactions", slackfake.DeliverInteraction, p)
	if !strings.Contains(string(del.Body), "named exactly") || !strings.Contains(string(del.Body), "local") {
		t.Fatalf("partial name: %s", del.Body)
	}
}

// TestQueuedThenReplacedWithWhen: a command behind a spent rate window is told it is queued, with how many are
// ahead and about how long; the answer then replaces that note and says when the budget resets.
func TestQueuedThenReplacedWithWhen(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, emu: emulator.Options{PerWindow: 2}, jobTimeout: 300 * time.Millisecond})
	c := &clickRig{rig: r, t: t}
	c.run("quota")
	c.run("quota")
	before := c.snapshot()
	c.command(t, alice, "quota")
	got := newSince(before, c.snapshot())
	var queued, final *shown
	for i := range got {
		if strings.Contains(got[i].text, "Queued:") && strings.Contains(got[i].text, "ahead of yours, about") {
			queued = &got[i]
		}
	}
	final = &got[len(got)-1]
	if queued == nil {
		t.Fatalf("no queued note: %+v", got)
	}
	if !queued.eph.Replaced || final.eph == nil || final.eph.TS != queued.eph.TS {
		t.Fatalf("the answer did not replace the queued note: %+v", got)
	}
	if !strings.Contains(string(final.blocks), "!date^") || !strings.Contains(final.text, "rate") {
		t.Fatalf("the rate-limited answer should say when: %q %s", final.text, final.blocks)
	}
}

// TestMonitorRunOutlivesJobTimeout: a confirmed monitor run continues past the job timeout, and its result
// replaces the confirmation.
func TestMonitorRunOutlivesJobTimeout(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, writers: []string{alice}, jobTimeout: 400 * time.Millisecond,
		tweak: func(c *Config) { c.ProgressEvery = 100 * time.Millisecond }})
	c := &clickRig{rig: r, t: t}
	preview := c.run("monitor run Payments API smoke (staging)")
	if !strings.Contains(preview.text, "Run monitor Payments API smoke (staging) now?") || !strings.Contains(string(preview.blocks), "Payments Smoke Tests") {
		t.Fatalf("preview: %q %s", preview.text, preview.blocks)
	}
	r.emu.SetFault(emulator.Fault{Kind: emulator.FaultLatency, Route: "POST /monitors/{monitorId}/run", Latency: time.Second})
	done := c.clickLabel(preview, "Confirm")
	all := c.snapshot()
	final := all[len(all)-1]
	if !strings.Contains(final.text, "ran monitor Payments API smoke (staging)") || final.eph == nil || final.eph.TS != preview.eph.TS {
		t.Fatalf("the run's result should replace the confirmation: %q final %s %v preview %s (click showed %q)", final.text, final.eph.TS, final.eph.Source, preview.eph.TS, done.text)
	}
}

// TestTimeoutSaysPostmanWasSlow: a command that runs out of time while Postman is slow (no rate wait) says so.
func TestTimeoutSaysPostmanWasSlow(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, jobTimeout: 300 * time.Millisecond})
	c := &clickRig{rig: r, t: t}
	r.emu.SetFault(emulator.Fault{Kind: emulator.FaultLatency, Latency: time.Second})
	got := c.run("workspaces")
	if !strings.Contains(got.text, "Postman did not answer within 0.3 s") || strings.Contains(got.text, "rate") {
		t.Fatalf("timeout: %q", got.text)
	}
	if got.eph == nil || got.eph.Source != "response_url" {
		t.Fatalf("the timeout should replace the working note: %+v", got)
	}
}

// TestUsageErrorsShowOneCommand: a usage error shows only that command's usage; an unbalanced quote shows no Go
// escaping.
func TestUsageErrorsShowOneCommand(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey})
	for _, tc := range []struct{ cmd, want string }{
		{`env get "staging`, "env get &lt;env&gt; [key]"},
		{"env set staging", "env set &lt;env&gt; &lt;key&gt;=&lt;value&gt;"},
		{"monitor why", "monitor why &lt;name&gt;"},
	} {
		del := r.command(t, alice, tc.cmd)
		var ack struct {
			Text   string `json:"text"`
			Blocks []struct {
				Text struct {
					Text string `json:"text"`
				} `json:"text"`
			} `json:"blocks"`
		}
		if err := json.Unmarshal(del.Body, &ack); err != nil {
			t.Fatal(err)
		}
		shown := ack.Text
		for _, b := range ack.Blocks {
			shown += "\n" + b.Text.Text
		}
		if !strings.Contains(shown, tc.want) || strings.Contains(shown, "monitor pause") || strings.Contains(shown, `\"`) {
			t.Errorf("%s: %s", tc.cmd, shown)
		}
	}
}
