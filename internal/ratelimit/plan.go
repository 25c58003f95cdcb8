package ratelimit

import (
	"context"
	"net/http"
	"time"
)

// Send is a request a caller expects to make: N requests (0 means 1) of Method on Path.
type Send struct {
	Method, Path string
	N            int
}

// EstimateSends is EstimateRoute for several requests at once: what the last of them would face were they all
// queued now with ticket t, behind the waiters that go before t's user. The main window counts them all; each
// route bucket counts those of them whose path falls in it. Callers that know what a job will ask for (a command
// that lists, then reads each item) use it to see a wait its later requests will meet before they are made.
func (g *Gate) EstimateSends(t Ticket, sends []Send) WaitInfo {
	t = normalTicket(t)
	total := 0
	var bks []*bucket
	var per []int
	for _, s := range sends {
		n := max(s.N, 1)
		total += n
		for _, bk := range g.bucketsFor(s.Method, s.Path) {
			i := 0
			for i < len(bks) && bks[i] != bk {
				i++
			}
			if i == len(bks) {
				bks, per = append(bks, bk), append(per, 0)
			}
			per[i] += n
		}
	}
	now := time.Now()
	if total == 0 {
		return WaitInfo{Until: now}
	}
	t.Cost = total
	w := &waiter{ticket: t, cost: total, buckets: bks}
	g.mu.Lock()
	defer g.mu.Unlock()
	ahead, bucketAhead := g.b.aheadOf(w, false)
	at, reason := g.b.earliestSend(&waiter{ticket: t, cost: total}, now)
	if tt, r := g.b.tokenTime(t.Class, ahead+total, now); tt.After(at) {
		at, reason = tt, r
	}
	for i, bk := range bks {
		if tt := bk.nthFreeFor(now, t.Class, bucketAhead[i][Interactive], bucketAhead[i][Background]+per[i]); tt.After(at) {
			at, reason = tt, "route bucket"
		}
	}
	info := WaitInfo{Ahead: ahead, Reason: reason, Until: now}
	if at.After(now) {
		info.Estimate, info.Until = at.Sub(now), at
	}
	return info
}

// Cached says whether a GET of a path that matches pattern (as in Route) would be answered from the response
// cache at `at`: an answer for such a path is cached and still fresh then. The query string is not compared, so
// it answers for the path, not for one URL. A shared request in flight does not count: joining it costs no
// budget, but its wait is still ahead.
func (g *Gate) Cached(pattern string, at time.Time) bool {
	pp, err := compilePattern(pattern)
	if err != nil {
		return false
	}
	c := g.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if at.Before(e.expires) && pp.match(e.path) {
			return true
		}
	}
	return false
}

type sendObserverKey struct{}

// WithSendObserver: fn is called each time a request made with ctx is handed to the transport (a retry is a new
// send; a cache hit or a request that joins an identical one in flight is none). It runs on the sending
// goroutine and should return quickly. A shared request started by ctx reports to fn even after its caller left.
func WithSendObserver(ctx context.Context, fn func(method, path string)) context.Context {
	return context.WithValue(ctx, sendObserverKey{}, fn)
}

func observeSend(req *http.Request) {
	if fn, ok := req.Context().Value(sendObserverKey{}).(func(method, path string)); ok && fn != nil {
		fn(req.Method, req.URL.Path)
	}
}
