package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pmops/pmops/internal/redisscript"
)

// Redis is the Store for several replicas sharing one Redis (`-store redis://host:port/db`). Every key lives under
// "pmops:{<namespace>}:" so several installations can share a database; the braces are a Redis Cluster hash tag,
// which keeps all of an installation's keys in one slot (its Lua scripts touch many keys at once).
//
// Writes that must be atomic (taking an action token with its group and tombstones, first sightings, the outbox
// steps of NotifyRedis) are single Lua scripts. Times are stored as fixed-width decimal strings of Unix
// nanoseconds offset by 2^63, so scripts compare them exactly as strings (Lua numbers are doubles, which cannot
// hold nanoseconds); sorted-set scores (milliseconds) only pre-select candidates.
type Redis struct {
	rdb    *redis.Client
	prefix string
	ns     string
	owned  bool // Close closes rdb
}

var _ Store = (*Redis)(nil)

// RedisOptions configure OpenRedis.
type RedisOptions struct {
	// Password is used when the URL carries none (PMOPS_REDIS_PASSWORD in cmd/*).
	Password string
	// Namespace separates installations sharing one database; the URL's ?namespace= wins. Default "pmops".
	Namespace string
	// DialTimeout, ReadTimeout and WriteTimeout bound each connection step. Defaults 2 s, 1 s, 1 s: a replica
	// must notice an unreachable Redis quickly and fall back, not hang its callers.
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
}

// validNamespace is ^[A-Za-z0-9._-]{1,64}$, checked by hand: compiling that regexp at package init cost every
// binary linking this package (stdio MCP included) about 1 ms and 860 allocations at start.
func validNamespace(ns string) bool {
	if len(ns) < 1 || len(ns) > 64 {
		return false
	}
	for i := range len(ns) {
		c := ns[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ParseRedisURL checks a redis:// or rediss:// URL and returns go-redis options and the namespace. The password
// comes from the URL's user info, else from opts.Password. Errors never contain the password.
func ParseRedisURL(raw string, opts RedisOptions) (*redis.Options, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("redis store URL: cannot parse it (want redis://host:port/db or rediss://...)")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, "", fmt.Errorf("redis store URL: scheme %q is not redis:// or rediss://", u.Scheme)
	}
	if u.Host == "" {
		return nil, "", errors.New("redis store URL: no host (want redis://host:port/db)")
	}
	ns := opts.Namespace
	q := u.Query()
	if v := q.Get("namespace"); v != "" {
		ns = v
	}
	q.Del("namespace")
	u.RawQuery = q.Encode()
	if ns == "" {
		ns = "pmops"
	}
	if !validNamespace(ns) {
		return nil, "", fmt.Errorf("redis store namespace %q: use 1-64 letters, digits, '.', '_' or '-'", ns)
	}
	ro, err := redis.ParseURL(u.String())
	if err != nil {
		// go-redis errors may quote the URL; say what is wrong without it.
		return nil, "", fmt.Errorf("redis store URL for %s: %s", u.Host, redactURLError(err.Error(), u))
	}
	if ro.Password == "" {
		ro.Password = opts.Password
	}
	ro.DialTimeout = cmpOr(opts.DialTimeout, 2*time.Second)
	ro.ReadTimeout = cmpOr(opts.ReadTimeout, time.Second)
	ro.WriteTimeout = cmpOr(opts.WriteTimeout, time.Second)
	ro.MaxRetries = 1
	return ro, ns, nil
}

func redactURLError(msg string, u *url.URL) string {
	if p, ok := u.User.Password(); ok && p != "" {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
		msg = strings.ReplaceAll(msg, url.QueryEscape(p), "xxxxx")
	}
	return msg
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// OpenRedis connects to the Redis at rawURL and checks it answers. It fails with a clear error (without the
// password) when the URL is bad or the server refuses or cannot be reached.
func OpenRedis(ctx context.Context, rawURL string, opts RedisOptions) (*Redis, error) {
	ro, ns, err := ParseRedisURL(rawURL, opts)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(ro)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis store at %s: %v (check the address, the password in the URL or PMOPS_REDIS_PASSWORD, and that the server runs)", ro.Addr, err)
	}
	return NewRedis(rdb, ns, true), nil
}

// NewRedis wraps an existing client; Close closes it only when owned.
func NewRedis(rdb *redis.Client, namespace string, owned bool) *Redis {
	return &Redis{rdb: rdb, prefix: "pmops:{" + namespace + "}:", ns: namespace, owned: owned}
}

// Client is the underlying connection, shared by the window store, leases and metrics hooks.
func (r *Redis) Client() *redis.Client { return r.rdb }

// Namespace is the installation's namespace.
func (r *Redis) Namespace() string { return r.ns }

// Key names a key of this installation: prefix + parts joined by ':'.
func (r *Redis) Key(parts ...string) string { return r.prefix + strings.Join(parts, ":") }

// LeaseKey is the key of the lease called name (see internal/lease); fenced writes check it.
func (r *Redis) LeaseKey(name string) string { return r.Key("lease", name) }

// Ping reports whether Redis answers (for /readyz).
func (r *Redis) Ping(ctx context.Context) error { return r.rdb.Ping(ctx).Err() }

// Close implements Store.
func (r *Redis) Close() error {
	if !r.owned {
		return nil
	}
	if err := r.rdb.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("close redis store: %w", err)
	}
	return nil
}

// rts encodes a time for exact comparison in scripts ("" for the zero time).
func rts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmt.Sprintf("%020d", uint64(t.UnixNano())+1<<63)
}

func fromRTS(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad stored time %q", s)
	}
	return time.Unix(0, int64(u-1<<63)).UTC(), nil
}

// rms is a sorted-set score for t: milliseconds, exact in a double; scripts re-check the exact time.
func rms(t time.Time) int64 { return t.UnixMilli() }

// ctxErr wraps a canceled or expired context the way the other backends do.
func ctxErr(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// userHex names a linked key.
func userHex(id UserRef) string {
	return hex.EncodeToString(joinParts(id.EnterpriseID, id.TeamID, id.UserID))
}

// PutLinkedKey implements Store.
func (r *Redis) PutLinkedKey(ctx context.Context, id UserRef, sealed []byte, meta LinkMeta) error {
	if err := ctxErr(ctx, "put linked key"); err != nil {
		return err
	}
	if err := validateLink(id, sealed, meta); err != nil {
		return fmt.Errorf("put linked key: %w", err)
	}
	err := r.rdb.HSet(ctx, r.Key("link", userHex(id)), "sealed", sealed, "uid", meta.PostmanUserID,
		"uname", meta.PostmanUsername, "at", rts(meta.LinkedAt)).Err()
	if err != nil {
		return fmt.Errorf("put linked key for %s: %w", id, err)
	}
	return nil
}

// LinkedKey implements Store.
func (r *Redis) LinkedKey(ctx context.Context, id UserRef) ([]byte, LinkMeta, error) {
	if err := ctxErr(ctx, "get linked key"); err != nil {
		return nil, LinkMeta{}, err
	}
	if err := validateUser(id); err != nil {
		return nil, LinkMeta{}, fmt.Errorf("get linked key: %w", err)
	}
	vals, err := r.rdb.HMGet(ctx, r.Key("link", userHex(id)), "sealed", "uid", "uname", "at").Result()
	if err != nil {
		return nil, LinkMeta{}, fmt.Errorf("get linked key for %s: %w", id, err)
	}
	if vals[0] == nil {
		return nil, LinkMeta{}, fmt.Errorf("linked key for %s: %w", id, ErrNotFound)
	}
	var meta LinkMeta
	meta.PostmanUserID, _ = strconv.ParseInt(str(vals[1]), 10, 64)
	meta.PostmanUsername = str(vals[2])
	if meta.LinkedAt, err = fromRTS(str(vals[3])); err != nil {
		return nil, LinkMeta{}, fmt.Errorf("get linked key for %s: %w", id, err)
	}
	return cloneBytes([]byte(str(vals[0]))), meta, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// DeleteLinkedKey implements Store.
func (r *Redis) DeleteLinkedKey(ctx context.Context, id UserRef) (bool, error) {
	if err := ctxErr(ctx, "delete linked key"); err != nil {
		return false, err
	}
	if err := validateUser(id); err != nil {
		return false, fmt.Errorf("delete linked key: %w", err)
	}
	n, err := r.rdb.Del(ctx, r.Key("link", userHex(id))).Result()
	if err != nil {
		return false, fmt.Errorf("delete linked key for %s: %w", id, err)
	}
	return n > 0, nil
}

// Action tokens: "act:<token hash>" is a hash with the action; "tomb:<token hash>" a hash {s: used|expired,
// f: forget time}; "actz" and "tombz" index them by expiry and forget time (ms) for purges; "grp:<group hash>"
// is the set of a group's live token hashes.
var putActionScript = redisscript.New(`
local p, h = ARGV[1], ARGV[2]
if redis.call('EXISTS', p..'act:'..h) == 1 or redis.call('EXISTS', p..'tomb:'..h) == 1 then return 0 end
redis.call('HSET', p..'act:'..h, 'kind', ARGV[3], 'payload', ARGV[4], 'oe', ARGV[5], 'ot', ARGV[6], 'ou', ARGV[7],
  'ch', ARGV[8], 'created', ARGV[9], 'expires', ARGV[10], 'group', ARGV[11], 'forget', ARGV[12], 'forgetms', ARGV[13])
redis.call('ZADD', p..'actz', ARGV[14], h)
if ARGV[11] ~= '' then redis.call('SADD', p..'grp:'..ARGV[11], h) end
return 1
`)

// takeActionScript returns {status, fields...}: status is ok, notfound, used, expired or notowner.
var takeActionScript = redisscript.New(`
local p, h, be, bt, bu, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local act = p..'act:'..h
if redis.call('EXISTS', act) == 0 then
  local st = redis.call('HGET', p..'tomb:'..h, 's')
  if not st then return {'notfound'} end
  return {st}
end
local f = redis.call('HMGET', act, 'kind', 'payload', 'oe', 'ot', 'ou', 'ch', 'created', 'expires', 'group', 'forget', 'forgetms')
local state = 'used'
if f[8] <= now then
  state = 'expired'
elseif not (f[5] == bu and f[3] == be and (be ~= '' or f[4] == bt)) then
  return {'notowner'}
end
local function bury(m, st, forget, forgetms)
  redis.call('DEL', p..'act:'..m)
  redis.call('ZREM', p..'actz', m)
  redis.call('HSET', p..'tomb:'..m, 's', st, 'f', forget)
  redis.call('ZADD', p..'tombz', forgetms, m)
end
if state == 'used' and f[9] ~= '' then
  local g = p..'grp:'..f[9]
  for _, m in ipairs(redis.call('SMEMBERS', g)) do
    if m ~= h then
      local o = redis.call('HMGET', p..'act:'..m, 'forget', 'forgetms')
      if o[1] then bury(m, 'used', o[1], o[2]) end
    end
  end
  redis.call('DEL', g)
elseif f[9] ~= '' then
  redis.call('SREM', p..'grp:'..f[9], h)
end
bury(h, state, f[10], f[11])
if state == 'expired' then return {'expired'} end
return {'ok', f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]}
`)

var purgeScript = redisscript.New(`
local p, now, nowms = ARGV[1], ARGV[2], ARGV[3]
local n = 0
for _, h in ipairs(redis.call('ZRANGEBYSCORE', p..'actz', '-inf', nowms)) do
  local f = redis.call('HMGET', p..'act:'..h, 'expires', 'group', 'forget', 'forgetms')
  if not f[1] then
    redis.call('ZREM', p..'actz', h)
  elseif f[1] <= now then
    redis.call('DEL', p..'act:'..h)
    redis.call('ZREM', p..'actz', h)
    if f[2] ~= '' then redis.call('SREM', p..'grp:'..f[2], h) end
    if redis.call('EXISTS', p..'tomb:'..h) == 0 then
      redis.call('HSET', p..'tomb:'..h, 's', 'expired', 'f', f[3])
      redis.call('ZADD', p..'tombz', f[4], h)
    end
    n = n + 1
  end
end
for _, k in ipairs(redis.call('ZRANGEBYSCORE', p..'seenz', '-inf', nowms)) do
  local v = redis.call('GET', p..'seen:'..k)
  if not v then
    redis.call('ZREM', p..'seenz', k)
  elseif v <= now then
    redis.call('DEL', p..'seen:'..k)
    redis.call('ZREM', p..'seenz', k)
    n = n + 1
  end
end
for _, h in ipairs(redis.call('ZRANGEBYSCORE', p..'tombz', '-inf', nowms)) do
  local f = redis.call('HGET', p..'tomb:'..h, 'f')
  if not f then
    redis.call('ZREM', p..'tombz', h)
  elseif f <= now then
    redis.call('DEL', p..'tomb:'..h)
    redis.call('ZREM', p..'tombz', h)
    n = n + 1
  end
end
return n
`)

var seenOnceScript = redisscript.New(`
local p, k, now, exp, expms = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local v = redis.call('GET', p..'seen:'..k)
if v and v > now then return 0 end
redis.call('SET', p..'seen:'..k, exp)
redis.call('ZADD', p..'seenz', expms, k)
return 1
`)

// PutAction implements Store.
func (r *Redis) PutAction(ctx context.Context, token string, a PendingAction) error {
	if err := ctxErr(ctx, "put action"); err != nil {
		return err
	}
	if err := validateAction(token, a); err != nil {
		return fmt.Errorf("put action: %w", err)
	}
	forget := forgetAt(a.ExpiresAt)
	n, err := putActionScript.Run(ctx, r.rdb, nil, r.prefix, hex.EncodeToString(tokenHash(token)), a.Kind,
		cloneBytes(a.Payload), a.Owner.EnterpriseID, a.Owner.TeamID, a.Owner.UserID, a.ChannelID, rts(a.CreatedAt),
		rts(a.ExpiresAt), hex.EncodeToString(groupHash(a.Owner, a.Group)), rts(forget), rms(forget)+1,
		rms(a.ExpiresAt)).Int()
	if err != nil {
		return fmt.Errorf("put action: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("put action: %w", ErrExists)
	}
	return nil
}

// TakeAction implements Store. One script reads, checks the owner and expiry, deletes the token and the rest of
// its group and leaves tombstones, so concurrent takers on any replica cannot both win.
func (r *Redis) TakeAction(ctx context.Context, token string, by UserRef, now time.Time) (PendingAction, error) {
	if err := ctxErr(ctx, "take action"); err != nil {
		return PendingAction{}, err
	}
	if err := validateTake(token, by, now); err != nil {
		return PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	res, err := takeActionScript.Run(ctx, r.rdb, nil, r.prefix, hex.EncodeToString(tokenHash(token)),
		by.EnterpriseID, by.TeamID, by.UserID, rts(now)).StringSlice()
	if err != nil {
		return PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	switch res[0] {
	case "notfound":
		return PendingAction{}, fmt.Errorf("take action: %w", ErrNotFound)
	case "used":
		return PendingAction{}, fmt.Errorf("take action: %w", ErrUsed)
	case "expired":
		return PendingAction{}, fmt.Errorf("take action: %w", ErrExpired)
	case "notowner":
		return PendingAction{}, fmt.Errorf("take action: %w", ErrNotOwner)
	case "ok":
	default:
		return PendingAction{}, fmt.Errorf("take action: unexpected script answer %q", res[0])
	}
	a := PendingAction{Kind: res[1], Payload: cloneBytes([]byte(res[2])),
		Owner: UserRef{EnterpriseID: res[3], TeamID: res[4], UserID: res[5]}, ChannelID: res[6]}
	if a.CreatedAt, err = fromRTS(res[7]); err != nil {
		return PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	if a.ExpiresAt, err = fromRTS(res[8]); err != nil {
		return PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	return a, nil
}

// PurgeExpired implements Store.
func (r *Redis) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	if err := ctxErr(ctx, "purge expired"); err != nil {
		return 0, err
	}
	if err := validateTime("now", now, false); err != nil {
		return 0, fmt.Errorf("purge expired: %w", err)
	}
	n, err := purgeScript.Run(ctx, r.rdb, nil, r.prefix, rts(now), rms(now)+1).Int()
	if err != nil {
		return 0, fmt.Errorf("purge expired: %w", err)
	}
	return n, nil
}

// SeenOnce implements Store.
func (r *Redis) SeenOnce(ctx context.Context, key string, ttl time.Duration, now time.Time) (bool, error) {
	if err := ctxErr(ctx, "seen once"); err != nil {
		return false, err
	}
	if err := validateSeen(key, ttl, now); err != nil {
		return false, fmt.Errorf("seen once: %w", err)
	}
	exp := now.Add(ttl)
	n, err := seenOnceScript.Run(ctx, r.rdb, nil, r.prefix, hex.EncodeToString([]byte(key)), rts(now), rts(exp), rms(exp)+1).Int()
	if err != nil {
		return false, fmt.Errorf("seen once: %w", err)
	}
	return n == 1, nil
}

// SetRedisLogger sends go-redis's own messages (reconnect attempts) to logger at debug level instead of the
// standard logger; the gate, lease and heartbeat already log Redis failures once each, with what they do about it.
func SetRedisLogger(logger *slog.Logger) { redis.SetLogger(redisLog{logger}) }

type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// RedisPasswordFromEnv is PMOPS_REDIS_PASSWORD, for callers that build RedisOptions.
func RedisPasswordFromEnv() string { return os.Getenv("PMOPS_REDIS_PASSWORD") }
