package slackbot

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/slackfake"
)

// TestSocketModeReconnectsAfterDrop: the fake drops the socket and then refuses two dials; the bot logs the loss
// and each failed attempt, backs off, reconnects, and answers commands again.
func TestSocketModeReconnectsAfterDrop(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey})
	logs := &syncBuffer{}
	sm := &SocketMode{Client: socketmode.New(r.api), Dispatcher: r.d, Responder: r.d.cfg.Responder, Seen: r.store.SeenOnce,
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
		BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- sm.Run(ctx) }()
	if err := r.fake.WaitSocketConnected(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitReady(t, sm, true)
	r.fake.RefuseSocketDials(2)
	r.fake.DropSocketConnections()
	waitReady(t, sm, false)
	if err := r.fake.WaitSocketConnected(ctx, 2); err != nil {
		t.Fatalf("no reconnect: %v\nlogs:\n%s", err, logs)
	}
	waitReady(t, sm, true)
	env, err := r.fake.PushSlashCommand(ctx, slackfake.SlashCommand{Text: "help", ChannelID: slackfake.ChannelGeneral, UserID: alice})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.fake.WaitAck(ctx, env.ID); err != nil {
		t.Fatalf("no ack after reconnecting: %v", err)
	}
	select {
	case err := <-runErr:
		t.Fatalf("Run ended on a transient failure: %v", err)
	default:
	}
	if n := r.fake.SocketDialsRefused(); n != 2 {
		t.Fatalf("%d dials refused, want 2", n)
	}
	out := logs.String()
	for _, want := range []string{"Socket Mode connection lost; reconnecting", "Socket Mode connected again"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "Socket Mode connect failed; retrying"); n != 2 {
		t.Errorf("%d retries logged, want 2:\n%s", n, out)
	}
	if strings.Contains(out, r.fake.AppToken()) || strings.Contains(out, "ticket=") {
		t.Errorf("logs show the app token or a connection ticket:\n%s", out)
	}
	cancel()
	if err := <-runErr; !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run after cancel: %v", err)
	}
}

// TestSocketModeFailsLoudOnBadAppToken: a refused app token ends Run at once with an error naming SLACK_APP_TOKEN,
// whichever way Slack refuses it.
func TestSocketModeFailsLoudOnBadAppToken(t *testing.T) {
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(fake.Close)
	tests := []struct {
		name, appToken, code string
	}{
		{"unknown app token", "xapp-1-A0FAKEAPP01-000000000001-deadbeefdeadbeefdeadbeef", "invalid_auth"},
		{"bot token given as app token", fake.BotToken(), "not_allowed_token_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken(tc.appToken))
			sm := &SocketMode{Client: socketmode.New(api), BackoffMin: time.Millisecond, BackoffMax: time.Millisecond}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := sm.Run(ctx)
			var te *TokenError
			if !errors.As(err, &te) || te.Token != "SLACK_APP_TOKEN" || te.Code != tc.code {
				t.Fatalf("Run: %v, want a SLACK_APP_TOKEN %s error", err, tc.code)
			}
			if !strings.Contains(err.Error(), "SLACK_APP_TOKEN") || strings.Contains(err.Error(), tc.appToken) {
				t.Fatalf("message %q should name the variable, not show the token", err)
			}
		})
	}
}

func TestCheckBotToken(t *testing.T) {
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(fake.Close)
	tests := []struct {
		name, token, code string
	}{
		{"good", fake.BotToken(), ""},
		{"unknown", "xoxb-000000000001-000000000001-wrongwrongwrong", "invalid_auth"},
		{"app token as bot token", fake.AppToken(), "not_allowed_token_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckBotToken(t.Context(), slack.New(tc.token, slack.OptionAPIURL(fake.APIURL())))
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var te *TokenError
			if !errors.As(err, &te) || te.Token != "SLACK_BOT_TOKEN" || te.Code != tc.code {
				t.Fatalf("CheckBotToken: %v, want a SLACK_BOT_TOKEN %s error", err, tc.code)
			}
		})
	}
	// An unreachable Slack is not blamed on the token.
	fake.Close()
	_, err := CheckBotToken(t.Context(), slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL())))
	var te *TokenError
	if err == nil || errors.As(err, &te) || !strings.Contains(err.Error(), "could not check SLACK_BOT_TOKEN") {
		t.Fatalf("unreachable Slack: %v", err)
	}
}

// waitReady waits (up to 10 s of polling; the socket's state changes on slack-go's goroutines) until sm's
// readiness is want.
func waitReady(t *testing.T, sm *SocketMode, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := sm.Ready(context.Background())
		if (err == nil) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Socket Mode readiness: %v, want ready=%v", err, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
