package slackfake

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/clock"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// newFake starts a fake on a fake clock and closes it with the test.
func newFake(t *testing.T, opts Options) (*Server, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(t0)
	if opts.Clock == nil {
		opts.Clock = clk
	}
	s := New(opts)
	t.Cleanup(s.Close)
	return s, clk
}

// client is a slack-go client pointed at the fake.
func client(s *Server, opts ...slack.Option) *slack.Client {
	base := []slack.Option{
		slack.OptionAPIURL(s.APIURL()),
		slack.OptionAppLevelToken(s.AppToken()),
		slack.OptionHTTPClient(&http.Client{Timeout: 10 * time.Second}),
	}
	return slack.New(s.BotToken(), append(base, opts...)...)
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// slackErr returns the Slack error code of err ("" if err is not a Slack API error).
func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

func section(text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
}
