package ratelimit

import (
	"fmt"
	"math"
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
	// GET /workspaces/{id} together"); empty gives the route its own counter. The first route naming a bucket
	// sets its Limit, Window and reserve.
	Bucket string
	// Reserve is how many of the bucket's Limit are kept for interactive traffic: background requests never
	// leave fewer than Reserve slots free for a person arriving within ReserveWithin, and keep an even pace.
	// It rises with the interactive demand of recent windows, up to half the bucket. 0 means the default,
	// ⌈0.3·Limit⌉ within [1, Limit/2] (3 of 10; none for a Limit of 1); negative means none: every class
	// shares the whole bucket, unpaced, as before the reserve existed.
	Reserve int
	// ReserveWithin is how soon a person must find a reserve slot. Background traffic may borrow reserve
	// slots that come free again within it, so with nobody asking it still uses most of the bucket. 0 means
	// the default, min(Window/5, 2 s); negative means the reserve is never lent (background keeps to
	// Limit − Reserve of every window).
	ReserveWithin time.Duration
}

// reserveFraction is the share of a route bucket kept for people by default. A route bucket is small (Postman's
// is 10 per 10 s) and one person's command is one or two reads on it (a list to resolve a name, then the item):
// the main window's 15 % would be 1.5 slots, not even one command, so route buckets keep 30 %, which leaves room
// for one command and another person's read in the same window, at most half the bucket like the main reserve.
const reserveFraction = 0.3

// maxReserveWithin caps the default ReserveWithin: the S2 guarantee is an interactive p99 of 5 s end to end, and a
// command may make two route reads one after the other.
const maxReserveWithin = 2 * time.Second

// routeReserve returns r's reserve and lending horizon with defaults applied.
func routeReserve(r Route) (int, time.Duration) {
	res := r.Reserve
	switch {
	case res < 0 || r.Limit < 2:
		res = 0
	case res == 0:
		res = max(1, int(math.Ceil(reserveFraction*float64(r.Limit))))
		res = min(res, r.Limit/2)
	default:
		res = min(res, r.Limit-1) // background must keep at least one slot, or it would never be sent
	}
	within := r.ReserveWithin
	switch {
	case within < 0:
		within = 0
	case within == 0:
		within = min(r.Window/5, maxReserveWithin)
	}
	within = min(within, r.Window) // the span background is counted over stays ≥ the guard
	return res, within
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

// PathMatches says whether path falls under pattern, in the pattern syntax of Route ("{id}" is one non-empty
// segment, a trailing "*" a prefix); a malformed pattern matches nothing.
func PathMatches(pattern, path string) bool {
	pp, err := compilePattern(pattern)
	return err == nil && pp.match(path)
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
//
// A send holds its slot for window+bucketGuard. Interactive requests may take any free slot. A background request
// only one that leaves the reserve free for a person arriving within the next `within`: among the sends made in
// the last window+bucketGuard−within (those still holding a slot `within` from now), every class counted, at most
// limit−reserve; and it keeps to an even pace of limit−reserve per that span, routeBackgroundBurst at once. Slots
// taken earlier come free within `within`, so background may borrow them: a person finds one of the reserve slots
// (less what other people took meanwhile) within `within`, one beyond them about a pace period later, and
// background traffic alone still gets limit−reserve per window+guard−within: it is never starved by the reserve,
// only by people using more than half the bucket.
type bucket struct {
	name         string
	limit        int
	window       time.Duration
	reserve      int           // slots kept for interactive traffic at least (0: none)
	within       time.Duration // how soon a person finds a reserve slot
	sends        []time.Time   // ascending
	blockedUntil time.Time     // a server 429 on this bucket's routes

	// bgTAT paces background sends (GCRA): the theoretical time of the next one at the pace
	// (limit−reserve) per reserveSpan; one may go when bgTAT − (routeBackgroundBurst−1)·period ≤ now.
	bgTAT time.Time

	// demand is the interactive sends per window, averaged over recent windows (counted in windows of the
	// bucket's length from demandStart; demandCount is the current one's).
	demand      float64
	demandStart time.Time
	demandCount int
}

// demandDecay is the weight of the past in the interactive demand average, per window (as the main window's).
const demandDecay = 0.7

// demandAt is the interactive demand per window as of now.
func (b *bucket) demandAt(now time.Time) float64 {
	d, start, n := b.demand, b.demandStart, b.demandCount
	for k := 0; !start.IsZero() && !now.Before(start.Add(b.window)) && k < 16; k++ {
		d, n, start = demandDecay*d+(1-demandDecay)*float64(n), 0, start.Add(b.window)
	}
	return d
}

// noteInteractive counts an interactive send in the demand average.
func (b *bucket) noteInteractive(now time.Time, cost int) {
	if b.reserve <= 0 {
		return
	}
	if b.demandStart.IsZero() || !now.Before(b.demandStart.Add(16*b.window)) {
		b.demand = b.demandAt(now)
		b.demandStart, b.demandCount = now, 0
	}
	for !now.Before(b.demandStart.Add(b.window)) {
		b.demand = demandDecay*b.demand + (1-demandDecay)*float64(b.demandCount)
		b.demandStart, b.demandCount = b.demandStart.Add(b.window), 0
	}
	b.demandCount += min(cost, b.limit)
}

// reserveAt is the reserve as of now: the configured one, or the recent interactive demand per window if that is
// more, at most half the bucket. Every class's sends count against Limit − reserve, so what people use now is
// already kept from background traffic: the reserve is room for the next ones, one window's worth of them (the
// main window's 1.5 × demand counts the window's interactive use inside the reserve; here it would count twice).
func (b *bucket) reserveAt(now time.Time) int {
	if b.reserve <= 0 {
		return 0
	}
	r := max(b.reserve, int(math.Ceil(b.demandAt(now)-1e-9)))
	return min(r, max(b.reserve, b.limit/2))
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

// reserveSpan is how far back background sends are counted against limit−reserve.
func (b *bucket) reserveSpan() time.Duration { return b.window + bucketGuard - b.within }

// nextFreeFor is nextFree for a request of class c: a background request must also leave the reserve.
func (b *bucket) nextFreeFor(now time.Time, c Class, cost int) time.Time {
	t := b.nextFree(now, cost)
	if c != Background || b.reserve <= 0 {
		return t
	}
	keep := b.limit - b.reserveAt(now)
	span := b.reserveSpan()
	if p := b.paceAt(now); p.After(t) {
		t = p
	}
	i := 0
	for i < len(b.sends) && !now.Before(b.sends[i].Add(span)) {
		i++
	}
	recent := b.sends[i:]
	if over := len(recent) + min(cost, keep) - keep; over > 0 {
		if r := recent[over-1].Add(span); r.After(t) {
			t = r
		}
	}
	return t
}

// routeBackgroundBurst is how many background sends may go at once on a route bucket before the pace applies.
// Spread sends come free one by one: a person who finds the reserve taken by other people waits for the next one
// to age out, about a pace period, rather than for a burst's whole window. In 10-minute runs of the route bucket
// benchmark over seven seeds, 2 kept the interactive p99 under 5 s in all; 1 and 3 each missed once, no pacing
// three times.
const routeBackgroundBurst = 2

// pacePeriod is the background pace on the bucket: limit−reserve sends per reserveSpan.
func (b *bucket) pacePeriod(now time.Time) time.Duration {
	return b.reserveSpan() / time.Duration(max(1, b.limit-b.reserveAt(now)))
}

// paceAt is the earliest a background send may go at the pace.
func (b *bucket) paceAt(now time.Time) time.Time {
	if b.reserve <= 0 || b.bgTAT.IsZero() {
		return time.Time{}
	}
	return b.bgTAT.Add(-time.Duration(routeBackgroundBurst-1) * b.pacePeriod(now))
}

// paceBackground charges a background send of cost to the pace (negative cost gives it back).
func (b *bucket) paceBackground(now time.Time, cost int) {
	if b.reserve <= 0 {
		return
	}
	p := b.pacePeriod(now)
	if cost < 0 {
		b.bgTAT = b.bgTAT.Add(time.Duration(cost) * p)
		return
	}
	if b.bgTAT.Before(now) {
		b.bgTAT = now
	}
	b.bgTAT = b.bgTAT.Add(time.Duration(min(cost, b.limit)) * p)
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
