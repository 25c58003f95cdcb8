package ratelimit

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestEstimateSends: several planned requests are estimated together: the main window counts them all, each
// route bucket counts those in it, and one request alone is what EstimateRoute says.
func TestEstimateSends(t *testing.T) {
	bucketed := Route{Method: "GET", Pattern: "/r*", Limit: 10, Window: 10 * time.Second, Bucket: "r"}
	cases := []struct {
		name  string
		spent int // bucket sends made just before
		sends []Send
		wait  bool
	}{
		{"fits in the bucket", 8, []Send{{Method: "GET", Path: "/r", N: 2}}, false},
		{"a later call meets the spent bucket", 8, []Send{{Method: "GET", Path: "/r"}, {Method: "GET", Path: "/r/{id}", N: 2}}, true},
		{"outside the bucket", 10, []Send{{Method: "GET", Path: "/other", N: 5}}, false},
		{"nothing planned", 10, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := newFakeServer(fakeConfig{Limit: 100, Window: time.Minute, Latency: 50 * time.Millisecond})
				g := quietGate(srv, Options{Routes: []Route{bucketed}})
				defer g.Close()
				ctx := WithTicket(t.Context(), Ticket{Class: Interactive, User: "a"})
				if _, err := get(t, ctx, g, "/warm"); err != nil { // learn the window
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				for range tc.spent {
					wg.Go(func() {
						if _, err := get(t, ctx, g, "/r"); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				tk := Ticket{Class: Interactive, User: "b"}
				got := g.EstimateSends(tk, tc.sends)
				if (got.Estimate > 0) != tc.wait {
					t.Fatalf("EstimateSends(%+v) = %+v, want a wait: %v", tc.sends, got, tc.wait)
				}
				if tc.wait && got.Reason != "route bucket" {
					t.Errorf("reason %q, want route bucket", got.Reason)
				}
				if len(tc.sends) == 1 && tc.sends[0].N <= 1 {
					if one := g.EstimateRoute(tc.sends[0].Method, tc.sends[0].Path, tk); one.Estimate != got.Estimate {
						t.Errorf("one request: EstimateSends %v, EstimateRoute %v", got.Estimate, one.Estimate)
					}
				}
			})
		})
	}
}

// TestCachedAndSendObserver: Cached says whether the cache would answer a path (until its TTL ends), and the send
// observer hears each request that goes out, not the ones the cache answers.
func TestCachedAndSendObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 100, Window: time.Minute, Latency: 50 * time.Millisecond})
		g := quietGate(srv, Options{Cache: []CacheRule{{Pattern: "/c/{id}", TTL: 10 * time.Second}}})
		defer g.Close()
		var mu sync.Mutex
		var sent []string
		ctx := WithSendObserver(context.Background(), func(method, path string) {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, method+" "+path)
		})
		if g.Cached("/c/{id}", time.Now()) {
			t.Fatal("Cached before any request")
		}
		for range 2 {
			if _, err := get(t, ctx, g, "/c/1"); err != nil {
				t.Fatal(err)
			}
		}
		if !g.Cached("/c/{id}", time.Now()) || g.Cached("/d", time.Now()) {
			t.Error("Cached should answer for /c/{id} only")
		}
		if g.Cached("/c/{id}", time.Now().Add(11*time.Second)) {
			t.Error("Cached past the TTL")
		}
		mu.Lock()
		defer mu.Unlock()
		if len(sent) != 1 || sent[0] != "GET /c/1" {
			t.Errorf("sends observed %q, want one GET /c/1 (the second came from the cache)", sent)
		}
	})
}
