package ratelimit_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
)

// The Slack load benchmark in virtual time, started at every second of the minute: 200 jobs over 10 s from 50
// users for 16 workers, each job one to three calls and a 60 s deadline, against the emulator at 60 per minute on
// the minute grid with 2 s latency (counted and stamped on arrival, answered 2 s later) and its 10-per-10 s route
// bucket; once on a fresh key, once after another client spent 20 of the window. The emulator must count no 429.
//
// Two faults made this fail at most starting seconds. (1) The cold-start probe takes the first job's route, a
// bucketed one, whose answer teaches no window; the gate assumed one starting then, and when later answers showed
// the real window ending more than 2.5 s before the assumed end, it read them as an older window and took every
// request off its count. (2) The other client's share was learnt as used − ours with requests that went out after
// the answered one (so not yet in its Remaining) in ours: it fell short by as many, for the rest of the window.
func TestLoadStartedAnySecondOfTheMinute(t *testing.T) {
	for sec := 3; sec < 63; sec++ {
		for _, other := range []int{0, 20} {
			start := time.Duration(sec) * time.Second
			t.Run(fmt.Sprintf("at :%02d after %d other", sec%60, other), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { runSlackLoad(t, start, other) })
			})
		}
	}
}

// runSlackLoad starts the gate's callers start into virtual time (synctest's clock starts on a minute), after
// nOther requests of another client on the same key in the two seconds before.
func runSlackLoad(t *testing.T, start time.Duration, nOther int) {
	emu := emulator.New(emulator.Options{Seed: emulator.SeedEmpty, PerWindow: 60, Latency: 2 * time.Second})
	defer emu.Close()
	newReq := func(ctx context.Context, path string) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://emulator"+path, nil)
		req.Header.Set("X-Api-Key", emulator.DemoKey)
		return req
	}
	time.Sleep(start - 2*time.Second)
	var others sync.WaitGroup
	for range nOther {
		others.Go(func() {
			if resp, err := (handlerRT{h: emu}).RoundTrip(newReq(t.Context(), "/me")); err == nil {
				resp.Body.Close()
			}
		})
	}
	others.Wait()

	g := ratelimit.New(handlerRT{h: emu}, ratelimit.Options{Logger: slog.New(slog.DiscardHandler), Routes: []ratelimit.Route{
		{Method: http.MethodGet, Pattern: "/workspaces", Limit: 10, Window: 10 * time.Second, Bucket: "postman"},
		{Method: "*", Pattern: "/monitors*", Limit: 10, Window: 10 * time.Second, Bucket: "postman"},
	}})
	defer g.Close()
	type job struct {
		ctx    context.Context
		cancel context.CancelFunc
		user   string
		calls  []string
	}
	paths := []string{"/workspaces", "/monitors", "/environments/e1", "/collections/c1", "/me", "/monitors/m1"}
	jobs := make(chan job, 200)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(jobs)
		for i := range 200 {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			var calls []string
			for k := range 1 + i%3 {
				calls = append(calls, paths[(i+k)%len(paths)])
			}
			jobs <- job{ctx, cancel, fmt.Sprint("u", i%50), calls}
			time.Sleep(50 * time.Millisecond)
		}
	})
	for range 16 {
		wg.Go(func() {
			for j := range jobs {
				for _, p := range j.calls {
					resp, err := g.RoundTrip(newReq(ratelimit.WithTicket(j.ctx, ratelimit.Ticket{Class: ratelimit.Interactive, User: j.user}), p))
					if err != nil {
						break
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				j.cancel()
			}
		})
	}
	wg.Wait()
	if st := emu.Stats(emulator.DemoKey); st.RateLimited != 0 || st.Admitted < 60+nOther {
		t.Errorf("%d × 429 from the emulator, %d admitted (want none, and at least a window's worth)", st.RateLimited, st.Admitted)
	}
}
