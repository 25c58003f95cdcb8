package redisscript_test

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/pmops/pmops/internal/redisscript"
	"github.com/pmops/pmops/internal/redistest"
)

func TestRunLoadsOnceAndReturnsTheResult(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	s := redisscript.New(`return redis.call('INCRBY', KEYS[1], ARGV[1])`)
	for i, want := range []int64{2, 4, 6} {
		got, err := s.Run(t.Context(), rdb, []string{"n"}, 2).Int64()
		if err != nil || got != want {
			t.Fatalf("run %d: %d, %v; want %d", i, got, err, want)
		}
	}
	// Run after the server forgot its scripts: EVALSHA fails with NOSCRIPT and Run falls back to EVAL.
	if err := rdb.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Run(t.Context(), rdb, []string{"n"}, 1).Int64(); err != nil || got != 7 {
		t.Fatalf("after SCRIPT FLUSH: %d, %v; want 7", got, err)
	}
}
