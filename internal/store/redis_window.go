package store

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pmops/pmops/internal/redisscript"
)

// RedisWindows is the rate gate's WindowStore (internal/ratelimit) on Redis: one fixed-window counter per API key
// hash and server window, shared by every replica using that key. The gate names the window
// ("<prefix>:<hash of the API key>:<window end>"); the key itself never reaches Redis.
//
// It also keeps the replica roll call: every replica heartbeats its ID into a sorted set scored by expiry (Redis's
// own clock), and LiveReplicas counts the unexpired ones. The gate's fallback share while Redis is unreachable is
// Limit/replicas, so the count should be known before Redis goes away.
type RedisWindows struct {
	r *Redis
	// RoundTrips counts Redis commands sent by Add (one script call each), for the benchmarks.
	RoundTrips atomic.Int64
	live       atomic.Int64
}

// Windows returns the window store on r's connection.
func (r *Redis) Windows() *RedisWindows { return &RedisWindows{r: r} }

// windowAddScript: INCRBY and set the expiry only on creation, in one step (no lost EXPIRE if a replica dies
// between the two; PTTL check rather than EXPIRE NX so Redis 6 works too).
var windowAddScript = redisscript.New(`
local c = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return c
`)

// Add implements ratelimit.WindowStore.
func (w *RedisWindows) Add(ctx context.Context, windowKey string, n int, ttl time.Duration) (int, error) {
	if windowKey == "" || strings.ContainsAny(windowKey, " \r\n") {
		return 0, fmt.Errorf("window store: bad window key %q", windowKey)
	}
	if ttl <= 0 {
		ttl = 2 * time.Minute
	}
	w.RoundTrips.Add(1)
	c, err := windowAddScript.Run(ctx, w.r.rdb, []string{w.r.Key("win", windowKey)}, n, ttl.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("window store: add to %s: %w", windowKey, err)
	}
	return c, nil
}

var heartbeatScript = redisscript.New(`
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] ~= '' then
  if ARGV[3] == '1' then redis.call('ZREM', KEYS[1], ARGV[1]) else redis.call('ZADD', KEYS[1], now + ARGV[2], ARGV[1]) end
end
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[2]) * 2, 60000))
return redis.call('ZCARD', KEYS[1])
`)

// Heartbeat records replica id as alive for ttl (measured on Redis's clock) and returns how many replicas are
// alive. An empty id only counts.
func (w *RedisWindows) Heartbeat(ctx context.Context, id string, ttl time.Duration) (int, error) {
	return w.heartbeat(ctx, id, ttl, false)
}

// Leave removes replica id from the roll call (clean shutdown).
func (w *RedisWindows) Leave(ctx context.Context, id string) error {
	_, err := w.heartbeat(ctx, id, time.Second, true)
	return err
}

func (w *RedisWindows) heartbeat(ctx context.Context, id string, ttl time.Duration, leave bool) (int, error) {
	flag := "0"
	if leave {
		flag = "1"
	}
	c, err := heartbeatScript.Run(ctx, w.r.rdb, []string{w.r.Key("replicas")}, id, ttl.Milliseconds(), flag).Int()
	if err != nil {
		return 0, fmt.Errorf("replica heartbeat: %w", err)
	}
	w.live.Store(int64(c))
	return c, nil
}

// LiveReplicas is the replica count at the last successful heartbeat (0 before the first).
func (w *RedisWindows) LiveReplicas() int { return int(w.live.Load()) }

// RunHeartbeat heartbeats id every ttl/3 until ctx ends, then leaves. Errors are passed to onErr (may be nil)
// and retried at the next beat: the last known count stays in LiveReplicas meanwhile.
func (w *RedisWindows) RunHeartbeat(ctx context.Context, id string, ttl time.Duration, onErr func(error)) {
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		if _, err := w.Heartbeat(ctx, id, ttl); err != nil && onErr != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_ = w.Leave(lctx, id)
			cancel()
			return
		case <-t.C:
		}
	}
}
