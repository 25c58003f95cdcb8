package slackrender

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/slack-go/slack"
)

// Slack's limits (Block Kit reference, chat.postMessage and modal references). Lengths are counted in UTF-16
// code units, which is never fewer than Slack's characters.
const (
	MaxBlocks          = 50    // blocks per message
	MaxSectionText     = 3000  // section text
	MaxSectionFields   = 10    // fields per section
	MaxFieldText       = 2000  // each section field
	MaxHeaderText      = 150   // header block (plain_text only)
	MaxContextElements = 10    // elements per context block
	MaxActionElements  = 25    // elements per actions block
	MaxButtonText      = 75    // button label
	MaxButtonValue     = 2000  // button value (the token), in bytes to be safe
	MaxBlockID         = 255   // block_id and action_id
	MaxConfirmTitle    = 100   // confirmation dialog title
	MaxConfirmText     = 300   // confirmation dialog text
	MaxConfirmButton   = 30    // confirmation dialog confirm/deny labels
	MaxMessageText     = 40000 // message text; Slack truncates beyond it
	MaxFallbackText    = 3000  // what the renderer aims for in Message.Text
	MaxModalBlocks     = 100   // blocks per modal view
	MaxModalTitle      = 24    // modal title, submit and close labels
	MaxPrivateMetadata = 3000  // modal private_metadata

	// MaxBlocksChars caps the text of all blocks of one message together. Slack rejects messages whose blocks
	// hold more than about 12–13k characters in total with msg_blocks_too_long (undocumented; see
	// slackapi/bolt-js#2509 and #2867), so the renderer pages well below that.
	MaxBlocksChars = 8000

	maxURL = 3000
)

// guardTrips counts answers whose rendering broke a rule and were replaced by a fallback; tests assert it
// stays zero.
var guardTrips atomic.Int64

// actionRowChars is what a row of buttons may add to a page: room kept free when filling it.
const actionRowChars = 4 * MaxButtonText

// Enforce splits blocks into the longest prefix that fits one message of at most max blocks (MaxBlocks when max
// is out of range) and MaxBlocksChars of text, and the rest. A block too big to share a message still goes
// alone, so every call makes progress.
func Enforce(blocks []slack.Block, max int) (fit, rest []slack.Block) {
	return enforce(blocks, max, MaxBlocksChars)
}

func enforce(blocks []slack.Block, max, chars int) (fit, rest []slack.Block) {
	if max <= 0 || max > MaxBlocks {
		max = MaxBlocks
	}
	total := 0
	for i, b := range blocks {
		n := blockChars(b)
		if i >= max || (i > 0 && total+n > chars) {
			return blocks[:i], blocks[i:]
		}
		total += n
	}
	return blocks, nil
}

// blockChars counts the text a block carries, as Slack's aggregate limit does.
func blockChars(b slack.Block) int {
	n := 0
	add := func(t *slack.TextBlockObject) {
		if t != nil {
			n += textLen(t.Text)
		}
	}
	switch b := b.(type) {
	case *slack.HeaderBlock:
		add(b.Text)
	case *slack.SectionBlock:
		add(b.Text)
		for _, f := range b.Fields {
			add(f)
		}
		if b.Accessory != nil && b.Accessory.ButtonElement != nil {
			add(b.Accessory.ButtonElement.Text)
		}
	case *slack.ContextBlock:
		for _, e := range b.ContextElements.Elements {
			if t, ok := e.(*slack.TextBlockObject); ok {
				add(t)
			}
		}
	case *slack.ActionBlock:
		if b.Elements != nil {
			for _, e := range b.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok {
					add(btn.Text)
					if c := btn.Confirm; c != nil {
						add(c.Title)
						add(c.Text)
						add(c.Confirm)
						add(c.Deny)
					}
				}
			}
		}
	}
	return n
}

// Validate checks a message and every page behind it against Slack's limits and the renderer's escaping rule;
// it returns all violations found, joined.
func Validate(m Message) error {
	var errs []error
	for page := 1; ; page++ {
		for _, err := range validatePage(m) {
			errs = append(errs, fmt.Errorf("page %d: %w", page, err))
		}
		if m.More == nil {
			break
		}
		m = *m.More
	}
	return errors.Join(errs...)
}

func validatePage(m Message) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(m.Text) == "" {
		bad("message text is empty")
	}
	if textLen(m.Text) > MaxMessageText {
		bad("message text is %d long, limit %d", textLen(m.Text), MaxMessageText)
	}
	if s, ok := unescapedControl(m.Text); ok {
		bad("message text has unescaped markup at %q", s)
	}
	if len(m.Blocks) > MaxBlocks {
		bad("%d blocks, limit %d", len(m.Blocks), MaxBlocks)
	}
	total := 0
	ids := map[string]bool{}
	actionIDs := map[string]bool{}
	for i, b := range m.Blocks {
		total += blockChars(b)
		if id := blockID(b); id != "" {
			if ids[id] {
				bad("block %d: block_id %q is not unique", i, id)
			}
			ids[id] = true
			if len(id) > MaxBlockID {
				bad("block %d: block_id longer than %d", i, MaxBlockID)
			}
		}
		for _, err := range validateBlock(b, actionIDs) {
			bad("block %d (%s): %w", i, b.BlockType(), err)
		}
	}
	if total > MaxBlocksChars {
		bad("blocks hold %d characters, limit %d", total, MaxBlocksChars)
	}
	return errs
}

func blockID(b slack.Block) string {
	switch b := b.(type) {
	case *slack.HeaderBlock:
		return b.BlockID
	case *slack.SectionBlock:
		return b.BlockID
	case *slack.ContextBlock:
		return b.BlockID
	case *slack.ActionBlock:
		return b.BlockID
	case *slack.DividerBlock:
		return b.BlockID
	}
	return ""
}

func setBlockID(b slack.Block, id string) {
	switch b := b.(type) {
	case *slack.HeaderBlock:
		b.BlockID = id
	case *slack.SectionBlock:
		b.BlockID = id
	case *slack.ContextBlock:
		b.BlockID = id
	case *slack.ActionBlock:
		b.BlockID = id
	case *slack.DividerBlock:
		b.BlockID = id
	}
}

func validateText(t *slack.TextBlockObject, max int, plainOnly bool) error {
	switch {
	case t == nil:
		return errors.New("text missing")
	case t.Type != slack.PlainTextType && t.Type != slack.MarkdownType:
		return fmt.Errorf("text type %q", t.Type)
	case plainOnly && t.Type != slack.PlainTextType:
		return errors.New("text must be plain_text")
	case strings.TrimSpace(t.Text) == "":
		return errors.New("text is empty")
	case textLen(t.Text) > max:
		return fmt.Errorf("text is %d long, limit %d", textLen(t.Text), max)
	case t.Type == slack.MarkdownType && t.Emoji != nil:
		return errors.New("mrkdwn text must not set emoji")
	}
	if t.Type == slack.MarkdownType {
		if s, ok := unescapedControl(t.Text); ok {
			return fmt.Errorf("unescaped markup at %q", s)
		}
	}
	return nil
}

func validateBlock(b slack.Block, actionIDs map[string]bool) []error {
	var errs []error
	check := func(err error, what string) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
	}
	switch b := b.(type) {
	case *slack.HeaderBlock:
		check(validateText(b.Text, MaxHeaderText, true), "header")
	case *slack.SectionBlock:
		if b.Text == nil && len(b.Fields) == 0 {
			errs = append(errs, errors.New("section has neither text nor fields"))
		}
		if b.Text != nil {
			check(validateText(b.Text, MaxSectionText, false), "text")
		}
		if len(b.Fields) > MaxSectionFields {
			errs = append(errs, fmt.Errorf("%d fields, limit %d", len(b.Fields), MaxSectionFields))
		}
		for i, f := range b.Fields {
			check(validateText(f, MaxFieldText, false), fmt.Sprintf("field %d", i))
		}
		if b.Accessory != nil {
			errs = append(errs, errors.New("the renderer builds no accessories"))
		}
	case *slack.ContextBlock:
		els := b.ContextElements.Elements
		if len(els) == 0 || len(els) > MaxContextElements {
			errs = append(errs, fmt.Errorf("%d context elements, want 1..%d", len(els), MaxContextElements))
		}
		for i, e := range els {
			t, ok := e.(*slack.TextBlockObject)
			if !ok {
				errs = append(errs, fmt.Errorf("context element %d is %T", i, e))
				continue
			}
			check(validateText(t, MaxSectionText, false), fmt.Sprintf("context element %d", i))
		}
	case *slack.ActionBlock:
		if b.Elements == nil || len(b.Elements.ElementSet) == 0 || len(b.Elements.ElementSet) > MaxActionElements {
			errs = append(errs, fmt.Errorf("actions block needs 1..%d elements", MaxActionElements))
			break
		}
		for i, e := range b.Elements.ElementSet {
			btn, ok := e.(*slack.ButtonBlockElement)
			if !ok {
				errs = append(errs, fmt.Errorf("element %d is %T", i, e))
				continue
			}
			check(validateText(btn.Text, MaxButtonText, true), fmt.Sprintf("button %d", i))
			switch {
			case btn.ActionID == "" || len(btn.ActionID) > MaxBlockID:
				errs = append(errs, fmt.Errorf("button %d: action_id %q", i, btn.ActionID))
			case actionIDs[btn.ActionID]:
				errs = append(errs, fmt.Errorf("button %d: action_id %q is not unique", i, btn.ActionID))
			}
			actionIDs[btn.ActionID] = true
			if btn.Value == "" || len(btn.Value) > MaxButtonValue {
				errs = append(errs, fmt.Errorf("button %d: value is %d bytes, want 1..%d", i, len(btn.Value), MaxButtonValue))
			}
			if btn.Style != "" && btn.Style != slack.StylePrimary && btn.Style != slack.StyleDanger {
				errs = append(errs, fmt.Errorf("button %d: style %q", i, btn.Style))
			}
			if c := btn.Confirm; c != nil {
				check(validateText(c.Title, MaxConfirmTitle, true), "confirm title")
				check(validateText(c.Text, MaxConfirmText, false), "confirm text")
				check(validateText(c.Confirm, MaxConfirmButton, true), "confirm button")
				if c.Deny != nil {
					check(validateText(c.Deny, MaxConfirmButton, true), "deny button")
				}
			}
		}
	case *slack.DividerBlock:
	default:
		errs = append(errs, fmt.Errorf("block type %T is not one the renderer builds", b))
	}
	return errs
}
