package slackbot

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"go.yaml.in/yaml/v3"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestSocketModeAcksEachEnvelopeOnce(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sm := &SocketMode{Client: socketmode.New(r.api), Dispatcher: r.d, Responder: r.d.cfg.Responder, Seen: r.store.SeenOnce}
	go func() { _ = sm.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := r.fake.WaitSocketConnected(wctx, 1); err != nil {
		t.Fatal(err)
	}
	env, err := r.fake.PushSlashCommand(wctx, slackfake.SlashCommand{Text: "help", ChannelID: slackfake.ChannelGeneral, UserID: alice})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := r.fake.WaitAck(wctx, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ack.ResponseError != "" || !bytes.Contains(ack.Payload, []byte("/postman monitors")) {
		t.Fatalf("help ack: %+v %s", ack, ack.Payload)
	}
	// A command that needs Postman: acked at once, answered through response_url.
	env2, err := r.fake.PushSlashCommand(wctx, slackfake.SlashCommand{Text: "workspaces", ChannelID: slackfake.ChannelGeneral, UserID: alice})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.fake.WaitAck(wctx, env2.ID); err != nil {
		t.Fatal(err)
	}
	r.d.Idle()
	for _, id := range []string{env.ID, env2.ID} {
		if n := len(acksFor(r.fake, id)); n != 1 {
			t.Fatalf("envelope %s acked %d times, want exactly once", id, n)
		}
	}
	if d := r.fake.DoubleAcks(); len(d) != 0 {
		t.Fatalf("double acks: %+v", d)
	}
	if got := r.lastAnswer(t, alice); !strings.Contains(string(got.Blocks), "Payments Platform") {
		t.Fatalf("answer: %s", got.Blocks)
	}
}

func acksFor(f *slackfake.Server, id string) []slackfake.Ack {
	var out []slackfake.Ack
	for _, a := range f.Acks() {
		if a.EnvelopeID == id {
			out = append(out, a)
		}
	}
	return out
}

func TestResponderFallsBackWhenResponseURLIsSpent(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey})
	resp := r.d.cfg.Responder.(*SlackResponder)
	url := r.fake.NewResponseURL(slackfake.ChannelGeneral, alice)
	req := Request{ResponseURL: url, ChannelID: slackfake.ChannelGeneral, UserID: alice, TeamID: "T"}
	for i := range 7 {
		if err := resp.Reply(context.Background(), req, slackrender.Text("answer "+string(rune('A'+i))), ReplyMode{}); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	if uses := r.fake.ResponseURLUses(url); uses != 5 {
		t.Fatalf("response_url used %d times, want 5", uses)
	}
	if n := len(r.fake.CallsTo("chat.postEphemeral")); n != 2 {
		t.Fatalf("Web API fallback posts: %d, want 2", n)
	}
	// A channel the bot is not in: the error says what to do.
	req = Request{ChannelID: slackfake.ChannelRandom, UserID: alice}
	err := resp.Reply(context.Background(), req, slackrender.Text("x"), ReplyMode{})
	if err == nil || !strings.Contains(err.Error(), "/invite") {
		t.Fatalf("not_in_channel: %v", err)
	}
	// Slack rate limits are waited out and retried.
	r.fake.RateLimitNext("chat.postEphemeral", 1, time.Second)
	req = Request{ChannelID: slackfake.ChannelGeneral, UserID: alice}
	if err := resp.Reply(context.Background(), req, slackrender.Text("after 429"), ReplyMode{}); err != nil {
		t.Fatalf("after a 429: %v", err)
	}
}

func TestManifestParses(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "manifest.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var m slack.Manifest
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/postman" {
		t.Fatalf("slash commands: %+v", m.Features.SlashCommands)
	}
	if m.Settings.Interactivity == nil || !m.Settings.Interactivity.IsEnabled || !m.Settings.SocketModeEnabled {
		t.Fatalf("settings: %+v", m.Settings)
	}
	for _, scope := range []string{"commands", "chat:write"} {
		found := false
		for _, s := range m.OAuthConfig.Scopes.Bot {
			found = found || s == scope
		}
		if !found {
			t.Errorf("scope %s missing", scope)
		}
	}
}

func TestConsoleSession(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, writers: []string{ConsoleUser}})
	var out bytes.Buffer
	con := &Console{Out: &out}
	d, err := New(Config{Envs: r.d.cfg.Envs, TeamKey: emulator.DemoKey, Writers: []string{ConsoleUser}, Store: store.NewMemory(), Responder: con})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(context.Background())
	con.Dispatcher = d
	in := strings.NewReader("/postman env get staging\n/postman monitor Orders API nightly regression\n/postman nonsense\n")
	if err := con.Run(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	got := stableText(out.String())
	assertNoSecret(t, "console", got)
	path := filepath.Join("testdata", "console_session.txt")
	if *update {
		_ = os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden missing: run go test ./internal/slackbot -run TestConsoleSession -update")
	}
	if string(want) != got {
		t.Errorf("console output differs (-update to accept):\n%s", got)
	}
}

var _ = tools.KindNotFound

// TestSocketModeRedeliveryRunsOnce: Slack redelivers an envelope (same envelope_id, higher retry_attempt) when it
// thinks the ack was lost; the bot acks it again but must not run the command twice.
func TestSocketModeRedeliveryRunsOnce(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey})
	sm := &SocketMode{Client: socketmode.New(r.api), Dispatcher: r.d, Responder: r.d.cfg.Responder, Seen: r.store.SeenOnce}
	cmd := slack.SlashCommand{TeamID: "T1", UserID: alice, ChannelID: slackfake.ChannelGeneral, Command: "/postman", Text: "workspaces",
		ResponseURL: r.fake.NewResponseURL(slackfake.ChannelGeneral, alice)}
	for attempt := range 3 {
		evt := socketmode.Event{Type: socketmode.EventTypeSlashCommand, Data: cmd,
			Request: &socketmode.Request{EnvelopeID: "env-redelivered", RetryAttempt: attempt}}
		sm.handle(context.Background(), evt)
	}
	r.d.Idle()
	if n := r.emu.Requests(emulator.DemoKey); n != 1 {
		t.Fatalf("a redelivered envelope ran %d times, want once", n)
	}
}
