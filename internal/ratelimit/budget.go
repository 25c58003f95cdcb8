package ratelimit

import (
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
	windowKnown  bool // the window length came from the server (RateLimit-Policy w=)
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
		// resetAt is when Postman said (Retry-After on the quota 429) calls may resume; zero if it did not.
		resetAt time.Time
	}
	storeDownUntil time.Time // store failed: keep to limit/k until then
	// storeShareUntil is the end of the window in which the store is tried again: the grants made locally before
	// it answered are not in its count (and a restarted store may have lost the rest), so limit/k still holds.
	storeShareUntil time.Time
	storeHoldUntil  time.Time // the store says the window ending then is full

	queues   [2]classQueue
	users    map[userKey]*userState
	inflight map[*waiter]struct{}
	// bgInflight is the background requests in flight (waiters with bgCounted).
	bgInflight int
	deadlines  int // queued waiters with a deadline
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

// storeReplicas is k, how many processes share the key while the store fails.
func (b *budget) storeReplicas() int {
	k := b.opts.StoreReplicas
	if f := b.opts.StoreReplicasLive; f != nil {
		k = max(k, f())
	}
	return max(k, 1)
}

// avail is what this process may still send in the current window.
func (b *budget) avail(now time.Time) int {
	if b.cur.spent {
		return 0
	}
	a := b.limit - b.cur.ours - b.cur.foreign
	if b.opts.Store != nil {
		if now.Before(b.storeDownUntil) {
			a = min(a, b.limit/b.storeReplicas()-b.cur.ours)
		} else {
			a = min(a, b.limit-b.cur.storeCount-b.cur.foreignNS)
			if now.Before(b.storeShareUntil) {
				a = min(a, b.limit/b.storeReplicas()-b.cur.ours)
			}
		}
	}
	return a
}

func (b *budget) costOf(w *waiter) int { return min(w.cost, max(1, b.limit)) }

func (b *budget) queued() int { return b.queues[0].size + b.queues[1].size }

func (b *budget) snapshot(now time.Time) Snapshot {
	s := Snapshot{
		Limit: b.limit, LimitLearned: b.limitLearned, Window: b.window,
		Remaining:         b.limit,
		QueuedInteractive: b.queues[Interactive].size, QueuedBackground: b.queues[Background].size,
		InFlight:   len(b.inflight),
		MonthLimit: b.month.limit, MonthRemaining: -1, QuotaExhausted: b.month.exhausted, QuotaResetAt: b.month.resetAt,
		ClockOffset: b.offset.value(),
		Count429:    b.stats.count429, Sent: b.stats.sent, CacheHits: b.stats.cacheHits, Coalesced: b.stats.coalesced,
		StoreDegraded: b.opts.Store != nil && now.Before(b.storeDownUntil),
		RTT:           b.rtt,
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
