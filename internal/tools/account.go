package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/api"
)

type getAccountArgs struct{}

// Account is who the key belongs to and how much of its budget is left.
type Account struct {
	UserID   int64    `json:"user_id"`
	Username string   `json:"username"`
	FullName string   `json:"full_name,omitempty"`
	TeamID   int64    `json:"team_id,omitempty"`
	TeamName string   `json:"team_name,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	// APICalls is this month's Postman API usage as Postman reports it.
	APICalls *Usage `json:"api_calls,omitempty"`
	// Rate is the live budget of this key as the rate gate sees it (costs no API call).
	Rate *RateBudget `json:"rate,omitempty"`
	// Quota is set when the monthly quota is spent; the answer then comes from the rate gate alone.
	Quota *QuotaSpent `json:"quota_spent,omitempty"`
}

// Usage is a monthly counter.
type Usage struct {
	Limit   float64 `json:"limit"`
	Used    float64 `json:"used"`
	Overage float64 `json:"overage,omitempty"`
}

// RateBudget is the gate's view of the key's rate limits.
type RateBudget struct {
	Limit          int    `json:"limit"`
	Remaining      int    `json:"remaining"`
	WindowSeconds  int    `json:"window_seconds"`
	ResetAt        string `json:"reset_at,omitempty"`
	Queued         int    `json:"queued"`
	MonthRemaining int64  `json:"month_remaining,omitempty"`
	QuotaExhausted bool   `json:"quota_exhausted,omitempty"`
	Count429       int64  `json:"count_429"`
}

func (a Account) Text() string {
	if a.Quota != nil {
		return a.quotaText()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s (@%s, user %d)", a.FullName, a.Username, a.UserID)
	if a.TeamName != "" {
		fmt.Fprintf(&b, ", team %s (%d)", a.TeamName, a.TeamID)
	}
	if len(a.Roles) > 0 {
		fmt.Fprintf(&b, ", roles %s", strings.Join(a.Roles, ", "))
	}
	b.WriteByte('\n')
	if u := a.APICalls; u != nil {
		pct := 0.0
		if u.Limit > 0 {
			pct = 100 * u.Used / u.Limit
		}
		fmt.Fprintf(&b, "API calls this month: %.0f of %.0f (%.1f%%)", u.Used, u.Limit, pct)
		if u.Overage > 0 {
			fmt.Fprintf(&b, ", overage %.0f", u.Overage)
		}
		b.WriteByte('\n')
	}
	if r := a.Rate; r != nil {
		fmt.Fprintf(&b, "Rate window: %d of %d left per %ds", r.Remaining, r.Limit, r.WindowSeconds)
		if r.ResetAt != "" {
			fmt.Fprintf(&b, ", resets %s", r.ResetAt)
		}
		fmt.Fprintf(&b, "; %d queued; %d × 429 so far", r.Queued, r.Count429)
		if r.QuotaExhausted {
			b.WriteString("; MONTHLY QUOTA EXHAUSTED")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func accountTools() []*Tool {
	return []*Tool{
		define(Tool{
			Name:        "get_account",
			Title:       "Account and API budget",
			Toolset:     ToolsetAccount,
			Description: "Who the key acts as (user, team), this month's API calls against the quota, and the live rate budget; once the quota is spent it answers from the rate gate (quota_spent).",
			Hints:       Hints{ReadOnly: true, Idempotent: true, OpenWorld: true},
		}, getAccount),
	}
}

func getAccount(ctx context.Context, env *Env, _ getAccountArgs) (Account, error) {
	me, err := env.Client.GetMe(ctx)
	if err != nil {
		if a, ok := quotaSpentAccount(env, err, time.Now()); ok {
			return a, nil
		}
		return Account{}, fmt.Errorf("get account: %w", err)
	}
	a := Account{
		UserID: me.User.ID, Username: me.User.Username, FullName: me.User.FullName,
		TeamID: me.User.TeamID, TeamName: me.User.TeamName, Roles: me.User.Roles,
	}
	if op, ok := me.Operation(api.OperationAPIUsage); ok {
		a.APICalls = &Usage{Limit: op.Limit, Used: op.Usage, Overage: op.Overage}
	}
	a.Rate = gateBudget(env)
	return a, nil
}
