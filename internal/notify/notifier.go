package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/sourcegraph/conc"

	"github.com/pmops/pmops/internal/clock"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

// SlackAPI is the part of slack-go's *slack.Client the notifier uses.
type SlackAPI interface {
	PostMessageContext(ctx context.Context, channelID string, options ...slack.MsgOption) (string, string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slack.MsgOption) (string, string, string, error)
	GetConversationHistoryContext(ctx context.Context, params *slack.GetConversationHistoryParameters) (*slack.GetConversationHistoryResponse, error)
	GetConversationRepliesContext(ctx context.Context, params *slack.GetConversationRepliesParameters) ([]slack.Message, bool, string, error)
}

// Config configures a Notifier.
type Config struct {
	Store store.NotifyStore
	Slack SlackAPI
	// Env returns the tool environment of the key the notifier reads Postman with (the team key); nil disables
	// polling and webhook correlation (webhook results are then keyed by their arrival).
	Env func(ctx context.Context) (*tools.Env, error)
	// HookToken is the secret path segment of the webhook URL (≥ 32 characters); empty disables the receiver.
	HookToken string
	// HookBaseURL is the public root the webhook is reachable at (for the URL subscribe shows), e.g.
	// https://bot.example.com.
	HookBaseURL string
	// WebURL is the Postman web app root for links (default slackrender's).
	WebURL string
	// History bounds each monitor's kept runs (default 500 runs, 90 days).
	History store.HistoryBound
	// ChannelInterval paces messages per channel (default 1 s, Slack's chat.postMessage allowance).
	ChannelInterval time.Duration
	// Planner plans polling against the monthly quota.
	Planner Planner
	// PollConcurrency bounds the poller's parallel reads (default 4).
	PollConcurrency int
	Clock           clock.Clock
	Logger          *slog.Logger

	// crash, in tests, is called at each step of the pipeline; the crash tests kill the process there.
	crash func(step string)
}

// Pipeline steps, for crash tests.
const (
	StepInboxStored   = "inbox-stored"
	StepRunRecorded   = "run-recorded"
	StepFannedOut     = "fanned-out"
	StepMarkedSending = "marked-sending"
	StepPosted        = "posted"
	StepCompleted     = "completed"
)

// Notifier turns monitor results into Slack messages. All its state is in the store; see the package doc.
type Notifier struct {
	cfg  Config
	st   store.NotifyStore
	clk  clock.Clock
	log  *slog.Logger
	kick chan struct{}

	mu       sync.Mutex
	inFlight map[int64]bool
	nextSend map[string]time.Time // per-channel pacing
	lastPlan Plan
	wsListed map[string]time.Time // workspace → last expansion
	retries  map[string]int       // monitor → looks for a late scheduled run
	// inboxRetry holds back stored webhooks whose run Postman's lastRun did not show yet.
	inboxRetry map[int64]time.Time
	// accepted is the newest inbox ID AcceptHooks has planned.
	accepted int64
	// correlateKick wakes Run's Postman loop (webhooks to correlate).
	correlateKick chan struct{}
}

// DefaultHistory keeps the last 500 runs or 90 days, whichever is smaller.
var DefaultHistory = store.HistoryBound{MaxRuns: 500, MaxAge: 90 * 24 * time.Hour}

// New checks cfg and returns a Notifier. Start it with Run.
func New(cfg Config) (*Notifier, error) {
	if cfg.Store == nil {
		return nil, errors.New("notify: no store")
	}
	if cfg.Slack == nil {
		return nil, errors.New("notify: no Slack client")
	}
	if cfg.HookToken != "" && len(cfg.HookToken) < MinHookTokenLen {
		return nil, fmt.Errorf("notify: the webhook token must be at least %d characters (use a long random secret, e.g. openssl rand -hex 32)", MinHookTokenLen)
	}
	if cfg.History == (store.HistoryBound{}) {
		cfg.History = DefaultHistory
	}
	if cfg.ChannelInterval <= 0 {
		cfg.ChannelInterval = time.Second
	}
	if cfg.PollConcurrency <= 0 {
		cfg.PollConcurrency = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Planner = cfg.Planner.withDefaults()
	return &Notifier{cfg: cfg, st: cfg.Store, clk: clock.Or(cfg.Clock), log: cfg.Logger, kick: make(chan struct{}, 1), correlateKick: make(chan struct{}, 1),
		inFlight: map[int64]bool{}, nextSend: map[string]time.Time{}, wsListed: map[string]time.Time{}, retries: map[string]int{}, inboxRetry: map[int64]time.Time{}}, nil
}

func (n *Notifier) now() time.Time { return n.clk.Now() }

func (n *Notifier) crash(step string) {
	if n.cfg.crash != nil {
		n.cfg.crash(step)
	}
}

// Kick wakes the Run loop (new webhook, new run, new subscription).
func (n *Notifier) Kick() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (n *Notifier) kickCorrelate() {
	select {
	case n.correlateKick <- struct{}{}:
	default:
	}
}

// Record stores a run once (by its Key); the fan-out turns it into deliveries. It reports whether the run was new.
func (n *Notifier) Record(ctx context.Context, ev Event) (bool, error) {
	return n.record(ctx, ev, 0)
}

func (n *Notifier) record(ctx context.Context, ev Event, inboxID int64) (bool, error) {
	if ev.Key == "" || ev.MonitorUID == "" || ev.Status == "" {
		return false, fmt.Errorf("record run: the event needs a key, a monitor and a status (got %q, %q, %q)", ev.Key, ev.MonitorUID, ev.Status)
	}
	now := n.now()
	r, err := ev.asRun(now)
	if err != nil {
		return false, err
	}
	first, err := n.st.RecordRun(ctx, r, inboxID, n.cfg.History, now)
	if err != nil {
		return false, fmt.Errorf("record run %s: %w", ev.Key, err)
	}
	n.crash(StepRunRecorded)
	if first {
		n.log.Info("monitor run recorded", "monitor", ev.MonitorUID, "run", ev.Key, "status", ev.Status, "source", ev.Source)
		n.Kick()
	} else {
		n.log.Debug("monitor run already recorded", "run", ev.Key, "source", ev.Source)
	}
	return first, nil
}

// ObserveRun records a run pmops started (wire it with tools.RunLog.SetObserver).
func (n *Notifier) ObserveRun(o tools.ObservedRun) {
	if o.Run.Status == "" || o.Run.Status == "running" || o.MonitorUID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.Record(ctx, fromObserved(o)); err != nil {
		n.log.Warn("could not record a monitor run pmops started", "monitor", o.MonitorUID, "err", err)
	}
}

// FanOut turns recorded runs into deliveries, one run at a time, each in one store step. It returns how many
// runs it fanned out.
func (n *Notifier) FanOut(ctx context.Context) (int, error) {
	done := 0
	for {
		runs, err := n.st.PendingRuns(ctx, 100)
		if err != nil {
			return done, err
		}
		if len(runs) == 0 {
			return done, nil
		}
		for _, r := range runs {
			if err := n.fanOutRun(ctx, r); err != nil && !errors.Is(err, store.ErrFannedOut) {
				return done, err
			}
			done++
		}
	}
}

func (n *Notifier) fanOutRun(ctx context.Context, r store.NotifyRun) error {
	ev, err := eventOf(r)
	if err != nil {
		n.log.Error("dropping an undecodable run", "run", r.Key, "err", err)
		return n.st.CommitFanout(ctx, r.Key, nil, nil, n.now())
	}
	if !isHookKey(ev.Key) {
		recent, err := n.st.Runs(ctx, ev.MonitorUID, 50)
		if err != nil {
			return err
		}
		if h := reportedBy(ev, recent); h != "" {
			// Its webhook was posted before the run key was known: the run is in the history, not posted again;
			// what it knows beyond the webhook's numbers (a pmops run's failing requests) is added to those messages.
			n.log.Debug("monitor run already posted from its webhook", "run", r.Key, "as", h)
			items, err := n.detailUpdates(ctx, ev, h)
			if err != nil {
				return err
			}
			return n.st.CommitFanout(ctx, r.Key, nil, items, n.now())
		}
	}
	subs, err := n.subscriptionsOf(ctx, ev.MonitorUID)
	if err != nil {
		return err
	}
	now := n.now()
	var streaks []store.Streak
	var items []store.OutboxItem
	for _, sub := range deliveringTo(subs) {
		st, err := n.st.Streak(ctx, sub.ChannelID, ev.MonitorUID)
		if err != nil {
			return err
		}
		mutes, err := n.st.Mutes(ctx, sub.ChannelID, now)
		if err != nil {
			return err
		}
		next, its := decide(sub, st, ev, mutedAt(mutes, ev.MonitorUID, now))
		if next != st {
			streaks = append(streaks, next)
		}
		items = append(items, its...)
	}
	if err := n.st.CommitFanout(ctx, r.Key, streaks, items, now); err != nil {
		return err
	}
	n.crash(StepFannedOut)
	return nil
}

// detailUpdates are the edits that add ev's failing requests and assertions to the failure messages posted for
// the webhook run hookKey (only a run pmops started knows them; Postman's webhook and lastRun give numbers). A
// thread parent already rewritten by a later recovery is left alone.
func (n *Notifier) detailUpdates(ctx context.Context, ev Event, hookKey string) ([]store.OutboxItem, error) {
	if len(ev.Failures) == 0 {
		return nil, nil
	}
	subs, err := n.subscriptionsOf(ctx, ev.MonitorUID)
	if err != nil {
		return nil, err
	}
	var items []store.OutboxItem
	for _, sub := range deliveringTo(subs) {
		for _, role := range []slackrender.MonitorResultRole{slackrender.RoleFailing, slackrender.RoleStillFailing} {
			key := deliveryKey(sub.ChannelID, hookKey, role)
			posted, err := n.st.Outbox(ctx, key)
			if errors.Is(err, store.ErrNotFound) || (err == nil && posted.State == store.OutboxDropped) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if role == slackrender.RoleFailing {
				if st, err := n.st.Streak(ctx, sub.ChannelID, ev.MonitorUID); err != nil {
					return nil, err
				} else if st.ParentKey != key {
					continue // recovered since: the parent now says RECOVERED
				}
			}
			var p payload
			if err := json.Unmarshal(posted.Payload, &p); err != nil || p.Result == nil {
				continue
			}
			p.Result.Failures, p.Result.FailedRequests = ev.Failures, max(p.Result.FailedRequests, ev.FailedRequests)
			items = append(items, store.OutboxItem{Key: key + "|details", ChannelID: sub.ChannelID, Kind: store.OutboxUpdate,
				ParentKey: key, MonitorUID: ev.MonitorUID, RunKey: hookKey, Payload: encodePayload(p)})
		}
	}
	return items, nil
}

// Run processes webhooks, fans out, delivers and polls until ctx ends. Two loops: one does what needs only the
// store and Slack (accepting webhooks, fan-out, delivery), the other what calls Postman (correlating webhooks,
// polling), so a gate wait on the Postman side never holds a message back.
func (n *Notifier) Run(ctx context.Context) error {
	var wg conc.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { n.runPostman(ctx) })
	tick := time.NewTicker(n.cfg.ChannelInterval / 2)
	defer tick.Stop()
	for {
		n.stepSlack(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.kick:
		case <-tick.C:
		}
	}
}

// runPostman correlates stored webhooks and polls until ctx ends.
func (n *Notifier) runPostman(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastPoll := time.Time{}
	for {
		if _, err := n.CorrelateHooks(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("correlating webhooks failed", "err", err)
		}
		if now := n.now(); n.cfg.Env != nil && now.Sub(lastPoll) >= n.cfg.Planner.Tick {
			lastPoll = now
			if _, err := n.Poll(ctx); err != nil && ctx.Err() == nil {
				n.log.Warn("poll failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-n.correlateKick:
		case <-tick.C:
		}
	}
}

// Step runs one pass of the whole pipeline: accept stored webhooks, fan out recorded runs, deliver what is due,
// then correlate webhooks with Postman.
func (n *Notifier) Step(ctx context.Context) {
	n.stepSlack(ctx)
	if _, err := n.CorrelateHooks(ctx); err != nil && ctx.Err() == nil {
		n.log.Warn("correlating webhooks failed", "err", err)
	}
	n.stepSlack(ctx)
}

func (n *Notifier) stepSlack(ctx context.Context) {
	if _, err := n.AcceptHooks(ctx); err != nil && ctx.Err() == nil {
		n.log.Warn("accepting webhooks failed", "err", err)
	}
	if _, err := n.FanOut(ctx); err != nil && ctx.Err() == nil {
		n.log.Warn("fan-out failed", "err", err)
	}
	if _, err := n.Deliver(ctx); err != nil && ctx.Err() == nil {
		n.log.Warn("delivery failed", "err", err)
	}
}

// History is the notifier's run history as the tools layer reads it.
func (n *Notifier) History() tools.RunHistory { return history{n.st} }

type history struct{ st store.NotifyStore }

func (h history) MonitorRuns(ctx context.Context, uid string, limit int) ([]tools.HistoryRun, error) {
	want := limit
	if limit > 0 {
		want = limit + limit/2 + 10 // room for the webhook runs dedupeRuns folds away
	}
	runs, err := h.st.Runs(ctx, uid, want)
	if err != nil {
		return nil, err
	}
	runs = dedupeRuns(runs)
	if limit > 0 && len(runs) > limit {
		runs = runs[:limit]
	}
	out := make([]tools.HistoryRun, len(runs))
	for i, r := range runs {
		out[i] = tools.HistoryRun{Key: r.Key, Status: r.Status, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
			DurationMs: r.DurationMs, Source: r.Source, Failures: r.Failures}
	}
	return out, nil
}
