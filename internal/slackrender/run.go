package slackrender

import (
	"fmt"
	"strings"

	"github.com/pmops/pmops/internal/tools"
)

// runHead names a collection run: the collection, and the environment when there is one.
func runHead(collection, environment string) string {
	head := nonEmpty(oneLine(collection), "the collection")
	if e := oneLine(environment); e != "" {
		head += " with " + e
	}
	return head
}

// RunResult renders a finished collection run: pass or fail with its totals, each failing request with its
// failing assertions, the slowest requests, and a Re-run button when rerun is set. Values come from the tool
// layer with secrets masked; they are escaped here.
func RunResult(r tools.CollectionRun, rerun *Action, opts Options) Message {
	head := runHead(r.Collection, r.Environment)
	var icon, verdict string
	switch r.Status {
	case tools.RunPassed:
		icon, verdict = "✅", "passed"
	case tools.RunFailed:
		icon, verdict = "❌", "failed"
	case tools.RunCancelled:
		icon, verdict = "⏹️", "was stopped"
	default:
		icon, verdict = "❌", "could not finish"
	}
	title := fmt.Sprintf("Run of %s %s", head, verdict)
	d := &doc{summary: icon + " " + title, title: title}
	d.addHead(headerBlock(icon + " " + title))
	if r.Error != "" {
		d.add(textBlocks("", SlackWords(r.Error))...)
	}
	if t := r.Totals; t != nil {
		line := fmt.Sprintf("%d of %s ok · %d of %s passed · %s · %s",
			t.Requests-t.FailedRequests, plural(t.Requests, "request", "requests"),
			t.Assertions-t.FailedAssertions, plural(t.Assertions, "assertion", "assertions"),
			plural(t.Iterations, "iteration", "iterations"), fmt.Sprintf("%.1f s", float64(r.DurationMs)/1000))
		if t.Errors > 0 {
			line += " · " + plural(t.Errors, "error", "errors")
		}
		d.add(sectionBlock(escape(line)))
	}
	var lines []string
	for _, f := range r.Failures {
		l := "✗ " + bold(clip(nonEmpty(oneLine(f.Request), "(unnamed request)"), 200))
		if f.Iteration > 0 {
			l += fmt.Sprintf(" (iteration %d)", f.Iteration)
		}
		if f.Method != "" {
			call := f.Method + " " + f.URL
			if f.Code != 0 {
				call += fmt.Sprintf(" → %d", f.Code)
			}
			l += " " + code(clip(oneLine(call), 300))
		}
		for _, p := range f.Problems {
			l += "\n\u2003• " + escape(clip(oneLine(p), 400))
		}
		lines = append(lines, l)
	}
	if r.MoreFailures > 0 {
		lines = append(lines, "… and "+plural(r.MoreFailures, "more failing request", "more failing requests"))
	}
	d.add(lineBlocks(lines)...)
	if len(r.Slowest) > 0 {
		parts := make([]string, 0, len(r.Slowest))
		for _, s := range r.Slowest {
			parts = append(parts, fmt.Sprintf("%s %d ms", clip(oneLine(s.Request), 80), s.Ms))
		}
		d.add(contextBlock("Slowest: " + escape(strings.Join(parts, " · "))))
	}
	note := "Results stay on the bot's machine; nothing is uploaded to Postman."
	if r.Newman != "" {
		note += " Newman " + r.Newman + "."
	}
	d.note(escape(note))
	if rerun != nil {
		a := *rerun
		a.Kind, a.Label = ActionPick, nonEmpty(a.Label, "Re-run")
		d.actions = []Action{a}
	}
	d.share = true
	return d.render(opts, nil)
}
