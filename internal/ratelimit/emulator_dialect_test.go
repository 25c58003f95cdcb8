package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pmops/pmops/internal/clock"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
)

// handlerRT serves requests in memory through an http.Handler, after a one-way latency each way (virtual time).
type handlerRT struct {
	h       http.Handler
	latency time.Duration
}

func (rt handlerRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := clock.Sleep(req.Context(), rt.latency); err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	rt.h.ServeHTTP(rec, req)
	time.Sleep(rt.latency)
	return rec.Result(), nil
}

// The gate against the emulator (an independent stand-in) in each server clock dialect: people and a poller
// share one key at L=60 for ten virtual minutes and the emulator counts no 429.
func TestGateOnEmulatorClockDialects(t *testing.T) {
	dialects := []struct {
		name string
		opts emulator.Options
	}{
		{"offset 0.9 s, reset floored", emulator.Options{WindowOffset: 900 * time.Millisecond, ResetRounding: emulator.ResetRoundDown}},
		{"first-call windows, reset floored", emulator.Options{WindowFromFirstCall: true, ResetRounding: emulator.ResetRoundDown}},
		{"offset 0.1 s, reset rounded up", emulator.Options{WindowOffset: 100 * time.Millisecond, ResetRounding: emulator.ResetRoundUp}},
		{"offset 0.5 s, reset exact", emulator.Options{WindowOffset: 500 * time.Millisecond, ResetRounding: emulator.ResetExact}},
	}
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				time.Sleep(17300 * time.Millisecond)
				o := d.opts
				o.Seed, o.PerWindow = emulator.SeedEmpty, 60
				emu := emulator.New(o)
				defer emu.Close()
				g := ratelimit.New(handlerRT{h: emu, latency: 80 * time.Millisecond}, ratelimit.Options{Logger: slog.New(slog.DiscardHandler)})
				defer g.Close()
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
				defer cancel()
				call := func(tk ratelimit.Ticket) {
					req, _ := http.NewRequestWithContext(ratelimit.WithTicket(ctx, tk), http.MethodGet, "http://emulator/me", nil)
					req.Header.Set("X-Api-Key", emulator.DemoKey)
					resp, err := g.RoundTrip(req)
					var rl *ratelimit.RateLimitedError
					switch {
					case errors.As(err, &rl):
						_ = clock.Sleep(ctx, time.Until(rl.RetryAt))
					case err == nil:
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
				var wg sync.WaitGroup
				for i := range 3 {
					wg.Go(func() {
						time.Sleep(time.Duration(i) * time.Millisecond)
						for ctx.Err() == nil {
							call(ratelimit.Ticket{Class: ratelimit.Background, User: "poller"})
						}
					})
				}
				for u := range 4 {
					wg.Go(func() {
						for ctx.Err() == nil {
							if clock.Sleep(ctx, time.Duration(7+3*u)*time.Second) != nil {
								return
							}
							call(ratelimit.Ticket{Class: ratelimit.Interactive, User: fmt.Sprint("u", u)})
						}
					})
				}
				wg.Wait()
				st := emu.Stats(emulator.DemoKey)
				if st.RateLimited != 0 {
					t.Fatalf("%d × 429 from the emulator (%d admitted)", st.RateLimited, st.Admitted)
				}
				if st.Admitted < 9*60 {
					t.Fatalf("%d admitted in 10 minutes; want at least 9 full windows of 60", st.Admitted)
				}
			})
		})
	}
}
