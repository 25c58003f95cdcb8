package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// All gate tests run in a synctest bubble: time is virtual, starts at 2000-01-01 00:00:00 UTC (a window boundary
// of the fake server) and only moves when every goroutine waits.

func TestColdStartProbesFirstAndLearnsLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 300, Latency: 100 * time.Millisecond})
		g := quietGate(srv, Options{})
		defer g.Close()
		if s := g.Snapshot(); s.Limit != 60 || s.LimitLearned {
			t.Fatalf("cold snapshot limit %d learned %v; want the 60 default", s.Limit, s.LimitLearned)
		}
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				if _, err := get(t, t.Context(), g, "/me"); err != nil {
					t.Error(err)
				}
			})
		}
		time.Sleep(150 * time.Millisecond) // the probe is at the server, its answer not back yet
		synctest.Wait()
		if n := srv.counts().sends; n != 1 {
			t.Fatalf("%d requests sent before the first answer; want only the probe", n)
		}
		wg.Wait()
		s := g.Snapshot()
		if n := srv.counts().sends; n != 5 || s.Limit != 300 || !s.LimitLearned || s.Window != time.Minute {
			t.Fatalf("sends %d, snapshot limit %d learned %v window %v", n, s.Limit, s.LimitLearned, s.Window)
		}
	})
}

func TestQueuesWhenSpentProbesAtResetThenReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lat = 50 * time.Millisecond
		srv := newFakeServer(fakeConfig{Limit: 5, Window: 10 * time.Second, Latency: lat})
		log := &sendLog{next: srv}
		g := quietGate(log, Options{})
		defer g.Close()
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Millisecond)
				if _, err := get(t, t.Context(), g, "/me"); err != nil {
					t.Error(err)
				}
			})
		}
		time.Sleep(9 * time.Second)
		if n := len(log.sends()); n != 5 {
			t.Fatalf("%d sent in a window of 5", n)
		}
		if s := g.Snapshot(); s.Remaining != 0 || s.QueuedInteractive != 3 {
			t.Fatalf("snapshot remaining %d queued %d; want 0 and 3", s.Remaining, s.QueuedInteractive)
		}
		wg.Wait()
		sends := log.sends()
		probe := sends[5].at
		if !probe.After(time.Unix(0, 0).Add(0)) || probe.Before(epochPlus(10*time.Second)) {
			t.Fatalf("probe sent at %v, before the window reset", probe)
		}
		for _, s := range sends[6:] {
			if s.at.Before(probe.Add(2 * lat)) {
				t.Fatalf("request sent at %v before the probe (sent %v) was answered", s.at, probe)
			}
		}
		if c := srv.counts(); c.n429 != 0 {
			t.Fatalf("%d × 429", c.n429)
		}
	})
}

// epochPlus is synctest's start time plus d.
func epochPlus(d time.Duration) time.Time { return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(d) }

func TestClockSkewCorrectedFromDate(t *testing.T) {
	for _, skew := range []time.Duration{-5 * time.Hour, -7 * time.Second, 3 * time.Second, 5 * time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newFakeServer(fakeConfig{Limit: 10, Window: 10 * time.Second, Skew: skew, Latency: 40 * time.Millisecond})
				g := quietGate(srv, Options{})
				defer g.Close()
				var wg sync.WaitGroup
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
				defer cancel()
				for i := range 4 {
					wg.Go(func() {
						time.Sleep(time.Duration(i) * time.Millisecond)
						loop(t, ctx, g, "/me")
					})
				}
				wg.Wait()
				s := g.Snapshot()
				if s.ClockOffset > skew || s.ClockOffset < skew-1100*time.Millisecond {
					t.Errorf("clock offset %v for a server %v off", s.ClockOffset, skew)
				}
				c := srv.counts()
				if c.n429 != 0 || c.oks < 10*11 {
					t.Errorf("skew %v: %d × 429, %d ok in 12 windows of 10", skew, c.n429, c.oks)
				}
			})
		})
	}
}

func TestForeignClientsAreLeftTheirShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 30, Window: 10 * time.Second, Foreign: 20, Latency: 30 * time.Millisecond})
		g := quietGate(srv, Options{})
		defer g.Close()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Millisecond)
				loop(t, ctx, g, "/me")
			})
		}
		time.Sleep(15 * time.Second)
		if s := g.Snapshot(); s.Foreign < 20 {
			t.Errorf("foreign %d; the server reports 20 requests by others each window", s.Foreign)
		}
		wg.Wait()
		if c := srv.counts(); c.n429 != 0 || c.oks < 10*5 {
			t.Fatalf("%d × 429, %d ok; want 0 and about 10 per window", c.n429, c.oks)
		}
	})
}

func TestServer429BlocksGateRetriesGETAtFront(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &scriptRT{latency: 50 * time.Millisecond, respond: func(i int, req *http.Request) *http.Response {
			if i == 1 {
				return reply(429, "Retry-After", "3")
			}
			return reply(200, "X-RateLimit-Limit", "100", "X-RateLimit-Remaining", "90", "RateLimit-Reset", "50")
		}}
		g := quietGate(rt, Options{})
		defer g.Close()
		if _, err := get(t, t.Context(), g, "/me"); err != nil { // learns the window
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			resp, err := get(t, t.Context(), g, "/a", "X-Tag", "A")
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("GET /a after a 429: %v %v", resp, err)
			}
		})
		time.Sleep(time.Second) // A got its 429 at ~0.2 s; the gate is closed until ~3.45 s
		if s := g.Snapshot(); s.Count429 != 1 || s.BlockedUntil.IsZero() {
			t.Fatalf("snapshot after 429: count %d blocked until %v", s.Count429, s.BlockedUntil)
		}
		wg.Go(func() {
			if _, err := get(t, t.Context(), g, "/b", "X-Tag", "B"); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		log := rt.log()
		if len(log) != 4 {
			t.Fatalf("%d sends; want probe, A, A retried, B", len(log))
		}
		blockedAt := log[1].at.Add(100 * time.Millisecond)
		if log[2].tag != "A" || log[3].tag != "B" {
			t.Fatalf("after the block sent %q then %q; the retry goes first", log[2].tag, log[3].tag)
		}
		if d := log[2].at.Sub(blockedAt); d < 3*time.Second {
			t.Fatalf("retry sent %v after the 429 arrived; Retry-After was 3 s", d)
		}
	})
}

func TestNonIdempotentAndUnrewindableNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &scriptRT{latency: 10 * time.Millisecond, respond: func(i int, req *http.Request) *http.Response {
			if i == 0 {
				return reply(200, "X-RateLimit-Limit", "100", "X-RateLimit-Remaining", "90", "RateLimit-Reset", "50")
			}
			return reply(429, "Retry-After", "2", "X-RateLimit-Limit", "100", "X-RateLimit-Remaining", "0")
		}}
		g := quietGate(rt, Options{})
		defer g.Close()
		if _, err := get(t, t.Context(), g, "/me"); err != nil {
			t.Fatal(err)
		}
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			before := len(rt.log())
			_, err := send(t, t.Context(), g, method, "/monitors/1/run")
			var rl *RateLimitedError
			if !errors.As(err, &rl) || rl.Reason != "server 429" || rl.RetryAt.Before(time.Now().Add(2*time.Second)) {
				t.Fatalf("%s after 429: %v; want *RateLimitedError until ≥ 2 s from now", method, err)
			}
			if n := len(rt.log()) - before; n != 1 {
				t.Fatalf("%s sent %d times", method, n)
			}
		}
		// A GET with a body it cannot rewind is not retried either.
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/x", io.NopCloser(strings.NewReader("q")))
		before := len(rt.log())
		if _, err := g.RoundTrip(req); err == nil {
			t.Fatal("GET with a body and no GetBody retried to success")
		}
		if n := len(rt.log()) - before; n != 1 {
			t.Fatalf("unrewindable GET sent %d times", n)
		}
	})
}

func TestMonthlyQuotaFailsFastWithoutSending(t *testing.T) {
	for _, tc := range []struct {
		name     string
		families int
		style    string
	}{
		{"month headers", famAll, ""},
		{"object body only", famAll &^ famMonth, "object"},
		{"string body only", famAll &^ famMonth, "string"},
		{"problem body only", famAll &^ famMonth, "problem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newFakeServer(fakeConfig{Limit: 60, Month: 3, Latency: 20 * time.Millisecond, Families: tc.families, QuotaStyle: tc.style})
				g := quietGate(srv, Options{QuotaProbeInterval: 10 * time.Minute})
				defer g.Close()
				var err error
				for i := 0; i < 10 && err == nil; i++ {
					_, err = get(t, t.Context(), g, "/me")
				}
				if !errors.Is(err, ErrQuotaExhausted) {
					t.Fatalf("err %v; want ErrQuotaExhausted", err)
				}
				sent := srv.counts().sends
				start := time.Now()
				var wg sync.WaitGroup
				for range 5 {
					wg.Go(func() {
						if _, err := get(t, t.Context(), g, "/me"); !errors.Is(err, ErrQuotaExhausted) {
							t.Errorf("err %v; want ErrQuotaExhausted", err)
						}
					})
				}
				wg.Wait()
				if n := srv.counts().sends; n != sent || time.Since(start) != 0 {
					t.Fatalf("%d more sent, %v waited after the quota was spent", n-sent, time.Since(start))
				}
				if s := g.Snapshot(); !s.QuotaExhausted || s.MonthRemaining > 0 {
					t.Fatalf("snapshot quota exhausted %v remaining %d", s.QuotaExhausted, s.MonthRemaining)
				}
				// Rarely, one request tests the quota again.
				time.Sleep(10 * time.Minute)
				for range 3 {
					wg.Go(func() {
						if _, err := get(t, t.Context(), g, "/me"); !errors.Is(err, ErrQuotaExhausted) {
							t.Errorf("err %v; want ErrQuotaExhausted", err)
						}
					})
				}
				wg.Wait()
				if n := srv.counts().sends; n != sent+1 {
					t.Fatalf("re-probe sent %d requests; want 1", n-sent)
				}
			})
		})
	}
}

func TestDeadlineBeforeEarliestSendFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 2, Window: time.Minute, Latency: 20 * time.Millisecond})
		g := quietGate(srv, Options{})
		defer g.Close()
		for range 2 {
			if _, err := get(t, t.Context(), g, "/me"); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := get(t, ctx, g, "/me")
		var rl *RateLimitedError
		if !errors.As(err, &rl) || time.Since(start) != 0 {
			t.Fatalf("err %v after %v; want *RateLimitedError at once", err, time.Since(start))
		}
		if rl.RetryAt.Before(epochPlus(time.Minute)) || rl.RetryAt.After(epochPlus(time.Minute+2*time.Second)) {
			t.Fatalf("RetryAt %v; the window resets at %v", rl.RetryAt, epochPlus(time.Minute))
		}
		if n := srv.counts().sends; n != 2 {
			t.Fatalf("%d sent", n)
		}
		// A deadline after the reset waits and succeeds.
		ctx2, cancel2 := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel2()
		if _, err := get(t, ctx2, g, "/me"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDeadlineLeavesRoomForTheRoundTrip: a caller whose deadline falls just after the window resets, closer
// than one round trip, is told to retry rather than have a request sent that it will abandon mid-flight.
func TestDeadlineLeavesRoomForTheRoundTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 2, Window: time.Minute, Latency: 500 * time.Millisecond})
		g := quietGate(srv, Options{})
		defer g.Close()
		for range 2 {
			if _, err := get(t, t.Context(), g, "/me"); err != nil {
				t.Fatal(err)
			}
		}
		// Ask once with a deadline well before the reset, to learn when the gate would send next.
		early, cancelEarly := context.WithTimeout(t.Context(), time.Second)
		_, err := get(t, early, g, "/me")
		cancelEarly()
		var rl *RateLimitedError
		if !errors.As(err, &rl) {
			t.Fatalf("err %v; want *RateLimitedError", err)
		}
		// Now a deadline just after that moment: the send would fit, the ~1 s round trip would not.
		ctx, cancel := context.WithDeadline(t.Context(), rl.RetryAt.Add(200*time.Millisecond))
		defer cancel()
		_, err = get(t, ctx, g, "/me")
		if !errors.As(err, &rl) || !rl.RetryAt.After(time.Now()) {
			t.Fatalf("err %v; want *RateLimitedError with a future retry time", err)
		}
		if n := srv.counts().sends; n != 2 {
			t.Fatalf("%d sent; the doomed request went out", n)
		}
	})
}

func TestCancellationRemovesWaiterAndReturnsGrant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 4, Window: time.Minute, Latency: 20 * time.Millisecond})
		g := quietGate(srv, Options{})
		defer g.Close()
		if _, err := get(t, t.Context(), g, "/me"); err != nil {
			t.Fatal(err)
		}
		if s := g.Snapshot(); s.Remaining != 3 {
			t.Fatalf("remaining %d after 1 of 4", s.Remaining)
		}
		lease, err := g.Acquire(t.Context(), Ticket{})
		if err != nil {
			t.Fatal(err)
		}
		if s := g.Snapshot(); s.Remaining != 2 || s.InFlight != 1 {
			t.Fatalf("remaining %d in flight %d with a lease", s.Remaining, s.InFlight)
		}
		lease.Cancel()
		if s := g.Snapshot(); s.Remaining != 3 || s.InFlight != 0 {
			t.Fatalf("remaining %d in flight %d after Cancel; the grant must come back", s.Remaining, s.InFlight)
		}
		// Spend the window, queue one more, cancel it: it leaves the queue and sends nothing.
		var leases []*Lease
		for range 3 {
			l, err := g.Acquire(t.Context(), Ticket{})
			if err != nil {
				t.Fatal(err)
			}
			leases = append(leases, l)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			_, err := get(t, ctx, g, "/me")
			done <- err
		}()
		synctest.Wait()
		if s := g.Snapshot(); s.QueuedInteractive != 1 {
			t.Fatalf("queued %d", s.QueuedInteractive)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v; want context.Canceled", err)
		}
		if s := g.Snapshot(); s.QueuedInteractive != 0 {
			t.Fatalf("queued %d after cancel", s.QueuedInteractive)
		}
		for _, l := range leases {
			l.Done(nil, errors.New("not really sent"))
		}
		if n := srv.counts().sends; n != 1 {
			t.Fatalf("%d sent; only the first request reached the server", n)
		}
	})
}

func TestInteractiveReserveAndBackgroundPacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 30, Window: time.Minute, Latency: 50 * time.Millisecond})
		log := &sendLog{next: srv}
		g := quietGate(log, Options{})
		defer g.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 59*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		bg := WithTicket(ctx, Ticket{Class: Background, User: "poller"})
		for i := range 4 {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Millisecond)
				loop(t, bg, g, "/monitors/x", "X-Tag", "bg")
			})
		}
		// Strict priority would hand the whole window to the pollers at its start; pacing keeps them near the
		// even line L·elapsed plus the burst.
		time.Sleep(20 * time.Second)
		if n := len(log.sends()); n > 5+30/3+1 {
			t.Fatalf("background sent %d in the first third of a 30/min window", n)
		}
		// Users asking at any moment are served at once, even late in the window.
		for _, at := range []time.Duration{25 * time.Second, 40 * time.Second, 55 * time.Second, 57 * time.Second} {
			time.Sleep(at - time.Since(epochPlus(0)))
			start := time.Now()
			if _, err := get(t, WithTicket(t.Context(), Ticket{Class: Interactive, User: "U1"}), g, "/me", "X-Tag", "user"); err != nil {
				t.Fatal(err)
			}
			if w := time.Since(start); w > 200*time.Millisecond {
				t.Errorf("interactive request at %v waited %v", at, w)
			}
		}
		wg.Wait()
		if use, _ := srv.fullWindowUse(epochPlus(0), epochPlus(time.Minute)); use < 1 {
			t.Errorf("window use %.2f; background must still take what interactive traffic leaves", use)
		}
	})
}

func TestRoundRobinAndFairShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 10, Window: time.Minute, Latency: 20 * time.Millisecond})
		log := &sendLog{next: srv}
		g := quietGate(log, Options{})
		defer g.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		start := func(user string, n int) {
			for i := range n {
				wg.Go(func() {
					time.Sleep(time.Duration(i) * time.Microsecond)
					_, _ = get(t, WithTicket(ctx, Ticket{User: user}), g, "/me", "X-Tag", user)
				})
			}
		}
		start("heavy", 12)
		time.Sleep(time.Millisecond)
		start("light", 5)
		wg.Wait()
		per := map[string]int{}
		for _, s := range log.sends() {
			per[s.tag]++
		}
		if per["heavy"] != 5 || per["light"] != 5 {
			t.Fatalf("first window: %v; want 5 each (equal shares of 10)", per)
		}
	})
}

func TestQueueRoundRobinOrder(t *testing.T) {
	var q classQueue
	users := map[string]*userState{}
	push := func(name string, front bool) {
		user := name[:1]
		if users[user] == nil {
			users[user] = &userState{key: userKey{user: user}}
		}
		q.push(&waiter{user: users[user], path: name}, front)
	}
	for _, n := range []string{"a1", "a2", "a3", "a4", "b1", "b2", "c1"} {
		push(n, false)
	}
	var order []string
	next := func() {
		w, _ := q.pick(func(*waiter) verdict { return verdict{ok: true} })
		order = append(order, w.path)
	}
	next()
	next()
	push("c0", true) // a 429 retry: front of its user's queue, and that user goes next
	for q.size > 0 {
		next()
	}
	if got, want := strings.Join(order, " "), "a1 b1 c0 a2 b2 c1 a3 a4"; got != want {
		t.Fatalf("order %s, want %s", got, want)
	}
}

func TestPerUserLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 100, Window: time.Minute, Latency: 20 * time.Millisecond})
		g := quietGate(srv, Options{PerUserLimit: 4})
		defer g.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Millisecond)
				_, _ = get(t, WithTicket(ctx, Ticket{User: "alone"}), g, "/me")
			})
		}
		wg.Wait()
		if n := srv.counts().sends; n != 4 {
			t.Fatalf("one user sent %d in a window with PerUserLimit 4", n)
		}
	})
}

func TestCoalescingSurvivesFirstCallersCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 60, Latency: time.Second, Body: func(r *http.Request) (int, string) {
			return 200, `{"path":"` + r.URL.Path + `"}`
		}})
		g := quietGate(srv, Options{})
		defer g.Close()
		if _, err := get(t, t.Context(), g, "/me"); err != nil { // learn the window
			t.Fatal(err)
		}
		leaderCtx, cancelLeader := context.WithCancel(WithCoalescing(t.Context(), true))
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := get(t, leaderCtx, g, "/monitors/7"); !errors.Is(err, context.Canceled) {
				t.Errorf("leader: %v; want context.Canceled", err)
			}
		})
		time.Sleep(100 * time.Millisecond)
		wg.Go(func() {
			resp, err := get(t, WithCoalescing(t.Context(), true), g, "/monitors/7")
			if err != nil || bodyOf(resp) != `{"path":"/monitors/7"}` {
				t.Errorf("follower: %v %v", resp, err)
			}
		})
		time.Sleep(400 * time.Millisecond)
		cancelLeader()
		wg.Wait()
		if n := srv.counts().sends; n != 2 {
			t.Fatalf("%d sends; the two callers must share one request", n)
		}
		if s := g.Snapshot(); s.Coalesced != 1 {
			t.Fatalf("coalesced %d", s.Coalesced)
		}
		// When every caller leaves, the shared request is cancelled and its slot comes back.
		ctx, cancel := context.WithCancel(WithCoalescing(t.Context(), true))
		go func() { time.Sleep(500 * time.Millisecond); cancel() }()
		if _, err := get(t, ctx, g, "/monitors/8"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
		synctest.Wait()
		if s := g.Snapshot(); s.InFlight != 0 {
			t.Fatalf("in flight %d after every caller left", s.InFlight)
		}
	})
}

func TestCoalescedFetchTakesTheJoinersPriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 10, Latency: 50 * time.Millisecond})
		log := &sendLog{next: srv}
		g := quietGate(log, Options{})
		defer g.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
		defer cancel()
		bg := WithTicket(WithCoalescing(ctx, true), Ticket{Class: Background, User: "poller"})
		var wg sync.WaitGroup
		for i := range 3 { // keep background traffic on its pace line
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Millisecond)
				loop(t, bg, g, "/monitors/"+strconv.Itoa(i))
			})
		}
		time.Sleep(5 * time.Second)
		wg.Go(func() { _, _ = get(t, bg, g, "/monitors/shared") })
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if s := g.Snapshot(); s.QueuedBackground < 1 {
			t.Fatalf("queued background %d; the shared fetch should wait on the pace line", s.QueuedBackground)
		}
		start := time.Now()
		resp, err := get(t, WithTicket(WithCoalescing(t.Context(), true), Ticket{Class: Interactive, User: "U"}), g, "/monitors/shared")
		if err != nil || resp.StatusCode != 200 {
			t.Fatal(resp, err)
		}
		if w := time.Since(start); w > 500*time.Millisecond {
			t.Fatalf("interactive caller joining a background fetch waited %v", w)
		}
		cancel()
		wg.Wait()
		n := 0
		for _, s := range log.sends() {
			if s.path == "/monitors/shared" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("/monitors/shared sent %d times", n)
		}
	})
}

func TestCacheHitsInvalidationAndKeyIsolation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		version := 0
		var mu sync.Mutex
		srv := newFakeServer(fakeConfig{Limit: 300, Latency: 10 * time.Millisecond, Body: func(r *http.Request) (int, string) {
			mu.Lock()
			defer mu.Unlock()
			if r.Method != http.MethodGet {
				version++
			}
			return 200, fmt.Sprintf(`{"path":%q,"query":%q,"v":%d}`, r.URL.Path, r.URL.RawQuery, version)
		}})
		g := quietGate(srv, Options{Cache: []CacheRule{{Pattern: "/workspaces*", TTL: time.Minute}}})
		defer g.Close()
		ctx := WithCache(t.Context(), 30*time.Second)
		sends := func() int { return srv.counts().sends }
		mustGet := func(ctx context.Context, path string, kv ...string) string {
			t.Helper()
			resp, err := get(t, ctx, g, path, kv...)
			if err != nil {
				t.Fatal(err)
			}
			return bodyOf(resp)
		}
		a := mustGet(ctx, "/collections/1")
		if b := mustGet(ctx, "/collections/1"); b != a || sends() != 1 {
			t.Fatalf("second GET: %s, %d sends; want a cache hit", b, sends())
		}
		mustGet(ctx, "/collections")
		mustGet(ctx, "/collections?workspace=w1")
		mustGet(ctx, "/collections?workspace=w2") // the query is part of the key
		mustGet(ctx, "/collections/1/forks")
		mustGet(ctx, "/collections/2")
		if sends() != 6 {
			t.Fatalf("%d sends for 6 distinct URLs", sends())
		}
		// Another key never sees this key's entries.
		mustGet(ctx, "/collections/1", "X-Api-Key", "PMAK-other-key")
		if sends() != 7 {
			t.Fatal("a second API key was served the first key's cached answer")
		}
		// A write to /collections/1 drops /collections/1*, the list /collections (any query), not /collections/2.
		if _, err := send(t, t.Context(), g, http.MethodPut, "/collections/1"); err != nil {
			t.Fatal(err)
		}
		before := sends()
		if b := mustGet(ctx, "/collections/1"); b == a {
			t.Fatalf("stale answer after a write: %s", b)
		}
		mustGet(ctx, "/collections")
		mustGet(ctx, "/collections?workspace=w1")
		mustGet(ctx, "/collections/1/forks")
		mustGet(ctx, "/collections/2")
		if n := sends() - before; n != 4 {
			t.Fatalf("%d refetches after the write; want 4 (all but /collections/2)", n)
		}
		// A rule by pattern caches without a context option; a negative TTL bypasses it; entries expire.
		mustGet(t.Context(), "/workspaces/9")
		mustGet(t.Context(), "/workspaces/9")
		mustGet(WithCache(t.Context(), -1), "/workspaces/9")
		if n := sends() - before - 4; n != 2 {
			t.Fatalf("rule cache: %d sends; want 2 (one miss, one bypass)", n)
		}
		time.Sleep(31 * time.Second)
		b := sends()
		mustGet(ctx, "/collections/2")
		if sends() != b+1 {
			t.Fatal("entry served after its TTL")
		}
		if s := g.Snapshot(); s.CacheHits < 3 {
			t.Fatalf("cache hits %d", s.CacheHits)
		}
	})
}

func TestSnapshotFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 30, Month: 1000, Skew: 3 * time.Second, Latency: 25 * time.Millisecond})
		g := quietGate(srv, Options{})
		defer g.Close()
		for range 7 {
			if _, err := get(t, t.Context(), g, "/me"); err != nil {
				t.Fatal(err)
			}
		}
		s := g.Snapshot()
		wantReset := epochPlus(time.Minute - 3*time.Second)
		switch {
		case s.Limit != 30 || !s.LimitLearned || s.Window != time.Minute:
			t.Errorf("limit %d learned %v window %v", s.Limit, s.LimitLearned, s.Window)
		case s.Remaining != 23:
			t.Errorf("remaining %d; want 23", s.Remaining)
		case s.ResetAt.Before(wantReset) || s.ResetAt.After(wantReset.Add(1500*time.Millisecond)):
			t.Errorf("reset at %v; want just after %v", s.ResetAt, wantReset)
		case s.MonthLimit != 1000 || s.MonthRemaining != 993:
			t.Errorf("month %d/%d", s.MonthRemaining, s.MonthLimit)
		case s.ClockOffset > 3*time.Second || s.ClockOffset < 2*time.Second:
			t.Errorf("clock offset %v", s.ClockOffset)
		case s.InFlight != 0 || s.QueuedInteractive != 0 || s.QueuedBackground != 0 || s.Count429 != 0 || !s.BlockedUntil.IsZero():
			t.Errorf("idle snapshot %+v", s)
		case s.Sent != 7 || s.QuotaExhausted || s.StoreDegraded:
			t.Errorf("snapshot %+v", s)
		}
	})
}

// memStore is an in-memory WindowStore; fail makes every call fail.
type memStore struct {
	mu     sync.Mutex
	counts map[string]int
	fail   bool
	calls  int
}

func (m *memStore) Add(ctx context.Context, key string, n int, ttl time.Duration) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail {
		return 0, errors.New("store unreachable")
	}
	if m.counts == nil {
		m.counts = map[string]int{}
	}
	m.counts[key] += n
	return m.counts[key], nil
}

func runReplicas(t *testing.T, srv *fakeServer, store WindowStore, d time.Duration) []*Gate {
	var gates []*Gate
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	var wg sync.WaitGroup
	for r := range 2 {
		g := quietGate(srv, Options{Store: store, StoreReplicas: 2})
		gates = append(gates, g)
		for i := range 5 {
			wg.Go(func() {
				time.Sleep(time.Duration(r*10+i) * time.Millisecond)
				loop(t, ctx, g, "/me")
			})
		}
	}
	wg.Wait()
	return gates
}

func TestWindowStoreSharedBetweenReplicas(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Without a store, two replicas of one key collide at every window start.
		srv := newFakeServer(fakeConfig{Limit: 30, Window: 10 * time.Second, Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond})
		runReplicas(t, srv, nil, 2*time.Minute)
		if c := srv.counts(); c.n429 == 0 {
			t.Fatalf("replicas without a store got no 429s (%d ok): the scenario proves nothing", c.oks)
		}
		srv = newFakeServer(fakeConfig{Limit: 30, Window: 10 * time.Second, Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond})
		store := &memStore{}
		runReplicas(t, srv, store, 2*time.Minute)
		if c := srv.counts(); c.n429 != 0 || c.oks < 30*10 {
			t.Fatalf("with a shared store: %d × 429, %d ok in 12 windows of 30", c.n429, c.oks)
		}
	})
}

func TestWindowStoreErrorsFallBackToShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 30, Window: 10 * time.Second, Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond})
		store := &memStore{fail: true}
		gates := runReplicas(t, srv, store, 2*time.Minute)
		if c := srv.counts(); c.n429 != 0 || c.oks < 14*10 {
			t.Fatalf("store down: %d × 429, %d ok; want 0 and about 15 per replica per window", c.n429, c.oks)
		}
		for w, n := range srv.perWindow {
			if n > 30 {
				t.Fatalf("window %d got %d", w, n)
			}
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if _, err := get(t, ctx, gates[0], "/me"); err != nil {
			t.Fatal(err)
		}
		if !gates[0].Snapshot().StoreDegraded || store.calls == 0 {
			t.Fatal("snapshot does not say the store is degraded")
		}
	})
}

// TestStoreShareCountsReplicasThatJoinLater: three replicas whose gates were made when the roll call counted two
// keep to Limit/3 while the store is down once the live count says three; with the static count alone they
// overshoot the key's window.
func TestStoreShareCountsReplicasThatJoinLater(t *testing.T) {
	for _, tt := range []struct {
		name string
		live func() int
		want bool // no window over the limit
	}{
		{"static count of 2", nil, false},
		{"live count of 3", func() int { return 3 }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newFakeServer(fakeConfig{Limit: 30, Window: 10 * time.Second, Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond})
				store := &memStore{fail: true}
				ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
				defer cancel()
				var wg sync.WaitGroup
				for r := range 3 {
					g := quietGate(srv, Options{Store: store, StoreReplicas: 2, StoreReplicasLive: tt.live})
					defer g.Close()
					for i := range 5 {
						wg.Go(func() {
							time.Sleep(time.Duration(r*10+i) * time.Millisecond)
							loop(t, ctx, g, "/me")
						})
					}
				}
				wg.Wait()
				over := 0
				for _, n := range srv.perWindow {
					if n > 30 {
						over++
					}
				}
				c := srv.counts()
				if got := over == 0 && c.n429 == 0; got != tt.want {
					t.Fatalf("%d windows over the limit, %d × 429, %d ok; want within the limit: %v", over, c.n429, c.oks, tt.want)
				}
				if tt.want && c.oks < 9*30*9/10 {
					t.Fatalf("%d ok: the share starves the replicas", c.oks)
				}
			})
		})
	}
}

func TestRouteBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 1000, Latency: 30 * time.Millisecond,
			RoutePrefix: "/collections", RouteLimit: 10, RouteWindow: 10 * time.Second})
		log := &sendLog{next: srv}
		g := quietGate(log, Options{Routes: []Route{
			{Method: "GET", Pattern: "/collections", Limit: 10, Window: 10 * time.Second, Bucket: "collections"},
			{Method: "*", Pattern: "/collections/{id}*", Limit: 10, Window: 10 * time.Second, Bucket: "collections"},
		}})
		defer g.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 35*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Millisecond)
				for j := 0; ctx.Err() == nil; j++ {
					path := "/collections"
					if j%2 == 1 {
						path = "/collections/" + strconv.Itoa(j)
					}
					_, err := get(t, ctx, g, path, "X-Tag", "col")
					var rl *RateLimitedError
					if errors.As(err, &rl) {
						_ = sleepCtx(ctx, time.Until(rl.RetryAt))
					}
				}
			})
		}
		wg.Go(func() {
			loop(t, ctx, g, "/me", "X-Tag", "me")
		})
		wg.Wait()
		var col []time.Time
		me := 0
		for _, s := range log.sends() {
			if s.tag == "col" {
				col = append(col, s.at)
			} else {
				me++
			}
		}
		for i := 10; i < len(col); i++ {
			if d := col[i].Sub(col[i-10]); d < 10*time.Second {
				t.Fatalf("11 bucketed requests within %v", d)
			}
		}
		if c := srv.counts(); c.n429 != 0 || len(col) < 30 || me < 100 {
			t.Fatalf("%d × 429, %d bucketed, %d other sends", c.n429, len(col), me)
		}
	})
}

func TestRouteBucket429BlocksOnlyTheBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The server's bucket is stricter than configured: its 429s (no rate headers) close the bucket only.
		srv := newFakeServer(fakeConfig{Limit: 300, Latency: 30 * time.Millisecond,
			RoutePrefix: "/collections", RouteLimit: 3, RouteWindow: 10 * time.Second})
		log := &sendLog{next: srv}
		g := quietGate(log, Options{MaxRetries: -1, Routes: []Route{{Pattern: "/collections*", Limit: 10, Window: 10 * time.Second}}})
		defer g.Close()
		if _, err := get(t, t.Context(), g, "/me"); err != nil {
			t.Fatal(err)
		}
		var rl *RateLimitedError
		for i := 0; i < 5 && rl == nil; i++ {
			_, err := get(t, t.Context(), g, "/collections")
			errors.As(err, &rl)
		}
		if rl == nil || rl.Reason != "route bucket" {
			t.Fatalf("got %v; want a route bucket RateLimitedError", rl)
		}
		start := time.Now()
		if _, err := get(t, t.Context(), g, "/me"); err != nil || time.Since(start) > time.Second {
			t.Fatalf("/me after a bucket 429: %v after %v; the main window was not spent", err, time.Since(start))
		}
		if _, err := get(t, t.Context(), g, "/collections"); err != nil {
			t.Fatal(err)
		}
		last := log.sends()[len(log.sends())-1]
		if last.at.Before(rl.RetryAt) {
			t.Fatalf("bucketed request sent at %v before %v", last.at, rl.RetryAt)
		}
	})
}

func TestAbsurdHeadersStaySafe(t *testing.T) {
	far := func() string { return strconv.FormatInt(time.Now().Add(3*365*24*time.Hour).Unix(), 10) }
	cases := []struct {
		name    string
		respond func() *http.Response
	}{
		{"reset 100 days ahead, nothing left", func() *http.Response {
			return reply(200, "RateLimit-Limit", "50", "RateLimit-Remaining", "0", "RateLimit-Reset", "9000000")
		}},
		{"epoch reset years ahead", func() *http.Response {
			return reply(200, "X-RateLimit-Limit", "50", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", far())
		}},
		{"reset in the past", func() *http.Response {
			return reply(200, "X-RateLimit-Limit", "50", "X-RateLimit-Remaining", "0", "X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10))
		}},
		{"429 asking for a year", func() *http.Response {
			return reply(429, "Retry-After", "31536000", "X-RateLimit-Remaining", "0")
		}},
		{"429 with Retry-After 0", func() *http.Response { return reply(429, "Retry-After", "0") }},
		{"garbage everywhere", func() *http.Response {
			return reply(200, "X-RateLimit-Limit", "-5", "X-RateLimit-Remaining", "lots", "RateLimit", "limit=;;reset=NaN",
				"RateLimit-Policy", "0;w=-1", "Date", "Tue, 01 Jan 2099 00:00:00 GMT", "X-RateLimit-Reset", "1e308")
		}},
		{"huge limit and remaining", func() *http.Response {
			return reply(200, "X-RateLimit-Limit", "999999999999", "X-RateLimit-Remaining", "999999999999", "RateLimit-Reset", "1")
		}},
		{"server clock hours off", func() *http.Response {
			now := time.Now().Add(-7 * time.Hour)
			return reply(200, "Date", now.UTC().Format(http.TimeFormat), "X-RateLimit-Limit", "20", "X-RateLimit-Remaining", "0",
				"X-RateLimit-Reset", strconv.FormatInt(now.Add(30*time.Second).Unix(), 10))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := &scriptRT{latency: 20 * time.Millisecond, respond: func(int, *http.Request) *http.Response { return tc.respond() }}
				g := quietGate(rt, Options{})
				defer g.Close()
				const run = 20 * time.Minute
				ctx, cancel := context.WithTimeout(t.Context(), run)
				defer cancel()
				var wg sync.WaitGroup
				for i := range 3 {
					wg.Go(func() {
						time.Sleep(time.Duration(i) * time.Millisecond)
						loop(t, ctx, g, "/me")
					})
				}
				wg.Wait()
				sends := rt.log()
				// Never stuck: the gate sends at least once per MaxWait (twice the window) whatever the headers
				// say. Never a flood: without a believable limit it keeps to the 60/min cold-start default.
				last := epochPlus(0)
				for _, s := range append(sends, sent{at: time.Now()}) {
					if gap := s.at.Sub(last); gap > 2*time.Minute+5*time.Second {
						t.Fatalf("nothing sent for %v (from %v)", gap, last.Sub(epochPlus(0)))
					}
					last = s.at
				}
				if len(sends) > 60*20+20 {
					t.Fatalf("%d sends in %v", len(sends), run)
				}
				g.mu.Lock()
				wakes := g.b.stats.wakes
				g.mu.Unlock()
				if wakes > int64(run/time.Second)*2 {
					t.Fatalf("%d timer wake-ups in %v: busy loop", wakes, run)
				}
			})
		})
	}
}

func TestLogsNeverContainTheKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		var mu sync.Mutex
		logger := slog.New(slog.NewTextHandler(lockedWriter{&buf, &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		srv := newFakeServer(fakeConfig{Limit: 3, Window: 10 * time.Second, Month: 5, Latency: 10 * time.Millisecond,
			Storm: func(id string) (int, bool) { return 1, id == "storm" }})
		g := New(srv, Options{Logger: logger, Store: &memStore{fail: true}})
		defer g.Close()
		for i := range 8 {
			_, _ = get(t, t.Context(), g, "/me", "X-Api-Key", "PMAK-secret-0123456789", "X-Req-Id", map[bool]string{true: "storm"}[i == 1])
		}
		mu.Lock()
		defer mu.Unlock()
		out := buf.String()
		if !strings.Contains(out, "429") || !strings.Contains(out, "quota") {
			t.Fatalf("expected 429 and quota log lines, got:\n%s", out)
		}
		if strings.Contains(out, "PMAK-secret") || strings.Contains(out, "0123456789") {
			t.Fatalf("the API key leaked into the log:\n%s", out)
		}
	})
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestCloseFailsQueuedAndLaterRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 1, Window: time.Minute, Latency: 10 * time.Millisecond})
		g := quietGate(srv, Options{})
		if _, err := get(t, t.Context(), g, "/me"); err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() {
			_, err := get(t, t.Context(), g, "/me")
			done <- err
		}()
		synctest.Wait()
		g.Close()
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Fatalf("queued request: %v", err)
		}
		if _, err := get(t, t.Context(), g, "/me"); !errors.Is(err, ErrClosed) {
			t.Fatalf("request after Close: %v", err)
		}
	})
}

func TestPatternMatching(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/collections", "/collections", true},
		{"/collections", "/collections/", true},
		{"/collections", "/collections/1", false},
		{"/workspaces/{id}", "/workspaces/abc", true},
		{"/workspaces/{id}", "/workspaces", false},
		{"/workspaces/{id}", "/workspaces/abc/x", false},
		{"/monitors*", "/monitors", true},
		{"/monitors*", "/monitors/1/run", true},
		{"/monitors*", "/monitorsX", true},
		{"/monitors*", "/mocks", false},
		{"/monitors/*", "/monitors", false},
		{"/monitors/*", "/monitors/1/run", true},
		{"/collections/{id}*", "/collections/1", true},
		{"/collections/{id}*", "/collections/1/forks", true},
		{"/collections/{id}*", "/collections", false},
	}
	for _, tt := range tests {
		pp, err := compilePattern(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := pp.match(tt.path); got != tt.want {
			t.Errorf("%s matches %s = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
	if _, err := compilePattern("collections"); err == nil {
		t.Error("pattern without leading slash accepted")
	}
}

func TestInvalidation(t *testing.T) {
	tests := []struct {
		write, cached string
		want          bool
	}{
		{"/x/1", "/x/1", true},
		{"/x/1", "/x/1/sub", true},
		{"/x/1", "/x", true},
		{"/x/1", "/x/2", false},
		{"/x/1/sub", "/x/1", true},
		{"/x/1/sub", "/x", true},
		{"/x/1/sub", "/x/10", false},
		{"/x", "/x/9", true},
		{"/x/1", "/y/1", false},
	}
	for _, tt := range tests {
		if got := invalidationFor(tt.write).matches(tt.cached); got != tt.want {
			t.Errorf("write %s invalidates %s = %v, want %v", tt.write, tt.cached, got, tt.want)
		}
	}
}
