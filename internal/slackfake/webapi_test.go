package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestAuthTest(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)

	resp, err := client(s).AuthTestContext(ctx)
	if err != nil {
		t.Fatalf("auth.test: %v", err)
	}
	if resp.TeamID != DefaultTeamID || resp.UserID != DefaultBotUserID || resp.BotID != "B0FAKEBOT1" || resp.User != "postman" {
		t.Errorf("auth.test = %+v", resp)
	}
	if got := resp.Header.Get("X-OAuth-Scopes"); !strings.Contains(got, "chat:write") {
		t.Errorf("X-OAuth-Scopes = %q", got)
	}

	tests := []struct {
		name, token, want string
	}{
		{"wrong bot token", "xoxb-wrong", "invalid_auth"},
		{"app token on a bot method", s.AppToken(), "not_allowed_token_type"},
		{"no token", "", "not_authed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := slack.New(tt.token, slack.OptionAPIURL(s.APIURL()))
			_, err := c.AuthTestContext(ctx)
			if got := slackErr(err); got != tt.want {
				t.Errorf("error = %v (%q), want %q", err, got, tt.want)
			}
		})
	}
	for _, c := range s.CallsTo("auth.test") {
		if strings.Contains(string(c.Response), s.BotToken()) || slices.ContainsFunc(mapsValues(c.Args), func(v string) bool { return strings.HasPrefix(v, "xox") }) {
			t.Errorf("token recorded in call %+v", c)
		}
	}
}

func mapsValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestPostMessageThreadsAndHistory(t *testing.T) {
	s, clk := newFake(t, Options{})
	ctx := testCtx(t)
	api := client(s)

	ch, parent, err := api.PostMessageContext(ctx, "#general", slack.MsgOptionText("monitor FAILING", false),
		slack.MsgOptionBlocks(section("*nightly* failed")))
	if err != nil {
		t.Fatalf("post parent: %v", err)
	}
	if ch != ChannelGeneral {
		t.Errorf("channel = %q, want the ID %q", ch, ChannelGeneral)
	}
	clk.Advance(time.Second)
	_, r1, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("still failing", false), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	// Replying to a reply's ts attaches to the parent, as Slack does.
	_, r2, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("again", false), slack.MsgOptionTS(r1))
	if err != nil {
		t.Fatalf("reply to reply: %v", err)
	}
	clk.Advance(time.Second)
	_, r3, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("RECOVERED", false), slack.MsgOptionTS(parent), slack.MsgOptionBroadcast())
	if err != nil {
		t.Fatalf("broadcast reply: %v", err)
	}

	thread := s.Thread(ChannelGeneral, parent)
	if len(thread) != 4 {
		t.Fatalf("thread has %d messages, want 4: %+v", len(thread), thread)
	}
	p := thread[0]
	if p.ReplyCount != 3 || p.LatestReply != r3 || p.ThreadTS != parent || !slices.Equal(p.ReplyUsers, []string{DefaultBotUserID}) {
		t.Errorf("parent = %+v", p)
	}
	for i, want := range []string{r1, r2, r3} {
		if thread[i+1].TS != want || thread[i+1].ThreadTS != parent || !thread[i+1].IsReply() {
			t.Errorf("reply %d = %+v", i, thread[i+1])
		}
	}
	history := s.Messages("general")
	if len(history) != 2 || history[0].TS != parent || history[1].TS != r3 || !history[1].ReplyBroadcast {
		t.Errorf("history = %+v, want parent and the broadcast reply", history)
	}
	if history[0].Source != "chat.postMessage" || history[0].BotID == "" || !json.Valid(history[0].Blocks) {
		t.Errorf("parent record = %+v", history[0])
	}

	// The answered message object follows Slack's shape.
	last := s.CallsTo("chat.postMessage")[3]
	var body struct {
		OK      bool           `json:"ok"`
		Channel string         `json:"channel"`
		TS      string         `json:"ts"`
		Message map[string]any `json:"message"`
	}
	if err := json.Unmarshal(last.Response, &body); err != nil {
		t.Fatal(err)
	}
	if !body.OK || body.TS != r3 || body.Message["thread_ts"] != parent || body.Message["subtype"] != "thread_broadcast" || body.Message["bot_id"] == nil {
		t.Errorf("response = %s", last.Response)
	}
}

func TestTimestampsUniqueAndIncreasingWithStoppedClock(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	api := client(s)
	tsFormat := regexp.MustCompile(`^\d{10}\.\d{6}$`)
	var prev string
	for i := range 30 {
		_, ts, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText(fmt.Sprint(i), false))
		if err != nil {
			t.Fatal(err)
		}
		if !tsFormat.MatchString(ts) {
			t.Fatalf("ts %q is not sec.micro", ts)
		}
		if i == 0 && ts != fmt.Sprintf("%d.000000", t0.Unix()) {
			t.Errorf("first ts = %q, want the clock's time", ts)
		}
		if prev != "" && ts <= prev {
			t.Fatalf("ts %q not after %q", ts, prev)
		}
		prev = ts
	}
	// Another channel has its own sequence starting at the clock.
	_, ts, err := api.PostMessageContext(ctx, ChannelPrivate, slack.MsgOptionText("x", false))
	if err != nil || ts != fmt.Sprintf("%d.000000", t0.Unix()) {
		t.Errorf("private channel ts = %q, %v", ts, err)
	}
}

func TestPostMessageErrors(t *testing.T) {
	long := strings.Repeat("x", MaxMessageTextChars+1)
	tests := []struct {
		name    string
		opts    Options
		channel string
		msg     []slack.MsgOption
		want    string
	}{
		{"unknown channel", Options{}, "C0NOPE", []slack.MsgOption{slack.MsgOptionText("hi", false)}, "channel_not_found"},
		{"bot not in public channel", Options{}, ChannelRandom, []slack.MsgOption{slack.MsgOptionText("hi", false)}, "not_in_channel"},
		{"chat:write.public allows public", Options{Scopes: []string{"chat:write", "chat:write.public"}}, ChannelRandom, []slack.MsgOption{slack.MsgOptionText("hi", false)}, ""},
		{"private channel without the bot is invisible", Options{Channels: []Channel{{ID: "G1", Name: "secret", Private: true, Members: []string{UserAlice}}}}, "G1", []slack.MsgOption{slack.MsgOptionText("hi", false)}, "channel_not_found"},
		{"archived", Options{Channels: []Channel{{ID: "C1", Name: "old", Archived: true, Members: []string{DefaultBotUserID}}}}, "C1", []slack.MsgOption{slack.MsgOptionText("hi", false)}, "is_archived"},
		{"no text nor blocks", Options{}, ChannelGeneral, nil, "no_text"},
		{"text over 40000", Options{}, ChannelGeneral, []slack.MsgOption{slack.MsgOptionText(long, false)}, "msg_too_long"},
		{"missing chat:write", Options{Scopes: []string{"commands"}}, ChannelGeneral, []slack.MsgOption{slack.MsgOptionText("hi", false)}, "missing_scope"},
		{"unknown thread", Options{}, ChannelGeneral, []slack.MsgOption{slack.MsgOptionText("hi", false), slack.MsgOptionTS("1.000001")}, "thread_not_found"},
		{"DM by user ID", Options{}, UserAlice, []slack.MsgOption{slack.MsgOptionText("hi", false)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newFake(t, tt.opts)
			_, _, err := client(s).PostMessageContext(testCtx(t), tt.channel, tt.msg...)
			if got := slackErr(err); got != tt.want || (tt.want == "" && err != nil) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			stored := 0
			for _, ch := range []string{ChannelGeneral, ChannelRandom, "G1", "C1", "D0ALICE001"} {
				stored += len(s.Messages(ch))
			}
			if (tt.want == "") != (stored == 1) {
				t.Errorf("stored %d messages after %q", stored, tt.want)
			}
		})
	}
	t.Run("missing_scope names the scope", func(t *testing.T) {
		s, _ := newFake(t, Options{Scopes: []string{"commands"}})
		_, _, err := client(s).PostMessageContext(testCtx(t), ChannelGeneral, slack.MsgOptionText("hi", false))
		var se slack.SlackErrorResponse
		if !errors.As(err, &se) || se.Needed != "chat:write" || se.Provided != "commands" {
			t.Errorf("error = %#v", err)
		}
	})
}

func TestBlockKitRejectionThroughSlackGo(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	api := client(s)

	_, _, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("fallback", false),
		slack.MsgOptionBlocks(section(strings.Repeat("a", 3001))))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "invalid_blocks" {
		t.Fatalf("error = %v, want invalid_blocks", err)
	}
	want := "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
	if !slices.Contains(se.ResponseMetadata.Messages, want) {
		t.Errorf("messages = %q, want %q", se.ResponseMetadata.Messages, want)
	}

	blocks := make([]slack.Block, 51)
	for i := range blocks {
		blocks[i] = slack.NewDividerBlock()
	}
	_, _, err = api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("x", false), slack.MsgOptionBlocks(blocks...))
	if !errors.As(err, &se) || se.Err != "invalid_blocks" || !slices.Contains(se.ResponseMetadata.Messages, "[ERROR] no more than 50 items allowed [json-pointer:/blocks]") {
		t.Errorf("51 blocks: %v %q", err, se.ResponseMetadata.Messages)
	}
	if n := len(s.Messages(ChannelGeneral)); n != 0 {
		t.Errorf("%d messages stored after rejected posts", n)
	}

	// Exactly at the limits is fine.
	_, _, err = api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("x", false),
		slack.MsgOptionBlocks(append(blocks[:49], section(strings.Repeat("a", 3000)))...))
	if err != nil {
		t.Errorf("50 blocks with 3000-char section: %v", err)
	}
}

func TestUpdateAndDelete(t *testing.T) {
	s, clk := newFake(t, Options{})
	ctx := testCtx(t)
	api := client(s)
	_, ts, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("FAILING", false), slack.MsgOptionBlocks(section("failing")))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second) // ts are unique per channel only; keep this one distinct from ts
	_, otherTS, err := api.PostMessageContext(ctx, ChannelPrivate, slack.MsgOptionText("other", false))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	_, _, text, err := api.UpdateMessageContext(ctx, ChannelGeneral, ts, slack.MsgOptionText("RECOVERED", false))
	if err != nil || text != "RECOVERED" {
		t.Fatalf("update = %q, %v", text, err)
	}
	m, _ := s.Message(ChannelGeneral, ts)
	if m.Text != "RECOVERED" || !strings.Contains(string(m.Blocks), "failing") || m.EditedTS == "" {
		t.Errorf("after text-only update: %+v (blocks must be kept)", m)
	}
	_, _, _, err = api.UpdateMessageContext(ctx, ChannelGeneral, ts, slack.MsgOptionBlocks(section("recovered")))
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Message(ChannelGeneral, ts); !strings.Contains(string(m.Blocks), "recovered") || m.Text != "RECOVERED" {
		t.Errorf("after blocks update: %+v", m)
	}

	userTS, err := s.PostUserMessage(ChannelGeneral, UserAlice, "hello")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, channel, ts string
		opts              []slack.MsgOption
		want              string
	}{
		{"unknown ts", ChannelGeneral, "1.000001", []slack.MsgOption{slack.MsgOptionText("x", false)}, "message_not_found"},
		{"ts of another channel", ChannelGeneral, otherTS, []slack.MsgOption{slack.MsgOptionText("x", false)}, "message_not_found"},
		{"someone else's message", ChannelGeneral, userTS, []slack.MsgOption{slack.MsgOptionText("x", false)}, "cant_update_message"},
		{"unknown channel", "C0NOPE", ts, []slack.MsgOption{slack.MsgOptionText("x", false)}, "channel_not_found"},
		{"bad blocks", ChannelGeneral, ts, []slack.MsgOption{slack.MsgOptionBlocks(slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("h", 151), false, false)))}, "invalid_blocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := api.UpdateMessageContext(ctx, tt.channel, tt.ts, tt.opts...)
			if got := slackErr(err); got != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}

	if _, _, err := api.DeleteMessageContext(ctx, ChannelGeneral, userTS); slackErr(err) != "cant_delete_message" {
		t.Errorf("delete user message: %v", err)
	}
	if _, _, err := api.DeleteMessageContext(ctx, ChannelGeneral, ts); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.DeleteMessageContext(ctx, ChannelGeneral, ts); slackErr(err) != "message_not_found" {
		t.Errorf("second delete: %v", err)
	}
	if got := s.Messages(ChannelGeneral); len(got) != 1 || got[0].TS != userTS {
		t.Errorf("history after delete = %+v", got)
	}
}

func TestPostEphemeral(t *testing.T) {
	s, _ := newFake(t, Options{Channels: append(DefaultChannels(DefaultBotUserID), Channel{ID: "C0OPEN", Name: "open", Members: []string{DefaultBotUserID, UserAlice}})})
	ctx := testCtx(t)
	api := client(s)
	ts, err := api.PostEphemeralContext(ctx, ChannelGeneral, UserBob, slack.MsgOptionText("only bob", false))
	if err != nil || ts == "" {
		t.Fatalf("postEphemeral = %q, %v", ts, err)
	}
	eph := s.Ephemerals(ChannelGeneral, UserBob)
	if len(eph) != 1 || eph[0].TS != ts || eph[0].Text != "only bob" || eph[0].Source != "chat.postEphemeral" {
		t.Errorf("ephemerals = %+v", eph)
	}
	if len(s.Messages(ChannelGeneral)) != 0 || len(s.Ephemerals(ChannelGeneral, UserAlice)) != 0 {
		t.Error("ephemeral leaked into history or to another user")
	}
	tests := []struct{ name, channel, user, want string }{
		{"user not in channel", "C0OPEN", UserBob, "user_not_in_channel"},
		{"unknown user", ChannelGeneral, "U0NOPE", "user_not_found"},
		{"bot not in channel", ChannelRandom, UserAlice, "not_in_channel"},
		{"unknown channel", "C0NOPE", UserAlice, "channel_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := api.PostEphemeralContext(ctx, tt.channel, tt.user, slack.MsgOptionText("x", false))
			if got := slackErr(err); got != tt.want {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func modal(title string, blocks ...slack.Block) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, title, false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Save", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		CallbackID:      "env_update",
		PrivateMetadata: `{"env":"e1"}`,
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

func TestViewsOpenTriggerLifecycle(t *testing.T) {
	s, clk := newFake(t, Options{})
	ctx := testCtx(t)
	api := client(s)
	input := slack.NewInputBlock("value_block", slack.NewTextBlockObject(slack.PlainTextType, "New value", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, "value"))

	trig := s.NewTriggerID(UserAlice)
	clk.Advance(TriggerTTL) // exactly 3 s is still in time
	resp, err := api.OpenViewContext(ctx, trig, modal("Update env", input))
	if err != nil {
		t.Fatalf("views.open: %v", err)
	}
	if resp.ID == "" || resp.Hash == "" || resp.CallbackID != "env_update" || resp.PrivateMetadata != `{"env":"e1"}` || resp.TeamID != DefaultTeamID {
		t.Errorf("view = %+v", resp.View)
	}
	views := s.Views()
	if len(views) != 1 || views[0].User != UserAlice || views[0].Title != "Update env" {
		t.Errorf("Views() = %+v", views)
	}

	if _, err := api.OpenViewContext(ctx, trig, modal("Again", input)); slackErr(err) != "exchanged_trigger_id" {
		t.Errorf("reused trigger: %v", err)
	}
	late := s.NewTriggerID(UserAlice)
	clk.Advance(TriggerTTL + time.Millisecond)
	if _, err := api.OpenViewContext(ctx, late, modal("Late", input)); slackErr(err) != "expired_trigger_id" {
		t.Errorf("expired trigger: %v", err)
	}
	if _, err := api.OpenViewContext(ctx, "12345.98765.abcd2358fdea", modal("Forged", input)); slackErr(err) != "invalid_trigger_id" {
		t.Errorf("forged trigger: %v", err)
	}

	// An invalid view is rejected before the trigger is spent.
	fresh := s.NewTriggerID(UserAlice)
	_, err = api.OpenViewContext(ctx, fresh, modal("This title is far too long for Slack", input))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "invalid_arguments" ||
		!slices.Contains(se.ResponseMetadata.Messages, "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]") {
		t.Errorf("long title: %v %q", err, se.ResponseMetadata.Messages)
	}
	if _, err := api.OpenViewContext(ctx, fresh, modal("OK", input)); err != nil {
		t.Errorf("trigger spent by a rejected view: %v", err)
	}

	// views.update with the current hash, then with a stale one.
	updated, err := api.UpdateViewContext(ctx, modal("Updated", input), "", resp.Hash, resp.ID)
	if err != nil || updated.Title.Text != "Updated" || updated.Hash == resp.Hash {
		t.Fatalf("views.update = %+v, %v", updated, err)
	}
	if _, err := api.UpdateViewContext(ctx, modal("Stale", input), "", resp.Hash, resp.ID); slackErr(err) != "hash_conflict" {
		t.Errorf("stale hash: %v", err)
	}
	if _, err := api.UpdateViewContext(ctx, modal("Nope", input), "", "", "V0NOPE"); slackErr(err) != "not_found" {
		t.Errorf("unknown view: %v", err)
	}
	if v, _ := s.View(resp.ID); v.Title != "Updated" || v.Updates != 1 {
		t.Errorf("view after update = %+v", v)
	}
}

func TestInjectedFaults(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	api := client(s)

	s.RateLimitNext("chat.postMessage", 1, 2*time.Second)
	_, _, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("x", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("error = %v, want RateLimitedError{2s}", err)
	}
	if _, _, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("x", false)); err != nil {
		t.Fatalf("after the injected 429: %v", err)
	}
	calls := s.CallsTo("chat.postMessage")
	if calls[0].Status != 429 || calls[0].Error != "ratelimited" || !calls[0].Injected || calls[1].Status != 200 {
		t.Errorf("calls = %+v", calls)
	}

	s.FailNext("chat.postMessage", 2, "fatal_error")
	for range 2 {
		if _, _, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("x", false)); slackErr(err) != "fatal_error" {
			t.Errorf("FailNext: %v", err)
		}
	}

	s.InjectFault("*", Fault{Status: 503, Times: 1})
	_, err = api.AuthTestContext(ctx)
	var sce slack.StatusCodeError
	if !errors.As(err, &sce) || sce.Code != 503 {
		t.Errorf("503: %v", err)
	}

	s.InjectFault("auth.test", Fault{Latency: time.Millisecond})
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Errorf("latency-only fault must proceed normally: %v", err)
	}
	s.ClearFaults("")
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}

}

func TestChannelRateLimit(t *testing.T) {
	s, clk := newFake(t, Options{ChannelRate: &ChannelRate{Interval: time.Second, Burst: 2}})
	ctx := testCtx(t)
	api := client(s)
	post := func(ch string) error {
		_, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("x", false))
		return err
	}
	for i := range 2 {
		if err := post(ChannelGeneral); err != nil {
			t.Fatalf("burst post %d: %v", i, err)
		}
	}
	var rl *slack.RateLimitedError
	if err := post(ChannelGeneral); !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Fatalf("third post = %v, want 429 Retry-After 1", err)
	}
	if err := post(ChannelPrivate); err != nil {
		t.Errorf("other channel is limited separately: %v", err)
	}
	clk.Advance(time.Second)
	if err := post(ChannelGeneral); err != nil {
		t.Errorf("after a second: %v", err)
	}
	if err := post(ChannelGeneral); !errors.As(err, &rl) {
		t.Errorf("refilled one token only: %v", err)
	}
}

func TestRawRequests(t *testing.T) {
	s, _ := newFake(t, Options{})
	do := func(method, ct, auth, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.APIURL()+method, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: %s", method, raw)
		}
		return out
	}
	if r := do("chat.nope", "", s.BotToken(), ""); r["error"] != "unknown_method" || r["req_method"] != "chat.nope" {
		t.Errorf("unknown method = %v", r)
	}
	r := do("chat.postMessage", "application/json", s.BotToken(), `{"channel":"C0GENERAL1","text":"json","blocks":[{"type":"divider"}]}`)
	if r["ok"] != true || r["warning"] != "missing_charset" {
		t.Errorf("JSON post = %v", r)
	}
	if r := do("chat.postMessage", "application/json; charset=utf-8", "", `{"token":"`+s.BotToken()+`","channel":"C0GENERAL1","text":"x"}`); r["error"] != "not_authed" {
		t.Errorf("token in JSON body = %v, want not_authed", r)
	}
	form := url.Values{"token": {s.BotToken()}, "channel": {"general"}, "text": {"form"}}
	if r := do("chat.postMessage", "application/x-www-form-urlencoded", "", form.Encode()); r["ok"] != true {
		t.Errorf("form post = %v", r)
	}
	if r := do("chat.postMessage", "application/json; charset=utf-8", s.BotToken(), `{"channel":"C0GENERAL1","blocks":"not json"}`); r["error"] != "invalid_blocks_format" {
		t.Errorf("bad blocks = %v", r)
	}
	if r := do("chat.postMessage", "text/xml", s.BotToken(), `<x/>`); r["error"] != "invalid_post_type" {
		t.Errorf("xml = %v", r)
	}
	calls := s.CallsTo("chat.postMessage")
	if calls[0].Args["text"] != "json" || calls[0].Args["blocks"] != `[{"type":"divider"}]` || calls[0].ContentType != "application/json" {
		t.Errorf("recorded args = %+v", calls[0])
	}
	if _, ok := calls[2].Args["token"]; ok || calls[2].TokenKind != "bot" {
		t.Errorf("form call record = %+v", calls[2])
	}
}

func TestConversationsAndUsers(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	api := client(s)

	ch, warning, _, err := api.JoinConversationContext(ctx, ChannelRandom)
	if err != nil || ch.ID != ChannelRandom || warning != "" {
		t.Fatalf("join = %+v %q %v", ch, warning, err)
	}
	if _, _, err := api.PostMessageContext(ctx, ChannelRandom, slack.MsgOptionText("joined", false)); err != nil {
		t.Errorf("post after join: %v", err)
	}
	if _, warning, warnings, err := api.JoinConversationContext(ctx, ChannelRandom); err != nil || warning != "already_in_channel" || !slices.Contains(warnings, "already_in_channel") {
		t.Errorf("second join = %q %q %v", warning, warnings, err)
	}
	if _, _, _, err := api.JoinConversationContext(ctx, ChannelPrivate); slackErr(err) != "method_not_supported_for_channel_type" {
		t.Errorf("join private: %v", err)
	}
	info, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: ChannelPrivate})
	if err != nil || info.Name != "ops" || !info.IsPrivate || !info.IsMember {
		t.Errorf("info = %+v, %v", info, err)
	}
	if _, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "C0NOPE"}); slackErr(err) != "channel_not_found" {
		t.Errorf("info unknown: %v", err)
	}
	u, err := api.GetUserInfoContext(ctx, UserAlice)
	if err != nil || u.Name != "alice" || u.Profile.Email != "alice@example.com" {
		t.Errorf("users.info = %+v, %v", u, err)
	}
	if _, err := api.GetUserInfoContext(ctx, "U0NOPE"); slackErr(err) != "user_not_found" {
		t.Errorf("users.info unknown: %v", err)
	}
}

func TestWaitCallsConcurrent(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	api := client(s)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if _, _, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText(fmt.Sprint(i), false)); err != nil {
				t.Error(err)
			}
		})
	}
	calls, err := s.WaitCalls(ctx, "chat.postMessage", 8)
	if err != nil || len(calls) != 8 {
		t.Fatalf("WaitCalls = %d, %v", len(calls), err)
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, m := range s.Messages(ChannelGeneral) {
		if seen[m.TS] {
			t.Errorf("duplicate ts %s", m.TS)
		}
		seen[m.TS] = true
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := s.WaitCalls(short, "chat.postMessage", 9); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitCalls beyond what happened = %v", err)
	}
}

// BenchmarkPostMessage measures the fake's own cost per chat.postMessage through slack-go, the baseline
// bot benchmarks subtract.
func BenchmarkPostMessage(b *testing.B) {
	s := New(Options{})
	defer s.Close()
	api := slack.New(s.BotToken(), slack.OptionAPIURL(s.APIURL()))
	ctx := context.Background()
	blocks := slack.MsgOptionBlocks(section("*nightly* failed"), slack.NewDividerBlock())
	for b.Loop() {
		if _, _, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("x", false), blocks); err != nil {
			b.Fatal(err)
		}
	}
}
