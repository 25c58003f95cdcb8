package slackrender

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/tools"
)

// Action IDs of the buttons on monitor result messages. Their value is the monitor UID (not a secret, and every
// click is checked against the clicker's rights like the command it stands for).
const (
	ActionMonitorRerun       = "pmops:notify:rerun"
	ActionMonitorMute        = "pmops:notify:mute1h"
	ActionMonitorUnsubscribe = "pmops:notify:unsubscribe"
)

// MonitorResultRole is what a monitor result message is in its thread.
type MonitorResultRole string

const (
	// RoleFailing is the first failure of a streak: a new message, the thread parent.
	RoleFailing MonitorResultRole = "failing"
	// RoleStillFailing is a later failure of the streak: a reply in the thread.
	RoleStillFailing MonitorResultRole = "still_failing"
	// RoleRecovered is the first success after failures: a reply, broadcast to the channel.
	RoleRecovered MonitorResultRole = "recovered"
	// RoleRecoveredParent is the thread parent rewritten once the streak recovered.
	RoleRecoveredParent MonitorResultRole = "recovered_parent"
	// RolePassed is a passing run outside any streak (policy "all").
	RolePassed MonitorResultRole = "passed"
)

// MonitorResult is one monitor run as a notification shows it.
type MonitorResult struct {
	Role            MonitorResultRole
	MonitorName     string
	MonitorUID      string
	CollectionName  string
	CollectionUID   string
	EnvironmentName string
	EnvironmentUID  string
	Status          string
	Requests        int
	FailedRequests  int
	Assertions      int
	FailedAsserts   int
	Errors          int
	LatencyMs       int64
	FinishedAt      time.Time
	Source          string // webhook, poll, pmops
	// Failures are the first failing requests and assertions ("request: problem"), already masked.
	Failures []string
	// StreakRuns is how many failing runs the streak has had (the recovery says how many it ended).
	StreakRuns  int
	StreakSince time.Time
	// Buttons adds Re-run (confirmed), Mute 1 h and Unsubscribe.
	Buttons bool
}

// maxNoticeFailures is how many failing requests and assertions a result message lists.
const maxNoticeFailures = 5

// MonitorResultMessage renders a monitor result notification within Slack's limits.
func MonitorResultMessage(r MonitorResult, webURL string) Message {
	name := firstNonBlank(r.MonitorName, r.MonitorUID)
	var title, emoji string
	switch r.Role {
	case RoleFailing:
		emoji, title = "🔴", "FAILING: "+name
	case RoleStillFailing:
		emoji, title = "🔴", fmt.Sprintf("Still failing (%s in a row): %s", plural(r.StreakRuns, "run", "runs"), name)
	case RoleRecovered:
		emoji, title = "✅", "RECOVERED: "+name
	case RoleRecoveredParent:
		emoji, title = "✅", "RECOVERED: "+name
	default:
		emoji, title = runEmoji(r.Status), "Passed: "+name
		if r.Status != "success" {
			title = "Failed: " + name
		}
	}
	w := web(webURL)
	d := &doc{}
	d.add(headerBlock(emoji + " " + title))
	var lines []string
	switch r.Role {
	case RoleRecovered, RoleRecoveredParent:
		since := ""
		if !r.StreakSince.IsZero() {
			since = " since " + r.StreakSince.UTC().Format("2006-01-02 15:04 UTC")
		}
		lines = append(lines, fmt.Sprintf("Passing again after %s%s.", plural(r.StreakRuns, "failed run", "failed runs"), since))
	case RoleStillFailing, RoleFailing:
		if !r.StreakSince.IsZero() && r.Role == RoleStillFailing {
			lines = append(lines, "Failing since "+r.StreakSince.UTC().Format("2006-01-02 15:04 UTC")+".")
		}
	}
	if r.Role != RoleRecoveredParent {
		fields := []field{
			{"Status", runEmoji(r.Status) + " " + escape(firstNonBlank(r.Status, "unknown"))},
			{"Assertions", fmt.Sprintf("%d passed, %d failed", r.Assertions-r.FailedAsserts, r.FailedAsserts)},
			{"Requests", fmt.Sprintf("%d (%d failed)", r.Requests, r.FailedRequests)},
			{"Errors", fmt.Sprint(r.Errors)},
			{"Latency", fmt.Sprintf("%d ms", r.LatencyMs)},
		}
		if r.CollectionName != "" || r.CollectionUID != "" {
			fields = append(fields, field{"Collection", named(w.url("collection", r.CollectionUID), firstNonBlank(r.CollectionName, r.CollectionUID))})
		}
		if r.EnvironmentName != "" || r.EnvironmentUID != "" {
			fields = append(fields, field{"Environment", named(w.url("environment", r.EnvironmentUID), firstNonBlank(r.EnvironmentName, r.EnvironmentUID))})
		}
		d.add(fieldBlocks(fields)...)
	}
	if len(lines) > 0 {
		d.add(sectionBlock(escape(strings.Join(lines, " "))))
	}
	if len(r.Failures) > 0 && r.Role != RoleRecoveredParent && r.Role != RoleRecovered {
		var b strings.Builder
		b.WriteString("*Failing:*")
		for i, f := range r.Failures {
			if i == maxNoticeFailures {
				fmt.Fprintf(&b, "\n… and %d more", len(r.Failures)-maxNoticeFailures)
				break
			}
			b.WriteString("\n• " + escape(clip(oneLine(f), 300)))
		}
		d.add(sectionBlock(b.String()))
	}
	when := ""
	if !r.FinishedAt.IsZero() {
		when = "🕒 " + r.FinishedAt.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	via := ""
	if r.Source != "" {
		via = "via " + escape(r.Source)
	}
	d.add(contextBlock(when, via, viewIn(w.url("monitor", r.MonitorUID))))
	if r.Buttons && r.MonitorUID != "" && r.Role != RoleRecoveredParent {
		uid := clip(r.MonitorUID, 200)
		rerun := slack.NewButtonBlockElement(ActionMonitorRerun, uid, plainText("Re-run", 75)).
			WithConfirm(slack.NewConfirmationBlockObject(plainText("Run the monitor now?", 100),
				mdText("Run *"+escape(clip(name, 200))+"* now? It uses one of your monitor runs.", 300),
				plainText("Run it", 30), plainText("Cancel", 30)))
		mute := slack.NewButtonBlockElement(ActionMonitorMute, uid, plainText("Mute 1 h", 75))
		unsub := slack.NewButtonBlockElement(ActionMonitorUnsubscribe, uid, plainText("Unsubscribe", 75)).WithStyle(slack.StyleDanger)
		d.add(slack.NewActionBlock("pmops_notify_actions", rerun, mute, unsub))
	}
	d.summary = emoji + " " + title
	m := d.render(Options{}, nil)
	m.InChannel = true
	return m
}

// MonitorHistoryMessage renders a monitor's run history: the pass/fail strip, pass rate, durations, streak and
// the most frequent failing assertion.
func MonitorHistoryMessage(h tools.MonitorHistory, webURL string) Message {
	return historyDoc(h, web(webURL)).render(Options{}, nil)
}

func historyDoc(h tools.MonitorHistory, w webRoot) *doc {
	name := firstNonBlank(h.Monitor, h.UID)
	d := &doc{title: name + ": run history"}
	d.add(headerBlock("📈 " + name + ": run history"))
	if h.Kept == 0 {
		d.add(sectionBlock(escape(firstNonBlank(h.Note, "No runs recorded yet."))))
		d.summary = name + ": no runs recorded yet"
		return d
	}
	strip := strings.NewReplacer("P", "🟩", "F", "🟥").Replace(h.Strip)
	d.add(sectionBlock(fmt.Sprintf("*Last %d runs* (oldest → newest)\n%s", h.Runs, strip)))
	streak := ""
	if h.Failing {
		streak = fmt.Sprintf("🔴 failing since %s (%s", escape(h.StreakSince), plural(h.StreakRuns, "run", "runs"))
		if h.PassesBefore > 0 {
			streak += fmt.Sprintf(", after %s", plural(h.PassesBefore, "pass", "passes"))
		}
		streak += ")"
	} else {
		streak = fmt.Sprintf("✅ passing since %s (%s)", escape(h.StreakSince), plural(h.StreakRuns, "run", "runs"))
	}
	fields := []field{
		{"Pass rate", fmt.Sprintf("%.0f%% of %d kept runs", h.PassRate*100, h.Kept)},
		{"Duration", fmt.Sprintf("p50 %d ms · p95 %d ms", h.P50Ms, h.P95Ms)},
		{"Streak", streak},
	}
	if h.FirstFailure != "" {
		fields = append(fields, field{"First failing assertion", escape(clip(h.FirstFailure, 250))})
	}
	if h.TopFailure != "" {
		fields = append(fields, field{"Most frequent failure", fmt.Sprintf("%s (%s)", escape(clip(h.TopFailure, 250)), plural(h.TopFailureCount, "run", "runs"))})
	}
	d.add(fieldBlocks(fields)...)
	d.add(contextBlock("last run "+escape(h.LastRunAt), viewIn(w.url("monitor", h.UID))))
	d.summary = fmt.Sprintf("%s: %.0f%% passing, %s", name, h.PassRate*100, stripIcons(h.Strip))
	return d
}

// Notice is a short message of mrkdwn the caller built (every outside string in it already escaped).
func Notice(mrkdwn string) Message {
	return Message{Text: truncateMrkdwn(mrkdwn, MaxFallbackText), Blocks: []slack.Block{sectionBlock(mrkdwn)}}
}

func stripIcons(s string) string { return strings.NewReplacer("P", "✓", "F", "✗").Replace(s) }

func firstNonBlank(v ...string) string {
	for _, s := range v {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}
