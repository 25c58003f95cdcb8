package api

import "github.com/pmops/pmops/internal/ratelimit"

// EstimateWait says what a new request with ticket t would face at the client's gate now (requests ahead, the
// expected wait), without queueing it; zero without a gate. Adapters use it to tell a person they are queued.
func (c *Client) EstimateWait(t ratelimit.Ticket) ratelimit.WaitInfo {
	if c.gate == nil {
		return ratelimit.WaitInfo{}
	}
	return c.gate.Estimate(t)
}
