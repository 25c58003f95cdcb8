package store

import (
	"sync"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/redistest"
)

var _ ratelimit.WindowStore = (*RedisWindows)(nil)

func TestRedisWindowAdd(t *testing.T) {
	srv := redistest.Start(t)
	r := openRedisTest(t, srv)
	defer r.Close()
	w := r.Windows()
	ctx := t.Context()
	key := "ratelimit:0123456789abcdef:1700000060"
	steps := []struct{ n, want int }{{1, 1}, {1, 2}, {5, 7}, {-2, 5}}
	for _, st := range steps {
		got, err := w.Add(ctx, key, st.n, 2*time.Minute)
		if err != nil || got != st.want {
			t.Fatalf("Add(%d) = %d, %v; want %d", st.n, got, err, st.want)
		}
	}
	ttl, err := r.Client().PTTL(ctx, r.Key("win", key)).Result()
	if err != nil || ttl <= time.Minute || ttl > 2*time.Minute {
		t.Errorf("ttl %v (%v), want set once on creation, about 2 min", ttl, err)
	}
	// A later add does not extend the expiry (the window must end on its own).
	r.Client().PExpire(ctx, r.Key("win", key), 5*time.Second)
	if _, err := w.Add(ctx, key, 1, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	if ttl, _ := r.Client().PTTL(ctx, r.Key("win", key)).Result(); ttl > 5*time.Second {
		t.Errorf("add extended the expiry to %v", ttl)
	}
	if got := w.RoundTrips.Load(); got != 5 {
		t.Errorf("round trips %d, want one per Add (5)", got)
	}

	// Concurrent adds from two connections (two replicas) never lose a count.
	r2 := openRedisTest(t, srv)
	defer r2.Close()
	w2 := NewRedis(r2.Client(), r.Namespace(), false).Windows()
	var wg sync.WaitGroup
	for i := range 200 {
		ws := w
		if i%2 == 1 {
			ws = w2
		}
		wg.Go(func() { _, _ = ws.Add(ctx, "k:x:1", 1, time.Minute) })
	}
	wg.Wait()
	if got, _ := w.Add(ctx, "k:x:1", 0, time.Minute); got != 200 {
		t.Errorf("shared count %d, want 200", got)
	}
}

func TestRedisReplicaRollCall(t *testing.T) {
	srv := redistest.Start(t)
	r := openRedisTest(t, srv)
	defer r.Close()
	w := r.Windows()
	ctx := t.Context()
	for i, id := range []string{"a", "b", "c"} {
		if n, err := w.Heartbeat(ctx, id, time.Minute); err != nil || n != i+1 {
			t.Fatalf("heartbeat %s: %d %v", id, n, err)
		}
	}
	if n, _ := w.Heartbeat(ctx, "a", time.Minute); n != 3 {
		t.Errorf("repeat heartbeat counted twice: %d", n)
	}
	if err := w.Leave(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.Heartbeat(ctx, "", time.Minute); n != 2 || w.LiveReplicas() != 2 {
		t.Errorf("after leave: %d (live %d), want 2", n, w.LiveReplicas())
	}
	// A replica that stops beating drops out once its heartbeat expires (Redis's clock; 50 ms).
	if _, err := w.Heartbeat(ctx, "d", 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, _ := w.Heartbeat(ctx, "", time.Minute)
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired replica still counted: %d", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
