package api_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
)

// TestGateWiringOnLoopback proves the default client's gate end to end in real time: an emulator with a short
// window (20 requests per 2 s), ten callers wanting 60 requests between them. Every request must succeed and
// the server must never have to answer 429. It takes about three windows (~6 s) of wall time by design.
func TestGateWiringOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time wiring test")
	}
	emu := emulator.New(emulator.Options{Window: 2 * time.Second, PerWindow: 20})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	defer emu.Close()
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	const callers, each = 10, 6
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := ratelimit.WithTicket(context.Background(), ratelimit.Ticket{Class: ratelimit.Interactive, User: string(rune('a' + i))})
			for range each {
				if _, err := c.ListEnvironments(ctx, ""); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("request failed: %v", err)
	}
	stats := emu.Stats(emulator.DemoKey)
	if stats.RateLimited != 0 {
		t.Errorf("the emulator answered %d × 429; the gate should have queued instead", stats.RateLimited)
	}
	if got := emu.Requests(emulator.DemoKey); got < callers*each {
		t.Errorf("emulator saw %d requests, want all %d", got, callers*each)
	}
	snap := c.RateBudget()
	if snap.Limit != 20 || snap.Count429 != 0 {
		t.Errorf("gate learned limit %d with %d × 429; want 20 and 0", snap.Limit, snap.Count429)
	}
}
