package slackrender

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/tools"
)

func TestAccountWithSpentQuota(t *testing.T) {
	rate := &tools.RateBudget{Limit: 300, Remaining: 300, WindowSeconds: 60, QuotaExhausted: true, Count429: 1}
	tests := []struct {
		name string
		a    tools.Account
		want []string
	}{
		{"reset known", tools.Account{Rate: rate, Quota: &tools.QuotaSpent{ResetsAt: "2027-01-01T00:00:00Z", Message: "spent"}},
			[]string{"quota spent", "Resets:* 2027-01-01 00:00 UTC", "limit 300 calls per 60s", "1 rate-limit refusal"}},
		{"reset unknown", tools.Account{Rate: rate, Quota: &tools.QuotaSpent{Message: "spent"}},
			[]string{"quota spent", "did not say when", "limit 300 calls per 60s"}},
		{"no gate", tools.Account{Quota: &tools.QuotaSpent{Message: "spent"}}, []string{"quota spent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := Render(tc.a, Options{})
			b, err := json.Marshal(m.Blocks)
			if err != nil {
				t.Fatal(err)
			}
			all := m.Text + string(b)
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("message lacks %q: %s", w, all)
				}
			}
			if err := Validate(m); err != nil {
				t.Errorf("invalid message: %v", err)
			}
			if strings.Contains(all, "(@)") || strings.Contains(all, "User ID") {
				t.Errorf("shows empty user details: %s", all)
			}
		})
	}
}
