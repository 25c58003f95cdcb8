package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// NotifyStore is the state of the monitor notifier (internal/notify): per-channel subscriptions with their noise
// policy, mutes, raw webhooks not yet correlated (the inbox), every run seen (de-duplication key, fan-out queue
// and bounded history), per channel and monitor failure streaks, the outbox of Slack deliveries with their
// thread timestamps, the poller's per-monitor state and once-only notices.
//
// It is separate from Store so another backend (Redis) can implement it on its own; the contract tests in
// notify_contract_test.go say what every backend must do. Policy (what to post) lives in internal/notify: the
// store only offers atomic, idempotent steps, so a crash between any two calls loses nothing and repeats nothing.
type NotifyStore interface {
	// PutSubscription creates or replaces the subscription of s.ChannelID to s.Target (and un-pauses it). It
	// reports whether the subscription is new.
	PutSubscription(ctx context.Context, s Subscription) (created bool, err error)
	// DeleteSubscription removes a channel's subscription to target and reports whether there was one.
	DeleteSubscription(ctx context.Context, channelID string, target Target) (bool, error)
	// Subscriptions lists subscriptions matching f, ordered by channel, then target kind and ID.
	Subscriptions(ctx context.Context, f SubscriptionFilter) ([]Subscription, error)
	// PauseChannel pauses every subscription of channelID (the bot was removed from it) and returns them as they
	// were before (so the caller can tell their subscribers); already paused ones are not returned.
	PauseChannel(ctx context.Context, channelID, reason string, at time.Time) ([]Subscription, error)

	// PutMute mutes a monitor in a channel until m.Until (replacing an earlier mute).
	PutMute(ctx context.Context, m Mute) error
	// DeleteMute lifts a mute and reports whether one was in force at now.
	DeleteMute(ctx context.Context, channelID, monitorUID string, now time.Time) (bool, error)
	// Mutes lists the mutes in force at now (Until after now) for channelID ("" for every channel).
	Mutes(ctx context.Context, channelID string, now time.Time) ([]Mute, error)

	// AddInbox stores a raw webhook body before it is acknowledged and returns its ID.
	AddInbox(ctx context.Context, item InboxItem) (int64, error)
	// Inbox returns up to limit (0: all) stored webhooks with an ID above after, oldest first.
	Inbox(ctx context.Context, after int64, limit int) ([]InboxItem, error)
	// DropInbox deletes an inbox item that cannot become a run (unknown monitor, ...).
	DropInbox(ctx context.Context, id int64) error

	// RecordRun stores run r once per r.Key (true the first time), queues it for fan-out and keeps the monitor's
	// history within bound. When inboxID is not 0 the inbox item is deleted in the same step, whether or not the
	// run was new.
	RecordRun(ctx context.Context, r NotifyRun, inboxID int64, bound HistoryBound, now time.Time) (first bool, err error)
	// PendingRuns returns up to limit recorded runs not yet fanned out, in the order they were recorded.
	PendingRuns(ctx context.Context, limit int) ([]NotifyRun, error)
	// Runs returns up to limit runs of a monitor from its history, newest (by FinishedAt) first.
	Runs(ctx context.Context, monitorUID string, limit int) ([]NotifyRun, error)

	// Streak returns the streak state of a monitor in a channel; the zero Streak (with the IDs filled in) when
	// there is none yet.
	Streak(ctx context.Context, channelID, monitorUID string) (Streak, error)
	// CommitFanout atomically saves the new streak states, adds the outbox items (an item whose Key exists is
	// skipped) and marks the run fanned out. It returns ErrFannedOut, changing nothing, when the run already was.
	CommitFanout(ctx context.Context, runKey string, streaks []Streak, items []OutboxItem, now time.Time) error

	// EnqueueOutbox adds items outside a fan-out (notices); existing keys are skipped. It returns how many were new.
	EnqueueOutbox(ctx context.Context, items []OutboxItem, now time.Time) (int, error)
	// DueOutbox returns up to limit items that may be attempted at now: pending with NotBefore at or before now,
	// plus items left in sending by a crash (the caller reconciles those). At most the oldest open item of each
	// channel is returned, so a channel's messages go out in order.
	DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error)
	// MarkSending records that an attempt to deliver item id starts now (state sending, Attempts+1). It fails with
	// ErrNotFound if the item is not open.
	MarkSending(ctx context.Context, id int64, now time.Time) (OutboxItem, error)
	// CompleteOutbox closes item id with the Slack message timestamp. For a thread parent it also records the
	// thread timestamp under the item's Key. Completing a closed item is a no-op.
	CompleteOutbox(ctx context.Context, id int64, ts string, now time.Time) error
	// RetryOutbox puts item id back to pending until notBefore, with the error that made it wait.
	RetryOutbox(ctx context.Context, id int64, notBefore time.Time, lastErr string) error
	// DropOutbox closes item id without delivering it, with the reason.
	DropOutbox(ctx context.Context, id int64, reason string, now time.Time) error
	// DropChannel closes every open item of channelID without delivering it (the bot left the channel) and
	// returns how many it closed.
	DropChannel(ctx context.Context, channelID, reason string, now time.Time) (int, error)
	// Outbox returns the item with key (ErrNotFound if none).
	Outbox(ctx context.Context, key string) (OutboxItem, error)
	// ThreadTS returns the Slack timestamp of the thread parent delivered for parentKey (ErrNotFound until then).
	ThreadTS(ctx context.Context, parentKey string) (string, error)
	// OutboxStats counts items per state (pending, sending, done, dropped).
	OutboxStats(ctx context.Context) (map[OutboxState]int, error)

	// PutMonitorState saves the poller's view of a monitor; MonitorState returns it (ErrNotFound if none).
	PutMonitorState(ctx context.Context, m MonitorState) error
	MonitorState(ctx context.Context, monitorUID string) (MonitorState, error)
	// MonitorStates lists every saved monitor state, by monitor UID.
	MonitorStates(ctx context.Context) ([]MonitorState, error)
	// NoteWebhook records that a webhook for monitorUID arrived at at (creating the state if needed).
	NoteWebhook(ctx context.Context, monitorUID string, at time.Time) error

	// FirstNotice reports whether key is new (true once ever), for messages that must be said only once.
	FirstNotice(ctx context.Context, key string, now time.Time) (bool, error)
	// ClearNotice forgets key, so the notice can be said again (quota recovered, channel re-joined).
	ClearNotice(ctx context.Context, key string) error

	Close() error
}

// ErrFannedOut means CommitFanout was called for a run that was already fanned out (by this or another process).
var ErrFannedOut = errors.New("run already fanned out")

// TargetKind is what a subscription follows.
type TargetKind string

const (
	TargetMonitor   TargetKind = "monitor"
	TargetWorkspace TargetKind = "workspace"
)

// Target names a monitor (by UID) or a workspace (by ID).
type Target struct {
	Kind TargetKind
	ID   string
}

// Policy is a subscription's noise policy.
type Policy string

const (
	// PolicyAll posts every run.
	PolicyAll Policy = "all"
	// PolicyFailures posts failing runs (first as a new message, later ones in its thread) and the recovery.
	PolicyFailures Policy = "failures"
	// PolicyRecoveries is Postman's own "three failed runs, then the first successful run".
	PolicyRecoveries Policy = "recoveries"
)

// Valid reports whether p is a known policy.
func (p Policy) Valid() bool { return p == PolicyAll || p == PolicyFailures || p == PolicyRecoveries }

// Subscription is a channel following a monitor or a workspace.
type Subscription struct {
	ChannelID  string
	Target     Target
	TargetName string // for listings; may be empty
	Policy     Policy
	CreatedBy  string // Slack user ID, told when the subscription is paused
	CreatedAt  time.Time
	Paused     bool
	PauseNote  string
	PausedAt   time.Time
}

// SubscriptionFilter selects subscriptions; empty fields match everything. MonitorUID and WorkspaceID together
// select the subscriptions that cover a monitor: those to the monitor and those to its workspace.
type SubscriptionFilter struct {
	ChannelID   string
	MonitorUID  string
	WorkspaceID string
}

// Mute silences a monitor in a channel until Until; streaks keep advancing meanwhile.
type Mute struct {
	ChannelID  string
	MonitorUID string
	Until      time.Time
	By         string
	CreatedAt  time.Time
}

// InboxItem is a webhook body accepted but not yet turned into a run.
type InboxItem struct {
	ID         int64
	MonitorUID string
	Body       []byte
	ReceivedAt time.Time
}

// NotifyRun is one monitor run as the notifier saw it, from any source.
type NotifyRun struct {
	Key         string // monitor UID + the run's identity; unique
	MonitorUID  string
	MonitorName string
	Status      string // "success", "failed", ...
	StartedAt   time.Time
	FinishedAt  time.Time
	Source      string // "webhook", "poll", "pmops"
	DurationMs  int64
	// Failures are the failing assertions (or errors), most relevant first; may be empty.
	Failures []string
	// Detail is the notifier's own encoding of the event (metrics, failing requests), opaque to the store.
	Detail     []byte
	RecordedAt time.Time
}

// HistoryBound limits a monitor's kept history: the newest MaxRuns runs no older than MaxAge (zero: no limit).
type HistoryBound struct {
	MaxRuns int
	MaxAge  time.Duration
}

// Streak is a monitor's failure streak in one channel.
type Streak struct {
	ChannelID  string
	MonitorUID string
	// ID numbers the streaks (1 for the first); it names the thread of the current one.
	ID        int64
	Failing   bool
	FailCount int
	// StartedAt is when the current failure streak began (its first failing run's finish).
	StartedAt time.Time
	// ParentKey is the outbox key of the thread parent of the current streak, "" when none was posted (muted,
	// or the policy posts no parent).
	ParentKey  string
	LastRunKey string
	LastRunAt  time.Time
}

// OutboxKind is what a delivery does in Slack.
type OutboxKind string

const (
	// OutboxPost posts a top-level message; with Parent set it is a thread parent whose ts is kept.
	OutboxPost OutboxKind = "post"
	// OutboxReply posts into the thread of ParentKey (with Broadcast: also to the channel).
	OutboxReply OutboxKind = "reply"
	// OutboxUpdate rewrites the thread parent of ParentKey.
	OutboxUpdate OutboxKind = "update"
)

// OutboxState is where an outbox item is.
type OutboxState string

const (
	OutboxPending OutboxState = "pending"
	OutboxSending OutboxState = "sending"
	OutboxDone    OutboxState = "done"
	OutboxDropped OutboxState = "dropped"
)

// OutboxItem is one Slack delivery. Key is the delivery key: unique, and sent with the message as metadata so a
// delivery interrupted by a crash can be found in Slack instead of being posted again.
type OutboxItem struct {
	ID         int64 // assigned by the store, increasing
	Key        string
	ChannelID  string
	Kind       OutboxKind
	Parent     bool   // a thread parent (OutboxPost only)
	ParentKey  string // the thread's parent (OutboxReply, OutboxUpdate)
	Broadcast  bool
	MonitorUID string
	RunKey     string
	Payload    []byte // the message, opaque to the store
	State      OutboxState
	Attempts   int
	NotBefore  time.Time
	LastError  string
	TS         string
	CreatedAt  time.Time
	SendingAt  time.Time
	DoneAt     time.Time
}

// MonitorState is the poller's view of a monitor.
type MonitorState struct {
	MonitorUID    string
	Name          string
	WorkspaceID   string
	Period        time.Duration // schedule period (0 unknown)
	NextRun       time.Time     // the schedule's next run as last read
	LastRunKey    string        // the newest run seen
	LastRunAt     time.Time
	LastPolledAt  time.Time
	LastWebhookAt time.Time
	Gone          bool // the monitor no longer exists (404)
}

func validateChannel(id string) error {
	if id == "" {
		return fmt.Errorf("%w: channel ID is empty", ErrInvalid)
	}
	return validateKey("channel ID", id)
}

func validateTarget(t Target) error {
	if t.Kind != TargetMonitor && t.Kind != TargetWorkspace {
		return fmt.Errorf("%w: subscription target kind %q (want monitor or workspace)", ErrInvalid, t.Kind)
	}
	return validateKey("subscription target ID", t.ID)
}

func validateSubscription(s Subscription) error {
	if err := validateChannel(s.ChannelID); err != nil {
		return err
	}
	if err := validateTarget(s.Target); err != nil {
		return err
	}
	if !s.Policy.Valid() {
		return fmt.Errorf("%w: policy %q (want all, failures or recoveries)", ErrInvalid, s.Policy)
	}
	if err := validateTime("subscription time", s.CreatedAt, true); err != nil {
		return err
	}
	return validateTime("pause time", s.PausedAt, true)
}

func validateMute(m Mute) error {
	if err := validateChannel(m.ChannelID); err != nil {
		return err
	}
	if err := validateKey("monitor UID", m.MonitorUID); err != nil {
		return err
	}
	if err := validateTime("mute end", m.Until, false); err != nil {
		return err
	}
	return validateTime("mute time", m.CreatedAt, true)
}

func validateRun(r NotifyRun) error {
	if err := validateKey("run key", r.Key); err != nil {
		return err
	}
	if err := validateKey("monitor UID", r.MonitorUID); err != nil {
		return err
	}
	if r.Status == "" {
		return fmt.Errorf("%w: run status is empty", ErrInvalid)
	}
	for what, t := range map[string]time.Time{"run start": r.StartedAt, "run finish": r.FinishedAt, "record time": r.RecordedAt} {
		if err := validateTime(what, t, true); err != nil {
			return err
		}
	}
	return nil
}

func validateOutbox(it OutboxItem) error {
	if err := validateKey("delivery key", it.Key); err != nil {
		return err
	}
	if err := validateChannel(it.ChannelID); err != nil {
		return err
	}
	switch it.Kind {
	case OutboxPost:
	case OutboxReply, OutboxUpdate:
		if it.ParentKey == "" {
			return fmt.Errorf("%w: %s delivery %q has no parent key", ErrInvalid, it.Kind, it.Key)
		}
	default:
		return fmt.Errorf("%w: delivery kind %q", ErrInvalid, it.Kind)
	}
	return validateTime("not-before time", it.NotBefore, true)
}

func validateStreak(s Streak) error {
	if err := validateChannel(s.ChannelID); err != nil {
		return err
	}
	if err := validateKey("monitor UID", s.MonitorUID); err != nil {
		return err
	}
	if err := validateTime("streak start", s.StartedAt, true); err != nil {
		return err
	}
	return validateTime("streak last run", s.LastRunAt, true)
}

func validateMonitorState(m MonitorState) error {
	if err := validateKey("monitor UID", m.MonitorUID); err != nil {
		return err
	}
	for what, t := range map[string]time.Time{"next run": m.NextRun, "last run": m.LastRunAt, "last poll": m.LastPolledAt,
		"last webhook": m.LastWebhookAt} {
		if err := validateTime(what, t, true); err != nil {
			return err
		}
	}
	return nil
}

// pruneCutoff is the oldest FinishedAt a bound keeps at now (zero: no age limit).
func (b HistoryBound) cutoff(now time.Time) time.Time {
	if b.MaxAge <= 0 || now.IsZero() {
		return time.Time{}
	}
	return now.Add(-b.MaxAge)
}
