package store

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pmops/pmops/internal/redisscript"
)

// NotifyRedis is the NotifyStore on Redis, for several replicas of the notifier. Keys (under the installation
// prefix, "n:" for notifier):
//
//	n:subs, n:mutes, n:streaks   hashes of JSON records
//	n:inbox, n:inbox:seq         stored webhook bodies by ID
//	n:run:<hex key>              a run {j: JSON, seq}; n:runs:<hex monitor> its monitor's set of run keys;
//	                             n:pending the runs not fanned out yet, scored by record order
//	n:ob:<id>, n:ob:seq          an outbox item (immutable JSON "body" plus its mutable fields); n:obkeys delivery
//	                             key → ID; n:obopen:<hex channel> a channel's open IDs; n:obchans the channels
//	                             with open items; n:obstats counts per state; n:threads parent key → thread ts
//	n:monitors, n:mwh            poller state (JSON) and last webhook time per monitor
//	n:notices                    once-only notices
//
// Every step that changes more than one key is one Lua script. A fenced view (see Fenced) adds a lease check to
// the leader's writes.
type NotifyRedis struct {
	r *Redis
	p string // r.prefix + "n:"
	// fence, when set, is checked by the leader-only writes.
	fenceKey string
	leader   Leader
}

var _ NotifyStore = (*NotifyRedis)(nil)

// Notify returns the notifier's store on the same connection. Closing it closes the connection when r owns it.
func (r *Redis) Notify() *NotifyRedis { return &NotifyRedis{r: r, p: r.prefix + "n:"} }

// Close implements NotifyStore.
func (n *NotifyRedis) Close() error { return n.r.Close() }

func (n *NotifyRedis) key(parts ...string) string {
	s := n.p
	for i, p := range parts {
		if i > 0 {
			s += ":"
		}
		s += p
	}
	return s
}

func hx(s string) string { return hex.EncodeToString([]byte(s)) }

func field(parts ...string) string { return hex.EncodeToString(joinParts(parts...)) }

// Lua helpers shared by the outbox scripts. p is the notifier prefix.
const luaOutbox = `
local function obclose(p, id, st, err, at)
  local k = p..'ob:'..id
  local f = redis.call('HMGET', k, 'state', 'ch')
  redis.call('HSET', k, 'state', st, 'err', err, 'dat', at)
  redis.call('HINCRBY', p..'obstats', f[1], -1)
  redis.call('HINCRBY', p..'obstats', st, 1)
  local oq = p..'obopen:'..f[2]
  redis.call('ZREM', oq, id)
  if redis.call('ZCARD', oq) == 0 then redis.call('SREM', p..'obchans', f[2]) end
end
local function isopen(st) return st == 'pending' or st == 'sending' end
-- enqueue reads groups of 6 arguments from ARGV[i]: key, channel hex, body, parent (0/1), not-before, id-less
local function enqueue(p, i, count)
  local n = 0
  for j = 0, count - 1 do
    local a = i + j * 5
    local key, chx, body, parent, nb = ARGV[a], ARGV[a+1], ARGV[a+2], ARGV[a+3], ARGV[a+4]
    if redis.call('HEXISTS', p..'obkeys', key) == 0 then
      local id = redis.call('INCR', p..'ob:seq')
      redis.call('HSET', p..'ob:'..id, 'body', body, 'key', key, 'ch', chx, 'parent', parent, 'state', 'pending',
        'att', 0, 'nb', nb, 'err', '', 'ts', '', 'sat', '', 'dat', '')
      redis.call('HSET', p..'obkeys', key, id)
      redis.call('ZADD', p..'obopen:'..chx, id, id)
      redis.call('SADD', p..'obchans', chx)
      redis.call('HINCRBY', p..'obstats', 'pending', 1)
      n = n + 1
    end
  end
  return n
end
-- fenced refuses the write unless the lease key holds the caller's token ('' = no fence).
local function fenced(lk, tok)
  if lk == '' then return false end
  return redis.call('GET', lk) ~= tok
end
`

// PutSubscription implements NotifyStore.
func (n *NotifyRedis) PutSubscription(ctx context.Context, s Subscription) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := validateSubscription(s); err != nil {
		return false, fmt.Errorf("put subscription: %w", err)
	}
	s.CreatedAt = normalizeTime(s.CreatedAt)
	s.Paused, s.PauseNote, s.PausedAt = false, "", time.Time{}
	j, err := json.Marshal(s)
	if err != nil {
		return false, fmt.Errorf("put subscription: %w", err)
	}
	added, err := n.r.rdb.HSet(ctx, n.key("subs"), field(s.ChannelID, string(s.Target.Kind), s.Target.ID), j).Result()
	if err != nil {
		return false, fmt.Errorf("put subscription of %s: %w", s.ChannelID, err)
	}
	return added == 1, nil
}

// DeleteSubscription implements NotifyStore.
func (n *NotifyRedis) DeleteSubscription(ctx context.Context, channelID string, target Target) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := validateChannel(channelID); err != nil {
		return false, fmt.Errorf("delete subscription: %w", err)
	}
	if err := validateTarget(target); err != nil {
		return false, fmt.Errorf("delete subscription: %w", err)
	}
	c, err := n.r.rdb.HDel(ctx, n.key("subs"), field(channelID, string(target.Kind), target.ID)).Result()
	if err != nil {
		return false, fmt.Errorf("delete subscription of %s: %w", channelID, err)
	}
	return c > 0, nil
}

func decodeSub(v string) (Subscription, error) {
	var s Subscription
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return s, fmt.Errorf("decode subscription: %w", err)
	}
	s.CreatedAt, s.PausedAt = normalizeTime(s.CreatedAt), normalizeTime(s.PausedAt)
	return s, nil
}

// Subscriptions implements NotifyStore.
func (n *NotifyRedis) Subscriptions(ctx context.Context, f SubscriptionFilter) ([]Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	all, err := n.r.rdb.HGetAll(ctx, n.key("subs")).Result()
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	var out []Subscription
	for _, v := range all {
		s, err := decodeSub(v)
		if err != nil {
			return nil, err
		}
		if matchSub(s, f) {
			out = append(out, s)
		}
	}
	sortSubs(out)
	return out, nil
}

// PauseChannel implements NotifyStore. It re-reads under WATCH and writes in MULTI, so a subscription changed
// meanwhile (by another replica) is not overwritten with stale data.
func (n *NotifyRedis) PauseChannel(ctx context.Context, channelID, reason string, at time.Time) ([]Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := validateChannel(channelID); err != nil {
		return nil, fmt.Errorf("pause channel: %w", err)
	}
	if err := validateTime("pause time", at, false); err != nil {
		return nil, fmt.Errorf("pause channel: %w", err)
	}
	var out []Subscription
	key := n.key("subs")
	err := n.watch(ctx, func(tx *redis.Tx) error {
		out = nil
		all, err := tx.HGetAll(ctx, key).Result()
		if err != nil {
			return err
		}
		var args []any
		for fld, v := range all {
			s, err := decodeSub(v)
			if err != nil {
				return err
			}
			if s.ChannelID != channelID || s.Paused {
				continue
			}
			out = append(out, s)
			s.Paused, s.PauseNote, s.PausedAt = true, reason, normalizeTime(at)
			j, err := json.Marshal(s)
			if err != nil {
				return err
			}
			args = append(args, fld, j)
		}
		if len(args) == 0 {
			return nil
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, key, args...)
			return nil
		})
		return err
	}, key)
	if err != nil {
		return nil, fmt.Errorf("pause channel %s: %w", channelID, err)
	}
	sortSubs(out)
	return out, nil
}

// watch runs fn under WATCH keys, retrying when another client changed them first.
func (n *NotifyRedis) watch(ctx context.Context, fn func(*redis.Tx) error, keys ...string) error {
	for range 100 {
		err := n.r.rdb.Watch(ctx, fn, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return errors.New("too much contention on the subscriptions; try again")
}

// PutMute implements NotifyStore.
func (n *NotifyRedis) PutMute(ctx context.Context, m Mute) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateMute(m); err != nil {
		return fmt.Errorf("put mute: %w", err)
	}
	m.Until, m.CreatedAt = normalizeTime(m.Until), normalizeTime(m.CreatedAt)
	j, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("put mute: %w", err)
	}
	if err := n.r.rdb.HSet(ctx, n.key("mutes"), field(m.ChannelID, m.MonitorUID), j).Err(); err != nil {
		return fmt.Errorf("put mute in %s: %w", m.ChannelID, err)
	}
	return nil
}

func decodeMute(v string) (Mute, error) {
	var m Mute
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return m, fmt.Errorf("decode mute: %w", err)
	}
	m.Until, m.CreatedAt = normalizeTime(m.Until), normalizeTime(m.CreatedAt)
	return m, nil
}

// DeleteMute implements NotifyStore.
func (n *NotifyRedis) DeleteMute(ctx context.Context, channelID, monitorUID string, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := validateChannel(channelID); err != nil {
		return false, fmt.Errorf("delete mute: %w", err)
	}
	key, fld := n.key("mutes"), field(channelID, monitorUID)
	var get *redis.StringCmd
	_, err := n.r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		get = p.HGet(ctx, key, fld)
		p.HDel(ctx, key, fld)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete mute in %s: %w", channelID, err)
	}
	m, err := decodeMute(get.Val())
	if err != nil {
		return false, err
	}
	return m.Until.After(now), nil
}

// Mutes implements NotifyStore.
func (n *NotifyRedis) Mutes(ctx context.Context, channelID string, now time.Time) ([]Mute, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	all, err := n.r.rdb.HGetAll(ctx, n.key("mutes")).Result()
	if err != nil {
		return nil, fmt.Errorf("list mutes: %w", err)
	}
	var out []Mute
	for _, v := range all {
		m, err := decodeMute(v)
		if err != nil {
			return nil, err
		}
		if (channelID == "" || m.ChannelID == channelID) && m.Until.After(now) {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Mute) int {
		return cmp.Or(cmp.Compare(a.ChannelID, b.ChannelID), cmp.Compare(a.MonitorUID, b.MonitorUID))
	})
	return out, nil
}

var addInboxScript = redisscript.New(`
local id = redis.call('INCR', ARGV[1]..'inbox:seq')
redis.call('HSET', ARGV[1]..'inbox', id, ARGV[2])
return id
`)

// AddInbox implements NotifyStore.
func (n *NotifyRedis) AddInbox(ctx context.Context, it InboxItem) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(it.Body) == 0 {
		return 0, fmt.Errorf("add inbox: %w: empty body", ErrInvalid)
	}
	if err := validateTime("receive time", it.ReceivedAt, false); err != nil {
		return 0, fmt.Errorf("add inbox: %w", err)
	}
	it.ID, it.ReceivedAt = 0, normalizeTime(it.ReceivedAt)
	j, err := json.Marshal(it)
	if err != nil {
		return 0, fmt.Errorf("add inbox: %w", err)
	}
	id, err := addInboxScript.Run(ctx, n.r.rdb, nil, n.p, j).Int64()
	if err != nil {
		return 0, fmt.Errorf("add inbox: %w", err)
	}
	return id, nil
}

// Inbox implements NotifyStore.
func (n *NotifyRedis) Inbox(ctx context.Context, after int64, limit int) ([]InboxItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	all, err := n.r.rdb.HGetAll(ctx, n.key("inbox")).Result()
	if err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	out := make([]InboxItem, 0, len(all))
	for id, v := range all {
		n, _ := strconv.ParseInt(id, 10, 64)
		if n <= after {
			continue
		}
		var it InboxItem
		if err := json.Unmarshal([]byte(v), &it); err != nil {
			return nil, fmt.Errorf("decode inbox item %s: %w", id, err)
		}
		it.ID = n
		it.ReceivedAt = normalizeTime(it.ReceivedAt)
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b InboxItem) int { return cmp.Compare(a.ID, b.ID) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// DropInbox implements NotifyStore.
func (n *NotifyRedis) DropInbox(ctx context.Context, id int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := n.r.rdb.HDel(ctx, n.key("inbox"), strconv.FormatInt(id, 10)).Err(); err != nil {
		return fmt.Errorf("drop inbox item %d: %w", id, err)
	}
	return nil
}

var recordRunScript = redisscript.New(`
local p, key, kx, mx, j, inbox = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if inbox ~= '0' then redis.call('HDEL', p..'inbox', inbox) end
if redis.call('EXISTS', p..'run:'..kx) == 1 then return 0 end
local seq = redis.call('INCR', p..'run:seq')
redis.call('HSET', p..'run:'..kx, 'j', j, 'seq', seq)
redis.call('SADD', p..'runs:'..mx, key)
redis.call('ZADD', p..'pending', seq, key)
return 1
`)

// RecordRun implements NotifyStore.
func (n *NotifyRedis) RecordRun(ctx context.Context, r NotifyRun, inboxID int64, bound HistoryBound, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := validateRun(r); err != nil {
		return false, fmt.Errorf("record run: %w", err)
	}
	j, err := json.Marshal(normRun(r))
	if err != nil {
		return false, fmt.Errorf("record run: %w", err)
	}
	first, err := recordRunScript.Run(ctx, n.r.rdb, nil, n.p, r.Key, hx(r.Key), hx(r.MonitorUID), j,
		strconv.FormatInt(inboxID, 10)).Int()
	if err != nil {
		return false, fmt.Errorf("record run %s: %w", r.Key, err)
	}
	if first == 1 {
		if err := n.prune(ctx, r.MonitorUID, bound, now); err != nil {
			return true, fmt.Errorf("record run %s: prune history: %w", r.Key, err)
		}
	}
	return first == 1, nil
}

type redisRun struct {
	run     NotifyRun
	seq     int64
	pending bool
}

// monitorRuns reads a monitor's runs; pending says which are not fanned out yet.
func (n *NotifyRedis) monitorRuns(ctx context.Context, monitor string) ([]redisRun, error) {
	keys, err := n.r.rdb.SMembers(ctx, n.key("runs", hx(monitor))).Result()
	if err != nil {
		return nil, err
	}
	return n.readRuns(ctx, keys)
}

func (n *NotifyRedis) readRuns(ctx context.Context, keys []string) ([]redisRun, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	pipe := n.r.rdb.Pipeline()
	gets := make([]*redis.SliceCmd, len(keys))
	scores := make([]*redis.FloatCmd, len(keys))
	for i, k := range keys {
		gets[i] = pipe.HMGet(ctx, n.key("run", hx(k)), "j", "seq")
		scores[i] = pipe.ZScore(ctx, n.key("pending"), k)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]redisRun, 0, len(keys))
	for i := range keys {
		v := gets[i].Val()
		if len(v) < 2 || v[0] == nil {
			continue // pruned meanwhile
		}
		var rr redisRun
		if err := json.Unmarshal([]byte(str(v[0])), &rr.run); err != nil {
			return nil, fmt.Errorf("decode run %q: %w", keys[i], err)
		}
		rr.run = normRun(rr.run)
		rr.seq, _ = strconv.ParseInt(str(v[1]), 10, 64)
		rr.pending = scores[i].Err() == nil
		out = append(out, rr)
	}
	return out, nil
}

func redisHistoryOrder(a, b redisRun) int {
	return cmp.Or(runTime(b.run).Compare(runTime(a.run)), cmp.Compare(b.seq, a.seq))
}

func (n *NotifyRedis) prune(ctx context.Context, monitor string, bound HistoryBound, now time.Time) error {
	if bound.MaxRuns <= 0 && bound.MaxAge <= 0 {
		return nil
	}
	list, err := n.monitorRuns(ctx, monitor)
	if err != nil {
		return err
	}
	slices.SortFunc(list, redisHistoryOrder)
	cut := bound.cutoff(now)
	var victims []string
	for i, rr := range list {
		if rr.pending {
			continue
		}
		if (bound.MaxRuns > 0 && i >= bound.MaxRuns) || (!cut.IsZero() && runTime(rr.run).Before(cut)) {
			victims = append(victims, rr.run.Key)
		}
	}
	if len(victims) == 0 {
		return nil
	}
	return pruneRunsScript.Run(ctx, n.r.rdb, nil, append([]any{n.p, hx(monitor)}, anyHexPairs(victims)...)...).Err()
}

// pruneRunsScript gets pairs (run key, hex run key) and deletes each run not pending.
var pruneRunsScript = redisscript.New(`
local p, mx = ARGV[1], ARGV[2]
for i = 3, #ARGV, 2 do
  if not redis.call('ZSCORE', p..'pending', ARGV[i]) then
    redis.call('DEL', p..'run:'..ARGV[i+1])
    redis.call('SREM', p..'runs:'..mx, ARGV[i])
  end
end
return 1
`)

func anyHexPairs(keys []string) []any {
	out := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		out = append(out, k, hx(k))
	}
	return out
}

// PendingRuns implements NotifyStore.
func (n *NotifyRedis) PendingRuns(ctx context.Context, limit int) ([]NotifyRun, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	stop := int64(-1)
	if limit > 0 {
		stop = int64(limit) - 1
	}
	keys, err := n.r.rdb.ZRange(ctx, n.key("pending"), 0, stop).Result()
	if err != nil {
		return nil, fmt.Errorf("pending runs: %w", err)
	}
	list, err := n.readRuns(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("pending runs: %w", err)
	}
	slices.SortFunc(list, func(a, b redisRun) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]NotifyRun, len(list))
	for i, rr := range list {
		out[i] = rr.run
	}
	return out, nil
}

// Runs implements NotifyStore.
func (n *NotifyRedis) Runs(ctx context.Context, monitorUID string, limit int) ([]NotifyRun, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	list, err := n.monitorRuns(ctx, monitorUID)
	if err != nil {
		return nil, fmt.Errorf("runs of %s: %w", monitorUID, err)
	}
	slices.SortFunc(list, redisHistoryOrder)
	if limit > 0 && len(list) > limit {
		list = list[:limit]
	}
	out := make([]NotifyRun, len(list))
	for i, rr := range list {
		out[i] = rr.run
	}
	return out, nil
}

func decodeStreak(v string) (Streak, error) {
	var s Streak
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return s, fmt.Errorf("decode streak: %w", err)
	}
	s.StartedAt, s.LastRunAt = normalizeTime(s.StartedAt), normalizeTime(s.LastRunAt)
	return s, nil
}

// Streak implements NotifyStore.
func (n *NotifyRedis) Streak(ctx context.Context, channelID, monitorUID string) (Streak, error) {
	if err := ctx.Err(); err != nil {
		return Streak{}, err
	}
	v, err := n.r.rdb.HGet(ctx, n.key("streaks"), field(channelID, monitorUID)).Result()
	if errors.Is(err, redis.Nil) {
		return Streak{ChannelID: channelID, MonitorUID: monitorUID}, nil
	}
	if err != nil {
		return Streak{}, fmt.Errorf("streak of %s in %s: %w", monitorUID, channelID, err)
	}
	return decodeStreak(v)
}

// outboxBody is the immutable part of an outbox item.
type outboxBody struct {
	Key        string
	ChannelID  string
	Kind       OutboxKind
	Parent     bool
	ParentKey  string
	Broadcast  bool
	MonitorUID string
	RunKey     string
	Payload    []byte
	CreatedAt  time.Time
}

// enqueueArgs encodes items for the enqueue helper (5 arguments each).
func enqueueArgs(items []OutboxItem, now time.Time) ([]any, error) {
	args := make([]any, 0, 5*len(items))
	for _, it := range items {
		b, err := json.Marshal(outboxBody{Key: it.Key, ChannelID: it.ChannelID, Kind: it.Kind, Parent: it.Parent,
			ParentKey: it.ParentKey, Broadcast: it.Broadcast, MonitorUID: it.MonitorUID, RunKey: it.RunKey,
			Payload: cloneBytes(it.Payload), CreatedAt: normalizeTime(now)})
		if err != nil {
			return nil, err
		}
		parent := "0"
		if it.Parent {
			parent = "1"
		}
		args = append(args, it.Key, hx(it.ChannelID), b, parent, rts(it.NotBefore))
	}
	return args, nil
}

var commitFanoutScript = redisscript.New(luaOutbox + `
local p, key, kx, lk, tok, ns = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
if fenced(lk, tok) then return 'fenced' end
if redis.call('EXISTS', p..'run:'..kx) == 0 then return 'notfound' end
if not redis.call('ZSCORE', p..'pending', key) then return 'fanned' end
for i = 0, ns - 1 do
  redis.call('HSET', p..'streaks', ARGV[7 + 2*i], ARGV[8 + 2*i])
end
local ni = 7 + 2*ns
enqueue(p, ni + 1, tonumber(ARGV[ni]))
redis.call('ZREM', p..'pending', key)
return 'ok'
`)

// CommitFanout implements NotifyStore.
func (n *NotifyRedis) CommitFanout(ctx context.Context, runKey string, streaks []Streak, items []OutboxItem, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, s := range streaks {
		if err := validateStreak(s); err != nil {
			return fmt.Errorf("commit fan-out: %w", err)
		}
	}
	for _, it := range items {
		if err := validateOutbox(it); err != nil {
			return fmt.Errorf("commit fan-out: %w", err)
		}
	}
	lk, tok, err := n.fence("commit fan-out")
	if err != nil {
		return err
	}
	args := []any{n.p, runKey, hx(runKey), lk, tok, len(streaks)}
	for _, s := range streaks {
		s.StartedAt, s.LastRunAt = normalizeTime(s.StartedAt), normalizeTime(s.LastRunAt)
		j, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("commit fan-out: %w", err)
		}
		args = append(args, field(s.ChannelID, s.MonitorUID), j)
	}
	ea, err := enqueueArgs(items, now)
	if err != nil {
		return fmt.Errorf("commit fan-out: %w", err)
	}
	args = append(append(args, len(items)), ea...)
	res, err := commitFanoutScript.Run(ctx, n.r.rdb, nil, args...).Text()
	if err != nil {
		return fmt.Errorf("commit fan-out of run %q: %w", runKey, err)
	}
	switch res {
	case "ok":
		return nil
	case "notfound":
		return fmt.Errorf("commit fan-out of run %q: %w", runKey, ErrNotFound)
	case "fanned":
		return fmt.Errorf("commit fan-out of run %q: %w", runKey, ErrFannedOut)
	default:
		return fenceErr("commit fan-out", res)
	}
}

var enqueueScript = redisscript.New(luaOutbox + `
return enqueue(ARGV[1], 3, tonumber(ARGV[2]))
`)

// EnqueueOutbox implements NotifyStore.
func (n *NotifyRedis) EnqueueOutbox(ctx context.Context, items []OutboxItem, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	for _, it := range items {
		if err := validateOutbox(it); err != nil {
			return 0, fmt.Errorf("enqueue: %w", err)
		}
	}
	if len(items) == 0 {
		return 0, nil
	}
	ea, err := enqueueArgs(items, now)
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	c, err := enqueueScript.Run(ctx, n.r.rdb, nil, append([]any{n.p, len(items)}, ea...)...).Int()
	if err != nil {
		return 0, fmt.Errorf("enqueue: %w", err)
	}
	return c, nil
}

var dueScript = redisscript.New(`
local p, now = ARGV[1], ARGV[2]
local out = {}
for _, chx in ipairs(redis.call('SMEMBERS', p..'obchans')) do
  local head = redis.call('ZRANGE', p..'obopen:'..chx, 0, 0)[1]
  if head then
    local f = redis.call('HMGET', p..'ob:'..head, 'state', 'nb')
    if f[1] == 'sending' or f[2] == '' or f[2] <= now then table.insert(out, head) end
  end
end
return out
`)

var outboxFields = []string{"body", "state", "att", "nb", "err", "ts", "sat", "dat"}

func decodeOutbox(id int64, v []any) (OutboxItem, error) {
	if len(v) < len(outboxFields) || v[0] == nil {
		return OutboxItem{}, fmt.Errorf("delivery %d: %w", id, ErrNotFound)
	}
	var b outboxBody
	if err := json.Unmarshal([]byte(str(v[0])), &b); err != nil {
		return OutboxItem{}, fmt.Errorf("decode delivery %d: %w", id, err)
	}
	it := OutboxItem{ID: id, Key: b.Key, ChannelID: b.ChannelID, Kind: b.Kind, Parent: b.Parent, ParentKey: b.ParentKey,
		Broadcast: b.Broadcast, MonitorUID: b.MonitorUID, RunKey: b.RunKey, Payload: cloneBytes(b.Payload),
		CreatedAt: normalizeTime(b.CreatedAt), State: OutboxState(str(v[1])), LastError: str(v[4]), TS: str(v[5])}
	it.Attempts, _ = strconv.Atoi(str(v[2]))
	var err error
	for _, tf := range []struct {
		dst *time.Time
		src any
	}{{&it.NotBefore, v[3]}, {&it.SendingAt, v[6]}, {&it.DoneAt, v[7]}} {
		if *tf.dst, err = fromRTS(str(tf.src)); err != nil {
			return OutboxItem{}, fmt.Errorf("decode delivery %d: %w", id, err)
		}
	}
	return it, nil
}

func (n *NotifyRedis) readOutbox(ctx context.Context, ids []int64) ([]OutboxItem, error) {
	pipe := n.r.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, n.key("ob", strconv.FormatInt(id, 10)), outboxFields...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make([]OutboxItem, 0, len(ids))
	for i, id := range ids {
		it, err := decodeOutbox(id, cmds[i].Val())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// DueOutbox implements NotifyStore.
func (n *NotifyRedis) DueOutbox(ctx context.Context, now time.Time, limit int) ([]OutboxItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw, err := dueScript.Run(ctx, n.r.rdb, nil, n.p, rts(now)).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	ids := make([]int64, 0, len(raw))
	for _, s := range raw {
		id, _ := strconv.ParseInt(s, 10, 64)
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	if len(ids) == 0 {
		return nil, nil
	}
	out, err := n.readOutbox(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	return out, nil
}

var markSendingScript = redisscript.New(luaOutbox + `
local p, id, now, lk, tok = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if fenced(lk, tok) then return 'fenced' end
local k = p..'ob:'..id
local st = redis.call('HGET', k, 'state')
if not st or not isopen(st) then return 'notfound' end
redis.call('HSET', k, 'state', 'sending', 'sat', now)
redis.call('HINCRBY', k, 'att', 1)
redis.call('HINCRBY', p..'obstats', st, -1)
redis.call('HINCRBY', p..'obstats', 'sending', 1)
return 'ok'
`)

// MarkSending implements NotifyStore.
func (n *NotifyRedis) MarkSending(ctx context.Context, id int64, now time.Time) (OutboxItem, error) {
	if err := ctx.Err(); err != nil {
		return OutboxItem{}, err
	}
	lk, tok, err := n.fence("mark sending")
	if err != nil {
		return OutboxItem{}, err
	}
	res, err := markSendingScript.Run(ctx, n.r.rdb, nil, n.p, id, rts(now), lk, tok).Text()
	if err != nil {
		return OutboxItem{}, fmt.Errorf("mark sending %d: %w", id, err)
	}
	switch res {
	case "ok":
	case "notfound":
		return OutboxItem{}, fmt.Errorf("mark sending %d: %w", id, ErrNotFound)
	default:
		return OutboxItem{}, fenceErr("mark sending", res)
	}
	items, err := n.readOutbox(ctx, []int64{id})
	if err != nil {
		return OutboxItem{}, fmt.Errorf("mark sending %d: %w", id, err)
	}
	if len(items) == 0 {
		return OutboxItem{}, fmt.Errorf("mark sending %d: %w", id, ErrNotFound)
	}
	return items[0], nil
}

var completeScript = redisscript.New(luaOutbox + `
local p, id, ts, now, lk, tok = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if fenced(lk, tok) then return 'fenced' end
local k = p..'ob:'..id
local f = redis.call('HMGET', k, 'state', 'parent', 'key')
if not f[1] then return 'notfound' end
if not isopen(f[1]) then return 'ok' end
obclose(p, id, 'done', '', now)
redis.call('HSET', k, 'ts', ts)
if f[2] == '1' and ts ~= '' then redis.call('HSET', p..'threads', f[3], ts) end
return 'ok'
`)

// CompleteOutbox implements NotifyStore.
func (n *NotifyRedis) CompleteOutbox(ctx context.Context, id int64, ts string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	lk, tok, err := n.fence("complete delivery")
	if err != nil {
		return err
	}
	res, err := completeScript.Run(ctx, n.r.rdb, nil, n.p, id, ts, rts(now), lk, tok).Text()
	if err != nil {
		return fmt.Errorf("complete delivery %d: %w", id, err)
	}
	return outboxAnswer("complete delivery", id, res)
}

func outboxAnswer(op string, id int64, res string) error {
	switch res {
	case "ok":
		return nil
	case "notfound":
		return fmt.Errorf("%s %d: %w", op, id, ErrNotFound)
	default:
		return fenceErr(op, res)
	}
}

var retryScript = redisscript.New(luaOutbox + `
local p, id, nb, err, lk, tok = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if fenced(lk, tok) then return 'fenced' end
local k = p..'ob:'..id
local st = redis.call('HGET', k, 'state')
if not st or not isopen(st) then return 'notfound' end
redis.call('HSET', k, 'state', 'pending', 'nb', nb, 'err', err)
redis.call('HINCRBY', p..'obstats', st, -1)
redis.call('HINCRBY', p..'obstats', 'pending', 1)
return 'ok'
`)

// RetryOutbox implements NotifyStore.
func (n *NotifyRedis) RetryOutbox(ctx context.Context, id int64, notBefore time.Time, lastErr string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	lk, tok, err := n.fence("retry delivery")
	if err != nil {
		return err
	}
	res, err := retryScript.Run(ctx, n.r.rdb, nil, n.p, id, rts(notBefore), lastErr, lk, tok).Text()
	if err != nil {
		return fmt.Errorf("retry delivery %d: %w", id, err)
	}
	return outboxAnswer("retry delivery", id, res)
}

var dropScript = redisscript.New(luaOutbox + `
local p, id, reason, now, lk, tok = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if fenced(lk, tok) then return 'fenced' end
local st = redis.call('HGET', p..'ob:'..id, 'state')
if not st then return 'notfound' end
if isopen(st) then obclose(p, id, 'dropped', reason, now) end
return 'ok'
`)

// DropOutbox implements NotifyStore.
func (n *NotifyRedis) DropOutbox(ctx context.Context, id int64, reason string, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	lk, tok, err := n.fence("drop delivery")
	if err != nil {
		return err
	}
	res, err := dropScript.Run(ctx, n.r.rdb, nil, n.p, id, reason, rts(now), lk, tok).Text()
	if err != nil {
		return fmt.Errorf("drop delivery %d: %w", id, err)
	}
	return outboxAnswer("drop delivery", id, res)
}

var dropChannelScript = redisscript.New(luaOutbox + `
local p, chx, reason, now, lk, tok = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if fenced(lk, tok) then return -1 end
local n = 0
for _, id in ipairs(redis.call('ZRANGE', p..'obopen:'..chx, 0, -1)) do
  obclose(p, id, 'dropped', reason, now)
  n = n + 1
end
return n
`)

// DropChannel closes every open item of channelID without delivering it (the bot left the channel) and returns
// how many it closed.
func (n *NotifyRedis) DropChannel(ctx context.Context, channelID, reason string, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	lk, tok, err := n.fence("drop deliveries")
	if err != nil {
		return 0, err
	}
	c, err := dropChannelScript.Run(ctx, n.r.rdb, nil, n.p, hx(channelID), reason, rts(now), lk, tok).Int()
	if err != nil {
		return 0, fmt.Errorf("drop deliveries of %s: %w", channelID, err)
	}
	if c < 0 {
		return 0, fenceErr("drop deliveries", "fenced")
	}
	return c, nil
}

// Outbox implements NotifyStore.
func (n *NotifyRedis) Outbox(ctx context.Context, key string) (OutboxItem, error) {
	if err := ctx.Err(); err != nil {
		return OutboxItem{}, err
	}
	id, err := n.r.rdb.HGet(ctx, n.key("obkeys"), key).Int64()
	if errors.Is(err, redis.Nil) {
		return OutboxItem{}, fmt.Errorf("delivery %q: %w", key, ErrNotFound)
	}
	if err != nil {
		return OutboxItem{}, fmt.Errorf("delivery %q: %w", key, err)
	}
	items, err := n.readOutbox(ctx, []int64{id})
	if err != nil {
		return OutboxItem{}, fmt.Errorf("delivery %q: %w", key, err)
	}
	if len(items) == 0 {
		return OutboxItem{}, fmt.Errorf("delivery %q: %w", key, ErrNotFound)
	}
	return items[0], nil
}

// ThreadTS implements NotifyStore.
func (n *NotifyRedis) ThreadTS(ctx context.Context, parentKey string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	ts, err := n.r.rdb.HGet(ctx, n.key("threads"), parentKey).Result()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("thread of %q: %w", parentKey, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("thread of %q: %w", parentKey, err)
	}
	return ts, nil
}

// OutboxStats implements NotifyStore.
func (n *NotifyRedis) OutboxStats(ctx context.Context) (map[OutboxState]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	all, err := n.r.rdb.HGetAll(ctx, n.key("obstats")).Result()
	if err != nil {
		return nil, fmt.Errorf("outbox stats: %w", err)
	}
	out := map[OutboxState]int{}
	for st, v := range all {
		if c, _ := strconv.Atoi(v); c != 0 {
			out[OutboxState(st)] = c
		}
	}
	return out, nil
}

// OldestOpen returns the creation time of the oldest open outbox item (zero when none), for the outbox age
// metric.
func (n *NotifyRedis) OldestOpen(ctx context.Context) (time.Time, error) {
	chans, err := n.r.rdb.SMembers(ctx, n.key("obchans")).Result()
	if err != nil {
		return time.Time{}, err
	}
	var oldest int64
	for _, chx := range chans {
		h, err := n.r.rdb.ZRange(ctx, n.key("obopen", chx), 0, 0).Result()
		if err != nil {
			return time.Time{}, err
		}
		if len(h) == 1 {
			if id, _ := strconv.ParseInt(h[0], 10, 64); oldest == 0 || id < oldest {
				oldest = id
			}
		}
	}
	if oldest == 0 {
		return time.Time{}, nil
	}
	items, err := n.readOutbox(ctx, []int64{oldest})
	if err != nil || len(items) == 0 {
		return time.Time{}, err
	}
	return items[0].CreatedAt, nil
}

var putMonitorScript = redisscript.New(`
local p, uid, j, wh = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('HSET', p..'monitors', uid, j)
if wh == '' then redis.call('HDEL', p..'mwh', uid) else redis.call('HSET', p..'mwh', uid, wh) end
return 1
`)

// PutMonitorState implements NotifyStore.
func (n *NotifyRedis) PutMonitorState(ctx context.Context, m MonitorState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateMonitorState(m); err != nil {
		return fmt.Errorf("put monitor state: %w", err)
	}
	m = normMonitorState(m)
	wh := rts(m.LastWebhookAt)
	m.LastWebhookAt = time.Time{}
	j, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("put monitor state: %w", err)
	}
	if err := putMonitorScript.Run(ctx, n.r.rdb, nil, n.p, m.MonitorUID, j, wh).Err(); err != nil {
		return fmt.Errorf("put monitor state %s: %w", m.MonitorUID, err)
	}
	return nil
}

func decodeMonitor(v, wh string) (MonitorState, error) {
	var m MonitorState
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return m, fmt.Errorf("decode monitor state: %w", err)
	}
	var err error
	if m.LastWebhookAt, err = fromRTS(wh); err != nil {
		return m, err
	}
	return normMonitorState(m), nil
}

// MonitorState implements NotifyStore.
func (n *NotifyRedis) MonitorState(ctx context.Context, uid string) (MonitorState, error) {
	if err := ctx.Err(); err != nil {
		return MonitorState{}, err
	}
	var j, wh *redis.StringCmd
	_, err := n.r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		j = p.HGet(ctx, n.key("monitors"), uid)
		wh = p.HGet(ctx, n.key("mwh"), uid)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return MonitorState{}, fmt.Errorf("monitor state %q: %w", uid, err)
	}
	if errors.Is(j.Err(), redis.Nil) {
		return MonitorState{}, fmt.Errorf("monitor state %q: %w", uid, ErrNotFound)
	}
	return decodeMonitor(j.Val(), wh.Val())
}

// MonitorStates implements NotifyStore.
func (n *NotifyRedis) MonitorStates(ctx context.Context) ([]MonitorState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var all, whs *redis.MapStringStringCmd
	_, err := n.r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		all = p.HGetAll(ctx, n.key("monitors"))
		whs = p.HGetAll(ctx, n.key("mwh"))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("monitor states: %w", err)
	}
	out := make([]MonitorState, 0, len(all.Val()))
	for uid, v := range all.Val() {
		m, err := decodeMonitor(v, whs.Val()[uid])
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b MonitorState) int { return cmp.Compare(a.MonitorUID, b.MonitorUID) })
	return out, nil
}

var noteWebhookScript = redisscript.New(`
local p, uid, at, j = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('HEXISTS', p..'monitors', uid) == 0 then redis.call('HSET', p..'monitors', uid, j) end
local cur = redis.call('HGET', p..'mwh', uid)
if not cur or at > cur then redis.call('HSET', p..'mwh', uid, at) end
return 1
`)

// NoteWebhook implements NotifyStore.
func (n *NotifyRedis) NoteWebhook(ctx context.Context, uid string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateKey("monitor UID", uid); err != nil {
		return fmt.Errorf("note webhook: %w", err)
	}
	if err := validateTime("webhook time", at, false); err != nil {
		return fmt.Errorf("note webhook: %w", err)
	}
	j, err := json.Marshal(MonitorState{MonitorUID: uid})
	if err != nil {
		return fmt.Errorf("note webhook: %w", err)
	}
	if err := noteWebhookScript.Run(ctx, n.r.rdb, nil, n.p, uid, rts(at), j).Err(); err != nil {
		return fmt.Errorf("note webhook for %s: %w", uid, err)
	}
	return nil
}

// FirstNotice implements NotifyStore.
func (n *NotifyRedis) FirstNotice(ctx context.Context, key string, _ time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := validateKey("notice key", key); err != nil {
		return false, fmt.Errorf("first notice: %w", err)
	}
	c, err := n.r.rdb.SAdd(ctx, n.key("notices"), key).Result()
	if err != nil {
		return false, fmt.Errorf("first notice: %w", err)
	}
	return c == 1, nil
}

// ClearNotice implements NotifyStore.
func (n *NotifyRedis) ClearNotice(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := n.r.rdb.SRem(ctx, n.key("notices"), key).Err(); err != nil {
		return fmt.Errorf("clear notice: %w", err)
	}
	return nil
}
