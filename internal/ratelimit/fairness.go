package ratelimit

import (
	"time"
)

// Fairness: per-user equal shares of the window within a class.

func (b *budget) userFor(t Ticket) *userState {
	k := userKey{class: t.Class, user: t.User}
	u := b.users[k]
	if u == nil {
		u = &userState{key: k}
		b.users[k] = u
	}
	return u
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
