package store_test

import (
	"path/filepath"
	"testing"

	"github.com/pmops/pmops/internal/sqlitestore"
	"github.com/pmops/pmops/internal/store"
)

func openSQLite(t testing.TB, path string) *sqlitestore.SQLite {
	t.Helper()
	s, err := sqlitestore.OpenSQLite(path)
	if err != nil {
		t.Fatalf("OpenSQLite(%q): %v", path, err)
	}
	return s
}

func TestSQLiteContract(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		store.StoreContract(t, func(t *testing.T) store.Store { return openSQLite(t, ":memory:") })
	})
	t.Run("file", func(t *testing.T) {
		store.StoreContract(t, func(t *testing.T) store.Store { return openSQLite(t, filepath.Join(t.TempDir(), "pmops.db")) })
	})
}

func TestNotifyContractSQLite(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		store.NotifyContract(t, func(t *testing.T) store.NotifyStore { return openSQLite(t, ":memory:").Notify() })
	})
	t.Run("file", func(t *testing.T) {
		store.NotifyContract(t, func(t *testing.T) store.NotifyStore {
			s := openSQLite(t, t.TempDir()+"/pmops.db")
			t.Cleanup(func() { s.Close() })
			return s.Notify()
		})
	})
}

// BenchmarkTakeActionSQLite is BenchmarkTakeAction's SQLite row (a file, one process).
func BenchmarkTakeActionSQLite(b *testing.B) {
	s := openSQLite(b, filepath.Join(b.TempDir(), "bench.db"))
	defer s.Close()
	store.BenchTake(b, s)
}
