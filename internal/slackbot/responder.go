package slackbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/pmops/pmops/internal/slackrender"
)

// SlackResponder answers through response_url while it lasts (5 uses in 30 minutes per request) and through the
// Web API otherwise, paced per channel (~1 message a second, Slack's chat.postMessage rule), retrying 429s and
// 5xx a bounded number of times off the ack path.
type SlackResponder struct {
	API        *slack.Client
	HTTP       *http.Client
	Logger     *slog.Logger
	MaxRetries int
	// Now, when set, is the clock chat.update's budget is counted on (tests); nil is the real clock.
	Now func() time.Time

	mu       sync.Mutex
	uses     map[string]*urlUse
	channels map[string]*rate.Limiter
	updates  *rate.Limiter // chat.update, per workspace (channelmsg.go)
}

type urlUse struct {
	n     int
	first time.Time
}

// NewSlackResponder returns a responder over api.
func NewSlackResponder(api *slack.Client, logger *slog.Logger) *SlackResponder {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &SlackResponder{API: api, HTTP: &http.Client{Timeout: 10 * time.Second}, Logger: logger, MaxRetries: 3,
		uses: map[string]*urlUse{}, channels: map[string]*rate.Limiter{}}
}

// takeURL reserves one use of a response_url, or says it is spent.
func (s *SlackResponder) takeURL(url string) bool {
	if url == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for k, u := range s.uses { // forget URLs past their 30 minutes
		if now.Sub(u.first) > 30*time.Minute {
			delete(s.uses, k)
		}
	}
	u, ok := s.uses[url]
	if !ok {
		u = &urlUse{first: now}
		s.uses[url] = u
	}
	if u.n >= 5 || now.Sub(u.first) > 29*time.Minute {
		return false
	}
	u.n++
	return true
}

func (s *SlackResponder) limiter(channel string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.channels[channel]
	if !ok {
		l = rate.NewLimiter(rate.Every(time.Second), 3)
		s.channels[channel] = l
	}
	return l
}

// Reply implements Responder.
func (s *SlackResponder) Reply(ctx context.Context, req Request, msg slackrender.Message, mode ReplyMode) error {
	if s.takeURL(req.ResponseURL) {
		wm := &slack.WebhookMessage{Text: msg.Text, Blocks: &slack.Blocks{BlockSet: msg.Blocks},
			ResponseType: slack.ResponseTypeEphemeral, ReplaceOriginal: mode.ReplaceOriginal}
		if mode.InChannel {
			wm.ResponseType = slack.ResponseTypeInChannel
		}
		err := s.retry(ctx, func() error { return slack.PostWebhookCustomHTTPContext(ctx, req.ResponseURL, s.HTTP, wm) })
		if err == nil {
			return nil
		}
		s.Logger.Info("response_url failed; using the Web API", "err", err)
	}
	if req.ChannelID == "" {
		return errors.New("no response_url left and no channel to post to")
	}
	opts := []slack.MsgOption{slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...)}
	if err := s.limiter(req.ChannelID).Wait(ctx); err != nil {
		return err
	}
	var err error
	if mode.InChannel {
		err = s.retry(ctx, func() error {
			_, _, err := s.API.PostMessageContext(ctx, req.ChannelID, opts...)
			return err
		})
	} else {
		err = s.retry(ctx, func() error {
			_, err := s.API.PostEphemeralContext(ctx, req.ChannelID, req.UserID, opts...)
			return err
		})
	}
	return explainSlackError(err)
}

// OpenView implements Responder.
func (s *SlackResponder) OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error {
	_, err := s.API.OpenViewContext(ctx, triggerID, view)
	return err
}

// retry runs fn again after a 429 (waiting Retry-After) or a 5xx, at most MaxRetries times.
func (s *SlackResponder) retry(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = fn()
		if err == nil || attempt >= s.MaxRetries {
			return err
		}
		wait := time.Duration(0)
		var rl *slack.RateLimitedError
		var sc slack.StatusCodeError
		switch {
		case errors.As(err, &rl):
			wait = rl.RetryAfter
		case errors.As(err, &sc) && sc.Code >= 500:
			wait = time.Duration(attempt+1) * 500 * time.Millisecond
		default:
			return err
		}
		if wait > time.Minute {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// explainSlackError turns Slack's channel errors into what a person can do about them.
func explainSlackError(err error) error {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "not_in_channel", "channel_not_found", "user_not_in_channel":
			return fmt.Errorf("%s: invite the bot to the channel with /invite @postman: %w", se.Err, err)
		}
	}
	return err
}
