package ratelimit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// CacheRule opts GET requests whose path matches Pattern (see Route) into the response cache and coalescing.
type CacheRule struct {
	Pattern string
	// TTL keeps 2xx answers this long (0: no caching). Caching implies coalescing.
	TTL time.Duration
	// Coalesce shares one request between identical concurrent GETs.
	Coalesce bool
}

type cacheRule struct {
	pattern  pathPattern
	ttl      time.Duration
	coalesce bool
}

type cacheKeyCtx struct{}
type coalesceKeyCtx struct{}

// WithCache makes GET requests made with ctx use the response cache with the given TTL (and coalescing); a
// negative ttl bypasses the cache even where a CacheRule applies. Writes (POST, PUT, PATCH, DELETE) through the
// gate invalidate cached GETs of the resource they touch: a write to /x/{id} or /x/{id}/sub drops cached paths
// starting with /x/{id}, and the list /x.
func WithCache(ctx context.Context, ttl time.Duration) context.Context {
	if ttl == 0 {
		ttl = -1
	}
	return context.WithValue(ctx, cacheKeyCtx{}, ttl)
}

// WithCoalescing turns sharing of identical concurrent GETs on or off for requests made with ctx. The shared
// request survives the cancellation of the caller that started it, as long as another caller still waits.
func WithCoalescing(ctx context.Context, on bool) context.Context {
	return context.WithValue(ctx, coalesceKeyCtx{}, on)
}

// cachedResponse is an answer held in memory, handed out as fresh *http.Response values.
type cachedResponse struct {
	status     int
	statusText string
	proto      string
	major      int
	minor      int
	header     http.Header
	body       []byte
}

func snapshotResponse(resp *http.Response, body []byte) *cachedResponse {
	return &cachedResponse{
		status: resp.StatusCode, statusText: resp.Status, proto: resp.Proto, major: resp.ProtoMajor,
		minor: resp.ProtoMinor, header: resp.Header.Clone(), body: body,
	}
}

func (c *cachedResponse) response(req *http.Request) *http.Response {
	return &http.Response{
		Status: c.statusText, StatusCode: c.status, Proto: c.proto, ProtoMajor: c.major, ProtoMinor: c.minor,
		Header: c.header.Clone(), Body: io.NopCloser(bytes.NewReader(c.body)), ContentLength: int64(len(c.body)),
		Request: req,
	}
}

// responseCache is a small TTL cache of GET answers keyed by API key hash, method, full URL and Accept.
type responseCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]*cacheEntry
	invals  []invalidation // recent writes, to refuse fills that started before them
	lastSeq uint64
}

type cacheEntry struct {
	resp    *cachedResponse
	path    string
	expires time.Time
}

type invalidation struct {
	seq        uint64
	list, root string
}

const keptInvalidations = 256

func newResponseCache(max int) *responseCache {
	return &responseCache{max: max, entries: map[string]*cacheEntry{}}
}

// seq marks the start of a fetch; put refuses the answer if a matching write happened since.
func (c *responseCache) seq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastSeq
}

func (c *responseCache) get(key string, now time.Time) (*cachedResponse, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		delete(c.entries, key)
		return nil, false
	}
	return e.resp, true
}

func (c *responseCache) put(key, path string, resp *cachedResponse, ttl time.Duration, since uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.invals) > 0 && c.invals[0].seq > since+1 {
		return // writes since the fetch started were forgotten: it may be stale
	}
	for _, inv := range c.invals {
		if inv.seq > since && inv.matches(path) {
			return
		}
	}
	if len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[key] = &cacheEntry{resp: resp, path: normPath(path), expires: now.Add(ttl)}
}

// evict drops expired entries, then the one closest to expiry, until there is room.
func (c *responseCache) evict(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	for len(c.entries) >= c.max {
		var victim string
		var at time.Time
		for k, e := range c.entries {
			if victim == "" || e.expires.Before(at) {
				victim, at = k, e.expires
			}
		}
		delete(c.entries, victim)
	}
}

// invalidate drops cached GETs of the resource a write to path touches.
func (c *responseCache) invalidate(path string) invalidation {
	inv := invalidationFor(path)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastSeq++
	inv.seq = c.lastSeq
	c.invals = append(c.invals, inv)
	if len(c.invals) > keptInvalidations {
		c.invals = c.invals[len(c.invals)-keptInvalidations:]
	}
	for k, e := range c.entries {
		if inv.matches(e.path) {
			delete(c.entries, k)
		}
	}
	return inv
}

// invalidationFor: a write to /x/{id}/... touches everything under /x/{id} and the list /x; a write to /x (a
// create) touches everything under /x.
func invalidationFor(path string) invalidation {
	segs := splitPath(path)
	switch len(segs) {
	case 0:
		return invalidation{list: "/", root: "/"}
	case 1:
		return invalidation{list: "/" + segs[0], root: "/" + segs[0]}
	}
	return invalidation{list: "/" + segs[0], root: "/" + segs[0] + "/" + segs[1]}
}

func (inv invalidation) matches(path string) bool {
	p := normPath(path)
	return inv.root == "/" || p == inv.list || p == inv.root || strings.HasPrefix(p, inv.root+"/")
}

func normPath(p string) string { return "/" + strings.Trim(p, "/") }

// flightGroup shares one request between identical concurrent GETs. Unlike x/sync/singleflight, the shared
// request runs detached from the caller that started it and is cancelled only when every caller has gone.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight
}

type flight struct {
	path    string
	done    chan struct{}
	resp    *cachedResponse
	err     error
	waiters int
	cancel  context.CancelFunc
	ref     *waiterRef
}

// waiterRef lets a joining interactive caller raise the priority of a queued background fetch (guarded by
// Gate.mu).
type waiterRef struct {
	w           *waiter
	interactive bool
}

func (g *Gate) joinFlight(ctx context.Context, req *http.Request, t Ticket, key string, ttl time.Duration) (*http.Response, error) {
	g.flights.mu.Lock()
	f := g.flights.m[key]
	leader := f == nil
	if leader {
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		// The shared request outlives its first caller: it must not report to that caller's observer after the
		// caller left, nor fail every joiner on that caller's MaxWait (each caller's MaxWait is checked on entry).
		fctx = WithMaxWait(WithWaitObserver(fctx, nil), 0)
		f = &flight{path: req.URL.Path, done: make(chan struct{}), cancel: cancel, ref: &waiterRef{}}
		g.flights.m[key] = f
		go g.runFlight(fctx, req.Clone(fctx), t, key, ttl, f)
	}
	f.waiters++
	g.flights.mu.Unlock()
	if !leader {
		g.mu.Lock()
		g.b.stats.coalesced++
		if t.Class == Interactive {
			f.ref.interactive = true
			if f.ref.w != nil {
				g.b.upgrade(f.ref.w, time.Now())
			}
		}
		g.mu.Unlock()
	}
	select {
	case <-f.done:
		closeBody(req)
		if f.err != nil {
			return nil, f.err
		}
		return f.resp.response(req), nil
	case <-ctx.Done():
		g.flights.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			if g.flights.m[key] == f {
				delete(g.flights.m, key)
			}
		}
		g.flights.mu.Unlock()
		closeBody(req)
		w := g.newWaiter(ctx, req, t)
		g.mu.Lock()
		defer g.mu.Unlock()
		return nil, g.b.contextError(ctx, w, time.Now())
	}
}

func (g *Gate) runFlight(ctx context.Context, req *http.Request, t Ticket, key string, ttl time.Duration, f *flight) {
	defer f.cancel()
	since := g.cache.seq()
	resp, err := g.do(ctx, req, t, f.ref)
	if err == nil {
		var body []byte
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			err = fmt.Errorf("ratelimit: read %s %s: %w", req.Method, req.URL.Path, err)
		} else {
			f.resp = snapshotResponse(resp, body)
			if ttl > 0 && resp.StatusCode/100 == 2 && int64(len(body)) <= g.opts.MaxCacheBody {
				g.cache.put(key, req.URL.Path, f.resp, ttl, since, time.Now())
			}
		}
	}
	f.err = err
	g.flights.mu.Lock()
	if g.flights.m[key] == f {
		delete(g.flights.m, key)
	}
	g.flights.mu.Unlock()
	close(f.done)
}

// invalidate drops cached GETs and forgets shared fetches of the resource a write to path touches.
func (g *Gate) invalidate(path string) {
	inv := g.cache.invalidate(path)
	g.flights.mu.Lock()
	defer g.flights.mu.Unlock()
	for k, f := range g.flights.m {
		if inv.matches(f.path) {
			delete(g.flights.m, k) // callers already waiting keep it; new ones start afresh
		}
	}
}
