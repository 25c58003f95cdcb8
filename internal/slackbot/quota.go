package slackbot

import (
	"context"
	"fmt"
)

// quotaNote is what whoami adds when the rate gate knows the key's monthly quota is spent (no call to Postman):
// empty otherwise.
func (d *Dispatcher) quotaNote(ctx context.Context, req Request) string {
	env, _, err := d.envFor(ctx, req)
	if err != nil || env == nil || env.Budget == nil {
		return ""
	}
	s := env.Budget()
	if !s.QuotaExhausted {
		return ""
	}
	return fmt.Sprintf("\n🚫 This key's monthly Postman API quota is spent: Postman refuses its calls until the quota resets or a Postman team admin raises the limit (rate gate: %d calls per %s, %d refused with 429 so far). /postman quota shows more.",
		s.Limit, s.Window, s.Count429)
}
