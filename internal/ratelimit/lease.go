package ratelimit

import (
	"context"
	"net/http"
	"time"
)

// Lease is one granted request slot from Acquire.
type Lease struct {
	g    *Gate
	w    *waiter
	done bool
}

// Acquire waits for one request slot for t, as RoundTrip would, for callers that send requests some other way.
// The caller must end the lease with Done (the request was sent) or Cancel (it was not). Leases carry no API
// key, so with a WindowStore they count under the key hash "anonymous".
func (g *Gate) Acquire(ctx context.Context, t Ticket) (*Lease, error) {
	t = normalTicket(t)
	w := &waiter{ticket: t, cost: t.Cost, method: "ACQUIRE", keyID: "anonymous"}
	w.observer, w.maxWait = waitOptions(ctx)
	if d, ok := ctx.Deadline(); ok {
		w.deadline = d
	}
	front := false
	for {
		if err := g.wait(ctx, w, front); err != nil {
			return nil, err
		}
		front = true
		if !g.storeAdmit(ctx, w) {
			continue
		}
		g.mu.Lock()
		ok, err := g.b.confirm(w, time.Now())
		g.mu.Unlock()
		if err != nil {
			return nil, err
		}
		if ok {
			return &Lease{g: g, w: w}, nil
		}
	}
}

// Done reports how the request went (resp may be nil when only err is known) and frees the slot. The gate learns
// from resp's headers exactly as for its own requests, 429s and quota included; it does not retry.
func (l *Lease) Done(resp *http.Response, err error) {
	if l.done {
		return
	}
	l.done = true
	g := l.g
	recv := time.Now()
	var h Headers
	quota := false
	if err == nil && resp != nil {
		h = g.parse(resp, recv)
		if resp.StatusCode == http.StatusTooManyRequests {
			quota = h.MonthRemaining == 0 || g.peekQuota(resp)
		}
	} else if err == nil {
		h = Headers{Limit: -1, Remaining: -1, RetryAfter: -1, MonthLimit: -1, MonthRemaining: -1}
		resp = &http.Response{StatusCode: http.StatusOK, Header: http.Header{}}
	}
	g.mu.Lock()
	g.b.finish(l.w, resp, err, h, quota, recv, false)
	g.mu.Unlock()
	g.storeSettle(context.Background(), l.w)
}

// Cancel gives the slot back: the request was never sent.
func (l *Lease) Cancel() {
	if l.done {
		return
	}
	l.done = true
	l.g.mu.Lock()
	defer l.g.mu.Unlock()
	l.w.sentAt = time.Time{}
	l.g.b.stats.sent--
	l.g.b.cancelGrant(l.w, time.Now())
}
