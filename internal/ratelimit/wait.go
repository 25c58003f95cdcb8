package ratelimit

import (
	"context"
	"time"
)

// WaitInfo describes a request that has to wait for budget before it is sent.
type WaitInfo struct {
	Ahead    int           // requests queued ahead of this one on the same key (all classes that go before it)
	Estimate time.Duration // how long until it is expected to be sent, counting the waiters ahead
	Until    time.Time     // now + Estimate
	Reason   string        // "window", "route bucket", "server 429", "quota probe", ... human words
}

type waitObserverKey struct{}
type maxWaitKey struct{}

// WithWaitObserver: fn is called (from any goroutine, never under the gate's lock) when a request sent with ctx
// starts to wait with an estimate > 0, and again whenever its estimate changes by more than 1 s or its position
// changes; never after it is sent or fails.
//
// "Changes" compares the expected send time (Until): an estimate that only counts down as time passes is not a
// change. fn runs on the waiting request's goroutine, before it is sent, so it should return quickly.
func WithWaitObserver(ctx context.Context, fn func(WaitInfo)) context.Context {
	return context.WithValue(ctx, waitObserverKey{}, fn)
}

// WithMaxWait: if the estimated wait of a request sent with ctx exceeds d (at enqueue or later), it fails at once
// with *RateLimitedError{RetryAt: the estimated send time, Reason: ...} instead of waiting.
func WithMaxWait(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, maxWaitKey{}, d)
}

func waitOptions(ctx context.Context) (fn func(WaitInfo), maxWait time.Duration) {
	fn, _ = ctx.Value(waitObserverKey{}).(func(WaitInfo))
	if d, ok := ctx.Value(maxWaitKey{}).(time.Duration); ok && d > 0 {
		maxWait = d
	}
	return fn, maxWait
}

// Estimate reports what a new request with ticket t would face now (Ahead, Estimate) without queueing it. It
// knows no path, so route buckets are not counted (EstimateRoute counts them).
func (g *Gate) Estimate(t Ticket) WaitInfo {
	t = normalTicket(t)
	g.mu.Lock()
	defer g.mu.Unlock()
	w := &waiter{ticket: t, cost: t.Cost}
	return g.b.estimate(w, time.Now(), false)
}

// EstimateRoute is Estimate for a request with this method and path: it also counts the route buckets the path
// falls in, their queue and, for background requests, their interactive reserve.
func (g *Gate) EstimateRoute(method, path string, t Ticket) WaitInfo {
	t = normalTicket(t)
	w := &waiter{ticket: t, cost: t.Cost, method: method, path: path, buckets: g.bucketsFor(method, path)}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.b.estimate(w, time.Now(), false)
}

// watched says the waiter wants its wait estimated while it is queued.
func (w *waiter) watched() bool { return w.observer != nil || w.maxWait > 0 }

// waitChange is the drift of the expected send time that counts as a change for the observer.
const waitChange = time.Second

// refreshWaits recomputes the estimate of every watched queued waiter: it fails those whose estimate passed
// their MaxWait and hands changed estimates to the waiters' goroutines for their observers.
func (b *budget) refreshWaits(now time.Time) {
	if b.watchedQueued == 0 {
		return
	}
	var doomed []*waiter
	var infos []WaitInfo
	for c := range b.queues {
		b.queues[c].each(func(w *waiter) {
			if !w.watched() {
				return
			}
			info := b.estimate(w, now, true)
			if w.maxWait > 0 && info.Estimate > w.maxWait {
				doomed = append(doomed, w)
				infos = append(infos, info)
				return
			}
			if w.observer == nil || info.Estimate <= 0 {
				return
			}
			d := info.Until.Sub(w.lastInfo.Until)
			if w.notified && info.Ahead == w.lastInfo.Ahead && d <= waitChange && d >= -waitChange {
				return
			}
			w.notified, w.lastInfo = true, info
			w.pending, w.hasPending = info, true
			select {
			case w.notify <- struct{}{}:
			default:
			}
		})
	}
	for i, w := range doomed {
		b.fail(w, &RateLimitedError{RetryAt: infos[i].Until, Reason: infos[i].Reason})
	}
}

// estimate is when w is expected to be sent, counting the waiters that go before it: interactive ones before
// background ones, round-robin between users within a class. queued says w is in its queue; otherwise it is
// placed as a new request would be (at the back of its user's queue).
func (b *budget) estimate(w *waiter, now time.Time, queued bool) WaitInfo {
	ahead, bucketAhead := b.aheadOf(w, queued)
	cost := b.costOf(w)
	at, reason := b.earliestSend(w, now)
	if t, r := b.tokenTime(w.ticket.Class, ahead+cost, now); t.After(at) {
		at, reason = t, r
	}
	for i, bk := range w.buckets {
		if t := bk.nthFreeFor(now, w.ticket.Class, bucketAhead[i][Interactive], bucketAhead[i][Background]+cost); t.After(at) {
			at, reason = t, "route bucket"
		}
	}
	info := WaitInfo{Ahead: ahead, Reason: reason, Until: now}
	if at.After(now) {
		info.Estimate, info.Until = at.Sub(now), at
	}
	return info
}

// aheadOf counts the waiters served before w, and for each of w's route buckets those of them that share it, by
// class. Within a class, a waiter at index k of its user's queue follows the first k (or k+1, for users before it
// in the round-robin) waiters of every other user.
func (b *budget) aheadOf(w *waiter, queued bool) (int, [][2]int) {
	bucketAhead := make([][2]int, len(w.buckets))
	count := func(x *waiter) {
		for i, bk := range w.buckets {
			if containsBucket(x.buckets, bk) {
				bucketAhead[i][x.ticket.Class]++
			}
		}
	}
	ahead := 0
	if w.ticket.Class == Background {
		ahead += b.queues[Interactive].size
		if len(w.buckets) > 0 {
			b.queues[Interactive].each(count)
		}
	}
	q := &b.queues[w.ticket.Class]
	u := b.users[userKey{class: w.ticket.Class, user: w.ticket.User}]
	k, pos := 0, -1
	if u != nil {
		k = len(u.waiters)
		if queued {
			for i, x := range u.waiters {
				if x == w {
					k = i
					break
				}
			}
		}
		if u.inRing {
			for i, v := range q.ring {
				if v == u {
					pos = i
					break
				}
			}
		}
	}
	n := len(q.ring)
	for i, v := range q.ring {
		take := k
		if v != u && (pos < 0 || (i-q.next+n)%n < (pos-q.next+n)%n) {
			take = k + 1 // v is served before w's user in each round (a newcomer joins at the round's end)
		}
		take = min(take, len(v.waiters))
		ahead += take
		if len(w.buckets) > 0 {
			for _, x := range v.waiters[:take] {
				count(x)
			}
		}
	}
	return ahead, bucketAhead
}

// tokenTime is when the n-th token from now becomes available to class c: what is left of the current window
// first, then whole windows of the limit less the other clients' share, one after the other. Background tokens
// follow the pace line in every window.
func (b *budget) tokenTime(c Class, n int, now time.Time) (time.Time, string) {
	t0, reason := now, "window"
	if b.blockedUntil.After(t0) {
		t0, reason = b.blockedUntil, "server 429"
	}
	if b.storeHoldUntil.After(t0) {
		t0 = b.storeHoldUntil
	}
	L := b.limit
	perWindow := max(1, L-b.cur.foreign)
	var next time.Time // local start of the first window after the current one
	firstSupply := perWindow
	var span time.Duration
	if !b.needProbe(t0) {
		avail := b.avail(now)
		if n <= avail {
			if c == Interactive {
				return t0, reason
			}
			if t := b.lineCrossing(float64(avail - n)); t.After(t0) {
				return t, "window"
			}
			return t0, reason
		}
		n -= max(avail, 0)
		if !now.Before(b.earliestEnd().Add(-b.offset.upper())) {
			// The window may already have rolled at the server: what is in flight, and the rest of this window
			// when it goes now, may be counted in the next one (the gate charges them there at the roll).
			firstSupply = max(1, perWindow-len(b.inflight)-max(avail, 0))
		}
		next = b.endLocal()
		if next.Before(t0) {
			next = t0
		}
		start, stop := b.paceSpan()
		span = stop.Sub(start)
		reason = "window"
	} else {
		// The window is unknown or over: a probe goes first, and the queue opens when its answer is back.
		next = t0
		if b.probe.inFlight {
			if t := b.probe.sentAt.Add(b.rtt); t.After(next) {
				next = t
			}
		} else if n > 1 {
			next = next.Add(b.rtt)
		}
		firstSupply = max(1, L-len(b.inflight))
		span = max(b.window-time.Second, b.window/2)
		if reason == "window" && n > 1 {
			reason = "probe"
		}
	}
	i, j := 0, n // window index after the current one, token index within it (1-based)
	if j > firstSupply {
		j -= firstSupply
		i = 1 + (j-1)/perWindow
		j = (j-1)%perWindow + 1
	}
	start := next.Add(time.Duration(i) * b.window)
	if i > 0 && b.needProbe(t0) {
		// Later windows open a guard after their reset, as endLocal does, and a second later still when the
		// reset is read as rounded.
		start = start.Add(b.opts.ResetGuard)
		if !b.cur.known || !b.cur.exact {
			start = start.Add(time.Second)
		}
	}
	if c == Interactive {
		return start, reason
	}
	supply := perWindow
	if i == 0 {
		supply = firstSupply
	}
	f := b.lineFraction(float64(supply - j))
	return start.Add(time.Duration(f*float64(span)) + time.Millisecond), reason
}

// nthFreeFor is when a request of class c fits in the bucket behind nInt interactive and, for a background
// request, nBg background sends (its own included) queued before it: interactive ones take any free slot first,
// then background ones leave the reserve, one after the other.
func (bk *bucket) nthFreeFor(now time.Time, c Class, nInt, nBg int) time.Time {
	if c != Background || bk.reserve <= 0 {
		return bk.nthFree(now, nInt+nBg)
	}
	bk.prune(now)
	sends := append(make([]time.Time, 0, len(bk.sends)+nInt+nBg), bk.sends...)
	t := now
	if bk.blockedUntil.After(t) {
		t = bk.blockedUntil
	}
	hold, span := bk.window+bucketGuard, bk.reserveSpan()
	keep := bk.limit - bk.reserveAt(now)
	period, tat := bk.pacePeriod(now), bk.bgTAT
	for k := range nInt + nBg {
		m := len(sends)
		if m >= bk.limit {
			if f := sends[m-bk.limit].Add(hold); f.After(t) {
				t = f
			}
		}
		if k >= nInt {
			if m >= keep {
				if f := sends[m-keep].Add(span); f.After(t) {
					t = f
				}
			}
			if !tat.IsZero() {
				if f := tat.Add(-time.Duration(routeBackgroundBurst-1) * period); f.After(t) {
					t = f
				}
			}
			if tat.Before(t) {
				tat = t
			}
			tat = tat.Add(period)
		}
		sends = append(sends, t)
	}
	return t
}

// nthFree is when n more sends fit in the bucket, its later windows included.
func (bk *bucket) nthFree(now time.Time, n int) time.Time {
	bk.prune(now)
	t := now
	if free := bk.limit - len(bk.sends); n > free {
		m := n - free - 1 // sends beyond the free slots, 0-based
		rounds, idx := m/bk.limit, m%bk.limit
		base := now
		if idx < len(bk.sends) {
			base = bk.sends[idx]
		}
		t = base.Add(time.Duration(rounds+1) * (bk.window + bucketGuard))
	}
	if bk.blockedUntil.After(t) {
		t = bk.blockedUntil
	}
	return t
}
