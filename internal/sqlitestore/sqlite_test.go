package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/store"
)

func openSQLite(t *testing.T, path string) *SQLite {
	t.Helper()
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("OpenSQLite(%q): %v", path, err)
	}
	return s
}

func TestSQLitePersistsAcrossReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state", "pmops.db") // parent directory does not exist yet
	s := openSQLite(t, path)
	meta := store.LinkMeta{PostmanUserID: 42, PostmanUsername: "alice-pm", LinkedAt: t0}
	if err := s.PutLinkedKey(ctx, aliceOrg, []byte("sealed-bytes"), meta); err != nil {
		t.Fatal(err)
	}
	mustPutAction(t, s, "used", sampleAction())
	mustPutAction(t, s, "pending", sampleAction())
	if _, err := s.TakeAction(ctx, "used", alice, t0); err != nil {
		t.Fatal(err)
	}
	if first, err := s.SeenOnce(ctx, "evt", time.Hour, t0); err != nil || !first {
		t.Fatal(first, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openSQLite(t, path)
	defer s.Close()
	sealed, got, err := s.LinkedKey(ctx, aliceOrg)
	if err != nil || string(sealed) != "sealed-bytes" || got != meta {
		t.Errorf("after reopen: %q %+v %v, want %+v", sealed, got, err, meta)
	}
	if _, err := s.TakeAction(ctx, "used", alice, t0); !errors.Is(err, store.ErrUsed) {
		t.Errorf("used token after reopen: %v, want ErrUsed", err)
	}
	if a, err := s.TakeAction(ctx, "pending", alice, t0); err != nil || a.Kind != sampleAction().Kind {
		t.Errorf("pending token after reopen: %+v %v", a, err)
	}
	if first, err := s.SeenOnce(ctx, "evt", time.Hour, t0.Add(time.Minute)); err != nil || first {
		t.Errorf("seen key after reopen: first=%v err=%v, want false", first, err)
	}
}

func TestSQLiteMigrationsIdempotent(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "pmops.db")
	for range 3 {
		s := openSQLite(t, path)
		if v, err := schemaVersion(ctx, s.db); err != nil || v != len(migrations) {
			t.Fatalf("schema version %d (%v), want %d", v, err, len(migrations))
		}
		if err := migrate(ctx, s.db); err != nil {
			t.Fatalf("migrating an up-to-date database: %v", err)
		}
		var rows int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&rows); err != nil || rows != len(migrations) {
			t.Fatalf("schema_version has %d rows (%v), want %d", rows, err, len(migrations))
		}
		s.Close()
	}
}

func TestSQLiteRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmops.db")
	s := openSQLite(t, path)
	if _, err := s.db.Exec(`INSERT INTO schema_version (version) VALUES (?)`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := OpenSQLite(path)
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Fatalf("OpenSQLite on a newer schema: %v, want a 'newer than this binary' error", err)
	}
}

func TestSQLiteSettings(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "pmops.db")
	s := openSQLite(t, path)
	defer s.Close()
	var mode string
	var timeout int
	if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	if err := s.db.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&timeout); err != nil || timeout != int(busyTimeout.Milliseconds()) {
		t.Errorf("busy_timeout = %d (%v), want %d", timeout, err, busyTimeout.Milliseconds())
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("database file mode %v, want no group/other access", perm)
	}
}

func TestSQLitePaths(t *testing.T) {
	dir := t.TempDir()
	names := []string{"plain.db", "with space.db", "q?mark.db", "hash#tag.db", "pct%41.db", "ünïcode.db"}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			s := openSQLite(t, path)
			if err := s.PutLinkedKey(t.Context(), alice, []byte("k"), store.LinkMeta{}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			// OpenSQLite pre-creates the file, so check that SQLite itself wrote there and nowhere else.
			head, err := os.ReadFile(path)
			if err != nil || !strings.HasPrefix(string(head), "SQLite format 3\x00") {
				t.Fatalf("no SQLite database at the given path (err %v)", err)
			}
			s = openSQLite(t, path)
			defer s.Close()
			if _, _, err := s.LinkedKey(t.Context(), alice); err != nil {
				t.Fatalf("reopen %q: %v", name, err)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(names) {
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		t.Errorf("directory holds %q, want only the %d databases", got, len(names))
	}
	if _, err := OpenSQLite(""); err == nil || !strings.Contains(err.Error(), ":memory:") {
		t.Errorf("OpenSQLite(\"\") = %v, want an error that suggests a path or :memory:", err)
	}
}

func TestSQLiteMemoryDatabasesArePrivate(t *testing.T) {
	a := openSQLite(t, ":memory:")
	defer a.Close()
	b := openSQLite(t, ":memory:")
	defer b.Close()
	if err := a.PutLinkedKey(t.Context(), alice, []byte("k"), store.LinkMeta{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.LinkedKey(t.Context(), alice); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second :memory: store sees the first one's data: %v", err)
	}
}

// Two handles on one file stand in for two bot replicas (or processes) sharing the database.
func TestSQLiteSharedFileSingleWinner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmops.db")
	a := openSQLite(t, path)
	defer a.Close()
	b := openSQLite(t, path)
	defer b.Close()
	handles := []*SQLite{a, b}
	for round := range 3 {
		tok := "shared-" + string(rune('a'+round))
		mustPutAction(t, a, tok, sampleAction())
		next := make(chan *SQLite, racers) // hands every racer a handle, alternating
		for i := range racers {
			next <- handles[i%2]
		}
		results := race(func() error { _, err := (<-next).TakeAction(context.Background(), tok, alice, t0); return err })
		wins := 0
		for _, err := range results {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrUsed):
				t.Errorf("loser got %v, want ErrUsed", err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d winners across two handles, want exactly 1", round, wins)
		}

		key := "shared-evt-" + string(rune('a'+round))
		firsts := make(chan bool, racers)
		for i := range racers {
			next <- handles[i%2]
		}
		for _, err := range race(func() error {
			first, err := (<-next).SeenOnce(context.Background(), key, time.Minute, t0)
			firsts <- first
			return err
		}) {
			if err != nil {
				t.Errorf("SeenOnce: %v", err)
			}
		}
		close(firsts)
		n := 0
		for f := range firsts {
			if f {
				n++
			}
		}
		if n != 1 {
			t.Errorf("round %d: %d first sightings across two handles, want exactly 1", round, n)
		}
	}
}

func TestSQLiteSecureDelete(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "pmops.db"))
	defer s.Close()
	var on int
	if err := s.db.QueryRowContext(t.Context(), `PRAGMA secure_delete`).Scan(&on); err != nil || on != 1 {
		t.Errorf("secure_delete = %d (%v), want 1", on, err)
	}
}

// TestSQLiteTakenPayloadLeavesNoTrace stores recognisable payloads, takes one, lets the others expire and purges:
// no byte of any payload, and no token, is left in the database, its WAL or its shared-memory file.
func TestSQLiteTakenPayloadLeavesNoTrace(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "pmops.db")
	s := openSQLite(t, path)
	defer s.Close()
	payload := func(i int) []byte { return []byte(strings.Repeat("CANARY-PAYLOAD-"+string(rune('A'+i))+"-", 20)) }
	for i := range 3 {
		a := sampleAction()
		a.Payload = payload(i)
		mustPutAction(t, s, "TOKEN-CANARY-"+string(rune('A'+i)), a)
	}
	if _, err := s.TakeAction(ctx, "TOKEN-CANARY-A", alice, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeAction(ctx, "TOKEN-CANARY-B", alice, sampleAction().ExpiresAt); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("expired take: %v", err)
	}
	if _, err := s.PurgeExpired(ctx, sampleAction().ExpiresAt.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeAction(ctx, "TOKEN-CANARY-A", alice, t0); !errors.Is(err, store.ErrUsed) {
		t.Errorf("double click after purge: %v, want ErrUsed", err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, needle := range []string{"CANARY-PAYLOAD", "TOKEN-CANARY"} {
			if strings.Contains(string(b), needle) {
				t.Errorf("%s still holds %q", filepath.Base(path+suffix), needle)
			}
		}
	}
}

// TestSQLiteMigrationDropsPlaintextPayloads opens a version-1 database whose action rows hold plaintext: after the
// upgrade to version 2 none of it is left in any file.
func TestSQLiteMigrationDropsPlaintextPayloads(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "pmops.db")
	dsn, err := sqliteDSN(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", strings.Replace(dsn, "&_pragma=secure_delete(1)", "", 1))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY);
		INSERT INTO schema_version VALUES (1);`+migrations[0]); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := db.ExecContext(ctx, `INSERT INTO action_tokens (token, kind, payload, owner_team_id, owner_user_id, expires_at)
			VALUES (?, 'env.set', ?, 'T1', 'U1', 1)`, fmt.Sprintf("tok-%d", i), `{"clientSecret":"PLAINTEXT-CANARY-`+strconv.Itoa(i)+`"}`); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s := openSQLite(t, path)
	if v, err := schemaVersion(ctx, s.db); err != nil || v != len(migrations) {
		t.Fatalf("schema version %d (%v)", v, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "PLAINTEXT-CANARY") {
			t.Errorf("%s still holds a version-1 plaintext payload", filepath.Base(path+suffix))
		}
	}
}

// TestSQLitePurgeTruncatesAfterTakes: a purge that deletes nothing itself still clears the WAL of rows taken since
// the last one.
func TestSQLitePurgeTruncatesAfterTakes(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "pmops.db")
	s := openSQLite(t, path)
	defer s.Close()
	a := sampleAction()
	a.Payload = []byte(strings.Repeat("TAKEN-PAYLOAD-", 30))
	mustPutAction(t, s, "tok", a)
	if _, err := s.TakeAction(ctx, "tok", alice, t0); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeExpired(ctx, t0); err != nil || n != 0 {
		t.Fatalf("purge: %d %v", n, err)
	}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "TAKEN-PAYLOAD") {
			t.Errorf("%s still holds the taken payload", filepath.Base(path+suffix))
		}
	}
}
