package ratelimit

import (
	"fmt"
	"math"
	"time"
)

// Monthly quota: exhaustion, its probe, and the quota left.

func (b *budget) monthAvail() int64 {
	if !b.month.known || b.month.overage {
		return math.MaxInt64
	}
	return b.month.remaining - (b.grantCost - b.month.cumAt)
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
