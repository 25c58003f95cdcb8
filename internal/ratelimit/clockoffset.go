package ratelimit

import (
	"time"
)

// Clock offset: server-minus-local clock bounds from Date headers.

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
