package slackrender

import (
	"time"
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
	d := &doc{summary: icon + " " + title + ": waiting for your confirmation", title: title, dialog: summary}
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
		d.add(contextBlock("🕒 " + at.UTC().Format("2006-01-02 15:04:05 UTC")))
	}
	m := d.render(Options{}, nil)
	// The fallback names the actor too; a mention is the one control sequence built here, from a validated ID.
	m.Text = truncateMrkdwn("✅ "+who+" "+escape(what), MaxFallbackText)
	return m
}
