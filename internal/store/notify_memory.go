package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// NotifyMemory is an in-process NotifyStore for tests and console mode.
type NotifyMemory struct {
	mu        sync.Mutex
	subs      map[subKey]Subscription
	mutes     map[muteKey]Mute
	inbox     map[int64]InboxItem
	inboxSeq  int64
	runs      map[string]*memRun
	runSeq    int64
	streaks   map[muteKey]Streak
	outbox    map[int64]*OutboxItem
	outboxKey map[string]int64
	outboxSeq int64
	threads   map[string]string
	monitors  map[string]MonitorState
	notices   map[string]bool
}

type subKey struct {
	channel string
	target  Target
}

type muteKey struct{ channel, monitor string }

type memRun struct {
	run       NotifyRun
	seq       int64
	fannedOut bool
}

var _ NotifyStore = (*NotifyMemory)(nil)

// NewNotifyMemory returns an empty in-memory NotifyStore.
func NewNotifyMemory() *NotifyMemory {
	return &NotifyMemory{
		subs: map[subKey]Subscription{}, mutes: map[muteKey]Mute{}, inbox: map[int64]InboxItem{},
		runs: map[string]*memRun{}, streaks: map[muteKey]Streak{}, outbox: map[int64]*OutboxItem{},
		outboxKey: map[string]int64{}, threads: map[string]string{}, monitors: map[string]MonitorState{},
		notices: map[string]bool{},
	}
}

func cloneRun(r NotifyRun) NotifyRun {
	r.Failures = slices.Clone(r.Failures)
	if len(r.Failures) == 0 {
		r.Failures = nil
	}
	r.Detail = cloneBytes(r.Detail)
	return r
}

func normRun(r NotifyRun) NotifyRun {
	r = cloneRun(r)
	r.StartedAt, r.FinishedAt, r.RecordedAt = normalizeTime(r.StartedAt), normalizeTime(r.FinishedAt), normalizeTime(r.RecordedAt)
	return r
}

func cloneItem(it OutboxItem) OutboxItem {
	it.Payload = cloneBytes(it.Payload)
	return it
}

// PutSubscription implements NotifyStore.
func (m *NotifyMemory) PutSubscription(ctx context.Context, s Subscription) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := validateSubscription(s); err != nil {
		return false, fmt.Errorf("put subscription: %w", err)
	}
	s.CreatedAt = normalizeTime(s.CreatedAt)
	s.Paused, s.PauseNote, s.PausedAt = false, "", time.Time{}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := subKey{s.ChannelID, s.Target}
	_, existed := m.subs[k]
	m.subs[k] = s
	return !existed, nil
}

// DeleteSubscription implements NotifyStore.
func (m *NotifyMemory) DeleteSubscription(ctx context.Context, channelID string, target Target) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := validateChannel(channelID); err != nil {
		return false, fmt.Errorf("delete subscription: %w", err)
	}
	if err := validateTarget(target); err != nil {
		return false, fmt.Errorf("delete subscription: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := subKey{channelID, target}
	_, ok := m.subs[k]
	delete(m.subs, k)
	return ok, nil
}

func matchSub(s Subscription, f SubscriptionFilter) bool {
	if f.ChannelID != "" && s.ChannelID != f.ChannelID {
		return false
	}
	if f.MonitorUID == "" && f.WorkspaceID == "" {
		return true
	}
	return (f.MonitorUID != "" && s.Target == Target{TargetMonitor, f.MonitorUID}) ||
		(f.WorkspaceID != "" && s.Target == Target{TargetWorkspace, f.WorkspaceID})
}

func sortSubs(out []Subscription) {
	slices.SortFunc(out, func(a, b Subscription) int {
		return cmp.Or(cmp.Compare(a.ChannelID, b.ChannelID), cmp.Compare(a.Target.Kind, b.Target.Kind), cmp.Compare(a.Target.ID, b.Target.ID))
	})
}

// Subscriptions implements NotifyStore.
func (m *NotifyMemory) Subscriptions(ctx context.Context, f SubscriptionFilter) ([]Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Subscription
	for _, s := range m.subs {
		if matchSub(s, f) {
			out = append(out, s)
		}
	}
	sortSubs(out)
	return out, nil
}

// PauseChannel implements NotifyStore.
func (m *NotifyMemory) PauseChannel(ctx context.Context, channelID, reason string, at time.Time) ([]Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := validateChannel(channelID); err != nil {
		return nil, fmt.Errorf("pause channel: %w", err)
	}
	if err := validateTime("pause time", at, false); err != nil {
		return nil, fmt.Errorf("pause channel: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Subscription
	for k, s := range m.subs {
		if s.ChannelID != channelID || s.Paused {
			continue
		}
		out = append(out, s)
		s.Paused, s.PauseNote, s.PausedAt = true, reason, normalizeTime(at)
		m.subs[k] = s
	}
	sortSubs(out)
	return out, nil
}

// PutMute implements NotifyStore.
func (m *NotifyMemory) PutMute(ctx context.Context, mu Mute) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateMute(mu); err != nil {
		return fmt.Errorf("put mute: %w", err)
	}
	mu.Until, mu.CreatedAt = normalizeTime(mu.Until), normalizeTime(mu.CreatedAt)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mutes[muteKey{mu.ChannelID, mu.MonitorUID}] = mu
	return nil
}

// DeleteMute implements NotifyStore.
func (m *NotifyMemory) DeleteMute(ctx context.Context, channelID, monitorUID string, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := validateChannel(channelID); err != nil {
		return false, fmt.Errorf("delete mute: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := muteKey{channelID, monitorUID}
	mu, ok := m.mutes[k]
	delete(m.mutes, k)
	return ok && mu.Until.After(now), nil
}

// Mutes implements NotifyStore.
func (m *NotifyMemory) Mutes(ctx context.Context, channelID string, now time.Time) ([]Mute, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Mute
	for _, mu := range m.mutes {
		if (channelID == "" || mu.ChannelID == channelID) && mu.Until.After(now) {
			out = append(out, mu)
		}
	}
	slices.SortFunc(out, func(a, b Mute) int {
		return cmp.Or(cmp.Compare(a.ChannelID, b.ChannelID), cmp.Compare(a.MonitorUID, b.MonitorUID))
	})
	return out, nil
}

// AddInbox implements NotifyStore.
func (m *NotifyMemory) AddInbox(ctx context.Context, it InboxItem) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(it.Body) == 0 {
		return 0, fmt.Errorf("add inbox: %w: empty body", ErrInvalid)
	}
	if err := validateTime("receive time", it.ReceivedAt, false); err != nil {
		return 0, fmt.Errorf("add inbox: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.inboxSeq++
	it.ID = m.inboxSeq
	it.Body = cloneBytes(it.Body)
	it.ReceivedAt = normalizeTime(it.ReceivedAt)
	m.inbox[it.ID] = it
	return it.ID, nil
}

// Inbox implements NotifyStore.
func (m *NotifyMemory) Inbox(ctx context.Context, after int64, limit int) ([]InboxItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []InboxItem
	for _, it := range m.inbox {
		if it.ID <= after {
			continue
		}
		it.Body = cloneBytes(it.Body)
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b InboxItem) int { return cmp.Compare(a.ID, b.ID) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// DropInbox implements NotifyStore.
func (m *NotifyMemory) DropInbox(ctx context.Context, id int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.inbox, id)
	return nil
}

// RecordRun implements NotifyStore.
func (m *NotifyMemory) RecordRun(ctx context.Context, r NotifyRun, inboxID int64, bound HistoryBound, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := validateRun(r); err != nil {
		return false, fmt.Errorf("record run: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if inboxID != 0 {
		delete(m.inbox, inboxID)
	}
	if _, ok := m.runs[r.Key]; ok {
		return false, nil
	}
	m.runSeq++
	m.runs[r.Key] = &memRun{run: normRun(r), seq: m.runSeq}
	m.pruneLocked(r.MonitorUID, bound, now)
	return true, nil
}

func runTime(r NotifyRun) time.Time {
	if !r.FinishedAt.IsZero() {
		return r.FinishedAt
	}
	return r.RecordedAt
}

// historyOrder sorts newest first: by finish time, then by record order.
func historyOrder(a, b *memRun) int {
	return cmp.Or(runTime(b.run).Compare(runTime(a.run)), cmp.Compare(b.seq, a.seq))
}

func (m *NotifyMemory) pruneLocked(monitor string, bound HistoryBound, now time.Time) {
	var list []*memRun
	for _, mr := range m.runs {
		if mr.run.MonitorUID == monitor {
			list = append(list, mr)
		}
	}
	slices.SortFunc(list, historyOrder)
	cut := bound.cutoff(now)
	for i, mr := range list {
		if !mr.fannedOut {
			continue
		}
		if (bound.MaxRuns > 0 && i >= bound.MaxRuns) || (!cut.IsZero() && runTime(mr.run).Before(cut)) {
			delete(m.runs, mr.run.Key)
		}
	}
}

// PendingRuns implements NotifyStore.
func (m *NotifyMemory) PendingRuns(ctx context.Context, limit int) ([]NotifyRun, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var list []*memRun
	for _, mr := range m.runs {
		if !mr.fannedOut {
			list = append(list, mr)
		}
	}
	slices.SortFunc(list, func(a, b *memRun) int { return cmp.Compare(a.seq, b.seq) })
	if limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	out := make([]NotifyRun, len(list))
	for i, mr := range list {
		out[i] = cloneRun(mr.run)
	}
	return out, nil
}

// Runs implements NotifyStore.
func (m *NotifyMemory) Runs(ctx context.Context, monitorUID string, limit int) ([]NotifyRun, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var list []*memRun
	for _, mr := range m.runs {
		if mr.run.MonitorUID == monitorUID {
			list = append(list, mr)
		}
	}
	slices.SortFunc(list, historyOrder)
	if limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	out := make([]NotifyRun, len(list))
	for i, mr := range list {
		out[i] = cloneRun(mr.run)
	}
	return out, nil
}

// Streak implements NotifyStore.
func (m *NotifyMemory) Streak(ctx context.Context, channelID, monitorUID string) (Streak, error) {
	if err := ctx.Err(); err != nil {
		return Streak{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.streaks[muteKey{channelID, monitorUID}]; ok {
		return s, nil
	}
	return Streak{ChannelID: channelID, MonitorUID: monitorUID}, nil
}

// CommitFanout implements NotifyStore.
func (m *NotifyMemory) CommitFanout(ctx context.Context, runKey string, streaks []Streak, items []OutboxItem, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, s := range streaks {
		if err := validateStreak(s); err != nil {
			return fmt.Errorf("commit fan-out: %w", err)
		}
	}
	for _, it := range items {
		if err := validateOutbox(it); err != nil {
			return fmt.Errorf("commit fan-out: %w", err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mr, ok := m.runs[runKey]
	if !ok {
		return fmt.Errorf("commit fan-out of run %q: %w", runKey, ErrNotFound)
	}
	if mr.fannedOut {
		return fmt.Errorf("commit fan-out of run %q: %w", runKey, ErrFannedOut)
	}
	for _, s := range streaks {
		s.StartedAt, s.LastRunAt = normalizeTime(s.StartedAt), normalizeTime(s.LastRunAt)
		m.streaks[muteKey{s.ChannelID, s.MonitorUID}] = s
	}
	m.enqueueLocked(items, now)
	mr.fannedOut = true
	return nil
}

func (m *NotifyMemory) enqueueLocked(items []OutboxItem, now time.Time) int {
	n := 0
	for _, it := range items {
		if _, ok := m.outboxKey[it.Key]; ok {
			continue
		}
		m.outboxSeq++
		it = cloneItem(it)
		it.ID, it.State, it.Attempts, it.TS, it.LastError = m.outboxSeq, OutboxPending, 0, "", ""
		it.CreatedAt, it.NotBefore = normalizeTime(now), normalizeTime(it.NotBefore)
		it.SendingAt, it.DoneAt = time.Time{}, time.Time{}
		m.outbox[it.ID] = &it
		m.outboxKey[it.Key] = it.ID
		n++
	}
	return n
}

// EnqueueOutbox implements NotifyStore.
func (m *NotifyMemory) EnqueueOutbox(ctx context.Context, items []OutboxItem, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	for _, it := range items {
		if err := validateOutbox(it); err != nil {
			return 0, fmt.Errorf("enqueue: %w", err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.enqueueLocked(items, now), nil
}

func openState(s OutboxState) bool { return s == OutboxPending || s == OutboxSending }

// DueOutbox implements NotifyStore.
func (m *NotifyMemory) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	head := map[string]*OutboxItem{}
	for _, it := range m.outbox {
		if !openState(it.State) {
			continue
		}
		if h := head[it.ChannelID]; h == nil || it.ID < h.ID {
			head[it.ChannelID] = it
		}
	}
	var out []OutboxItem
	for _, it := range head {
		if it.State == OutboxSending || !it.NotBefore.After(now) {
			out = append(out, cloneItem(*it))
		}
	}
	slices.SortFunc(out, func(a, b OutboxItem) int { return cmp.Compare(a.ID, b.ID) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// MarkSending implements NotifyStore.
func (m *NotifyMemory) MarkSending(ctx context.Context, id int64, now time.Time) (OutboxItem, error) {
	if err := ctx.Err(); err != nil {
		return OutboxItem{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.outbox[id]
	if !ok || !openState(it.State) {
		return OutboxItem{}, fmt.Errorf("mark sending %d: %w", id, ErrNotFound)
	}
	it.State, it.SendingAt = OutboxSending, normalizeTime(now)
	it.Attempts++
	return cloneItem(*it), nil
}

// CompleteOutbox implements NotifyStore.
func (m *NotifyMemory) CompleteOutbox(ctx context.Context, id int64, ts string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.outbox[id]
	if !ok {
		return fmt.Errorf("complete delivery %d: %w", id, ErrNotFound)
	}
	if !openState(it.State) {
		return nil
	}
	it.State, it.TS, it.DoneAt, it.LastError = OutboxDone, ts, normalizeTime(now), ""
	if it.Parent && ts != "" {
		m.threads[it.Key] = ts
	}
	return nil
}

// RetryOutbox implements NotifyStore.
func (m *NotifyMemory) RetryOutbox(ctx context.Context, id int64, notBefore time.Time, lastErr string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.outbox[id]
	if !ok || !openState(it.State) {
		return fmt.Errorf("retry delivery %d: %w", id, ErrNotFound)
	}
	it.State, it.NotBefore, it.LastError = OutboxPending, normalizeTime(notBefore), lastErr
	return nil
}

// DropOutbox implements NotifyStore.
func (m *NotifyMemory) DropOutbox(ctx context.Context, id int64, reason string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.outbox[id]
	if !ok {
		return fmt.Errorf("drop delivery %d: %w", id, ErrNotFound)
	}
	if !openState(it.State) {
		return nil
	}
	it.State, it.LastError, it.DoneAt = OutboxDropped, reason, normalizeTime(now)
	return nil
}

// DropChannel implements NotifyStore.
func (m *NotifyMemory) DropChannel(ctx context.Context, channelID, reason string, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, it := range m.outbox {
		if it.ChannelID == channelID && openState(it.State) {
			it.State, it.LastError, it.DoneAt = OutboxDropped, reason, normalizeTime(now)
			n++
		}
	}
	return n, nil
}

// Outbox implements NotifyStore.
func (m *NotifyMemory) Outbox(ctx context.Context, key string) (OutboxItem, error) {
	if err := ctx.Err(); err != nil {
		return OutboxItem{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.outboxKey[key]
	if !ok {
		return OutboxItem{}, fmt.Errorf("delivery %q: %w", key, ErrNotFound)
	}
	return cloneItem(*m.outbox[id]), nil
}

// ThreadTS implements NotifyStore.
func (m *NotifyMemory) ThreadTS(ctx context.Context, parentKey string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ts, ok := m.threads[parentKey]
	if !ok {
		return "", fmt.Errorf("thread of %q: %w", parentKey, ErrNotFound)
	}
	return ts, nil
}

// OutboxStats implements NotifyStore.
func (m *NotifyMemory) OutboxStats(ctx context.Context) (map[OutboxState]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[OutboxState]int{}
	for _, it := range m.outbox {
		out[it.State]++
	}
	return out, nil
}

func normMonitorState(s MonitorState) MonitorState {
	s.NextRun, s.LastRunAt = normalizeTime(s.NextRun), normalizeTime(s.LastRunAt)
	s.LastPolledAt, s.LastWebhookAt = normalizeTime(s.LastPolledAt), normalizeTime(s.LastWebhookAt)
	return s
}

// PutMonitorState implements NotifyStore.
func (m *NotifyMemory) PutMonitorState(ctx context.Context, s MonitorState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateMonitorState(s); err != nil {
		return fmt.Errorf("put monitor state: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.monitors[s.MonitorUID] = normMonitorState(s)
	return nil
}

// MonitorState implements NotifyStore.
func (m *NotifyMemory) MonitorState(ctx context.Context, uid string) (MonitorState, error) {
	if err := ctx.Err(); err != nil {
		return MonitorState{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.monitors[uid]
	if !ok {
		return MonitorState{}, fmt.Errorf("monitor state %q: %w", uid, ErrNotFound)
	}
	return s, nil
}

// MonitorStates implements NotifyStore.
func (m *NotifyMemory) MonitorStates(ctx context.Context) ([]MonitorState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]MonitorState, 0, len(m.monitors))
	for _, s := range m.monitors {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b MonitorState) int { return cmp.Compare(a.MonitorUID, b.MonitorUID) })
	return out, nil
}

// NoteWebhook implements NotifyStore.
func (m *NotifyMemory) NoteWebhook(ctx context.Context, uid string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateKey("monitor UID", uid); err != nil {
		return fmt.Errorf("note webhook: %w", err)
	}
	if err := validateTime("webhook time", at, false); err != nil {
		return fmt.Errorf("note webhook: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.monitors[uid]
	s.MonitorUID = uid
	if at.After(s.LastWebhookAt) {
		s.LastWebhookAt = normalizeTime(at)
	}
	m.monitors[uid] = s
	return nil
}

// FirstNotice implements NotifyStore.
func (m *NotifyMemory) FirstNotice(ctx context.Context, key string, _ time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := validateKey("notice key", key); err != nil {
		return false, fmt.Errorf("first notice: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.notices[key] {
		return false, nil
	}
	m.notices[key] = true
	return true, nil
}

// ClearNotice implements NotifyStore.
func (m *NotifyMemory) ClearNotice(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.notices, key)
	return nil
}

// Close implements NotifyStore.
func (m *NotifyMemory) Close() error { return nil }
