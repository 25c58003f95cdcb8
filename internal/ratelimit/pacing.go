package ratelimit

import (
	"math"
	"time"
)

// Pacing and reserve: the line background traffic keeps above so people find tokens at every moment.

// paceSpan is the stretch over which background traffic is paced: from the window's start to the latest moment
// a request can be released and still land in this window. That moment uses the earliest the window may really
// end: the upper bound of the clock offset, a Reset delta's rounding, and a one-way trip.
func (b *budget) paceSpan() (start, stop time.Time) {
	start = b.endLocal().Add(-b.window)
	stop = b.earliestEnd().Add(-b.offset.upper() - b.rtt/2 - 100*time.Millisecond)
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
	l := R * (1 - f)
	if F := math.Ceil(R / 3); f < b.floorEnd(F) {
		l = math.Max(l, F)
	}
	if !b.opts.DisablePacing {
		l = math.Max(l, L*(1-f)-float64(b.opts.BackgroundBurst))
	}
	return l
}

// lineCrossing is when background traffic may take a token leaving a tokens behind.
func (b *budget) lineCrossing(a float64) time.Time {
	return b.timeAtFraction(b.lineFraction(a))
}

// lineFraction is the elapsed fraction at which background traffic may take a token leaving a tokens behind.
func (b *budget) lineFraction(a float64) float64 {
	L, R := float64(b.limit), b.reserve()
	f := 0.0
	if !b.opts.DisablePacing {
		f = 1 - (a+float64(b.opts.BackgroundBurst))/L
	}
	if R > 0 {
		f = math.Max(f, 1-a/R)
		if F := math.Ceil(R / 3); a < F {
			f = math.Max(f, b.floorEnd(F))
		}
	}
	return math.Max(0, math.Min(1, f))
}

// floorEnd is the elapsed fraction at which the floor F of the reserve goes to background traffic: early enough
// that the background requests queued or in flight, one round trip per turn, can send all of it before the
// pacing span ends (at the end of the span itself, a few callers would leave most of it unsent).
func (b *budget) floorEnd(F float64) float64 {
	n := b.queues[Background].size + b.bgInflight
	if n == 0 || b.rtt == 0 || F <= 0 {
		return 1
	}
	start, stop := b.paceSpan()
	span := stop.Sub(start)
	if span <= 0 {
		return 1
	}
	drain := time.Duration(math.Ceil(F/float64(n))) * b.rtt
	return 1 - math.Min(0.5, float64(drain)/float64(span))
}
