package slackrender

import (
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/tools"
)

// fuzzResults puts the fuzzed strings everywhere a result carries outside text.
func fuzzResults(name, value, link string) []tools.Result {
	return []tools.Result{
		tools.Account{Username: name, FullName: value, TeamName: name, Roles: []string{value, name},
			APICalls: &tools.Usage{Limit: 10, Used: 11}, Rate: &tools.RateBudget{ResetAt: value, QuotaExhausted: true}},
		tools.WorkspaceList{Items: []tools.WorkspaceRow{{ID: link, Name: name, Type: value, Visibility: name}}, NextCursor: value},
		tools.WorkspaceDetail{ID: link, Name: name, Type: value, Description: value,
			Collections: []tools.Element{{Name: name, UID: link}}, Environments: []tools.Element{{Name: value, UID: name}},
			Monitors: []tools.Element{{Name: name, UID: value}}, Mocks: []tools.Element{{Name: value, UID: link}}},
		tools.CollectionList{Items: []tools.CollectionRow{{Name: name, UID: link, UpdatedAt: value, ForkOf: value}}, NextCursor: name},
		tools.CollectionView{Name: name, UID: link, Description: value, Items: []tools.OutlineRow{
			{Name: name, Folder: true}, {Path: value, Name: name, Method: value, URL: link}, {Path: name, Name: value, Folder: true, Requests: 3}}, NextCursor: value},
		tools.CollectionView{Name: name, UID: link, Request: &tools.RequestDetail{Path: name, Method: value, URL: link,
			Headers: []string{name + ": " + value, "Authorization: " + value}, BodyMode: name, Body: value, Auth: name, Description: value, Tests: []string{value, name}}},
		tools.EnvironmentList{Items: []tools.EnvironmentRow{{Name: name, UID: link, UpdatedAt: value}}},
		tools.EnvironmentView{Name: name, UID: link, UpdatedAt: value, Truncated: 2, Variables: []tools.EnvVariable{
			{Key: name, Value: value, Type: "default", Enabled: true}, {Key: value, Value: name, Type: name}}},
		tools.EnvDiff{Environment: name, UID: link, Applied: true, Changes: []tools.VarChanges{
			{Key: name, Action: "add", New: value}, {Key: value, Action: "change", Old: name, New: value},
			{Key: name, Action: "remove", Old: value}, {Key: value, Action: name}}},
		tools.MonitorList{Items: []tools.MonitorRow{{Name: name, UID: link, LastRun: value, LastRunAt: name, Failed: value, Error: name}}},
		tools.MonitorView{Name: name, UID: link, Cron: value, Timezone: name, NextRun: value, Collection: link, Environment: name,
			Regions: []string{value}, LastRun: &tools.RunSummary{Status: name, StartedAt: value, FinishedAt: name}},
		tools.RunReport{Monitor: name, UID: link, JobID: value, Summary: tools.RunSummary{Status: value},
			Failures: []tools.Failure{{Request: name, Method: value, URL: link, Code: 502, Problems: []string{value, name}}},
			More:     3, Note: value, Previous: &tools.RunSummary{Status: name}},
		tools.MockList{Items: []tools.MockRow{{Name: name, UID: value, URL: link, Collection: name, Environment: value, Private: true}}},
		tools.MockRow{Name: name, UID: value, URL: link, Collection: link, Environment: name, Deactivated: true, DelayMs: 5},
		tools.Change{Done: true, Action: value, Name: name, UID: link, Details: []string{value, name}},
		tools.Change{Action: name, Name: value, UID: link},
		unknownResult{value},
	}
}

func FuzzRender(f *testing.F) {
	seeds := [][3]string{
		{"Orders API", "https://api.example.com", "8154379-3e2a1f6e-5b7c-4c9a-9f0d-2b6e8a1c4d7f"},
		{"<!channel>", "<@U123> <https://evil|click> &lt;", "https://evil.example|click"},
		{"", "", ""},
		{"   ", "\n\n\n", "\t"},
		{"*_~`", "```\ncode\n```", "javascript:alert(1)"},
		{"\xff\xfe\xc3", "\x00\x01\x1b[31m", "https://x.example/\xff"},
		{strings.Repeat("é🚚<&>", 1000), strings.Repeat("line & <b>\n", 1000), strings.Repeat("a", 4000)},
		{strings.Repeat("x", 20000), strings.Repeat("y z\n", 5000), "https://" + strings.Repeat("h", 5000) + ".example"},
		{"\u202eevil\u202c", "&amp;&lt;&gt;", "https://ok.example/a?b=1&c=2"},
		{"<!date^1392734382^{date}|x>", "<#C024BE7LR|general>", "<https://go.postman.co>"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, name, value, link string) {
		before := guardTrips.Load()
		next := func(cursor string) (Action, bool) {
			return Action{Tool: "list", Args: map[string]any{"cursor": cursor}}, true
		}
		for _, res := range fuzzResults(name, value, link) {
			tk := newTokens()
			opts := tk.opts()
			opts.NextPage = next
			opts.WebURL = link
			checkMessage(t, Render(res, opts))
			checkMessage(t, Render(res, Options{}))
		}
		if n := guardTrips.Load() - before; n != 0 {
			t.Fatalf("%d renderings broke a rule and fell back", n)
		}
		tk := newTokens()
		for _, kind := range []tools.Kind{tools.KindNotFound, tools.KindAmbiguous, tools.KindRateLimited, tools.KindQuota, tools.KindUnauthorized, tools.KindUpstream} {
			err := &tools.Error{Kind: kind, Message: value, Hint: name, RetryAt: time.Unix(1700000000, 0),
				Candidates: []tools.Candidate{{Name: name, ID: value}, {Name: value, ID: link}, {Name: "", ID: ""}}}
			checkMessage(t, RenderError(err, func(c tools.Candidate) Action {
				return Action{Tool: "get", Args: map[string]any{"x": c.ID}, Label: c.Name}
			}, tk.opts()))
		}
		checkMessage(t, Confirm(name, value, []string{name, value}, Action{Tool: "t", Label: name, Danger: len(value)%2 == 0}, tk.opts()))
		checkMessage(t, Done(name, value, time.Unix(1700000000, 0)))
		checkMessage(t, Text(value))
	})
}
