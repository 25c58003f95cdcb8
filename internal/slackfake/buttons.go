package slackfake

import (
	"encoding/json"
	"errors"
	"strings"
)

// ButtonActionID returns the action_id of the first button in a message's blocks whose label contains label, the
// way a person finds the button to click.
func ButtonActionID(blocks json.RawMessage, label string) (string, bool) {
	var bs []struct {
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	// Other elements' "text" is a plain string: those mismatches are skipped, the buttons still decode.
	if err := json.Unmarshal(blocks, &bs); err != nil {
		if _, mismatch := errors.AsType[*json.UnmarshalTypeError](err); !mismatch {
			return "", false
		}
	}
	for _, b := range bs {
		for _, el := range b.Elements {
			if el.Type == "button" && strings.Contains(el.Text.Text, label) {
				return el.ActionID, true
			}
		}
	}
	return "", false
}
