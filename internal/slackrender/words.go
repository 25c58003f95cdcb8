package slackrender

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/tools"
)

// slashFor is the /postman command that does what a tool does: hints written for MCP clients name tools, and
// in Slack they must name commands instead.
var slashFor = map[string]string{
	"get_account":                 "/postman quota",
	"list_workspaces":             "/postman workspaces",
	"get_workspace":               "/postman workspace <name>",
	"list_collections":            "/postman collections",
	"get_collection":              "/postman collection <name>",
	"list_environments":           "/postman envs",
	"get_environment":             "/postman env get <env>",
	"set_environment_variables":   "/postman env set <env> <key>=<value>",
	"unset_environment_variables": "/postman env unset <env> <key>",
	"list_monitors":               "/postman monitors",
	"get_monitor":                 "/postman monitor <name>",
	"run_monitor":                 "/postman monitor run <name>",
	"set_monitor_active":          "/postman monitor pause <name>",
	"explain_monitor_failure":     "/postman monitor why <name>",
	"list_mocks":                  "/postman mocks",
}

// SlashCommandFor says which /postman command does what a tool does ("" when Slack has none).
func SlashCommandFor(tool string) string { return slashFor[tool] }

var (
	// argSpelling is a tool argument written as name=value (rerun=true, confirm=true, async=true).
	argSpelling = regexp.MustCompile(`\b[a-z_]+=(true|false|[0-9]+|"[^"]*")`)
	// listStar is the generic "list_* tool" of some hints.
	listStar  = regexp.MustCompile(`(?i)(the matching )?list_\* tool`)
	toolNames []string
)

func init() {
	for _, t := range tools.All() {
		toolNames = append(toolNames, t.Name)
	}
	// Longest first, so get_monitor does not eat part of get_monitor_runs-like names.
	sort.Slice(toolNames, func(i, j int) bool { return len(toolNames[i]) > len(toolNames[j]) })
}

// SlackWords rewrites a hint or note written for tool callers into Slack's words: clauses that tell the reader to
// pass an argument (rerun=true, async=true) are dropped, since no Slack command takes them; tool names become the
// /postman command that does the same, or "pmops" when Slack has none.
func SlackWords(s string) string {
	if strings.TrimSpace(s) == "" {
		return s
	}
	s = listStar.ReplaceAllString(s, "the matching list command (see /postman help)")
	var kept []string
	for _, clause := range splitClauses(s) {
		if argSpelling.MatchString(clause) {
			continue
		}
		kept = append(kept, clause)
	}
	s = strings.TrimSpace(strings.Join(kept, ""))
	s = strings.TrimRight(s, ";,: ")
	for _, name := range toolNames {
		if !strings.Contains(s, name) {
			continue
		}
		cmd := slashFor[name]
		if cmd == "" {
			cmd = "pmops"
		}
		s = strings.ReplaceAll(s, "call "+name, "run "+cmd)
		s = strings.ReplaceAll(s, name, cmd)
	}
	return s
}

// splitClauses cuts s after each "; ", ". " or ", " and before " or " so that one clause can be dropped.
func splitClauses(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if (s[i] == ';' || s[i] == '.' || s[i] == '(' || s[i] == ')') && (i+1 == len(s) || s[i+1] == ' ') {
			out = append(out, s[start:i+1])
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// SlackDate shows t in each reader's own time zone: <!date^EPOCH^{date_short_pretty} {time}|fallback>, with a
// UTC fallback for clients that cannot format dates.
func SlackDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	fallback := t.UTC().Format("2006-01-02 15:04 UTC")
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), fallback)
}

// dateOf shows a time the tool layer gave as text (RFC 3339 or "2006-01-02 15:04 UTC") as a Slack date, or the
// escaped text when it is not a time.
func dateOf(s string) string {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04 UTC", time.RFC3339Nano, time.RFC3339, "2006-01-02 15:04:05 UTC"} {
		if t, err := time.Parse(layout, s); err == nil {
			return SlackDate(t)
		}
	}
	return escape(flat(s, 60))
}

// Working is the first answer to a command while its Postman work runs.
func Working() Message { return Text("⏳ Working on it…") }

// Queued says how long a command will wait for the key's rate budget before it runs.
func Queued(ahead int, estimate time.Duration) Message {
	secs := int(estimate.Round(time.Second) / time.Second)
	return Text(fmt.Sprintf("⏳ Queued: %s ahead of yours, about %d s. This message will be replaced by the answer.",
		plural(ahead, "request", "requests"), max(secs, 1)))
}

// TimedOut explains a command that ran out of time: waiting for the key's rate budget (which has room again at reset,
// when known), or waiting for Postman to answer.
func TimedOut(limit time.Duration, rateBudget bool, reset time.Time) Message {
	secs := strconv.FormatFloat(limit.Round(100*time.Millisecond).Seconds(), 'f', -1, 64)
	var d doc
	if rateBudget {
		msg := fmt.Sprintf("⏳ Your request waited %s s for the Postman key's rate budget and was given up.", secs)
		d.summary, d.title = msg, msg
		d.add(textBlocks("", msg)...)
		if !reset.IsZero() {
			d.add(contextBlock("💡 The rate budget should have room again at " + SlackDate(reset) + "; try again then."))
		} else {
			d.add(contextBlock("💡 Try again in a minute, when the key's rate window has reset."))
		}
	} else {
		msg := fmt.Sprintf("⌛ Postman did not answer within %s s.", secs)
		d.summary, d.title = msg, msg
		d.add(textBlocks("", msg)...)
		d.add(contextBlock("💡 Postman may be slow right now; try again in a minute."))
	}
	return d.render(Options{}, nil)
}

// Offer is a next step as a line of text with buttons (for example "Run it now" under a failing monitor), so a
// hint is something to click rather than a command to retype. text is plain (escaped here).
func Offer(text string, actions []Action, opts Options) Message {
	d := &doc{summary: firstLine(text), title: firstLine(text)}
	d.add(textBlocks("", text)...)
	d.actions = actions
	return d.render(opts, nil)
}
