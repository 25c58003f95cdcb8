package slackbot

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
	"github.com/pmops/pmops/internal/vault"
)

// testEnvs gives each Postman key its own client on the emulator, as app.Backend does, without route buckets
// so tests do not wait out 10-second windows.
type testEnvs struct {
	url string
	mu  sync.Mutex
	m   map[string]*tools.Env
}

func (e *testEnvs) Env(key string) (*tools.Env, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if env, ok := e.m[key]; ok {
		return env, nil
	}
	c, err := api.New(api.Config{APIKey: key, BaseURL: e.url, Gate: ratelimit.New(nil, ratelimit.Options{})})
	if err != nil {
		return nil, err
	}
	env := &tools.Env{Client: c, Budget: c.RateBudget, Runs: tools.NewRunLog(8)}
	e.m[key] = env
	return env, nil
}

type rig struct {
	emu   *emulator.Emulator
	fake  *slackfake.Server
	store *store.Memory
	d     *Dispatcher
	http  *httptest.Server
	api   *slack.Client
}

type rigOpts struct {
	emu        emulator.Options
	teamKey    string
	writers    []string
	withVault  bool
	jobTimeout time.Duration
	tweak      func(*Config)
}

func newRig(t *testing.T, o rigOpts) *rig {
	t.Helper()
	if o.emu.RoutePerWindow == 0 {
		o.emu.RoutePerWindow = 10_000
	}
	emu := emulator.New(o.emu)
	emuSrv := httptest.NewServer(emu)
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(func() { fake.Close(); emuSrv.Close(); _ = emu.Close() })
	apiClient := slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken(fake.AppToken()))
	st := store.NewMemory()
	cfg := Config{Envs: &testEnvs{url: emuSrv.URL, m: map[string]*tools.Env{}}, TeamKey: o.teamKey, Writers: o.writers,
		Store: st, Responder: NewSlackResponder(apiClient, nil), JobTimeout: o.jobTimeout}
	if o.tweak != nil {
		o.tweak(&cfg)
	}
	if o.withVault {
		v, err := vault.New([]byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Vault = v
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &HTTPHandler{Dispatcher: d, SigningSecret: fake.SigningSecret(), Seen: st.SeenOnce}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); d.Close(context.Background()) })
	return &rig{emu: emu, fake: fake, store: st, d: d, http: srv, api: apiClient}
}

// command delivers `/postman text` from user over HTTP, as Slack does, and returns the delivery.
func (r *rig) command(t *testing.T, user, text string) slackfake.Delivery {
	t.Helper()
	form, err := r.fake.SlashCommandForm(slackfake.SlashCommand{Text: text, ChannelID: slackfake.ChannelGeneral, UserID: user})
	if err != nil {
		t.Fatal(err)
	}
	del, err := r.fake.Deliver(context.Background(), r.http.URL+"/slack/commands", slackfake.DeliverSlashCommand, form)
	if err != nil {
		t.Fatal(err)
	}
	if del.Status != 200 || del.TimedOut || del.ResponseError != "" {
		t.Fatalf("/postman %s: status %d timedOut %v error %q body %s", text, del.Status, del.TimedOut, del.ResponseError, del.Body)
	}
	return del
}

// answers waits for the bot to finish and returns what user sees in #general, oldest first.
func (r *rig) answers(t *testing.T, user string) []slackfake.Ephemeral {
	t.Helper()
	r.d.Idle()
	return r.fake.Ephemerals(slackfake.ChannelGeneral, user)
}

func (r *rig) lastAnswer(t *testing.T, user string) slackfake.Ephemeral {
	t.Helper()
	all := r.answers(t, user)
	if len(all) == 0 {
		t.Fatalf("no answer shown to %s", user)
	}
	return all[len(all)-1]
}

// click presses the button whose label contains label in the message e.
func (r *rig) click(t *testing.T, user string, e slackfake.Ephemeral, label string) slackfake.Delivery {
	t.Helper()
	actionID := findAction(t, e.Blocks, label)
	payload, err := r.fake.BlockActionPayload(slackfake.Click{Channel: e.Channel, MessageTS: e.TS, User: user, ActionID: actionID})
	if err != nil {
		t.Fatal(err)
	}
	del, err := r.fake.Deliver(context.Background(), r.http.URL+"/slack/interactions", slackfake.DeliverInteraction, payload)
	if err != nil {
		t.Fatal(err)
	}
	if del.Status != 200 {
		t.Fatalf("click %q: status %d %s", label, del.Status, del.Body)
	}
	return del
}

func findAction(t *testing.T, raw json.RawMessage, label string) string {
	t.Helper()
	id, ok := slackfake.ButtonActionID(raw, label)
	if !ok {
		t.Fatalf("no button %q in %s", label, raw)
	}
	return id
}

func assertNoSecret(t *testing.T, where string, s string) {
	t.Helper()
	for _, secret := range emulator.DemoSecretValues() {
		if secret != "" && strings.Contains(s, secret) {
			t.Fatalf("%s shows secret %q", where, secret)
		}
	}
	if strings.Contains(s, emulator.DemoKey) {
		t.Fatalf("%s shows the API key", where)
	}
}
