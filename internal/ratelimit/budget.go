package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// budget is the gate's state; every method runs under Gate.mu.
type budget struct {
	g    *Gate
	opts Options

	closed       bool
	limit        int
	limitLearned bool
	window       time.Duration
	offset       offsetEstimate
	cur          windowState

	blockedUntil    time.Time // a server 429 closed the whole gate until then
	probeAfterBlock bool      // after the block, one probe must confirm before the queue opens
	probe           struct {
		inFlight     bool
		sentAt       time.Time
		backoff      time.Duration
		backoffUntil time.Time
	}
	month struct {
		known, exhausted, overage, probeInFlight bool
		limit, remaining                         int64
		cumAt                                    int64 // grantCost at the reporting request's grant
		nextProbe                                time.Time
	}
	storeDownUntil time.Time // store failed: keep to limit/k until then
	storeHoldUntil time.Time // the store says the window ending then is full

	queues    [2]classQueue
	users     map[userKey]*userState
	inflight  map[*waiter]struct{}
	deadlines int // queued waiters with a deadline
	// watchedQueued is the queued waiters with a wait observer or a MaxWait.
	watchedQueued int
	grantCost     int64 // total cost granted (minus grants given back)
	// interactiveDemand is the interactive requests per window, averaged over recent windows.
	interactiveDemand float64
	rtt               time.Duration

	timer   *time.Timer
	timerAt time.Time

	stats struct{ count429, sent, cacheHits, coalesced, wakes int64 }
}

// windowState is the mirror of the server's current fixed window.
type windowState struct {
	known       bool      // a response described it (or, without headers, a probe succeeded in it)
	end         time.Time // on the server's clock
	exact       bool      // end came from an epoch timestamp
	endEarly    time.Time // the earliest the window may really end (a Reset delta's rounding)
	ours        int       // our requests charged to this window, exactly (in-flight ones included)
	interactive int       // interactive requests granted in this window
	foreign     int       // lower bound of other clients' requests: max over responses of (used − ours)
	spent       bool      // a 429 said there is nothing left
	users       map[userKey]int

	storeCount int // WindowStore mode: the shared count at our last Add
	foreignNS  int // WindowStore mode: lower bound of requests by clients outside the store
	usedMax    int // the largest used count the server reported in this window
}

type outcomeKind uint8

const (
	outcomeResponse outcomeKind = iota
	outcomeRetry
	outcomeError
)

type outcome struct {
	kind outcomeKind
	err  error
}

const (
	minWake       = 10 * time.Millisecond // never re-arm the timer closer than this: no busy loop
	safetyWake    = time.Second           // a queue with nothing else to wait for is re-checked this often
	minBlock      = time.Second           // a 429 closes the gate at least this long
	maxWindow     = time.Hour
	maxBackoff    = 30 * time.Second
	offsetSamples = 16
)

func (b *budget) init(g *Gate) {
	b.g = g
	b.opts = g.opts
	b.limit = g.opts.DefaultLimit
	b.window = g.opts.DefaultWindow
	b.users = map[userKey]*userState{}
	b.inflight = map[*waiter]struct{}{}
	b.cur.users = map[userKey]int{}
	b.month.limit, b.month.remaining = -1, -1
}

func (b *budget) close() {
	if b.closed {
		return
	}
	b.closed = true
	b.failQueued(func(*waiter) error { return ErrClosed })
	if b.timer != nil {
		b.timer.Stop()
	}
}

func (b *budget) maxWait() time.Duration {
	if b.opts.MaxWait > 0 {
		return b.opts.MaxWait
	}
	return 2 * b.window
}

// endLocal is when the current window ends on the local clock, late rather than early: the offset estimate is a
// lower bound of the true offset, and the guard covers the rest.
func (b *budget) endLocal() time.Time {
	return b.cur.end.Add(-b.offset.value() + b.opts.ResetGuard)
}

func (b *budget) serverNow(local time.Time) time.Time { return local.Add(b.offset.value()) }

func (b *budget) needProbe(now time.Time) bool {
	return !b.cur.known || !now.Before(b.endLocal()) || b.probeAfterBlock
}

// avail is what this process may still send in the current window.
func (b *budget) avail(now time.Time) int {
	if b.cur.spent {
		return 0
	}
	a := b.limit - b.cur.ours - b.cur.foreign
	if b.opts.Store != nil {
		if now.Before(b.storeDownUntil) {
			a = min(a, b.limit/b.opts.StoreReplicas-b.cur.ours)
		} else {
			a = min(a, b.limit-b.cur.storeCount-b.cur.foreignNS)
		}
	}
	return a
}

func (b *budget) costOf(w *waiter) int { return min(w.cost, max(1, b.limit)) }

// paceSpan is the stretch over which background traffic is paced: from the window's start to the latest moment
// a request can be released and still land in this window. That moment uses the earliest the window may really
// end: the upper bound of the clock offset, a Reset delta's rounding, and a one-way trip.
func (b *budget) paceSpan() (start, stop time.Time) {
	start = b.endLocal().Add(-b.window)
	stop = b.cur.endEarly.Add(-b.offset.upper() - b.rtt/2 - 100*time.Millisecond)
	if floor := start.Add(b.window / 2); stop.Before(floor) {
		stop = floor
	}
	return start, stop
}

// elapsed is the fraction of the pacing span that has passed.
func (b *budget) elapsed(now time.Time) float64 {
	start, stop := b.paceSpan()
	f := float64(now.Sub(start)) / float64(stop.Sub(start))
	return math.Max(0, math.Min(1, f))
}

func (b *budget) timeAtFraction(f float64) time.Time {
	start, stop := b.paceSpan()
	return start.Add(time.Duration(f*float64(stop.Sub(start))) + time.Millisecond)
}

// reserve is R, the tokens per window kept for interactive traffic: the configured fraction of the limit, or
// one and a half times the interactive demand of recent windows if that is more, at most half the limit.
func (b *budget) reserve() float64 {
	if b.opts.InteractiveReserve == 0 {
		return 0
	}
	L := float64(b.limit)
	return math.Min(math.Max(b.opts.InteractiveReserve*L, 1.5*b.interactiveDemand), L/2)
}

// line is how many tokens background traffic must leave at elapsed fraction f: the even pace L·(1−f) less a
// burst, never less than the interactive reserve R·(1−f), and never less than a floor of R/3 until the tail, so
// someone who asks in the last seconds of a window does not wait for the next one.
func (b *budget) line(f float64) float64 {
	if f >= 1 {
		return 0
	}
	L, R := float64(b.limit), b.reserve()
	l := math.Max(R*(1-f), math.Ceil(R/3))
	if !b.opts.DisablePacing {
		l = math.Max(l, L*(1-f)-float64(b.opts.BackgroundBurst))
	}
	return l
}

// lineCrossing is when background traffic may take a token leaving a tokens behind.
func (b *budget) lineCrossing(a float64) time.Time {
	return b.timeAtFraction(b.lineFraction(a))
}

func (b *budget) monthAvail() int64 {
	if !b.month.known || b.month.overage {
		return math.MaxInt64
	}
	return b.month.remaining - (b.grantCost - b.month.cumAt)
}

func (b *budget) queued() int { return b.queues[0].size + b.queues[1].size }

func (b *budget) userFor(t Ticket) *userState {
	k := userKey{class: t.Class, user: t.User}
	u := b.users[k]
	if u == nil {
		u = &userState{key: k}
		b.users[k] = u
	}
	return u
}

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

func quotaError(w *waiter) error {
	return fmt.Errorf("ratelimit: %s %s not sent: %w", w.method, w.path, ErrQuotaExhausted)
}

func (b *budget) releaseQuotaProbe(w *waiter, now time.Time) {
	if w.quotaProbe {
		w.quotaProbe = false
		b.month.probeInFlight = false
		b.month.nextProbe = now
	}
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
		if t := bk.nextFree(now, cost); t.After(at) {
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
		if t := bk.nextFree(now, b.costOf(w)); t.After(now) && t.After(at) {
			at = t
		}
	}
	if at.IsZero() {
		return verdict{ok: true}
	}
	return verdict{perRequest: true, wake: at}
}

// fairState is one class's fair-share picture: active users, the equal share of the window, and how much of
// their shares the active users have not used yet.
type fairState struct {
	share      int
	sumDeficit int
	wake       time.Time // when an idle user stops counting as active
}

func (b *budget) fairness(c Class, now time.Time, f float64) fairState {
	var fs fairState
	n := 0
	for k, u := range b.users {
		if k.class != c {
			continue
		}
		busy := len(u.waiters) > 0 || u.inflight > 0
		if !busy && now.Sub(u.last) >= b.opts.ActiveGap {
			continue
		}
		n++
		if !busy {
			fs.wake = earliest(fs.wake, u.last.Add(b.opts.ActiveGap))
		}
	}
	if n == 0 {
		n = 1
	}
	fs.share = (b.limit + n - 1) / n
	for k, u := range b.users {
		if k.class != c || (len(u.waiters) == 0 && u.inflight == 0 && now.Sub(u.last) >= b.opts.ActiveGap) {
			continue
		}
		fs.sumDeficit += max(0, fs.share-b.cur.users[k])
	}
	return fs
}

// allows applies the per-user sub-limit: a user within its equal share may go; beyond it, only if the tokens left
// cover what the other active users have not used of their shares (a reserve that shrinks to nothing over the
// window, so an idle share is not wasted).
func (fs fairState) allows(b *budget, w *waiter, cost int, classAvail, f float64) verdict {
	k := w.user.key
	sent := b.cur.users[k]
	if b.opts.PerUserLimit > 0 && sent+cost > b.opts.PerUserLimit {
		return verdict{}
	}
	if sent+cost <= fs.share {
		return verdict{ok: true}
	}
	others := float64(fs.sumDeficit - max(0, fs.share-sent))
	a := classAvail - float64(cost)
	if others*(1-f) <= a+1e-9 {
		return verdict{ok: true}
	}
	wake := fs.wake
	if others > 0 && a >= 0 {
		wake = earliest(wake, b.timeAtFraction(1-a/others))
	}
	return verdict{wake: wake}
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
	}
	b.inflight[w] = struct{}{}
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

func (b *budget) sameWindow(a, c time.Time) bool {
	d := a.Sub(c)
	tol := min(2500*time.Millisecond, b.window/2)
	return d <= tol && d >= -tol
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
			b.g.log.Info("rate gate: monthly quota available again")
		}
		w.quotaProbe, w.monthCheck = false, false
		return outcome{kind: outcomeResponse}
	}
	b.stats.count429++
	w.quotaProbe, w.monthCheck = false, false
	if quota {
		b.exhaust(recv)
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

// observe learns from one response's headers; w is still counted in flight.
func (b *budget) observe(w *waiter, status int, h Headers, recv time.Time) {
	if !h.Date.IsZero() {
		// Date is floored to the second and stamped before the response left, so Date − receipt never exceeds
		// the true offset: the maximum over recent samples is a tight lower bound.
		b.offset.add(h.Date.Sub(recv), h.Date.Add(time.Second).Sub(w.sentAt), !w.sentAt.IsZero())
	}
	if h.MonthRemaining >= 0 && w.cumAt >= b.month.cumAt {
		b.month.known = true
		b.month.remaining, b.month.cumAt = h.MonthRemaining, w.cumAt
		if h.MonthLimit >= 0 {
			b.month.limit = h.MonthLimit
		}
		if h.MonthRemaining > 0 {
			b.month.overage = false
		}
	}
	// A 429 on a route with its own bucket may describe that bucket, not the main window: learn nothing from it.
	if status == http.StatusTooManyRequests && len(w.buckets) > 0 {
		return
	}
	serverNow := b.serverNow(recv)
	// The limit and window are learnt from answers that went through; a 429 may describe some other bucket.
	if status == http.StatusTooManyRequests {
		h.Limit, h.Window = -1, 0
	}
	if h.Limit > 0 {
		if b.limitLearned && h.Limit != b.limit {
			b.g.log.Info("rate gate: window limit changed", "from", b.limit, "to", h.Limit)
		}
		b.limit, b.limitLearned = h.Limit, true
	}
	if h.Window > 0 {
		b.window = min(max(h.Window, time.Second), maxWindow)
	}
	end, exact := h.ResetAt, h.ResetExact
	if !end.IsZero() {
		stamped := serverNow // when the server wrote the headers: its Date, else our receipt
		if !h.Date.IsZero() {
			stamped = h.Date
		}
		d := end.Sub(serverNow)
		switch {
		case end.Sub(stamped) < -2*time.Second: // a reset before the answer was written is garbage
			end = time.Time{}
		case d > b.maxWait():
			end, exact = serverNow.Add(b.maxWait()), false
		default:
			if h.Window == 0 && d > b.window && d <= maxWindow {
				b.window = d.Round(time.Second) // the window is at least as long as the wait for its end
			}
			if !exact {
				end = end.Add(time.Second) // a whole-second delta can be a second short
			}
		}
	}
	if end.IsZero() {
		if b.cur.known && serverNow.Before(b.cur.end) {
			end = b.cur.end
		} else if w.probe || h.HasWindowInfo() {
			end = serverNow.Add(b.window) // no reset given: assume the window started now
		} else {
			return
		}
	}
	switch {
	case !b.cur.known, end.Sub(b.cur.end) > min(2500*time.Millisecond, b.window/2):
		b.roll(end, exact, recv)
	case !b.sameWindow(end, b.cur.end): // an older window: this request was counted there, not here
		w.countedIn = end
		b.uncharge(w, end)
		return
	case exact && !b.cur.exact, !exact && !b.cur.exact && end.After(b.cur.end):
		b.cur.end, b.cur.exact, b.cur.endEarly = end, exact, earlyEnd(end, exact)
	}
	w.countedIn = b.cur.end
	b.uncharge(w, b.cur.end)
	if h.Remaining >= 0 {
		used := max(0, b.limit-h.Remaining)
		b.cur.foreign = max(b.cur.foreign, used-b.cur.ours)
		b.cur.usedMax = max(b.cur.usedMax, used)
	}
	if status != http.StatusTooManyRequests {
		b.cur.spent = false
		if w.probe {
			b.probeAfterBlock = false
		}
	}
}

// earlyEnd is the earliest a window believed to end at end may really end: a whole-second delta (already padded
// by a second) may be up to two seconds early.
func earlyEnd(end time.Time, exact bool) time.Time {
	if exact {
		return end
	}
	return end.Add(-2 * time.Second)
}

// uncharge removes w's charge from the current window if the server counted w in another window (the one ending
// at countedIn).
func (b *budget) uncharge(w *waiter, countedIn time.Time) {
	if b.sameWindow(countedIn, b.cur.end) {
		return
	}
	for i, c := range w.charges {
		if b.sameWindow(c, b.cur.end) {
			b.cur.ours = max(0, b.cur.ours-w.chargedLen)
			b.cur.users[w.user.key] = max(0, b.cur.users[w.user.key]-w.chargedLen)
			w.charges = append(w.charges[:i], w.charges[i+1:]...)
			return
		}
	}
}

// roll starts a new window. Requests still in flight may land in it, so they are charged to it as well until
// their answers say which window counted them.
func (b *budget) roll(end time.Time, exact bool, now time.Time) {
	if b.cur.known {
		b.interactiveDemand = 0.7*b.interactiveDemand + 0.3*float64(b.cur.interactive)
	}
	b.cur = windowState{known: true, end: end, exact: exact, endEarly: earlyEnd(end, exact), users: map[userKey]int{}}
	for w := range b.inflight {
		b.cur.ours += w.chargedLen
		b.cur.users[w.user.key] += w.chargedLen
		w.charges = append(w.charges, end)
	}
	for k, u := range b.users {
		if !u.inRing && u.inflight == 0 && now.Sub(u.last) > 2*b.window {
			delete(b.users, k)
		}
	}
}

func (b *budget) on429(w *waiter, h Headers, recv time.Time) (time.Time, string) {
	var d time.Duration
	switch {
	case h.RetryAfter >= 0:
		d = h.RetryAfter
	case !h.ResetAt.IsZero():
		d = h.ResetAt.Sub(b.serverNow(recv))
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

func (b *budget) exhaust(now time.Time) {
	if !b.month.exhausted {
		b.g.log.Error("rate gate: monthly API quota exhausted; failing calls without sending them",
			"reprobe_every", b.opts.QuotaProbeInterval)
	}
	b.month.exhausted = true
	b.month.probeInFlight = false
	if b.month.nextProbe.Before(now.Add(b.opts.QuotaProbeInterval)) {
		b.month.nextProbe = now.Add(b.opts.QuotaProbeInterval)
	}
}

// storeAdd is one WindowStore registration of a granted request.
type storeAdd struct {
	key     string
	end     time.Time // the window's end, server clock
	current bool      // the window the gate is spending now
	probe   bool      // a probe's registration in the window expected next
}

func (b *budget) storeKey(w *waiter, end time.Time) string {
	return b.opts.StoreKeyPrefix + ":" + w.keyID + ":" + strconv.FormatInt(end.Round(time.Second).Unix(), 10)
}

// storePlan lists the shared counters a granted request must be added to before it goes: the window it is
// charged to, and the next one too when it may arrive after the reset; a probe registers in the window expected to
// follow the current one. A request sent before any window is known is registered after its answer.
func (b *budget) storePlan(w *waiter, now time.Time) (adds []storeAdd, ttl time.Duration, usedAt int, requeue bool) {
	if w.state != stateGranted {
		return nil, 0, 0, false
	}
	if now.Before(b.storeDownUntil) {
		// Grants made before the store was found down may break the local share.
		return nil, 0, 0, b.overShare(w, now)
	}
	switch {
	case len(w.charges) > 0:
		end := w.charges[0]
		adds = append(adds, storeAdd{key: b.storeKey(w, end), end: end, current: b.sameWindow(end, b.cur.end)})
		if !now.Add(b.rtt).Before(b.cur.endEarly.Add(-b.offset.upper())) {
			next := end.Add(b.window)
			adds = append(adds, storeAdd{key: b.storeKey(w, next), end: next})
		}
	case b.cur.known:
		end := b.cur.end
		for sn := b.serverNow(now); !end.After(sn); {
			end = end.Add(b.window)
		}
		adds = append(adds, storeAdd{key: b.storeKey(w, end), end: end, probe: true})
	}
	return adds, 2 * b.window, b.cur.usedMax, false
}

// overShare gives w's grant back if this process is over its Limit/k share of the window (store down).
func (b *budget) overShare(w *waiter, now time.Time) bool {
	// A probe goes regardless (one per window or block); bouncing it would re-grant it at once, forever.
	if w.probe || len(w.charges) == 0 || b.cur.ours <= b.limit/b.opts.StoreReplicas {
		return false
	}
	b.cancelGrant(w, now)
	return true
}

// storeResult applies the WindowStore's answers. It reports whether the grant was given back because a shared
// window is full (the adds made must then be reverted).
func (b *budget) storeResult(w *waiter, adds []storeAdd, counts []int, err error, usedAt int, now time.Time) (requeue bool) {
	if err != nil {
		if !now.Before(b.storeDownUntil) {
			b.g.log.Warn("rate gate: window store failed; keeping to limit/replicas locally",
				"replicas", b.opts.StoreReplicas, "err", err)
		}
		b.storeDownUntil = now.Add(b.window)
		return b.overShare(w, now)
	}
	var full time.Time
	for i, a := range adds {
		switch {
		case a.current && b.sameWindow(a.end, b.cur.end):
			b.cur.storeCount = max(b.cur.storeCount, counts[i])
			b.cur.foreignNS = max(b.cur.foreignNS, usedAt-counts[i])
			if counts[i] > b.limit-b.cur.foreignNS {
				full = a.end
			}
		case a.probe && counts[i] > b.limit:
			full = a.end
		}
	}
	if full.IsZero() {
		for _, a := range adds {
			w.storeKeys = append(w.storeKeys, a.key)
		}
		return false
	}
	if hold := full.Add(-b.offset.value() + b.opts.ResetGuard); hold.After(b.storeHoldUntil) {
		b.storeHoldUntil = hold
	}
	b.cancelGrant(w, now)
	return true
}

// storeCorrections says how to fix w's registrations once its answer told which window counted it.
func (b *budget) storeCorrections(w *waiter) (add string, remove []string) {
	if b.opts.Store == nil || w.countedIn.IsZero() || w.chargedLen == 0 {
		return "", nil
	}
	counted := b.storeKey(w, w.countedIn)
	found := false
	for _, k := range w.storeKeys {
		if k == counted {
			found = true
		} else {
			remove = append(remove, k)
		}
	}
	if !found {
		add = counted
	}
	w.storeKeys = nil
	return add, remove
}

func (b *budget) snapshot(now time.Time) Snapshot {
	s := Snapshot{
		Limit: b.limit, LimitLearned: b.limitLearned, Window: b.window,
		Remaining:         b.limit,
		QueuedInteractive: b.queues[Interactive].size, QueuedBackground: b.queues[Background].size,
		InFlight:   len(b.inflight),
		MonthLimit: b.month.limit, MonthRemaining: -1, QuotaExhausted: b.month.exhausted,
		ClockOffset: b.offset.value(),
		Count429:    b.stats.count429, Sent: b.stats.sent, CacheHits: b.stats.cacheHits, Coalesced: b.stats.coalesced,
		StoreDegraded: b.opts.Store != nil && now.Before(b.storeDownUntil),
	}
	if now.Before(b.blockedUntil) {
		s.BlockedUntil = b.blockedUntil
	}
	if b.cur.known && now.Before(b.endLocal()) {
		s.Remaining = max(0, b.avail(now))
		s.ResetAt = b.endLocal()
		s.Foreign = b.cur.foreign
	}
	if b.month.known {
		s.MonthRemaining = max(0, b.month.remaining-(b.grantCost-b.month.cumAt))
		if b.month.exhausted {
			s.MonthRemaining = 0
		}
	}
	return s
}

// offsetEstimate bounds the server-minus-local clock offset from recent Date headers. Date is floored to the
// second and stamped between the request's arrival and the response's departure, so Date − receipt is a lower
// bound and Date + 1 s − send an upper bound. Only the last samples count, so one bad Date or a server clock
// step is forgotten.
type offsetEstimate struct {
	lows, highs [offsetSamples]time.Duration
	hasUpper    [offsetSamples]bool
	n, next     int
	lo, hi      time.Duration
	hiKnown     bool
}

func (o *offsetEstimate) add(lower, upper time.Duration, upperKnown bool) {
	o.lows[o.next], o.highs[o.next], o.hasUpper[o.next] = lower, upper, upperKnown
	o.next = (o.next + 1) % offsetSamples
	o.n = min(o.n+1, offsetSamples)
	o.lo, o.hiKnown = o.lows[0], false
	for i := range o.n {
		o.lo = max(o.lo, o.lows[i])
		if o.hasUpper[i] && (!o.hiKnown || o.highs[i] < o.hi) {
			o.hi, o.hiKnown = o.highs[i], true
		}
	}
}

// value is the lower bound: windows computed with it end late, never early.
func (o *offsetEstimate) value() time.Duration {
	if o.n == 0 {
		return 0
	}
	return o.lo
}

// upper is the upper bound (the lower bound plus a second when unknown or inconsistent).
func (o *offsetEstimate) upper() time.Duration {
	lo := o.value()
	if !o.hiKnown || o.hi < lo || o.hi > lo+time.Second {
		return lo + time.Second
	}
	return o.hi
}
