package slackbot

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/slackrender"
)

type wireMessage struct {
	Text   string       `json:"text"`
	Blocks slack.Blocks `json:"blocks"`
}

// marshalMessage stores a rendered message behind a token (a "more" page, an answer to share).
func marshalMessage(m slackrender.Message) ([]byte, error) {
	return json.Marshal(wireMessage{Text: m.Text, Blocks: slack.Blocks{BlockSet: m.Blocks}})
}

func unmarshalMessage(b []byte) (slackrender.Message, error) {
	var w wireMessage
	if err := json.Unmarshal(b, &w); err != nil {
		return slackrender.Message{}, err
	}
	return slackrender.Message{Text: w.Text, Blocks: w.Blocks.BlockSet}, nil
}

// stripActions drops the button rows, for a copy of an answer posted to the whole channel.
func stripActions(m slackrender.Message) slackrender.Message {
	out := m
	out.Blocks = nil
	for _, b := range m.Blocks {
		if b.BlockType() == slack.MBTAction {
			continue
		}
		out.Blocks = append(out.Blocks, b)
	}
	return out
}

// compose joins messages into one, renumbering block IDs, which must be unique within a message.
func compose(parts ...slackrender.Message) slackrender.Message {
	var out slackrender.Message
	var texts []string
	for _, p := range parts {
		out.Blocks = append(out.Blocks, p.Blocks...)
		if p.Text != "" {
			texts = append(texts, p.Text)
		}
	}
	out.Text = strings.Join(texts, "\n")
	for i, b := range out.Blocks {
		setBlockID(b, fmt.Sprintf("pmops-c%d", i))
	}
	return out
}

func setBlockID(b slack.Block, id string) {
	switch x := b.(type) {
	case *slack.SectionBlock:
		x.BlockID = id
	case *slack.HeaderBlock:
		x.BlockID = id
	case *slack.ContextBlock:
		x.BlockID = id
	case *slack.ActionBlock:
		x.BlockID = id
	case *slack.DividerBlock:
		x.BlockID = id
	case *slack.RichTextBlock:
		x.BlockID = id
	case *slack.MarkdownBlock:
		x.BlockID = id
	}
}

// note is a plain-text line (no escaping needed: plain_text is never parsed for mentions or links).
func note(text string) slackrender.Message {
	return slackrender.Message{Text: text, Blocks: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.PlainTextType, text, false, false), nil, nil)}}
}
