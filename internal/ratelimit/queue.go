package ratelimit

import (
	"slices"
	"time"
)

type waitState uint8

const (
	stateNew waitState = iota
	stateQueued
	stateGranted // may send; charged
	stateDone    // failed, or finished
)

// waiter is one request's place in the gate, from its first wait to its last response.
type waiter struct {
	ticket     Ticket
	cost       int
	user       *userState
	method     string
	path       string
	buckets    []*bucket
	keyID      string
	idempotent bool
	deadline   time.Time // zero: none

	ready chan struct{} // receives once per wait, when state leaves stateQueued
	state waitState
	err   error // set with stateDone by the gate (quota, closed, doomed deadline)

	bgCounted  bool        // counted in budget.bgInflight
	probe      bool        // this grant is the gate's one probe
	quotaProbe bool        // this grant re-probes an exhausted monthly quota
	monthCheck bool        // this grant tests a monthly quota the server reported spent
	sentAt     time.Time   // local time it went to the transport
	grantedAt  time.Time   // local time of the grant (bucket charges use it)
	charges    []time.Time // window ends (server clock) this request is charged to
	chargedLen int         // cost charged per window
	cumAt      int64       // gate.grantCost right after this grant, for monthly accounting
	storeKeys  []string    // WindowStore keys this grant was added to
	countedIn  time.Time   // the window (end, server clock) its answer says counted it; zero if unknown

	observer   func(WaitInfo) // WithWaitObserver; nil: none
	maxWait    time.Duration  // WithMaxWait; 0: none
	notify     chan struct{}  // signals a pending observer call to the waiting goroutine
	pending    WaitInfo       // the estimate to report next
	hasPending bool           // pending is not yet reported
	notified   bool           // the observer was handed an estimate in this wait
	lastInfo   WaitInfo       // the estimate last handed to the observer
}

// userKey identifies one user's queue within a class.
type userKey struct {
	class Class
	user  string
}

type userState struct {
	key      userKey
	waiters  []*waiter
	inflight int
	last     time.Time // last enqueue, grant or completion
	inRing   bool
}

// classQueue serves the users of one class round-robin; each user's waiters are FIFO (429 retries at the front).
type classQueue struct {
	ring []*userState
	next int
	size int
}

func (q *classQueue) push(w *waiter, front bool) {
	u := w.user
	if front {
		u.waiters = slices.Insert(u.waiters, 0, w)
	} else {
		u.waiters = append(u.waiters, w)
	}
	q.size++
	if u.inRing {
		if front { // the retried request's user goes next
			q.next = slices.Index(q.ring, u)
		}
		return
	}
	u.inRing = true
	if front || len(q.ring) == 0 {
		q.ring = slices.Insert(q.ring, min(q.next, len(q.ring)), u)
		return
	}
	// Newcomers join at the end of the current round: just before the user served next.
	q.ring = slices.Insert(q.ring, q.next, u)
	q.next++
}

// remove takes w out of its user's queue; it reports whether w was queued.
func (q *classQueue) remove(w *waiter) bool {
	u := w.user
	i := slices.Index(u.waiters, w)
	if i < 0 {
		return false
	}
	u.waiters = slices.Delete(u.waiters, i, i+1)
	q.size--
	if len(u.waiters) == 0 {
		q.dropUser(u)
	}
	return true
}

func (q *classQueue) dropUser(u *userState) {
	i := slices.Index(q.ring, u)
	if i < 0 {
		return
	}
	q.ring = slices.Delete(q.ring, i, i+1)
	u.inRing = false
	if i < q.next {
		q.next--
	}
	if q.next >= len(q.ring) {
		q.next = 0
	}
}

// verdict of one waiter's eligibility.
type verdict struct {
	ok bool
	// perRequest: the waiter is held by something of its own (a route bucket), so a later waiter of the same user
	// may still go; otherwise the whole user is held.
	perRequest bool
	// wake is when the answer may change by itself (zero: only an event changes it).
	wake time.Time
}

// pick returns the next eligible waiter in round-robin order, removed from the queue, and the earliest wake-up
// among those held.
func (q *classQueue) pick(eligible func(*waiter) verdict) (*waiter, time.Time) {
	var wake time.Time
	for i := range len(q.ring) {
		idx := (q.next + i) % len(q.ring)
		u := q.ring[idx]
		for j, w := range u.waiters {
			v := eligible(w)
			wake = earliest(wake, v.wake)
			if v.ok {
				u.waiters = slices.Delete(u.waiters, j, j+1)
				q.size--
				if len(u.waiters) == 0 {
					q.ring = slices.Delete(q.ring, idx, idx+1)
					u.inRing = false
					q.next = idx
				} else {
					q.next = idx + 1
				}
				if q.next >= len(q.ring) {
					q.next = 0
				}
				return w, wake
			}
			if !v.perRequest {
				break
			}
		}
	}
	return nil, wake
}

func (q *classQueue) each(f func(*waiter)) {
	for _, u := range q.ring {
		for _, w := range u.waiters {
			f(w)
		}
	}
}

// earliest returns the earlier of two wake times, zero meaning "none".
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
