package slackrender

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/tools"
)

func runFixture() tools.CollectionRun {
	return tools.CollectionRun{Run: "cr-1", Collection: "Payments <!channel>", Environment: "staging", Status: tools.RunFailed,
		Totals: &tools.RunTotals{Iterations: 1, Requests: 40, FailedRequests: 2, Assertions: 43, FailedAssertions: 3},
		Failures: []tools.RequestFailure{
			{Request: "Get OAuth token", Method: "POST", URL: "https://api.example.com/oauth/token?apikey=••••", Code: 401,
				Problems: []string{`"Status code is 200": expected response to have status code 200 but got 401`}},
			{Request: "List <@U123> cards", Method: "GET", URL: "https://api.example.com/cards", Code: 500, Iteration: 2,
				Problems: []string{"a", "b"}},
		},
		MoreFailures: 1, Slowest: []tools.SlowRequest{{Request: "Get OAuth token", Ms: 140}}, DurationMs: 10_900, Newman: "6.2.2"}
}

// TestRunResult: the result names the run, lists each failing request with its failing assertions (the tool's
// masking kept, everything escaped), counts what is not shown, and carries Re-run and Share buttons.
func TestRunResult(t *testing.T) {
	var actions []Action
	opts := Options{Shareable: true, Token: func(a Action) string { actions = append(actions, a); return "tok" }}
	rerun := Action{Tool: "run_collection", Args: map[string]any{"collection": "1-2"}, Label: "Re-run"}
	m := RunResult(runFixture(), &rerun, opts)
	if err := Validate(m); err != nil {
		t.Fatal(err)
	}
	md, plain := texts(m)
	all := m.Text + "\n" + strings.Join(md, "\n") + "\n" + strings.Join(plain, "\n")
	for _, want := range []string{"Run of Payments &lt;!channel&gt; with staging failed", "38 of 40 requests ok", "40 of 43 assertions passed",
		"Get OAuth token", "apikey=••••", "→ 401", "Status code is 200", "List &lt;@U123&gt; cards", "(iteration 2)", "… and 1 more failing request",
		"Slowest: Get OAuth token 140 ms", "nothing is uploaded"} {
		if !strings.Contains(all, want) {
			t.Errorf("result lacks %q:\n%s", want, all)
		}
	}
	for _, w := range forbidden() {
		if loc := w.FindStringIndex(all); loc != nil {
			t.Errorf("shows %q", all[loc[0]:loc[1]])
		}
	}
	var kinds []ActionKind
	for _, a := range actions {
		kinds = append(kinds, a.Kind)
	}
	if len(actions) != 2 || actions[0].Kind != ActionPick || actions[0].Tool != "run_collection" || actions[1].Kind != ActionShare {
		t.Errorf("buttons %v", kinds)
	}
	b, _ := json.Marshal(m.Blocks)
	if !strings.Contains(string(b), `"Re-run"`) {
		t.Errorf("no Re-run button: %s", b)
	}

	// A run that could not finish says why, in Slack words.
	bad := tools.CollectionRun{Collection: "X", Status: tools.RunError, Error: "newman exited; call get_collection_run run=cr-1", Failures: []tools.RequestFailure{}}
	md, _ = texts(RunResult(bad, nil, Options{}))
	got := strings.Join(md, "\n")
	if !strings.Contains(got, "could not finish") {
		t.Errorf("error run: %s", got)
	}
	for _, w := range forbidden() {
		if loc := w.FindStringIndex(got); loc != nil {
			t.Errorf("error run shows %q: %s", got[loc[0]:loc[1]], got)
		}
	}
}

// TestRunProgress: the progress note counts requests, shows the latest escaped, and says it will be replaced.
