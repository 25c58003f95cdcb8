package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

// Planner plans polling against the key's monthly quota: the poller may spend what is left of the month minus a
// reserve kept for people, spread evenly over the rest of the month.
type Planner struct {
	// Reserve is the share of the monthly limit kept for people's commands (default 0.2).
	Reserve float64
	// AssumedMonthLimit is used until the gate has learnt the real quota from Postman's headers (default
	// 10,000, the smallest plan's).
	AssumedMonthLimit int64
	// Grace is how long after a scheduled run the poller looks for its result, and how soon it looks again when
	// the run had not finished yet (default 30 s).
	Grace time.Duration
	// DefaultPeriod is the schedule period assumed until one is known (default 1 h).
	DefaultPeriod time.Duration
	// Tick is how often the Run loop considers polling (default 15 s).
	Tick time.Duration
	// WorkspaceEvery is how often a subscribed workspace's monitor list is refreshed (default 10 min).
	WorkspaceEvery time.Duration
}

func (p Planner) withDefaults() Planner {
	if p.Reserve <= 0 || p.Reserve >= 1 {
		p.Reserve = 0.2
	}
	if p.AssumedMonthLimit <= 0 {
		p.AssumedMonthLimit = 10_000
	}
	if p.Grace <= 0 {
		p.Grace = 30 * time.Second
	}
	if p.DefaultPeriod <= 0 {
		p.DefaultPeriod = time.Hour
	}
	if p.Tick <= 0 {
		p.Tick = 15 * time.Second
	}
	if p.WorkspaceEvery <= 0 {
		p.WorkspaceEvery = 10 * time.Minute
	}
	return p
}

// Plan is the poller's budget at one moment.
type Plan struct {
	// Budget is the calls the poller may still make this month (remaining minus the reserve); Allowed is that
	// spread per hour over the rest of the month.
	Budget         int64
	AllowedPerHour float64
	// DemandPerHour is what polling every monitor once per schedule period would cost.
	DemandPerHour float64
	// Stretch ≥ 1 multiplies every monitor's poll interval to stay within Allowed; 0 means polling is stopped.
	Stretch float64
	Low     bool
}

// Plan computes the budget for polling monitors with the given schedule periods.
func (p Planner) Plan(snap ratelimit.Snapshot, now time.Time, periods []time.Duration) Plan {
	limit, remaining := snap.MonthLimit, snap.MonthRemaining
	if limit <= 0 {
		limit = p.AssumedMonthLimit
	}
	if remaining < 0 {
		remaining = limit
	}
	budget := remaining - int64(p.Reserve*float64(limit))
	u := now.UTC()
	monthEnd := time.Date(u.Year(), u.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	hoursLeft := max(monthEnd.Sub(u).Hours(), 1.0/60)
	pl := Plan{Budget: budget}
	for _, d := range periods {
		if d <= 0 {
			d = p.DefaultPeriod
		}
		pl.DemandPerHour += float64(time.Hour) / float64(d)
	}
	if budget <= 0 || snap.QuotaExhausted {
		pl.Low, pl.Stretch = true, 0
		return pl
	}
	pl.AllowedPerHour = float64(budget) / hoursLeft
	pl.Stretch = 1
	if pl.DemandPerHour > pl.AllowedPerHour {
		pl.Stretch = pl.DemandPerHour / pl.AllowedPerHour
		pl.Low = true
	}
	return pl
}

// PollReport says what one poll pass did.
type PollReport struct {
	Considered, Polled, New int
	SkippedWebhook          int // monitors whose webhook works
	SkippedNotDue           int
	Plan                    Plan
}

// maxPollRetries bounds how often the poller looks again for a scheduled run that had not finished.
const maxPollRetries = 3

type pollTarget struct {
	state store.MonitorState
}

// Poll makes one pass: every subscribed monitor without a working webhook whose next scheduled run is due (and
// whose interval the quota plan allows) is read once through the gate as background traffic.
func (n *Notifier) Poll(ctx context.Context) (PollReport, error) {
	var rep PollReport
	if n.cfg.Env == nil {
		return rep, nil
	}
	env, err := n.cfg.Env(ctx)
	if err != nil {
		return rep, err
	}
	subs, err := n.st.Subscriptions(ctx, store.SubscriptionFilter{})
	if err != nil {
		return rep, err
	}
	bg := ratelimit.WithTicket(ctx, ratelimit.Ticket{Class: ratelimit.Background, User: "notify"})
	now := n.now()
	monitors := map[string]string{} // uid → workspace
	for _, s := range subs {
		if s.Paused {
			continue
		}
		switch s.Target.Kind {
		case store.TargetMonitor:
			if _, ok := monitors[s.Target.ID]; !ok {
				monitors[s.Target.ID] = ""
			}
		case store.TargetWorkspace:
			for _, uid := range n.workspaceMonitors(bg, env, s.Target.ID, now) {
				monitors[uid] = s.Target.ID
			}
		}
	}
	var targets []*pollTarget
	var periods []time.Duration
	for uid, ws := range monitors {
		ms, err := n.st.MonitorState(ctx, uid)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return rep, err
		}
		ms.MonitorUID = uid
		if ws != "" {
			ms.WorkspaceID = ws
		}
		if ms.Gone {
			continue
		}
		rep.Considered++
		period := ms.Period
		if period <= 0 {
			period = n.cfg.Planner.DefaultPeriod
		}
		if !ms.LastWebhookAt.IsZero() && now.Sub(ms.LastWebhookAt) < 2*period {
			rep.SkippedWebhook++
			continue
		}
		periods = append(periods, ms.Period)
		targets = append(targets, &pollTarget{state: ms})
	}
	var snap ratelimit.Snapshot
	if env.Budget != nil {
		snap = env.Budget()
	} else {
		snap = ratelimit.Snapshot{MonthLimit: -1, MonthRemaining: -1}
	}
	plan := n.cfg.Planner.Plan(snap, now, periods)
	rep.Plan = plan
	n.sayPlan(ctx, plan, subs, now)
	if plan.Stretch == 0 {
		rep.SkippedNotDue = len(targets)
		return rep, nil
	}
	// Until a response has told the gate the month's quota, the plan rests on an assumed one: read one due
	// monitor (which teaches the gate) and plan properly on the next pass.
	learning := snap.MonthLimit <= 0
	var due []*pollTarget
	for _, t := range targets {
		ms := t.state
		period := ms.Period
		if period <= 0 {
			period = n.cfg.Planner.DefaultPeriod
		}
		dueAt := ms.NextRun.Add(n.cfg.Planner.Grace)
		if plan.Stretch > 1 && !ms.LastPolledAt.IsZero() && !learning {
			dueAt = later(dueAt, ms.LastPolledAt.Add(time.Duration(float64(period)*plan.Stretch)))
		}
		if !ms.NextRun.IsZero() && now.Before(dueAt) {
			rep.SkippedNotDue++
			continue
		}
		due = append(due, t)
		if learning {
			break
		}
	}
	var mu sync.Mutex
	p := pool.New().WithContext(ctx).WithMaxGoroutines(n.cfg.PollConcurrency)
	for _, t := range due {
		p.Go(func(ctx context.Context) error {
			isNew, err := n.pollOne(ratelimit.WithTicket(ctx, ratelimit.Ticket{Class: ratelimit.Background, User: "notify"}), env, t.state)
			mu.Lock()
			defer mu.Unlock()
			rep.Polled++
			if isNew {
				rep.New++
			}
			if errors.Is(err, ratelimit.ErrQuotaExhausted) {
				return err
			}
			if err != nil {
				n.log.Warn("polling a monitor failed", "monitor", t.state.MonitorUID, "err", err)
			}
			return nil
		})
	}
	err = p.Wait()
	return rep, err
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// pollOne reads one monitor and records its lastRun when it is a run not seen yet.
func (n *Notifier) pollOne(ctx context.Context, env *tools.Env, ms store.MonitorState) (bool, error) {
	// A fresh read: a cached answer may predate the scheduled run this poll is for.
	st, err := tools.FetchMonitorStatus(ratelimit.WithCache(ctx, -1), env, ms.MonitorUID)
	now := n.now()
	if err != nil {
		var te *tools.Error
		if errors.As(err, &te) && te.Kind == tools.KindNotFound {
			n.monitorGone(ctx, ms.MonitorUID, ms.Name)
			return false, nil
		}
		if errors.As(err, &te) && te.Kind == tools.KindQuota {
			return false, ratelimit.ErrQuotaExhausted
		}
		return false, err
	}
	prevNext := ms.NextRun
	ms.Name, ms.LastPolledAt = st.Name, now
	if p := cronPeriod(st.Cron); p > 0 {
		ms.Period = p
	} else if !prevNext.IsZero() && st.NextRun.After(prevNext) {
		ms.Period = st.NextRun.Sub(prevNext)
	} else if lr := st.LastRun; lr != nil && st.NextRun.After(lr.StartedAt) && !lr.StartedAt.IsZero() {
		ms.Period = st.NextRun.Sub(lr.StartedAt)
	}
	ms.NextRun = st.NextRun
	isNew := false
	if lr := st.LastRun; lr != nil && lr.Status != "" && lr.Status != "running" {
		ev := fromLastRun(st, SourcePoll)
		if ev.Key != ms.LastRunKey {
			first, err := n.Record(ctx, ev)
			if err != nil {
				return false, err
			}
			isNew = first
			ms.LastRunKey, ms.LastRunAt = ev.Key, lr.FinishedAt
		}
	}
	// The scheduled run this poll was for has not finished yet: look again after the grace period (a few times).
	n.mu.Lock()
	if lr := st.LastRun; !prevNext.IsZero() && (lr == nil || lr.StartedAt.Before(prevNext.Add(-time.Second))) && n.retries[ms.MonitorUID] < maxPollRetries {
		n.retries[ms.MonitorUID]++
		ms.NextRun = now
	} else {
		delete(n.retries, ms.MonitorUID)
	}
	n.mu.Unlock()
	if err := n.st.PutMonitorState(ctx, ms); err != nil {
		return isNew, err
	}
	return isNew, nil
}

// workspaceMonitors returns the monitors of a subscribed workspace, refreshing the list every WorkspaceEvery.
func (n *Notifier) workspaceMonitors(ctx context.Context, env *tools.Env, ws string, now time.Time) []string {
	n.mu.Lock()
	last, listed := n.wsListed[ws]
	n.mu.Unlock()
	if !listed || now.Sub(last) >= n.cfg.Planner.WorkspaceEvery {
		list, err := tools.WorkspaceMonitors(ctx, env, ws)
		if err != nil {
			n.log.Warn("listing a subscribed workspace's monitors failed", "workspace", ws, "err", err)
		} else {
			for _, m := range list {
				ms, err := n.st.MonitorState(ctx, m.ID)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					continue
				}
				if ms.WorkspaceID == ws && ms.MonitorUID != "" {
					continue
				}
				ms.MonitorUID, ms.WorkspaceID = m.ID, ws
				ms.Name = firstNonEmpty(ms.Name, m.Name)
				_ = n.st.PutMonitorState(ctx, ms)
			}
			n.mu.Lock()
			n.wsListed[ws] = now
			n.mu.Unlock()
		}
	}
	states, err := n.st.MonitorStates(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range states {
		if s.WorkspaceID == ws && !s.Gone {
			out = append(out, s.MonitorUID)
		}
	}
	return out
}

// monitorGone marks a monitor deleted and tells each channel subscribed to it, once.
func (n *Notifier) monitorGone(ctx context.Context, uid, name string) {
	ms, err := n.st.MonitorState(ctx, uid)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return
	}
	ms.MonitorUID, ms.Gone = uid, true
	_ = n.st.PutMonitorState(ctx, ms)
	subs, err := n.st.Subscriptions(ctx, store.SubscriptionFilter{MonitorUID: uid})
	if err != nil {
		return
	}
	now := n.now()
	var items []store.OutboxItem
	for _, s := range subs {
		if s.Target.Kind != store.TargetMonitor || s.Paused {
			continue
		}
		label := firstNonEmpty(s.TargetName, name, uid)
		text := fmt.Sprintf("⚠️ Postman says monitor *%s* no longer exists, so there is nothing to notify about. "+
			"Run `/postman unsubscribe %s` to remove the subscription.", escapeMrkdwn(label), escapeMrkdwn(uid))
		items = append(items, noticeItem("gone|"+s.ChannelID+"|"+uid, s.ChannelID, text))
	}
	if len(items) > 0 {
		_, _ = n.st.EnqueueOutbox(ctx, items, now)
		n.Kick()
	}
}

// sayPlan tells each subscribed channel once per month when the quota makes the poller slow down or stop.
func (n *Notifier) sayPlan(ctx context.Context, plan Plan, subs []store.Subscription, now time.Time) {
	n.mu.Lock()
	n.lastPlan = plan
	n.mu.Unlock()
	month := now.UTC().Format("2006-01")
	if !plan.Low {
		return
	}
	var text, key string
	if plan.Stretch == 0 {
		key = "quota-stop|" + month
		text = "⚠️ The Postman API quota for this month is nearly used up (the rest is kept for people's commands), so I stopped " +
			"polling monitors until next month. Results sent by Postman's monitor webhook still arrive."
	} else {
		key = "quota-slow|" + month
		text = fmt.Sprintf("🐢 The Postman API quota is running low: I now check monitors without a webhook about %s less often "+
			"(budget %.0f calls/hour, polling every schedule would take %.0f). Add the webhook from `/postman subscribe` for instant results.",
			strconv.FormatFloat(plan.Stretch, 'f', 1, 64)+"×", plan.AllowedPerHour, plan.DemandPerHour)
	}
	seen := map[string]bool{}
	var items []store.OutboxItem
	for _, s := range subs {
		if s.Paused || seen[s.ChannelID] {
			continue
		}
		seen[s.ChannelID] = true
		first, err := n.st.FirstNotice(ctx, key+"|"+s.ChannelID, now)
		if err != nil || !first {
			continue
		}
		items = append(items, noticeItem(key+"|"+s.ChannelID, s.ChannelID, text))
	}
	if len(items) > 0 {
		_, _ = n.st.EnqueueOutbox(ctx, items, now)
		n.Kick()
	}
}

// LastPlan is the poller's latest quota plan.
func (n *Notifier) LastPlan() Plan {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lastPlan
}

// cronPeriod reads the period of the common cron shapes ("*/N * * * *", "M * * * *", "M H * * *", with an optional
// leading seconds field); 0 when the pattern is irregular.
func cronPeriod(expr string) time.Duration {
	f := strings.Fields(expr)
	if len(f) == 6 {
		if _, err := strconv.Atoi(f[0]); err != nil {
			return 0
		}
		f = f[1:]
	}
	if len(f) != 5 || f[2] != "*" || f[3] != "*" || f[4] != "*" {
		return 0
	}
	num := func(s string) bool { _, err := strconv.Atoi(s); return err == nil }
	switch {
	case strings.HasPrefix(f[0], "*/") && f[1] == "*":
		if n, err := strconv.Atoi(f[0][2:]); err == nil && n > 0 && 60%n == 0 {
			return time.Duration(n) * time.Minute
		}
	case num(f[0]) && f[1] == "*":
		return time.Hour
	case num(f[0]) && strings.HasPrefix(f[1], "*/"):
		if n, err := strconv.Atoi(f[1][2:]); err == nil && n > 0 && 24%n == 0 {
			return time.Duration(n) * time.Hour
		}
	case num(f[0]) && num(f[1]):
		return 24 * time.Hour
	}
	return 0
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escapeMrkdwn(s string) string { return mrkdwnEscaper.Replace(s) }
