package slackfake

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// smClient runs a real slack-go socketmode client against the fake and collects what it sees.
type smClient struct {
	c      *socketmode.Client
	mu     sync.Mutex
	events []socketmode.Event
	seen   chan socketmode.Event
}

func startSocketClient(t *testing.T, s *Server, ctx context.Context, onEvent func(*socketmode.Client, socketmode.Event)) *smClient {
	t.Helper()
	sc := &smClient{c: socketmode.New(client(s)), seen: make(chan socketmode.Event, 100)}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = sc.c.RunContext(ctx) })
	wg.Go(func() {
		for {
			select {
			case evt := <-sc.c.Events:
				sc.mu.Lock()
				sc.events = append(sc.events, evt)
				sc.mu.Unlock()
				if onEvent != nil {
					onEvent(sc.c, evt)
				}
				select {
				case sc.seen <- evt:
				default:
				}
			case <-ctx.Done():
				return
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return sc
}

// next waits for the next event of type typ.
func (sc *smClient) next(t *testing.T, ctx context.Context, typ socketmode.EventType) socketmode.Event {
	t.Helper()
	for {
		select {
		case evt := <-sc.seen:
			if evt.Type == typ {
				return evt
			}
		case <-ctx.Done():
			t.Fatalf("no %s event: %v", typ, ctx.Err())
		}
	}
}

func TestSocketModeSlashCommandRoundTrip(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	sc := startSocketClient(t, s, ctx, func(c *socketmode.Client, evt socketmode.Event) {
		if evt.Type != socketmode.EventTypeSlashCommand {
			return
		}
		cmd := evt.Data.(slack.SlashCommand)
		if err := c.AckCtx(ctx, evt.Request.EnvelopeID, map[string]any{"response_type": "ephemeral", "text": "working on " + cmd.Text}); err != nil {
			t.Errorf("ack: %v", err)
		}
		if _, _, err := c.PostMessageContext(ctx, cmd.ChannelID, slack.MsgOptionText("result for "+cmd.UserName, false)); err != nil {
			t.Errorf("post from handler: %v", err)
		}
	})
	hello := sc.next(t, ctx, socketmode.EventTypeHello)
	if hello.Request.NumConnections != 1 || hello.Request.ConnectionInfo.AppID != "A0FAKEAPP01" || hello.Request.DebugInfo.Host == "" {
		t.Errorf("hello = %+v", hello.Request)
	}
	if err := s.WaitSocketConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	env, err := s.PushSlashCommand(ctx, SlashCommand{ChannelID: ChannelGeneral, UserID: UserAlice, Text: "monitors"})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := s.WaitAck(ctx, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ack.RetryAttempt != 0 || ack.Latency <= 0 || ack.Duplicate || ack.ResponseError != "" || !strings.Contains(string(ack.Payload), "working on monitors") {
		t.Errorf("ack = %+v", ack)
	}
	if eph := s.Ephemerals(ChannelGeneral, UserAlice); len(eph) != 1 || eph[0].Text != "working on monitors" || eph[0].Source != "socket_ack" {
		t.Errorf("ack payload not shown as the immediate response: %+v", eph)
	}
	if _, err := s.WaitMessages(ctx, ChannelGeneral, 1); err != nil {
		t.Fatal(err)
	}
	got := sc.next(t, ctx, socketmode.EventTypeSlashCommand)
	cmd := got.Data.(slack.SlashCommand)
	if cmd.Command != "/postman" || cmd.Text != "monitors" || cmd.ChannelID != ChannelGeneral || cmd.TriggerID == "" || !got.Request.AcceptsResponsePayload {
		t.Errorf("slash command as parsed by slack-go = %+v / %+v", cmd, got.Request)
	}
	opens := s.CallsTo("apps.connections.open")
	if len(opens) != 1 || opens[0].TokenKind != "app" {
		t.Errorf("apps.connections.open calls = %+v", opens)
	}
	if envs := s.Envelopes(); len(envs) != 1 || !envs[0].Acked || envs[0].Deliveries != 1 {
		t.Errorf("envelopes = %+v", envs)
	}
}

// slack-go's router fires both a level-1 Handle(EventTypeSlashCommand) and a level-2
// HandleSlashCommand("/postman") for one event; acking in both is a double ack the fake must expose.
func TestSocketModeDoubleAckDetected(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	c := socketmode.New(client(s))
	h := socketmode.NewSocketmodeHandler(c)
	ackIt := func(evt *socketmode.Event, c *socketmode.Client) {
		_ = c.AckCtx(ctx, evt.Request.EnvelopeID, nil)
	}
	h.Handle(socketmode.EventTypeSlashCommand, ackIt)
	h.HandleSlashCommand("/postman", ackIt)
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.RunEventLoopContext(runCtx) })
	defer func() { cancel(); wg.Wait() }()

	if err := s.WaitSocketConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	env, err := s.PushSlashCommand(ctx, SlashCommand{ChannelID: ChannelGeneral, UserID: UserBob, Text: "help"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.waitFor(ctx, func() bool { return len(s.sock.acks) >= 2 }); err != nil {
		t.Fatalf("acks: %v", err)
	}
	dups := s.DoubleAcks()
	if len(dups) != 1 || dups[0].EnvelopeID != env.ID {
		t.Errorf("double acks = %+v (all acks %+v)", dups, s.Acks())
	}
}

func TestSocketModeRetriesAndTimeouts(t *testing.T) {
	s, clk := newFake(t, Options{})
	ctx := testCtx(t)
	var mu sync.Mutex
	ackEvents := false
	sc := startSocketClient(t, s, ctx, func(c *socketmode.Client, evt socketmode.Event) {
		mu.Lock()
		defer mu.Unlock()
		if evt.Type == socketmode.EventTypeEventsAPI && ackEvents {
			_ = c.AckCtx(ctx, evt.Request.EnvelopeID, nil)
		}
	})
	if err := s.WaitSocketConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	ev, err := s.PushEvent(ctx, map[string]any{"type": "app_mention", "user": UserAlice, "text": "<@U0FAKEBOT1> hi", "channel": ChannelGeneral, "ts": "1.000001"})
	if err != nil {
		t.Fatal(err)
	}
	slash, err := s.PushSlashCommand(ctx, SlashCommand{ChannelID: ChannelGeneral, UserID: UserAlice})
	if err != nil {
		t.Fatal(err)
	}
	first := sc.next(t, ctx, socketmode.EventTypeEventsAPI)
	if first.Request.RetryAttempt != 0 {
		t.Errorf("first delivery retry_attempt = %d", first.Request.RetryAttempt)
	}
	if r, to := s.SweepAcks(); r != 0 || to != 0 {
		t.Errorf("sweep before the timeout = %d redelivered, %d timed out", r, to)
	}

	mu.Lock()
	ackEvents = true
	mu.Unlock()
	clk.Advance(AckDeadline)
	if r, to := s.SweepAcks(); r != 1 || to != 1 {
		t.Fatalf("sweep after 3 s = %d redelivered, %d timed out; want 1 event retried, 1 slash command timed out", r, to)
	}
	retry := sc.next(t, ctx, socketmode.EventTypeEventsAPI)
	if retry.Request.EnvelopeID != ev.ID || retry.Request.RetryAttempt != 1 || retry.Request.RetryReason != "timeout" {
		t.Errorf("retry = %+v", retry.Request)
	}
	ack, err := s.WaitAck(ctx, ev.ID)
	if err != nil || ack.RetryAttempt != 1 {
		t.Fatalf("ack of the retry = %+v, %v", ack, err)
	}
	for _, e := range s.Envelopes() {
		switch e.ID {
		case ev.ID:
			if !e.Acked || e.Deliveries != 2 || e.TimedOut {
				t.Errorf("event envelope = %+v", e)
			}
		case slash.ID:
			if e.Acked || !e.TimedOut {
				t.Errorf("slash envelope = %+v", e)
			}
		}
	}
	if err := s.Redeliver(ev.ID, "timeout"); err == nil {
		t.Error("redelivered an acked envelope")
	}
}

func TestSocketModeDisconnectAndReconnect(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	sc := startSocketClient(t, s, ctx, nil)
	if err := s.WaitSocketConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := s.Disconnect("refresh_requested"); n != 1 {
		t.Fatalf("disconnect sent to %d connections", n)
	}
	if err := s.WaitSocketConnected(ctx, 2); err != nil {
		t.Fatal(err)
	}
	s.DropSocketConnections()
	if err := s.WaitSocketConnected(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if n := len(s.CallsTo("apps.connections.open")); n != 3 {
		t.Errorf("apps.connections.open called %d times, want 3", n)
	}
	if err := s.waitFor(ctx, func() bool { return len(s.sock.conns) == 1 }); err != nil {
		t.Errorf("stale connections linger: %v", err)
	}
	// The client still receives envelopes after reconnecting.
	if _, err := s.PushEvent(ctx, map[string]any{"type": "app_mention", "text": "hi"}); err != nil {
		t.Fatal(err)
	}
	sc.next(t, ctx, socketmode.EventTypeEventsAPI)
}

func TestSocketModeRawProtocol(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	if _, _, err := client(s).StartSocketModeContext(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := slack.New(s.BotToken(), slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(s.BotToken())).StartSocketModeContext(ctx); slackErr(err) != "not_allowed_token_type" {
		t.Errorf("bot token on apps.connections.open: %v", err)
	}
	_, u, err := client(s).StartSocketModeContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if _, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil); err == nil {
		t.Error("a ticket was accepted twice")
	}
	var hello map[string]any
	if err := ws.ReadJSON(&hello); err != nil || hello["type"] != "hello" || hello["num_connections"] != float64(1) {
		t.Fatalf("hello = %v, %v", hello, err)
	}
	env, err := s.PushInteractive(ctx, map[string]any{"type": "block_actions"})
	if err != nil {
		t.Fatal(err)
	}
	var frame map[string]any
	if err := ws.ReadJSON(&frame); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"envelope_id", "type", "payload", "accepts_response_payload", "retry_attempt", "retry_reason"} {
		if _, ok := frame[k]; !ok {
			t.Errorf("envelope frame lacks %q: %v", k, frame)
		}
	}
	if frame["accepts_response_payload"] != false || frame["type"] != "interactive" {
		t.Errorf("block_actions envelope = %v", frame)
	}

	big, _ := json.Marshal(map[string]any{"envelope_id": env.ID, "payload": map[string]string{"text": strings.Repeat("x", MaxSocketResponseBytes)}})
	if err := ws.WriteMessage(websocket.TextMessage, big); err != nil {
		t.Fatal(err)
	}
	_ = ws.WriteJSON(map[string]any{"envelope_id": "no-such-envelope"})
	_ = ws.WriteJSON(map[string]any{"envelope_id": env.ID})
	if _, err := s.WaitAck(ctx, env.ID); err != nil {
		t.Fatal(err)
	}
	acks := s.Acks()
	if len(acks) != 3 || !acks[0].Dropped || acks[0].Size < MaxSocketResponseBytes || !acks[1].Unknown || acks[2].Dropped {
		t.Errorf("acks = %+v", acks)
	}
}

func TestPushWaitsForAConnection(t *testing.T) {
	s, _ := newFake(t, Options{})
	short, cancel := context.WithTimeout(testCtx(t), 20*time.Millisecond)
	defer cancel()
	if _, err := s.PushEvent(short, map[string]any{"type": "app_mention"}); err == nil {
		t.Error("pushed with nobody connected")
	}
}

func TestRefuseSocketDials(t *testing.T) {
	s, _ := newFake(t, Options{})
	ctx := testCtx(t)
	s.RefuseSocketDials(2)
	sc := startSocketClient(t, s, ctx, nil)
	// slack-go retries a failed dial on its own; the third ticket connects.
	sc.next(t, ctx, socketmode.EventTypeConnectionError)
	if err := s.WaitSocketConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := s.SocketDialsRefused(); n != 2 {
		t.Errorf("refused %d dials, want 2", n)
	}
	if n := len(s.CallsTo("apps.connections.open")); n != 3 {
		t.Errorf("apps.connections.open called %d times, want 3", n)
	}
}
