package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// People only (interactive traffic, no pacing) against servers whose windows do not start on whole seconds or
// whose epoch reset is rounded: the probe after each reset must never land before the server's roll. Reading a
// floored reset as exact drew 9 × 429 per 10 windows at L=60 (issue 8 item 5).
func TestInteractiveOnEveryServerClock(t *testing.T) {
	for _, d := range serverDialects {
		for _, L := range []int{60, 300} {
			t.Run(fmt.Sprintf("L=%d %s", L, d.name), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					time.Sleep(benchStartOffset)
					cfg := fakeConfig{Limit: L, Latency: 100 * time.Millisecond, Jitter: 20 * time.Millisecond}
					d.set(&cfg)
					srv := newFakeServer(cfg)
					g := quietGate(srv, Options{})
					defer g.Close()
					ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
					defer cancel()
					var wg sync.WaitGroup
					for u := range 8 {
						wg.Go(func() {
							time.Sleep(time.Duration(u) * time.Millisecond)
							loop(t, WithTicket(ctx, Ticket{Class: Interactive, User: fmt.Sprint("u", u)}), g, "/me")
						})
					}
					wg.Wait()
					c := srv.counts()
					if c.n429 != 0 {
						t.Fatalf("%d × 429 in 10 windows", c.n429)
					}
					if want := 9 * L; c.oks < want {
						t.Fatalf("%d requests served in 10 minutes; want at least %d (9 full windows)", c.oks, want)
					}
				})
			})
		}
	}
}

// With windows that start at the key's first call, the probe that opens a window also starts it: its round trip
// bounds the window's end far tighter than a rounded reset, and the gate learns that bound.
func TestRollTeachesTheWindowEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(benchStartOffset)
		srv := newFakeServer(fakeConfig{Limit: 60, Latency: 50 * time.Millisecond, FirstCall: true, ResetRounding: "down"})
		g := quietGate(srv, Options{})
		defer g.Close()
		for range 3 * 60 {
			if _, err := get(t, t.Context(), g, "/me"); err != nil {
				t.Fatal(err)
			}
		}
		// Every window here starts with the gate's probe; the reset is floored, so it reads up to a second early.
		srv.mu.Lock()
		last := srv.windows[len(srv.windows)-1]
		srv.mu.Unlock()
		s := g.Snapshot()
		late := s.ResetAt.Sub(last.end)
		if late < 0 || late > 500*time.Millisecond {
			t.Fatalf("gate ends the window %v after the server (%v vs %v); want later, by at most a round trip and the guard",
				late, s.ResetAt, last.end)
		}
		if c := srv.counts(); c.n429 != 0 {
			t.Fatalf("%d × 429", c.n429)
		}
	})
}

// A route with its own bucket may answer 2xx with that bucket's headers (10 per 10 s): the key's limit is never
// learnt from them, and their small Remaining and near Reset do not shrink or roll the key's window.
func TestBucketHeadersNeverSetTheKeysLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 300, Latency: 30 * time.Millisecond,
			RoutePrefix: "/monitors", RouteLimit: 10, RouteWindow: 10 * time.Second, RouteHeaders: true})
		g := quietGate(srv, Options{Routes: []Route{{Pattern: "/monitors*", Limit: 10, Window: 10 * time.Second}}})
		defer g.Close()
		if _, err := get(t, t.Context(), g, "/me"); err != nil {
			t.Fatal(err)
		}
		for i := range 25 {
			path := "/me"
			if i%2 == 0 {
				path = "/monitors"
			}
			resp, err := get(t, t.Context(), g, path)
			if err != nil {
				t.Fatal(err)
			}
			if path == "/monitors" && resp.Header.Get("X-RateLimit-Limit") != "10" {
				t.Fatal("the fake did not send the bucket's headers")
			}
			if s := g.Snapshot(); s.Limit != 300 || s.Window != time.Minute {
				t.Fatalf("after %s: key limit %d per %v; want 300 per 1m0s", path, s.Limit, s.Window)
			}
		}
		s := g.Snapshot()
		if s.Remaining < 300-30 || s.ResetAt.Before(epochPlus(59*time.Second)) {
			t.Fatalf("key window: %d remaining until %v; want about 274 until the minute", s.Remaining, s.ResetAt)
		}
		if c := srv.counts(); c.n429 != 0 {
			t.Fatalf("%d × 429", c.n429)
		}
	})
}

// Cold start on a bucketed route whose answer carries the bucket's headers: the gate keeps its cold-start
// guess rather than adopting the bucket's 10.
func TestColdStartOnBucketedRouteKeepsTheGuess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 300, Latency: 30 * time.Millisecond,
			RoutePrefix: "/collections", RouteLimit: 10, RouteWindow: 10 * time.Second, RouteHeaders: true})
		g := quietGate(srv, Options{Routes: []Route{{Pattern: "/collections", Limit: 10, Window: 10 * time.Second}}})
		defer g.Close()
		if _, err := get(t, t.Context(), g, "/collections"); err != nil {
			t.Fatal(err)
		}
		if s := g.Snapshot(); s.Limit != 60 || s.LimitLearned {
			t.Fatalf("limit %d learned %v after a bucketed answer; want the 60 guess, not learnt", s.Limit, s.LimitLearned)
		}
		if _, err := get(t, t.Context(), g, "/me"); err != nil {
			t.Fatal(err)
		}
		if s := g.Snapshot(); s.Limit != 300 || !s.LimitLearned {
			t.Fatalf("limit %d learned %v after an unbucketed answer; want 300", s.Limit, s.LimitLearned)
		}
	})
}
