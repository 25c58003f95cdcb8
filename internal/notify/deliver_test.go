package notify

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/store"
)

func failingEvent(uid string, i int) Event {
	start := t0.Add(time.Duration(i) * 5 * time.Minute)
	return Event{Key: RunKey(uid, start, time.Time{}, ""), MonitorUID: uid, MonitorName: "Synthetic", Status: "failed",
		StartedAt: start, FinishedAt: start.Add(time.Second), Source: SourcePoll, Requests: 3, FailedRequests: 1, Assertions: 4, FailedAsserts: 1}
}

// TestSlackRateLimitsAndErrors: a 429 with Retry-After and a 503 keep the message in the outbox until it goes out
// once, no earlier than Slack asked; 5xx makes the next attempt look in Slack first.
func TestSlackRateLimitsAndErrors(t *testing.T) {
	r := newRig(t, rigOpts{})
	const uid = "1-synthetic"
	r.subscribe(slackfake.ChannelGeneral, uid, store.PolicyFailures)
	r.slack.RateLimitNext("chat.postMessage", 1, 3*time.Second)
	r.slack.InjectFault("chat.postMessage", slackfake.Fault{Status: 503, Times: 1})
	if _, err := r.n.Record(context.Background(), failingEvent(uid, 0)); err != nil {
		t.Fatal(err)
	}
	r.settle()
	msgs := r.slack.Messages(slackfake.ChannelGeneral)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "FAILING: Synthetic") {
		t.Fatalf("messages: %q", titles(msgs))
	}
	calls := r.slack.CallsTo("chat.postMessage")
	if len(calls) != 3 || calls[0].Error != "ratelimited" || calls[1].Status != 503 || !calls[2].OK {
		for _, c := range calls {
			t.Logf("%s %d %s %v", c.At, c.Status, c.Error, c.OK)
		}
		t.Fatalf("%d calls, want 429, 503, ok", len(calls))
	}
	if gap := calls[1].At.Sub(calls[0].At); gap < 3*time.Second {
		t.Errorf("retried %s after a 429 with Retry-After 3s", gap)
	}
	if len(r.slack.CallsTo("conversations.history")) == 0 {
		t.Error("after a 503 the retry did not check Slack for the message first")
	}
}

// TestChannelPace: many results for one channel go out at most one per ChannelInterval, in order.
func TestChannelPace(t *testing.T) {
	r := newRig(t, rigOpts{slack: slackfake.Options{ChannelRate: &slackfake.ChannelRate{Interval: time.Second, Burst: 1}}})
	const uid = "1-synthetic"
	r.subscribe(slackfake.ChannelGeneral, uid, store.PolicyAll)
	ctx := context.Background()
	for i := range 6 {
		ev := failingEvent(uid, i)
		if i%2 == 1 {
			ev.Status = "success"
		}
		if _, err := r.n.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	r.settle()
	calls := r.slack.CallsTo("chat.postMessage")
	for i, c := range calls {
		if !c.OK {
			t.Errorf("call %d refused: %s (the pace was not kept)", i, c.Error)
		}
		if i > 0 && c.At.Sub(calls[i-1].At) < time.Second {
			t.Errorf("calls %d and %d %s apart", i-1, i, c.At.Sub(calls[i-1].At))
		}
	}
	// fail, pass (recovery: reply + parent update), fail (new thread), pass, fail, pass
	if len(calls) != 6 {
		t.Errorf("%d posts, want 6", len(calls))
	}
	if ups := r.slack.CallsTo("chat.update"); len(ups) != 3 {
		t.Errorf("%d parent updates, want 3", len(ups))
	}
	top := r.slack.Messages(slackfake.ChannelGeneral)
	if len(top) != 6 { // 3 parents + 3 broadcast recoveries
		t.Errorf("channel shows %d messages: %q", len(top), titles(top))
	}
}

// TestChannelGonePauses: a channel the bot cannot post in pauses its subscriptions, drops what was queued for
// it and tells the subscriber once in a DM; later results are not attempted there.
func TestChannelGonePauses(t *testing.T) {
	r := newRig(t, rigOpts{})
	const uid = "1-synthetic"
	r.subscribe(slackfake.ChannelRandom, uid, store.PolicyFailures) // the bot is not a member of #random
	r.subscribe(slackfake.ChannelGeneral, uid, store.PolicyFailures)
	ctx := context.Background()
	if _, err := r.n.Record(ctx, failingEvent(uid, 0)); err != nil {
		t.Fatal(err)
	}
	r.settle()
	subs, _ := r.st.Subscriptions(ctx, store.SubscriptionFilter{ChannelID: slackfake.ChannelRandom})
	if len(subs) != 1 || !subs[0].Paused || subs[0].PauseNote != "not_in_channel" {
		t.Fatalf("subscription after not_in_channel: %+v", subs)
	}
	dm := r.slack.Messages("D" + strings.TrimPrefix(slackfake.UserAlice, "U"))
	if len(dm) != 1 || !strings.Contains(dm[0].Text, "paused") || !strings.Contains(dm[0].Text, "<#"+slackfake.ChannelRandom+">") {
		t.Fatalf("subscriber DM: %q", titles(dm))
	}
	for i := 1; i < 4; i++ {
		if _, err := r.n.Record(ctx, failingEvent(uid, i)); err != nil {
			t.Fatal(err)
		}
	}
	r.settle()
	attempts := 0
	for _, c := range r.slack.CallsTo("chat.postMessage") {
		if c.Args["channel"] == slackfake.ChannelRandom {
			attempts++
		}
	}
	if attempts != 1 {
		t.Errorf("%d posts tried in the channel the bot left, want 1", attempts)
	}
	if got := r.slack.Thread(slackfake.ChannelGeneral, r.slack.Messages(slackfake.ChannelGeneral)[0].TS); len(got) != 4 {
		t.Errorf("the other channel's thread: %d messages, want 4", len(got))
	}
	if dm := r.slack.Messages("D" + strings.TrimPrefix(slackfake.UserAlice, "U")); len(dm) != 1 {
		t.Errorf("subscriber told %d times", len(dm))
	}
	_ = fmt.Sprint()
}
