package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/store"
)

// notifySchema is migration 3: the notifier's tables (see NotifyStore).
const notifySchema = `
CREATE TABLE notify_subscriptions (
	channel_id  TEXT    NOT NULL,
	target_kind TEXT    NOT NULL,
	target_id   TEXT    NOT NULL,
	target_name TEXT    NOT NULL DEFAULT '',
	policy      TEXT    NOT NULL,
	created_by  TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER,
	paused      INTEGER NOT NULL DEFAULT 0,
	pause_note  TEXT    NOT NULL DEFAULT '',
	paused_at   INTEGER,
	PRIMARY KEY (channel_id, target_kind, target_id)
) WITHOUT ROWID;
CREATE INDEX notify_subscriptions_target ON notify_subscriptions (target_kind, target_id);
CREATE TABLE notify_mutes (
	channel_id  TEXT    NOT NULL,
	monitor_uid TEXT    NOT NULL,
	until       INTEGER NOT NULL,
	muted_by    TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER,
	PRIMARY KEY (channel_id, monitor_uid)
) WITHOUT ROWID;
CREATE TABLE notify_inbox (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	monitor_uid TEXT    NOT NULL DEFAULT '',
	body        BLOB    NOT NULL,
	received_at INTEGER NOT NULL
);
CREATE TABLE notify_runs (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	run_key      TEXT    NOT NULL UNIQUE,
	monitor_uid  TEXT    NOT NULL,
	monitor_name TEXT    NOT NULL DEFAULT '',
	status       TEXT    NOT NULL,
	started_at   INTEGER,
	finished_at  INTEGER,
	sort_at      INTEGER NOT NULL,
	source       TEXT    NOT NULL DEFAULT '',
	duration_ms  INTEGER NOT NULL DEFAULT 0,
	failures     TEXT    NOT NULL DEFAULT '[]',
	detail       BLOB,
	recorded_at  INTEGER,
	fanned_out   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notify_runs_monitor ON notify_runs (monitor_uid, sort_at DESC, seq DESC);
CREATE INDEX notify_runs_pending ON notify_runs (fanned_out, seq);
CREATE TABLE notify_streaks (
	channel_id   TEXT    NOT NULL,
	monitor_uid  TEXT    NOT NULL,
	streak_id    INTEGER NOT NULL,
	failing      INTEGER NOT NULL,
	fail_count   INTEGER NOT NULL,
	started_at   INTEGER,
	parent_key   TEXT    NOT NULL DEFAULT '',
	last_run_key TEXT    NOT NULL DEFAULT '',
	last_run_at  INTEGER,
	PRIMARY KEY (channel_id, monitor_uid)
) WITHOUT ROWID;
CREATE TABLE notify_outbox (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	key         TEXT    NOT NULL UNIQUE,
	channel_id  TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	parent      INTEGER NOT NULL DEFAULT 0,
	parent_key  TEXT    NOT NULL DEFAULT '',
	broadcast   INTEGER NOT NULL DEFAULT 0,
	monitor_uid TEXT    NOT NULL DEFAULT '',
	run_key     TEXT    NOT NULL DEFAULT '',
	payload     BLOB,
	state       TEXT    NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	not_before  INTEGER,
	last_error  TEXT    NOT NULL DEFAULT '',
	ts          TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER,
	sending_at  INTEGER,
	done_at     INTEGER
);
CREATE INDEX notify_outbox_open ON notify_outbox (state, channel_id, id);
CREATE TABLE notify_threads (
	parent_key TEXT NOT NULL PRIMARY KEY,
	ts         TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE notify_monitors (
	monitor_uid     TEXT    NOT NULL PRIMARY KEY,
	name            TEXT    NOT NULL DEFAULT '',
	workspace_id    TEXT    NOT NULL DEFAULT '',
	period_ns       INTEGER NOT NULL DEFAULT 0,
	next_run        INTEGER,
	last_run_key    TEXT    NOT NULL DEFAULT '',
	last_run_at     INTEGER,
	last_polled_at  INTEGER,
	last_webhook_at INTEGER,
	gone            INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE notify_notices (
	key TEXT NOT NULL PRIMARY KEY,
	at  INTEGER NOT NULL
) WITHOUT ROWID;`

// NotifySQLite is the NotifyStore in the same SQLite file as the Store it came from (SQLite.Notify).
type NotifySQLite struct {
	db *sql.DB
}

var _ store.NotifyStore = (*NotifySQLite)(nil)

// Notify returns the notifier's state in the same database file. Closing it does nothing: close the SQLite.
func (s *SQLite) Notify() *NotifySQLite { return &NotifySQLite{db: s.db} }

// OpenNotifySQLite opens the database at path (see OpenSQLite) for the notifier alone; Close closes it.
func OpenNotifySQLite(path string) (*NotifySQLiteCloser, error) {
	s, err := OpenSQLite(path)
	if err != nil {
		return nil, err
	}
	return &NotifySQLiteCloser{NotifySQLite: s.Notify(), s: s}, nil
}

// NotifySQLiteCloser is a NotifySQLite that owns its database handle.
type NotifySQLiteCloser struct {
	*NotifySQLite
	s *SQLite
}

// Close closes the database.
func (c *NotifySQLiteCloser) Close() error { return c.s.Close() }

// Close implements NotifyStore; the database belongs to the SQLite it came from.
func (n *NotifySQLite) Close() error { return nil }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (n *NotifySQLite) tx(ctx context.Context, what string, f func(tx *sql.Tx) error) error {
	tx, err := n.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// PutSubscription implements NotifyStore.
func (n *NotifySQLite) PutSubscription(ctx context.Context, s store.Subscription) (bool, error) {
	if err := store.ValidateSubscription(s); err != nil {
		return false, fmt.Errorf("put subscription: %w", err)
	}
	var created bool
	err := n.tx(ctx, "put subscription", func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM notify_subscriptions WHERE channel_id = ? AND target_kind = ? AND target_id = ?`,
			s.ChannelID, s.Target.Kind, s.Target.ID).Scan(&one)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("put subscription: %w", err)
		}
		created = errors.Is(err, sql.ErrNoRows)
		_, err = tx.ExecContext(ctx, `
			INSERT INTO notify_subscriptions (channel_id, target_kind, target_id, target_name, policy, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (channel_id, target_kind, target_id) DO UPDATE SET target_name = excluded.target_name,
				policy = excluded.policy, created_by = excluded.created_by, created_at = excluded.created_at,
				paused = 0, pause_note = '', paused_at = NULL`,
			s.ChannelID, s.Target.Kind, s.Target.ID, s.TargetName, s.Policy, s.CreatedBy, nanos(s.CreatedAt))
		if err != nil {
			return fmt.Errorf("put subscription: %w", err)
		}
		return nil
	})
	return created, err
}

// DeleteSubscription implements NotifyStore.
func (n *NotifySQLite) DeleteSubscription(ctx context.Context, channelID string, target store.Target) (bool, error) {
	if err := store.ValidateChannel(channelID); err != nil {
		return false, fmt.Errorf("delete subscription: %w", err)
	}
	if err := store.ValidateTarget(target); err != nil {
		return false, fmt.Errorf("delete subscription: %w", err)
	}
	res, err := n.db.ExecContext(ctx, `DELETE FROM notify_subscriptions WHERE channel_id = ? AND target_kind = ? AND target_id = ?`,
		channelID, target.Kind, target.ID)
	if err != nil {
		return false, fmt.Errorf("delete subscription: %w", err)
	}
	c, err := res.RowsAffected()
	return c > 0, err
}

const subColumns = `channel_id, target_kind, target_id, target_name, policy, created_by, created_at, paused, pause_note, paused_at`

func scanSubs(rows *sql.Rows) ([]store.Subscription, error) {
	defer rows.Close()
	var out []store.Subscription
	for rows.Next() {
		var (
			s                   store.Subscription
			createdAt, pausedAt sql.NullInt64
			paused              int
		)
		if err := rows.Scan(&s.ChannelID, &s.Target.Kind, &s.Target.ID, &s.TargetName, &s.Policy, &s.CreatedBy, &createdAt,
			&paused, &s.PauseNote, &pausedAt); err != nil {
			return nil, err
		}
		s.CreatedAt, s.PausedAt, s.Paused = fromNanos(createdAt), fromNanos(pausedAt), paused != 0
		out = append(out, s)
	}
	return out, rows.Err()
}

// Subscriptions implements NotifyStore.
func (n *NotifySQLite) Subscriptions(ctx context.Context, f store.SubscriptionFilter) ([]store.Subscription, error) {
	var where []string
	var args []any
	if f.ChannelID != "" {
		where = append(where, "channel_id = ?")
		args = append(args, f.ChannelID)
	}
	var or []string
	if f.MonitorUID != "" {
		or = append(or, "(target_kind = 'monitor' AND target_id = ?)")
		args = append(args, f.MonitorUID)
	}
	if f.WorkspaceID != "" {
		or = append(or, "(target_kind = 'workspace' AND target_id = ?)")
		args = append(args, f.WorkspaceID)
	}
	if len(or) > 0 {
		where = append(where, "("+strings.Join(or, " OR ")+")")
	}
	q := `SELECT ` + subColumns + ` FROM notify_subscriptions`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := n.db.QueryContext(ctx, q+` ORDER BY channel_id, target_kind, target_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	out, err := scanSubs(rows)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return out, nil
}

// PauseChannel implements NotifyStore.
func (n *NotifySQLite) PauseChannel(ctx context.Context, channelID, reason string, at time.Time) ([]store.Subscription, error) {
	if err := store.ValidateChannel(channelID); err != nil {
		return nil, fmt.Errorf("pause channel: %w", err)
	}
	if err := store.ValidateTime("pause time", at, false); err != nil {
		return nil, fmt.Errorf("pause channel: %w", err)
	}
	var out []store.Subscription
	err := n.tx(ctx, "pause channel", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+subColumns+` FROM notify_subscriptions WHERE channel_id = ? AND paused = 0
			ORDER BY channel_id, target_kind, target_id`, channelID)
		if err != nil {
			return fmt.Errorf("pause channel: %w", err)
		}
		if out, err = scanSubs(rows); err != nil {
			return fmt.Errorf("pause channel: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE notify_subscriptions SET paused = 1, pause_note = ?, paused_at = ? WHERE channel_id = ? AND paused = 0`,
			reason, at.UnixNano(), channelID)
		if err != nil {
			return fmt.Errorf("pause channel: %w", err)
		}
		return nil
	})
	return out, err
}

// PutMute implements NotifyStore.
func (n *NotifySQLite) PutMute(ctx context.Context, m store.Mute) error {
	if err := store.ValidateMute(m); err != nil {
		return fmt.Errorf("put mute: %w", err)
	}
	_, err := n.db.ExecContext(ctx, `
		INSERT INTO notify_mutes (channel_id, monitor_uid, until, muted_by, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (channel_id, monitor_uid) DO UPDATE SET until = excluded.until, muted_by = excluded.muted_by,
			created_at = excluded.created_at`,
		m.ChannelID, m.MonitorUID, m.Until.UnixNano(), m.By, nanos(m.CreatedAt))
	if err != nil {
		return fmt.Errorf("put mute: %w", err)
	}
	return nil
}

// DeleteMute implements NotifyStore.
func (n *NotifySQLite) DeleteMute(ctx context.Context, channelID, monitorUID string, now time.Time) (bool, error) {
	if err := store.ValidateChannel(channelID); err != nil {
		return false, fmt.Errorf("delete mute: %w", err)
	}
	var until sql.NullInt64
	err := n.db.QueryRowContext(ctx, `DELETE FROM notify_mutes WHERE channel_id = ? AND monitor_uid = ? RETURNING until`,
		channelID, monitorUID).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete mute: %w", err)
	}
	return fromNanos(until).After(now), nil
}

// Mutes implements NotifyStore.
func (n *NotifySQLite) Mutes(ctx context.Context, channelID string, now time.Time) ([]store.Mute, error) {
	rows, err := n.db.QueryContext(ctx, `SELECT channel_id, monitor_uid, until, muted_by, created_at FROM notify_mutes
		WHERE (? = '' OR channel_id = ?) AND until > ? ORDER BY channel_id, monitor_uid`, channelID, channelID, now.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("list mutes: %w", err)
	}
	defer rows.Close()
	var out []store.Mute
	for rows.Next() {
		var (
			m                store.Mute
			until, createdAt sql.NullInt64
		)
		if err := rows.Scan(&m.ChannelID, &m.MonitorUID, &until, &m.By, &createdAt); err != nil {
			return nil, fmt.Errorf("list mutes: %w", err)
		}
		m.Until, m.CreatedAt = fromNanos(until), fromNanos(createdAt)
		out = append(out, m)
	}
	return out, rows.Err()
}

// AddInbox implements NotifyStore.
func (n *NotifySQLite) AddInbox(ctx context.Context, it store.InboxItem) (int64, error) {
	if len(it.Body) == 0 {
		return 0, fmt.Errorf("add inbox: %w: empty body", store.ErrInvalid)
	}
	if err := store.ValidateTime("receive time", it.ReceivedAt, false); err != nil {
		return 0, fmt.Errorf("add inbox: %w", err)
	}
	res, err := n.db.ExecContext(ctx, `INSERT INTO notify_inbox (monitor_uid, body, received_at) VALUES (?, ?, ?)`,
		it.MonitorUID, it.Body, it.ReceivedAt.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("add inbox: %w", err)
	}
	return res.LastInsertId()
}

// Inbox implements NotifyStore.
func (n *NotifySQLite) Inbox(ctx context.Context, after int64, limit int) ([]store.InboxItem, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := n.db.QueryContext(ctx, `SELECT id, monitor_uid, body, received_at FROM notify_inbox WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	defer rows.Close()
	var out []store.InboxItem
	for rows.Next() {
		var (
			it store.InboxItem
			at sql.NullInt64
		)
		if err := rows.Scan(&it.ID, &it.MonitorUID, &it.Body, &at); err != nil {
			return nil, fmt.Errorf("read inbox: %w", err)
		}
		it.ReceivedAt = fromNanos(at)
		out = append(out, it)
	}
	return out, rows.Err()
}

// DropInbox implements NotifyStore.
func (n *NotifySQLite) DropInbox(ctx context.Context, id int64) error {
	if _, err := n.db.ExecContext(ctx, `DELETE FROM notify_inbox WHERE id = ?`, id); err != nil {
		return fmt.Errorf("drop inbox item %d: %w", id, err)
	}
	return nil
}

// RecordRun implements NotifyStore.
func (n *NotifySQLite) RecordRun(ctx context.Context, r store.NotifyRun, inboxID int64, bound store.HistoryBound, now time.Time) (bool, error) {
	if err := store.ValidateRun(r); err != nil {
		return false, fmt.Errorf("record run: %w", err)
	}
	failures, _ := json.Marshal(nonNil(r.Failures))
	var first bool
	err := n.tx(ctx, "record run", func(tx *sql.Tx) error {
		if inboxID != 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM notify_inbox WHERE id = ?`, inboxID); err != nil {
				return fmt.Errorf("record run: %w", err)
			}
		}
		res, err := tx.ExecContext(ctx, `
			INSERT INTO notify_runs (run_key, monitor_uid, monitor_name, status, started_at, finished_at, sort_at, source,
				duration_ms, failures, detail, recorded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_key) DO NOTHING`,
			r.Key, r.MonitorUID, r.MonitorName, r.Status, nanos(r.StartedAt), nanos(r.FinishedAt), store.RunTime(r).UnixNano(),
			r.Source, r.DurationMs, string(failures), store.CloneBytes(r.Detail), nanos(r.RecordedAt))
		if err != nil {
			return fmt.Errorf("record run: %w", err)
		}
		c, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("record run: %w", err)
		}
		first = c > 0
		if !first {
			return nil
		}
		return pruneRuns(ctx, tx, r.MonitorUID, bound, now)
	})
	return first, err
}

func pruneRuns(ctx context.Context, tx *sql.Tx, monitor string, bound store.HistoryBound, now time.Time) error {
	if bound.MaxRuns > 0 {
		_, err := tx.ExecContext(ctx, `DELETE FROM notify_runs WHERE fanned_out = 1 AND seq IN (
			SELECT seq FROM notify_runs WHERE monitor_uid = ? ORDER BY sort_at DESC, seq DESC LIMIT -1 OFFSET ?)`,
			monitor, bound.MaxRuns)
		if err != nil {
			return fmt.Errorf("prune history: %w", err)
		}
	}
	if cut := bound.Cutoff(now); !cut.IsZero() {
		_, err := tx.ExecContext(ctx, `DELETE FROM notify_runs WHERE fanned_out = 1 AND monitor_uid = ? AND sort_at < ?`,
			monitor, cut.UnixNano())
		if err != nil {
			return fmt.Errorf("prune history: %w", err)
		}
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const runColumns = `run_key, monitor_uid, monitor_name, status, started_at, finished_at, source, duration_ms, failures, detail, recorded_at`

func scanRuns(rows *sql.Rows) ([]store.NotifyRun, error) {
	defer rows.Close()
	var out []store.NotifyRun
	for rows.Next() {
		var (
			r                         store.NotifyRun
			started, finished, record sql.NullInt64
			failures                  string
			detail                    []byte
		)
		if err := rows.Scan(&r.Key, &r.MonitorUID, &r.MonitorName, &r.Status, &started, &finished, &r.Source, &r.DurationMs,
			&failures, &detail, &record); err != nil {
			return nil, err
		}
		r.StartedAt, r.FinishedAt, r.RecordedAt = fromNanos(started), fromNanos(finished), fromNanos(record)
		if err := json.Unmarshal([]byte(failures), &r.Failures); err != nil {
			return nil, fmt.Errorf("run %s: failures: %w", r.Key, err)
		}
		if len(r.Failures) == 0 {
			r.Failures = nil
		}
		r.Detail = store.CloneBytes(detail)
		out = append(out, r)
	}
	return out, rows.Err()
}

// PendingRuns implements NotifyStore.
func (n *NotifySQLite) PendingRuns(ctx context.Context, limit int) ([]store.NotifyRun, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := n.db.QueryContext(ctx, `SELECT `+runColumns+` FROM notify_runs WHERE fanned_out = 0 ORDER BY seq LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("pending runs: %w", err)
	}
	out, err := scanRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("pending runs: %w", err)
	}
	return out, nil
}

// Runs implements NotifyStore.
func (n *NotifySQLite) Runs(ctx context.Context, monitorUID string, limit int) ([]store.NotifyRun, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := n.db.QueryContext(ctx, `SELECT `+runColumns+` FROM notify_runs WHERE monitor_uid = ?
		ORDER BY sort_at DESC, seq DESC LIMIT ?`, monitorUID, limit)
	if err != nil {
		return nil, fmt.Errorf("run history of %s: %w", monitorUID, err)
	}
	out, err := scanRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("run history of %s: %w", monitorUID, err)
	}
	return out, nil
}

// Streak implements NotifyStore.
func (n *NotifySQLite) Streak(ctx context.Context, channelID, monitorUID string) (store.Streak, error) {
	s := store.Streak{ChannelID: channelID, MonitorUID: monitorUID}
	var (
		failing          int
		started, lastRun sql.NullInt64
	)
	err := n.db.QueryRowContext(ctx, `SELECT streak_id, failing, fail_count, started_at, parent_key, last_run_key, last_run_at
		FROM notify_streaks WHERE channel_id = ? AND monitor_uid = ?`, channelID, monitorUID).
		Scan(&s.ID, &failing, &s.FailCount, &started, &s.ParentKey, &s.LastRunKey, &lastRun)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return store.Streak{}, fmt.Errorf("streak of %s in %s: %w", monitorUID, channelID, err)
	}
	s.Failing, s.StartedAt, s.LastRunAt = failing != 0, fromNanos(started), fromNanos(lastRun)
	return s, nil
}

// CommitFanout implements NotifyStore.
func (n *NotifySQLite) CommitFanout(ctx context.Context, runKey string, streaks []store.Streak, items []store.OutboxItem, now time.Time) error {
	for _, s := range streaks {
		if err := store.ValidateStreak(s); err != nil {
			return fmt.Errorf("commit fan-out: %w", err)
		}
	}
	for _, it := range items {
		if err := store.ValidateOutbox(it); err != nil {
			return fmt.Errorf("commit fan-out: %w", err)
		}
	}
	return n.tx(ctx, "commit fan-out", func(tx *sql.Tx) error {
		var fanned int
		err := tx.QueryRowContext(ctx, `SELECT fanned_out FROM notify_runs WHERE run_key = ?`, runKey).Scan(&fanned)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("commit fan-out of run %q: %w", runKey, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("commit fan-out: %w", err)
		}
		if fanned != 0 {
			return fmt.Errorf("commit fan-out of run %q: %w", runKey, store.ErrFannedOut)
		}
		for _, s := range streaks {
			_, err := tx.ExecContext(ctx, `
				INSERT INTO notify_streaks (channel_id, monitor_uid, streak_id, failing, fail_count, started_at, parent_key,
					last_run_key, last_run_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (channel_id, monitor_uid) DO UPDATE SET streak_id = excluded.streak_id, failing = excluded.failing,
					fail_count = excluded.fail_count, started_at = excluded.started_at, parent_key = excluded.parent_key,
					last_run_key = excluded.last_run_key, last_run_at = excluded.last_run_at`,
				s.ChannelID, s.MonitorUID, s.ID, b2i(s.Failing), s.FailCount, nanos(s.StartedAt), s.ParentKey, s.LastRunKey, nanos(s.LastRunAt))
			if err != nil {
				return fmt.Errorf("commit fan-out: save streak: %w", err)
			}
		}
		if _, err := enqueueTx(ctx, tx, items, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE notify_runs SET fanned_out = 1 WHERE run_key = ?`, runKey); err != nil {
			return fmt.Errorf("commit fan-out: %w", err)
		}
		return nil
	})
}

func enqueueTx(ctx context.Context, tx *sql.Tx, items []store.OutboxItem, now time.Time) (int, error) {
	total := 0
	for _, it := range items {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO notify_outbox (key, channel_id, kind, parent, parent_key, broadcast, monitor_uid, run_key, payload,
				state, not_before, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
			ON CONFLICT (key) DO NOTHING`,
			it.Key, it.ChannelID, it.Kind, b2i(it.Parent), it.ParentKey, b2i(it.Broadcast), it.MonitorUID, it.RunKey,
			store.CloneBytes(it.Payload), nanos(it.NotBefore), nanos(now))
		if err != nil {
			return 0, fmt.Errorf("enqueue delivery %q: %w", it.Key, err)
		}
		c, _ := res.RowsAffected()
		total += int(c)
	}
	return total, nil
}

// EnqueueOutbox implements NotifyStore.
func (n *NotifySQLite) EnqueueOutbox(ctx context.Context, items []store.OutboxItem, now time.Time) (int, error) {
	for _, it := range items {
		if err := store.ValidateOutbox(it); err != nil {
			return 0, fmt.Errorf("enqueue: %w", err)
		}
	}
	var total int
	err := n.tx(ctx, "enqueue", func(tx *sql.Tx) error {
		var err error
		total, err = enqueueTx(ctx, tx, items, now)
		return err
	})
	return total, err
}

const outboxColumns = `id, key, channel_id, kind, parent, parent_key, broadcast, monitor_uid, run_key, payload, state, attempts,
	not_before, last_error, ts, created_at, sending_at, done_at`

func scanOutbox(row interface{ Scan(...any) error }) (store.OutboxItem, error) {
	var (
		it                                      store.OutboxItem
		parent, broadcast                       int
		notBefore, createdAt, sendingAt, doneAt sql.NullInt64
		payload                                 []byte
	)
	err := row.Scan(&it.ID, &it.Key, &it.ChannelID, &it.Kind, &parent, &it.ParentKey, &broadcast, &it.MonitorUID, &it.RunKey,
		&payload, &it.State, &it.Attempts, &notBefore, &it.LastError, &it.TS, &createdAt, &sendingAt, &doneAt)
	if err != nil {
		return store.OutboxItem{}, err
	}
	it.Parent, it.Broadcast, it.Payload = parent != 0, broadcast != 0, store.CloneBytes(payload)
	it.NotBefore, it.CreatedAt, it.SendingAt, it.DoneAt = fromNanos(notBefore), fromNanos(createdAt), fromNanos(sendingAt), fromNanos(doneAt)
	return it, nil
}

// DueOutbox implements NotifyStore.
func (n *NotifySQLite) DueOutbox(ctx context.Context, now time.Time, limit int) ([]store.OutboxItem, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := n.db.QueryContext(ctx, `SELECT `+outboxColumns+` FROM notify_outbox WHERE id IN (
			SELECT MIN(id) FROM notify_outbox WHERE state IN ('pending', 'sending') GROUP BY channel_id)
		AND (state = 'sending' OR not_before IS NULL OR not_before <= ?) ORDER BY id LIMIT ?`, now.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxItem
	for rows.Next() {
		it, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("due deliveries: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// MarkSending implements NotifyStore.
func (n *NotifySQLite) MarkSending(ctx context.Context, id int64, now time.Time) (store.OutboxItem, error) {
	row := n.db.QueryRowContext(ctx, `UPDATE notify_outbox SET state = 'sending', sending_at = ?, attempts = attempts + 1
		WHERE id = ? AND state IN ('pending', 'sending') RETURNING `+outboxColumns, now.UnixNano(), id)
	it, err := scanOutbox(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.OutboxItem{}, fmt.Errorf("mark sending %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.OutboxItem{}, fmt.Errorf("mark sending %d: %w", id, err)
	}
	return it, nil
}

// CompleteOutbox implements NotifyStore.
func (n *NotifySQLite) CompleteOutbox(ctx context.Context, id int64, ts string, now time.Time) error {
	return n.tx(ctx, "complete delivery", func(tx *sql.Tx) error {
		var (
			key    string
			parent int
			state  string
		)
		err := tx.QueryRowContext(ctx, `SELECT key, parent, state FROM notify_outbox WHERE id = ?`, id).Scan(&key, &parent, &state)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("complete delivery %d: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("complete delivery %d: %w", id, err)
		}
		if !store.OpenState(store.OutboxState(state)) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE notify_outbox SET state = 'done', ts = ?, done_at = ?, last_error = '' WHERE id = ?`,
			ts, now.UnixNano(), id); err != nil {
			return fmt.Errorf("complete delivery %d: %w", id, err)
		}
		if parent != 0 && ts != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO notify_threads (parent_key, ts) VALUES (?, ?)
				ON CONFLICT (parent_key) DO UPDATE SET ts = excluded.ts`, key, ts); err != nil {
				return fmt.Errorf("complete delivery %d: %w", id, err)
			}
		}
		return nil
	})
}

// RetryOutbox implements NotifyStore.
func (n *NotifySQLite) RetryOutbox(ctx context.Context, id int64, notBefore time.Time, lastErr string) error {
	res, err := n.db.ExecContext(ctx, `UPDATE notify_outbox SET state = 'pending', not_before = ?, last_error = ?
		WHERE id = ? AND state IN ('pending', 'sending')`, nanos(notBefore), lastErr, id)
	if err != nil {
		return fmt.Errorf("retry delivery %d: %w", id, err)
	}
	if c, _ := res.RowsAffected(); c == 0 {
		return fmt.Errorf("retry delivery %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// DropOutbox implements NotifyStore.
func (n *NotifySQLite) DropOutbox(ctx context.Context, id int64, reason string, now time.Time) error {
	res, err := n.db.ExecContext(ctx, `UPDATE notify_outbox SET state = 'dropped', last_error = ?, done_at = ?
		WHERE id = ? AND state IN ('pending', 'sending')`, reason, now.UnixNano(), id)
	if err != nil {
		return fmt.Errorf("drop delivery %d: %w", id, err)
	}
	if c, _ := res.RowsAffected(); c == 0 {
		var one int
		if err := n.db.QueryRowContext(ctx, `SELECT 1 FROM notify_outbox WHERE id = ?`, id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("drop delivery %d: %w", id, store.ErrNotFound)
		}
	}
	return nil
}

// DropChannel implements NotifyStore.
func (n *NotifySQLite) DropChannel(ctx context.Context, channelID, reason string, now time.Time) (int, error) {
	res, err := n.db.ExecContext(ctx, `UPDATE notify_outbox SET state = 'dropped', last_error = ?, done_at = ?
		WHERE channel_id = ? AND state IN ('pending', 'sending')`, reason, now.UnixNano(), channelID)
	if err != nil {
		return 0, fmt.Errorf("drop deliveries of %s: %w", channelID, err)
	}
	c, err := res.RowsAffected()
	return int(c), err
}

// Outbox implements NotifyStore.
func (n *NotifySQLite) Outbox(ctx context.Context, key string) (store.OutboxItem, error) {
	it, err := scanOutbox(n.db.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM notify_outbox WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return store.OutboxItem{}, fmt.Errorf("delivery %q: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return store.OutboxItem{}, fmt.Errorf("delivery %q: %w", key, err)
	}
	return it, nil
}

// ThreadTS implements NotifyStore.
func (n *NotifySQLite) ThreadTS(ctx context.Context, parentKey string) (string, error) {
	var ts string
	err := n.db.QueryRowContext(ctx, `SELECT ts FROM notify_threads WHERE parent_key = ?`, parentKey).Scan(&ts)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("thread of %q: %w", parentKey, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("thread of %q: %w", parentKey, err)
	}
	return ts, nil
}

// OutboxStats implements NotifyStore.
func (n *NotifySQLite) OutboxStats(ctx context.Context) (map[store.OutboxState]int, error) {
	rows, err := n.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM notify_outbox GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("outbox stats: %w", err)
	}
	defer rows.Close()
	out := map[store.OutboxState]int{}
	for rows.Next() {
		var (
			s store.OutboxState
			c int
		)
		if err := rows.Scan(&s, &c); err != nil {
			return nil, fmt.Errorf("outbox stats: %w", err)
		}
		out[s] = c
	}
	return out, rows.Err()
}

const monitorColumns = `monitor_uid, name, workspace_id, period_ns, next_run, last_run_key, last_run_at, last_polled_at, last_webhook_at, gone`

func scanMonitor(row interface{ Scan(...any) error }) (store.MonitorState, error) {
	var (
		m                                 store.MonitorState
		period                            int64
		next, lastRun, lastPoll, lastHook sql.NullInt64
		gone                              int
	)
	if err := row.Scan(&m.MonitorUID, &m.Name, &m.WorkspaceID, &period, &next, &m.LastRunKey, &lastRun, &lastPoll, &lastHook, &gone); err != nil {
		return store.MonitorState{}, err
	}
	m.Period, m.Gone = time.Duration(period), gone != 0
	m.NextRun, m.LastRunAt, m.LastPolledAt, m.LastWebhookAt = fromNanos(next), fromNanos(lastRun), fromNanos(lastPoll), fromNanos(lastHook)
	return m, nil
}

// PutMonitorState implements NotifyStore.
func (n *NotifySQLite) PutMonitorState(ctx context.Context, m store.MonitorState) error {
	if err := store.ValidateMonitorState(m); err != nil {
		return fmt.Errorf("put monitor state: %w", err)
	}
	_, err := n.db.ExecContext(ctx, `INSERT INTO notify_monitors (`+monitorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (monitor_uid) DO UPDATE SET name = excluded.name, workspace_id = excluded.workspace_id,
			period_ns = excluded.period_ns, next_run = excluded.next_run, last_run_key = excluded.last_run_key,
			last_run_at = excluded.last_run_at, last_polled_at = excluded.last_polled_at,
			last_webhook_at = excluded.last_webhook_at, gone = excluded.gone`,
		m.MonitorUID, m.Name, m.WorkspaceID, int64(m.Period), nanos(m.NextRun), m.LastRunKey, nanos(m.LastRunAt),
		nanos(m.LastPolledAt), nanos(m.LastWebhookAt), b2i(m.Gone))
	if err != nil {
		return fmt.Errorf("put monitor state: %w", err)
	}
	return nil
}

// MonitorState implements NotifyStore.
func (n *NotifySQLite) MonitorState(ctx context.Context, uid string) (store.MonitorState, error) {
	m, err := scanMonitor(n.db.QueryRowContext(ctx, `SELECT `+monitorColumns+` FROM notify_monitors WHERE monitor_uid = ?`, uid))
	if errors.Is(err, sql.ErrNoRows) {
		return store.MonitorState{}, fmt.Errorf("monitor state %q: %w", uid, store.ErrNotFound)
	}
	if err != nil {
		return store.MonitorState{}, fmt.Errorf("monitor state %q: %w", uid, err)
	}
	return m, nil
}

// MonitorStates implements NotifyStore.
func (n *NotifySQLite) MonitorStates(ctx context.Context) ([]store.MonitorState, error) {
	rows, err := n.db.QueryContext(ctx, `SELECT `+monitorColumns+` FROM notify_monitors ORDER BY monitor_uid`)
	if err != nil {
		return nil, fmt.Errorf("monitor states: %w", err)
	}
	defer rows.Close()
	var out []store.MonitorState
	for rows.Next() {
		m, err := scanMonitor(rows)
		if err != nil {
			return nil, fmt.Errorf("monitor states: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// NoteWebhook implements NotifyStore.
func (n *NotifySQLite) NoteWebhook(ctx context.Context, uid string, at time.Time) error {
	if err := store.ValidateKey("monitor UID", uid); err != nil {
		return fmt.Errorf("note webhook: %w", err)
	}
	if err := store.ValidateTime("webhook time", at, false); err != nil {
		return fmt.Errorf("note webhook: %w", err)
	}
	_, err := n.db.ExecContext(ctx, `INSERT INTO notify_monitors (monitor_uid, last_webhook_at) VALUES (?, ?)
		ON CONFLICT (monitor_uid) DO UPDATE SET last_webhook_at = MAX(COALESCE(last_webhook_at, 0), excluded.last_webhook_at)`,
		uid, at.UnixNano())
	if err != nil {
		return fmt.Errorf("note webhook: %w", err)
	}
	return nil
}

// FirstNotice implements NotifyStore.
func (n *NotifySQLite) FirstNotice(ctx context.Context, key string, now time.Time) (bool, error) {
	if err := store.ValidateKey("notice key", key); err != nil {
		return false, fmt.Errorf("first notice: %w", err)
	}
	res, err := n.db.ExecContext(ctx, `INSERT INTO notify_notices (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, now.UnixNano())
	if err != nil {
		return false, fmt.Errorf("first notice: %w", err)
	}
	c, err := res.RowsAffected()
	return c > 0, err
}

// ClearNotice implements NotifyStore.
func (n *NotifySQLite) ClearNotice(ctx context.Context, key string) error {
	if _, err := n.db.ExecContext(ctx, `DELETE FROM notify_notices WHERE key = ?`, key); err != nil {
		return fmt.Errorf("clear notice: %w", err)
	}
	return nil
}
