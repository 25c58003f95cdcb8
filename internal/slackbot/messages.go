package slackbot

import (
	"encoding/json"

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
