package api

import (
	"time"

	"github.com/pmops/pmops/internal/ratelimit"
)

// EstimateWait says what a new request with ticket t would face at the client's gate now (requests ahead, the
// expected wait), without queueing it; zero without a gate. Adapters use it to tell a person they are queued.
func (c *Client) EstimateWait(t ratelimit.Ticket) ratelimit.WaitInfo {
	if c.gate == nil {
		return ratelimit.WaitInfo{}
	}
	return c.gate.Estimate(t)
}

// EstimateSends says what the last of several requests would face were they all queued now at the client's gate
// with ticket t (see ratelimit.Gate.EstimateSends); zero without a gate.
func (c *Client) EstimateSends(t ratelimit.Ticket, sends []ratelimit.Send) ratelimit.WaitInfo {
	if c.gate == nil {
		return ratelimit.WaitInfo{}
	}
	return c.gate.EstimateSends(t, sends)
}

// Cached says whether a GET of a path matching pattern would be answered from the gate's cache at `at` (see
// ratelimit.Gate.Cached); false without a gate.
func (c *Client) Cached(pattern string, at time.Time) bool {
	if c.gate == nil {
		return false
	}
	return c.gate.Cached(pattern, at)
}
