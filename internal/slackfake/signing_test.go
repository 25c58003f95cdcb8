package slackfake

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func TestSignMatchesSlackDocumentedExample(t *testing.T) {
	// The worked example of docs.slack.dev/authentication/verifying-requests-from-slack.
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	ts, sig := Sign("8f742231b10e8888abcd99yyyzzz85a5", time.Unix(1531420618, 0), []byte(body))
	if ts != "1531420618" || sig != "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503" {
		t.Errorf("Sign = %s %s", ts, sig)
	}
}

func verify(r *http.Request, secret string) ([]byte, error) {
	sv, err := slack.NewSecretsVerifier(r.Header, secret)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	if _, err := sv.Write(body); err != nil {
		return nil, err
	}
	return body, sv.Ensure()
}

func TestSignedRequestVerifiedBySlackGo(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	body := []byte("command=%2Fpostman&text=help")
	tests := []struct {
		name    string
		ts      time.Time
		tamper  bool
		secret  string
		wantErr error
	}{
		{"fresh", time.Time{}, false, s.SigningSecret(), nil},
		{"4 minutes old", time.Now().Add(-4 * time.Minute), false, s.SigningSecret(), nil},
		{"6 minutes old", time.Now().Add(-6 * time.Minute), false, s.SigningSecret(), slack.ErrExpiredTimestamp},
		{"tampered body", time.Time{}, true, s.SigningSecret(), slack.ErrInvalidSignature},
		{"other secret", time.Time{}, false, "not-the-secret", slack.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := s.SignedRequest(ctx, http.MethodPost, "http://bot.invalid/slack/commands", "application/x-www-form-urlencoded", body, tt.ts)
			if err != nil {
				t.Fatal(err)
			}
			if tt.tamper {
				req.Body = io.NopCloser(bytes.NewReader(append(body, '!')))
			}
			if _, err := verify(req, tt.secret); !errors.Is(err, tt.wantErr) {
				t.Errorf("verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// bot is a minimal HTTP-mode app: it verifies signatures and hands parsed requests to the test.
type bot struct {
	t       *testing.T
	secret  string
	mu      sync.Mutex
	reply   func(w http.ResponseWriter, kind string, cmd slack.SlashCommand, cb slack.InteractionCallback)
	slashes []slack.SlashCommand
	actions []slack.InteractionCallback
}

func (b *bot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := verify(r, b.secret)
	if err != nil {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	b.mu.Lock()
	defer b.mu.Unlock()
	switch r.URL.Path {
	case "/commands":
		cmd, err := slack.SlashCommandParse(r)
		if err != nil {
			b.t.Errorf("parse slash command: %v", err)
		}
		b.slashes = append(b.slashes, cmd)
		b.reply(w, "slash", cmd, slack.InteractionCallback{})
	case "/interactions":
		cb, err := slack.InteractionCallbackParse(r)
		if err != nil {
			b.t.Errorf("parse interaction: %v", err)
		}
		b.actions = append(b.actions, cb)
		b.reply(w, "interaction", slack.SlashCommand{}, cb)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func TestDeliverSlashCommandOverHTTP(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	b := &bot{t: t, secret: s.SigningSecret()}
	b.reply = func(w http.ResponseWriter, _ string, cmd slack.SlashCommand, _ slack.InteractionCallback) {
		if cmd.Text == "share" {
			writeJSON(w, slack.Msg{ResponseType: slack.ResponseTypeInChannel, Text: "shared result"})
			return
		}
		if cmd.Text == "plain" {
			_, _ = io.WriteString(w, "plain text help")
			return
		}
		if cmd.Text == "broken" {
			writeJSON(w, map[string]any{"blocks": []any{map[string]any{"type": "nope"}}})
			return
		}
		w.WriteHeader(http.StatusOK) // empty ack
	}
	srv := httptest.NewServer(b)
	defer srv.Close()

	d, err := s.Deliver(ctx, srv.URL+"/commands", DeliverSlashCommand, SlashCommand{ChannelID: "general", UserID: UserAlice, Text: "share"})
	if err != nil || d.Status != 200 || d.TimedOut || d.ResponseError != "" {
		t.Fatalf("deliver = %+v, %v", d, err)
	}
	cmd := b.slashes[0]
	if cmd.Command != "/postman" || cmd.Text != "share" || cmd.ChannelID != ChannelGeneral || cmd.ChannelName != "general" ||
		cmd.UserID != UserAlice || cmd.UserName != "alice" || cmd.TeamID != DefaultTeamID || cmd.TeamDomain != "fake-workspace" ||
		cmd.APIAppID != "A0FAKEAPP01" || !strings.HasPrefix(cmd.ResponseURL, s.URL()+"/response/") || cmd.TriggerID == "" {
		t.Errorf("parsed slash command = %+v", cmd)
	}
	if msgs := s.Messages(ChannelGeneral); len(msgs) != 1 || msgs[0].Text != "shared result" || msgs[0].Source != "http_response" {
		t.Errorf("in_channel body not shown: %+v", msgs)
	}
	// The trigger_id Slack sent can open a modal.
	if _, err := client(s).OpenViewContext(ctx, cmd.TriggerID, modal("Hi", section("hello"))); err != nil {
		t.Errorf("views.open with the command's trigger: %v", err)
	}

	if d, err := s.Deliver(ctx, srv.URL+"/commands", DeliverSlashCommand, SlashCommand{ChannelID: ChannelGeneral, UserID: UserBob, Text: "plain"}); err != nil || d.ResponseError != "" {
		t.Fatalf("plain = %+v %v", d, err)
	}
	if eph := s.Ephemerals(ChannelGeneral, UserBob); len(eph) != 1 || eph[0].Text != "plain text help" {
		t.Errorf("plain text body = %+v", eph)
	}
	if d, _ := s.Deliver(ctx, srv.URL+"/commands", DeliverSlashCommand, SlashCommand{ChannelID: ChannelGeneral, UserID: UserBob, Text: "broken"}); d.ResponseError != "invalid_blocks" {
		t.Errorf("broken body = %+v", d)
	}
	if d, _ := s.Deliver(ctx, srv.URL+"/commands", DeliverSlashCommand, SlashCommand{ChannelID: ChannelGeneral, UserID: UserBob, Text: "ack"}); d.Status != 200 || len(d.Body) != 0 {
		t.Errorf("empty ack = %+v", d)
	}
	if _, err := s.Deliver(ctx, srv.URL+"/commands", DeliverSlashCommand, SlashCommand{ChannelID: ChannelPrivate, UserID: UserBob}); err == nil {
		t.Error("bob typed in a channel he is not in")
	}
	if n := len(s.Deliveries()); n != 4 {
		t.Errorf("%d deliveries recorded", n)
	}
}

func TestDeliverInteractions(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	api := client(s)
	var viewReply any
	b := &bot{t: t, secret: s.SigningSecret()}
	b.reply = func(w http.ResponseWriter, _ string, _ slack.SlashCommand, cb slack.InteractionCallback) {
		if cb.Type == slack.InteractionTypeViewSubmission && viewReply != nil {
			writeJSON(w, viewReply)
		}
	}
	srv := httptest.NewServer(b)
	defer srv.Close()

	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, "mute",
		slack.NewOptionBlockObject("1h", slack.NewTextBlockObject(slack.PlainTextType, "1 hour", false, false), nil))
	btn := slack.NewButtonBlockElement("monitor_run", "m-1", slack.NewTextBlockObject(slack.PlainTextType, "Run", false, false))
	_, ts, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("failed", false),
		slack.MsgOptionBlocks(section("failed"), slack.NewActionBlock("acts", btn, sel)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.BlockActionPayload(Click{Channel: ChannelGeneral, MessageTS: ts, User: UserBob, ActionID: "nope"}); err == nil {
		t.Error("clicked an element that does not exist")
	}
	payload, err := s.BlockActionPayload(Click{Channel: ChannelGeneral, MessageTS: ts, User: UserBob, ActionID: "monitor_run"})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := s.Deliver(ctx, srv.URL+"/interactions", DeliverInteraction, payload); err != nil || d.Status != 200 {
		t.Fatalf("deliver = %+v %v", d, err)
	}
	cb := b.actions[0]
	act := cb.ActionCallback.BlockActions
	if cb.Type != slack.InteractionTypeBlockActions || len(act) != 1 || act[0].ActionID != "monitor_run" || act[0].Value != "m-1" ||
		act[0].BlockID != "acts" || cb.User.ID != UserBob || cb.Channel.ID != ChannelGeneral || cb.Container.MessageTs != ts ||
		cb.Message.Timestamp != ts || cb.TriggerID == "" || !strings.HasPrefix(cb.ResponseURL, s.URL()) || cb.Team.ID != DefaultTeamID {
		t.Errorf("parsed block action = %+v / %+v", cb, act)
	}
	payload, err = s.BlockActionPayload(Click{Channel: ChannelGeneral, MessageTS: ts, User: UserBob, ActionID: "mute", Value: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(ctx, srv.URL+"/interactions", DeliverInteraction, payload); err != nil {
		t.Fatal(err)
	}
	if got := b.actions[1].ActionCallback.BlockActions[0].SelectedOption.Value; got != "1h" {
		t.Errorf("selected option = %q", got)
	}

	// A modal: open with the action's trigger, submit it, answer with response_action.
	input := slack.NewInputBlock("value_block", slack.NewTextBlockObject(slack.PlainTextType, "Value", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, "value"))
	m := modal("Update env", input)
	m.NotifyOnClose = true
	view, err := api.OpenViewContext(ctx, cb.TriggerID, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ViewSubmissionPayload(view.ID, UserBob, nil); err == nil {
		t.Error("submitted a modal with an empty required input")
	}
	if _, err := s.ViewSubmissionPayload(view.ID, UserAlice, map[string]map[string]string{"value_block": {"value": "x"}}); err == nil {
		t.Error("alice submitted bob's modal")
	}
	sub, err := s.ViewSubmissionPayload(view.ID, UserBob, map[string]map[string]string{"value_block": {"value": "https://api.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	viewReply = slack.NewErrorsViewSubmissionResponse(map[string]string{"value_block": "must be https"})
	if d, err := s.Deliver(ctx, srv.URL+"/interactions", DeliverInteraction, sub); err != nil || d.ResponseError != "" {
		t.Fatalf("errors response = %+v %v", d, err)
	}
	got := b.actions[2]
	if got.Type != slack.InteractionTypeViewSubmission || got.View.CallbackID != "env_update" || got.View.PrivateMetadata != `{"env":"e1"}` ||
		got.View.State.Values["value_block"]["value"].Value != "https://api.example.com" || got.View.ID != view.ID {
		t.Errorf("parsed submission = %+v", got.View)
	}
	bad := modal("A title that is much too long", input)
	viewReply = slack.NewUpdateViewSubmissionResponse(&bad)
	if d, _ := s.Deliver(ctx, srv.URL+"/interactions", DeliverInteraction, sub); d.ResponseError != "invalid_arguments" {
		t.Errorf("invalid update response = %+v", d)
	}
	good := modal("Saved", input)
	good.NotifyOnClose = true // an update replaces the whole view, notify_on_close included
	viewReply = slack.NewUpdateViewSubmissionResponse(&good)
	if d, _ := s.Deliver(ctx, srv.URL+"/interactions", DeliverInteraction, sub); d.ResponseError != "" {
		t.Errorf("update response = %+v", d)
	}
	if v, _ := s.View(view.ID); v.Title != "Saved" {
		t.Errorf("view after response_action update = %+v", v)
	}

	closed, err := s.ViewClosedPayload(view.ID, UserBob)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deliver(ctx, srv.URL+"/interactions", DeliverInteraction, closed); err != nil {
		t.Fatal(err)
	}
	if b.actions[len(b.actions)-1].Type != slack.InteractionTypeViewClosed {
		t.Errorf("view_closed parsed as %q", b.actions[len(b.actions)-1].Type)
	}
	plainTrig := s.NewTriggerID(UserAlice)
	v2, err := api.OpenViewContext(ctx, plainTrig, modal("No notify", section("x")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ViewClosedPayload(v2.ID, UserAlice); err == nil {
		t.Error("view_closed for a view without notify_on_close")
	}
}

func TestDeliverTimesOutLikeSlack(t *testing.T) {
	s, _ := newFake(t, Options{DeliveryTimeout: 50 * time.Millisecond})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	d, err := s.Deliver(testCtx(t), srv.URL, DeliverEvent, s.EventCallback(map[string]any{"type": "app_mention", "text": "hi"}))
	if err != nil || !d.TimedOut || d.Status != 0 {
		t.Errorf("slow bot = %+v, %v", d, err)
	}
}
