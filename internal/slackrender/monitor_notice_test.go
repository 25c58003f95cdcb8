package slackrender

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/tools"
)

func TestMonitorResultMessages(t *testing.T) {
	base := MonitorResult{MonitorName: "Orders <!channel> & co", MonitorUID: "1-abc", CollectionName: "Orders", CollectionUID: "1-col",
		EnvironmentName: "prod", EnvironmentUID: "1-env", Status: "failed", Requests: 5, FailedRequests: 1, Assertions: 9, FailedAsserts: 2,
		LatencyMs: 812, FinishedAt: time.Date(2026, 3, 16, 9, 5, 1, 0, time.UTC), Source: "webhook", Buttons: true,
		Failures:   []string{"Create order: \"Status code is 201\": expected 500 to equal 201", "a", "b", "c", "d", "e", strings.Repeat("x", 5000)},
		StreakRuns: 3, StreakSince: time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)}
	for _, role := range []MonitorResultRole{RoleFailing, RoleStillFailing, RoleRecovered, RoleRecoveredParent, RolePassed} {
		t.Run(string(role), func(t *testing.T) {
			r := base
			r.Role = role
			if role == RoleRecovered || role == RolePassed || role == RoleRecoveredParent {
				r.Status = "success"
			}
			m := MonitorResultMessage(r, "")
			if err := Validate(m); err != nil {
				t.Fatalf("invalid message: %v", err)
			}
			raw, _ := json.Marshal(m.Blocks)
			if errs := slackfake.ValidateBlocks(raw, slackfake.SurfaceMessage); len(errs) > 0 {
				t.Fatalf("Slack would refuse: %v", errs)
			}
			all := m.Text + string(raw)
			if strings.Contains(all, "<!channel>") {
				t.Error("a monitor name became a mention")
			}
			want := map[MonitorResultRole]string{RoleFailing: "FAILING", RoleStillFailing: "Still failing (3 runs in a row)",
				RoleRecovered: "RECOVERED", RoleRecoveredParent: "RECOVERED", RolePassed: "Passed"}[role]
			if !strings.Contains(m.Text, want) {
				t.Errorf("fallback %q lacks %q", m.Text, want)
			}
			hasButtons := strings.Contains(string(raw), ActionMonitorRerun)
			if hasButtons == (role == RoleRecoveredParent) {
				t.Errorf("buttons present=%v for %s", hasButtons, role)
			}
			if role == RoleFailing && !strings.Contains(string(raw), "… and 2 more") {
				t.Errorf("failures not capped: %s", raw)
			}
		})
	}
}

func TestMonitorHistoryMessage(t *testing.T) {
	h := tools.SummarizeHistory("Orders", "1-abc", []tools.HistoryRun{
		{Status: "failed", FinishedAt: time.Date(2026, 3, 16, 9, 10, 0, 0, time.UTC), DurationMs: 900, Failures: []string{"Status code is 200"}},
		{Status: "success", FinishedAt: time.Date(2026, 3, 16, 9, 5, 0, 0, time.UTC), DurationMs: 100},
	})
	m := MonitorHistoryMessage(h, "")
	if err := Validate(m); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(m.Blocks)
	for _, want := range []string{"🟩🟥", "failing since", "Status code is 200", "50% of 2 kept runs"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("history lacks %q: %s", want, raw)
		}
	}
	if r := Render(h, Options{}); !strings.Contains(r.Text, "50% passing") {
		t.Errorf("Render does not know MonitorHistory: %q", r.Text)
	}
}
