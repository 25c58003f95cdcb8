package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/clock"
)

// testStart is 20 s into a 60 s window, on a Thursday, so window and schedule arithmetic is visible in tests.
var testStart = time.Date(2026, 3, 12, 9, 30, 20, 0, time.UTC)

type fixture struct {
	t   testing.TB
	e   *Emulator
	clk *clock.Fake
}

func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	clk := clock.NewFake(testStart)
	if opts.Clock == nil {
		opts.Clock = clk
	}
	e := New(opts)
	t.Cleanup(func() { _ = e.Close() })
	return &fixture{t: t, e: e, clk: clk}
}

func demo(t testing.TB) *fixture { return newFixture(t, Options{}) }

// with returns the fixture reporting to t (a fuzz target must not use the *testing.F it was built with).
func (f *fixture) with(t testing.TB) *fixture {
	c := *f
	c.t = t
	return &c
}

// resp is a recorded response with its body decoded.
type resp struct {
	Code   int
	Header http.Header
	Raw    []byte
	JSON   any
}

func (r *resp) obj() map[string]any {
	m, _ := r.JSON.(map[string]any)
	return m
}

// get walks a decoded body by keys and array indexes: r.get("collection", "info", "name").
func (r *resp) get(path ...any) any {
	return dig(r.JSON, path...)
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k < 0 || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func (r *resp) str(path ...any) string {
	s, _ := r.get(path...).(string)
	return s
}

func (r *resp) num(path ...any) float64 {
	switch n := r.get(path...).(type) {
	case json.Number:
		f, _ := n.Float64()
		return f
	case float64:
		return n
	}
	return -1
}

func (r *resp) arr(path ...any) []any {
	a, _ := r.get(path...).([]any)
	return a
}

type reqOpt func(*http.Request)

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func chunked() reqOpt {
	return func(r *http.Request) { r.ContentLength = -1; r.TransferEncoding = []string{"chunked"} }
}

// do sends a request with key (none when "") and body (a string, []byte, nil, or anything JSON-encodable).
func (f *fixture) do(method, path, key string, body any, opts ...reqOpt) *resp {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			f.t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	f.e.ServeHTTP(rec, req)
	out := &resp{Code: rec.Code, Header: rec.Header(), Raw: rec.Body.Bytes()}
	if len(out.Raw) > 0 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		dec := json.NewDecoder(bytes.NewReader(out.Raw))
		dec.UseNumber()
		if err := dec.Decode(&out.JSON); err != nil {
			f.t.Fatalf("%s %s: response is not JSON: %v\n%s", method, path, err, out.Raw)
		}
	}
	return out
}

func (f *fixture) uid(kind, name string) string {
	f.t.Helper()
	u, ok := f.e.UIDByName(kind, name)
	if !ok {
		f.t.Fatalf("no %s named %q", kind, name)
	}
	return u
}

func bareID(uid string) string {
	_, id, _ := splitRef(uid)
	return id
}

func wantStatus(t testing.TB, r *resp, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body: %s", r.Code, code, r.Raw)
	}
}

func wantError(t testing.TB, r *resp, code int, name string) {
	t.Helper()
	wantStatus(t, r, code)
	if got := r.str("error", "name"); got != name {
		t.Fatalf("error.name %q, want %q; body: %s", got, name, r.Raw)
	}
}

func wantProblem(t testing.TB, r *resp, code int, detail string) {
	t.Helper()
	wantStatus(t, r, code)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("content type %q, want problem+json", r.Header.Get("Content-Type"))
	}
	if got := r.str("detail"); got != detail {
		t.Fatalf("detail %q, want %q; body: %s", got, detail, r.Raw)
	}
}

func minimalCollection(name string) map[string]any {
	return map[string]any{"collection": map[string]any{
		"info": map[string]any{"name": name, "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
		"item": []any{map[string]any{"name": "Ping", "request": map[string]any{"method": "GET", "url": "https://example.com/ping"}}},
	}}
}
