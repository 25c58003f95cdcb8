package slackbot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/clock"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/notify"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

const notifyTestToken = "hooktoken-0123456789abcdef0123456789abcdef"

// notifyRig is the bot with its notifier: the Postman emulator and the notifier on one virtual clock, the Slack
// fake on the real one (it signs deliveries, which the bot checks against the real time).
type notifyRig struct {
	t     *testing.T
	clk   *clock.Fake
	emu   *emulator.Emulator
	emuS  *httptest.Server
	fake  *slackfake.Server
	envs  *testEnvs
	n     *notify.Notifier
	nst   store.NotifyStore
	d     *Dispatcher
	http  *httptest.Server
	hooks *httptest.Server
}

func newNotifyRig(t *testing.T) *notifyRig {
	t.Helper()
	r := &notifyRig{t: t, clk: clock.NewFake(time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC))}
	r.emu = emulator.New(emulator.Options{Clock: r.clk, RoutePerWindow: 100_000})
	r.emuS = httptest.NewServer(r.emu)
	r.fake = slackfake.New(slackfake.Options{Scopes: []string{"chat:write", "commands", "channels:read", "groups:read", "users:read",
		"channels:history", "groups:history", "im:history"}})
	t.Cleanup(func() { r.fake.Close(); r.emuS.Close(); _ = r.emu.Close() })
	r.envs = &testEnvs{url: r.emuS.URL, m: map[string]*tools.Env{}}
	apiClient := slack.New(r.fake.BotToken(), slack.OptionAPIURL(r.fake.APIURL()))
	r.nst = store.NewNotifyMemory()
	var err error
	r.n, err = notify.New(notify.Config{Store: r.nst, Slack: apiClient, HookToken: notifyTestToken, HookBaseURL: "https://bot.example.com",
		Clock: r.clk, Env: func(context.Context) (*tools.Env, error) { return r.envs.Env(emulator.DemoKey) }})
	if err != nil {
		t.Fatal(err)
	}
	env, _ := r.envs.Env(emulator.DemoKey)
	env.History = r.n.History()
	env.Runs.SetObserver(r.n.ObserveRun)
	st := store.NewMemory()
	r.d, err = New(Config{Envs: r.envs, TeamKey: emulator.DemoKey, Writers: []string{slackfake.UserAlice}, Store: st,
		Responder: NewSlackResponder(apiClient, nil), Notify: r.n})
	if err != nil {
		t.Fatal(err)
	}
	h := &HTTPHandler{Dispatcher: r.d, SigningSecret: r.fake.SigningSecret(), Seen: st.SeenOnce}
	r.http = httptest.NewServer(h.Handler())
	r.hooks = httptest.NewServer(r.n.HookHandler())
	t.Cleanup(func() { r.http.Close(); r.hooks.Close(); r.d.Close(context.Background()) })
	r.emu.SetWebhookURL(r.hooks.URL + notify.HookPathPrefix + notifyTestToken)
	return r
}

func (r *notifyRig) command(user, text string) {
	r.t.Helper()
	form, err := r.fake.SlashCommandForm(slackfake.SlashCommand{Text: text, ChannelID: slackfake.ChannelGeneral, UserID: user})
	if err != nil {
		r.t.Fatal(err)
	}
	del, err := r.fake.Deliver(context.Background(), r.http.URL+"/slack/commands", slackfake.DeliverSlashCommand, form)
	if err != nil || del.Status != 200 {
		r.t.Fatalf("/postman %s: %v %+v", text, err, del)
	}
	r.d.Idle()
}

func (r *notifyRig) click(user string, m slackfake.Message, actionID string) {
	r.t.Helper()
	payload, err := r.fake.BlockActionPayload(slackfake.Click{Channel: m.Channel, MessageTS: m.TS, User: user, ActionID: actionID})
	if err != nil {
		r.t.Fatal(err)
	}
	del, err := r.fake.Deliver(context.Background(), r.http.URL+"/slack/interactions", slackfake.DeliverInteraction, payload)
	if err != nil || del.Status != 200 {
		r.t.Fatalf("click %s: %v %+v", actionID, err, del)
	}
	r.d.Idle()
}

// advance moves the virtual clock, lets the emulator run the schedule (its webhooks reach the receiver) and runs
// the notifier until its outbox is empty.
func (r *notifyRig) advance(d time.Duration) {
	r.t.Helper()
	r.emu.Advance(d)
	r.emu.WaitWebhooks()
	ctx := context.Background()
	for range 100 {
		r.n.Step(ctx)
		stats, _ := r.nst.OutboxStats(ctx)
		inbox, _ := r.nst.Inbox(ctx, 0, 1)
		pending, _ := r.nst.PendingRuns(ctx, 1)
		if stats[store.OutboxPending]+stats[store.OutboxSending] == 0 && len(inbox) == 0 && len(pending) == 0 {
			return
		}
		r.clk.Advance(time.Second)
	}
	r.t.Fatal("notifier did not settle")
}

func (r *notifyRig) emuDo(method, path string, body any) map[string]any {
	r.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, r.emuS.URL+path, bytes.NewReader(b))
	req.Header.Set("X-Api-Key", emulator.DemoKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		r.t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out
}

// flip creates "name" on a 5-minute schedule, failing until setCode(200).
func (r *notifyRig) flip(name string) (uid string, setCode func(int)) {
	var ws string
	for _, w := range r.emuDo("GET", "/workspaces", nil)["workspaces"].([]any) {
		if m := w.(map[string]any); m["name"] == emulator.DemoWorkspacePayments {
			ws = m["id"].(string)
		}
	}
	col := r.emuDo("POST", "/collections?workspace="+ws, map[string]any{"collection": map[string]any{
		"info": map[string]any{"name": name + " checks", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
		"item": []any{map[string]any{"name": "Health", "request": map[string]any{"method": "GET", "url": "https://echo.example/status/{{code}}"},
			"event": []any{map[string]any{"listen": "test", "script": map[string]any{"exec": []any{
				`pm.test("Status code is 200", function () { pm.response.to.have.status(200); });`}}}}}},
	}})["collection"].(map[string]any)
	env := r.emuDo("POST", "/environments?workspace="+ws, map[string]any{"environment": map[string]any{
		"name": name + " env", "values": []any{map[string]any{"key": "code", "value": "500", "enabled": true}}}})["environment"].(map[string]any)
	mon := r.emuDo("POST", "/monitors?workspace="+ws, map[string]any{"monitor": map[string]any{"name": name, "collection": col["uid"],
		"environment": env["uid"], "schedule": map[string]any{"cron": "*/5 * * * *", "timezone": "UTC"}}})["monitor"].(map[string]any)
	return mon["uid"].(string), func(code int) {
		r.emuDo("PATCH", "/environments/"+env["id"].(string), []any{map[string]any{"op": "replace", "path": "/values/0/value", "value": fmt.Sprint(code)}})
	}
}

func texts[T any](items []T, text func(T) string) []string {
	var out []string
	for _, it := range items {
		out = append(out, text(it))
	}
	return out
}

func msgText(m slackfake.Message) string { return m.Text }

// shown is what the user still sees of their ephemeral answers (working notes replaced by the answer drop out).
func (r *notifyRig) shown(user string) []string {
	var out []string
	for _, e := range r.fake.Ephemerals(slackfake.ChannelGeneral, user) {
		if !e.Replaced && !e.Deleted {
			out = append(out, ephText(e))
		}
	}
	return out
}
func ephText(e slackfake.Ephemeral) string { return e.Text + " " + string(e.Blocks) }

// TestNotificationsEndToEnd: a writer subscribes #general to a monitor; the monitor fails on schedule twice and
// recovers; its webhooks arrive; the channel sees the FAILING parent, the thread, the broadcast recovery and the
// parent rewritten. Along the way: subscriptions, mute by button, monitor history, and a reader refused.
func TestNotificationsEndToEnd(t *testing.T) {
	r := newNotifyRig(t)
	uid, setCode := r.flip("Checkout probe")

	r.command(slackfake.UserBob, "subscribe Checkout probe")
	if got := r.shown(slackfake.UserBob); len(got) != 1 || !strings.Contains(got[0], "allowlist") {
		t.Fatalf("a reader subscribing: %q", got)
	}
	r.command(slackfake.UserAlice, "subscribe Checkout probe failures")
	msgs := r.fake.Messages(slackfake.ChannelGeneral)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "subscribed this channel to monitor") {
		t.Fatalf("subscribe answer in the channel: %q", texts(msgs, msgText))
	}
	eph := r.shown(slackfake.UserAlice)
	if !strings.Contains(strings.Join(eph, "\n"), "https://bot.example.com"+notify.HookPathPrefix+notifyTestToken) {
		t.Fatalf("the subscriber is not given the webhook URL: %q", eph)
	}
	for _, m := range r.fake.Messages(slackfake.ChannelGeneral) {
		if strings.Contains(m.Text+string(m.Blocks), notifyTestToken) {
			t.Fatalf("the webhook secret was posted in the channel: %q", m.Text)
		}
	}
	r.command(slackfake.UserAlice, "subscriptions")
	if eph := r.shown(slackfake.UserAlice); !strings.Contains(eph[len(eph)-1], "Checkout probe") {
		t.Fatalf("subscriptions: %q", eph[len(eph)-1])
	}

	r.advance(5 * time.Minute) // fails
	r.advance(5 * time.Minute) // fails again
	setCode(200)
	r.advance(5 * time.Minute) // recovers
	msgs = r.fake.Messages(slackfake.ChannelGeneral)
	if len(msgs) != 3 || !strings.Contains(msgs[1].Text, "RECOVERED: Checkout probe") || !strings.Contains(msgs[2].Text, "RECOVERED") || !msgs[2].ReplyBroadcast {
		t.Fatalf("channel: %q", texts(msgs, msgText))
	}
	thread := r.fake.Thread(slackfake.ChannelGeneral, msgs[1].TS)
	if len(thread) != 3 || !strings.Contains(thread[1].Text, "Still failing") || thread[0].EditedTS == "" {
		t.Fatalf("thread: %q", texts(thread, msgText))
	}

	// Mute 1 h from the parent's button; the next failure is recorded but not posted.
	r.click(slackfake.UserBob, thread[1], slackrender.ActionMonitorMute)
	mutes, _ := r.nst.Mutes(context.Background(), slackfake.ChannelGeneral, r.clk.Now())
	if len(mutes) != 1 || mutes[0].MonitorUID != uid || mutes[0].By != slackfake.UserBob {
		t.Fatalf("mutes after the button: %+v", mutes)
	}
	before := len(r.fake.Messages(slackfake.ChannelGeneral))
	setCode(500)
	r.advance(5 * time.Minute)
	after := r.fake.Messages(slackfake.ChannelGeneral)
	if len(after) != before {
		t.Errorf("a muted failure was posted: %q", texts(after[before:], msgText))
	}

	r.command(slackfake.UserBob, "monitor history Checkout probe")
	eph = r.shown(slackfake.UserBob)
	last := eph[len(eph)-1]
	if !strings.Contains(last, "run history") || !strings.Contains(last, "🟥🟥🟩🟥") || !strings.Contains(last, "failing since") {
		t.Errorf("monitor history: %s", last)
	}
	r.command(slackfake.UserAlice, "unmute Checkout probe")
	r.command(slackfake.UserAlice, "unsubscribe Checkout probe")
	if subs, _, _ := r.n.Subscriptions(context.Background(), slackfake.ChannelGeneral); len(subs) != 0 {
		t.Errorf("still subscribed: %+v", subs)
	}
}
