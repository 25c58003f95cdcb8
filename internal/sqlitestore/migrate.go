package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the SQLite schema steps; migrations[i] brings the schema to version i+1. Append new steps (never
// edit or reorder applied ones): each runs once, in its own transaction, and schema_version records it.
// Times are INTEGER Unix nanoseconds (UTC); a NULL time means "not set".
var migrations = []string{
	// 1: linked keys, action tokens, de-duplication keys.
	`CREATE TABLE linked_keys (
		enterprise_id    TEXT    NOT NULL DEFAULT '',
		team_id          TEXT    NOT NULL,
		user_id          TEXT    NOT NULL,
		sealed           BLOB    NOT NULL,
		postman_user_id  INTEGER NOT NULL,
		postman_username TEXT    NOT NULL,
		linked_at        INTEGER,
		PRIMARY KEY (enterprise_id, team_id, user_id)
	) WITHOUT ROWID;
	CREATE TABLE action_tokens (
		token               TEXT    NOT NULL PRIMARY KEY,
		kind                TEXT    NOT NULL,
		payload             BLOB,
		owner_enterprise_id TEXT    NOT NULL DEFAULT '',
		owner_team_id       TEXT    NOT NULL,
		owner_user_id       TEXT    NOT NULL,
		channel_id          TEXT    NOT NULL DEFAULT '',
		created_at          INTEGER,
		expires_at          INTEGER NOT NULL,
		used_at             INTEGER
	);
	CREATE INDEX action_tokens_expires_at ON action_tokens (expires_at);
	CREATE TABLE seen_keys (
		key        TEXT    NOT NULL PRIMARY KEY,
		expires_at INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX seen_keys_expires_at ON seen_keys (expires_at);`,

	// 2: action tokens keyed by the token's SHA-256, deleted when taken or expired, with a payload-free tombstone
	// (state 'used' or 'expired') for the late second click; tokens of one group (a Confirm and its Cancel) go
	// together. Version 1 rows may hold plaintext payloads: they are
	// deleted (overwritten, under secure_delete); OpenSQLite truncates the WAL after migrating.
	`DELETE FROM action_tokens;
	DROP TABLE action_tokens;
	CREATE TABLE action_tokens (
		token_hash          BLOB    NOT NULL PRIMARY KEY,
		kind                TEXT    NOT NULL,
		payload             BLOB,
		owner_enterprise_id TEXT    NOT NULL DEFAULT '',
		owner_team_id       TEXT    NOT NULL,
		owner_user_id       TEXT    NOT NULL,
		channel_id          TEXT    NOT NULL DEFAULT '',
		created_at          INTEGER,
		expires_at          INTEGER NOT NULL,
		group_hash          BLOB
	);
	CREATE INDEX action_tokens_expires_at ON action_tokens (expires_at);
	CREATE INDEX action_tokens_group ON action_tokens (group_hash) WHERE group_hash IS NOT NULL;
	CREATE TABLE action_tombstones (
		token_hash BLOB    NOT NULL PRIMARY KEY,
		state      TEXT    NOT NULL CHECK (state IN ('used', 'expired')),
		at         INTEGER NOT NULL,
		forget_at  INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX action_tombstones_forget_at ON action_tombstones (forget_at);`,
	// 3: the monitor notifier's state (notify_sqlite.go).
	notifySchema,
}

// migrate brings db to the latest schema version. It runs in one IMMEDIATE transaction, so two processes opening
// the same file at once apply each step once.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("migrate: database schema version %d is newer than this binary supports (%d); run a newer pmops or use another store file",
			current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, v); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// schemaVersion reports the database's current schema version.
func schemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v)
	return v, err
}
