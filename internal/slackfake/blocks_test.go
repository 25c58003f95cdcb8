package slackfake

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

func rep(n int) string { return strings.Repeat("a", n) }

func TestValidateBlocksLimits(t *testing.T) {
	plain := func(s string) string { return fmt.Sprintf(`{"type":"plain_text","text":%q}`, s) }
	mrkdwn := func(s string) string { return fmt.Sprintf(`{"type":"mrkdwn","text":%q}`, s) }
	button := func(extra string) string {
		return `{"type":"button","text":` + plain("Run") + `,"action_id":"run"` + extra + `}`
	}
	many := func(n int, item string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
	}
	options := func(n int) string {
		var parts []string
		for i := range n {
			parts = append(parts, fmt.Sprintf(`{"text":%s,"value":"v%d"}`, plain("o"), i))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	confirm := func(title, text, yes, no string) string {
		return fmt.Sprintf(`{"title":%s,"text":%s,"confirm":%s,"deny":%s}`, plain(title), mrkdwn(text), plain(yes), plain(no))
	}

	tests := []struct {
		name    string
		blocks  string
		surface Surface
		wantPtr string // "" = valid
		wantMsg string
	}{
		{"section text at limit", `[{"type":"section","text":` + mrkdwn(rep(3000)) + `}]`, SurfaceMessage, "", ""},
		{"section text over", `[{"type":"section","text":` + mrkdwn(rep(3001)) + `}]`, SurfaceMessage, "/blocks/0/text/text", "must be less than 3001 characters"},
		{"section without text or fields", `[{"type":"section"}]`, SurfaceMessage, "/blocks/0", "missing required field: text"},
		{"10 fields", `[{"type":"section","fields":` + many(10, mrkdwn("f")) + `}]`, SurfaceMessage, "", ""},
		{"11 fields", `[{"type":"section","fields":` + many(11, mrkdwn("f")) + `}]`, SurfaceMessage, "/blocks/0/fields", "no more than 10 items allowed"},
		{"field over 2000", `[{"type":"section","fields":[` + mrkdwn(rep(2001)) + `]}]`, SurfaceMessage, "/blocks/0/fields/0/text", "must be less than 2001 characters"},
		{"header 150", `[{"type":"header","text":` + plain(rep(150)) + `}]`, SurfaceMessage, "", ""},
		{"header 151", `[{"type":"header","text":` + plain(rep(151)) + `}]`, SurfaceMessage, "/blocks/0/text/text", "must be less than 151 characters"},
		{"header mrkdwn", `[{"type":"header","text":` + mrkdwn("h") + `}]`, SurfaceMessage, "/blocks/0/text/type", "must be plain_text"},
		{"context 10", `[{"type":"context","elements":` + many(10, mrkdwn("c")) + `}]`, SurfaceMessage, "", ""},
		{"context 11", `[{"type":"context","elements":` + many(11, mrkdwn("c")) + `}]`, SurfaceMessage, "/blocks/0/elements", "no more than 10 items allowed"},
		{"context empty", `[{"type":"context","elements":[]}]`, SurfaceMessage, "/blocks/0/elements", "must have at least 1 items"},
		{"actions 25", `[{"type":"actions","elements":` + many(25, `{"type":"button","text":`+plain("b")+`}`) + `}]`, SurfaceMessage, "", ""},
		{"actions 26", `[{"type":"actions","elements":` + many(26, `{"type":"button","text":`+plain("b")+`}`) + `}]`, SurfaceMessage, "/blocks/0/elements", "no more than 25 items allowed"},
		{"duplicate action_id", `[{"type":"actions","elements":[` + button("") + `,` + button("") + `]}]`, SurfaceMessage, "/blocks/0/elements/1/action_id", "duplicate action_id: run"},
		{"button text 76", `[{"type":"actions","elements":[{"type":"button","text":` + plain(rep(76)) + `}]}]`, SurfaceMessage, "/blocks/0/elements/0/text/text", "must be less than 76 characters"},
		{"button value 2001", `[{"type":"actions","elements":[` + button(`,"value":"`+rep(2001)+`"`) + `]}]`, SurfaceMessage, "/blocks/0/elements/0/value", "must be less than 2001 characters"},
		{"button value 2000", `[{"type":"actions","elements":[` + button(`,"value":"`+rep(2000)+`"`) + `]}]`, SurfaceMessage, "", ""},
		{"action_id 256", `[{"type":"actions","elements":[{"type":"button","text":` + plain("b") + `,"action_id":"` + rep(256) + `"}]}]`, SurfaceMessage, "/blocks/0/elements/0/action_id", "must be less than 256 characters"},
		{"button style", `[{"type":"actions","elements":[` + button(`,"style":"warning"`) + `]}]`, SurfaceMessage, "/blocks/0/elements/0/style", "must be one of: primary, danger"},
		{"button mrkdwn text", `[{"type":"actions","elements":[{"type":"button","text":` + mrkdwn("b") + `}]}]`, SurfaceMessage, "/blocks/0/elements/0/text/type", "must be plain_text"},
		{"confirm ok", `[{"type":"actions","elements":[` + button(`,"confirm":`+confirm("Sure?", "Really", "Yes", "No")) + `]}]`, SurfaceMessage, "", ""},
		{"confirm title 101", `[{"type":"actions","elements":[` + button(`,"confirm":`+confirm(rep(101), "t", "Yes", "No")) + `]}]`, SurfaceMessage, "/blocks/0/elements/0/confirm/title/text", "must be less than 101 characters"},
		{"confirm text 301", `[{"type":"actions","elements":[` + button(`,"confirm":`+confirm("t", rep(301), "Yes", "No")) + `]}]`, SurfaceMessage, "/blocks/0/elements/0/confirm/text/text", "must be less than 301 characters"},
		{"confirm button 31", `[{"type":"actions","elements":[` + button(`,"confirm":`+confirm("t", "t", rep(31), "No")) + `]}]`, SurfaceMessage, "/blocks/0/elements/0/confirm/confirm/text", "must be less than 31 characters"},
		{"block_id 255", `[{"type":"divider","block_id":"` + rep(255) + `"}]`, SurfaceMessage, "", ""},
		{"block_id 256", `[{"type":"divider","block_id":"` + rep(256) + `"}]`, SurfaceMessage, "/blocks/0/block_id", "must be less than 256 characters"},
		{"duplicate block_id", `[{"type":"divider","block_id":"x"},{"type":"divider","block_id":"x"}]`, SurfaceMessage, "/blocks/1/block_id", "duplicate block_id: x"},
		{"unknown block type", `[{"type":"carousel"}]`, SurfaceMessage, "/blocks/0/type", "unsupported type: carousel"},
		{"markdown block in modal", `[{"type":"markdown","text":"x"}]`, SurfaceModal, "/blocks/0/type", "unsupported type: markdown"},
		{"bad text type", `[{"type":"section","text":{"type":"html","text":"x"}}]`, SurfaceMessage, "/blocks/0/text/type", "unsupported type: html"},
		{"empty text", `[{"type":"section","text":` + mrkdwn("") + `}]`, SurfaceMessage, "/blocks/0/text/text", "must be more than 0 characters"},
		{"emoji on mrkdwn", `[{"type":"section","text":{"type":"mrkdwn","text":"x","emoji":true}}]`, SurfaceMessage, "/blocks/0/text/emoji", "emoji is only allowed for plain_text"},
		{"50 blocks", many(50, `{"type":"divider"}`), SurfaceMessage, "", ""},
		{"51 blocks", many(51, `{"type":"divider"}`), SurfaceMessage, "/blocks", "no more than 50 items allowed"},
		{"51 blocks in a modal", many(51, `{"type":"divider"}`), SurfaceModal, "", ""},
		{"101 blocks in a modal", many(101, `{"type":"divider"}`), SurfaceModal, "/blocks", "no more than 100 items allowed"},
		{"overflow 6 options", `[{"type":"actions","elements":[{"type":"overflow","action_id":"o","options":` + options(6) + `}]}]`, SurfaceMessage, "/blocks/0/elements/0/options", "no more than 5 items allowed"},
		{"select 100 options", `[{"type":"section","text":` + mrkdwn("pick") + `,"accessory":{"type":"static_select","action_id":"s","options":` + options(100) + `}}]`, SurfaceMessage, "", ""},
		{"select 101 options", `[{"type":"section","text":` + mrkdwn("pick") + `,"accessory":{"type":"static_select","action_id":"s","options":` + options(101) + `}}]`, SurfaceMessage, "/blocks/0/accessory/options", "no more than 100 items allowed"},
		{"option value 151", `[{"type":"actions","elements":[{"type":"static_select","options":[{"text":` + plain("o") + `,"value":"` + rep(151) + `"}]}]}]`, SurfaceMessage, "/blocks/0/elements/0/options/0/value", "must be less than 151 characters"},
		{"checkboxes 11", `[{"type":"actions","elements":[{"type":"checkboxes","options":` + options(11) + `}]}]`, SurfaceMessage, "/blocks/0/elements/0/options", "no more than 10 items allowed"},
		{"input in actions", `[{"type":"actions","elements":[{"type":"plain_text_input","action_id":"x"}]}]`, SurfaceMessage, "/blocks/0/elements/0/type", "unsupported type: plain_text_input"},
		{"input without element", `[{"type":"input","label":` + plain("l") + `}]`, SurfaceModal, "/blocks/0", "missing required field: element"},
		{"input label 2001", `[{"type":"input","label":` + plain(rep(2001)) + `,"element":{"type":"plain_text_input"}}]`, SurfaceModal, "/blocks/0/label/text", "must be less than 2001 characters"},
		{"input max_length 3001", `[{"type":"input","label":` + plain("l") + `,"element":{"type":"plain_text_input","max_length":3001}}]`, SurfaceModal, "/blocks/0/element/max_length", "must be between 1 and 3000"},
		{"image without alt_text", `[{"type":"image","image_url":"https://x/y.png"}]`, SurfaceMessage, "/blocks/0", "missing required field: alt_text"},
		{"datepicker bad date", `[{"type":"actions","elements":[{"type":"datepicker","initial_date":"03/01/2026"}]}]`, SurfaceMessage, "/blocks/0/elements/0/initial_date", "must be in the format YYYY-MM-DD"},
		{"markdown cumulative", `[{"type":"markdown","text":"` + rep(7000) + `"},{"type":"markdown","text":"` + rep(5001) + `"}]`, SurfaceMessage, "/blocks", "markdown blocks must not exceed 12000 cumulative characters"},
		{"not an array", `{"type":"divider"}`, SurfaceMessage, "/blocks", "must be an array"},
		{"block not an object", `["divider"]`, SurfaceMessage, "/blocks/0", "must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateBlocks([]byte(tt.blocks), tt.surface)
			if tt.wantPtr == "" {
				if len(errs) != 0 {
					t.Fatalf("valid blocks rejected: %v", errs)
				}
				return
			}
			for _, e := range errs {
				if e.Pointer == tt.wantPtr && e.Message == tt.wantMsg {
					return
				}
			}
			t.Errorf("errors = %v, want %q at %s", errs, tt.wantMsg, tt.wantPtr)
		})
	}
}

func TestValidateView(t *testing.T) {
	input := `{"type":"input","block_id":"b","label":{"type":"plain_text","text":"Value"},"element":{"type":"plain_text_input","action_id":"a"}}`
	view := func(fields string) string {
		return `{"type":"modal","title":{"type":"plain_text","text":"Update env"},` + fields + `}`
	}
	tests := []struct {
		name, view, wantPtr, wantMsg string
	}{
		{"minimal", view(`"blocks":[]`), "", ""},
		{"input with submit", view(`"submit":{"type":"plain_text","text":"Save"},"blocks":[` + input + `]`), "", ""},
		{"input without submit", view(`"blocks":[` + input + `]`), "/view", "submit is required when the view has an input block"},
		{"title 25", `{"type":"modal","title":{"type":"plain_text","text":"` + rep(25) + `"},"blocks":[]}`, "/view/title/text", "must be less than 25 characters"},
		{"no title", `{"type":"modal","blocks":[]}`, "/view", "missing required field: title"},
		{"submit 25", view(`"submit":{"type":"plain_text","text":"` + rep(25) + `"},"blocks":[]`), "/view/submit/text", "must be less than 25 characters"},
		{"close 25", view(`"close":{"type":"plain_text","text":"` + rep(25) + `"},"blocks":[]`), "/view/close/text", "must be less than 25 characters"},
		{"private_metadata 3001", view(`"private_metadata":"` + rep(3001) + `","blocks":[]`), "/view/private_metadata", "must be less than 3001 characters"},
		{"callback_id 256", view(`"callback_id":"` + rep(256) + `","blocks":[]`), "/view/callback_id", "must be less than 256 characters"},
		{"home type", `{"type":"home","blocks":[]}`, "/view/type", "unsupported type: home"},
		{"no blocks", view(`"callback_id":"x"`), "/view", "missing required field: blocks"},
		{"bad block", view(`"blocks":[{"type":"header","text":{"type":"plain_text","text":"` + rep(151) + `"}}]`), "/view/blocks/0/text/text", "must be less than 151 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := ValidateView([]byte(tt.view))
			if tt.wantPtr == "" {
				if len(errs) != 0 {
					t.Fatalf("valid view rejected: %v", errs)
				}
				return
			}
			for _, e := range errs {
				if e.Pointer == tt.wantPtr && e.Message == tt.wantMsg {
					return
				}
			}
			t.Errorf("errors = %v, want %q at %s", errs, tt.wantMsg, tt.wantPtr)
		})
	}
}

// Everything slack-go's builders produce for a typical ops message and modal must validate clean;
// otherwise the fake would reject messages Slack accepts.
func TestSlackGoBuiltBlocksAreValid(t *testing.T) {
	plain := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
	}
	md := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
	}
	confirm := slack.NewConfirmationBlockObject(plain("Run monitor?"), md("This runs *nightly* now."), plain("Run"), plain("Cancel")).WithStyle(slack.StyleDanger)
	run := slack.NewButtonBlockElement("monitor_run", "m-1", plain("Run now")).WithStyle(slack.StyleDanger).WithConfirm(confirm)
	mute := slack.NewOverflowBlockElement("mute",
		slack.NewOptionBlockObject("1h", plain("Mute 1h"), nil), slack.NewOptionBlockObject("4h", plain("Mute 4h"), nil))
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Pick"), "pick",
		slack.NewOptionBlockObject("a", plain("A"), nil), slack.NewOptionBlockObject("b", plain("B"), nil))
	blocks := []slack.Block{
		slack.NewHeaderBlock(plain("Monitor nightly FAILED")),
		slack.NewSectionBlock(md("*3* of *10* tests failed"), []*slack.TextBlockObject{md("*Collection*\nAPI"), md("*Env*\nprod")}, slack.NewAccessory(sel)),
		slack.NewDividerBlock(),
		slack.NewContextBlock("ctx", md("run r-1"), slack.NewImageBlockElement("https://example.com/i.png", "icon")),
		slack.NewActionBlock("monitor_actions", run, mute),
		slack.NewImageBlock("https://example.com/chart.png", "chart", "img", plain("Latency")),
	}
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	if errs := ValidateBlocks(raw, SurfaceMessage); len(errs) != 0 {
		t.Errorf("slack-go message blocks rejected: %v\n%s", errs, raw)
	}

	view := slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  plain("Update env"),
		Submit: plain("Save"),
		Close:  plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewSectionBlock(md("Change `base_url`"), nil, nil),
			slack.NewInputBlock("value_block", plain("New value"), plain("hint"), slack.NewPlainTextInputBlockElement(plain("https://…"), "value")),
			slack.NewInputBlock("when", plain("When"), nil, slack.NewDatePickerBlockElement("date")),
		}},
		PrivateMetadata: `{"env":"e1"}`,
		CallbackID:      "env_update",
		NotifyOnClose:   true,
	}
	raw, err = json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	if errs := ValidateView(raw); len(errs) != 0 {
		t.Errorf("slack-go modal rejected: %v\n%s", errs, raw)
	}
}

func FuzzValidateBlocks(f *testing.F) {
	seeds := []string{
		`[]`,
		`[{"type":"divider"}]`,
		`[{"type":"section","text":{"type":"mrkdwn","text":"*hi*"},"fields":[{"type":"plain_text","text":"a"}]}]`,
		`[{"type":"actions","block_id":"a","elements":[{"type":"button","text":{"type":"plain_text","text":"Run"},"value":"m","confirm":{"title":{"type":"plain_text","text":"t"},"text":{"type":"mrkdwn","text":"x"},"confirm":{"type":"plain_text","text":"y"},"deny":{"type":"plain_text","text":"n"}}}]}]`,
		`[{"type":"context","elements":[{"type":"image","image_url":"https://x","alt_text":"a"},{"type":"mrkdwn","text":"t"}]}]`,
		`[{"type":"input","label":{"type":"plain_text","text":"l"},"element":{"type":"static_select","option_groups":[{"label":{"type":"plain_text","text":"g"},"options":[{"text":{"type":"plain_text","text":"o"},"value":"v"}]}]}}]`,
		`[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[]}]}]`,
		`[{"type":"table","rows":[[{"type":"raw_text","text":"a"}]]}]`,
		`[{"type":"section","text":null,"fields":null}]`,
		`[{"type":1},null,"x",[],{"type":"header","text":{"type":"plain_text","text":7}}]`,
		`{"not":"an array"}`,
		`not json`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, modal bool) {
		surface := SurfaceMessage
		if modal {
			surface = SurfaceModal
		}
		errs := ValidateBlocks(data, surface)
		if len(errs) > maxReportedErrors {
			t.Fatalf("%d errors reported", len(errs))
		}
		for _, e := range errs {
			if !strings.HasPrefix(e.Pointer, "/blocks") || e.Message == "" {
				t.Fatalf("malformed error %+v", e)
			}
		}
		// Accepted payloads are JSON arrays of objects with a type.
		if len(errs) == 0 {
			var blocks []map[string]any
			if err := json.Unmarshal(data, &blocks); err != nil {
				t.Fatalf("accepted non-array %q: %v", data, err)
			}
			for _, b := range blocks {
				if _, ok := b["type"].(string); !ok {
					t.Fatalf("accepted block without type: %q", data)
				}
			}
		}
	})
}

func FuzzValidateView(f *testing.F) {
	seeds := []string{
		`{"type":"modal","title":{"type":"plain_text","text":"T"},"blocks":[]}`,
		`{"type":"modal","title":{"type":"plain_text","text":"T"},"submit":{"type":"plain_text","text":"S"},"blocks":[{"type":"input","label":{"type":"plain_text","text":"l"},"element":{"type":"plain_text_input","min_length":5,"max_length":2}}]}`,
		`{"type":"modal","blocks":null}`,
		`[]`,
		`{}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		errs := ValidateView(data)
		for _, e := range errs {
			if !strings.HasPrefix(e.Pointer, "/view") {
				t.Fatalf("malformed error %+v", e)
			}
		}
		if len(errs) == 0 {
			var v map[string]any
			if json.Unmarshal(data, &v) != nil || v["type"] != "modal" {
				t.Fatalf("accepted %q", data)
			}
		}
	})
}
