package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Queue and pump: admission, the grant loop, and accounting of each answer.

// precheck fails a request that cannot be sent before its deadline, or at all. With an exhausted quota, the
// first request after QuotaProbeInterval becomes the quota probe if takeProbe.
func (b *budget) precheck(w *waiter, now time.Time, takeProbe bool) error {
	if b.closed {
		return ErrClosed
	}
	if b.month.exhausted {
		if b.month.probeInFlight || now.Before(b.month.nextProbe) {
			return quotaError(w)
		}
		if !takeProbe {
			return nil
		}
		w.quotaProbe = true
		b.month.probeInFlight = true
		b.month.nextProbe = now.Add(b.opts.QuotaProbeInterval)
	}
	if !w.deadline.IsZero() {
		if at, reason := b.earliestSend(w, now); b.tooLate(w, at, now) {
			b.releaseQuotaProbe(w, now)
			return &RateLimitedError{RetryAt: at, Reason: reason}
		}
	}
	return nil
}

// tooLate says a waiter cannot be served before its deadline. A request that must wait for the budget is
// refused unless a round trip still fits after its earliest send: sending it only for the caller to give up
// mid-flight would spend a request and still fail. One that could go now is sent however close the deadline
// (that is an ordinary timeout, not a rate limit, and refusing it would point at a retry time of "now").
func (b *budget) tooLate(w *waiter, at, now time.Time) bool {
	if w.deadline.Before(at) {
		return true
	}
	return at.After(now) && w.deadline.Before(at.Add(b.rtt))
}

// earliestSend is the earliest moment w could possibly be sent (ignoring who is ahead of it), and why.
func (b *budget) earliestSend(w *waiter, now time.Time) (time.Time, string) {
	at, reason := now, "window"
	if b.blockedUntil.After(at) {
		at, reason = b.blockedUntil, "server 429"
	}
	cost := b.costOf(w)
	if !b.needProbe(now) {
		end := b.endLocal()
		a := b.avail(now) - cost
		sent := b.cur.users[userKey{class: w.ticket.Class, user: w.ticket.User}]
		switch {
		case a < 0, b.opts.PerUserLimit > 0 && sent+cost > b.opts.PerUserLimit:
			if end.After(at) {
				at, reason = end, "window"
			}
		case w.ticket.Class == Background:
			if t := b.lineCrossing(float64(a)); t.After(at) {
				at, reason = t, "window"
			}
		}
	}
	if b.storeHoldUntil.After(at) {
		at, reason = b.storeHoldUntil, "window"
	}
	for _, bk := range w.buckets {
		if t := bk.nextFreeFor(now, w.ticket.Class, cost); t.After(at) {
			at, reason = t, "route bucket"
		}
	}
	return at, reason
}

func (b *budget) enqueue(w *waiter, front bool, now time.Time) error {
	if err := b.precheck(w, now, true); err != nil {
		return err
	}
	w.user = b.userFor(w.ticket)
	w.ready = make(chan struct{}, 1)
	w.state = stateQueued
	w.err = nil
	b.queues[w.ticket.Class].push(w, front)
	if !w.deadline.IsZero() {
		b.deadlines++
	}
	if w.watched() {
		b.watchedQueued++
		w.notify = make(chan struct{}, 1)
		w.notified, w.hasPending, w.lastInfo = false, false, WaitInfo{}
		if w.maxWait > 0 {
			if info := b.estimate(w, now, true); info.Estimate > w.maxWait {
				b.unqueue(w)
				w.state = stateDone
				b.releaseQuotaProbe(w, now)
				return &RateLimitedError{RetryAt: info.Until, Reason: info.Reason}
			}
		}
	}
	w.user.last = now
	b.pump(now)
	return nil
}

// unqueue takes a queued waiter out of its queue and its counters.
func (b *budget) unqueue(w *waiter) {
	if !b.queues[w.ticket.Class].remove(w) {
		return
	}
	if !w.deadline.IsZero() {
		b.deadlines--
	}
	if w.watched() {
		b.watchedQueued--
	}
}

func (b *budget) dequeue(w *waiter, now time.Time) {
	b.unqueue(w)
	w.state = stateDone
	b.releaseQuotaProbe(w, now)
	b.pump(now)
}

// fail ends a queued waiter with err.
func (b *budget) fail(w *waiter, err error) {
	b.unqueue(w)
	w.state, w.err = stateDone, err
	w.ready <- struct{}{}
}

func (b *budget) failQueued(errFor func(*waiter) error) {
	var doomed []*waiter
	for c := range b.queues {
		b.queues[c].each(func(w *waiter) {
			if errFor(w) != nil {
				doomed = append(doomed, w)
			}
		})
	}
	for _, w := range doomed {
		b.fail(w, errFor(w))
	}
}

// upgrade moves a queued background waiter to the interactive class (an interactive caller joined its flight).
func (b *budget) upgrade(w *waiter, now time.Time) {
	if w.ticket.Class == Interactive {
		return
	}
	if w.state != stateQueued {
		w.ticket.Class = Interactive // takes effect at its next (re)queue
		return
	}
	b.queues[Background].remove(w)
	w.ticket.Class = Interactive
	w.user = b.userFor(w.ticket)
	b.queues[Interactive].push(w, false)
	b.pump(now)
}

func (b *budget) contextError(ctx context.Context, w *waiter, now time.Time) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		at, reason := b.earliestSend(w, now)
		return fmt.Errorf("%w: %w", &RateLimitedError{RetryAt: at, Reason: reason}, ctx.Err())
	}
	return fmt.Errorf("ratelimit: %s %s not sent: %w", w.method, w.path, ctx.Err())
}

// pump grants every waiter that may go now and arms the timer for the next moment something may change.
func (b *budget) pump(now time.Time) {
	if b.closed {
		return
	}
	if b.month.exhausted {
		b.failQueued(func(w *waiter) error {
			if w.quotaProbe {
				return nil
			}
			return quotaError(w)
		})
	}
	if b.deadlines > 0 {
		b.failQueued(func(w *waiter) error {
			if w.deadline.IsZero() {
				return nil
			}
			if at, reason := b.earliestSend(w, now); b.tooLate(w, at, now) {
				return &RateLimitedError{RetryAt: at, Reason: reason}
			}
			return nil
		})
	}
	var wake time.Time
	for b.queued() > 0 {
		w, wk := b.pickOne(now)
		if w == nil {
			wake = wk
			break
		}
		b.grant(w, now)
	}
	b.refreshWaits(now)
	if b.queued() == 0 {
		return
	}
	if b.cur.known {
		if end := b.endLocal(); end.After(now) {
			wake = earliest(wake, end)
		}
	}
	if wake.IsZero() || wake.Sub(now) > safetyWake && b.needProbe(now) {
		wake = earliest(wake, now.Add(safetyWake))
	}
	b.schedule(now, wake)
}

func (b *budget) schedule(now, wake time.Time) {
	if wake.Before(now.Add(minWake)) {
		wake = now.Add(minWake)
	}
	if b.timer != nil && b.timerAt.After(now) && !b.timerAt.After(wake) {
		return // an earlier wake-up is already armed
	}
	if b.timer == nil {
		b.timer = time.AfterFunc(wake.Sub(now), b.g.onTimer)
	} else {
		b.timer.Reset(wake.Sub(now))
	}
	b.timerAt = wake
}

func (g *Gate) onTimer() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.b.timerAt = time.Time{}
	g.b.stats.wakes++
	g.b.pump(time.Now())
}

// pickOne returns the next waiter to grant, or nil and when to look again.
func (b *budget) pickOne(now time.Time) (*waiter, time.Time) {
	if now.Before(b.blockedUntil) {
		return nil, b.blockedUntil
	}
	if now.Before(b.storeHoldUntil) {
		return nil, b.storeHoldUntil
	}
	if b.month.exhausted { // only the quota probe is queued
		return b.pickAny(now, func(w *waiter) { w.probe = b.needProbe(now) })
	}
	if b.needProbe(now) {
		if b.probe.inFlight {
			if until := b.probe.sentAt.Add(b.opts.ProbeTimeout); now.Before(until) {
				return nil, until
			}
		}
		if now.Before(b.probe.backoffUntil) {
			return nil, b.probe.backoffUntil
		}
		return b.pickAny(now, func(w *waiter) { w.probe = true })
	}
	if b.monthAvail() < 1 {
		// The server reported the monthly quota spent: let what is in flight come back, then test it once.
		if len(b.inflight) > 0 {
			return nil, time.Time{}
		}
		return b.pickAny(now, func(w *waiter) { w.monthCheck = true })
	}
	avail := b.avail(now)
	f := b.elapsed(now)
	var wake time.Time
	for c := range Class(2) {
		classAvail := float64(avail)
		if c == Background {
			classAvail -= b.line(f)
		}
		fair := b.fairness(c, now, f)
		w, wk := b.queues[c].pick(func(w *waiter) verdict {
			if v := b.bucketVerdict(w, now); !v.ok {
				return v
			}
			cost := b.costOf(w)
			if classAvail-float64(cost) < -1e-9 {
				if c == Background && avail-cost >= 0 {
					return verdict{wake: b.lineCrossing(float64(avail - cost))}
				}
				return verdict{}
			}
			return fair.allows(b, w, cost, classAvail, f)
		})
		wake = earliest(wake, wk)
		if w != nil {
			return w, wake
		}
	}
	return nil, wake
}

// pickAny takes the first waiter a route bucket lets through, interactive first, ignoring the window budget
// (probes and quota tests).
func (b *budget) pickAny(now time.Time, mark func(*waiter)) (*waiter, time.Time) {
	var wake time.Time
	for c := range b.queues {
		w, wk := b.queues[c].pick(func(w *waiter) verdict { return b.bucketVerdict(w, now) })
		wake = earliest(wake, wk)
		if w != nil {
			mark(w)
			return w, wake
		}
	}
	return nil, wake
}

func (b *budget) bucketVerdict(w *waiter, now time.Time) verdict {
	var at time.Time
	for _, bk := range w.buckets {
		if t := bk.nextFreeFor(now, w.ticket.Class, b.costOf(w)); t.After(now) && t.After(at) {
			at = t
		}
	}
	if at.IsZero() {
		return verdict{ok: true}
	}
	return verdict{perRequest: true, wake: at}
}

func (b *budget) grant(w *waiter, now time.Time) {
	cost := b.costOf(w)
	w.chargedLen = cost
	w.state = stateGranted
	w.grantedAt = now
	w.charges = w.charges[:0]
	w.storeKeys = nil
	w.countedIn = time.Time{}
	if b.cur.known && now.Before(b.endLocal()) {
		w.charges = append(w.charges, b.cur.end)
		b.cur.ours += cost
		b.cur.users[w.user.key] += cost
	}
	if w.ticket.Class == Interactive {
		b.cur.interactive += cost
	}
	b.grantCost += int64(cost)
	w.cumAt = b.grantCost
	for _, bk := range w.buckets {
		bk.add(now, cost)
		if w.ticket.Class == Interactive {
			bk.noteInteractive(now, cost)
		} else {
			bk.paceBackground(now, cost)
		}
	}
	b.inflight[w] = struct{}{}
	if w.ticket.Class == Background {
		w.bgCounted = true
		b.bgInflight++
	}
	w.user.inflight++
	w.user.last = now
	if w.probe {
		b.probe.inFlight = true
		b.probe.sentAt = now
	}
	if !w.deadline.IsZero() {
		b.deadlines--
	}
	if w.watched() {
		b.watchedQueued--
	}
	w.ready <- struct{}{}
}

// cancelGrant gives back a grant that was never used.
func (b *budget) cancelGrant(w *waiter, now time.Time) {
	if w.state != stateGranted {
		return
	}
	delete(b.inflight, w)
	wasBg := w.bgCounted // its class at the grant (an interactive joiner may have upgraded it since)
	if w.bgCounted {
		w.bgCounted = false
		b.bgInflight--
	}
	w.user.inflight--
	for _, c := range w.charges {
		if b.sameWindow(c, b.cur.end) {
			b.cur.ours = max(0, b.cur.ours-w.chargedLen)
			b.cur.users[w.user.key] = max(0, b.cur.users[w.user.key]-w.chargedLen)
		}
	}
	w.charges = w.charges[:0]
	b.grantCost -= int64(w.chargedLen)
	for _, bk := range w.buckets {
		bk.remove(w.grantedAt, w.chargedLen)
		if wasBg {
			bk.paceBackground(now, -w.chargedLen)
		}
	}
	if w.probe {
		b.probe.inFlight = false
		w.probe = false
	}
	w.monthCheck = false
	b.releaseQuotaProbe(w, now)
	w.state = stateDone
	b.pump(now)
}

// confirm is the last check before w goes out: a 429 or the quota may have closed the gate since the grant.
func (b *budget) confirm(w *waiter, now time.Time) (send bool, err error) {
	switch {
	case w.state != stateGranted:
		return false, ErrClosed
	case b.closed:
		b.cancelGrant(w, now)
		return false, ErrClosed
	case b.month.exhausted && !w.quotaProbe:
		b.cancelGrant(w, now)
		return false, quotaError(w)
	case now.Before(b.blockedUntil):
		b.cancelGrant(w, now)
		return false, nil
	}
	w.sentAt = now
	b.stats.sent++
	return true, nil
}

// finish accounts w's answer (or transport error) and says what the caller does next.
func (b *budget) finish(w *waiter, resp *http.Response, err error, h Headers, quota bool, recv time.Time, canRetry bool) outcome {
	defer b.pump(recv)
	if err == nil {
		b.observe(w, resp.StatusCode, h, recv)
	}
	b.complete(w, recv, err)
	if err != nil {
		return outcome{kind: outcomeResponse}
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		monthSpent := h.MonthRemaining == 0 && h.MonthLimit != 0 && !b.month.overage
		switch {
		case monthSpent && (w.quotaProbe || w.monthCheck):
			// Tested after the quota read 0 and still served: the plan allows overage.
			b.month.overage, b.month.exhausted = true, false
			b.g.log.Info("rate gate: server accepts requests beyond the reported monthly quota")
		case monthSpent:
			// This request took the last of the quota: the next one would be refused.
			b.exhaust(recv)
		case w.quotaProbe && b.month.exhausted:
			b.month.exhausted = false
			b.month.resetAt = time.Time{}
			b.g.log.Info("rate gate: monthly quota available again")
		}
		w.quotaProbe, w.monthCheck = false, false
		return outcome{kind: outcomeResponse}
	}
	b.stats.count429++
	w.quotaProbe, w.monthCheck = false, false
	if quota {
		b.exhaust(recv)
		if h.RetryAfter > 0 {
			b.month.resetAt = recv.Add(h.RetryAfter)
		}
		return outcome{kind: outcomeError, err: quotaError(w)}
	}
	until, reason := b.on429(w, h, recv)
	if canRetry && (w.deadline.IsZero() || !w.deadline.Before(until)) {
		return outcome{kind: outcomeRetry}
	}
	return outcome{kind: outcomeError, err: &RateLimitedError{RetryAt: until, Reason: reason}}
}

func (b *budget) complete(w *waiter, recv time.Time, err error) {
	delete(b.inflight, w)
	if w.bgCounted {
		w.bgCounted = false
		b.bgInflight--
	}
	w.user.inflight--
	w.user.last = recv
	w.state = stateDone
	if !w.sentAt.IsZero() && err == nil {
		sample := recv.Sub(w.sentAt)
		if b.rtt == 0 {
			b.rtt = sample
		} else {
			b.rtt += (sample - b.rtt) / 8
		}
	}
	if w.probe {
		b.probe.inFlight = false
		w.probe = false
		switch {
		case err == nil:
			b.probe.backoff = 0
		case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
			// the caller left; that says nothing about the server
		default:
			b.probe.backoff = min(max(2*b.probe.backoff, time.Second), maxBackoff)
			b.probe.backoffUntil = recv.Add(b.probe.backoff)
		}
	}
	if w.quotaProbe {
		b.month.probeInFlight = false
	}
}

func (b *budget) on429(w *waiter, h Headers, recv time.Time) (time.Time, string) {
	var d time.Duration
	switch {
	case h.RetryAfter >= 0:
		d = h.RetryAfter
	case !h.ResetAt.IsZero():
		d = h.ResetAt.Sub(b.serverNow(recv))
		if !h.ResetExact {
			d += time.Second // a whole-second Reset may be a second early
		}
	default:
		d = b.window
	}
	d = min(max(d, minBlock), b.maxWait())
	until := recv.Add(d + b.opts.ResetGuard)
	if len(w.buckets) > 0 && b.bucketTo429(h) {
		for _, bk := range w.buckets {
			if until.After(bk.blockedUntil) {
				bk.blockedUntil = until
			}
		}
		b.g.log.Warn("rate gate: route bucket 429", "method", w.method, "path", w.path, "retry_in", d)
		return until, "route bucket"
	}
	if until.After(b.blockedUntil) {
		b.blockedUntil = until
	}
	b.probeAfterBlock = true
	b.cur.spent = true
	b.g.log.Warn("rate gate: server 429; gate closed", "method", w.method, "path", w.path, "retry_in", d)
	return until, "server 429"
}

// bucketTo429 decides whether a 429 on a route-bucketed request was the route's bucket rather than the main
// window: the headers describe another limit, or show the main window with room, or (without headers) our own
// count says the main window had room.
func (b *budget) bucketTo429(h Headers) bool {
	switch {
	case h.Limit > 0 && b.limitLearned && h.Limit != b.limit:
		return true
	case h.Remaining > 0:
		return true
	case !h.HasWindowInfo():
		return !b.cur.spent && b.limit-b.cur.ours-b.cur.foreign > 0
	}
	return false
}
