package slackfake

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

func postHook(t *testing.T, u, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response_url answered %q", raw)
	}
	return resp.StatusCode, out
}

func TestResponseURLFiveUses(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	u := s.NewResponseURL(ChannelGeneral, UserAlice)
	if !strings.HasPrefix(u, s.URL()+"/response/") {
		t.Fatalf("url = %q", u)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	for i := range ResponseURLMaxUses {
		msg := &slack.WebhookMessage{Text: "progress", ResponseType: slack.ResponseTypeEphemeral}
		if err := slack.PostWebhookCustomHTTPContext(ctx, u, hc, msg); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
	err := slack.PostWebhookCustomHTTPContext(ctx, u, hc, &slack.WebhookMessage{Text: "sixth"})
	var sce slack.StatusCodeError
	if !errors.As(err, &sce) || sce.Code != http.StatusNotFound {
		t.Fatalf("6th use = %v, want 404", err)
	}
	if code, body := postHook(t, u, `{"text":"seventh"}`); code != 404 || body["error"] != "used_url" {
		t.Errorf("7th use = %d %v", code, body)
	}
	posts := s.ResponseURLPosts("")
	if len(posts) != 7 || posts[4].Use != 5 || posts[4].Error != "" || posts[5].Error != "used_url" || posts[5].Status != 404 {
		t.Errorf("posts = %+v", posts)
	}
	if got := len(s.Ephemerals(ChannelGeneral, UserAlice)); got != 5 {
		t.Errorf("%d ephemerals, want 5", got)
	}
	if s.ResponseURLUses(u) != 5 {
		t.Errorf("uses = %d", s.ResponseURLUses(u))
	}
}

func TestResponseURLThirtyMinutes(t *testing.T) {
	s, clk := newFake(t, Options{})
	u := s.NewResponseURL(ChannelGeneral, UserAlice)
	clk.Advance(ResponseURLTTL)
	if code, body := postHook(t, u, `{"text":"just in time"}`); code != 200 || body["ok"] != true {
		t.Fatalf("at 30 min = %d %v", code, body)
	}
	clk.Advance(time.Millisecond)
	if code, body := postHook(t, u, `{"text":"late"}`); code != 404 || body["error"] != "expired_url" {
		t.Errorf("after 30 min = %d %v", code, body)
	}
	if code, body := postHook(t, s.URL()+"/response/R000nope", `{"text":"x"}`); code != 404 || body["error"] != "no_service" {
		t.Errorf("unknown url = %d %v", code, body)
	}
}

func TestResponseURLValidationDoesNotSpendUses(t *testing.T) {
	s, _ := newFake(t, Options{})
	u := s.NewResponseURL(ChannelGeneral, UserAlice)
	tests := []struct{ body, code string }{
		{`not json`, "invalid_payload"},
		{`{"response_type":"in_channel"}`, "no_text"},
		{`{"text":"` + strings.Repeat("x", MaxMessageTextChars+1) + `"}`, "msg_too_long"},
		{`{"text":"x","blocks":[{"type":"header","text":{"type":"mrkdwn","text":"h"}}]}`, "invalid_blocks"},
	}
	for _, tt := range tests {
		if code, body := postHook(t, u, tt.body); code != 400 || body["error"] != tt.code {
			t.Errorf("%.40s: %d %v, want 400 %s", tt.body, code, body, tt.code)
		}
	}
	if s.ResponseURLUses(u) != 0 {
		t.Errorf("rejected posts spent %d uses", s.ResponseURLUses(u))
	}
	_, body := postHook(t, u, `{"blocks":[{"type":"header","text":{"type":"mrkdwn","text":"h"}}]}`)
	meta, _ := body["response_metadata"].(map[string]any)
	if msgs, _ := meta["messages"].([]any); len(msgs) == 0 || !strings.Contains(msgs[0].(string), "json-pointer:/blocks/0/text/type") {
		t.Errorf("invalid_blocks body = %v", body)
	}
}

func TestResponseURLInChannelThreadAndReplaceEphemeral(t *testing.T) {
	s, _ := newFake(t, Options{})
	u := s.NewResponseURL(ChannelGeneral, UserAlice)

	// ephemeral "working…", then replace it with the result: only a response_url can edit an ephemeral.
	postHook(t, u, `{"text":"working…"}`)
	postHook(t, u, `{"text":"done","replace_original":true}`)
	eph := s.Ephemerals(ChannelGeneral, UserAlice)
	if len(eph) != 2 || !eph[0].Replaced || eph[1].Text != "done" || eph[1].TS != eph[0].TS {
		t.Errorf("ephemerals = %+v", eph)
	}

	parentTS, err := s.PostUserMessage(ChannelGeneral, UserBob, "question")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := postHook(t, u, `{"text":"shared","response_type":"in_channel","thread_ts":"`+parentTS+`"}`); code != 200 {
		t.Fatal(code)
	}
	thread := s.Thread(ChannelGeneral, parentTS)
	if len(thread) != 2 || thread[1].Text != "shared" || thread[1].Source != "response_url" || thread[1].User != DefaultBotUserID {
		t.Errorf("thread = %+v", thread)
	}
	posts := s.ResponseURLPosts("")
	if posts[2].ResponseType != "in_channel" || posts[0].ResponseType != "ephemeral" || !posts[1].ReplaceOriginal {
		t.Errorf("posts = %+v", posts)
	}
}

func TestResponseURLFromButtonReplacesAndDeletesOriginal(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	api := client(s)
	btn := slack.NewButtonBlockElement("monitor_run", "m-1", slack.NewTextBlockObject(slack.PlainTextType, "Run", false, false))
	_, ts, err := api.PostMessageContext(ctx, ChannelGeneral, slack.MsgOptionText("nightly failed", false),
		slack.MsgOptionBlocks(section("nightly failed"), slack.NewActionBlock("actions", btn)))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := s.BlockActionPayload(Click{Channel: ChannelGeneral, MessageTS: ts, User: UserBob, ActionID: "monitor_run"})
	if err != nil {
		t.Fatal(err)
	}
	u := payload["response_url"].(string)
	err = slack.PostWebhookCustomHTTPContext(ctx, u, http.DefaultClient, &slack.WebhookMessage{
		Text: "run started by bob", ReplaceOriginal: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := s.Message(ChannelGeneral, ts)
	if m.Text != "run started by bob" || m.EditedTS == "" {
		t.Errorf("original after replace = %+v", m)
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, u, http.DefaultClient, &slack.WebhookMessage{DeleteOriginal: true}); err != nil {
		t.Fatal(err)
	}
	if got := s.Messages(ChannelGeneral); len(got) != 0 {
		t.Errorf("history after delete_original = %+v", got)
	}
}
