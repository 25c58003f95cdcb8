package ratelimit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Options configure a Gate. The zero value is usable: every field has a default.
type Options struct {
	// Routes are stricter buckets counted locally, by path pattern (the gate knows no resources).
	Routes []Route
	// Cache turns on the response cache and request coalescing for GETs by path pattern. WithCache and
	// WithCoalescing do the same per request.
	Cache []CacheRule

	// Store shares the window count between processes using the same key; nil means this process is alone.
	Store WindowStore
	// StoreReplicas is how many processes share the key (k): while the store fails, this process keeps to
	// Limit/k of each window. Default 2.
	StoreReplicas int
	// StoreReplicasLive, when set, says how many processes are alive now (a roll call's last count, never a store
	// call: it runs under the gate's lock and must not block); while the store fails the share is
	// Limit/max(StoreReplicas, StoreReplicasLive()), so replicas started after this gate are counted.
	StoreReplicasLive func() int
	// StoreTimeout bounds one Store call. Default 1 s.
	StoreTimeout time.Duration
	// StoreKeyPrefix prefixes window keys ("<prefix>:<key hash>:<window end epoch>"). Default "ratelimit".
	StoreKeyPrefix string

	// DefaultLimit and DefaultWindow are assumed until the server's headers say otherwise. Defaults 60 and 60 s
	// (the oldest documented Postman limit, the most conservative).
	DefaultLimit  int
	DefaultWindow time.Duration

	// InteractiveReserve is the fraction of the window kept for interactive traffic (raised to 1.5 × the
	// interactive demand of recent windows when that is more, at most half); the reserve shrinks over the window
	// to a floor of a third of it, released in the window's last moments. Default 0.15; negative disables it.
	InteractiveReserve float64
	// BackgroundBurst is how far background traffic may run ahead of the even pace line L·(1−elapsed). Default 5.
	BackgroundBurst int
	// DisablePacing lets background traffic take any token the reserve leaves (no pace line).
	DisablePacing bool
	// ActiveGap is how long after its last request a user still counts as active for fair shares. Default 2 s.
	ActiveGap time.Duration
	// PerUserLimit is a hard cap on one user's requests per window; 0 means none (fair shares still apply).
	PerUserLimit int

	// MaxRetries is how often an idempotent request is retried after a 429. Default 2; negative means never.
	MaxRetries int
	// MaxWait bounds any wait the headers ask for (Retry-After, a Reset far away). Default twice the window.
	MaxWait time.Duration
	// ResetGuard is added to every reset and Retry-After so the probe lands after the server's window rolls.
	// Default 250 ms.
	ResetGuard time.Duration
	// ProbeTimeout is how long a probe may stay unanswered before another may go. Default 15 s.
	ProbeTimeout time.Duration
	// QuotaProbeInterval is how often one request may test an exhausted monthly quota. Default 15 min.
	QuotaProbeInterval time.Duration
	// QuotaErrorNames are the 429 body error names that mean the monthly quota is spent.
	// Default ["serviceLimitExhausted"].
	QuotaErrorNames []string
	// KeyHeader is the request header carrying the API key; its hash isolates cache entries and store keys.
	// Default "X-Api-Key".
	KeyHeader string

	// MaxCacheEntries bounds the response cache. Default 1024.
	MaxCacheEntries int
	// MaxCacheBody is the largest body cached or shared between coalesced callers. Default 8 MiB.
	MaxCacheBody int64

	// OnSend, when set, is called each time a request goes to the transport, with its ticket and how long it
	// waited in the gate since it entered (metrics hook; must not block).
	OnSend func(t Ticket, waited time.Duration)

	// Logger receives 429s, quota and store events (never keys). Default slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.StoreReplicas <= 0 {
		o.StoreReplicas = 2
	}
	if o.StoreTimeout <= 0 {
		o.StoreTimeout = time.Second
	}
	if o.StoreKeyPrefix == "" {
		o.StoreKeyPrefix = "ratelimit"
	}
	if o.DefaultLimit <= 0 {
		o.DefaultLimit = 60
	}
	if o.DefaultWindow <= 0 {
		o.DefaultWindow = 60 * time.Second
	}
	if o.InteractiveReserve == 0 {
		o.InteractiveReserve = 0.15
	}
	if o.InteractiveReserve < 0 {
		o.InteractiveReserve = 0
	}
	if o.BackgroundBurst <= 0 {
		o.BackgroundBurst = 5
	}
	if o.ActiveGap <= 0 {
		o.ActiveGap = 2 * time.Second
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 2
	}
	if o.MaxRetries < 0 {
		o.MaxRetries = 0
	}
	if o.ResetGuard <= 0 {
		o.ResetGuard = 250 * time.Millisecond
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 15 * time.Second
	}
	if o.QuotaProbeInterval <= 0 {
		o.QuotaProbeInterval = 15 * time.Minute
	}
	if len(o.QuotaErrorNames) == 0 {
		o.QuotaErrorNames = []string{"serviceLimitExhausted"}
	}
	if o.KeyHeader == "" {
		o.KeyHeader = "X-Api-Key"
	}
	if o.MaxCacheEntries <= 0 {
		o.MaxCacheEntries = 1024
	}
	if o.MaxCacheBody <= 0 {
		o.MaxCacheBody = 8 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// ErrClosed is returned for requests made or queued after Close.
var ErrClosed = errors.New("ratelimit: gate closed")

// Gate is an http.RoundTripper that spends one API key's rate budget on behalf of every caller. See the package
// documentation for the algorithm. It is safe for concurrent use.
type Gate struct {
	next    http.RoundTripper
	opts    Options
	log     *slog.Logger
	routes  []*routeMatcher
	cache   *responseCache
	rules   []cacheRule
	flights flightGroup

	mu sync.Mutex
	b  budget
}

// New returns a gate in front of next (nil: http.DefaultTransport). Invalid route or cache patterns panic: they
// are programming errors in the caller's configuration.
func New(next http.RoundTripper, opts Options) *Gate {
	if next == nil {
		next = http.DefaultTransport
	}
	opts = opts.withDefaults()
	g := &Gate{next: next, opts: opts, log: opts.Logger}
	shared := map[string]*bucket{}
	for _, r := range opts.Routes {
		pp, err := compilePattern(r.Pattern)
		if err != nil {
			panic(err)
		}
		if r.Limit <= 0 || r.Window <= 0 {
			panic(fmt.Sprintf("ratelimit: route %s %s needs a positive Limit and Window", r.Method, r.Pattern))
		}
		b := shared[r.Bucket]
		if b == nil || r.Bucket == "" {
			name := r.Bucket
			if name == "" {
				name = r.Method + " " + r.Pattern
			}
			b = &bucket{name: name, limit: r.Limit, window: r.Window}
			b.reserve, b.within = routeReserve(r)
			if r.Bucket != "" {
				shared[r.Bucket] = b
			}
		}
		g.routes = append(g.routes, &routeMatcher{method: r.Method, pattern: pp, bucket: b})
	}
	for _, c := range opts.Cache {
		pp, err := compilePattern(c.Pattern)
		if err != nil {
			panic(err)
		}
		g.rules = append(g.rules, cacheRule{pattern: pp, ttl: c.TTL, coalesce: c.Coalesce || c.TTL > 0})
	}
	g.cache = newResponseCache(opts.MaxCacheEntries)
	g.flights.m = map[string]*flight{}
	g.b.init(g)
	return g
}

// Close fails every queued request with ErrClosed, makes later ones fail the same way and stops the gate's timer.
// Requests already sent finish normally.
func (g *Gate) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.b.close()
}

// RoundTrip sends req when the key's budget allows, on behalf of TicketFrom(req.Context()).
func (g *Gate) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	t := normalTicket(TicketFrom(ctx))
	if !safeMethod(req.Method) {
		g.invalidate(req.URL.Path)
		defer g.invalidate(req.URL.Path)
		return g.do(ctx, req, t, nil)
	}
	ttl, coalesce := g.cachePolicy(ctx, req)
	if ttl == 0 && !coalesce || (req.Method != http.MethodGet && req.Method != http.MethodHead) ||
		(req.Body != nil && req.Body != http.NoBody) {
		return g.do(ctx, req, t, nil)
	}
	key := g.cacheKey(req)
	if ttl > 0 {
		if c, ok := g.cache.get(key, time.Now()); ok {
			g.mu.Lock()
			g.b.stats.cacheHits++
			g.mu.Unlock()
			closeBody(req)
			return c.response(req), nil
		}
	}
	if !coalesce {
		return g.fetchAndCache(ctx, req, t, key, ttl)
	}
	if err := g.failFast(ctx, req, t); err != nil {
		closeBody(req)
		return nil, err
	}
	return g.joinFlight(ctx, req, t, key, ttl)
}

// fetchAndCache sends req and stores a 2xx answer for ttl.
func (g *Gate) fetchAndCache(ctx context.Context, req *http.Request, t Ticket, key string, ttl time.Duration) (*http.Response, error) {
	seq := g.cache.seq()
	resp, err := g.do(ctx, req, t, nil)
	if err != nil || resp.StatusCode/100 != 2 {
		return resp, err
	}
	body, complete, err := readUpTo(resp.Body, g.opts.MaxCacheBody)
	if err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("ratelimit: read %s %s: %w", req.Method, req.URL.Path, err)
	}
	if !complete {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	c := snapshotResponse(resp, body)
	g.cache.put(key, req.URL.Path, c, ttl, seq, time.Now())
	return c.response(req), nil
}

func (g *Gate) cachePolicy(ctx context.Context, req *http.Request) (ttl time.Duration, coalesce bool) {
	for _, r := range g.rules {
		if r.pattern.match(req.URL.Path) {
			ttl, coalesce = r.ttl, r.coalesce
			break
		}
	}
	if o, ok := ctx.Value(cacheKeyCtx{}).(time.Duration); ok {
		ttl = o
		if ttl > 0 {
			coalesce = true
		}
	}
	if c, ok := ctx.Value(coalesceKeyCtx{}).(bool); ok {
		coalesce = c
	}
	if ttl < 0 {
		ttl = 0
	}
	return ttl, coalesce
}

// keyID is a short hash of the request's API key: it keeps two keys' cache entries and window counters apart
// without ever holding the key itself.
func (g *Gate) keyID(req *http.Request) string {
	k := req.Header.Get(g.opts.KeyHeader)
	if k == "" {
		return "anonymous"
	}
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:8])
}

func (g *Gate) cacheKey(req *http.Request) string {
	return g.keyID(req) + " " + req.Method + " " + req.URL.String() + " " + req.Header.Get("Accept")
}

func normalTicket(t Ticket) Ticket {
	if t.Class != Interactive {
		t.Class = Background
	}
	if t.Cost <= 0 {
		t.Cost = 1
	}
	return t
}

func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, "":
		return true
	}
	return false
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// do sends req through the budget, retrying idempotent requests after a 429 at the front of their queue.
func (g *Gate) do(ctx context.Context, req *http.Request, t Ticket, ref *waiterRef) (*http.Response, error) {
	entered := time.Now()
	w := g.newWaiter(ctx, req, t)
	if ref != nil {
		g.mu.Lock()
		ref.w = w
		if ref.interactive {
			w.ticket.Class = Interactive
		}
		g.mu.Unlock()
	}
	retryable := safeMethod(req.Method) && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil)
	front := false
	for attempt := 0; ; {
		if err := g.wait(ctx, w, front); err != nil {
			closeBody(req)
			return nil, err
		}
		front = true // whatever sends it back to the queue, it goes back to the front
		if !g.storeAdmit(ctx, w) {
			continue
		}
		g.mu.Lock()
		ok, err := g.b.confirm(w, time.Now())
		g.mu.Unlock()
		if err != nil {
			closeBody(req)
			return nil, err
		}
		if !ok {
			continue
		}
		send := req
		if attempt > 0 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				g.mu.Lock()
				g.b.cancelGrant(w, time.Now())
				g.mu.Unlock()
				return nil, fmt.Errorf("ratelimit: rewind body of %s %s for retry: %w", req.Method, req.URL.Path, err)
			}
			send = req.Clone(ctx)
			send.Body = body
		}
		if g.opts.OnSend != nil {
			g.opts.OnSend(w.ticket, time.Since(entered))
		}
		observeSend(send)
		resp, err := g.next.RoundTrip(send)
		recv := time.Now()
		var h Headers
		quota := false
		if err == nil {
			h = g.parse(resp, recv)
			if resp.StatusCode == http.StatusTooManyRequests {
				quota = h.MonthRemaining == 0 || g.peekQuota(resp)
			}
		}
		g.mu.Lock()
		out := g.b.finish(w, resp, err, h, quota, recv, retryable && attempt < g.opts.MaxRetries)
		g.mu.Unlock()
		g.storeSettle(ctx, w)
		switch out.kind {
		case outcomeResponse:
			return resp, err
		case outcomeRetry:
			drain(resp)
			attempt++
			continue
		default:
			drain(resp)
			return nil, out.err
		}
	}
}

func (g *Gate) newWaiter(ctx context.Context, req *http.Request, t Ticket) *waiter {
	w := &waiter{ticket: t, cost: t.Cost, method: req.Method, path: req.URL.Path, keyID: g.keyID(req)}
	w.idempotent = safeMethod(req.Method)
	w.observer, w.maxWait = waitOptions(ctx)
	if d, ok := ctx.Deadline(); ok {
		w.deadline = d
	}
	w.buckets = g.bucketsFor(req.Method, req.URL.Path)
	return w
}

// bucketsFor lists the route buckets a request with this method and path is charged to, each once.
func (g *Gate) bucketsFor(method, path string) []*bucket {
	var out []*bucket
	for _, r := range g.routes {
		if r.matches(method, path) && !containsBucket(out, r.bucket) {
			out = append(out, r.bucket)
		}
	}
	return out
}

func containsBucket(bs []*bucket, b *bucket) bool {
	for _, x := range bs {
		if x == b {
			return true
		}
	}
	return false
}

func (g *Gate) parse(resp *http.Response, recv time.Time) Headers {
	g.mu.Lock()
	serverNow := recv.Add(g.b.offset.value())
	g.mu.Unlock()
	return ParseHeaders(resp.Header, serverNow)
}

// peekQuota reads the start of a 429 body for a quota error name and puts the bytes back.
func (g *Gate) peekQuota(resp *http.Response) bool {
	if resp.Body == nil || resp.Body == http.NoBody {
		return false
	}
	head, _, err := readUpTo(resp.Body, maxPeekBody)
	orig := resp.Body
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), orig), orig}
	if err != nil {
		return false
	}
	return quotaErrorName(head, g.opts.QuotaErrorNames)
}

// readUpTo reads at most limit bytes; complete says the body ended within them.
func readUpTo(r io.Reader, limit int64) (data []byte, complete bool, err error) {
	data, err = io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(data)) > limit {
		return data, false, err
	}
	return data, true, err
}

func drain(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

// wait queues w until it is granted, fails, or ctx ends.
func (g *Gate) wait(ctx context.Context, w *waiter, front bool) error {
	now := time.Now()
	g.mu.Lock()
	if err := g.b.enqueue(w, front, now); err != nil {
		g.mu.Unlock()
		return err
	}
	ready, notify := w.ready, w.notify
	g.mu.Unlock()
	for waiting := true; waiting; {
		select {
		case <-ready:
			waiting = false
		case <-ctx.Done():
			waiting = false
		case <-notify:
			// The observer runs here, on the waiting goroutine and outside the lock, so it is never called
			// after this request was sent or failed.
			g.mu.Lock()
			info, ok := w.pending, w.hasPending && w.state == stateQueued
			w.hasPending = false
			g.mu.Unlock()
			if ok {
				w.observer(info)
			}
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch w.state {
	case stateGranted:
		if ctx.Err() == nil {
			return nil
		}
		g.b.cancelGrant(w, time.Now())
	case stateQueued:
		g.b.dequeue(w, time.Now())
	case stateDone:
		return w.err
	}
	return g.b.contextError(ctx, w, time.Now())
}

// failFast applies the deadline and quota checks of wait without queuing (for coalesced callers).
func (g *Gate) failFast(ctx context.Context, req *http.Request, t Ticket) error {
	w := g.newWaiter(ctx, req, t)
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if err := g.b.precheck(w, now, false); err != nil {
		return err
	}
	if w.maxWait > 0 {
		if info := g.b.estimate(w, now, false); info.Estimate > w.maxWait {
			return &RateLimitedError{RetryAt: info.Until, Reason: info.Reason}
		}
	}
	return nil
}

// storeAdmit registers a granted request with the WindowStore, if any. It returns false when a shared window is
// full (the grant was given back and w must wait again).
func (g *Gate) storeAdmit(ctx context.Context, w *waiter) bool {
	store := g.opts.Store
	if store == nil {
		return true
	}
	g.mu.Lock()
	adds, ttl, usedAt, requeue := g.b.storePlan(w, time.Now())
	g.mu.Unlock()
	if len(adds) == 0 {
		return !requeue
	}
	counts := make([]int, len(adds))
	var err error
	for i, a := range adds {
		if counts[i], err = g.storeAdd(ctx, a.key, w.chargedCost(), ttl); err != nil {
			break
		}
	}
	g.mu.Lock()
	requeue = g.b.storeResult(w, adds, counts, err, usedAt, time.Now())
	g.mu.Unlock()
	if requeue && err == nil {
		for _, a := range adds {
			_, _ = g.storeAdd(ctx, a.key, -w.chargedCost(), ttl)
		}
	}
	return !requeue
}

// storeSettle moves w's registration to the window its answer says counted it.
func (g *Gate) storeSettle(ctx context.Context, w *waiter) {
	if g.opts.Store == nil {
		return
	}
	g.mu.Lock()
	add, remove := g.b.storeCorrections(w)
	ttl := 2 * g.b.window
	g.mu.Unlock()
	if add != "" {
		_, _ = g.storeAdd(ctx, add, w.chargedCost(), ttl)
	}
	for _, k := range remove {
		_, _ = g.storeAdd(ctx, k, -w.chargedCost(), ttl)
	}
}

func (g *Gate) storeAdd(ctx context.Context, key string, n int, ttl time.Duration) (int, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.opts.StoreTimeout)
	defer cancel()
	return g.opts.Store.Add(sctx, key, n, ttl)
}

func (w *waiter) chargedCost() int {
	if w.chargedLen > 0 {
		return w.chargedLen
	}
	return w.cost
}

// Snapshot returns the gate's view of the budget. It costs no API call.
func (g *Gate) Snapshot() Snapshot {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.b.snapshot(time.Now())
}

// Snapshot is the live budget, for metrics and a quota tool.
type Snapshot struct {
	// Limit is the requests per window (learned, or the cold-start default until LimitLearned).
	Limit        int
	LimitLearned bool
	Window       time.Duration
	// Remaining is what the gate believes is left in the current window for this process.
	Remaining int
	// ResetAt is the local time the current window ends (zero if unknown).
	ResetAt time.Time
	// Foreign is the lower bound of this window's requests made by other clients of the key.
	Foreign int
	// QueuedInteractive and QueuedBackground are waiting requests per class.
	QueuedInteractive, QueuedBackground int
	// InFlight is requests granted and not yet answered.
	InFlight int
	// MonthLimit and MonthRemaining are the monthly quota (-1 unknown); MonthRemaining counts this process's
	// requests since the last report.
	MonthLimit, MonthRemaining int64
	QuotaExhausted             bool
	// QuotaResetAt is when Postman said the spent quota allows calls again (zero when it did not say).
	QuotaResetAt time.Time
	// ClockOffset is server clock minus local clock, as learnt from Date headers.
	ClockOffset time.Duration
	// Count429 is the 429 answers received; BlockedUntil is when the gate reopens after the last one.
	Count429     int64
	BlockedUntil time.Time
	// Sent is requests handed to the transport; CacheHits and Coalesced are requests that cost nothing.
	Sent, CacheHits, Coalesced int64
	// StoreDegraded says the WindowStore failed and the gate keeps to Limit/StoreReplicas.
	StoreDegraded bool
	// RTT is the smoothed time from send to answer of recent requests (zero before the first answer).
	RTT time.Duration
}
