package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/pmops/pmops/internal/store"
)

// busyTimeout is how long a statement waits for another process's write lock before failing with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// SQLite is the default Store: one database file, no server. Several processes may share the file (WAL mode,
// busy timeout, atomic statements); within a process all statements go through one connection.
type SQLite struct {
	db   *sql.DB
	path string
	// taken is set when TakeAction deleted a row since the last WAL truncation: its old page may still be in a
	// WAL frame, so the next purge truncates even if it deletes nothing itself.
	taken atomic.Bool
}

var _ store.Store = (*SQLite)(nil)

// OpenSQLite opens (creating if needed) the database at path and brings its schema up to date. The path ":memory:"
// gives a private in-memory database. A new file is created readable by its owner only, since it holds sealed keys.
func OpenSQLite(path string) (*SQLite, error) {
	if path == "" {
		return nil, errors.New("open store: database path is empty; pass a file path (or :memory: for a throwaway store)")
	}
	dsn, err := sqliteDSN(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// One connection: it serializes this process's writers (no SQLITE_BUSY between our own goroutines) and keeps a
	// ":memory:" database alive for the life of the handle.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)

	s := &SQLite{db: db, path: path}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// A migration may have deleted rows written by an older version (plaintext action payloads): leave no copy
	// of them in the WAL.
	if err := s.truncateWAL(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

func sqliteDSN(path string) (string, error) {
	// secure_delete overwrites deleted content, so a taken action's sealed payload is gone from the file, not
	// just unlinked.
	params := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=secure_delete(1)&_txlock=immediate",
		busyTimeout.Milliseconds())
	if path == ":memory:" {
		return "file::memory:?" + params, nil
	}
	path = filepath.Clean(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("open store %s: create directory: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("open store %s: %w", path, err)
	}
	f.Close()
	// A file: URI, so that '?', '#' and '%' in the path are not read as URI syntax.
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(path))
	return "file:" + escaped + "?" + params + "&_pragma=journal_mode(WAL)", nil
}

// Close implements Store.
func (s *SQLite) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// nanos and fromNanos convert times already checked by validateTime; the zero time is stored as NULL.
func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// PutLinkedKey implements Store.
func (s *SQLite) PutLinkedKey(ctx context.Context, id store.UserRef, sealed []byte, meta store.LinkMeta) error {
	if err := store.ValidateLink(id, sealed, meta); err != nil {
		return fmt.Errorf("put linked key: %w", err)
	}
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO linked_keys (enterprise_id, team_id, user_id, sealed, postman_user_id, postman_username, linked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (enterprise_id, team_id, user_id) DO UPDATE SET
			sealed = excluded.sealed,
			postman_user_id = excluded.postman_user_id,
			postman_username = excluded.postman_username,
			linked_at = excluded.linked_at`,
		id.EnterpriseID, id.TeamID, id.UserID, sealed, meta.PostmanUserID, meta.PostmanUsername, nanos(meta.LinkedAt))
	if err != nil {
		return fmt.Errorf("put linked key for %s: %w", id, err)
	}
	return nil
}

// LinkedKey implements Store.
func (s *SQLite) LinkedKey(ctx context.Context, id store.UserRef) ([]byte, store.LinkMeta, error) {
	if err := store.ValidateUser(id); err != nil {
		return nil, store.LinkMeta{}, fmt.Errorf("get linked key: %w", err)
	}
	var (
		sealed   []byte
		meta     store.LinkMeta
		linkedAt sql.NullInt64
	)
	err := s.db.QueryRowContext(ctx, `
		SELECT sealed, postman_user_id, postman_username, linked_at FROM linked_keys
		WHERE enterprise_id = ? AND team_id = ? AND user_id = ?`,
		id.EnterpriseID, id.TeamID, id.UserID).Scan(&sealed, &meta.PostmanUserID, &meta.PostmanUsername, &linkedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.LinkMeta{}, fmt.Errorf("linked key for %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, store.LinkMeta{}, fmt.Errorf("get linked key for %s: %w", id, err)
	}
	meta.LinkedAt = fromNanos(linkedAt)
	return store.CloneBytes(sealed), meta, nil
}

// DeleteLinkedKey implements Store.
func (s *SQLite) DeleteLinkedKey(ctx context.Context, id store.UserRef) (bool, error) {
	if err := store.ValidateUser(id); err != nil {
		return false, fmt.Errorf("delete linked key: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM linked_keys WHERE enterprise_id = ? AND team_id = ? AND user_id = ?`,
		id.EnterpriseID, id.TeamID, id.UserID)
	if err != nil {
		return false, fmt.Errorf("delete linked key for %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("delete linked key for %s: %w", id, err)
	}
	return n > 0, nil
}

// PutAction implements Store.
func (s *SQLite) PutAction(ctx context.Context, token string, a store.PendingAction) error {
	if err := store.ValidateAction(token, a); err != nil {
		return fmt.Errorf("put action: %w", err)
	}
	h := store.TokenHash(token)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("put action: %w", err)
	}
	defer tx.Rollback()
	// A remembered token (taken or expired) is never stored again: that would revive a used button.
	res, err := tx.ExecContext(ctx, `
		INSERT INTO action_tokens (token_hash, kind, payload, owner_enterprise_id, owner_team_id, owner_user_id,
			channel_id, created_at, expires_at, group_hash)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
		WHERE NOT EXISTS (SELECT 1 FROM action_tombstones WHERE token_hash = ?)
		ON CONFLICT (token_hash) DO NOTHING`,
		h, a.Kind, store.CloneBytes(a.Payload), a.Owner.EnterpriseID, a.Owner.TeamID, a.Owner.UserID,
		a.ChannelID, nanos(a.CreatedAt), a.ExpiresAt.UnixNano(), store.GroupHash(a.Owner, a.Group), h)
	if err != nil {
		return fmt.Errorf("put action: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("put action: %w", err)
	} else if n == 0 {
		return fmt.Errorf("put action: %w", store.ErrExists)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("put action: %w", err)
	}
	return nil
}

// TakeAction implements Store. It reads, checks and deletes in one IMMEDIATE transaction, so concurrent takers (in
// this process or another sharing the file) cannot both win, and a refused stranger leaves the row as it was.
func (s *SQLite) TakeAction(ctx context.Context, token string, by store.UserRef, now time.Time) (store.PendingAction, error) {
	if err := store.ValidateTake(token, by, now); err != nil {
		return store.PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	h := store.TokenHash(token)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return store.PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	defer tx.Rollback()
	var (
		a                    store.PendingAction
		createdAt, expiresAt sql.NullInt64
		group                []byte
	)
	err = tx.QueryRowContext(ctx, `
		SELECT kind, payload, owner_enterprise_id, owner_team_id, owner_user_id, channel_id, created_at, expires_at,
			group_hash
		FROM action_tokens WHERE token_hash = ?`, h).Scan(&a.Kind, &a.Payload, &a.Owner.EnterpriseID,
		&a.Owner.TeamID, &a.Owner.UserID, &a.ChannelID, &createdAt, &expiresAt, &group)
	if errors.Is(err, sql.ErrNoRows) {
		var state string
		err = tx.QueryRowContext(ctx, `SELECT state FROM action_tombstones WHERE token_hash = ?`, h).Scan(&state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.PendingAction{}, fmt.Errorf("take action: %w", store.ErrNotFound)
		case err != nil:
			return store.PendingAction{}, fmt.Errorf("take action: %w", err)
		case state == "used":
			return store.PendingAction{}, fmt.Errorf("take action: %w", store.ErrUsed)
		default:
			return store.PendingAction{}, fmt.Errorf("take action: %w", store.ErrExpired)
		}
	}
	if err != nil {
		return store.PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	a.Payload = store.CloneBytes(a.Payload)
	a.CreatedAt = fromNanos(createdAt)
	a.ExpiresAt = fromNanos(expiresAt)
	state := "used"
	switch {
	case !a.ExpiresAt.After(now):
		state = "expired"
	case !store.SameUser(a.Owner, by):
		return store.PendingAction{}, fmt.Errorf("take action: %w", store.ErrNotOwner)
	}
	if state == "used" && len(group) > 0 {
		// The rest of the group (the Cancel of a Confirm, say) is answered: spend it too.
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO action_tombstones (token_hash, state, at, forget_at)
			SELECT token_hash, 'used', ?, CASE WHEN expires_at > ? THEN ? ELSE expires_at + ? END
			FROM action_tokens WHERE group_hash = ? AND token_hash != ?
			ON CONFLICT (token_hash) DO NOTHING`,
			now.UnixNano(), store.MaxTime.Add(-store.TombstoneTTL).UnixNano(), store.MaxTime.UnixNano(), int64(store.TombstoneTTL), group, h); err != nil {
			return store.PendingAction{}, fmt.Errorf("take action: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM action_tokens WHERE group_hash = ? AND token_hash != ?`, group, h); err != nil {
			return store.PendingAction{}, fmt.Errorf("take action: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM action_tokens WHERE token_hash = ?`, h); err != nil {
		return store.PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO action_tombstones (token_hash, state, at, forget_at) VALUES (?, ?, ?, ?)`,
		h, state, now.UnixNano(), store.ForgetAt(a.ExpiresAt).UnixNano()); err != nil {
		return store.PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return store.PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	s.taken.Store(true)
	if state == "expired" {
		return store.PendingAction{}, fmt.Errorf("take action: %w", store.ErrExpired)
	}
	return a, nil
}

// PurgeExpired implements Store. Afterwards it truncates the WAL, so that pages of deleted rows do not linger in
// old WAL frames (the main file's pages are overwritten by secure_delete).
func (s *SQLite) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	if err := store.ValidateTime("now", now, false); err != nil {
		return 0, fmt.Errorf("purge expired: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("purge expired: %w", err)
	}
	defer tx.Rollback()
	n := now.UnixNano()
	limit := store.MaxTime.Add(-store.TombstoneTTL).UnixNano()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO action_tombstones (token_hash, state, at, forget_at)
		SELECT token_hash, 'expired', ?, CASE WHEN expires_at > ? THEN ? ELSE expires_at + ? END
		FROM action_tokens WHERE expires_at <= ?
		ON CONFLICT (token_hash) DO NOTHING`,
		n, limit, store.MaxTime.UnixNano(), int64(store.TombstoneTTL), n); err != nil {
		return 0, fmt.Errorf("purge expired: %w", err)
	}
	total := 0
	for _, q := range []string{
		`DELETE FROM action_tokens WHERE expires_at <= ?`,
		`DELETE FROM seen_keys WHERE expires_at <= ?`,
		`DELETE FROM action_tombstones WHERE forget_at <= ?`,
	} {
		res, err := tx.ExecContext(ctx, q, n)
		if err != nil {
			return 0, fmt.Errorf("purge expired: %w", err)
		}
		c, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("purge expired: %w", err)
		}
		total += int(c)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("purge expired: %w", err)
	}
	if s.taken.Swap(false) || total > 0 {
		if err := s.truncateWAL(ctx); err != nil {
			return total, fmt.Errorf("purge expired: %w", err)
		}
	}
	return total, nil
}

// truncateWAL checkpoints the WAL into the database and truncates it to zero bytes. If another process is
// reading, SQLite checkpoints what it can and the next purge finishes the job.
func (s *SQLite) truncateWAL(ctx context.Context) error {
	if s.path == ":memory:" {
		return nil
	}
	var busy, logFrames, checkpointed int
	if err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed); err != nil {
		return fmt.Errorf("checkpoint WAL: %w", err)
	}
	return nil
}

// SeenOnce implements Store. The upsert only rewrites a row whose window has ended, so the number of changed rows
// tells whether this call was first.
func (s *SQLite) SeenOnce(ctx context.Context, key string, ttl time.Duration, now time.Time) (bool, error) {
	if err := store.ValidateSeen(key, ttl, now); err != nil {
		return false, fmt.Errorf("seen once: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO seen_keys (key, expires_at) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at
		WHERE seen_keys.expires_at <= ?`,
		key, now.Add(ttl).UnixNano(), now.UnixNano())
	if err != nil {
		return false, fmt.Errorf("seen once: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("seen once: %w", err)
	}
	return n > 0, nil
}
