package ratelimit

import (
	"fmt"
	"strings"
	"time"
)

// Route is a stricter, locally counted bucket for some requests (the server sends no headers for it). A request
// that matches a route must pass the route's bucket and the main window.
//
// Pattern is a path pattern: literal segments, "{name}" for exactly one segment, "*" as the last segment for one
// or more segments, and a trailing "*" inside the last segment for a prefix ("/monitors*" matches "/monitors",
// "/monitors/1" and "/monitors/1/run").
type Route struct {
	// Method is an HTTP method, or "" / "*" for any.
	Method  string
	Pattern string
	// Limit requests per Window, enforced as a sliding window (at most Limit in any Window), which is safe
	// whether the server counts in fixed or sliding windows.
	Limit  int
	Window time.Duration
	// Bucket names a counter shared by several routes ("10 per 10 s over GET /collections, GET /workspaces and
	// GET /workspaces/{id} together"); empty gives the route its own counter.
	Bucket string
}

// pathPattern matches request paths against a Route or CacheRule pattern.
type pathPattern struct {
	segs   []string
	prefix bool // the last segment ends in "*": prefix match on it, anything after
	rest   bool // the last segment is "*": one or more segments
}

func compilePattern(p string) (pathPattern, error) {
	if !strings.HasPrefix(p, "/") {
		return pathPattern{}, fmt.Errorf("ratelimit: path pattern %q must start with /", p)
	}
	pp := pathPattern{segs: splitPath(p)}
	if n := len(pp.segs); n > 0 {
		last := pp.segs[n-1]
		switch {
		case last == "*":
			pp.rest, pp.segs = true, pp.segs[:n-1]
		case strings.HasSuffix(last, "*"):
			pp.prefix, pp.segs[n-1] = true, strings.TrimSuffix(last, "*")
		}
	}
	return pp, nil
}

func (pp pathPattern) match(path string) bool {
	segs := splitPath(path)
	n := len(pp.segs)
	switch {
	case pp.rest && len(segs) <= n:
		return false
	case pp.prefix && len(segs) < n:
		return false
	case !pp.rest && !pp.prefix && len(segs) != n:
		return false
	}
	for i, want := range pp.segs {
		got := segs[i]
		switch {
		case isPlaceholder(want):
			if got == "" {
				return false
			}
		case pp.prefix && i == n-1:
			if !strings.HasPrefix(got, want) {
				return false
			}
		case want != got:
			return false
		}
	}
	return true
}

func isPlaceholder(seg string) bool {
	return len(seg) > 2 && strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}")
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

type routeMatcher struct {
	method  string
	pattern pathPattern
	bucket  *bucket
}

func (r *routeMatcher) matches(method, path string) bool {
	return (r.method == "" || r.method == "*" || strings.EqualFold(r.method, method)) && r.pattern.match(path)
}

// bucket is a sliding-window log of the local send times charged to one route bucket.
type bucket struct {
	name         string
	limit        int
	window       time.Duration
	sends        []time.Time // ascending
	blockedUntil time.Time   // a server 429 on this bucket's routes
}

// bucketGuard pads the sliding window for latency jitter: two sends exactly Window apart may arrive closer.
const bucketGuard = 250 * time.Millisecond

func (b *bucket) prune(now time.Time) {
	cut := 0
	for cut < len(b.sends) && !now.Before(b.sends[cut].Add(b.window+bucketGuard)) {
		cut++
	}
	b.sends = b.sends[cut:]
}

// nextFree is the earliest time cost more sends fit.
func (b *bucket) nextFree(now time.Time, cost int) time.Time {
	b.prune(now)
	t := now
	cost = min(cost, b.limit)
	if over := len(b.sends) + cost - b.limit; over > 0 {
		t = b.sends[over-1].Add(b.window + bucketGuard)
	}
	if b.blockedUntil.After(t) {
		t = b.blockedUntil
	}
	return t
}

func (b *bucket) add(t time.Time, cost int) {
	for range min(cost, b.limit) {
		b.sends = append(b.sends, t)
	}
}

// remove gives back sends charged at t that were never made.
func (b *bucket) remove(t time.Time, cost int) {
	for i := len(b.sends) - 1; i >= 0 && cost > 0; i-- {
		if b.sends[i].Equal(t) {
			b.sends = append(b.sends[:i], b.sends[i+1:]...)
			cost--
		}
	}
}
