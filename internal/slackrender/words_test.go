package slackrender

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/tools"
)

// toolLayerWords are hints and notes the tool layer writes for MCP clients (tools/*.go); Slack must show none of
// their tool names or argument spellings.
var toolLayerWords = []string{
	"retry then; pmops queues calls so this only happens when the wait would outlast the request",
	"try again; for monitor runs use async=true and check get_monitor later",
	"check the name or ID with the matching list_* tool",
	"use one of these names, or an ID (list_monitors shows them all)",
	"list_environments shows the 12 names",
	"the run continues in Postman; call get_monitor or explain_monitor_failure in a minute for its result",
	"this monitor has not run yet; call again with rerun=true to run it now",
	"Postman's API reports only the numbers of a past run; pmops did not see this run's details. Call again with rerun=true to run the monitor now and capture which requests and assertions fail.",
	"call again with confirm=true to delete",
	"set POSTMAN_API_KEY (or log in) and try again",
}

func forbidden() []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, tl := range tools.All() {
		out = append(out, regexp.MustCompile(`\b`+regexp.QuoteMeta(tl.Name)+`\b`))
	}
	return append(out, regexp.MustCompile(`\b[a-z_]+=(true|false)\b`), regexp.MustCompile(`list_\*`))
}

func TestSlackWords(t *testing.T) {
	cases := map[string]string{
		"use one of these names, or an ID (list_monitors shows them all)":           "use one of these names, or an ID (/postman monitors shows them all)",
		"try again; for monitor runs use async=true and check get_monitor later":    "try again",
		"this monitor has not run yet; call again with rerun=true to run it now":    "this monitor has not run yet",
		"the run continues in Postman; call get_monitor or explain_monitor_failure": "the run continues in Postman; run /postman monitor <name> or /postman monitor why <name>",
	}
	for in, want := range cases {
		if got := SlackWords(in); got != want {
			t.Errorf("SlackWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCatalogueWording renders every tool-layer hint and note the way the bot can show them (error hints, error
// messages, run report notes, list errors) and fails on any tool name or argument spelling.
func TestCatalogueWording(t *testing.T) {
	words := forbidden()
	var msgs []Message
	for _, s := range toolLayerWords {
		for _, k := range []tools.Kind{tools.KindNotFound, tools.KindAmbiguous, tools.KindTimeout, tools.KindRateLimited, tools.KindInvalid, tools.KindUnauthorized, tools.KindUpstream} {
			msgs = append(msgs, RenderError(&tools.Error{Kind: k, Message: s, Hint: s, RetryAt: time.Unix(1_800_000_000, 0),
				Candidates: []tools.Candidate{{Name: "Nightly smoke", ID: "1-2"}}}, nil, Options{}))
		}
		msgs = append(msgs, Render(tools.RunReport{Monitor: "Nightly smoke", UID: "1-2", Note: s, Summary: tools.RunSummary{Status: "failed"}}, Options{}))
		msgs = append(msgs, Render(tools.MonitorList{Items: []tools.MonitorRow{{Name: "x", UID: "1-2", Active: true, Error: s}}}, Options{}))
	}
	msgs = append(msgs, Help(true), Help(false), Usage("A quote is opened but not closed.", "env get <env> [key]"),
		Queued(3, 12*time.Second), Working(), TimedOut(time.Minute, true, time.Unix(1_800_000_000, 0)), TimedOut(time.Minute, false, time.Time{}))
	for _, m := range msgs {
		for page := &m; page != nil; page = page.More {
			md, plain := texts(*page)
			all := page.Text + "\n" + strings.Join(md, "\n") + "\n" + strings.Join(plain, "\n")
			for _, w := range words {
				if loc := w.FindStringIndex(all); loc != nil {
					t.Errorf("shows %q: %s", all[loc[0]:loc[1]], all)
				}
			}
		}
	}
}

// TestUsageShowsOneCommand: a usage error shows that command's usage and example, not the whole help, and no Go
// escaping of what was typed.
func TestUsageShowsOneCommand(t *testing.T) {
	m := Usage(`A quote is opened but not closed; close it ("Orders staging") or leave it out.`, "env get <env> [key]")
	md, _ := texts(m)
	all := unescape(strings.Join(md, "\n"))
	for _, want := range []string{"`/postman env get <env> [key]`", "`/postman env get Staging baseUrl`", `("Orders staging")`} {
		if !strings.Contains(all, want) {
			t.Errorf("usage lacks %q: %s", want, all)
		}
	}
	if strings.Contains(all, "monitor run") || strings.Contains(all, `\"`) {
		t.Errorf("usage shows more than the one command, or Go escaping: %s", all)
	}
}

// TestMonitorTallyAddsUp: every monitor is counted once.
func TestMonitorTallyAddsUp(t *testing.T) {
	l := tools.MonitorList{Items: []tools.MonitorRow{
		{Name: "a", UID: "1", Active: true, LastRun: "success"}, {Name: "b", UID: "2", Active: true, LastRun: "failed"},
		{Name: "c", UID: "3", Active: false, LastRun: "success"}, {Name: "d", UID: "4", Active: true}}}
	m := Render(l, Options{})
	if !strings.Contains(m.Text, "4 monitors: 1 passing, 1 failing, 1 not run or unknown, 1 paused") {
		t.Fatalf("tally %q", m.Text)
	}
}

// TestNamesInsteadOfUIDs: a monitor's collection and environment show by name when the bot knew them, and never
// as a bare UID.
func TestNamesInsteadOfUIDs(t *testing.T) {
	v := tools.MonitorView{Name: "m", UID: "1", Active: true, Collection: colUID, Environment: envUID}
	for _, names := range []map[string]string{{colUID: "Orders API", envUID: "Orders staging"}, nil} {
		m := Render(v, Options{Names: names})
		md, _ := texts(m)
		all := strings.Join(md, "\n")
		for _, uid := range []string{colUID, envUID} {
			if strings.Contains(strings.ReplaceAll(all, "/"+uid+"|", ""), uid) {
				t.Errorf("bare UID shown: %s", all)
			}
		}
		if names != nil && (!strings.Contains(all, "|Orders API>") || !strings.Contains(all, "|Orders staging>")) {
			t.Errorf("names not shown: %s", all)
		}
	}
}

func TestEnvPreviewCountsAndMore(t *testing.T) {
	var d tools.EnvDiff
	d.Environment = "staging"
	for i := range 120 {
		d.Changes = append(d.Changes, tools.VarChanges{Key: "k" + strings.Repeat("x", i%3) + string(rune('a'+i%26)), Action: "add", New: "v"})
	}
	d.Changes = append(d.Changes, tools.VarChanges{Key: "same", Action: "unchanged"})
	summary, lines := EnvPreview(d, []string{"apiToken"})
	if len(lines) != 21 || lines[20] != "… and 100 more" {
		t.Fatalf("lines %d, last %q", len(lines), lines[len(lines)-1])
	}
	if !strings.Contains(summary, "121 variables in staging: 120 to add, 1 already as asked.") || !strings.Contains(summary, "1 key looks secret") {
		t.Fatalf("summary %q", summary)
	}
}
