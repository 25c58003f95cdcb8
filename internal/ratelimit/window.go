package ratelimit

import (
	"net/http"
	"time"
)

// Window and roll: the mirror of the server's current fixed window, learnt from each answer's headers.

// windowState is the mirror of the server's current fixed window.
type windowState struct {
	known bool      // a response described it (or, without headers, a probe succeeded in it)
	end   time.Time // on the server's clock
	// assumed: no answer gave a Reset yet; end is a guess (the window taken to start when an answer left the
	// server). The first Reset the server reports replaces it.
	assumed  bool
	exact    bool      // end came from a sub-second epoch timestamp
	endEarly time.Time // the earliest the window may really end (a whole-second Reset's rounding)
	// learntBy and learntEarly narrow [endEarly, end] from when requests were counted on either side of the
	// roll (zero: nothing learnt); lastSend is the latest send of a request counted in this window.
	learntBy, learntEarly, lastSend time.Time
	ours                            int  // our requests charged to this window, exactly (in-flight ones included)
	interactive                     int  // interactive requests granted in this window
	foreign                         int  // lower bound of other clients' requests: max over responses of (used − ours)
	spent                           bool // a 429 said there is nothing left
	users                           map[userKey]int

	storeCount int // WindowStore mode: the shared count at our last Add
	foreignNS  int // WindowStore mode: lower bound of requests by clients outside the store
	usedMax    int // the largest used count the server reported in this window
}

// endLocal is when the current window ends on the local clock, late rather than early: the offset estimate is a
// lower bound of the true offset, and the guard covers the rest.
func (b *budget) endLocal() time.Time {
	return b.latestEnd().Add(-b.offset.value() + b.opts.ResetGuard)
}

// latestEnd is the latest the current window may end (server clock): the Reset, padded when it was rounded,
// or what the roll taught if that is earlier.
func (b *budget) latestEnd() time.Time {
	if !b.cur.learntBy.IsZero() && b.cur.learntBy.Before(b.cur.end) {
		return b.cur.learntBy
	}
	return b.cur.end
}

// earliestEnd is the earliest the current window may end (server clock).
func (b *budget) earliestEnd() time.Time {
	e := b.cur.endEarly
	if b.cur.learntEarly.After(e) {
		e = b.cur.learntEarly
	}
	if late := b.latestEnd(); e.After(late) {
		e = late
	}
	return e
}

// learnRoll narrows the new window's end from the answer that showed it (w, received at recv) and the last send
// counted in the window before (prevLast). The new window started no later than w's answer left the server, and
// no earlier than the previous window ended, which was after prevLast arrived there; it lasts one window. That
// holds for windows on a grid at any offset and for windows that start at a key's first call alike; it needs the
// window length from the server's policy.
func (b *budget) learnRoll(w *waiter, prevLast, recv time.Time) {
	if b.cur.exact || !b.windowKnown {
		return
	}
	if !w.sentAt.IsZero() {
		if by := recv.Add(b.offset.upper() + b.window); by.Before(b.cur.end) && !by.Before(b.cur.endEarly) {
			b.cur.learntBy = by
		}
	}
	if !prevLast.IsZero() {
		if early := prevLast.Add(b.offset.value() + b.window); early.After(b.cur.endEarly) && !early.After(b.latestEnd()) {
			b.cur.learntEarly = early
		}
	}
}

func (b *budget) serverNow(local time.Time) time.Time { return local.Add(b.offset.value()) }

func (b *budget) needProbe(now time.Time) bool {
	return !b.cur.known || !now.Before(b.endLocal()) || b.probeAfterBlock
}

func (b *budget) sameWindow(a, c time.Time) bool {
	d := a.Sub(c)
	tol := min(2500*time.Millisecond, b.window/2)
	return d <= tol && d >= -tol
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
	// Its 2xx answers may carry the bucket's headers too ("headers vary, depending on the API called"): the
	// key's limit and window are never learnt from them, and their budget only when they show the key's limit.
	if len(w.buckets) > 0 {
		if !b.limitLearned || h.Limit != b.limit {
			h.Remaining, h.ResetAt, h.ResetExact = -1, time.Time{}, false
		}
		h.Limit, h.Window = -1, 0
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
		b.windowKnown = true
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
	reported := !end.IsZero()
	if !reported {
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
		prevLast := b.cur.lastSend
		b.roll(end, exact, recv)
		b.cur.assumed = !reported
		b.learnRoll(w, prevLast, recv)
	case b.cur.assumed && reported:
		// The guessed end gives way to the server's: otherwise a window that really ends earlier than the guess
		// would read as an older one, and every answer in it would take its request off our count.
		b.adopt(end, exact)
	case !b.sameWindow(end, b.cur.end): // an older window: this request was counted there, not here
		w.countedIn = end
		b.uncharge(w, end)
		return
	case exact && !b.cur.exact, !exact && !b.cur.exact && end.After(b.cur.end):
		b.cur.end, b.cur.exact, b.cur.endEarly = end, exact, earlyEnd(end, exact)
	}
	w.countedIn = b.cur.end
	b.uncharge(w, b.cur.end)
	if w.sentAt.After(b.cur.lastSend) {
		b.cur.lastSend = w.sentAt
	}
	if h.Remaining >= 0 {
		used := max(0, b.limit-h.Remaining)
		b.cur.foreign = max(b.cur.foreign, used-b.oursBefore(w))
		b.cur.usedMax = max(b.cur.usedMax, used)
	}
	if status != http.StatusTooManyRequests {
		b.cur.spent = false
		if w.probe {
			b.probeAfterBlock = false
		}
	}
}

// adopt replaces an assumed window end by the one the server reported. Everything charged to the assumed window
// stays charged (the requests went out since it was assumed, so none of them belongs to an earlier window than
// the reported one); the charges of requests in flight move to the new end so their answers find them.
func (b *budget) adopt(end time.Time, exact bool) {
	old := b.cur.end
	b.cur.end, b.cur.exact, b.cur.endEarly, b.cur.assumed = end, exact, earlyEnd(end, exact), false
	b.cur.learntBy, b.cur.learntEarly = time.Time{}, time.Time{}
	for w := range b.inflight {
		for i, c := range w.charges {
			if b.sameWindow(c, old) {
				w.charges[i] = end
			}
		}
	}
}

// sendSlack is how much later than a request another may have gone and still be taken to have reached the server
// before it (sends of one grant round go out within it).
const sendSlack = 20 * time.Millisecond

// oursBefore is our charge to the current window that the server had counted when w arrived, as far as send
// order tells: the requests in flight that went out after w (or not yet) cannot be in the Remaining w's answer
// reports. Subtracting them too would make used − ours fall short of the other clients' use by as many, and
// the budget would count on requests that are not there.
func (b *budget) oursBefore(w *waiter) int {
	ours := b.cur.ours
	if w.sentAt.IsZero() {
		return ours
	}
	after := w.sentAt.Add(sendSlack)
	for x := range b.inflight {
		if x == w || !(x.sentAt.IsZero() || x.sentAt.After(after)) {
			continue
		}
		for _, c := range x.charges {
			if b.sameWindow(c, b.cur.end) {
				ours -= x.chargedLen
				break
			}
		}
	}
	return ours
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
