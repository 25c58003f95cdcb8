package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/pmops/pmops/internal/clock"
)

type keyCtx struct{}

// KeyFromContext returns the Postman API key the HTTP request acts with ("" over stdio).
func KeyFromContext(ctx context.Context) string {
	k, _ := ctx.Value(keyCtx{}).(string)
	return k
}

// requestKey reads the caller's Postman key from Authorization: Bearer or X-Api-Key.
func requestKey(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		if scheme, token, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

// KeyPinner keeps a key's client and rate gate in memory while requests and sessions use it (app.Backend).
type KeyPinner interface {
	Pin(key string) (release func(), err error)
}

// Defaults of HTTPOptions.
const (
	DefaultMaxBodyBytes = 4 << 20
	DefaultSessionTTL   = 10 * time.Minute
	DefaultMaxSessions  = 1000
	// LoopbackOrigins in AllowedOrigins stands for http(s)://localhost, 127.0.0.1 and [::1] on any port.
	LoopbackOrigins = "loopback"

	bodyReadTimeout   = 30 * time.Second
	writeStallTimeout = 30 * time.Second
	heartbeat         = 30 * time.Second
	freeMemoryAfter   = 256
)

// HTTPOptions bound the Streamable HTTP server. Zero values take the defaults above.
type HTTPOptions struct {
	// MaxBodyBytes caps a request body; a larger one gets 413 (mcp-go reads bodies whole).
	MaxBodyBytes int64
	// SessionTTL ends a session (and frees its memory) after this long without a request.
	SessionTTL time.Duration
	// MaxSessions caps live sessions; an initialize beyond it gets 503 with Retry-After.
	MaxSessions int
	// AllowedOrigins lists the browser origins (scheme://host[:port]) that may call; LoopbackOrigins stands for
	// the loopback ones. Requests without an Origin header are not from a browser page and pass. Nil means
	// []string{LoopbackOrigins}.
	AllowedOrigins []string
	// Keys pins each request's and session's key in the client registry; nil pins nothing.
	Keys KeyPinner
	// DefaultKey serves requests that bring no key (demo mode only); empty means such requests get 401.
	DefaultKey string
	Clock      clock.Clock
	Logger     *slog.Logger
}

// HTTP is the bounded Streamable HTTP front of an MCP server: it checks Origin and the key, caps bodies and
// sessions, and expires idle sessions, before mcp-go sees a request.
type HTTP struct {
	opts       HTTPOptions
	streamable *server.StreamableHTTPServer
	sessions   *sessionTable
	origins    originPolicy
	mux        *http.ServeMux
	stop       context.CancelFunc
	done       chan struct{}
	// readTimeout bounds reading one request body (a variable so a test can shorten it).
	readTimeout time.Duration
}

// NewHTTP wraps s. Close stops its session sweeper.
func NewHTTP(s *server.MCPServer, opts HTTPOptions) (*HTTP, error) {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	if opts.AllowedOrigins == nil {
		opts.AllowedOrigins = []string{LoopbackOrigins}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Clock = clock.Or(opts.Clock)
	origins, err := parseOrigins(opts.AllowedOrigins)
	if err != nil {
		return nil, err
	}
	h := &HTTP{opts: opts, origins: origins, done: make(chan struct{}), readTimeout: bodyReadTimeout}
	h.sessions = newSessionTable(opts.Clock, opts.SessionTTL, opts.MaxSessions, opts.Keys)
	h.streamable = server.NewStreamableHTTPServer(s,
		server.WithEndpointPath("/mcp"),
		server.WithSessionIdManagerResolver(h.sessions),
		server.WithHeartbeatInterval(heartbeat),
		server.WithStreamableHTTPLogger(opts.Logger),
	)
	h.mux = http.NewServeMux()
	h.mux.Handle("/mcp", http.HandlerFunc(h.serveMCP))
	h.mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go h.sweepLoop(ctx)
	return h, nil
}

// NewHTTPServer is the http.Server to run h on: header and idle timeouts, but no server-wide read or write
// timeout, which would cut SSE streams; h bounds body reads and stalled writes per request instead.
func NewHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	if logger != nil {
		srv.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	}
	return srv
}

// ServeHTTP serves /mcp and /healthz.
func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Close stops the session sweeper; sessions end with the process.
func (h *HTTP) Close() {
	h.stop()
	<-h.done
}

// Sessions returns how many sessions are live.
func (h *HTTP) Sessions() int { return h.sessions.live() }

// SessionsInUse returns how many live sessions have a request in progress or a stream open; the others age
// towards the idle TTL.
func (h *HTTP) SessionsInUse() int { return h.sessions.inUse() }

func (h *HTTP) sweepLoop(ctx context.Context) {
	defer close(h.done)
	t := time.NewTicker(max(min(h.opts.SessionTTL/4, 30*time.Second), 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.Sweep()
		}
	}
}

// Sweep ends the sessions idle for SessionTTL or longer (it runs on a ticker; tests on a fake clock call it).
func (h *HTTP) Sweep() int {
	ids := h.sessions.expire()
	for _, id := range ids {
		h.endSession(id)
	}
	if len(ids) > 0 {
		h.opts.Logger.Info("idle MCP sessions ended", "count", len(ids), "live", h.sessions.live())
	}
	if len(ids) >= freeMemoryAfter {
		// Each session holds about 10 KB in mcp-go. After a mass expiry the heap is garbage, but an idle server
		// would not collect it for two minutes nor hand the pages back for longer; do both now.
		debug.FreeOSMemory()
	}
	return len(ids)
}

// endSession frees mcp-go's state of a session the table already dropped: the library cleans a session up only on
// DELETE, so it gets one.
func (h *HTTP) endSession(id string) {
	r, _ := http.NewRequest(http.MethodDelete, "/mcp", nil)
	r.Header.Set(server.HeaderKeySessionID, id)
	h.streamable.ServeHTTP(discardWriter{}, r)
}

func (h *HTTP) serveMCP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && !h.origins.allows(origin) {
		writeError(w, http.StatusForbidden, "origin "+clip(origin)+" may not call this server; start it with -allowed-origins "+clip(origin)+" to allow it")
		return
	}
	key := requestKey(r)
	if key == "" {
		key = h.opts.DefaultKey
	}
	if key == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pmops"`)
		writeError(w, http.StatusUnauthorized, "no Postman API key: send Authorization: Bearer <your Postman API key> (or X-Api-Key) with every request, initialize included")
		return
	}
	rc := http.NewResponseController(w)
	var body []byte
	if r.Method == http.MethodPost {
		if r.ContentLength > h.opts.MaxBodyBytes {
			h.tooLarge(w)
			return
		}
		_ = rc.SetReadDeadline(time.Now().Add(h.readTimeout))
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBodyBytes))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			h.tooLarge(w)
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestTimeout, fmt.Sprintf("the request body did not arrive within %s", h.readTimeout))
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, "could not read the request body: "+err.Error())
			return
		}
		// The body is in; what follows may stream for as long as the session needs.
		_ = rc.SetReadDeadline(time.Time{})
		r.Body = io.NopCloser(bytes.NewReader(body))
	}

	release, err := h.pin(key)
	if err != nil {
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	defer release()

	ctx := context.WithValue(r.Context(), keyCtx{}, key)
	sid := r.Header.Get(server.HeaderKeySessionID)
	switch {
	case r.Method == http.MethodPost && isInitialize(r.Header, body):
		// An initialize always opens a new session, whatever session header it carries.
		res, retry, ok := h.sessions.reserve(key)
		if !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())))
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("this server has its maximum of %d live MCP sessions; retry in %s", h.opts.MaxSessions, retry))
			return
		}
		defer h.sessions.settle(res)
		ctx = context.WithValue(ctx, reservationCtx{}, res)
	case sid != "":
		if h.sessions.begin(sid) {
			defer h.sessions.end(sid)
		} else if r.Method == http.MethodGet {
			// mcp-go would open a stream for any ID it is shown.
			writeError(w, http.StatusNotFound, "session not found or expired; initialize again")
			return
		}
	case r.Method != http.MethodPost:
		// GET opens a stream and DELETE ends a session: both name one.
		writeError(w, http.StatusBadRequest, "missing Mcp-Session-Id header: initialize first")
		return
	}
	h.streamable.ServeHTTP(&stallGuard{ResponseWriter: w, rc: rc}, r.WithContext(ctx))
}

func (h *HTTP) pin(key string) (func(), error) {
	if h.opts.Keys == nil {
		return func() {}, nil
	}
	return h.opts.Keys.Pin(key)
}

func (h *HTTP) tooLarge(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", h.opts.MaxBodyBytes))
}

// isInitialize says whether a POST body is a legacy-era initialize request, the one that opens a session.
// Protocol 2026-07-28 has no sessions (mcp-go serves each such request on its own).
func isInitialize(header http.Header, body []byte) bool {
	if mcp.IsModernProtocol(header.Get(mcp.HeaderProtocolVersion)) {
		return false
	}
	var msg struct {
		Method string `json:"method"`
	}
	return json.Unmarshal(body, &msg) == nil && msg.Method == string(mcp.MethodInitialize)
}

// writeError answers with a JSON-RPC error object, the body MCP clients know how to read.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0",
		"id":      nil,
		"error":   map[string]any{"code": -32000, "message": msg, "data": map[string]any{"httpStatus": status}},
	})
}

// clip keeps echoed header values short.
func clip(s string) string {
	const limit = 200
	if len(s) <= limit {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:limit]) + fmt.Sprintf("…(%d bytes)", len(s))
}

// stallGuard gives every write a fresh deadline, so a client that stops reading cannot hold a stream forever,
// while a stream that keeps flowing (or idles between events) lives as long as it needs.
type stallGuard struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (g *stallGuard) Write(p []byte) (int, error) {
	_ = g.rc.SetWriteDeadline(time.Now().Add(writeStallTimeout))
	return g.ResponseWriter.Write(p)
}

func (g *stallGuard) Flush() {
	_ = g.rc.SetWriteDeadline(time.Now().Add(writeStallTimeout))
	_ = g.rc.Flush()
}

func (g *stallGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (discardWriter) WriteHeader(int)             {}

// originPolicy is the parsed AllowedOrigins.
type originPolicy struct {
	loopback bool
	exact    map[string]bool
}

func parseOrigins(list []string) (originPolicy, error) {
	p := originPolicy{exact: map[string]bool{}}
	for _, o := range list {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if strings.EqualFold(o, LoopbackOrigins) {
			p.loopback = true
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return p, fmt.Errorf("allowed origin %q is not an origin like https://app.example.com[:port] (or %q)", o, LoopbackOrigins)
		}
		p.exact[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	return p, nil
}

func (p originPolicy) allows(origin string) bool {
	if p.exact[strings.ToLower(origin)] {
		return true
	}
	if !p.loopback {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" || u.User != nil {
		return false
	}
	host := u.Hostname()
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}
