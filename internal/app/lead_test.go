package app

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/redistest"
	"github.com/pmops/pmops/internal/store"
)

type replica struct {
	ops  *Ops
	stop func()
}

// TestLeadOneAtATime: two replicas run the notifier loop through Lead; only one runs it at any moment, and when
// that replica goes away the other takes over. The leader's fenced store writes; the follower's is refused.
func TestLeadOneAtATime(t *testing.T) {
	srv := redistest.Start(t)
	old := LeaseTTL
	LeaseTTL = time.Second
	defer func() { LeaseTTL = old }()
	var mu sync.Mutex
	running, maxRunning, starts := 0, 0, 0
	count := func() (int, int, int) { mu.Lock(); defer mu.Unlock(); return running, maxRunning, starts }
	work := func(ctx context.Context) error {
		mu.Lock()
		running++
		starts++
		maxRunning = max(maxRunning, running)
		mu.Unlock()
		<-ctx.Done()
		mu.Lock()
		running--
		mu.Unlock()
		return ctx.Err()
	}
	open := func() *replica {
		ops, err := OpenOps(OpsConfig{Store: srv.URL(0) + "?namespace=lead"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { ops.Lead(ctx, "notifier", work); close(done) }()
		var once sync.Once
		r := &replica{ops: ops, stop: func() { once.Do(func() { cancel(); <-done; ops.Close() }) }}
		t.Cleanup(r.stop)
		return r
	}
	a, b := open(), open()
	waitFor(t, func() bool { r, _, _ := count(); return r == 1 })
	leader, follower := a, b
	if _, ok := b.ops.Leader("notifier").IsLeader(); ok {
		leader, follower = b, a
	}
	ctx := t.Context()
	ns := leader.ops.NotifyStore("notifier")
	if _, err := ns.EnqueueOutbox(ctx, []store.OutboxItem{{Key: "k", ChannelID: "C", Kind: store.OutboxPost}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	due, _ := ns.DueOutbox(ctx, time.Now(), 0)
	if _, err := follower.ops.NotifyStore("notifier").MarkSending(ctx, due[0].ID, time.Now()); err == nil {
		t.Error("the follower's fenced write succeeded")
	}
	if _, err := ns.MarkSending(ctx, due[0].ID, time.Now()); err != nil {
		t.Errorf("the leader's fenced write: %v", err)
	}
	leader.stop() // releases the lease
	waitFor(t, func() bool { r, _, s := count(); return s == 2 && r == 1 })
	if _, m, _ := count(); m != 1 {
		t.Errorf("%d replicas ran the leader's work at once", m)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
