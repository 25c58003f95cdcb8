package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
)

// MetadataEventType marks every message the notifier posts; its payload carries the delivery key, which is how a
// delivery cut short by a crash is found in Slack instead of being posted twice.
const MetadataEventType = "pmops_delivery"

// maybeSent prefixes the last error of an item whose outcome is unknown (timeout, connection lost after the
// request went out): the next attempt looks in Slack first.
const maybeSent = "maybe sent: "

const (
	retryMin = 2 * time.Second
	retryMax = 10 * time.Minute
	// sendTimeout bounds one Slack call.
	sendTimeout = 15 * time.Second
	// deliverConcurrency bounds parallel deliveries (one per channel at a time).
	deliverConcurrency = 8
)

// Deliver makes one pass over the outbox: every channel whose next message is due and whose pace allows it sends
// that message. It waits for the sends and returns how many messages were delivered.
func (n *Notifier) Deliver(ctx context.Context) (int, error) {
	now := n.now()
	due, err := n.st.DueOutbox(ctx, now, 0)
	if err != nil {
		return 0, err
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent int
		sem  = make(chan struct{}, deliverConcurrency)
	)
	for _, it := range due {
		n.mu.Lock()
		busy := n.inFlight[it.ID] || n.nextSend[it.ChannelID].After(now)
		if !busy {
			n.inFlight[it.ID] = true
		}
		n.mu.Unlock()
		if busy {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ok := n.deliver(ctx, it)
			n.mu.Lock()
			delete(n.inFlight, it.ID)
			n.mu.Unlock()
			if ok {
				mu.Lock()
				sent++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return sent, nil
}

// pace holds channel back until at.
func (n *Notifier) pace(channel string, at time.Time) {
	n.mu.Lock()
	if at.After(n.nextSend[channel]) {
		n.nextSend[channel] = at
	}
	n.mu.Unlock()
}

// deliver sends one item and records the outcome; it reports whether the item was delivered now.
func (n *Notifier) deliver(ctx context.Context, it store.OutboxItem) bool {
	var p payload
	if err := json.Unmarshal(it.Payload, &p); err != nil {
		n.log.Error("dropping an undecodable delivery", "key", it.Key, "err", err)
		_ = n.st.DropOutbox(ctx, it.ID, "undecodable payload", n.now())
		return false
	}
	threadTS := ""
	if it.Kind == store.OutboxReply || it.Kind == store.OutboxUpdate {
		ts, err := n.st.ThreadTS(ctx, it.ParentKey)
		if errors.Is(err, store.ErrNotFound) && it.Kind == store.OutboxUpdate {
			// An edit of a message that is not a thread parent (a reply): its own ts, once it is delivered.
			if target, terr := n.st.Outbox(ctx, it.ParentKey); terr == nil && target.State == store.OutboxDone && target.TS != "" {
				ts, err = target.TS, nil
			}
		}
		switch {
		case err == nil:
			threadTS = ts
		case errors.Is(err, store.ErrNotFound):
			// The parent was never delivered (dropped): a reply stands alone, an update has nothing to update.
			if it.Kind == store.OutboxUpdate {
				_ = n.st.DropOutbox(ctx, it.ID, "thread parent was not delivered", n.now())
				return false
			}
		default:
			n.log.Warn("reading a thread timestamp failed", "key", it.Key, "err", err)
			return false
		}
	}
	// An item left in sending (crash) or with an unknown outcome may already be in Slack: look first.
	if it.Kind != store.OutboxUpdate && (it.State == store.OutboxSending || strings.HasPrefix(it.LastError, maybeSent)) {
		if ts, found, err := n.findDelivered(ctx, it, threadTS); err != nil {
			n.log.Warn("could not check Slack for an interrupted delivery; sending it again (it may show twice)", "key", it.Key, "err", err)
		} else if found {
			n.log.Info("interrupted delivery found in Slack; not sending it again", "key", it.Key, "ts", ts)
			if err := n.st.CompleteOutbox(ctx, it.ID, ts, n.now()); err != nil {
				n.log.Warn("closing a delivery failed", "key", it.Key, "err", err)
				return false
			}
			n.crash(StepCompleted)
			return false
		}
	}
	marked, err := n.st.MarkSending(ctx, it.ID, n.now())
	if err != nil {
		n.log.Warn("could not start a delivery", "key", it.Key, "err", err)
		return false
	}
	n.crash(StepMarkedSending)
	n.pace(it.ChannelID, n.now().Add(n.cfg.ChannelInterval))
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	ts, err := n.send(sctx, marked, p, threadTS)
	cancel()
	// Pace from the answer too: the next request must not reach Slack within the interval of this one.
	n.pace(it.ChannelID, n.now().Add(n.cfg.ChannelInterval))
	if err != nil {
		n.failed(ctx, marked, err)
		return false
	}
	n.crash(StepPosted)
	if err := n.st.CompleteOutbox(ctx, it.ID, ts, n.now()); err != nil {
		// Left in sending: the next pass finds it in Slack by its key.
		n.log.Warn("closing a delivery failed", "key", it.Key, "err", err)
		return true
	}
	n.crash(StepCompleted)
	return true
}

func (n *Notifier) render(p payload) slackrender.Message {
	if p.Result != nil {
		return slackrender.MonitorResultMessage(*p.Result, n.cfg.WebURL)
	}
	return slackrender.Message{Text: p.Notice, Blocks: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, p.Notice, false, true), nil, nil)}}
}

func (n *Notifier) send(ctx context.Context, it store.OutboxItem, p payload, threadTS string) (string, error) {
	m := n.render(p)
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false), slack.MsgOptionBlocks(m.Blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: MetadataEventType, EventPayload: map[string]any{"key": it.Key}})}
	if it.Kind == store.OutboxUpdate {
		_, ts, _, err := n.cfg.Slack.UpdateMessageContext(ctx, it.ChannelID, threadTS, opts...)
		if err == nil && ts == "" {
			ts = threadTS
		}
		return ts, err
	}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
		if it.Broadcast {
			opts = append(opts, slack.MsgOptionBroadcast())
		}
	}
	_, ts, err := n.cfg.Slack.PostMessageContext(ctx, it.ChannelID, opts...)
	return ts, err
}

// findDelivered looks for the item's message in Slack by its delivery key (message metadata), in the channel
// history or, for a reply, in the thread.
func (n *Notifier) findDelivered(ctx context.Context, it store.OutboxItem, threadTS string) (string, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	since := it.SendingAt.Add(-5 * time.Minute)
	if since.IsZero() || it.SendingAt.IsZero() {
		since = it.CreatedAt.Add(-5 * time.Minute)
	}
	oldest := fmt.Sprintf("%d.000000", since.Unix())
	var msgs []slack.Message
	if threadTS != "" {
		m, _, _, err := n.cfg.Slack.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
			ChannelID: it.ChannelID, Timestamp: threadTS, Oldest: oldest, Limit: 200, IncludeAllMetadata: true})
		if err != nil {
			return "", false, err
		}
		msgs = m
	} else {
		h, err := n.cfg.Slack.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: it.ChannelID, Oldest: oldest, Limit: 200, IncludeAllMetadata: true})
		if err != nil {
			return "", false, err
		}
		msgs = h.Messages
	}
	for _, m := range msgs {
		if m.Metadata.EventType == MetadataEventType && fmt.Sprint(m.Metadata.EventPayload["key"]) == it.Key {
			return m.Timestamp, true, nil
		}
	}
	return "", false, nil
}

// failed records a failed attempt: Slack's pace and 5xx wait and retry; a channel the bot cannot post in pauses
// its subscriptions and tells the subscribers; anything else is dropped with its reason.
func (n *Notifier) failed(ctx context.Context, it store.OutboxItem, err error) {
	now := n.now()
	backoff := min(retryMax, retryMin<<min(it.Attempts, 12))
	var rl *slack.RateLimitedError
	var se slack.SlackErrorResponse
	var sc slack.StatusCodeError
	var ne net.Error
	switch {
	case errors.As(err, &rl):
		wait := max(rl.RetryAfter, n.cfg.ChannelInterval)
		n.pace(it.ChannelID, now.Add(wait))
		n.log.Info("Slack asked to slow down", "channel", it.ChannelID, "retry_after", wait)
		_ = n.st.RetryOutbox(ctx, it.ID, now.Add(wait), "ratelimited")
	case errors.As(err, &se) && isGoneChannel(se.Err):
		n.channelGone(ctx, it, se.Err)
	case errors.As(err, &se) && se.Err == "thread_not_found" && it.Kind == store.OutboxReply:
		// The parent was deleted: post the reply on its own.
		it.Kind, it.ParentKey = store.OutboxPost, ""
		_ = n.st.DropOutbox(ctx, it.ID, "thread_not_found; re-sent as a new message", now)
		it.Key += "|unthreaded"
		if _, err := n.st.EnqueueOutbox(ctx, []store.OutboxItem{it}, now); err != nil {
			n.log.Warn("re-queueing an unthreaded reply failed", "key", it.Key, "err", err)
		}
	case errors.As(err, &se) && (se.Err == "message_not_found" || se.Err == "cant_update_message") && it.Kind == store.OutboxUpdate:
		_ = n.st.DropOutbox(ctx, it.ID, se.Err, now)
	case errors.As(err, &se) && (se.Err == "ratelimited" || se.Err == "internal_error" || se.Err == "fatal_error" || se.Err == "service_unavailable" || se.Err == "request_timeout"):
		n.pace(it.ChannelID, now.Add(backoff))
		_ = n.st.RetryOutbox(ctx, it.ID, now.Add(backoff), se.Err)
	case errors.As(err, &se):
		n.log.Error("Slack refused a notification; dropping it", "channel", it.ChannelID, "key", it.Key, "error", se.Err)
		_ = n.st.DropOutbox(ctx, it.ID, se.Err, now)
	case errors.As(err, &sc) && (sc.Code == 429 || sc.Code >= 500):
		n.pace(it.ChannelID, now.Add(backoff))
		n.log.Info("Slack answered an error; retrying", "channel", it.ChannelID, "status", sc.Code, "in", backoff)
		reason := fmt.Sprintf("HTTP %d", sc.Code)
		if sc.Code >= 500 { // an edge error can come after the message was accepted: look before sending again
			reason = maybeSent + reason
		}
		_ = n.st.RetryOutbox(ctx, it.ID, now.Add(backoff), reason)
	case errors.As(err, &sc):
		n.log.Error("Slack refused a notification; dropping it", "channel", it.ChannelID, "key", it.Key, "status", sc.Code)
		_ = n.st.DropOutbox(ctx, it.ID, fmt.Sprintf("HTTP %d", sc.Code), now)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// Shutting down: the item stays in sending and the next start checks Slack for it.
	default:
		// Timeouts and broken connections: the request may have reached Slack.
		if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
			n.log.Info("Slack did not answer; will check and retry", "channel", it.ChannelID, "in", backoff, "err", err)
		} else {
			n.log.Warn("sending a notification failed; will check and retry", "channel", it.ChannelID, "in", backoff, "err", err)
		}
		n.pace(it.ChannelID, now.Add(backoff))
		_ = n.st.RetryOutbox(ctx, it.ID, now.Add(backoff), maybeSent+err.Error())
	}
}

func isGoneChannel(code string) bool {
	switch code {
	case "not_in_channel", "channel_not_found", "is_archived":
		return true
	}
	return false
}

// channelGone pauses every subscription of the channel, drops its pending messages and tells each subscriber once.
func (n *Notifier) channelGone(ctx context.Context, it store.OutboxItem, code string) {
	now := n.now()
	if strings.HasPrefix(it.ChannelID, "U") || strings.HasPrefix(it.ChannelID, "D") || strings.HasPrefix(it.ChannelID, "W") {
		// A message to a person that cannot be delivered: nothing to pause.
		_ = n.st.DropOutbox(ctx, it.ID, code, now)
		return
	}
	paused, err := n.st.PauseChannel(ctx, it.ChannelID, code, now)
	if err != nil {
		n.log.Warn("pausing subscriptions failed", "channel", it.ChannelID, "err", err)
		return
	}
	dropped, _ := n.st.DropChannel(ctx, it.ChannelID, code, now)
	n.log.Warn("bot cannot post in a subscribed channel; subscriptions paused", "channel", it.ChannelID, "error", code,
		"subscriptions", len(paused), "dropped_messages", dropped)
	told := map[string]bool{}
	var notices []store.OutboxItem
	for _, s := range paused {
		if s.CreatedBy == "" || told[s.CreatedBy] {
			continue
		}
		told[s.CreatedBy] = true
		why := "I am not a member of it any more"
		if code == "channel_not_found" {
			why = "I cannot find it (deleted, or private and I was removed)"
		} else if code == "is_archived" {
			why = "it was archived"
		}
		text := fmt.Sprintf("⏸️ I paused the monitor notifications you set up in <#%s>: %s. Invite me back with `/invite @postman` "+
			"and run `/postman subscribe` there again to resume.", it.ChannelID, why)
		notices = append(notices, noticeItem(fmt.Sprintf("paused|%s|%s|%d", it.ChannelID, s.CreatedBy, now.Unix()), s.CreatedBy, text))
	}
	if len(notices) > 0 {
		if _, err := n.st.EnqueueOutbox(ctx, notices, now); err != nil {
			n.log.Warn("queueing pause notices failed", "err", err)
		}
	}
}
