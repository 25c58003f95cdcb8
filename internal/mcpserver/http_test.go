package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/pmops/pmops/internal/clock"
)

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`

// pins is a KeyPinner that counts live pins per key.
type pins struct {
	mu   sync.Mutex
	refs map[string]int
}

func (p *pins) Pin(key string) (func(), error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.refs == nil {
		p.refs = map[string]int{}
	}
	p.refs[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			p.refs[key]--
			p.mu.Unlock()
		})
	}, nil
}

func (p *pins) count(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refs[key]
}

type httpFixture struct {
	h            *HTTP
	mcp          *server.MCPServer
	url          string
	clk          *clock.Fake
	keys         *pins
	registered   atomic.Int64
	unregistered atomic.Int64
}

// newHTTPFixture serves a bare MCP server (no tools: these tests are about the transport) through NewHTTP on a
// real loopback listener, with a fake clock for session idleness.
func newHTTPFixture(t *testing.T, opts HTTPOptions) *httpFixture {
	t.Helper()
	f := &httpFixture{clk: clock.NewFake(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)), keys: &pins{}}
	hooks := &server.Hooks{}
	hooks.AddOnRegisterSession(func(context.Context, server.ClientSession) { f.registered.Add(1) })
	hooks.AddOnUnregisterSession(func(context.Context, server.ClientSession) { f.unregistered.Add(1) })
	s := server.NewMCPServer("t", "1", server.WithHooks(hooks), server.WithToolCapabilities(false))
	opts.Clock = f.clk
	opts.Keys = f.keys
	h, err := NewHTTP(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config = NewHTTPServer(h, nil)
	srv.Start()
	t.Cleanup(func() { srv.Close(); h.Close() })
	f.h, f.url, f.mcp = h, srv.URL+"/mcp", s
	return f
}

func (f *httpFixture) do(t *testing.T, method string, header map[string]string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// initialize opens a session with key and returns its ID.
func (f *httpFixture) initialize(t *testing.T, key string) string {
	t.Helper()
	resp, body := f.do(t, http.MethodPost, map[string]string{"Authorization": "Bearer " + key}, strings.NewReader(initBody))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("initialize: %d %s", resp.StatusCode, body)
	}
	id := resp.Header.Get(server.HeaderKeySessionID)
	if id == "" {
		t.Fatal("initialize returned no session ID")
	}
	return id
}

func (f *httpFixture) ping(t *testing.T, key, session string) int {
	t.Helper()
	resp, _ := f.do(t, http.MethodPost, map[string]string{"Authorization": "Bearer " + key, server.HeaderKeySessionID: session,
		mcp.HeaderProtocolVersion: "2025-06-18"}, strings.NewReader(`{"jsonrpc":"2.0","id":2,"method":"ping"}`))
	return resp.StatusCode
}

func errorMessage(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("body is not a JSON error: %q (%v)", body, err)
	}
	return e.Error.Message
}

func TestKeylessRequestsGet401AndNoSession(t *testing.T) {
	f := newHTTPFixture(t, HTTPOptions{MaxSessions: 10})
	for i := range 3000 {
		resp, body := f.do(t, http.MethodPost, nil, strings.NewReader(initBody))
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("keyless initialize %d: status %d, want 401", i, resp.StatusCode)
		}
		if i == 0 {
			if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
			}
			if msg := errorMessage(t, body); !strings.Contains(msg, "Authorization: Bearer") {
				t.Errorf("401 message should say how to send a key: %q", msg)
			}
		}
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		if resp, _ := f.do(t, m, map[string]string{"Authorization": "Basic eDp5"}, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("keyless %s: %d, want 401", m, resp.StatusCode)
		}
	}
	if n := f.h.Sessions(); n != 0 {
		t.Fatalf("%d sessions live after keyless requests", n)
	}
	if n := f.registered.Load(); n != 0 {
		t.Fatalf("mcp-go registered %d sessions for keyless requests", n)
	}
}

func TestDefaultKeyServesKeylessRequests(t *testing.T) {
	f := newHTTPFixture(t, HTTPOptions{DefaultKey: "PMAK-demo"})
	resp, body := f.do(t, http.MethodPost, nil, strings.NewReader(initBody))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("keyless initialize with a default key: %d %s", resp.StatusCode, body)
	}
	if f.keys.count("PMAK-demo") != 1 {
		t.Fatalf("the session should pin the default key once, pins = %d", f.keys.count("PMAK-demo"))
	}
}

func TestBodyCap(t *testing.T) {
	f := newHTTPFixture(t, HTTPOptions{})
	key := map[string]string{"Authorization": "Bearer PMAK-k"}
	big := bytes.Repeat([]byte("x"), 10<<20)
	for _, tc := range []struct {
		name string
		body io.Reader
	}{
		{"10 MB with Content-Length", bytes.NewReader(big)},
		{"10 MB chunked", io.MultiReader(bytes.NewReader(big))}, // no length known: read until the cap
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(t, http.MethodPost, key, tc.body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413", resp.StatusCode)
			}
			if msg := errorMessage(t, body); !strings.Contains(msg, strconv.Itoa(DefaultMaxBodyBytes)) {
				t.Errorf("413 message should name the cap: %q", msg)
			}
		})
	}
	// Just under the cap is read (and is then a JSON parse error, not a size error).
	under := append([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"`), bytes.Repeat([]byte("x"), DefaultMaxBodyBytes-200)...)
	under = append(under, `"}}`...)
	resp, _ := f.do(t, http.MethodPost, key, bytes.NewReader(under))
	if resp.StatusCode == http.StatusRequestEntityTooLarge {
		t.Fatal("a body under the cap was refused")
	}
	if n := f.h.Sessions(); n != 0 {
		t.Fatalf("%d sessions after refused bodies", n)
	}
}

func TestOrigins(t *testing.T) {
	f := newHTTPFixture(t, HTTPOptions{})
	for _, tc := range []struct {
		origin string
		want   int
	}{
		{"", http.StatusOK},
		{"http://localhost:6274", http.StatusOK},
		{"https://127.0.0.1", http.StatusOK},
		{"http://[::1]:3000", http.StatusOK},
		{"http://evil.example", http.StatusForbidden},
		{"http://localhost.evil.example", http.StatusForbidden},
		{"null", http.StatusForbidden},
		{"file://", http.StatusForbidden},
		{"http://127.0.0.2", http.StatusForbidden},
	} {
		hdr := map[string]string{"Authorization": "Bearer PMAK-k"}
		if tc.origin != "" {
			hdr["Origin"] = tc.origin
		}
		resp, body := f.do(t, http.MethodPost, hdr, strings.NewReader(initBody))
		if resp.StatusCode != tc.want {
			t.Errorf("Origin %q: %d, want %d (%s)", tc.origin, resp.StatusCode, tc.want, body)
		}
		if tc.want == http.StatusForbidden && !strings.Contains(errorMessage(t, body), "-allowed-origins") {
			t.Errorf("Origin %q: the 403 should say how to allow it", tc.origin)
		}
	}
	if n := f.h.Sessions(); n != 4 {
		t.Fatalf("%d sessions, want 4 (one per allowed request)", n)
	}

	only, err := parseOrigins([]string{"https://app.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !only.allows("https://APP.example.com") || only.allows("http://localhost:1") || only.allows("https://app.example.com:8443") {
		t.Error("an explicit list replaces the loopback default and matches scheme, host and port exactly")
	}
	for _, bad := range []string{"app.example.com", "ftp://x", "https://x/path", "https://"} {
		if _, err := parseOrigins([]string{bad}); err == nil {
			t.Errorf("origin %q accepted", bad)
		}
	}
}

func TestSessionCap(t *testing.T) {
	f := newHTTPFixture(t, HTTPOptions{MaxSessions: 3, SessionTTL: 10 * time.Minute})
	var ids []string
	for range 3 {
		ids = append(ids, f.initialize(t, "PMAK-k"))
	}
	f.clk.Advance(4 * time.Minute)
	resp, body := f.do(t, http.MethodPost, map[string]string{"Authorization": "Bearer PMAK-k"}, strings.NewReader(initBody))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("fourth initialize: %d, want 503", resp.StatusCode)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "360" {
		t.Errorf("Retry-After = %q, want 360 (the oldest idle session expires in 6 min)", ra)
	}
	if !strings.Contains(errorMessage(t, body), "maximum of 3") {
		t.Errorf("503 message: %s", body)
	}
	// An initialize that carries a session header still opens a session, so it is capped too.
	resp, _ = f.do(t, http.MethodPost, map[string]string{"Authorization": "Bearer PMAK-k", server.HeaderKeySessionID: ids[0]}, strings.NewReader(initBody))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("initialize with a session header over the cap: %d, want 503", resp.StatusCode)
	}
	// Sessions already open keep working, and ending one frees its slot.
	if st := f.ping(t, "PMAK-k", ids[0]); st != http.StatusOK {
		t.Fatalf("ping on a live session: %d", st)
	}
	resp, _ = f.do(t, http.MethodDelete, map[string]string{"Authorization": "Bearer PMAK-k", server.HeaderKeySessionID: ids[1]}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	f.initialize(t, "PMAK-k")
	if n := f.h.Sessions(); n != 3 {
		t.Fatalf("%d sessions, want 3", n)
	}
}

func TestIdleSessionsExpireAndFreeState(t *testing.T) {
	f := newHTTPFixture(t, HTTPOptions{SessionTTL: 10 * time.Minute, MaxSessions: 100})
	var ids []string
	for i := range 50 {
		ids = append(ids, f.initialize(t, fmt.Sprintf("PMAK-%d", i%5)))
	}
	if f.registered.Load() != 50 || f.keys.count("PMAK-0") != 10 {
		t.Fatalf("registered %d sessions, PMAK-0 pinned %d times; want 50 and 10", f.registered.Load(), f.keys.count("PMAK-0"))
	}
	f.clk.Advance(6 * time.Minute)
	if st := f.ping(t, "PMAK-0", ids[0]); st != http.StatusOK {
		t.Fatalf("ping: %d", st)
	}
	f.clk.Advance(5 * time.Minute)
	if n := f.h.Sweep(); n != 49 {
		t.Fatalf("swept %d sessions, want 49 (all but the one used 5 min ago)", n)
	}
	if n := f.h.Sessions(); n != 1 {
		t.Fatalf("%d sessions live, want 1", n)
	}
	if n := f.unregistered.Load(); n != 49 {
		t.Fatalf("mcp-go unregistered %d sessions, want 49: expired sessions must free the library's state too", n)
	}
	if f.keys.count("PMAK-0") != 1 || f.keys.count("PMAK-1") != 0 {
		t.Fatalf("pins after expiry: PMAK-0 %d (want 1), PMAK-1 %d (want 0)", f.keys.count("PMAK-0"), f.keys.count("PMAK-1"))
	}
	if st := f.ping(t, "PMAK-1", ids[1]); st != http.StatusNotFound {
		t.Fatalf("ping on an expired session: %d, want 404 so the client initializes again", st)
	}
	resp, _ := f.do(t, http.MethodGet, map[string]string{"Authorization": "Bearer PMAK-1", server.HeaderKeySessionID: ids[1]}, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET on an expired session: %d, want 404", resp.StatusCode)
	}
	resp, _ = f.do(t, http.MethodGet, map[string]string{"Authorization": "Bearer PMAK-1"}, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("GET without a session: %d, want 400", resp.StatusCode)
	}
}

func TestOpenStreamKeepsSessionAlive(t *testing.T) {
	f := newHTTPFixture(t, HTTPOptions{SessionTTL: time.Minute})
	id := f.initialize(t, "PMAK-k")
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	req.Header.Set("Authorization", "Bearer PMAK-k")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set(server.HeaderKeySessionID, id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET stream: %v %v", err, resp)
	}
	f.clk.Advance(time.Hour)
	if n := f.h.Sweep(); n != 0 {
		t.Fatalf("a session with an open stream was swept")
	}
	cancel()
	resp.Body.Close()
	// The handler notices the closed stream and the session goes idle.
	deadline := time.Now().Add(5 * time.Second)
	for f.h.sessions.busyOf(id) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream's end was not noticed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.clk.Advance(time.Minute)
	if n := f.h.Sweep(); n != 1 {
		t.Fatalf("swept %d after the stream closed, want 1", n)
	}
}

func (t *sessionTable) busyOf(id string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.sessions[id]; s != nil {
		return s.busy
	}
	return -1
}

// TestSlowBodyTimesOutButStreamsLive: the body read has a deadline, and clearing it afterwards lets a stream
// outlive it (a server-wide ReadTimeout would cancel the stream's context).
func TestSlowBodyTimesOutButStreamsLive(t *testing.T) {
	f := newHTTPFixture(t, HTTPOptions{})
	f.h.readTimeout = 100 * time.Millisecond
	id := f.initialize(t, "PMAK-k")

	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(`{"jsonrpc":"2.0",`))
		time.Sleep(400 * time.Millisecond)
		_ = pw.CloseWithError(io.ErrUnexpectedEOF)
	}()
	resp, body := f.do(t, http.MethodPost, map[string]string{"Authorization": "Bearer PMAK-k"}, pr)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(errorMessage(t, body), "did not arrive within 100ms") {
		t.Fatalf("a body slower than the read timeout: %d %s, want 408", resp.StatusCode, body)
	}

	req, _ := http.NewRequest(http.MethodGet, f.url, nil)
	req.Header.Set("Authorization", "Bearer PMAK-k")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set(server.HeaderKeySessionID, id)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != http.StatusOK {
		t.Fatalf("GET stream: %v %v", err, stream)
	}
	defer stream.Body.Close()
	time.Sleep(300 * time.Millisecond) // three read timeouts
	if err := f.mcp.SendNotificationToSpecificClient(id, "notifications/message", map[string]any{"level": "info", "data": "still here"}); err != nil {
		t.Fatalf("notify: %v", err)
	}
	buf := make([]byte, 4096)
	var got strings.Builder
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(got.String(), "still here") {
		if time.Now().After(deadline) {
			t.Fatalf("the stream delivered nothing after the read timeout: %q", got.String())
		}
		n, err := stream.Body.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("stream ended: %v (%q)", err, got.String())
		}
	}
}
