// Package redisscript holds Redis Lua scripts whose SHA-1 is taken on first use, not at package initialisation as
// with a package-level redis.NewScript: every pmops binary links the Redis store and lease code, most runs (stdio
// MCP, the CLI) never talk to Redis, and their start-up should not hash two dozen scripts.
package redisscript

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Script is a redis.Script made on first Run.
type Script struct {
	src  string
	once sync.Once
	s    *redis.Script
}

// New returns a script for src; nothing is computed until Run.
func New(src string) *Script { return &Script{src: src} }

// Run is redis.Script.Run: EVALSHA, falling back to EVAL when the server does not know the script yet.
func (s *Script) Run(ctx context.Context, c redis.Scripter, keys []string, args ...any) *redis.Cmd {
	s.once.Do(func() { s.s = redis.NewScript(s.src) })
	return s.s.Run(ctx, c, keys, args...)
}
