package emulator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestFaultKinds(t *testing.T) {
	cases := []struct {
		kind  FaultKind
		code  int
		check func(t *testing.T, r *resp)
	}{
		{FaultServerError, 500, func(t *testing.T, r *resp) { wantError(t, r, 500, "serverError") }},
		{FaultUnavailable, 503, func(t *testing.T, r *resp) { wantError(t, r, 503, "503 service unavailable") }},
		{FaultConflict, 409, func(t *testing.T, r *resp) {
			wantProblem(t, r, 409, "Deep update operation is already in progress for this collection.")
		}},
	}
	for _, c := range cases {
		t.Run(http.StatusText(c.code), func(t *testing.T) {
			f := demo(t)
			f.e.SetFault(Fault{Kind: c.kind, Route: "GET /me", Times: 2})
			for range 2 {
				r := f.do("GET", "/me", DemoKey, nil)
				c.check(t, r)
				header(t, r, "X-RateLimit-Remaining")
			}
			wantStatus(t, f.do("GET", "/me", DemoKey, nil), 200)
			if st := f.e.Stats(DemoKey); st.Admitted != 3 {
				t.Fatalf("faulted requests must still count: %+v", st)
			}
		})
	}
}

func TestFaultMatching(t *testing.T) {
	f := demo(t)
	run := "/monitors/" + f.uid("monitor", DemoMonitorPassing) + "/run"
	id := f.e.SetFault(Fault{Kind: FaultServerError, Route: "POST /monitors/{monitorId}/run"})
	wantStatus(t, f.do("GET", "/monitors/"+f.uid("monitor", DemoMonitorPassing), DemoKey, nil), 200)
	for range 3 {
		wantStatus(t, f.do("POST", run, DemoKey, nil), 500) // until cleared
	}
	f.e.ClearFault(id)
	f.clk.Advance(10 * time.Second)
	wantStatus(t, f.do("POST", run, DemoKey, nil), 200)

	f.e.SetFault(Fault{Kind: FaultUnavailable, Route: "/monitors*", Key: DemoTeammateKey})
	wantStatus(t, f.do("GET", "/monitors", DemoKey, nil), 200)
	wantStatus(t, f.do("GET", "/monitors", DemoTeammateKey, nil), 503)
	wantStatus(t, f.do("GET", "/collections", DemoTeammateKey, nil), 200)
	f.e.ClearFaults()
	wantStatus(t, f.do("GET", "/monitors", DemoTeammateKey, nil), 200)

	f.e.SetFault(Fault{Kind: FaultServerError, Route: "/environments/{environmentId}", Times: 1})
	wantStatus(t, f.do("DELETE", "/environments/"+f.uid("environment", "local"), DemoKey, nil), 500)
	wantStatus(t, f.do("GET", "/environments/"+f.uid("environment", "local"), DemoKey, nil), 200) // the DELETE never happened

	f.e.SetFault(Fault{Kind: FaultServerError, Times: 1}) // global
	wantStatus(t, f.do("GET", "/nowhere", DemoKey, nil), 500)
	wantStatus(t, f.do("GET", "/nowhere", DemoKey, nil), 404)
}

func TestFaultDropConnection(t *testing.T) {
	f := demo(t)
	srv := httptest.NewServer(f.e)
	defer srv.Close()
	f.e.SetFault(Fault{Kind: FaultDropConnection, Route: "GET /workspaces", Times: 1})
	req, _ := http.NewRequest("GET", srv.URL+"/workspaces", nil)
	req.Header.Set("X-Api-Key", DemoKey)
	if res, err := srv.Client().Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("got a response (%d) from a dropped connection", res.StatusCode)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/workspaces", nil)
	req.Header.Set("X-Api-Key", DemoKey)
	res, err := srv.Client().Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("after the drop: %v %v", res, err)
	}
	res.Body.Close()

	// In-process (no real connection) the handler aborts the way net/http does.
	f.e.SetFault(Fault{Kind: FaultDropConnection, Times: 1})
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
		}
	}()
	f.do("GET", "/me", DemoKey, nil)
}

// TestLatency runs in a synctest bubble, where the real clock is virtual: the added delay is exact.
func TestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(Options{Latency: 120 * time.Millisecond})
		e.SetFault(Fault{Kind: FaultLatency, Route: "GET /me", Latency: 2 * time.Second, Times: 1})
		call := func() (int, time.Duration) {
			start := time.Now()
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/me", nil)
			req.Header.Set("X-Api-Key", DemoKey)
			e.ServeHTTP(rec, req)
			return rec.Code, time.Since(start)
		}
		if code, took := call(); code != 200 || took != 2120*time.Millisecond {
			t.Fatalf("faulted call: %d after %v", code, took)
		}
		if code, took := call(); code != 200 || took != 120*time.Millisecond {
			t.Fatalf("plain call: %d after %v", code, took)
		}
	})
}

func TestGatewayFaults(t *testing.T) {
	for _, c := range []struct {
		kind FaultKind
		code int
	}{{FaultBadGateway, 502}, {FaultGatewayTimeout, 504}, {FaultUnavailable, 503}} {
		f := demo(t)
		f.e.SetFault(Fault{Kind: c.kind, Route: "GET /me", Times: 1, RetryAfter: 1500 * time.Millisecond})
		r := f.do("GET", "/me", DemoKey, nil)
		wantStatus(t, r, c.code)
		if got := r.Header.Get("Retry-After"); got != "2" {
			t.Errorf("%d: Retry-After %q, want 2 (whole seconds, rounded up)", c.code, got)
		}
		if c.code != 503 && (!strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.Raw), "<title>"+strconv.Itoa(c.code))) {
			t.Errorf("%d: want a load balancer's HTML page, got %s %s", c.code, r.Header.Get("Content-Type"), r.Raw)
		}
		wantStatus(t, f.do("GET", "/me", DemoKey, nil), 200)
	}
}

func TestFaultHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := New(Options{})
		e.SetFault(Fault{Kind: FaultHang, Route: "GET /me", Times: 1})
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, "GET", "/me", nil)
		req.Header.Set("X-Api-Key", DemoKey)
		rec := httptest.NewRecorder()
		start := time.Now()
		e.ServeHTTP(rec, req)
		if took := time.Since(start); took != 30*time.Second || rec.Body.Len() != 0 {
			t.Fatalf("a hung request ended after %v with %q; want silence until the client gave up", took, rec.Body.String())
		}
	})
}

func TestFaultDropAfterServe(t *testing.T) {
	f := demo(t)
	env := f.uid("environment", "local")
	f.e.SetFault(Fault{Kind: FaultDropAfterServe, Route: "DELETE /environments/{environmentId}", Times: 1})
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
			}
		}()
		f.do("DELETE", "/environments/"+env, DemoKey, nil)
	}()
	wantStatus(t, f.do("GET", "/environments/"+env, DemoKey, nil), 404) // it happened
}
