package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/pmops/pmops/internal/clock"
)

// maxAckBytes keeps an ack payload under Socket Mode's limit (Slack silently drops 20 KB and more); a larger
// answer goes through the responder instead.
const maxAckBytes = 19_000

// SocketMode feeds Socket Mode envelopes to the dispatcher, acknowledging each envelope exactly once and
// processing a redelivered envelope (same envelope_id) only once. It fails loud: a connect error that retrying
// cannot fix (a wrong, revoked or mistyped SLACK_APP_TOKEN) ends Run with a *TokenError; anything else (a dropped
// socket, Slack's refresh, a failed dial, a 5xx) is logged and retried with capped, jittered backoff.
type SocketMode struct {
	Client     *socketmode.Client
	Dispatcher *Dispatcher
	Responder  Responder
	Seen       func(ctx context.Context, key string, ttl time.Duration, now time.Time) (bool, error)
	Logger     *slog.Logger
	// BackoffMin and BackoffMax bound the wait before reconnecting after a failed connect: BackoffMin (default
	// 1 s) doubling per failure up to BackoffMax (default 30 s), each wait jittered down by up to half.
	BackoffMin, BackoffMax time.Duration

	connected atomic.Bool
}

// Ready reports whether the socket is connected now, for /readyz: a bot whose socket is down cannot take commands.
func (s *SocketMode) Ready(context.Context) error {
	if !s.connected.Load() {
		return errors.New("Socket Mode is not connected (connecting or reconnecting)")
	}
	return nil
}

// Run reads events until ctx ends or the app token is refused. Within one connect attempt slack-go does the
// work (apps.connections.open, hello, refresh on disconnect); Run owns the retry policy across failed attempts.
func (s *SocketMode) Run(ctx context.Context) error {
	log := s.logger()
	failures := 0
	for {
		retry, err := s.runOnce(ctx, log, &failures)
		if !retry {
			return err
		}
		failures++
		wait := s.backoff(failures)
		if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok && rl.RetryAfter > wait {
			wait = rl.RetryAfter // apps.connections.open answered 429: Slack says when
		}
		log.Warn("Socket Mode connect failed; retrying", "attempt", failures, "in", wait.Round(time.Millisecond).String(), "err", err)
		if err := clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// runOnce runs the client until it fails to connect. retry says the failure is transient.
func (s *SocketMode) runOnce(ctx context.Context, log *slog.Logger, failures *int) (retry bool, err error) {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Client.RunContext(rctx) }()
	stop := func() {
		cancel()
		<-done
	}
	connected := false
	defer s.connected.Store(false)
	for {
		select {
		case <-ctx.Done():
			stop()
			return false, ctx.Err()
		case err := <-done:
			cancel()
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if te := appTokenError(err); te != nil {
				return false, te
			}
			return true, err
		case evt, ok := <-s.Client.Events:
			if !ok {
				stop()
				return false, nil
			}
			switch evt.Type {
			case socketmode.EventTypeConnecting:
				s.connected.Store(false)
				if connected {
					connected = false
					log.Warn("Socket Mode connection lost; reconnecting")
				}
			case socketmode.EventTypeConnected:
				connected = true
				s.connected.Store(true)
				if *failures > 0 {
					log.Info("Socket Mode connected again", "after_failures", *failures)
				} else {
					log.Info("Socket Mode connected")
				}
				*failures = 0
			case socketmode.EventTypeInvalidAuth:
				// RunContext returns the cause (an HTTP 404) next; it is classified there.
			case socketmode.EventTypeConnectionError:
				var cause error = errors.New("connection error")
				if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok && ce.ErrorObj != nil {
					cause = ce.ErrorObj
				}
				// slack-go would retry on its own schedule; Run keeps its own (capped) and stops on a bad token.
				stop()
				if te := appTokenError(cause); te != nil {
					return false, te
				}
				return true, cause
			default:
				s.handle(ctx, evt)
			}
		}
	}
}

func (s *SocketMode) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// backoff is the wait before reconnect attempt n (n >= 1): exponential, capped, jittered down by up to half so
// that many bots that lost Slack together do not come back in lockstep.
func (s *SocketMode) backoff(n int) time.Duration {
	lo, hi := s.BackoffMin, s.BackoffMax
	if lo <= 0 {
		lo = time.Second
	}
	if hi <= 0 {
		hi = 30 * time.Second
	}
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// TokenError is Slack refusing one of the bot's tokens: no retry can fix it; the operator must.
type TokenError struct {
	Token string // the environment variable that holds it: SLACK_APP_TOKEN or SLACK_BOT_TOKEN
	Code  string // Slack's error code
	hint  string
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("Slack refused %s (%s): %s", e.Token, e.Code, e.hint)
}

var appTokenHints = map[string]string{
	"invalid_auth":           "the app-level token is wrong; create one under your app's Basic Information → App-Level Tokens (xapp-…, scope connections:write)",
	"not_authed":             "no app-level token reached Slack; set it to your app's xapp-… token",
	"not_allowed_token_type": "it is not an app-level token; Socket Mode needs the xapp-… token from Basic Information → App-Level Tokens, not the bot's xoxb-… token",
	"missing_scope":          "the app-level token lacks the connections:write scope; add it under Basic Information → App-Level Tokens",
	"token_revoked":          "the app-level token was revoked; create a new one under Basic Information → App-Level Tokens",
	"token_expired":          "the app-level token expired; create a new one under Basic Information → App-Level Tokens",
	"account_inactive":       "the app or its workspace is inactive; reinstall the app",
	"no_permission":          "the token may not open Socket Mode connections; check that Socket Mode is enabled for the app",
	"http_404":               "apps.connections.open was not found; check that Socket Mode is enabled for the app and -slack-api-url is right",
}

var botTokenHints = map[string]string{
	"invalid_auth":           "the bot token is wrong; copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page",
	"not_authed":             "no bot token reached Slack; set it to your app's xoxb-… token",
	"not_allowed_token_type": "it is not a bot token; use the Bot User OAuth Token (xoxb-…)",
	"token_revoked":          "the bot token was revoked (the app was uninstalled?); reinstall the app and copy the new xoxb-… token",
	"token_expired":          "the bot token expired; reinstall the app or refresh the token",
	"account_inactive":       "the bot user or its workspace is inactive; reinstall the app",
}

// appTokenError says whether err from connecting is a refused SLACK_APP_TOKEN.
func appTokenError(err error) *TokenError {
	return tokenError(err, "SLACK_APP_TOKEN", appTokenHints)
}

func tokenError(err error, name string, hints map[string]string) *TokenError {
	if err == nil {
		return nil
	}
	code := ""
	var se slack.SlackErrorResponse
	var sc slack.StatusCodeError
	switch {
	case errors.As(err, &se):
		code = se.Err
	case errors.As(err, &sc) && sc.Code == http.StatusNotFound:
		code = "http_404"
	case errors.As(err, &sc) && (sc.Code == http.StatusUnauthorized || sc.Code == http.StatusForbidden):
		code = "invalid_auth"
	}
	if hint, ok := hints[code]; ok {
		return &TokenError{Token: name, Code: code, hint: hint}
	}
	return nil
}

// CheckBotToken asks Slack (auth.test) whether the bot token works, so a wrong SLACK_BOT_TOKEN stops the bot at
// startup instead of failing every answer later. A refused token is a *TokenError; an unreachable Slack is a
// plain error.
func CheckBotToken(ctx context.Context, api *slack.Client) (*slack.AuthTestResponse, error) {
	resp, err := api.AuthTestContext(ctx)
	if err == nil {
		return resp, nil
	}
	if te := tokenError(err, "SLACK_BOT_TOKEN", botTokenHints); te != nil {
		return nil, te
	}
	return nil, fmt.Errorf("could not check SLACK_BOT_TOKEN with Slack (auth.test): %w; check the network and -slack-api-url", err)
}

func (s *SocketMode) handle(ctx context.Context, evt socketmode.Event) {
	log := s.logger()
	var req Request
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			s.ack(ctx, evt, nil)
			return
		}
		req = Request{Kind: KindCommand, EnterpriseID: cmd.EnterpriseID, TeamID: cmd.TeamID, UserID: cmd.UserID,
			UserName: cmd.UserName, ChannelID: cmd.ChannelID, Text: cmd.Text, ResponseURL: cmd.ResponseURL, TriggerID: cmd.TriggerID}
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			s.ack(ctx, evt, nil)
			return
		}
		r, ok := RequestFromInteraction(cb)
		if !ok {
			s.ack(ctx, evt, nil)
			return
		}
		req = r
	case socketmode.EventTypeEventsAPI:
		s.ack(ctx, evt, nil)
		return
	default:
		return
	}
	if evt.Request == nil {
		return
	}
	if s.Seen != nil {
		first, err := s.Seen(ctx, "sm:"+evt.Request.EnvelopeID, 30*time.Minute, time.Now())
		if err == nil && !first {
			// Slack redelivers an envelope it thinks was not acknowledged: ack again, do not act twice.
			s.ack(ctx, evt, nil)
			return
		}
	}
	ack := s.Dispatcher.Handle(ctx, req)
	body := AckBody(ack)
	if body != nil {
		if b, err := json.Marshal(body); err == nil && len(b) > maxAckBytes && ack.Message != nil {
			s.ack(ctx, evt, nil)
			go func() {
				rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := s.Responder.Reply(rctx, req, *ack.Message, ReplyMode{InChannel: ack.InChannel}); err != nil {
					log.Warn("deliver large answer", "err", err)
				}
			}()
			return
		}
	}
	s.ack(ctx, evt, body)
	if ack.Sent != nil {
		ack.Sent()
	}
}

func (s *SocketMode) ack(ctx context.Context, evt socketmode.Event, payload any) {
	if evt.Request == nil {
		return
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if payload == nil {
		_ = s.Client.AckCtx(actx, evt.Request.EnvelopeID, nil)
		return
	}
	_ = s.Client.AckCtx(actx, evt.Request.EnvelopeID, payload)
}
