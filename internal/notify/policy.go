package notify

import (
	"encoding/json"
	"time"

	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
)

// recoveriesFailLimit is Postman's own policy: notify the first three failures of a streak, then the first
// success.
const recoveriesFailLimit = 3

// payload is what an outbox item carries: a monitor result, or a plain notice.
type payload struct {
	Result *slackrender.MonitorResult `json:"result,omitempty"`
	Notice string                     `json:"notice,omitempty"` // mrkdwn, already escaped
}

func encodePayload(p payload) []byte {
	b, _ := json.Marshal(p)
	return b
}

// deliveryKey is the outbox key of one message about one run in one channel.
func deliveryKey(channel, runKey string, role slackrender.MonitorResultRole) string {
	return channel + "|" + runKey + "|" + string(role)
}

// decide applies a subscription's noise policy to one run: it returns the channel's new streak state and the
// deliveries to make. Muted runs move the streak on but deliver nothing. A run older than the last one the channel
// saw (a late webhook) changes nothing.
func decide(sub store.Subscription, st store.Streak, ev Event, muted bool) (store.Streak, []store.OutboxItem) {
	at := ev.FinishedAt
	if at.IsZero() {
		at = ev.StartedAt
	}
	if !st.LastRunAt.IsZero() && !at.IsZero() && at.Before(st.LastRunAt) {
		return st, nil
	}
	st.LastRunKey, st.LastRunAt = ev.Key, at
	ch := sub.ChannelID
	result := func(role slackrender.MonitorResultRole) *slackrender.MonitorResult {
		return &slackrender.MonitorResult{Role: role, MonitorName: ev.MonitorName, MonitorUID: ev.MonitorUID,
			CollectionName: ev.CollectionName, CollectionUID: ev.CollectionUID, EnvironmentName: ev.EnvironmentName,
			EnvironmentUID: ev.EnvironmentUID, Status: ev.Status, Requests: ev.Requests, FailedRequests: ev.FailedRequests,
			Assertions: ev.Assertions, FailedAsserts: ev.FailedAsserts, Errors: ev.Errors, LatencyMs: ev.LatencyMs,
			FinishedAt: ev.FinishedAt, Source: ev.Source, Failures: ev.Failures, StreakRuns: st.FailCount,
			StreakSince: st.StartedAt, Buttons: role != slackrender.RoleRecoveredParent}
	}
	item := func(role slackrender.MonitorResultRole, kind store.OutboxKind) store.OutboxItem {
		return store.OutboxItem{Key: deliveryKey(ch, ev.Key, role), ChannelID: ch, Kind: kind, MonitorUID: ev.MonitorUID,
			RunKey: ev.Key, Payload: encodePayload(payload{Result: result(role)})}
	}
	var out []store.OutboxItem
	if ev.Failed() {
		if !st.Failing {
			st.ID++
			st.Failing, st.FailCount, st.StartedAt, st.ParentKey = true, 1, at, ""
		} else {
			st.FailCount++
		}
		notify := sub.Policy != store.PolicyRecoveries || st.FailCount <= recoveriesFailLimit
		if muted || !notify {
			return st, nil
		}
		if st.ParentKey == "" {
			it := item(slackrender.RoleFailing, store.OutboxPost)
			it.Parent = true
			st.ParentKey = it.Key
			return st, append(out, it)
		}
		it := item(slackrender.RoleStillFailing, store.OutboxReply)
		it.ParentKey = st.ParentKey
		return st, append(out, it)
	}
	if st.Failing {
		// Recovery: say it (every policy does), in the thread when there is one.
		rec := item(slackrender.RoleRecovered, store.OutboxPost)
		parent := st.ParentKey
		st.Failing, st.ParentKey = false, ""
		if muted {
			return st, nil
		}
		if parent == "" {
			return st, append(out, rec)
		}
		rec.Kind, rec.ParentKey, rec.Broadcast = store.OutboxReply, parent, true
		upd := item(slackrender.RoleRecoveredParent, store.OutboxUpdate)
		upd.ParentKey = parent
		return st, append(out, rec, upd)
	}
	if sub.Policy == store.PolicyAll && !muted {
		out = append(out, item(slackrender.RolePassed, store.OutboxPost))
	}
	return st, out
}

// noticeItem is a plain message to a channel or a user (DM), said once per key.
func noticeItem(key, channel, mrkdwn string) store.OutboxItem {
	return store.OutboxItem{Key: "notice|" + key, ChannelID: channel, Kind: store.OutboxPost, Payload: encodePayload(payload{Notice: mrkdwn})}
}

// mutedAt reports whether monitor is muted in the list at now.
func mutedAt(mutes []store.Mute, monitor string, now time.Time) bool {
	for _, m := range mutes {
		if m.MonitorUID == monitor && m.Until.After(now) {
			return true
		}
	}
	return false
}
