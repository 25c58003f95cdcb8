package tools

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/api"
)

// QuotaSpent says that Postman refuses the key's calls because its monthly quota is spent. get_account then
// answers from what the rate gate knows (no call reaches Postman, so the user and team are unknown).
type QuotaSpent struct {
	// ResetsAt is when Postman said calls may resume (RFC 3339, UTC), when it said so.
	ResetsAt string `json:"resets_at,omitempty"`
	Message  string `json:"message"`
}

// gateBudget is the key's budget as the rate gate sees it, at no API cost; nil without a gate.
func gateBudget(env *Env) *RateBudget {
	if env.Budget == nil {
		return nil
	}
	s := env.Budget()
	r := &RateBudget{
		Limit: s.Limit, Remaining: s.Remaining, WindowSeconds: int(s.Window / time.Second),
		Queued: s.QueuedInteractive + s.QueuedBackground, QuotaExhausted: s.QuotaExhausted, Count429: s.Count429,
	}
	if !s.ResetAt.IsZero() {
		r.ResetAt = s.ResetAt.UTC().Format("15:04:05 UTC")
	}
	if s.MonthRemaining >= 0 {
		r.MonthRemaining = s.MonthRemaining
	}
	return r
}

// quotaSpentAccount turns a refusal for the monthly quota into an answer: the quota is spent, when it resets if
// Postman said, and the gate's view of the key. ok is false for any other error.
func quotaSpentAccount(env *Env, err error, now time.Time) (Account, bool) {
	if !errors.Is(err, api.ErrQuotaExhausted) {
		return Account{}, false
	}
	q := &QuotaSpent{Message: "This Postman API key's monthly call quota is spent: Postman refuses its calls until the quota resets or a Postman team admin raises the limit."}
	var ae *api.Error
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		q.ResetsAt = now.Add(ae.RetryAfter).UTC().Truncate(time.Second).Format(time.RFC3339)
	} else if env.Budget != nil {
		// The gate refuses later calls itself, so the reset Postman gave on its quota 429 lives in the snapshot.
		if at := env.Budget().QuotaResetAt; !at.IsZero() {
			q.ResetsAt = at.UTC().Truncate(time.Second).Format(time.RFC3339)
		}
	}
	a := Account{Quota: q, Rate: gateBudget(env)}
	if a.Rate != nil {
		a.Rate.QuotaExhausted = true
	}
	return a, true
}

func (a Account) quotaText() string {
	var b strings.Builder
	b.WriteString("MONTHLY QUOTA SPENT: ")
	b.WriteString(a.Quota.Message)
	b.WriteByte('\n')
	if a.Quota.ResetsAt != "" {
		fmt.Fprintf(&b, "Postman says calls may resume at %s\n", a.Quota.ResetsAt)
	} else {
		b.WriteString("Postman did not say when the quota resets (quotas renew with the plan's billing month)\n")
	}
	if r := a.Rate; r != nil {
		fmt.Fprintf(&b, "Rate gate: limit %d per %ds, %d × 429 so far, %d queued", r.Limit, r.WindowSeconds, r.Count429, r.Queued)
		if r.MonthRemaining > 0 {
			fmt.Fprintf(&b, ", %d calls thought left this month", r.MonthRemaining)
		}
		b.WriteByte('\n')
	}
	b.WriteString("User and team details need a call to Postman; they come back once the quota does.\n")
	return b.String()
}
