package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

// MaxMute is the longest mute accepted.
const MaxMute = 30 * 24 * time.Hour

// Subscribe subscribes channel to target (a monitor UID or a workspace ID) with policy and reports whether the
// subscription is new. For a monitor, status (when known) primes the poller so the run already shown in Postman
// is not announced as new.
func (n *Notifier) Subscribe(ctx context.Context, channel, user string, target store.Target, name string, policy store.Policy, status *tools.MonitorStatus) (bool, error) {
	if policy == "" {
		policy = store.PolicyFailures
	}
	now := n.now()
	created, err := n.st.PutSubscription(ctx, store.Subscription{ChannelID: channel, Target: target, TargetName: name, Policy: policy,
		CreatedBy: user, CreatedAt: now})
	if err != nil {
		return false, err
	}
	if status != nil && target.Kind == store.TargetMonitor {
		ms, err := n.st.MonitorState(ctx, target.ID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && ms.LastRunKey == "" && ms.NextRun.IsZero()) {
			ms = store.MonitorState{MonitorUID: target.ID, Name: status.Name, NextRun: status.NextRun, Period: cronPeriod(status.Cron),
				LastPolledAt: now}
			if lr := status.LastRun; lr != nil {
				ms.LastRunKey, ms.LastRunAt = RunKey(status.UID, lr.StartedAt, lr.FinishedAt, lr.JobID), lr.FinishedAt
			}
			if err := n.st.PutMonitorState(ctx, ms); err != nil {
				n.log.Warn("priming the poller failed", "monitor", target.ID, "err", err)
			}
		} else if err == nil && ms.Gone {
			ms.Gone = false
			_ = n.st.PutMonitorState(ctx, ms)
		}
	}
	_ = n.st.ClearNotice(ctx, "paused|"+channel)
	n.Kick()
	return created, nil
}

// FindSubscription finds the channel's subscription named by query: its monitor or workspace ID, or its name
// (exactly, ignoring case). ok=false when there is none; an error when the name is ambiguous.
func (n *Notifier) FindSubscription(ctx context.Context, channel, query string) (store.Subscription, bool, error) {
	subs, err := n.st.Subscriptions(ctx, store.SubscriptionFilter{ChannelID: channel})
	if err != nil {
		return store.Subscription{}, false, err
	}
	q := strings.TrimSpace(query)
	var byName []store.Subscription
	for _, s := range subs {
		if s.Target.ID == q || strings.HasSuffix(s.Target.ID, "-"+q) {
			return s, true, nil
		}
		if strings.EqualFold(s.TargetName, q) {
			byName = append(byName, s)
		}
	}
	switch len(byName) {
	case 0:
		return store.Subscription{}, false, nil
	case 1:
		return byName[0], true, nil
	}
	return store.Subscription{}, false, fmt.Errorf("%q names %d subscriptions here; use the ID from /postman subscriptions", q, len(byName))
}

// Unsubscribe removes the channel's subscription named by query and returns it.
func (n *Notifier) Unsubscribe(ctx context.Context, channel, query string) (store.Subscription, bool, error) {
	s, ok, err := n.FindSubscription(ctx, channel, query)
	if err != nil || !ok {
		return s, ok, err
	}
	ok, err = n.st.DeleteSubscription(ctx, channel, s.Target)
	return s, ok, err
}

// Subscriptions lists a channel's subscriptions and the mutes in force there.
func (n *Notifier) Subscriptions(ctx context.Context, channel string) ([]store.Subscription, []store.Mute, error) {
	subs, err := n.st.Subscriptions(ctx, store.SubscriptionFilter{ChannelID: channel})
	if err != nil {
		return nil, nil, err
	}
	mutes, err := n.st.Mutes(ctx, channel, n.now())
	return subs, mutes, err
}

// Mute silences monitorUID in channel for d (streaks keep advancing) and returns when the mute ends.
func (n *Notifier) Mute(ctx context.Context, channel, monitorUID, by string, d time.Duration) (time.Time, error) {
	if d <= 0 || d > MaxMute {
		return time.Time{}, fmt.Errorf("mute for between a minute and %d days", int(MaxMute.Hours()/24))
	}
	now := n.now()
	until := now.Add(d)
	return until, n.st.PutMute(ctx, store.Mute{ChannelID: channel, MonitorUID: monitorUID, Until: until, By: by, CreatedAt: now})
}

// Unmute lifts a mute and reports whether one was in force.
func (n *Notifier) Unmute(ctx context.Context, channel, monitorUID string) (bool, error) {
	return n.st.DeleteMute(ctx, channel, monitorUID, n.now())
}

// ParseMuteDuration reads "1h", "4h", "1d", "2w" or any Go duration ("90m").
func ParseMuteDuration(s string) (time.Duration, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	mult := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	if len(s) > 1 {
		if m, ok := mult[s[len(s)-1]]; ok {
			var k int
			if _, err := fmt.Sscanf(s[:len(s)-1], "%d", &k); err == nil && k > 0 && fmt.Sprint(k) == s[:len(s)-1] {
				return time.Duration(k) * m, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute {
		return 0, fmt.Errorf("%q is not a duration like 1h, 4h, 1d or 90m", s)
	}
	return d, nil
}
