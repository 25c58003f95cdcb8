// Package lease elects one leader among replicas for work that must run once (the notifier's poller and outbox
// drain): a Redis lease taken with SET NX PX and renewed while held, with a fencing token.
//
// The token is a counter incremented on every acquisition, stored as the lease's value. A replica acts as leader
// only while IsLeader says so: it holds the lease and its local deadline (the time it sent the last successful
// renewal plus the TTL, minus a safety margin) has not passed. Writes that must come from the leader carry the
// token and are checked against the lease key inside the same Redis script (store.NotifyRedis.Fenced), so a stale
// leader — paused by GC or cut off from Redis past its lease — is refused even if it still believes it leads.
//
// TTL is the promised takeover bound: the key lives 0.8·TTL in Redis (renewed every third of that) and
// followers try every TTL/10, so when the leader dies another replica leads within 0.9·TTL plus one round trip.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pmops/pmops/internal/redisscript"
)

// Leader is what work that must run once asks before each step (store.Leader).
type Leader interface {
	IsLeader() (token int64, ok bool)
}

// Solo is the Leader of a single process (no Redis): it always leads, with token 1.
type Solo struct{}

// IsLeader implements Leader.
func (Solo) IsLeader() (int64, bool) { return 1, true }

// Options configure a Lease.
type Options struct {
	// TTL bounds the takeover after the leader dies. The Redis key lives 0.8·TTL (renewed every third of that);
	// followers try every TTL/10. Default 15 s.
	TTL time.Duration
	// Margin is taken off the local deadline so this process stops leading before Redis lets the lease expire
	// (clock rate drift, the renewal's own latency). Default a tenth of the key's life.
	Margin time.Duration
	// OnChange is called (from the Run goroutine) when this process gains or loses the lease.
	OnChange func(leader bool, token int64)
	// OnError is called when Redis fails an attempt (counted by metrics); the lease is then kept only until its
	// local deadline.
	OnError func(error)
	Logger  *slog.Logger
}

// Lease is one replica's view of a named lease.
type Lease struct {
	rdb     redis.UniversalClient
	key     string
	seqKey  string
	opts    Options
	px      time.Duration // the key's life in Redis
	mu      sync.Mutex
	token   int64
	until   time.Time // local deadline of the current hold (zero: not held)
	leading bool      // what OnChange was last told
}

// New returns a lease on key (store.Redis.LeaseKey gives the key fenced writes check). Call Run to take part.
func New(rdb redis.UniversalClient, key string, opts Options) *Lease {
	if opts.TTL <= 0 {
		opts.TTL = 15 * time.Second
	}
	px := opts.TTL * 8 / 10
	if opts.Margin <= 0 || opts.Margin >= px/2 {
		opts.Margin = px / 10
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Lease{rdb: rdb, key: key, seqKey: key + ":token", opts: opts, px: px}
}

// acquireScript is SET key token NX PX ttl, with the token drawn from the fencing counter only when the lease is
// free (tokens grow with every holder, so a later holder always has a larger one).
var acquireScript = redisscript.New(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local tok = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], tok, 'NX', 'PX', ARGV[1])
return tok
`)

var renewScript = redisscript.New(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

var releaseScript = redisscript.New(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// IsLeader implements Leader: the token of the current hold, while it lasts.
func (l *Lease) IsLeader() (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.token == 0 || !time.Now().Before(l.until) {
		return 0, false
	}
	return l.token, true
}

// TTL is the lease time.
func (l *Lease) TTL() time.Duration { return l.opts.TTL }

// Try makes one attempt: renew the hold, or acquire the lease if it is free. It reports whether this process
// leads afterwards.
func (l *Lease) Try(ctx context.Context) (bool, error) {
	start := time.Now()
	l.mu.Lock()
	tok := l.token
	l.mu.Unlock()
	ttl := strconv.FormatInt(l.px.Milliseconds(), 10)
	var err error
	if tok != 0 {
		var ok int
		ok, err = renewScript.Run(ctx, l.rdb, []string{l.key}, tok, ttl).Int()
		if err == nil && ok == 0 {
			l.lose("lease lost to another replica (expired before renewal)")
			tok = 0
		} else if err == nil {
			l.hold(tok, start)
			return true, nil
		}
	}
	if err == nil && tok == 0 {
		var got int64
		got, err = acquireScript.Run(ctx, l.rdb, []string{l.key, l.seqKey}, ttl).Int64()
		if err == nil {
			if got == 0 {
				return false, nil
			}
			l.hold(got, start)
			return true, nil
		}
	}
	// Redis failed: keep leading only until the local deadline; Run's next attempt tells.
	if l.opts.OnError != nil {
		l.opts.OnError(err)
	}
	_, still := l.IsLeader()
	if !still {
		l.lose("lease could not be renewed: Redis is unreachable")
	}
	return still, fmt.Errorf("lease %s: %w", l.key, err)
}

func (l *Lease) hold(tok int64, start time.Time) {
	l.mu.Lock()
	l.token, l.until = tok, start.Add(l.px-l.opts.Margin)
	changed := !l.leading
	l.leading = true
	l.mu.Unlock()
	if changed {
		l.opts.Logger.Info("leadership acquired", "lease", l.key, "token", tok)
		if l.opts.OnChange != nil {
			l.opts.OnChange(true, tok)
		}
	}
}

func (l *Lease) lose(why string) {
	l.mu.Lock()
	tok := l.token
	l.token, l.until = 0, time.Time{}
	changed := l.leading
	l.leading = false
	l.mu.Unlock()
	if changed {
		level := slog.LevelWarn
		if why == "released" {
			level = slog.LevelInfo
		}
		l.opts.Logger.Log(context.Background(), level, "leadership lost", "lease", l.key, "token", tok, "reason", why)
		if l.opts.OnChange != nil {
			l.opts.OnChange(false, tok)
		}
	}
}

// Run takes part in the election until ctx ends, then releases the lease if held (so a clean shutdown hands
// over at once rather than after TTL).
func (l *Lease) Run(ctx context.Context) {
	renew, poll := l.px/3, l.opts.TTL/10
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			l.Release(context.WithoutCancel(ctx))
			return
		case <-t.C:
		}
		actx, cancel := context.WithTimeout(ctx, poll)
		leading, err := l.Try(actx)
		cancel()
		if err != nil && ctx.Err() == nil {
			l.opts.Logger.Warn("lease attempt failed", "lease", l.key, "err", err)
		}
		// Between renewals the hold may lapse locally (Redis slow); IsLeader reads the deadline itself.
		if leading {
			t.Reset(renew)
		} else {
			t.Reset(poll)
		}
	}
}

// Release gives the lease up if this process holds it.
func (l *Lease) Release(ctx context.Context) {
	l.mu.Lock()
	tok := l.token
	l.mu.Unlock()
	if tok == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := releaseScript.Run(rctx, l.rdb, []string{l.key}, tok).Err(); err != nil && !errors.Is(err, redis.Nil) {
		l.opts.Logger.Warn("lease release failed; it expires on its own", "lease", l.key, "err", err)
	}
	l.lose("released")
}
