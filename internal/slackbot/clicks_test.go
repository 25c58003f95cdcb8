package slackbot

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/tools"
)

// shown is one message a user saw, as the fake recorded it.
type shown struct {
	key         string // identifies the record: ephemerals by position (a replacement is a new record), messages by ts
	where, text string
	blocks      json.RawMessage
	eph         *slackfake.Ephemeral
	msg         *slackfake.Message
}

// button is an interactive element of a rendered message.
type button struct {
	actionID, label, typ string
}

func buttonsOf(t *testing.T, raw json.RawMessage) []button {
	t.Helper()
	var blocks []struct {
		Type      string `json:"type"`
		Accessory *struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
		} `json:"accessory"`
		Elements []struct {
			Type     string          `json:"type"`
			ActionID string          `json:"action_id"`
			URL      string          `json:"url"`
			Text     json.RawMessage `json:"text"`
		} `json:"elements"`
	}
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatalf("blocks do not parse: %v", err)
	}
	var out []button
	for _, b := range blocks {
		if b.Accessory != nil && b.Accessory.ActionID != "" {
			out = append(out, button{actionID: b.Accessory.ActionID, typ: b.Accessory.Type})
		}
		if b.Type != "actions" {
			continue
		}
		for _, el := range b.Elements {
			if el.URL != "" {
				continue // a link button opens a page; Slack still sends a click, which the bot may ignore
			}
			var label struct {
				Text string `json:"text"`
			}
			_ = json.Unmarshal(el.Text, &label)
			out = append(out, button{actionID: el.ActionID, label: label.Text, typ: el.Type})
		}
	}
	return out
}

// clickRig drives the bot as a Slack user would, and remembers every message anyone was shown.
type clickRig struct {
	*rig
	t      *testing.T
	clicks int
}

// snapshot is everything shown so far in #general: alice's ephemerals and the channel's messages.
func (c *clickRig) snapshot() []shown {
	c.d.Idle()
	var out []shown
	for i, e := range c.fake.Ephemerals(slackfake.ChannelGeneral, alice) {
		e := e
		out = append(out, shown{key: fmt.Sprint("e", i), where: "ephemeral/" + e.Source, text: e.Text, blocks: e.Blocks, eph: &e})
	}
	for _, m := range c.fake.Messages(slackfake.ChannelGeneral) {
		m := m
		out = append(out, shown{key: "m" + m.TS, where: "channel/" + m.Source, text: m.Text, blocks: m.Blocks, msg: &m})
	}
	return out
}

// newSince returns what appeared (or was replaced) after before.
func newSince(before, after []shown) []shown {
	old := map[string]string{}
	for _, s := range before {
		old[s.key] = s.text + string(s.blocks)
	}
	var out []shown
	for _, s := range after {
		if prev, ok := old[s.key]; !ok || prev != s.text+string(s.blocks) {
			out = append(out, s)
		}
	}
	return out
}

// run sends a command and returns the message that is its answer: the ack's message once replaced, or the ack.
func (c *clickRig) run(text string) shown {
	c.t.Helper()
	before := c.snapshot()
	c.command(c.t, alice, text)
	got := newSince(before, c.snapshot())
	if len(got) == 0 {
		c.t.Fatalf("/postman %s: nothing shown", text)
	}
	return current(got)
}

// current is the latest visible message among got (replaced ephemerals are history).
func current(got []shown) shown {
	for i := len(got) - 1; i >= 0; i-- {
		if got[i].eph == nil || !got[i].eph.Replaced {
			return got[i]
		}
	}
	return got[len(got)-1]
}

func (c *clickRig) click(s shown, b button) []shown {
	c.t.Helper()
	c.clicks++
	before := c.snapshot()
	click := slackfake.Click{Channel: slackfake.ChannelGeneral, User: alice, ActionID: b.actionID}
	if s.eph != nil {
		click.MessageTS = s.eph.TS
	} else {
		click.MessageTS = s.msg.TS
	}
	payload, err := c.fake.BlockActionPayload(click)
	if err != nil {
		c.t.Fatalf("click %s: %v", b.label, err)
	}
	del, err := c.fake.Deliver(context.Background(), c.http.URL+"/slack/interactions", slackfake.DeliverInteraction, payload)
	if err != nil || del.Status != 200 {
		c.t.Fatalf("click %s: %v status %d", b.label, err, del.Status)
	}
	return newSince(before, c.snapshot())
}

var brokenFollowUp = regexp.MustCompile(`could not be read|not known to pmops|unknown action|Something went wrong|already used|has expired`)

// explore clicks every button of the answer to path (a command and the labels clicked after it), replaying the
// path before each click so each button is pressed on a fresh message, and follows what each click shows.
// Confirm-like buttons are pressed last, since they change what a replay would show.
func (c *clickRig) explore(path []string, depth int, labels map[string]bool) {
	c.t.Helper()
	msg, ok := c.replay(path)
	if !ok {
		return
	}
	bs := buttonsOf(c.t, msg.blocks)
	slices.SortStableFunc(bs, func(a, b button) int { return writeRank(a) - writeRank(b) })
	for i, b := range bs {
		if !ActionHandled(b.actionID) {
			c.t.Errorf("%v: rendered action_id %q has no handler", path, b.actionID)
			continue
		}
		if i > 0 {
			if msg, ok = c.replay(path); !ok {
				return
			}
			if !slices.ContainsFunc(buttonsOf(c.t, msg.blocks), func(x button) bool { return x.label == b.label }) {
				c.t.Logf("%v: replay no longer offers %q", path, b.label)
				continue
			}
			b = findLabel(c.t, msg.blocks, b.label)
		}
		labels[kindOf(b.actionID)] = true
		labels["label:"+b.label] = true
		got := c.click(msg, b)
		where := fmt.Sprintf("%v → [%s]", path, b.label)
		if len(got) == 0 {
			c.t.Errorf("%s: the click showed nothing", where)
			continue
		}
		after := current(got)
		if brokenFollowUp.MatchString(after.text) {
			c.t.Errorf("%s: follow-up is a failure: %q", where, after.text)
		}
		checkFollowUp(c.t, where, b, after)
		if depth > 1 {
			c.explore(append(slices.Clone(path), b.label), depth-1, labels)
		}
	}
}

func writeRank(b button) int {
	switch kindOf(b.actionID) {
	case "confirm":
		return 2
	case "cancel":
		return 1
	}
	return 0
}

func kindOf(actionID string) string {
	k, _, _ := strings.Cut(strings.TrimPrefix(actionID, slackrender.ActionIDPrefix), ":")
	return k
}

func findLabel(t *testing.T, raw json.RawMessage, label string) button {
	for _, b := range buttonsOf(t, raw) {
		if b.label == label {
			return b
		}
	}
	t.Fatalf("no button %q", label)
	return button{}
}

// checkFollowUp asserts the follow-up each kind of button promises.
func checkFollowUp(t *testing.T, where string, b button, after shown) {
	t.Helper()
	all := after.text + string(after.blocks)
	switch kindOf(b.actionID) {
	case "cancel":
		if !strings.Contains(after.text, "Cancelled") || after.eph == nil {
			t.Errorf("%s: want the confirmation replaced by Cancelled, got %s %q", where, after.where, after.text)
		}
	case "confirm":
		if !strings.Contains(after.text, "<@"+alice+">") && !strings.Contains(after.text, "Running monitor") {
			t.Errorf("%s: want who did what (or a running monitor), got %q", where, after.text)
		}
	case "share":
		if after.msg == nil {
			t.Errorf("%s: share did not post to the channel (%s)", where, after.where)
		}
	case "more":
		if strings.Contains(all, "Working on it") {
			t.Errorf("%s: next page never replaced its working note", where)
		}
	case "pick":
		if strings.Contains(all, "matches") || strings.Contains(all, "Did you mean") || strings.Contains(all, "Which one") {
			t.Errorf("%s: a pick led to another choice: %q", where, after.text)
		}
	}
}

// replay runs path from scratch and returns the message its last step shows.
func (c *clickRig) replay(path []string) (shown, bool) {
	c.t.Helper()
	msg := c.run(path[0])
	for _, label := range path[1:] {
		if !slices.ContainsFunc(buttonsOf(c.t, msg.blocks), func(x button) bool { return x.label == label }) {
			c.t.Logf("%v: replay no longer offers %q", path, label)
			return shown{}, false
		}
		got := c.click(msg, findLabel(c.t, msg.blocks, label))
		if len(got) == 0 {
			return shown{}, false
		}
		msg = current(got)
	}
	return msg, true
}

// clickCommands are the commands whose answers are explored: every message kind the bot renders.
var clickCommands = []string{
	"help", "frobnicate", `env get "staging`, "env set staging", "monitor run",
	"quota", "whoami", "workspaces", "workspace Payments Platform", "collections", "collection Big regression",
	"collection Orders", "envs", "env get staging", "env get stag", "env get nosuchenv", "monitors",
	"monitor Orders API nightly regression", "monitor why Orders API nightly regression", "mocks",
	"env set Orders staging currency=USD apiToken=abc", "env set stag currency=USD", "env unset Orders staging nosuchkey",
	"env unset staging legacyToken currency", "monitor pause Checkout flow synthetic", "monitor pause Legacy billing sync",
	"monitor resume Legacy", "monitor run Payments API smoke (staging)", "monitor run nosuchmonitor",
}

// TestClickEverything renders each message kind and clicks every button it contains (next page, more, confirm,
// cancel, pick, share), through signed HTTP requests against the Slack fake and the Postman emulator, and asserts
// each follow-up. A rendered action_id without a handler fails it.
func TestClickEverything(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, writers: []string{alice}})
	if _, err := r.emu.AddGeneratedCollection(emulator.DemoKey, "", "Big regression", 350); err != nil {
		t.Fatal(err)
	}
	c := &clickRig{rig: r, t: t}
	kinds := map[string]bool{}
	for _, cmd := range clickCommands {
		c.explore([]string{cmd}, 3, kinds)
	}
	for _, k := range []string{"pick", "more", "share", "confirm", "cancel", "label:Next page", "label:Run it now", "label:Re-run", "label:Remove"} {
		if !kinds[k] {
			t.Errorf("no %q button was rendered and clicked", k)
		}
	}
	t.Logf("%d clicks", c.clicks)
	checkCatalogue(t, c.snapshot())
}

// TestNextPageOfBigCollection pages through a collection too big for one answer: every page comes from the
// tool's cursor, and the last has no Next page.
func TestNextPageOfBigCollection(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey})
	if _, err := r.emu.AddGeneratedCollection(emulator.DemoKey, "", "Big regression", 350); err != nil {
		t.Fatal(err)
	}
	c := &clickRig{rig: r, t: t}
	msg := c.run("collection Big regression")
	pages, seen := 1, map[string]bool{}
	for {
		// Walk the continuation pages (More) to the one that carries Next page.
		var next *button
		for _, b := range buttonsOf(t, msg.blocks) {
			if b.label == "Next page" {
				next = &b
			}
		}
		if next == nil {
			more := slices.IndexFunc(buttonsOf(t, msg.blocks), func(b button) bool { return b.label == "More" })
			if more < 0 {
				break
			}
			msg = current(c.click(msg, buttonsOf(t, msg.blocks)[more]))
			continue
		}
		got := c.click(msg, *next)
		msg = current(got)
		if brokenFollowUp.MatchString(msg.text) || !strings.Contains(string(msg.blocks), "Big regression") {
			t.Fatalf("page %d: %q %s", pages+1, msg.text, msg.blocks)
		}
		if seen[string(msg.blocks)] {
			t.Fatal("Next page showed a page again")
		}
		seen[string(msg.blocks)] = true
		pages++
		if pages > 20 {
			t.Fatal("more than 20 pages")
		}
	}
	if pages < 2 {
		t.Fatalf("a 350-request collection fit one page: %d", pages)
	}
	if !strings.Contains(string(msg.blocks), "Request 350") && !strings.Contains(string(msg.blocks), "350") {
		t.Logf("last page: %s", msg.blocks)
	}
}

// toolWords lists what must never reach a Slack reader: every tool name of the catalogue and argument spellings.
func toolWords() []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, tl := range tools.All() {
		out = append(out, regexp.MustCompile(`\b`+regexp.QuoteMeta(tl.Name)+`\b`))
	}
	out = append(out, regexp.MustCompile(`\b[a-z_]+=(true|false)\b`), regexp.MustCompile(`async=`), regexp.MustCompile(`\blist_\*`))
	return out
}

// checkCatalogue fails when any message shown contains a tool name or a tool argument spelling.
func checkCatalogue(t *testing.T, all []shown) {
	t.Helper()
	words := toolWords()
	for _, s := range all {
		text := s.text + " " + string(s.blocks)
		for _, w := range words {
			if loc := w.FindStringIndex(text); loc != nil {
				t.Errorf("%s shows tool words %q: %s", s.where, text[loc[0]:loc[1]], clipForLog(text, loc[0]))
			}
		}
	}
}

func clipForLog(s string, at int) string {
	lo, hi := max(0, at-80), min(len(s), at+80)
	return s[lo:hi]
}
