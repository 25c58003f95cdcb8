package slackrender

import (
	"fmt"
	"strings"

	"github.com/pmops/pmops/internal/tools"
)

// maxPicks is how many candidates get a button after an unknown or ambiguous name.
const maxPicks = 5

// RenderError shows a tool error: what went wrong and what to do next. For an unknown or ambiguous name it
// lists the candidates and, when retry is not nil, offers up to five buttons that run the call again with the
// candidate retry returns (the renderer does not know which tool and arguments failed).
func RenderError(err *tools.Error, retry func(candidate tools.Candidate) Action, opts Options) Message {
	if err == nil {
		return Text("Something went wrong, but there is no error to show.")
	}
	d := &doc{}
	msg := nonEmpty(oneLine(SlackWords(err.Message)), "the request failed")
	hint := oneLine(SlackWords(err.Hint))
	icon := errorEmoji(err.Kind)
	switch err.Kind {
	case tools.KindRateLimited:
		if !err.RetryAt.IsZero() {
			msg = "Postman's rate limit for this key is reached; retry after " + SlackDate(err.RetryAt) + "."
			hint = ""
		} else {
			msg = "Postman's rate limit for this key is reached; retry in a minute, when its window resets."
			hint = ""
		}
	case tools.KindQuota:
		msg = "The Postman API key's monthly call quota is used up."
		hint = nonEmpty(hint, "No Postman call will succeed until the quota resets at the start of next month or a team admin raises the plan's limit.")
	}
	d.summary = icon + " " + msg
	d.title = msg
	if err.Kind == tools.KindRateLimited {
		d.add(sectionBlock(icon + " " + strings.Replace(escape(msg), escape(SlackDate(err.RetryAt)), SlackDate(err.RetryAt), 1)))
		d.summary = icon + " " + strings.Replace(msg, SlackDate(err.RetryAt), err.RetryAt.UTC().Format("15:04:05 UTC"), 1)
	} else {
		d.add(textBlocks(icon+" ", clip(msg, 2000))...)
	}
	if hint != "" {
		d.add(contextBlock("💡 " + escape(clip(hint, 1000))))
	}
	if err.Kind == tools.KindUnauthorized {
		d.add(contextBlock("🔑 Link your Postman API key with " + code("/postman login") + " (a private form; never paste keys into a command)."))
	}
	if len(err.Candidates) > 0 && (err.Kind == tools.KindNotFound || err.Kind == tools.KindAmbiguous) {
		head := "*Did you mean:*"
		if err.Kind == tools.KindAmbiguous {
			head = "*Which one do you mean?*"
		}
		lines := []string{head}
		for i, c := range err.Candidates {
			if i == maxPicks {
				lines = append(lines, fmt.Sprintf("… and %d more", len(err.Candidates)-maxPicks))
				break
			}
			line := "• " + bold(clip(nonEmpty(oneLine(c.Name), c.ID), 200))
			if c.ID != "" && c.ID != c.Name {
				line += " " + code(clip(c.ID, 100))
			}
			lines = append(lines, line)
			if retry != nil {
				a := retry(c)
				a.Kind = ActionPick
				a.Label = nonEmpty(a.Label, nonEmpty(strings.TrimSpace(c.Name), c.ID))
				d.actions = append(d.actions, a)
			}
		}
		d.add(lineBlocks(lines)...)
	}
	return d.render(opts, nil)
}

func errorEmoji(k tools.Kind) string {
	switch k {
	case tools.KindNotFound:
		return "🔍"
	case tools.KindAmbiguous:
		return "🤔"
	case tools.KindRateLimited:
		return "⏳"
	case tools.KindQuota, tools.KindForbidden:
		return "🚫"
	case tools.KindUnauthorized:
		return "🔑"
	case tools.KindTimeout:
		return "⌛"
	case tools.KindConflict, tools.KindUpstream:
		return "⚠️"
	}
	return "❌"
}
