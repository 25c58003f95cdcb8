package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// observed collects what one request's wait observer was told, and when.
type observed struct {
	mu    sync.Mutex
	infos []WaitInfo
	at    []time.Time
}

func (o *observed) fn(info WaitInfo) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.infos = append(o.infos, info)
	o.at = append(o.at, time.Now())
}

func (o *observed) list() ([]WaitInfo, []time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]WaitInfo(nil), o.infos...), append([]time.Time(nil), o.at...)
}

// queueOf100 starts n interactive GETs, one a millisecond, each with its own observer, on a 10-per-10 s key.
func queueOf100(t *testing.T, ctx context.Context, g *Gate, n int) ([]*observed, *sync.WaitGroup) {
	obs := make([]*observed, n)
	var wg sync.WaitGroup
	for i := range n {
		obs[i] = &observed{}
		wg.Go(func() {
			time.Sleep(time.Duration(i) * time.Millisecond)
			if _, err := get(t, WithWaitObserver(ctx, obs[i].fn), g, "/me", "X-Tag", fmt.Sprint(i)); err != nil && ctx.Err() == nil {
				t.Error(err)
			}
		})
	}
	return obs, &wg
}

func TestWaitEstimateCountsTheQueueAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 10, Window: 10 * time.Second, Latency: 50 * time.Millisecond})
		log := &sendLog{next: srv}
		g := quietGate(log, Options{DefaultLimit: 10, DefaultWindow: 10 * time.Second})
		defer g.Close()
		obs, wg := queueOf100(t, t.Context(), g, 100)
		wg.Wait()

		last, at := obs[99].list()
		if len(last) == 0 {
			t.Fatal("the 100th request waited about 90 s and its observer was never called")
		}
		first := last[0]
		if first.Ahead != 98 || first.Estimate < 80*time.Second || first.Estimate > 110*time.Second {
			t.Fatalf("100th request's first estimate: %d ahead, %v; want 98 ahead (the probe is in flight) and about 90–100 s", first.Ahead, first.Estimate)
		}
		var sentAt time.Time
		for _, s := range log.sends() {
			if s.tag == "99" {
				sentAt = s.at
			}
		}
		if d := sentAt.Sub(first.Until); d < -10*time.Second || d > 10*time.Second {
			t.Fatalf("the 100th was sent at %v, its first estimate said %v", sentAt, first.Until)
		}
		for i := 1; i < len(last); i++ {
			if last[i].Estimate > last[i-1].Estimate+time.Second || last[i].Ahead > last[i-1].Ahead {
				t.Fatalf("observer %d: %+v after %+v; want a shrinking estimate and queue", i, last[i], last[i-1])
			}
			if at[i].After(sentAt) {
				t.Fatalf("observer called at %v, after the request was sent at %v", at[i], sentAt)
			}
		}
		if end := last[len(last)-1]; end.Estimate > 10*time.Second || end.Ahead > 9 {
			t.Fatalf("last estimate %+v; want the last window, under 10 s", end)
		}
		if len(last) < 5 {
			t.Fatalf("observer called %d times over a 90 s wait in a moving queue; want one per position change", len(last))
		}
		// The probe (the first request) went at once: its observer was never called.
		if infos, _ := obs[0].list(); len(infos) != 0 {
			t.Fatalf("the probe's observer was called: %+v", infos)
		}
	})
}

func TestWaitObserverSilentWhenSentAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 10, Window: 10 * time.Second, Latency: 50 * time.Millisecond})
		g := quietGate(srv, Options{DefaultLimit: 10, DefaultWindow: 10 * time.Second})
		defer g.Close()
		if e := g.Estimate(Ticket{Class: Interactive}); e.Estimate != 0 || e.Ahead != 0 {
			t.Fatalf("idle gate estimate %+v; want nothing ahead and no wait", e)
		}
		o := &observed{}
		ctx := WithMaxWait(WithWaitObserver(t.Context(), o.fn), time.Second)
		for range 8 {
			if _, err := get(t, ctx, g, "/me"); err != nil {
				t.Fatal(err)
			}
		}
		if infos, _ := o.list(); len(infos) != 0 {
			t.Fatalf("observer called for requests that went at once: %+v", infos)
		}
	})
}

func TestMaxWaitFailsFastWithTheEstimate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 10, Window: 10 * time.Second, Latency: 50 * time.Millisecond})
		log := &sendLog{next: srv}
		g := quietGate(log, Options{DefaultLimit: 10, DefaultWindow: 10 * time.Second})
		defer g.Close()
		ctx, cancel := context.WithCancel(t.Context())
		_, wg := queueOf100(t, ctx, g, 100)
		time.Sleep(time.Second)

		est := g.Estimate(Ticket{Class: Interactive})
		if est.Ahead < 85 || est.Estimate < 80*time.Second {
			t.Fatalf("estimate behind a queue of about 90: %+v", est)
		}
		before := time.Now()
		sends := len(log.sends())
		_, err := get(t, WithMaxWait(t.Context(), 45*time.Second), g, "/me")
		var rl *RateLimitedError
		if !errors.As(err, &rl) {
			t.Fatalf("err %v; want *RateLimitedError", err)
		}
		if !time.Now().Equal(before) || len(log.sends()) != sends {
			t.Fatal("MaxWait waited or sent instead of failing at once")
		}
		if d := rl.RetryAt.Sub(est.Until); d < -2*time.Second || d > 2*time.Second || rl.Reason == "" {
			t.Fatalf("RetryAt %v reason %q; want near the estimate %v", rl.RetryAt, rl.Reason, est.Until)
		}
		if s := g.Snapshot(); s.QueuedInteractive+s.InFlight != est.Ahead {
			t.Fatalf("the refused request stayed queued: %+v", s)
		}
		cancel()
		wg.Wait()
	})
}

func TestMaxWaitFailsWhenTheEstimateGrowsLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 10, Window: 10 * time.Second, Latency: 50 * time.Millisecond})
		g := quietGate(srv, Options{DefaultLimit: 10, DefaultWindow: 10 * time.Second})
		defer g.Close()
		// Spend the window, then queue one background request that fits its bound.
		for range 10 {
			if _, err := get(t, t.Context(), g, "/me"); err != nil {
				t.Fatal(err)
			}
		}
		bg := WithTicket(t.Context(), Ticket{Class: Background, User: "poller"})
		errc := make(chan error, 1)
		go func() {
			_, err := get(t, WithMaxWait(bg, 15*time.Second), g, "/me")
			errc <- err
		}()
		synctest.Wait()
		if s := g.Snapshot(); s.QueuedBackground != 1 {
			t.Fatalf("background request not queued: %+v", s)
		}
		// 30 people arrive: they go first, so the background request would now wait three windows.
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		for range 30 {
			wg.Go(func() { _, _ = get(t, ctx, g, "/me") })
		}
		synctest.Wait()
		var rl *RateLimitedError
		select {
		case err := <-errc:
			if !errors.As(err, &rl) || rl.RetryAt.Sub(time.Now()) <= 15*time.Second {
				t.Fatalf("err %v; want *RateLimitedError with a retry beyond the 15 s bound", err)
			}
		default:
			t.Fatal("the background request kept waiting past its MaxWait")
		}
		cancel()
		wg.Wait()
	})
}

func TestEstimateBackgroundFollowsThePaceLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 60, Window: time.Minute, Latency: 50 * time.Millisecond})
		g := quietGate(srv, Options{})
		defer g.Close()
		if _, err := get(t, t.Context(), g, "/me"); err != nil {
			t.Fatal(err)
		}
		in := g.Estimate(Ticket{Class: Interactive})
		bg := g.Estimate(Ticket{Class: Background})
		if in.Estimate != 0 {
			t.Fatalf("interactive estimate with 59 left: %+v", in)
		}
		// One token used at the window's start: background is ahead of the line and may go at once or
		// within a second or two; it must never be told a whole window.
		if bg.Estimate > 5*time.Second {
			t.Fatalf("background estimate %+v", bg)
		}
	})
}

// The MCP case: 60 parallel calls on a 10-per-10 s key, each bounded at 45 s. Those whose turn would come later
// fail at once with the time to retry; the rest are sent within their bound, and none waits past it.
func TestMaxWaitSixtyParallelCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 10, Window: 10 * time.Second, Latency: 50 * time.Millisecond})
		g := quietGate(srv, Options{DefaultLimit: 10, DefaultWindow: 10 * time.Second})
		defer g.Close()
		// Learn the key first, as a running server has.
		if _, err := get(t, t.Context(), g, "/me"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10*time.Second - time.Since(epochPlus(0)))
		start := time.Now()
		var mu sync.Mutex
		var sent, refused int
		var longest time.Duration
		var wg sync.WaitGroup
		for i := range 60 {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Millisecond)
				began := time.Now()
				o := &observed{}
				_, err := get(t, WithMaxWait(WithWaitObserver(t.Context(), o.fn), 45*time.Second), g, "/me")
				took := time.Since(began)
				mu.Lock()
				defer mu.Unlock()
				var rl *RateLimitedError
				switch {
				case err == nil:
					sent++
					longest = max(longest, took)
					if infos, _ := o.list(); took > 5*time.Second && len(infos) == 0 {
						t.Errorf("call %d waited %v without a progress report", i, took)
					}
				case errors.As(err, &rl):
					refused++
					if took != 0 || rl.RetryAt.Sub(began) <= 45*time.Second || rl.RetryAt.Sub(began) > 70*time.Second {
						t.Errorf("call %d refused after %v with retry at +%v; want at once, retry just beyond 45 s", i, took, rl.RetryAt.Sub(began))
					}
				default:
					t.Errorf("call %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if sent < 40 || refused < 5 || sent+refused != 60 || longest > 45*time.Second {
			t.Fatalf("sent %d, refused %d, longest wait %v (since %v)", sent, refused, longest, start)
		}
		if c := srv.counts(); c.n429 != 0 {
			t.Fatalf("%d × 429", c.n429)
		}
	})
}
