package slackrender

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"
)

// fieldValueMax keeps key fields short, so that a section of ten fields stays far below the page budget.
const fieldValueMax = 300

// maxPages bounds how many messages one answer may take; beyond it the answer is cut with a note.
const maxPages = 25

// mdText is a mrkdwn text object for mrkdwn the renderer built (every outside string in it already escaped).
// It is verbatim, so Slack does not auto-link URLs or parse bare mentions in it.
func mdText(md string, max int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, truncateMrkdwn(nonEmpty(md, "_(empty)_"), max), false, true)
}

// plainText is a plain_text object for any string: Slack shows it as it is, so it needs no escaping.
func plainText(s string, max int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, clip(nonEmpty(oneLine(clean(s)), "(unnamed)"), max), true, false)
}

func headerBlock(title string) slack.Block {
	return slack.NewHeaderBlock(plainText(title, MaxHeaderText))
}

func sectionBlock(md string) slack.Block {
	return slack.NewSectionBlock(mdText(md, MaxSectionText), nil, nil)
}

// field is one key field: a label and mrkdwn already built.
type field struct {
	label, value string
}

// fieldBlocks lays fields out as sections of at most ten.
func fieldBlocks(fields []field) []slack.Block {
	var out []slack.Block
	for len(fields) > 0 {
		n := min(len(fields), MaxSectionFields)
		objs := make([]*slack.TextBlockObject, 0, n)
		for _, f := range fields[:n] {
			objs = append(objs, mdText("*"+escape(f.label)+"*\n"+nonEmpty(f.value, "—"), MaxFieldText))
		}
		out = append(out, slack.NewSectionBlock(nil, objs, nil))
		fields = fields[n:]
	}
	return out
}

// contextBlock shows small print: each part is built mrkdwn; empty parts are skipped, at most ten are kept.
func contextBlock(parts ...string) slack.Block {
	var els []slack.MixedElement
	for _, p := range parts {
		if strings.TrimSpace(p) == "" || len(els) == MaxContextElements {
			continue
		}
		els = append(els, mdText(p, MaxSectionText))
	}
	if len(els) == 0 {
		return nil
	}
	return slack.NewContextBlock("", els...)
}

// lineBlocks packs lines of built mrkdwn into as few sections as the section limit allows.
func lineBlocks(lines []string) []slack.Block {
	var out []slack.Block
	var cur strings.Builder
	curLen := 0
	for _, l := range lines {
		l = truncateMrkdwn(l, MaxSectionText)
		n := textLen(l)
		if cur.Len() > 0 && curLen+1+n > MaxSectionText {
			out = append(out, sectionBlock(cur.String()))
			cur.Reset()
			curLen = 0
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
			curLen++
		}
		cur.WriteString(l)
		curLen += n
	}
	if cur.Len() > 0 {
		out = append(out, sectionBlock(cur.String()))
	}
	return out
}

// textBlocks shows raw outside text as escaped sections, split at line ends.
func textBlocks(prefix, raw string) []slack.Block {
	var out []slack.Block
	room := MaxSectionText - textLen(prefix)
	for _, chunk := range wrapRaw(raw, room) {
		if strings.TrimSpace(chunk) == "" {
			continue
		}
		out = append(out, sectionBlock(prefix+escape(chunk)))
		prefix = ""
	}
	return out
}

// codeBlocks shows raw outside text as preformatted sections; each section is a closed ``` block, so a split
// never leaves a code block open. label (built mrkdwn) heads the first section.
func codeBlocks(label, raw string) []slack.Block {
	var out []slack.Block
	const fences = len("```\n") + len("\n```")
	room := MaxSectionText - fences - textLen(label) - 1
	for i, chunk := range wrapRaw(raw, room) {
		md := "```\n" + nonEmpty(escape(chunk), " ") + "\n```"
		if i == 0 && label != "" {
			md = label + "\n" + md
		}
		out = append(out, sectionBlock(md))
	}
	return out
}

// doc is a rendered answer before it is cut into messages.
type doc struct {
	summary string // raw one-line summary, the notification text
	title   string // raw, names continuation pages
	head    []slack.Block
	body    []slack.Block // may span several messages
	actions []Action      // first message, before Share and More
	share   bool          // the answer may be shared to the channel
	next    *Action       // fetches the page after the last one (a list's cursor)
	dialog  string        // raw text of the confirmation dialog of a dangerous button
	notes   []string      // small print (built mrkdwn) in one context line at the end of the first message
}

// note adds small print; empty parts are skipped.
func (d *doc) note(parts ...string) {
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			d.notes = append(d.notes, p)
		}
	}
}

func (d *doc) add(blocks ...slack.Block) {
	for _, b := range blocks {
		if b != nil {
			d.body = append(d.body, b)
		}
	}
}

func (d *doc) addHead(blocks ...slack.Block) {
	for _, b := range blocks {
		if b != nil {
			d.head = append(d.head, b)
		}
	}
}

func chars(blocks []slack.Block) int {
	n := 0
	for _, b := range blocks {
		n += blockChars(b)
	}
	return n
}

// continuedChars is room kept for the context line that opens a continuation page.
const continuedChars = 300

// paginate cuts the doc into pages that each leave room for one row of buttons.
func (d *doc) paginate() (pages [][]slack.Block, cut bool) {
	blocks, budget := MaxBlocks-1, MaxBlocksChars-actionRowChars
	var foot []slack.Block
	for notes := d.notes; len(notes) > 0; notes = notes[min(len(notes), MaxContextElements):] {
		foot = append(foot, contextBlock(notes[:min(len(notes), MaxContextElements)]...))
	}
	fixed := len(d.head) + len(foot)
	fit, rest := enforce(d.body, blocks-fixed, budget-chars(d.head)-chars(foot))
	first := append(append(append([]slack.Block{}, d.head...), fit...), foot...)
	pages = append(pages, first)
	for len(rest) > 0 {
		room, chars := blocks-1, budget-continuedChars
		last := len(pages) == maxPages-1
		if last {
			room, chars = room-1, chars-continuedChars // room for the note that the rest is cut
		}
		fit, rest = enforce(rest, room, chars)
		pages = append(pages, append([]slack.Block{nil}, fit...)) // nil: the continuation line, filled in below
		if last && len(rest) > 0 {
			return pages, true
		}
	}
	return pages, false
}

// render finishes the doc and checks the result. Should a rule break anyway (a renderer bug), it sends the
// fallback doc instead (by default the escaped summary) rather than blocks Slack would refuse.
func (d *doc) render(opts Options, fallback *doc) Message {
	m := d.finish(opts)
	if Validate(m) == nil {
		return m
	}
	guardTrips.Add(1)
	if fallback == nil {
		fallback = &doc{summary: d.summary, title: d.title}
		fallback.add(textBlocks("", nonEmpty(d.summary, "Something went wrong showing this answer."))...)
	}
	return fallback.finish(opts)
}

// finish turns the doc into the first message of the answer, with the rest chained behind More buttons.
func (d *doc) finish(opts Options) Message {
	pages, cut := d.paginate()
	n := len(pages)
	title := nonEmpty(oneLine(d.title), oneLine(d.summary))
	for i := 1; i < n; i++ {
		pages[i][0] = contextBlock(fmt.Sprintf("%s — continued, part %d of %d", bold(clip(title, 120)), i+1, n))
	}
	if cut {
		last := pages[n-1]
		pages[n-1] = append(last, contextBlock("✂️ The rest is too long for Slack and is not shown."))
	}
	var next *Message
	for i := n - 1; i >= 0; i-- {
		text := oneLine(d.summary)
		if i > 0 {
			text += fmt.Sprintf(" (continued, part %d of %d)", i+1, n)
		}
		text = truncateMrkdwn(escape(nonEmpty(text, "Postman")), MaxFallbackText)
		blocks := pages[i]
		for j, b := range blocks {
			setBlockID(b, "pmops-"+strconv.Itoa(j))
		}
		var tail []Action
		switch {
		case next != nil:
			tail = append(tail, Action{Kind: ActionMore, Label: "More", Message: next})
		case d.next != nil && !cut:
			a := *d.next
			a.Kind, a.Label = ActionMore, nonEmpty(a.Label, "More")
			tail = append(tail, a)
		}
		var acts []Action
		if i == 0 {
			acts = append(acts, d.actions...)
		}
		if d.share && opts.Shareable {
			shared := &Message{Text: text, Blocks: withActions(blocks, tail, opts, d.dialog), More: next, InChannel: true}
			acts = append(acts, Action{Kind: ActionShare, Label: "Share to channel", Message: shared})
		}
		acts = append(acts, tail...)
		next = &Message{Text: text, Blocks: withActions(blocks, acts, opts, d.dialog), More: next}
	}
	return *next
}

// withActions appends a row of buttons for acts (those that got a usable token) to a copy of blocks.
func withActions(blocks []slack.Block, acts []Action, opts Options, dialog string) []slack.Block {
	out := append([]slack.Block{}, blocks...)
	if row := actionRow(acts, opts, dialog); row != nil {
		out = append(out, row)
	}
	return out
}

func actionRow(acts []Action, opts Options, dialog string) slack.Block {
	if opts.Token == nil {
		return nil
	}
	var els []slack.BlockElement
	picks := 0
	for _, a := range acts {
		if len(els) == MaxActionElements {
			break
		}
		value := opts.Token(a)
		if value == "" || len(value) > MaxButtonValue {
			continue
		}
		id := ActionIDPrefix + string(a.Kind)
		if a.Kind == ActionPick {
			id += ":" + strconv.Itoa(picks)
			picks++
		}
		btn := slack.NewButtonBlockElement(id, value, plainText(nonEmpty(a.Label, defaultLabel(a.Kind)), MaxButtonText))
		switch a.Kind {
		case ActionConfirm:
			if a.Danger {
				btn.WithStyle(slack.StyleDanger).WithConfirm(dangerDialog(a, dialog))
			} else {
				btn.WithStyle(slack.StylePrimary)
			}
		case ActionShare:
			btn.WithStyle(slack.StylePrimary)
		}
		els = append(els, btn)
	}
	if len(els) == 0 {
		return nil
	}
	return slack.NewActionBlock("pmops-actions", els...)
}

func defaultLabel(k ActionKind) string {
	switch k {
	case ActionPick:
		return "Pick"
	case ActionMore:
		return "More"
	case ActionShare:
		return "Share to channel"
	case ActionConfirm:
		return "Confirm"
	case ActionCancel:
		return "Cancel"
	}
	return string(k)
}

// dangerDialog is the Block Kit confirmation a destructive button opens before anything is sent to the bot.
func dangerDialog(a Action, text string) *slack.ConfirmationBlockObject {
	label := nonEmpty(a.Label, "Confirm")
	text = nonEmpty(oneLine(text), "This cannot be undone.")
	return slack.NewConfirmationBlockObject(
		plainText("Are you sure?", MaxConfirmTitle),
		plainText(text, MaxConfirmText),
		plainText(label, MaxConfirmButton),
		plainText("Cancel", MaxConfirmButton),
	).WithStyle(slack.StyleDanger)
}

// Text renders a plain note: escaped, split over sections as needed.
func Text(s string) Message {
	d := &doc{summary: firstLine(s), title: firstLine(s)}
	d.add(textBlocks("", s)...)
	if len(d.body) == 0 {
		d.add(sectionBlock("_(nothing to show)_"))
	}
	return d.render(Options{}, nil)
}

func firstLine(s string) string {
	for _, l := range strings.Split(clean(s), "\n") {
		if strings.TrimSpace(l) != "" {
			return flat(l, 200)
		}
	}
	return ""
}

// Compose joins messages into one (a note above an answer, a "done" line above a result). Block IDs are
// renumbered, because Slack rejects a message whose block IDs repeat; pagination of the parts is dropped.
func Compose(parts ...Message) Message {
	var out Message
	var texts []string
	for _, p := range parts {
		out.Blocks = append(out.Blocks, p.Blocks...)
		if p.Text != "" {
			texts = append(texts, p.Text)
		}
		out.InChannel = out.InChannel || p.InChannel
	}
	out.Text = strings.Join(texts, "\n")
	for i, b := range out.Blocks {
		setBlockID(b, fmt.Sprintf("pmops-c%d", i))
	}
	return out
}
