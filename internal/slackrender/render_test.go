package slackrender

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/tools"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	colUID  = "8154379-3e2a1f6e-5b7c-4c9a-9f0d-2b6e8a1c4d7f"
	envUID  = "8154379-b1f2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
	monUID  = "1e6b6c77-2b1a-4f3e-9c8d-7a6b5c4d3e2f"
	monUID2 = "1e6b6c77-7777-4f3e-9c8d-7a6b5c4d3e2f"
	wsID    = "1f0df51a-8658-4ee8-a2a1-d2567dfa09a9"
)

// longOutline is a realistic big collection outline: 40 folders of 9 requests each, plus root requests.
func longOutline() tools.CollectionView {
	v := tools.CollectionView{Name: "Orders API (full regression)", UID: colUID, Description: "Every endpoint of the Orders service, v2 and v3."}
	for f := range 40 {
		folder := fmt.Sprintf("Resource %02d", f)
		v.Items = append(v.Items, tools.OutlineRow{Name: folder, Folder: true, ID: fmt.Sprintf("f-%d", f)})
		v.Folders++
		for r := range 9 {
			method := []string{"GET", "POST", "PUT", "PATCH", "DELETE"}[r%5]
			v.Items = append(v.Items, tools.OutlineRow{Path: folder, Name: fmt.Sprintf("%s item %d", method, r), Method: method,
				URL: fmt.Sprintf("{{baseUrl}}/v3/resource-%02d/items/{{itemId}}?expand=lines&page=%d", f, r), ID: fmt.Sprintf("r-%d-%d", f, r)})
			v.Requests++
		}
	}
	for len(v.Items) < 400 {
		v.Items = append(v.Items, tools.OutlineRow{Name: fmt.Sprintf("Health check %d", len(v.Items)), Method: "GET", URL: "{{baseUrl}}/health"})
		v.Requests++
	}
	return v
}

func hugeBody() string {
	var b strings.Builder
	b.WriteString("{\n  \"orders\": [\n")
	for i := 0; b.Len() < 20000; i++ {
		fmt.Fprintf(&b, "    {\"id\": %d, \"customer\": \"Zoë <zoe@example.com> & co\", \"note\": \"≥ 5 € · 日本語 · 🚚\"},\n", i)
	}
	b.WriteString("  ]\n}")
	return b.String()
}

type goldenCase struct {
	name   string
	render func(Options) Message
}

func goldenCases() []goldenCase {
	rendered := func(r tools.Result) func(Options) Message { return func(o Options) Message { return Render(r, o) } }
	retry := func(tool, arg string) func(tools.Candidate) Action {
		return func(c tools.Candidate) Action {
			return Action{Tool: tool, Args: map[string]any{arg: c.ID}}
		}
	}
	return []goldenCase{
		{"account", rendered(tools.Account{UserID: 12345678, Username: "taylor-lee", FullName: "Taylor Lee", TeamID: 4242,
			TeamName: "Acme Payments", Roles: []string{"user", "flow-collaborator"},
			APICalls: &tools.Usage{Limit: 10000, Used: 8421},
			Rate:     &tools.RateBudget{Limit: 300, Remaining: 287, WindowSeconds: 60, ResetAt: "14:03:00 UTC", Queued: 0, MonthRemaining: 1579, Count429: 2}})},
		{"account_quota_exhausted", rendered(tools.Account{UserID: 12345678, Username: "taylor-lee", FullName: "Taylor Lee",
			APICalls: &tools.Usage{Limit: 1000, Used: 1000, Overage: 12},
			Rate:     &tools.RateBudget{Limit: 300, Remaining: 300, WindowSeconds: 60, QuotaExhausted: true}})},
		{"workspace_list", rendered(tools.WorkspaceList{Items: []tools.WorkspaceRow{
			{ID: wsID, Name: "Payments Team", Type: "team", Visibility: "team"},
			{ID: "2a1b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", Name: "My Workspace", Type: "personal", Visibility: "personal"},
			{ID: "3a1b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", Name: "Public API docs", Type: "public"},
		}, NextCursor: "bz0z", Total: 7})},
		{"workspace_list_next_page", func(o Options) Message {
			o.NextPage = func(cursor string) (Action, bool) {
				return Action{Tool: "list_workspaces", Args: map[string]any{"cursor": cursor, "type": "team"}}, true
			}
			o.WebURL = "https://acme.postman.co/"
			return Render(&tools.WorkspaceList{Items: []tools.WorkspaceRow{{ID: wsID, Name: "Payments Team", Type: "team"}}, NextCursor: "bz0x"}, o)
		}},
		{"workspace_detail", rendered(tools.WorkspaceDetail{ID: wsID, Name: "Payments Team", Type: "team", Visibility: "team",
			Description:  "APIs owned by the payments squad. Ask in #payments-dev before changing monitors.",
			Collections:  []tools.Element{{Name: "Orders API", UID: colUID}, {Name: "Refunds API", UID: "8154379-aaaaaaaa-5b7c-4c9a-9f0d-2b6e8a1c4d7f"}},
			Environments: []tools.Element{{Name: "Staging", UID: envUID}, {Name: "Production", UID: "8154379-cccccccc-e5f6-4a7b-8c9d-0e1f2a3b4c5d"}},
			Monitors:     []tools.Element{{Name: "Nightly smoke", UID: monUID}},
			Mocks:        []tools.Element{},
		})},
		{"collection_list", rendered(tools.CollectionList{Items: []tools.CollectionRow{
			{Name: "Orders API", UID: colUID, UpdatedAt: "2025-03-04 09:12 UTC"},
			{Name: "Orders API (fork)", UID: "99-3e2a1f6e-5b7c-4c9a-9f0d-2b6e8a1c4d7f", UpdatedAt: "2025-03-05 17:40 UTC", ForkOf: colUID},
		}})},
		{"collection_view", rendered(tools.CollectionView{Name: "Orders API", UID: colUID, Requests: 4, Folders: 2,
			Description: "Create, read and cancel orders.",
			Items: []tools.OutlineRow{
				{Name: "Orders", Folder: true},
				{Path: "Orders", Name: "List orders", Method: "GET", URL: "{{baseUrl}}/orders?status=open&limit=50"},
				{Path: "Orders", Name: "Create order", Method: "POST", URL: "{{baseUrl}}/orders"},
				{Path: "Orders", Name: "Admin", Folder: true, Requests: 7},
				{Name: "Health", Method: "GET", URL: "{{baseUrl}}/health"},
			}})},
		{"collection_view_long", rendered(longOutline())},
		{"collection_request", rendered(tools.CollectionView{Name: "Orders API", UID: colUID, Requests: 4, Folders: 2,
			Request: &tools.RequestDetail{ID: "r-1", Path: "Orders/Create order", Method: "POST", URL: "{{baseUrl}}/orders?dryRun=false&notify=true",
				Headers:  []string{"Content-Type: application/json", "Authorization: ••••••", "X-Api-Key: PMAK-64a1f0c1e2d3a4b5c6d7e8f9-0123456789abcdef0123456789abcdef01", "X-Trace: {{traceId}}", "Authorization: Bearer {{token}} (disabled)"},
				BodyMode: "raw", Body: "{\n  \"customerId\": \"{{customerId}}\",\n  \"lines\": [{\"sku\": \"A-1\", \"qty\": 2}]\n}",
				Auth: "bearer", Description: "Creates an order. Fails with 409 when the cart is stale.",
				Tests: []string{"pm.test(\"status is 201\", () => pm.response.to.have.status(201));", "pm.test(\"has id\", () => pm.expect(pm.response.json().id).to.be.a('string'));"}}})},
		{"collection_request_huge_body", rendered(tools.CollectionView{Name: "Orders API", UID: colUID, Requests: 1,
			Request: &tools.RequestDetail{Path: "Bulk import", Method: "POST", URL: "{{baseUrl}}/orders/bulk", BodyMode: "raw", Body: hugeBody()}})},
		{"environment_list", rendered(tools.EnvironmentList{Items: []tools.EnvironmentRow{
			{Name: "Staging", UID: envUID, UpdatedAt: "2025-03-01 08:00 UTC"},
			{Name: "Production", UID: "8154379-cccccccc-e5f6-4a7b-8c9d-0e1f2a3b4c5d", UpdatedAt: "2025-02-11 16:45 UTC"},
		}, Total: 2})},
		{"environment_view", rendered(tools.EnvironmentView{Name: "Staging", UID: envUID, UpdatedAt: "2025-03-01 08:00 UTC", Truncated: 3,
			Variables: []tools.EnvVariable{
				{Key: "baseUrl", Value: "https://staging.orders.example.com", Enabled: true, Type: "default"},
				{Key: "timeoutMs", Value: "5000", Enabled: true, Type: "default"},
				{Key: "apiKey", Value: "••••••", Enabled: true, Type: "secret", Masked: true},
				// As a reveal=true call would return it: Postman says secret, the tool did not mask.
				{Key: "dbPassword", Value: "hunter2-S3cr3t!", Enabled: true, Type: "secret"},
				// A key that says token but is typed default, returned unmasked.
				{Key: "refresh_token", Value: "rt_9f8e7d6c5b4a39281706f5e4d3c2b1a0", Enabled: true, Type: "default"},
				{Key: "legacyHost", Value: "", Enabled: false, Type: "default"},
			}})},
		{"env_diff_applied", rendered(tools.EnvDiff{Environment: "Staging", UID: envUID, Applied: true, Changes: []tools.VarChanges{
			{Key: "baseUrl", Action: "change", Old: "https://old.example.com", New: "https://staging.orders.example.com"},
			{Key: "featureFlag", Action: "add", New: "on"},
			{Key: "apiKey", Action: "change", Old: "••••••", New: "••••••"},
			{Key: "legacyHost", Action: "remove", Old: "legacy.example.com"},
			{Key: "timeoutMs", Action: "unchanged"},
		}})},
		{"env_diff_dry_run", rendered(tools.EnvDiff{Environment: "Production", UID: "8154379-cccccccc-e5f6-4a7b-8c9d-0e1f2a3b4c5d", Changes: []tools.VarChanges{
			{Key: "session_secret", Action: "add", New: "sk_live_51HxYz"},
		}})},
		{"monitor_list", rendered(tools.MonitorList{Items: []tools.MonitorRow{
			{Name: "Nightly smoke", UID: monUID, Active: true, LastRun: "failed", LastRunAt: "2025-03-06 02:00 UTC", Failed: "3/42 assertions failed"},
			{Name: "Checkout health", UID: monUID2, Active: true, LastRun: "success", LastRunAt: "2025-03-06 09:15 UTC"},
			{Name: "Partner sandbox", UID: "1e6b6c77-8888-4f3e-9c8d-7a6b5c4d3e2f", Active: false, LastRun: "success", LastRunAt: "2025-02-28 02:00 UTC"},
			{Name: "New monitor", UID: "1e6b6c77-9999-4f3e-9c8d-7a6b5c4d3e2f", Active: true},
			{Name: "Flaky one", UID: "1e6b6c77-aaaa-4f3e-9c8d-7a6b5c4d3e2f", Active: true, Error: "Postman API 500 serverError: try again"},
		}, NextCursor: "c2", Total: 12})},
		{"monitor_view", rendered(tools.MonitorView{Name: "Nightly smoke", UID: monUID, Active: true, Cron: "0 2 * * *", Timezone: "Europe/Berlin",
			NextRun: "2025-03-07 01:00 UTC", Collection: colUID, Environment: envUID, Regions: []string{"us-east", "eu-central"},
			LastRun: &tools.RunSummary{Status: "failed", StartedAt: "2025-03-06 01:00 UTC", FinishedAt: "2025-03-06 01:01 UTC",
				Requests: 14, FailedRequests: 2, Assertions: 42, FailedAssertions: 3, Errors: 1, LatencyMs: 183.4}})},
		{"monitor_view_paused", rendered(tools.MonitorView{Name: "Partner sandbox", UID: "1e6b6c77-8888-4f3e-9c8d-7a6b5c4d3e2f", Active: false,
			Cron: "*/30 * * * *", Timezone: "UTC", Collection: colUID})},
		{"run_report_failed", rendered(tools.RunReport{Monitor: "Nightly smoke", UID: monUID, JobID: "1ef0c3a2-5b6c-4d7e-8f90-a1b2c3d4e5f6", Source: "run",
			Summary: tools.RunSummary{Status: "failed", StartedAt: "2025-03-06 09:30 UTC", FinishedAt: "2025-03-06 09:31 UTC",
				Requests: 14, FailedRequests: 2, Assertions: 42, FailedAssertions: 3, Errors: 1, LatencyMs: 212},
			Failures: []tools.Failure{
				{Request: "Create order", Method: "POST", URL: "https://staging.orders.example.com/orders", Code: 500,
					Problems: []string{`"status is 201": expected response to have status code 201 but got 500`, `"has id" failed`}},
				{Request: "Get order", Method: "GET", URL: "https://staging.orders.example.com/orders/{{orderId}}",
					Problems: []string{"ETIMEDOUT: connect ETIMEDOUT 10.0.3.7:443"}},
			},
			More:     4,
			Previous: &tools.RunSummary{Status: "success"}})},
		{"run_report_passed", rendered(tools.RunReport{Monitor: "Checkout health", UID: monUID2, JobID: "2ef0c3a2-5b6c-4d7e-8f90-a1b2c3d4e5f6", Passed: true, Source: "run",
			Summary:  tools.RunSummary{Status: "success", StartedAt: "2025-03-06 09:15 UTC", FinishedAt: "2025-03-06 09:15 UTC", Requests: 6, Assertions: 18, LatencyMs: 95},
			Failures: []tools.Failure{}})},
		{"run_report_running", rendered(tools.RunReport{Monitor: "Nightly smoke", UID: monUID, JobID: "3ef0c3a2-5b6c-4d7e-8f90-a1b2c3d4e5f6", Running: true,
			Summary: tools.RunSummary{Status: "running"}, Failures: []tools.Failure{},
			Note: "the run continues in Postman; call get_monitor or explain_monitor_failure in a minute for its result"})},
		{"mock_list", rendered(tools.MockList{Items: []tools.MockRow{
			{Name: "Orders mock", UID: "8154379-e3d951bf-873f-4e58-a0a5-1ac1ee0bd9b4", URL: "https://e3d951bf-873f-4e58-a0a5-1ac1ee0bd9b4.mock.pstmn.io", Collection: colUID, Environment: envUID, Private: true, DelayMs: 300},
			{Name: "Old mock", UID: "8154379-f3d951bf-873f-4e58-a0a5-1ac1ee0bd9b4", URL: "https://f3d951bf-873f-4e58-a0a5-1ac1ee0bd9b4.mock.pstmn.io", Collection: colUID, Deactivated: true},
		}})},
		{"mock_row", rendered(tools.MockRow{Name: "Orders mock", UID: "8154379-e3d951bf-873f-4e58-a0a5-1ac1ee0bd9b4",
			URL: "https://e3d951bf-873f-4e58-a0a5-1ac1ee0bd9b4.mock.pstmn.io", Collection: colUID, Environment: envUID, Private: true, DelayMs: 300})},
		{"change_done", rendered(tools.Change{Done: true, Action: "paused monitor", Name: "Nightly smoke", UID: monUID})},
		{"change_preview", rendered(tools.Change{Action: "delete collection", Name: "Orders API", UID: colUID,
			Details: []string{"would delete 23 requests and everything in it; this cannot be undone", "call again with confirm=true to delete"}})},
		{"unknown_result", rendered(unknownResult{"3 things happened:\n<!channel> one & two\nthree"})},
		{"error_not_found", func(o Options) Message {
			return RenderError(&tools.Error{Kind: tools.KindNotFound, Message: `no monitor named "Nightly smok"`,
				Hint:       "check the name with the matching list_* tool",
				Candidates: []tools.Candidate{{Name: "Nightly smoke", ID: monUID}, {Name: "Nightly sanity", ID: monUID2}}},
				retry("get_monitor", "monitor"), o)
		}},
		{"error_ambiguous", func(o Options) Message {
			var cands []tools.Candidate
			for i := range 7 {
				cands = append(cands, tools.Candidate{Name: fmt.Sprintf("Orders API v%d", i+1), ID: fmt.Sprintf("8154379-%08d-5b7c-4c9a-9f0d-2b6e8a1c4d7f", i)})
			}
			return RenderError(&tools.Error{Kind: tools.KindAmbiguous, Message: `"Orders" matches 7 collections`, Hint: "pass the ID of the one you mean",
				Candidates: cands}, retry("get_collection", "collection"), o)
		}},
		{"error_no_retry", func(o Options) Message {
			return RenderError(&tools.Error{Kind: tools.KindNotFound, Message: `environment Staging has no variable "baseURL"`,
				Hint: "omit key to list them all", Candidates: []tools.Candidate{{Name: "baseUrl"}}}, nil, o)
		}},
		{"error_rate_limited", func(o Options) Message {
			return RenderError(&tools.Error{Kind: tools.KindRateLimited, Message: "Postman API rate limit reached until 14:03:07 UTC",
				Hint:    "retry then; pmops queues calls so this only happens when the wait would outlast the request",
				RetryAt: time.Date(2025, 3, 6, 14, 3, 7, 0, time.UTC)}, nil, o)
		}},
		{"error_quota", func(o Options) Message {
			return RenderError(&tools.Error{Kind: tools.KindQuota, Status: 429, Name: "serviceLimitExhausted",
				Message: "the Postman API key's monthly call quota is used up",
				Hint:    "no call will succeed until the quota resets at the start of next month or a Postman team admin raises the plan's limit"}, nil, o)
		}},
		{"error_unauthorized", func(o Options) Message {
			return RenderError(&tools.Error{Kind: tools.KindUnauthorized, Status: 401, Message: "Postman API 401 AuthenticationError: Invalid API Key. Every request requires a valid API Key to be sent.",
				Hint: "the API key is missing or invalid; generate a key in Postman (Settings → API keys) and configure it"}, nil, o)
		}},
		{"confirm_primary", func(o Options) Message {
			return Confirm("Set 2 variables in Staging", "These values change in the Staging environment.",
				[]string{"baseUrl: https://old.example.com → https://staging.orders.example.com", "apiKey: •••••• → •••••• (secret)"},
				Action{Tool: "set_environment_variables", Args: map[string]any{"environment": envUID, "set": map[string]any{"baseUrl": "https://staging.orders.example.com"}}, Label: "Apply"}, o)
		}},
		{"confirm_danger", func(o Options) Message {
			return Confirm("Run monitor Nightly smoke now", "Runs all 14 requests against Staging now; this counts against the monthly monitor runs.",
				nil, Action{Tool: "run_monitor", Args: map[string]any{"monitor": monUID}, Label: "Run now", Danger: true}, o)
		}},
		{"done", func(Options) Message {
			return Done("U024BE7LH", "paused monitor Nightly smoke", time.Date(2025, 3, 6, 14, 3, 7, 0, time.UTC))
		}},
		{"done_untrusted_actor", func(Options) Message {
			return Done("<!channel>", "set baseUrl in Staging", time.Date(2025, 3, 6, 14, 3, 7, 0, time.UTC))
		}},
		{"help", func(Options) Message { return Help(false) }},
		{"help_examples", func(Options) Message { return Help(true) }},
		{"text", func(Options) Message { return Text("Your Postman API key is linked. Try `/postman whoami`.") }},
		{"escaping", rendered(tools.CollectionList{Items: []tools.CollectionRow{
			{Name: "<!channel> deploy now", UID: colUID},
			{Name: "ping <@U123>", UID: "1-" + colUID[8:]},
			{Name: "<https://evil.example|click me>", UID: "2-" + colUID[8:]},
			{Name: "already &lt; escaped & raw", UID: "3-" + colUID[8:], ForkOf: "<!here>"},
		}})},
	}
}

// unknownResult is a result type the renderer does not know.
type unknownResult struct{ text string }

func (u unknownResult) Text() string { return u.text }

func TestGolden(t *testing.T) {
	before := guardTrips.Load()
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			tk := newTokens()
			m := tc.render(tk.opts())
			checkMessage(t, m)
			got := goldenJSON(t, m, tk)
			path := filepath.Join("testdata", tc.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the rendering; if the change is intended, run go test -update and review the diff\n%s", path, firstDiff(want, got))
			}
		})
	}
	if n := guardTrips.Load() - before; n != 0 {
		t.Errorf("%d renderings broke a rule and fell back to plain text", n)
	}
}

func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want %s\n  got  %s", i+1, w, g)
		}
	}
	return ""
}
