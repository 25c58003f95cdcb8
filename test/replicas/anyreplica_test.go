package replicas

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/app"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/redistest"
	"github.com/pmops/pmops/internal/slackbot"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/vault"
)

// botReplica is one Slack bot replica (in this process): its own gate, dispatcher and Redis connection, wired
// through internal/app like cmd/slackbot, behind its own request URL.
type botReplica struct {
	d   *slackbot.Dispatcher
	srv *httptest.Server
}

// TestAnyReplicaAnswersTheSame: a confirmation asked on one replica is confirmed on another; two clicks on the
// same button, delivered to different replicas at once, write once, and the loser is told the button was used.
func TestAnyReplicaAnswersTheSame(t *testing.T) {
	redis := redistest.Start(t)
	emu := emulator.New(emulator.Options{RoutePerWindow: 10_000})
	emuSrv := httptest.NewServer(emu)
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(func() { fake.Close(); emuSrv.Close(); _ = emu.Close() })
	// One secret key for the installation, as every replica must share PMOPS_SECRET_KEY.
	v, err := vault.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	alice := slackfake.UserAlice
	var replicas []botReplica
	for range 2 {
		ops, err := app.OpenOps(app.OpsConfig{Store: redis.URL(0) + "?namespace=bots", Replicas: 2}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := app.Open(app.Config{APIKey: emulator.DemoKey, BaseURL: emuSrv.URL, Ops: ops})
		if err != nil {
			t.Fatal(err)
		}
		api := slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL()), slack.OptionHTTPClient(ops.SlackHTTPClient()))
		d, err := slackbot.New(slackbot.Config{Envs: b, TeamKey: emulator.DemoKey, Writers: []string{alice}, Store: ops.Redis,
			Vault: v, Responder: slackbot.NewSlackResponder(api, nil)})
		if err != nil {
			t.Fatal(err)
		}
		h := &slackbot.HTTPHandler{Dispatcher: d, SigningSecret: fake.SigningSecret(), Seen: ops.Redis.SeenOnce}
		srv := httptest.NewServer(ops.Handler(h.Handler()))
		t.Cleanup(func() { srv.Close(); d.Close(context.Background()); b.Close(); ops.Close() })
		replicas = append(replicas, botReplica{d: d, srv: srv})
	}
	idle := func() {
		for _, r := range replicas {
			r.d.Idle()
		}
	}
	form, err := fake.SlashCommandForm(slackfake.SlashCommand{Text: "monitor resume Legacy billing sync", ChannelID: slackfake.ChannelGeneral, UserID: alice})
	if err != nil {
		t.Fatal(err)
	}
	if del, err := fake.Deliver(context.Background(), replicas[0].srv.URL+"/slack/commands", slackfake.DeliverSlashCommand, form); err != nil || del.Status != 200 {
		t.Fatalf("command on replica 0: %+v %v", del, err)
	}
	idle()
	answers := fake.Ephemerals(slackfake.ChannelGeneral, alice)
	if len(answers) == 0 {
		t.Fatal("no confirmation")
	}
	confirm := answers[len(answers)-1]
	actionID := findButton(t, confirm.Blocks, "Confirm")
	var payloads []map[string]any
	for range 2 {
		p, err := fake.BlockActionPayload(slackfake.Click{Channel: confirm.Channel, MessageTS: confirm.TS, User: alice, ActionID: actionID})
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p)
	}
	before := emu.Requests(emulator.DemoKey)
	var wg sync.WaitGroup
	for i, p := range payloads {
		// Replica 1 gets the first click: it never saw the command, only the shared store.
		target := replicas[(i+1)%2].srv.URL + "/slack/interactions"
		wg.Go(func() {
			if del, err := fake.Deliver(context.Background(), target, slackfake.DeliverInteraction, p); err != nil || del.Status != 200 {
				t.Errorf("click: %+v %v", del, err)
			}
		})
	}
	wg.Wait()
	idle()
	if writes := emu.Requests(emulator.DemoKey) - before; writes > 2 { // resolve by name (may be cached) + one write
		t.Errorf("two clicks on two replicas sent %d requests; the write ran twice", writes)
	}
	var done, used bool
	for _, e := range fake.Ephemerals(slackfake.ChannelGeneral, alice) {
		done = done || strings.Contains(strings.ToLower(e.Text), "resumed") || strings.Contains(string(e.Blocks), "resumed")
		used = used || strings.Contains(e.Text, "already used")
	}
	if !used {
		t.Error("the losing click was not told the button was used")
	}
	if !done {
		t.Error("no replica reported the resumed monitor")
	}
}

func findButton(t *testing.T, raw json.RawMessage, label string) string {
	t.Helper()
	id, ok := slackfake.ButtonActionID(raw, label)
	if !ok {
		t.Fatalf("no button %q in %s", label, raw)
	}
	return id
}
