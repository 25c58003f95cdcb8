package tools

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
)

// TestAccountWhenQuotaSpent: once Postman refuses the key for its monthly quota, get_account still answers, from
// the rate gate: the quota is spent, when it resets (Postman said so on its refusal), and what the gate knows.
// The second call is refused by the gate itself without reaching Postman, and still answers.
func TestAccountWhenQuotaSpent(t *testing.T) {
	f := newFixture(t, emulator.Options{MonthlyQuota: 5, MonthlyUsageStart: 5})
	res := f.mustCall(t, "get_account", nil)
	a, ok := res.(Account)
	if !ok || a.Quota == nil {
		t.Fatalf("get_account with the quota spent: %#v", res)
	}
	if a.Rate == nil || !a.Rate.QuotaExhausted || a.Rate.Limit == 0 {
		t.Fatalf("no gate snapshot in the answer: %+v", a.Rate)
	}
	text := res.Text()
	// The gate refuses on the server's quota 429; the Retry-After Postman sent with it reaches the answer through
	// the gate's snapshot.
	for _, want := range []string{"MONTHLY QUOTA SPENT", "Postman says calls may resume at ", "Rate gate"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, emulator.DemoKey) {
		t.Fatal("text shows the key")
	}

	sent := f.emu.TotalRequests()
	again, ok := f.mustCall(t, "get_account", nil).(Account)
	if !ok || again.Quota == nil || again.Rate == nil || !again.Rate.QuotaExhausted {
		t.Fatalf("second call: %#v", again)
	}
	if f.emu.TotalRequests() != sent {
		t.Error("the gate sent a request for a spent quota")
	}
	if again.Quota.ResetsAt == "" || again.Quota.ResetsAt != a.Quota.ResetsAt {
		t.Errorf("refused by the gate itself, the answer lost Postman's reset: %q then %q", a.Quota.ResetsAt, again.Quota.ResetsAt)
	}
}

// TestQuotaSpentAccountResetTime: when the refusal carries Postman's Retry-After, the answer says when calls
// may resume; other errors are not turned into answers.
func TestQuotaSpentAccountResetTime(t *testing.T) {
	now := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	h := http.Header{"Retry-After": []string{"7200"}}
	quota := fmt.Errorf("GET /me: %w", api.ParseError(429, h, []byte(`{"error":{"name":"serviceLimitExhausted","message":"Service limit exhausted."}}`)))
	a, ok := quotaSpentAccount(&Env{}, quota, now)
	if !ok || a.Quota == nil || a.Quota.ResetsAt != "2026-12-05T16:00:00Z" {
		t.Fatalf("quota refusal: %+v %v", a.Quota, ok)
	}
	if !strings.Contains(a.Text(), "resume at 2026-12-05T16:00:00Z") {
		t.Errorf("text:\n%s", a.Text())
	}
	for _, err := range []error{
		api.ParseError(429, http.Header{"Retry-After": []string{"5"}}, []byte(`{"error":{"name":"rateLimited"}}`)),
		api.ParseError(401, nil, nil),
		errors.New("boom"),
	} {
		if _, ok := quotaSpentAccount(&Env{}, err, now); ok {
			t.Errorf("%v answered as a spent quota", err)
		}
	}
}
