package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestNotifyContract* run testNotifyStore against each backend. A new backend (Redis) passes the same suite by
// adding one Test function that calls testNotifyStore with its constructor.
func TestNotifyContractMemory(t *testing.T) {
	testNotifyStore(t, func(*testing.T) NotifyStore { return NewNotifyMemory() })
}

func testNotifyStore(t *testing.T, open func(t *testing.T) NotifyStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s NotifyStore)
	}{
		{"subscriptions", testSubscriptions},
		{"subscriptions cover a monitor by workspace", testSubscriptionCover},
		{"pause channel", testPauseChannel},
		{"mutes expire", testMutes},
		{"inbox", testInbox},
		{"record run once", testRecordRunOnce},
		{"history bound by count", testHistoryBoundCount},
		{"history bound by age", testHistoryBoundAge},
		{"fan-out is atomic and once", testFanoutOnce},
		{"outbox order per channel", testOutboxOrder},
		{"outbox lifecycle and threads", testOutboxLifecycle},
		{"outbox sending survives as due", testOutboxSendingDue},
		{"monitor state", testMonitorState},
		{"notices once", testNotices},
		{"invalid arguments", testNotifyInvalid},
		{"concurrent record run", testConcurrentRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			tt.run(t, s)
		})
	}
}

func mon(id string) Target { return Target{TargetMonitor, id} }

func testSubscriptions(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	sub := Subscription{ChannelID: "C1", Target: mon("m1"), TargetName: "payments", Policy: PolicyFailures, CreatedBy: "U1", CreatedAt: t0}
	if created, err := s.PutSubscription(ctx, sub); err != nil || !created {
		t.Fatalf("first put: %v %v", created, err)
	}
	sub.Policy = PolicyAll
	if created, err := s.PutSubscription(ctx, sub); err != nil || created {
		t.Fatalf("second put: created=%v err=%v, want replaced", created, err)
	}
	if _, err := s.PutSubscription(ctx, Subscription{ChannelID: "C2", Target: Target{TargetWorkspace, "w1"}, Policy: PolicyRecoveries}); err != nil {
		t.Fatal(err)
	}
	all, err := s.Subscriptions(ctx, SubscriptionFilter{})
	if err != nil || len(all) != 2 {
		t.Fatalf("all: %v %v", all, err)
	}
	if all[0].ChannelID != "C1" || all[0].Policy != PolicyAll || all[0].TargetName != "payments" || !all[0].CreatedAt.Equal(t0) || all[0].CreatedBy != "U1" {
		t.Errorf("round trip: %+v", all[0])
	}
	c1, _ := s.Subscriptions(ctx, SubscriptionFilter{ChannelID: "C1"})
	if len(c1) != 1 {
		t.Errorf("channel filter: %v", c1)
	}
	if ok, err := s.DeleteSubscription(ctx, "C1", mon("m1")); err != nil || !ok {
		t.Errorf("delete: %v %v", ok, err)
	}
	if ok, err := s.DeleteSubscription(ctx, "C1", mon("m1")); err != nil || ok {
		t.Errorf("delete again: %v %v", ok, err)
	}
}

func testSubscriptionCover(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	for _, sub := range []Subscription{
		{ChannelID: "C1", Target: mon("m1"), Policy: PolicyAll},
		{ChannelID: "C2", Target: Target{TargetWorkspace, "w1"}, Policy: PolicyFailures},
		{ChannelID: "C3", Target: mon("m2"), Policy: PolicyAll},
		{ChannelID: "C4", Target: Target{TargetWorkspace, "w2"}, Policy: PolicyAll},
	} {
		if _, err := s.PutSubscription(ctx, sub); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Subscriptions(ctx, SubscriptionFilter{MonitorUID: "m1", WorkspaceID: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	var chans []string
	for _, g := range got {
		chans = append(chans, g.ChannelID)
	}
	if !slices.Equal(chans, []string{"C1", "C2"}) {
		t.Errorf("cover m1 in w1: %v, want C1 C2", chans)
	}
	got, _ = s.Subscriptions(ctx, SubscriptionFilter{MonitorUID: "m1"})
	if len(got) != 1 || got[0].ChannelID != "C1" {
		t.Errorf("cover m1 without workspace: %v", got)
	}
}

func testPauseChannel(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	for _, id := range []string{"m1", "m2"} {
		if _, err := s.PutSubscription(ctx, Subscription{ChannelID: "C1", Target: mon(id), Policy: PolicyAll, CreatedBy: "U1"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.PutSubscription(ctx, Subscription{ChannelID: "C2", Target: mon("m1"), Policy: PolicyAll}); err != nil {
		t.Fatal(err)
	}
	paused, err := s.PauseChannel(ctx, "C1", "not_in_channel", t0)
	if err != nil || len(paused) != 2 || paused[0].CreatedBy != "U1" || paused[0].Paused {
		t.Fatalf("pause: %+v %v", paused, err)
	}
	again, err := s.PauseChannel(ctx, "C1", "not_in_channel", t0)
	if err != nil || len(again) != 0 {
		t.Errorf("pause again returned %v %v, want none (already paused)", again, err)
	}
	subs, _ := s.Subscriptions(ctx, SubscriptionFilter{ChannelID: "C1"})
	for _, sub := range subs {
		if !sub.Paused || sub.PauseNote != "not_in_channel" || !sub.PausedAt.Equal(t0) {
			t.Errorf("after pause: %+v", sub)
		}
	}
	other, _ := s.Subscriptions(ctx, SubscriptionFilter{ChannelID: "C2"})
	if other[0].Paused {
		t.Error("another channel was paused")
	}
	// Subscribing again resumes.
	if _, err := s.PutSubscription(ctx, Subscription{ChannelID: "C1", Target: mon("m1"), Policy: PolicyAll}); err != nil {
		t.Fatal(err)
	}
	subs, _ = s.Subscriptions(ctx, SubscriptionFilter{ChannelID: "C1", MonitorUID: "m1"})
	if subs[0].Paused {
		t.Error("re-subscribing did not resume")
	}
}

func testMutes(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	if err := s.PutMute(ctx, Mute{ChannelID: "C1", MonitorUID: "m1", Until: t0.Add(time.Hour), By: "U1", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMute(ctx, Mute{ChannelID: "C1", MonitorUID: "m2", Until: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Mutes(ctx, "C1", t0)
	if err != nil || len(got) != 2 || !got[0].Until.Equal(t0.Add(time.Hour)) || got[0].By != "U1" {
		t.Fatalf("mutes: %+v %v", got, err)
	}
	got, _ = s.Mutes(ctx, "", t0.Add(time.Minute)) // m2 ends exactly now: no longer in force
	if len(got) != 1 || got[0].MonitorUID != "m1" {
		t.Errorf("at expiry: %+v", got)
	}
	if ok, err := s.DeleteMute(ctx, "C1", "m2", t0.Add(2*time.Minute)); err != nil || ok {
		t.Errorf("delete expired: %v %v, want false", ok, err)
	}
	if ok, err := s.DeleteMute(ctx, "C1", "m1", t0); err != nil || !ok {
		t.Errorf("delete active: %v %v", ok, err)
	}
	if got, _ := s.Mutes(ctx, "C1", t0); len(got) != 0 {
		t.Errorf("after delete: %v", got)
	}
}

func testInbox(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	id1, err := s.AddInbox(ctx, InboxItem{MonitorUID: "m1", Body: []byte(`{"a":1}`), ReceivedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := s.AddInbox(ctx, InboxItem{MonitorUID: "m1", Body: []byte(`{"a":2}`), ReceivedAt: t0})
	if id2 <= id1 {
		t.Errorf("ids %d, %d not increasing", id1, id2)
	}
	items, _ := s.Inbox(ctx, 0, 10)
	if len(items) != 2 || string(items[0].Body) != `{"a":1}` || !items[0].ReceivedAt.Equal(t0) {
		t.Fatalf("inbox: %+v", items)
	}
	if after, _ := s.Inbox(ctx, id1, 10); len(after) != 1 || after[0].ID != id2 {
		t.Errorf("inbox after %d: %+v", id1, after)
	}
	if first, _ := s.Inbox(ctx, 0, 1); len(first) != 1 || first[0].ID != id1 {
		t.Errorf("inbox limit 1: %+v", first)
	}
	// RecordRun consumes the inbox item even when the run is a duplicate.
	r := NotifyRun{Key: "m1@1", MonitorUID: "m1", Status: "failed", FinishedAt: t0}
	if first, err := s.RecordRun(ctx, r, id1, HistoryBound{}, t0); err != nil || !first {
		t.Fatal(first, err)
	}
	if first, err := s.RecordRun(ctx, r, id2, HistoryBound{}, t0); err != nil || first {
		t.Fatal(first, err)
	}
	if items, _ := s.Inbox(ctx, 0, 10); len(items) != 0 {
		t.Errorf("inbox after record: %v", items)
	}
	id3, _ := s.AddInbox(ctx, InboxItem{Body: []byte(`x`), ReceivedAt: t0})
	if err := s.DropInbox(ctx, id3); err != nil {
		t.Fatal(err)
	}
	if items, _ := s.Inbox(ctx, 0, 10); len(items) != 0 {
		t.Errorf("inbox after drop: %v", items)
	}
}

func run(key, monitor, status string, finished time.Time) NotifyRun {
	return NotifyRun{Key: key, MonitorUID: monitor, MonitorName: "mon " + monitor, Status: status, StartedAt: finished.Add(-time.Second),
		FinishedAt: finished, Source: "poll", DurationMs: 120, Failures: []string{"Status code is 200"}, Detail: []byte(`{"x":1}`), RecordedAt: finished}
}

func testRecordRunOnce(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	r := run("m1@1", "m1", "failed", t0)
	if first, err := s.RecordRun(ctx, r, 0, HistoryBound{}, t0); err != nil || !first {
		t.Fatal(first, err)
	}
	r2 := r
	r2.Status = "success"
	if first, err := s.RecordRun(ctx, r2, 0, HistoryBound{}, t0); err != nil || first {
		t.Fatalf("duplicate: %v %v", first, err)
	}
	got, err := s.Runs(ctx, "m1", 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("runs: %v %v", got, err)
	}
	g := got[0]
	if g.Status != "failed" || g.MonitorName != "mon m1" || !g.StartedAt.Equal(r.StartedAt) || !g.FinishedAt.Equal(t0) || g.Source != "poll" ||
		g.DurationMs != 120 || !slices.Equal(g.Failures, r.Failures) || string(g.Detail) != `{"x":1}` {
		t.Errorf("round trip: %+v", g)
	}
	pending, _ := s.PendingRuns(ctx, 10)
	if len(pending) != 1 || pending[0].Key != "m1@1" {
		t.Errorf("pending: %v", pending)
	}
}

func fanOut(t *testing.T, s NotifyStore, key string) {
	t.Helper()
	if err := s.CommitFanout(t.Context(), key, nil, nil, t0); err != nil {
		t.Fatal(err)
	}
}

func testHistoryBoundCount(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	b := HistoryBound{MaxRuns: 3}
	for i := range 6 {
		key := fmt.Sprintf("m1@%d", i)
		if _, err := s.RecordRun(ctx, run(key, "m1", "success", t0.Add(time.Duration(i)*time.Minute)), 0, b, t0); err != nil {
			t.Fatal(err)
		}
		fanOut(t, s, key)
	}
	if _, err := s.RecordRun(ctx, run("m2@0", "m2", "success", t0), 0, b, t0); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Runs(ctx, "m1", 0)
	var keys []string
	for _, r := range got {
		keys = append(keys, r.Key)
	}
	// The bound applies when a run is recorded, and only to runs already fanned out: the newest three plus the
	// last one recorded (pruned at the next record).
	if len(keys) > 4 || keys[0] != "m1@5" || keys[1] != "m1@4" || keys[2] != "m1@3" {
		t.Errorf("history %v, want newest first, at most 3 (+1 pending prune)", keys)
	}
	if got, _ := s.Runs(ctx, "m2", 0); len(got) != 1 {
		t.Errorf("another monitor's history was pruned: %v", got)
	}
	// Unfanned runs are never pruned.
	b1 := HistoryBound{MaxRuns: 1}
	for i := range 3 {
		if _, err := s.RecordRun(ctx, run(fmt.Sprintf("m3@%d", i), "m3", "failed", t0.Add(time.Duration(i)*time.Minute)), 0, b1, t0); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := s.Runs(ctx, "m3", 0); len(got) != 3 {
		t.Errorf("unfanned runs pruned: %d left", len(got))
	}
}

func testHistoryBoundAge(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	b := HistoryBound{MaxRuns: 500, MaxAge: 90 * 24 * time.Hour}
	old := run("m1@old", "m1", "failed", t0.Add(-100*24*time.Hour))
	if _, err := s.RecordRun(ctx, old, 0, b, t0.Add(-100*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	fanOut(t, s, "m1@old")
	if _, err := s.RecordRun(ctx, run("m1@new", "m1", "success", t0), 0, b, t0); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Runs(ctx, "m1", 0)
	if len(got) != 1 || got[0].Key != "m1@new" {
		t.Errorf("history %v, want only the run within 90 days", got)
	}
}

func testFanoutOnce(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	if err := s.CommitFanout(ctx, "nope", nil, nil, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown run: %v", err)
	}
	if _, err := s.RecordRun(ctx, run("m1@1", "m1", "failed", t0), 0, HistoryBound{}, t0); err != nil {
		t.Fatal(err)
	}
	st, err := s.Streak(ctx, "C1", "m1")
	if err != nil || st.ID != 0 || st.Failing || st.ChannelID != "C1" || st.MonitorUID != "m1" {
		t.Fatalf("zero streak: %+v %v", st, err)
	}
	st.ID, st.Failing, st.FailCount, st.StartedAt, st.ParentKey, st.LastRunKey, st.LastRunAt = 1, true, 1, t0, "C1|m1@1|post", "m1@1", t0
	items := []OutboxItem{{Key: "C1|m1@1|post", ChannelID: "C1", Kind: OutboxPost, Parent: true, MonitorUID: "m1", RunKey: "m1@1", Payload: []byte(`{}`)}}
	// A bad item fails the whole commit, which changes nothing.
	bad := append(slices.Clone(items), OutboxItem{Key: "k", ChannelID: "C1", Kind: OutboxReply})
	if err := s.CommitFanout(ctx, "m1@1", []Streak{st}, bad, t0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad commit: %v", err)
	}
	if got, _ := s.Streak(ctx, "C1", "m1"); got.ID != 0 {
		t.Errorf("failed commit saved a streak: %+v", got)
	}
	if err := s.CommitFanout(ctx, "m1@1", []Streak{st}, items, t0); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Streak(ctx, "C1", "m1")
	if got != st {
		t.Errorf("streak round trip:\n got %+v\nwant %+v", got, st)
	}
	if err := s.CommitFanout(ctx, "m1@1", []Streak{st}, items, t0); !errors.Is(err, ErrFannedOut) {
		t.Errorf("second commit: %v, want ErrFannedOut", err)
	}
	if p, _ := s.PendingRuns(ctx, 0); len(p) != 0 {
		t.Errorf("still pending: %v", p)
	}
	stats, _ := s.OutboxStats(ctx)
	if stats[OutboxPending] != 1 {
		t.Errorf("outbox: %v", stats)
	}
}

func item(key, channel string) OutboxItem {
	return OutboxItem{Key: key, ChannelID: channel, Kind: OutboxPost, Payload: []byte(key)}
}

func testOutboxOrder(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	n, err := s.EnqueueOutbox(ctx, []OutboxItem{item("a1", "CA"), item("b1", "CB"), item("a2", "CA"), item("a1", "CA")}, t0)
	if err != nil || n != 3 {
		t.Fatalf("enqueue: %d %v (duplicate key must be skipped)", n, err)
	}
	due, _ := s.DueOutbox(ctx, t0, 0)
	if len(due) != 2 || due[0].Key != "a1" || due[1].Key != "b1" {
		t.Fatalf("due: %+v, want the head of each channel", due)
	}
	// Delaying a channel's head holds the whole channel (order within a channel).
	if err := s.RetryOutbox(ctx, due[0].ID, t0.Add(time.Minute), "ratelimited"); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueOutbox(ctx, t0, 0)
	if len(due) != 1 || due[0].Key != "b1" {
		t.Fatalf("due while CA waits: %+v", due)
	}
	due, _ = s.DueOutbox(ctx, t0.Add(time.Minute), 0)
	if len(due) != 2 || due[0].Key != "a1" || due[0].LastError != "ratelimited" {
		t.Fatalf("due after wait: %+v", due)
	}
	if err := s.DropOutbox(ctx, due[0].ID, "not_in_channel", t0); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueOutbox(ctx, t0.Add(time.Minute), 0)
	if len(due) != 2 || due[0].Key != "b1" || due[1].Key != "a2" {
		t.Fatalf("after drop: %+v", due)
	}
	if due, _ = s.DueOutbox(ctx, t0.Add(time.Minute), 1); len(due) != 1 || due[0].Key != "b1" {
		t.Fatalf("limit 1: %+v", due)
	}
	got, _ := s.Outbox(ctx, "a1")
	if got.State != OutboxDropped || got.LastError != "not_in_channel" {
		t.Errorf("dropped item: %+v", got)
	}
	if n, err := s.DropChannel(ctx, "CA", "channel_not_found", t0); err != nil || n != 1 {
		t.Errorf("drop channel: %d %v, want 1 (a2)", n, err)
	}
	if due, _ = s.DueOutbox(ctx, t0.Add(time.Minute), 0); len(due) != 1 || due[0].Key != "b1" {
		t.Errorf("after dropping CA: %+v", due)
	}
}

func testOutboxLifecycle(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	parent := OutboxItem{Key: "p", ChannelID: "C1", Kind: OutboxPost, Parent: true, MonitorUID: "m1", RunKey: "m1@1", Payload: []byte(`{"p":1}`)}
	reply := OutboxItem{Key: "r", ChannelID: "C1", Kind: OutboxReply, ParentKey: "p", Broadcast: true, Payload: []byte(`{}`)}
	update := OutboxItem{Key: "u", ChannelID: "C1", Kind: OutboxUpdate, ParentKey: "p", Payload: []byte(`{}`)}
	if _, err := s.EnqueueOutbox(ctx, []OutboxItem{parent, reply, update}, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ThreadTS(ctx, "p"); !errors.Is(err, ErrNotFound) {
		t.Errorf("thread before delivery: %v", err)
	}
	due, _ := s.DueOutbox(ctx, t0, 0)
	it, err := s.MarkSending(ctx, due[0].ID, t0)
	if err != nil || it.State != OutboxSending || it.Attempts != 1 || !it.SendingAt.Equal(t0) || !it.Parent || it.RunKey != "m1@1" ||
		string(it.Payload) != `{"p":1}` || !it.CreatedAt.Equal(t0) {
		t.Fatalf("mark sending: %+v %v", it, err)
	}
	if err := s.CompleteOutbox(ctx, it.ID, "1700000000.000100", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteOutbox(ctx, it.ID, "other", t0); err != nil {
		t.Errorf("complete twice: %v", err)
	}
	if ts, err := s.ThreadTS(ctx, "p"); err != nil || ts != "1700000000.000100" {
		t.Errorf("thread ts: %q %v", ts, err)
	}
	if _, err := s.MarkSending(ctx, it.ID, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("mark sending a done item: %v", err)
	}
	due, _ = s.DueOutbox(ctx, t0, 0)
	if len(due) != 1 || due[0].Key != "r" || !due[0].Broadcast || due[0].ParentKey != "p" || due[0].Kind != OutboxReply {
		t.Fatalf("next: %+v", due)
	}
	// A reply is not a parent: completing it records no thread.
	if err := s.CompleteOutbox(ctx, due[0].ID, "1700000000.000200", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ThreadTS(ctx, "r"); !errors.Is(err, ErrNotFound) {
		t.Errorf("reply recorded as a thread: %v", err)
	}
	got, _ := s.Outbox(ctx, "p")
	if got.State != OutboxDone || got.TS != "1700000000.000100" || !got.DoneAt.Equal(t0) {
		t.Errorf("done parent: %+v", got)
	}
	if _, err := s.Outbox(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	stats, _ := s.OutboxStats(ctx)
	if stats[OutboxDone] != 2 || stats[OutboxPending] != 1 {
		t.Errorf("stats: %v", stats)
	}
}

func testOutboxSendingDue(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	if _, err := s.EnqueueOutbox(ctx, []OutboxItem{item("a", "C1")}, t0); err != nil {
		t.Fatal(err)
	}
	due, _ := s.DueOutbox(ctx, t0, 0)
	if _, err := s.MarkSending(ctx, due[0].ID, t0); err != nil {
		t.Fatal(err)
	}
	// A crash leaves the item in sending; it stays due (at any time) so a restart reconciles it.
	due, _ = s.DueOutbox(ctx, t0.Add(-time.Hour), 0)
	if len(due) != 1 || due[0].State != OutboxSending || due[0].Attempts != 1 {
		t.Fatalf("sending item after crash: %+v", due)
	}
	it, err := s.MarkSending(ctx, due[0].ID, t0.Add(time.Second))
	if err != nil || it.Attempts != 2 {
		t.Errorf("re-mark: %+v %v", it, err)
	}
}

func testMonitorState(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	if _, err := s.MonitorState(ctx, "m1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	m := MonitorState{MonitorUID: "m1", Name: "payments", WorkspaceID: "w1", Period: 5 * time.Minute, NextRun: t0.Add(5 * time.Minute),
		LastRunKey: "m1@1", LastRunAt: t0, LastPolledAt: t0, Gone: true}
	if err := s.PutMonitorState(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got, err := s.MonitorState(ctx, "m1"); err != nil || got != m {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
	}
	if err := s.NoteWebhook(ctx, "m1", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteWebhook(ctx, "m1", t0); err != nil { // older: kept the newer one
		t.Fatal(err)
	}
	if err := s.NoteWebhook(ctx, "m2", t0); err != nil {
		t.Fatal(err)
	}
	got, _ := s.MonitorState(ctx, "m1")
	if !got.LastWebhookAt.Equal(t0.Add(time.Minute)) || got.Name != "payments" {
		t.Errorf("after webhook: %+v", got)
	}
	all, _ := s.MonitorStates(ctx)
	if len(all) != 2 || all[1].MonitorUID != "m2" || !all[1].LastWebhookAt.Equal(t0) {
		t.Errorf("all: %+v", all)
	}
}

func testNotices(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	if first, err := s.FirstNotice(ctx, "quota-low", t0); err != nil || !first {
		t.Fatal(first, err)
	}
	if first, _ := s.FirstNotice(ctx, "quota-low", t0); first {
		t.Error("second notice was first")
	}
	if err := s.ClearNotice(ctx, "quota-low"); err != nil {
		t.Fatal(err)
	}
	if first, _ := s.FirstNotice(ctx, "quota-low", t0); !first {
		t.Error("notice after clear was not first")
	}
}

func testNotifyInvalid(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	checks := map[string]error{
		"sub without channel": func() error {
			_, err := s.PutSubscription(ctx, Subscription{Target: mon("m"), Policy: PolicyAll})
			return err
		}(),
		"sub with bad kind": func() error {
			_, err := s.PutSubscription(ctx, Subscription{ChannelID: "C", Target: Target{"repo", "x"}, Policy: PolicyAll})
			return err
		}(),
		"sub with bad policy": func() error {
			_, err := s.PutSubscription(ctx, Subscription{ChannelID: "C", Target: mon("m"), Policy: "sometimes"})
			return err
		}(),
		"mute without end": s.PutMute(ctx, Mute{ChannelID: "C", MonitorUID: "m"}),
		"run without key": func() error {
			_, err := s.RecordRun(ctx, NotifyRun{MonitorUID: "m", Status: "x"}, 0, HistoryBound{}, t0)
			return err
		}(),
		"run without status": func() error {
			_, err := s.RecordRun(ctx, NotifyRun{Key: "k", MonitorUID: "m"}, 0, HistoryBound{}, t0)
			return err
		}(),
		"reply without parent": func() error {
			_, err := s.EnqueueOutbox(ctx, []OutboxItem{{Key: "k", ChannelID: "C", Kind: OutboxReply}}, t0)
			return err
		}(),
		"empty inbox body": func() error { _, err := s.AddInbox(ctx, InboxItem{ReceivedAt: t0}); return err }(),
		"oversized key":    func() error { _, err := s.FirstNotice(ctx, string(make([]byte, MaxKeyLen+1)), t0); return err }(),
	}
	for name, err := range checks {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func testConcurrentRecord(t *testing.T, s NotifyStore) {
	ctx := t.Context()
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for range 16 {
		wg.Go(func() {
			first, err := s.RecordRun(ctx, run("m1@race", "m1", "failed", t0), 0, HistoryBound{MaxRuns: 10}, t0)
			if err != nil {
				t.Error(err)
			}
			if first {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firsts != 1 {
		t.Errorf("%d callers were first, want 1", firsts)
	}
}
