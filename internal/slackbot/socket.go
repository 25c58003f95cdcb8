package slackbot

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// maxAckBytes keeps an ack payload under Socket Mode's limit (Slack silently drops 20 KB and more); a larger
// answer goes through the responder instead.
const maxAckBytes = 19_000

// SocketMode feeds Socket Mode envelopes to the dispatcher, acknowledging each envelope exactly once and
// processing a redelivered envelope (same envelope_id) only once.
type SocketMode struct {
	Client     *socketmode.Client
	Dispatcher *Dispatcher
	Responder  Responder
	Seen       func(ctx context.Context, key string, ttl time.Duration, now time.Time) (bool, error)
	Logger     *slog.Logger
}

// Run reads events until ctx ends. Connection management (hello, refresh, reconnect) is slack-go's.
func (s *SocketMode) Run(ctx context.Context) error {
	go func() { _ = s.Client.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case evt, ok := <-s.Client.Events:
			if !ok {
				return nil
			}
			s.handle(ctx, evt)
		}
	}
}

func (s *SocketMode) handle(ctx context.Context, evt socketmode.Event) {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
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
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		log.Warn("socket mode connection problem", "type", evt.Type)
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
