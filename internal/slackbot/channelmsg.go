package slackbot

import (
	"context"
	"errors"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/pmops/pmops/internal/slackrender"
)

// ChannelMessenger is a Responder that can also post a message in a channel as the bot and edit or delete it
// afterwards (chat.postMessage, chat.update, chat.delete with the bot token): a message with no response_url
// budget, for progress that lasts minutes. Errors are Slack's, unwrapped: the caller tells
// not_in_channel from a 429 (*slack.RateLimitedError, with Retry-After), and nothing here waits out a 429.
type ChannelMessenger interface {
	PostChannel(ctx context.Context, channel string, msg slackrender.Message) (ts string, err error)
	UpdateChannel(ctx context.Context, channel, ts string, msg slackrender.Message) error
	DeleteChannel(ctx context.Context, channel, ts string) error
}

// chat.update is a Tier 3 method: about 50 calls a minute per workspace. The responder keeps its edits under
// that (a short burst allowed) and refuses the rest at once with errUpdateBudget: a progress edit is worth
// skipping, not waiting for.
const (
	updatesPerMinute = 50
	updateBurst      = 5
)

var errUpdateBudget = errors.New("chat.update budget for this minute is spent")

func (s *SlackResponder) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *SlackResponder) updateLimiter() *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.updates == nil {
		s.updates = rate.NewLimiter(rate.Every(time.Minute/updatesPerMinute), updateBurst)
	}
	return s.updates
}

func msgOptions(msg slackrender.Message) []slack.MsgOption {
	return []slack.MsgOption{slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...)}
}

// PostChannel implements ChannelMessenger: one try, paced with the channel's other posts.
func (s *SlackResponder) PostChannel(ctx context.Context, channel string, msg slackrender.Message) (string, error) {
	if err := s.limiter(channel).Wait(ctx); err != nil {
		return "", err
	}
	_, ts, err := s.API.PostMessageContext(ctx, channel, msgOptions(msg)...)
	return ts, err
}

// UpdateChannel implements ChannelMessenger: one try, within the workspace's chat.update budget.
func (s *SlackResponder) UpdateChannel(ctx context.Context, channel, ts string, msg slackrender.Message) error {
	if !s.updateLimiter().AllowN(s.now(), 1) {
		return errUpdateBudget
	}
	_, _, _, err := s.API.UpdateMessageContext(ctx, channel, ts, msgOptions(msg)...)
	return err
}

// DeleteChannel implements ChannelMessenger, retrying a 429 or 5xx a bounded number of times: a leftover
// progress message would say a finished run is still running.
func (s *SlackResponder) DeleteChannel(ctx context.Context, channel, ts string) error {
	return s.retry(ctx, func() error {
		_, _, err := s.API.DeleteMessageContext(ctx, channel, ts)
		return err
	})
}
