package notify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
)

// TestFailThenRecoverByWebhook: a scheduled monitor fails twice, then recovers; its webhooks arrive through the
// receiver. The channel gets one FAILING parent, the second failure in its thread, the recovery as a broadcast
// reply, and the parent rewritten to RECOVERED. The history keeps all three runs.
func TestFailThenRecoverByWebhook(t *testing.T) {
	r := newRig(t, rigOpts{})
	f := r.newFlipMonitor("Flip API")
	r.subscribe(slackfake.ChannelGeneral, f.uid, store.PolicyFailures)

	r.advance(5 * time.Minute) // run 1 fails
	msgs := r.slack.Messages(slackfake.ChannelGeneral)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "FAILING: Flip API") {
		t.Fatalf("after the first failure: %q", titles(msgs))
	}
	parent := msgs[0]
	var meta struct {
		EventType    string         `json:"event_type"`
		EventPayload map[string]any `json:"event_payload"`
	}
	if err := json.Unmarshal(parent.Metadata, &meta); err != nil || meta.EventType != MetadataEventType || meta.EventPayload["key"] == "" {
		t.Errorf("parent metadata %s: %v", parent.Metadata, err)
	}
	for _, want := range []string{slackrender.ActionMonitorRerun, slackrender.ActionMonitorMute, slackrender.ActionMonitorUnsubscribe, "Run the monitor now?"} {
		if !strings.Contains(string(parent.Blocks), want) {
			t.Errorf("parent blocks lack %q", want)
		}
	}

	r.advance(5 * time.Minute) // run 2 fails: a reply in the thread
	if got := r.slack.Messages(slackfake.ChannelGeneral); len(got) != 1 {
		t.Fatalf("a further failure reached the channel: %q", titles(got))
	}
	f.setCode(200)
	r.advance(5 * time.Minute) // run 3 passes: broadcast reply + parent update

	msgs = r.slack.Messages(slackfake.ChannelGeneral)
	if len(msgs) != 2 || !strings.Contains(msgs[1].Text, "RECOVERED: Flip API") || !msgs[1].ReplyBroadcast {
		t.Fatalf("channel after recovery: %q", titles(msgs))
	}
	thread := r.slack.Thread(slackfake.ChannelGeneral, parent.TS)
	if len(thread) != 3 {
		t.Fatalf("thread has %d messages: %q", len(thread), titles(thread))
	}
	if !strings.Contains(thread[0].Text, "RECOVERED") || thread[0].EditedTS == "" {
		t.Errorf("parent not updated to RECOVERED: %q edited=%q", thread[0].Text, thread[0].EditedTS)
	}
	if !strings.Contains(thread[1].Text, "Still failing (2 runs in a row)") || !strings.Contains(thread[2].Text, "RECOVERED") {
		t.Errorf("thread replies: %q", titles(thread[1:]))
	}
	if !strings.Contains(string(thread[2].Blocks), "Passing again after 2 failed runs") {
		t.Errorf("recovery does not say how long it failed: %s", thread[2].Blocks)
	}

	hist, err := r.n.History().MonitorRuns(context.Background(), f.uid, 0)
	if err != nil || len(hist) != 3 || hist[0].Status != "success" || hist[2].Status != "failed" || hist[0].Source != SourceWebhook {
		t.Fatalf("history: %+v %v", hist, err)
	}
	// Every run arrived exactly once as a webhook and cost one correlation call, no polling needed.
	mine, others := 0, 0
	for _, d := range r.emu.WebhookDeliveries() {
		switch {
		case d.Payload.MonitorUID == f.uid && d.Status == 202:
			mine++
		case d.Payload.MonitorUID != f.uid && d.Status == 404:
			others++ // the demo seed's own monitors: no channel follows them
		default:
			t.Errorf("webhook delivery %+v", d)
		}
	}
	if mine != 3 || others == 0 {
		t.Errorf("webhooks: %d accepted for the monitor (want 3), %d refused for unfollowed monitors", mine, others)
	}
}

// TestPoliciesAndMutes: the same run sequence seen by channels with each noise policy, and a muted channel that
// keeps its streak.
func TestPoliciesAndMutes(t *testing.T) {
	r := newRig(t, rigOpts{})
	f := r.newFlipMonitor("Policy API")
	const cAll, cFail, cRec, cMuted = "C0ALL00001", "C0FAIL0001", "C0REC00001", "C0MUTED001"
	for _, c := range []string{cAll, cFail, cRec, cMuted} {
		r.slack.AddChannel(slackfake.Channel{ID: c, Name: strings.ToLower(c), Members: []string{slackfake.DefaultBotUserID, slackfake.UserAlice}})
	}
	r.subscribe(cAll, f.uid, store.PolicyAll)
	r.subscribe(cFail, f.uid, store.PolicyFailures)
	r.subscribe(cRec, f.uid, store.PolicyRecoveries)
	r.subscribe(cMuted, f.uid, store.PolicyFailures)
	ctx := context.Background()
	if err := r.st.PutMute(ctx, store.Mute{ChannelID: cMuted, MonitorUID: f.uid, Until: t0.Add(12 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	f.setCode(200)
	r.advance(5 * time.Minute) // pass
	f.setCode(500)
	for range 5 {
		r.advance(5 * time.Minute) // five failures (the mute covers only the first)
	}
	f.setCode(200)
	r.advance(5 * time.Minute) // recovery

	count := func(ch string) (top, replies int) {
		for _, m := range r.slack.Messages(ch) {
			if !m.IsReply() {
				top++
				replies += len(r.slack.Thread(ch, m.TS)) - 1
			}
		}
		return
	}
	tests := []struct {
		ch           string
		top, replies int
	}{
		{cAll, 2, 5},   // the pass; the failing parent with 4 more failures + the recovery in its thread
		{cFail, 1, 5},  // the failing parent; 4 failures + recovery
		{cRec, 1, 3},   // Postman's policy: failures 1-3 (parent + 2 replies), then the recovery
		{cMuted, 1, 4}, // failure 1 muted; failure 2 starts the thread (no parent yet), 3, 4, 5 + recovery
	}
	for _, tt := range tests {
		top, replies := count(tt.ch)
		if top != tt.top || replies != tt.replies {
			t.Errorf("%s: %d top-level, %d replies; want %d, %d\n%q", tt.ch, top, replies, tt.top, tt.replies, titles(r.slack.Messages(tt.ch)))
		}
	}
	st, _ := r.st.Streak(ctx, cMuted, f.uid)
	if st.Failing || st.FailCount != 5 {
		t.Errorf("muted channel's streak: %+v", st)
	}
}

// TestRunsFromEverySourceOnce: the same run reported by pmops (run_monitor), by its webhook, replayed 50 times,
// and by the poller is posted once.
func TestRunsFromEverySourceOnce(t *testing.T) {
	r := newRig(t, rigOpts{})
	f := r.newFlipMonitor("Dedup API")
	r.subscribe(slackfake.ChannelGeneral, f.uid, store.PolicyAll)
	ctx := context.Background()

	tool := mustTool(t, "run_monitor")
	raw, _ := json.Marshal(map[string]any{"monitor": f.uid})
	if _, err := tool.Call(ctx, r.env, raw); err != nil {
		t.Fatal(err)
	}
	r.emu.WaitWebhooks()
	deliveries := r.emu.WebhookDeliveries()
	if len(deliveries) != 1 || deliveries[0].Status != 202 {
		t.Fatalf("webhook deliveries: %+v", deliveries)
	}
	body, _ := json.Marshal(deliveries[0].Payload)
	for range 50 {
		if code, ans := r.postHook(HookPathPrefix+testToken, body); code != 202 {
			t.Fatalf("replay answered %d %s", code, ans)
		}
	}
	if _, err := r.n.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	r.settle()
	msgs := r.slack.Messages(slackfake.ChannelGeneral)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "FAILING") {
		t.Fatalf("messages: %q", titles(msgs))
	}
	hist, _ := r.n.History().MonitorRuns(ctx, f.uid, 0)
	if len(hist) != 1 || hist[0].Source != SourcePmops || len(hist[0].Failures) == 0 {
		t.Errorf("history: %+v", hist)
	}
}
