package slackrender

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/tools"
)

// Confirm renders a pending write: what will happen, and Confirm and Cancel buttons. A confirm action marked
// Danger gets a red button behind a Block Kit confirmation dialog; otherwise the button is primary. Cancel
// carries the same Tool and Args, so the bot can tell which pending write it drops. title, summary and details
// are plain strings (escaped here).
func Confirm(title, summary string, details []string, confirm Action, opts Options) Message {
	icon := "📝"
	if confirm.Danger {
		icon = "⚠️"
	}
	title = nonEmpty(oneLine(title), "Confirm this change")
	d := &doc{summary: icon + " " + title + " Confirm or cancel.", title: title, dialog: summary}
	d.addHead(headerBlock(icon + " " + title))
	if summary != "" {
		d.addHead(textBlocks("", clip(summary, 2000))...)
	}
	lines := make([]string, 0, len(details))
	for _, x := range details {
		lines = append(lines, "• "+escape(flat(x, 500)))
	}
	d.add(lineBlocks(lines)...)
	confirm.Kind = ActionConfirm
	confirm.Label = nonEmpty(confirm.Label, "Confirm")
	cancel := Action{Kind: ActionCancel, Tool: confirm.Tool, Args: confirm.Args, Label: "Cancel"}
	d.actions = []Action{confirm, cancel}
	d.note("Only you can see this. Nothing changes until you press " + bold(clip(confirm.Label, 75)) + ".")
	if opts.ConfirmNote != "" {
		d.note(escape(flat(opts.ConfirmNote, 300)))
	}
	return d.render(opts, nil)
}

// Done is the "who did what, when" line that replaces a confirmed message. actor is shown as a mention only
// when it is a Slack user ID (U… or W…); anything else is shown as escaped text.
func Done(actor, what string, at time.Time) Message {
	who, ok := mention(actor)
	if !ok {
		who = bold(clip(nonEmpty(oneLine(actor), "Someone"), 100))
	}
	what = nonEmpty(oneLine(what), "made a change")
	d := &doc{summary: "✅ " + what, title: what}
	d.add(sectionBlock("✅ " + who + " " + escape(clip(what, 2000))))
	if !at.IsZero() {
		d.add(contextBlock("🕒 " + SlackDate(at)))
	}
	m := d.render(Options{}, nil)
	// The fallback names the actor too; a mention is the one control sequence built here, from a validated ID.
	m.Text = truncateMrkdwn("✅ "+who+" "+escape(what), MaxFallbackText)
	return m
}

// maxPreviewLines is how many changes a confirmation lists before "and N more".
const maxPreviewLines = 20

// EnvPreview describes a previewed environment change for Confirm: a summary with the counts, and one detail line
// per change (at most maxPreviewLines, then "… and N more"). secret names the keys that will be stored as
// secret-type variables. Values come masked from the tool layer and are masked again here.
func EnvPreview(diff tools.EnvDiff, secret []string) (summary string, details []string) {
	counts := map[string]int{}
	var lines []string
	for _, c := range diff.Changes {
		counts[c.Action]++
		if c.Action == "unchanged" {
			continue
		}
		val := func(v string) string {
			if v == "" {
				return "(empty)"
			}
			if v == masked || looksSecret(c.Key, "", false) || slices.Contains(secret, c.Key) {
				return masked
			}
			return clip(oneLine(v), 200)
		}
		var line string
		switch c.Action {
		case "add":
			line = "➕ " + c.Key + " = " + val(c.New)
		case "change":
			line = "✏️ " + c.Key + ": " + val(c.Old) + " → " + val(c.New)
		case "remove":
			line = "➖ " + c.Key + " (was " + val(c.Old) + ")"
		}
		if slices.Contains(secret, c.Key) && c.Action != "remove" {
			line += " (stored as secret)"
		}
		lines = append(lines, line)
	}
	if len(lines) > maxPreviewLines {
		more := len(lines) - maxPreviewLines
		lines = append(lines[:maxPreviewLines], fmt.Sprintf("… and %d more", more))
	}
	var parts []string
	for _, k := range []struct{ action, word string }{{"add", "to add"}, {"change", "to change"}, {"remove", "to remove"}, {"unchanged", "already as asked"}} {
		if n := counts[k.action]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k.word))
		}
	}
	summary = fmt.Sprintf("%s in %s: %s.", plural(len(diff.Changes), "variable", "variables"), nonEmpty(oneLine(diff.Environment), "the environment"), strings.Join(parts, ", "))
	if n := len(secret); n > 0 {
		if n == 1 {
			summary += " 1 key looks secret and will be stored as a secret-type variable (masked in Postman); add --plain to store it as plain text."
		} else {
			summary += fmt.Sprintf(" %d keys look secret and will be stored as secret-type variables (masked in Postman); add --plain to store them as plain text.", n)
		}
	}
	return summary, lines
}

// LooksSecretKey says whether a variable key names a secret (token, password, apiKey, …): such values are masked in
// Slack and stored as secret-type variables.
func LooksSecretKey(key string) bool { return looksSecret(key, "", false) }
