package slackrender

import (
	"fmt"
	"time"

	"github.com/pmops/pmops/internal/tools"
)

// quotaSpent renders get_account's answer once the key's monthly quota is spent: no user details (they need a
// call Postman refuses), but what the rate gate knows and when the quota resets, when Postman said.
func quotaSpent(a tools.Account) *doc {
	d := &doc{summary: "🚫 The Postman API key's monthly quota is spent", title: "Monthly quota spent"}
	d.addHead(headerBlock("🚫 Monthly Postman API quota spent"))
	lines := []string{"Postman refuses this key's calls until the quota resets or a Postman team admin raises the limit."}
	if t, err := time.Parse(time.RFC3339, a.Quota.ResetsAt); err == nil {
		lines = append(lines, "🗓️ *Resets:* "+t.UTC().Format("2006-01-02 15:04 UTC"))
	} else {
		lines = append(lines, "🗓️ *Resets:* Postman did not say when (quotas renew with the plan's billing month).")
	}
	if r := a.Rate; r != nil {
		line := fmt.Sprintf("⏱️ *Rate gate:* limit %d calls per %ds; %s so far; %d queued", r.Limit, r.WindowSeconds,
			plural(int(r.Count429), "rate-limit refusal (429)", "rate-limit refusals (429)"), r.Queued)
		lines = append(lines, line)
		if r.MonthRemaining > 0 {
			lines = append(lines, fmt.Sprintf("📊 *Thought left this month:* %d calls", r.MonthRemaining))
		}
	}
	d.add(lineBlocks(lines)...)
	d.note("Your user and team details come back once Postman accepts calls again.")
	return d
}
