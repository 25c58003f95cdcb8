package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// scriptRT answers with respond(i, req) for the i-th request, after latency each way, and logs what was sent.
type scriptRT struct {
	latency time.Duration
	respond func(i int, req *http.Request) *http.Response

	mu    sync.Mutex
	sends []sent
}

type sent struct {
	at     time.Time
	method string
	path   string
	tag    string
}

func (s *scriptRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	s.mu.Lock()
	i := len(s.sends)
	s.sends = append(s.sends, sent{at: time.Now(), method: req.Method, path: req.URL.Path, tag: req.Header.Get("X-Tag")})
	s.mu.Unlock()
	if err := sleepCtx(req.Context(), s.latency); err != nil {
		return nil, err
	}
	resp := s.respond(i, req)
	_ = sleepCtx(context.Background(), s.latency)
	resp.Request = req
	return resp, nil
}

func (s *scriptRT) log() []sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sent(nil), s.sends...)
}

func reply(status int, kv ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	body := `{"ok":true}`
	if status == http.StatusTooManyRequests {
		body = `{"error":{"name":"rateLimited","message":"Rate limit exceeded"}}`
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: h,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

// recorder-free tracking of a fake server's sends: wraps any RoundTripper and logs send times and paths.
type sendLog struct {
	next http.RoundTripper
	mu   sync.Mutex
	log  []sent
}

func (l *sendLog) RoundTrip(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.log = append(l.log, sent{at: time.Now(), method: req.Method, path: req.URL.Path, tag: req.Header.Get("X-Tag")})
	l.mu.Unlock()
	return l.next.RoundTrip(req)
}

func (l *sendLog) sends() []sent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]sent(nil), l.log...)
}

func get(t testing.TB, ctx context.Context, g *Gate, path string, kv ...string) (*http.Response, error) {
	return send(t, ctx, g, http.MethodGet, path, kv...)
}

func send(t testing.TB, ctx context.Context, g *Gate, method, path string, kv ...string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, "https://api.example.test"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", "PMAK-test-key")
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := g.RoundTrip(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, err
}

func bodyOf(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func quietGate(next http.RoundTripper, o Options) *Gate {
	if o.Logger == nil {
		o.Logger = discardLogger()
	}
	return New(next, o)
}

// loop sends GETs until ctx ends. A caller told it cannot be served before its deadline waits until it could
// retry, as a real caller would; retrying at once would spin at one virtual instant forever.
func loop(t testing.TB, ctx context.Context, g *Gate, path string, kv ...string) {
	for ctx.Err() == nil {
		_, err := get(t, ctx, g, path, kv...)
		var rl *RateLimitedError
		if errors.As(err, &rl) {
			_ = sleepCtx(ctx, time.Until(rl.RetryAt))
		}
	}
}
