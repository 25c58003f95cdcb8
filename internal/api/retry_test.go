package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
)

// sleeps records the waits the client asked for instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

type retryRig struct {
	emu    *emulator.Emulator
	c      *api.Client
	sleeps *sleeps
}

// newRetryRig serves the demo emulator on loopback; the client's retry waits are recorded, not slept.
func newRetryRig(t *testing.T) *retryRig {
	t.Helper()
	emu := emulator.New(emulator.Options{})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	s := &sleeps{}
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: srv.URL,
		Retry: api.RetryPolicy{Sleep: s.sleep, Rand: func() float64 { return 0.5 }}})
	if err != nil {
		t.Fatal(err)
	}
	return &retryRig{emu: emu, c: c, sleeps: s}
}

func (r *retryRig) uid(t *testing.T, kind, name string) string {
	t.Helper()
	id, ok := r.emu.UIDByName(kind, name)
	if !ok {
		t.Fatalf("no %s %q in the demo seed", kind, name)
	}
	return id
}

func TestRetryIdempotent(t *testing.T) {
	cases := []struct {
		name      string
		fault     emulator.Fault
		wantTries int
		wantErr   int // 0: success
	}{
		{"503 twice then success", emulator.Fault{Kind: emulator.FaultUnavailable, Route: "GET /me", Times: 2}, 3, 0},
		{"502 once", emulator.Fault{Kind: emulator.FaultBadGateway, Route: "GET /me", Times: 1}, 2, 0},
		{"504 once", emulator.Fault{Kind: emulator.FaultGatewayTimeout, Route: "GET /me", Times: 1}, 2, 0},
		{"connection reset twice", emulator.Fault{Kind: emulator.FaultDropConnection, Route: "GET /me", Times: 2}, 3, 0},
		{"502 until cleared: three tries, then the error", emulator.Fault{Kind: emulator.FaultBadGateway, Route: "GET /me"}, 3, 502},
		{"500 is not transient", emulator.Fault{Kind: emulator.FaultServerError, Route: "GET /me"}, 1, 500},
		{"409 is not transient", emulator.Fault{Kind: emulator.FaultConflict, Route: "GET /me"}, 1, 409},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRetryRig(t)
			r.emu.SetFault(tc.fault)
			_, err := r.c.GetMe(t.Context())
			if got := r.emu.Requests(emulator.DemoKey); got != tc.wantTries {
				t.Errorf("the server saw %d tries, want %d", got, tc.wantTries)
			}
			if got := r.c.RateBudget().Sent; got != int64(tc.wantTries) {
				t.Errorf("the gate sent %d requests, want %d: every try must go through the gate", got, tc.wantTries)
			}
			if n := len(r.sleeps.all()); n != tc.wantTries-1 {
				t.Errorf("%d waits between %d tries", n, tc.wantTries)
			}
			if tc.wantErr == 0 {
				if err != nil {
					t.Fatalf("want success after retries, got %v", err)
				}
				return
			}
			var e *api.Error
			if !errors.As(err, &e) || e.Status != tc.wantErr {
				t.Fatalf("want a %d *api.Error, got %T %v", tc.wantErr, err, err)
			}
			if tc.wantTries > 1 && !strings.Contains(err.Error(), "gave up after 3 tries") {
				t.Errorf("the error does not say it was retried: %v", err)
			}
			if api.IsAmbiguous(err) {
				t.Errorf("a GET is never ambiguous: %v", err)
			}
		})
	}
}

func TestRetryBackoffIsCappedExponentialWithJitter(t *testing.T) {
	r := newRetryRig(t)
	s := &sleeps{}
	rnd := []float64{0, 0.999}
	var mu sync.Mutex
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: r.c.BaseURL(), Retry: api.RetryPolicy{MaxTries: 3,
		Base: time.Second, MaxDelay: 1500 * time.Millisecond, Sleep: s.sleep,
		Rand: func() float64 { mu.Lock(); defer mu.Unlock(); v := rnd[0]; rnd = rnd[1:]; return v }}})
	if err != nil {
		t.Fatal(err)
	}
	r.emu.SetFault(emulator.Fault{Kind: emulator.FaultUnavailable, Route: "GET /me"})
	if _, err := c.GetMe(t.Context()); err == nil {
		t.Fatal("want an error")
	}
	got := s.all()
	// Try 1 → 2: base 1 s, jitter 0 → half of it. Try 2 → 3: 2 s capped at 1.5 s, jitter ~1 → ~1.5 s.
	if len(got) != 2 || got[0] != 500*time.Millisecond || got[1] <= 1400*time.Millisecond || got[1] > 1500*time.Millisecond {
		t.Fatalf("waits %v, want [500ms ~1.5s]", got)
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	r := newRetryRig(t)
	r.emu.SetFault(emulator.Fault{Kind: emulator.FaultUnavailable, Route: "GET /me", Times: 1, RetryAfter: 7 * time.Second})
	if _, err := r.c.GetMe(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := r.sleeps.all(); len(got) != 1 || got[0] != 7*time.Second {
		t.Fatalf("waits %v, want exactly the 7 s Retry-After", got)
	}

	// A Retry-After beyond MaxRetryAfter ends the retries at once; the error still says how long to wait.
	r = newRetryRig(t)
	r.emu.SetFault(emulator.Fault{Kind: emulator.FaultUnavailable, Route: "GET /me", RetryAfter: 5 * time.Minute})
	_, err := r.c.GetMe(t.Context())
	var e *api.Error
	if !errors.As(err, &e) || e.RetryAfter != 5*time.Minute || r.emu.Requests(emulator.DemoKey) != 1 {
		t.Fatalf("want one try and RetryAfter 5m, got %d tries, %v", r.emu.Requests(emulator.DemoKey), err)
	}
}

func TestRetryNeverPastTheDeadline(t *testing.T) {
	r := newRetryRig(t)
	r.emu.SetFault(emulator.Fault{Kind: emulator.FaultUnavailable, Route: "GET /me", RetryAfter: 20 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := r.c.GetMe(ctx)
	var e *api.Error
	if !errors.As(err, &e) || e.Status != 503 {
		t.Fatalf("want the 503, got %v", err)
	}
	if n := r.emu.Requests(emulator.DemoKey); n != 1 || len(r.sleeps.all()) != 0 {
		t.Fatalf("%d tries and waits %v: a wait of 20 s cannot end before a 10 s deadline", n, r.sleeps.all())
	}

	// The backoff (250 ms) fits a 10 s deadline, so the same failure without Retry-After is retried.
	r = newRetryRig(t)
	r.emu.SetFault(emulator.Fault{Kind: emulator.FaultUnavailable, Route: "GET /me", Times: 1})
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := r.c.GetMe(ctx); err != nil || r.emu.Requests(emulator.DemoKey) != 2 {
		t.Fatalf("want success on the second try, got %d tries, %v", r.emu.Requests(emulator.DemoKey), err)
	}
}

func TestRetryIdempotentWrites(t *testing.T) {
	r := newRetryRig(t)
	env := r.uid(t, "environment", "local")
	r.emu.SetFault(emulator.Fault{Kind: emulator.FaultBadGateway, Route: "PUT /environments/{environmentId}", Times: 1})
	if _, err := r.c.ReplaceEnvironment(t.Context(), env, api.EnvironmentInput{Name: "local"}); err != nil {
		t.Fatalf("a PUT is idempotent and must be retried: %v", err)
	}
	r.emu.SetFault(emulator.Fault{Kind: emulator.FaultGatewayTimeout, Route: "DELETE /environments/{environmentId}", Times: 1})
	if _, err := r.c.DeleteEnvironment(t.Context(), env); err != nil {
		t.Fatalf("a DELETE is idempotent and must be retried: %v", err)
	}
	if n := r.emu.Requests(emulator.DemoKey); n != 4 {
		t.Fatalf("%d requests, want 4 (two tries each)", n)
	}
}

func TestPostIsNeverRetried(t *testing.T) {
	cases := []struct {
		name  string
		fault emulator.Fault
	}{
		{"503", emulator.Fault{Kind: emulator.FaultUnavailable, Route: "POST /monitors/{monitorId}/run"}},
		{"502", emulator.Fault{Kind: emulator.FaultBadGateway, Route: "POST /monitors/{monitorId}/run"}},
		{"500", emulator.Fault{Kind: emulator.FaultServerError, Route: "POST /monitors/{monitorId}/run"}},
		{"connection reset after the request was sent", emulator.Fault{Kind: emulator.FaultDropConnection, Route: "POST /monitors/{monitorId}/run"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRetryRig(t)
			mon := r.uid(t, "monitor", emulator.DemoMonitorPassing)
			r.emu.SetFault(tc.fault)
			_, err := r.c.RunMonitor(t.Context(), mon, api.RunOptions{})
			if n := r.emu.Requests(emulator.DemoKey); n != 1 || len(r.sleeps.all()) != 0 {
				t.Fatalf("a POST was sent %d times", n)
			}
			if !api.IsAmbiguous(err) {
				t.Fatalf("want an ambiguous error, got %T %v", err, err)
			}
			if !strings.Contains(err.Error(), "may have happened; check before retrying") || !strings.Contains(err.Error(), "POST /monitors/") {
				t.Errorf("the error does not say what to do: %v", err)
			}
			var a *api.AmbiguousError
			if errors.As(err, &a); a.Method != "POST" {
				t.Errorf("AmbiguousError = %+v", a)
			}
		})
	}

	// A 4xx answer is not ambiguous: the server said it did nothing.
	r := newRetryRig(t)
	_, err := r.c.RunMonitor(t.Context(), "12345678-00000000-0000-4000-8000-000000000000", api.RunOptions{})
	if err == nil || api.IsAmbiguous(err) {
		t.Fatalf("a 404 must not be ambiguous: %v", err)
	}
}

// inProc serves requests by calling the handler directly, so a synctest bubble can run the whole exchange in
// virtual time. A handler that aborts (http.ErrAbortHandler) looks like a reset connection.
type inProc struct{ h http.Handler }

func (t inProc) RoundTrip(req *http.Request) (*http.Response, error) {
	if tr := httptrace.ContextClientTrace(req.Context()); tr != nil && tr.WroteRequest != nil {
		tr.WroteRequest(httptrace.WroteRequestInfo{})
	}
	if req.Body == nil {
		req = req.Clone(req.Context())
		req.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		t.h.ServeHTTP(rec, req)
	}()
	select {
	case p := <-done:
		if p != nil {
			return nil, syscall.ECONNRESET
		}
		return rec.Result(), nil
	case <-req.Context().Done():
		<-done
		return nil, req.Context().Err()
	}
}

func TestRetryOnTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := emulator.New(emulator.Options{})
		gate := ratelimit.New(inProc{emu}, ratelimit.Options{Routes: api.RateRoutes(), Cache: api.CacheRules()})
		defer gate.Close()
		c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: "http://emulator.invalid", Gate: gate, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		// A first answer teaches the gate the window, so the hung tries below are not its cold-start probe.
		if _, err := c.GetMe(t.Context()); err != nil {
			t.Fatal(err)
		}
		emu.SetFault(emulator.Fault{Kind: emulator.FaultHang, Route: "GET /me", Times: 2})
		start := time.Now()
		if _, err := c.GetMe(t.Context()); err != nil {
			t.Fatalf("two timeouts then success: %v", err)
		}
		if n := emu.Requests(emulator.DemoKey); n != 4 {
			t.Fatalf("%d tries, want 3 after the first call", n-1)
		}
		// Two 5 s timeouts and two waits of 125–250 ms and 250–500 ms, in virtual time.
		if took := time.Since(start); took < 10*time.Second || took > 11*time.Second {
			t.Fatalf("took %v", took)
		}

		// The caller's 7 s deadline leaves no room for a second 5 s try after the first timed out.
		emu.SetFault(emulator.Fault{Kind: emulator.FaultHang, Route: "GET /me", Times: 2})
		ctx, cancel := context.WithTimeout(t.Context(), 7*time.Second)
		defer cancel()
		before := emu.Requests(emulator.DemoKey)
		_, err = c.GetMe(ctx)
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 5s") {
			t.Fatalf("want the timeout, got %v", err)
		}
		if n := emu.Requests(emulator.DemoKey) - before; n != 1 {
			t.Fatalf("%d tries within a 7 s deadline, want 1", n)
		}
		emu.ClearFaults()

		// A POST that timed out after it was sent is ambiguous and not retried.
		mon, _ := emu.UIDByName("monitor", emulator.DemoMonitorPassing)
		emu.SetFault(emulator.Fault{Kind: emulator.FaultHang, Route: "POST /monitors/{monitorId}/run"})
		before = emu.Requests(emulator.DemoKey)
		_, err = c.RunMonitor(t.Context(), mon, api.RunOptions{Async: true})
		if !api.IsAmbiguous(err) || emu.Requests(emulator.DemoKey)-before != 1 {
			t.Fatalf("want one ambiguous try, got %d, %v", emu.Requests(emulator.DemoKey)-before, err)
		}
	})
}

// TestAmbiguousWriteReallyMayHaveHappened uses a fault that carries the request out and then drops the
// connection: the POST is reported ambiguous and the environment exists; a DELETE retried after the same fault
// gets 404 and says an earlier try may have deleted it.
func TestAmbiguousWriteReallyMayHaveHappened(t *testing.T) {
	r := newRetryRig(t)
	ws, _ := r.emu.UIDByName("workspace", emulator.DemoWorkspacePayments)
	r.emu.SetFault(emulator.Fault{Kind: emulator.FaultDropAfterServe, Route: "POST /environments", Times: 1})
	_, err := r.c.CreateEnvironment(t.Context(), ws, api.EnvironmentInput{Name: "ambiguous"})
	if !api.IsAmbiguous(err) {
		t.Fatalf("want an ambiguous error, got %v", err)
	}
	if _, ok := r.emu.UIDByName("environment", "ambiguous"); !ok {
		t.Fatal("the fault should have let the create happen")
	}

	env, _ := r.emu.UIDByName("environment", "local")
	r.emu.SetFault(emulator.Fault{Kind: emulator.FaultDropAfterServe, Route: "DELETE /environments/{environmentId}", Times: 1})
	_, err = r.c.DeleteEnvironment(t.Context(), env)
	if !api.IsNotFound(err) || !strings.Contains(err.Error(), "may have deleted it already") {
		t.Fatalf("want a 404 that explains the earlier try, got %v", err)
	}
	if n := r.emu.Requests(emulator.DemoKey); n != 3 {
		t.Fatalf("%d requests, want 3 (one POST, two DELETE tries)", n)
	}
}
