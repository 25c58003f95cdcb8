package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/clock"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

const testToken = "hooktoken-0123456789abcdef0123456789abcdef"

// t0 is where the virtual clock starts (a Monday, mid-month, aligned to a 5-minute schedule).
var t0 = time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)

// rig is a notifier wired to the Postman emulator and the Slack fake, all on one virtual clock.
type rig struct {
	t     *testing.T
	clk   *clock.Fake
	emu   *emulator.Emulator
	emuS  *httptest.Server
	slack *slackfake.Server
	st    store.NotifyStore
	env   *tools.Env
	n     *Notifier
	hooks *httptest.Server
}

type rigOpts struct {
	store     store.NotifyStore
	emulator  emulator.Options
	slack     slackfake.Options
	noWebhook bool
	cfg       func(*Config)
}

func newRig(t *testing.T, o rigOpts) *rig {
	t.Helper()
	r := &rig{t: t, clk: clock.NewFake(t0)}
	r.st = o.store
	if r.st == nil {
		r.st = store.NewNotifyMemory()
	}
	o.slack.Clock = r.clk
	if o.slack.Scopes == nil {
		o.slack.Scopes = []string{"chat:write", "commands", "channels:read", "groups:read", "channels:join", "users:read",
			"channels:history", "groups:history", "im:history"}
	}
	r.slack = slackfake.New(o.slack)
	t.Cleanup(r.slack.Close)

	eo := o.emulator
	eo.Clock = r.clk
	if eo.RoutePerWindow == 0 {
		eo.RoutePerWindow = 100_000
	}
	r.emu = emulator.New(eo)
	r.emuS = httptest.NewServer(r.emu)
	t.Cleanup(func() { r.emuS.Close(); _ = r.emu.Close() })
	gate := ratelimit.New(r.emuS.Client().Transport, ratelimit.Options{Cache: api.CacheRules()})
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: r.emuS.URL, Gate: gate})
	if err != nil {
		t.Fatal(err)
	}
	r.env = &tools.Env{Client: c, Budget: c.RateBudget, Runs: tools.NewRunLog(16)}
	cfg := Config{Store: r.st, Slack: slack.New(r.slack.BotToken(), slack.OptionAPIURL(r.slack.APIURL())),
		Env: func(context.Context) (*tools.Env, error) { return r.env, nil }, HookToken: testToken, Clock: r.clk}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	r.n, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.env.History = r.n.History()
	r.env.Runs.SetObserver(r.n.ObserveRun)
	r.hooks = httptest.NewServer(r.n.HookHandler())
	t.Cleanup(r.hooks.Close)
	if !o.noWebhook {
		r.emu.SetWebhookURL(r.hooks.URL + HookPathPrefix + testToken)
	}
	return r
}

// emuDo calls the emulator's API directly (test setup), returning the decoded body.
func (r *rig) emuDo(method, path string, body any) map[string]any {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, r.emuS.URL+path, rd)
	req.Header.Set("X-Api-Key", emulator.DemoKey)
	req.Header.Set("Content-Type", "application/json")
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

// flipMonitor creates a monitor on a 5-minute schedule whose one request answers the status in environment
// variable "code": it fails while code is 500 and passes once setCode(200).
type flipMonitor struct {
	uid, envID string
	r          *rig
}

func (r *rig) newFlipMonitor(name string) *flipMonitor {
	r.t.Helper()
	ws := r.workspaceID(emulator.DemoWorkspacePayments)
	col := r.emuDo("POST", "/collections?workspace="+ws, map[string]any{"collection": map[string]any{
		"info": map[string]any{"name": name + " checks", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
		"item": []any{map[string]any{"name": "Health", "request": map[string]any{"method": "GET", "url": "https://echo.example/status/{{code}}"},
			"event": []any{map[string]any{"listen": "test", "script": map[string]any{"exec": []any{
				`pm.test("Status code is 200", function () { pm.response.to.have.status(200); });`}}}}}},
	}})
	colUID := col["collection"].(map[string]any)["uid"].(string)
	env := r.emuDo("POST", "/environments?workspace="+ws, map[string]any{"environment": map[string]any{
		"name": name + " env", "values": []any{map[string]any{"key": "code", "value": "500", "enabled": true}}}})
	e := env["environment"].(map[string]any)
	mon := r.emuDo("POST", "/monitors?workspace="+ws, map[string]any{"monitor": map[string]any{
		"name": name, "collection": colUID, "environment": e["uid"], "schedule": map[string]any{"cron": "*/5 * * * *", "timezone": "UTC"}}})
	return &flipMonitor{uid: mon["monitor"].(map[string]any)["uid"].(string), envID: e["id"].(string), r: r}
}

func (f *flipMonitor) setCode(code int) {
	f.r.emuDo("PATCH", "/environments/"+f.envID, []any{
		map[string]any{"op": "replace", "path": "/values/0/value", "value": fmt.Sprint(code)}})
}

func (r *rig) workspaceID(name string) string {
	r.t.Helper()
	out := r.emuDo("GET", "/workspaces", nil)
	for _, w := range out["workspaces"].([]any) {
		m := w.(map[string]any)
		if m["name"] == name {
			return m["id"].(string)
		}
	}
	r.t.Fatalf("no workspace %q", name)
	return ""
}

func (r *rig) subscribe(channel, uid string, policy store.Policy) {
	r.t.Helper()
	if _, err := r.st.PutSubscription(context.Background(), store.Subscription{ChannelID: channel, Target: store.Target{Kind: store.TargetMonitor, ID: uid},
		Policy: policy, CreatedBy: slackfake.UserAlice, CreatedAt: r.clk.Now()}); err != nil {
		r.t.Fatal(err)
	}
}

// advance moves the shared clock, lets the emulator run what is due, waits for its webhooks, and runs the
// notifier's pipeline until nothing is left to do at the new time.
func (r *rig) advance(d time.Duration) {
	r.t.Helper()
	r.emu.Advance(d)
	r.emu.WaitWebhooks()
	r.settle()
}

// settle runs the pipeline, stepping the clock by the channel pace while deliveries are waiting.
func (r *rig) settle() {
	r.t.Helper()
	ctx := context.Background()
	for range 200 {
		r.n.Step(ctx)
		stats, err := r.st.OutboxStats(ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		inbox, _ := r.st.Inbox(ctx, 0, 0)
		waiting := 0 // webhooks held back for their correlation window do not keep the pipeline busy
		r.n.mu.Lock()
		for _, it := range inbox {
			if !r.n.inboxRetry[it.ID].After(r.clk.Now()) {
				waiting++
			}
		}
		r.n.mu.Unlock()
		pending, _ := r.st.PendingRuns(ctx, 1)
		if stats[store.OutboxPending]+stats[store.OutboxSending] == 0 && waiting == 0 && len(pending) == 0 {
			return
		}
		r.clk.Advance(time.Second)
	}
	r.t.Fatal("pipeline did not settle")
}

// postHook POSTs body to the webhook receiver and returns the status and answer.
func (r *rig) postHook(path string, body []byte) (int, string) {
	r.t.Helper()
	resp, err := http.Post(r.hooks.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// titles returns the fallback texts of a channel's messages (history view), oldest first.
func titles(msgs []slackfake.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Text)
	}
	return out
}

func mustTool(t *testing.T, name string) *tools.Tool {
	t.Helper()
	tool, ok := tools.Lookup(name)
	if !ok {
		t.Fatalf("no tool %s", name)
	}
	return tool
}
