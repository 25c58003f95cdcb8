package lease

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/redistest"
	"github.com/pmops/pmops/internal/store"
)

func openStore(t *testing.T, srv *redistest.Server) *store.Redis {
	t.Helper()
	r, err := store.OpenRedis(t.Context(), srv.URL(0), store.RedisOptions{Namespace: "lease-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

var _ store.Leader = (*Lease)(nil)
var _ store.Leader = Solo{}

func TestExactlyOneLeader(t *testing.T) {
	srv := redistest.Start(t)
	r := openStore(t, srv)
	var leases []*Lease
	for range 5 {
		leases = append(leases, New(r.Client(), r.LeaseKey("notifier"), Options{TTL: time.Minute}))
	}
	for round := range 3 {
		var wg sync.WaitGroup
		for _, l := range leases {
			wg.Go(func() { _, _ = l.Try(context.Background()) })
		}
		wg.Wait()
		leaders, tok := 0, int64(0)
		for _, l := range leases {
			if tk, ok := l.IsLeader(); ok {
				leaders++
				tok = tk
			}
		}
		if leaders != 1 || tok != 1 {
			t.Fatalf("round %d: %d leaders (token %d), want exactly 1 with token 1 (renewals keep the token)", round, leaders, tok)
		}
	}
}

func TestReleaseHandsOver(t *testing.T) {
	srv := redistest.Start(t)
	r := openStore(t, srv)
	a := New(r.Client(), r.LeaseKey("n"), Options{TTL: time.Minute})
	b := New(r.Client(), r.LeaseKey("n"), Options{TTL: time.Minute})
	if ok, err := a.Try(t.Context()); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, _ := b.Try(t.Context()); ok {
		t.Fatal("b leads while a holds")
	}
	a.Release(t.Context())
	if _, ok := a.IsLeader(); ok {
		t.Error("a still leads after release")
	}
	ok, err := b.Try(t.Context())
	tok, _ := b.IsLeader()
	if !ok || err != nil || tok != 2 {
		t.Errorf("b after release: %v %v token %d, want leader with token 2", ok, err, tok)
	}
}

// TestTakeoverAfterDeath: the leader stops renewing (dies); a follower running Run takes over once the lease
// expires, with a larger token.
func TestTakeoverAfterDeath(t *testing.T) {
	srv := redistest.Start(t)
	r := openStore(t, srv)
	ttl := 300 * time.Millisecond
	dead := New(r.Client(), r.LeaseKey("n"), Options{TTL: ttl})
	if ok, _ := dead.Try(t.Context()); !ok {
		t.Fatal("first lease not taken")
	}
	changes := make(chan int64, 4)
	f := New(r.Client(), r.LeaseKey("n"), Options{TTL: ttl, OnChange: func(lead bool, tok int64) {
		if lead {
			changes <- tok
		}
	}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	select {
	case tok := <-changes:
		if tok != 2 {
			t.Errorf("new leader's token %d, want 2", tok)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no takeover")
	}
	if _, ok := dead.IsLeader(); ok {
		t.Error("the dead leader's local deadline should have passed")
	}
}

// TestStaleLeaderFenced: a leader whose lease expired while it was paused still believes it leads (its local
// deadline is stretched here to model a pause), but its writes carry the old token and are refused; the new
// leader's succeed.
func TestStaleLeaderFenced(t *testing.T) {
	srv := redistest.Start(t)
	r := openStore(t, srv)
	ctx := t.Context()
	old := New(r.Client(), r.LeaseKey("notifier"), Options{TTL: time.Minute})
	if ok, _ := old.Try(ctx); !ok {
		t.Fatal("old not leader")
	}
	n := r.Notify()
	if _, err := n.EnqueueOutbox(ctx, []store.OutboxItem{{Key: "k1", ChannelID: "C1", Kind: store.OutboxPost}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	due, _ := n.DueOutbox(ctx, time.Now(), 0)
	// The lease expires under the old leader (a long GC pause); a new leader takes it.
	r.Client().Del(ctx, r.LeaseKey("notifier"))
	nw := New(r.Client(), r.LeaseKey("notifier"), Options{TTL: time.Minute})
	if ok, _ := nw.Try(ctx); !ok {
		t.Fatal("new not leader")
	}
	if _, ok := old.IsLeader(); !ok {
		t.Fatal("the old leader should still believe it leads (its deadline has not passed)")
	}
	stale := n.Fenced("notifier", old)
	if _, err := stale.MarkSending(ctx, due[0].ID, time.Now()); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale leader's MarkSending: %v, want ErrFenced", err)
	}
	if err := stale.CommitFanout(ctx, "run", nil, nil, time.Now()); !errors.Is(err, store.ErrFenced) {
		t.Errorf("stale leader's CommitFanout: %v, want ErrFenced", err)
	}
	if _, err := stale.DropChannel(ctx, "C1", "x", time.Now()); !errors.Is(err, store.ErrFenced) {
		t.Errorf("stale leader's DropChannel: %v, want ErrFenced", err)
	}
	if got, _ := n.Outbox(ctx, "k1"); got.State != store.OutboxPending || got.Attempts != 0 {
		t.Errorf("a refused write changed the item: %+v", got)
	}
	fresh := n.Fenced("notifier", nw)
	it, err := fresh.MarkSending(ctx, due[0].ID, time.Now())
	if err != nil || it.Attempts != 1 {
		t.Fatalf("new leader's MarkSending: %+v %v", it, err)
	}
	if err := fresh.CompleteOutbox(ctx, it.ID, "1.0", time.Now()); err != nil {
		t.Fatal(err)
	}
	// A follower (not leading at all) is refused before it reaches Redis.
	follower := New(r.Client(), r.LeaseKey("notifier"), Options{TTL: time.Minute})
	if err := n.Fenced("notifier", follower).RetryOutbox(ctx, it.ID, time.Now(), "x"); !errors.Is(err, store.ErrFenced) {
		t.Errorf("follower's write: %v, want ErrFenced", err)
	}
}

// TestRedisDownLeaderStepsDown: with Redis unreachable the leader cannot renew and stops leading at its local
// deadline, before Redis would let anyone else in.
func TestRedisDownLeaderStepsDown(t *testing.T) {
	srv := redistest.Start(t)
	r := openStore(t, srv)
	l := New(r.Client(), r.LeaseKey("n"), Options{TTL: 400 * time.Millisecond})
	if ok, _ := l.Try(t.Context()); !ok {
		t.Fatal("not leader")
	}
	srv.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		ok, err := l.Try(ctx)
		cancel()
		if err == nil {
			t.Fatal("Try succeeded with Redis stopped")
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still leading long after the lease time without Redis")
		}
	}
	if _, ok := l.IsLeader(); ok {
		t.Error("IsLeader after stepping down")
	}
}
