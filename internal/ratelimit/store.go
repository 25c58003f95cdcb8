package ratelimit

import (
	"context"
	"strconv"
	"time"
)

// WindowStore shares the count of one server window between the processes that use the same API key, so k
// replicas together never send more than the window allows. A nil store means this process is alone.
//
// Add atomically adds n (negative to give back requests that were not sent) to the counter named windowKey,
// creating it with the given ttl if it does not exist, and returns the new total. Keys name one window of one
// key ("<prefix>:<hash of the API key>:<window end, epoch seconds>"), so they expire on their own. In Redis:
// INCRBY key n, then EXPIRE key ttl NX, in one MULTI or Lua script.
//
// When Add fails the gate does not fail open: until the store answers again (it retries one window later) each
// process keeps to Limit/Options.StoreReplicas of every window.
type WindowStore interface {
	Add(ctx context.Context, windowKey string, n int, ttl time.Duration) (count int, err error)
}

// Replica sharing: how granted requests are registered with the WindowStore and corrected afterwards.

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
	if now.Before(b.storeShareUntil) && b.overShare(w, now) {
		// The store answers again, but its count of this window misses what the replicas sent meanwhile.
		return nil, 0, 0, true
	}
	switch {
	case len(w.charges) > 0:
		end := w.charges[0]
		adds = append(adds, storeAdd{key: b.storeKey(w, end), end: end, current: b.sameWindow(end, b.cur.end)})
		if !now.Add(b.rtt).Before(b.earliestEnd().Add(-b.offset.upper())) {
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
	if w.probe || len(w.charges) == 0 || b.cur.ours <= b.limit/b.storeReplicas() {
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
				"replicas", b.storeReplicas(), "err", err)
		}
		b.storeDownUntil = now.Add(b.window)
		b.storeShareUntil = b.storeDownUntil
		if b.cur.known {
			end := b.endLocal()
			for !end.After(b.storeDownUntil) {
				end = end.Add(b.window)
			}
			b.storeShareUntil = end
		}
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
