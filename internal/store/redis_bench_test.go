package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/redistest"
)

// BenchmarkTakeAction compares the cost of a put + single-use take across the backends in one run: Memory (no
// I/O) and Redis (a loopback server, shared by replicas); SQLite's row is BenchmarkTakeActionSQLite in
// sqlite_contract_test.go.
func BenchmarkTakeAction(b *testing.B) {
	srv := redistest.Start(b)
	backends := []struct {
		name string
		open func(b *testing.B) Store
	}{
		{"memory", func(*testing.B) Store { return NewMemory() }},
		{"redis", func(b *testing.B) Store {
			r, err := OpenRedis(b.Context(), srv.URL(0)+"?namespace=bench", RedisOptions{})
			if err != nil {
				b.Fatal(err)
			}
			return r
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			defer s.Close()
			benchTakeAction(b, s)
		})
	}
}

func benchTakeAction(b *testing.B, s Store) {
	a := sampleAction()
	a.ExpiresAt = time.Now().Add(time.Hour)
	i := 0
	for b.Loop() {
		tok := fmt.Sprintf("bench-%d", i)
		i++
		if err := s.PutAction(b.Context(), tok, a); err != nil {
			b.Fatal(err)
		}
		if _, err := s.TakeAction(b.Context(), tok, alice, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWindowAdd is the Redis round trip a replica pays per request sent (one script call).
func BenchmarkWindowAdd(b *testing.B) {
	srv := redistest.Start(b)
	r, err := OpenRedis(b.Context(), srv.URL(0), RedisOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	w := r.Windows()
	for b.Loop() {
		if _, err := w.Add(b.Context(), "ratelimit:bench:1", 1, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
