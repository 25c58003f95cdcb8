package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/tools"
)

// A person told they were rate limited is always told when to retry, whatever the key's snapshot knows.
func TestRetryAtAlwaysSaysWhen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		tests := []struct {
			name     string
			snap     ratelimit.Snapshot
			gateWait time.Duration // a wait the gate reported for the key (0: none)
			want     time.Time
		}{
			{"nothing known", ratelimit.Snapshot{}, 0, now.Add(time.Minute)},
			{"reset passed, room now (a route bucket held it)", ratelimit.Snapshot{Limit: 60, Window: 30 * time.Second, Remaining: 40, ResetAt: now.Add(-time.Second)}, 0, now.Add(30 * time.Second)},
			{"window reset ahead", ratelimit.Snapshot{Limit: 60, Window: time.Minute, Remaining: 0, ResetAt: now.Add(12 * time.Second)}, 0, now.Add(12 * time.Second)},
			{"429 block past the reset", ratelimit.Snapshot{Limit: 60, Window: time.Minute, ResetAt: now.Add(5 * time.Second), BlockedUntil: now.Add(20 * time.Second)}, 0, now.Add(20 * time.Second)},
			{"queue spans windows", ratelimit.Snapshot{Limit: 60, Window: time.Minute, Remaining: 0, ResetAt: now.Add(10 * time.Second), QueuedInteractive: 130}, 0, now.Add(10*time.Second + 2*time.Minute)},
			{"gate reported a longer wait", ratelimit.Snapshot{Limit: 60, Window: time.Minute, Remaining: 5, ResetAt: now.Add(3 * time.Second)}, 25 * time.Second, now.Add(25 * time.Second)},
		}
		for _, tc := range tests {
			d := &Dispatcher{}
			env := &tools.Env{Budget: func() ratelimit.Snapshot { return tc.snap }}
			if tc.gateWait > 0 {
				d.noteGateWait(env, ratelimit.WaitInfo{Estimate: tc.gateWait})
			}
			if got := d.retryAt(env); !got.Equal(tc.want) {
				t.Errorf("%s: retry at %s, want %s", tc.name, got.Sub(now), tc.want.Sub(now))
			}
		}
	})
}

// The messages a rate-limited command ends with carry a Slack date, also when Postman's 429 said nothing of when.
func TestRateLimitedAnswersSayWhen(t *testing.T) {
	d := &Dispatcher{cfg: Config{JobTimeout: time.Minute, Logger: slog.New(slog.DiscardHandler)}}
	env := &tools.Env{Budget: func() ratelimit.Snapshot { return ratelimit.Snapshot{Limit: 60, Window: time.Minute} }}
	st := &jobState{d: d, env: env}
	st.started.Store(true)
	st.waited = true
	msgs := map[string]slackrender.Message{
		"timed out waiting": d.timedOut(st),
		"429 without when":  d.failure(context.Background(), st, env, d.renderer(Request{}), &tools.Error{Kind: tools.KindRateLimited, Message: "rate limited"}, Command{}),
	}
	for name, m := range msgs {
		if b := blocksOf(t, m); !strings.Contains(b, "!date^") {
			t.Errorf("%s: no time to retry in %s", name, b)
		}
	}
	if b := blocksOf(t, d.failure(context.Background(), st, env, d.renderer(Request{}), errors.New("boom"), Command{})); strings.Contains(b, "!date^") {
		t.Errorf("an internal error got a retry time: %s", b)
	}
}

func blocksOf(t *testing.T, m slackrender.Message) string {
	t.Helper()
	b, err := json.Marshal(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
