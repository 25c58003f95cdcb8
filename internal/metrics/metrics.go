// Package metrics is pmops's Prometheus metrics, served in the text exposition format: what operators of several replicas need to see (rate gate
// waits, queues, grants by class, 429s, monthly quota left, tool calls and latency by tool, Slack acks and Web API
// latency, outbox depth and age, leader state, Redis errors). Values that live elsewhere (gate snapshots, outbox
// counts) are read at scrape time through sources registered by the wiring in internal/app; events (a tool call,
// a send) are counted through hooks. Nothing here knows Postman, Slack or Redis semantics beyond names. The Go
// runtime and process metrics keep client_golang's names, help texts and types (expose.go says why it is not used).
package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pmops/pmops/internal/ratelimit"
)

// Metrics owns its series (no global registry, so tests and several instances never collide).
type Metrics struct {
	gateWait    *vec
	grants      *vec
	toolCalls   *vec
	toolLatency *vec
	slackAcks   *vec
	slackAPI    *vec
	redisErrors *vec
	leader      *vec
	leaderToken *vec

	mu      sync.Mutex
	gates   []func() map[string]ratelimit.Snapshot
	outbox  []OutboxSource
	funcs   []gaugeFunc
	storeOK func() float64
}

type gaugeFunc struct {
	name, help string
	fn         func() float64
}

// OutboxSource reads outbox counts per state and the creation time of the oldest open item.
type OutboxSource func(ctx context.Context) (byState map[string]int, oldestOpen time.Time, err error)

var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// New returns pmops's metrics with the Go runtime and process metrics beside them.
func New() *Metrics {
	return &Metrics{
		gateWait: newVec("pmops_gate_wait_seconds", "Time a Postman API request waited in the rate gate before it was sent, by class.",
			histogramType, latencyBuckets, "class"),
		grants: newVec("pmops_gate_grants_total", "Postman API requests the rate gate sent, by class.", counterType, nil, "class"),
		toolCalls: newVec("pmops_tool_calls_total", "Tool calls by tool and outcome (ok or the error kind).", counterType, nil,
			"tool", "outcome"),
		toolLatency: newVec("pmops_tool_call_seconds", "Tool call latency by tool.", histogramType, latencyBuckets, "tool"),
		slackAcks: newVec("pmops_slack_acks_total", "Slack requests acknowledged over HTTP, by endpoint and status code.",
			counterType, nil, "endpoint", "code"),
		slackAPI: newVec("pmops_slack_api_seconds", "Slack Web API call latency (chat.postMessage is the post latency), by method and outcome.",
			histogramType, latencyBuckets, "method", "outcome"),
		redisErrors: newVec("pmops_redis_errors_total", "Redis commands that failed, by command.", counterType, nil, "command"),
		leader: newVec("pmops_leader", "1 while this replica holds the lease (poller, outbox drain), else 0.", gaugeType, nil,
			"lease"),
		leaderToken: newVec("pmops_leader_token", "Fencing token of the lease this replica last held.", gaugeType, nil, "lease"),
	}
}

// Handler serves every metric in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_ = writeText(w, m.gather())
	})
}

func (m *Metrics) gather() []family {
	var fams []family
	for _, v := range []*vec{m.gateWait, m.grants, m.toolCalls, m.toolLatency, m.slackAcks, m.slackAPI, m.redisErrors,
		m.leader, m.leaderToken} {
		fams = append(fams, v.gather())
	}
	m.mu.Lock()
	funcs := append([]gaugeFunc(nil), m.funcs...)
	m.mu.Unlock()
	for _, g := range funcs {
		fams = append(fams, gauge(g.name, g.help, g.fn()))
	}
	fams = append(fams, m.snapshots()...)
	fams = append(fams, goFamilies()...)
	return append(fams, processFamilies()...)
}

// OnSend is the rate gate's send hook (ratelimit.Options.OnSend): grants by class and the wait before each.
func (m *Metrics) OnSend(t ratelimit.Ticket, waited time.Duration) {
	c := t.Class.String()
	m.grants.add(1, c)
	m.gateWait.observe(waited.Seconds(), c)
}

// AddGates registers a source of gate snapshots, keyed by a short hash of each key (never the key).
func (m *Metrics) AddGates(src func() map[string]ratelimit.Snapshot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gates = append(m.gates, src)
}

// AddOutbox registers an outbox source (the notifier's store).
func (m *Metrics) AddOutbox(src OutboxSource) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outbox = append(m.outbox, src)
}

// ToolCall records one tool call; kind is "ok" or the error's kind.
func (m *Metrics) ToolCall(tool, outcome string, d time.Duration) {
	m.toolCalls.add(1, tool, outcome)
	m.toolLatency.observe(d.Seconds(), tool)
}

// SetLeader records a lease change (lease.Options.OnChange).
func (m *Metrics) SetLeader(lease string, leading bool, token int64) {
	v := 0.0
	if leading {
		v = 1
	}
	m.leader.set(v, lease)
	m.leaderToken.set(float64(token), lease)
}

// RedisError counts a failed Redis command.
func (m *Metrics) RedisError(command string) { m.redisErrors.add(1, command) }

// desc is the name, help and type of a metric read at scrape time.
type desc struct {
	name, help string
	typ        metricType
	labels     []string
}

var (
	descLimit     = desc{"pmops_gate_limit", "Requests per window the gate works with.", gaugeType, []string{"key"}}
	descRemaining = desc{"pmops_gate_remaining", "Requests the gate believes are left in this window for this process.", gaugeType, []string{"key"}}
	descQueued    = desc{"pmops_gate_queued", "Requests waiting in the gate, by class.", gaugeType, []string{"key", "class"}}
	descInFlight  = desc{"pmops_gate_in_flight", "Requests sent and not yet answered.", gaugeType, []string{"key"}}
	desc429       = desc{"pmops_gate_429_total", "429 answers received from Postman.", counterType, []string{"key"}}
	descSent      = desc{"pmops_gate_sent_total", "Requests handed to the transport.", counterType, []string{"key"}}
	descCacheHits = desc{"pmops_gate_cache_hits_total", "Requests answered from the cache or coalesced (no quota spent).", counterType, []string{"key"}}
	descMonth     = desc{"pmops_quota_month_remaining", "Monthly API calls left (-1 unknown).", gaugeType, []string{"key"}}
	descMonthLim  = desc{"pmops_quota_month_limit", "Monthly API call quota (-1 unknown).", gaugeType, []string{"key"}}
	descQuotaOut  = desc{"pmops_quota_exhausted", "1 when the monthly quota is spent.", gaugeType, []string{"key"}}
	descDegraded  = desc{"pmops_gate_store_degraded", "1 while the shared window store (Redis) fails and the gate keeps to limit/replicas.", gaugeType, []string{"key"}}
	descOutbox    = desc{"pmops_outbox_items", "Notifier outbox items by state.", gaugeType, []string{"state"}}
	descOutboxAge = desc{"pmops_outbox_oldest_open_seconds", "Age of the oldest undelivered outbox item (0 when none).", gaugeType, nil}
	descScrapeErr = desc{"pmops_outbox_read_errors", "1 when the outbox could not be read for this scrape.", gaugeType, nil}
)

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// snapshots reads the registered sources (gate snapshots, outboxes) at scrape time.
func (m *Metrics) snapshots() []family {
	m.mu.Lock()
	gates := append([]func() map[string]ratelimit.Snapshot(nil), m.gates...)
	outbox := append([]OutboxSource(nil), m.outbox...)
	m.mu.Unlock()
	byName := map[string]*family{}
	var order []string
	g := func(d desc, v float64, labels ...string) {
		f := byName[d.name]
		if f == nil {
			f = &family{name: d.name, help: d.help, typ: d.typ}
			byName[d.name] = f
			order = append(order, d.name)
		}
		f.samples = append(f.samples, sample{labels: pairs(d.labels, labels), value: v})
	}
	seen := map[string]bool{}
	for _, src := range gates {
		for key, s := range src() {
			if seen[key] {
				continue
			}
			seen[key] = true
			g(descLimit, float64(s.Limit), key)
			g(descRemaining, float64(s.Remaining), key)
			g(descQueued, float64(s.QueuedInteractive), key, ratelimit.Interactive.String())
			g(descQueued, float64(s.QueuedBackground), key, ratelimit.Background.String())
			g(descInFlight, float64(s.InFlight), key)
			g(desc429, float64(s.Count429), key)
			g(descSent, float64(s.Sent), key)
			g(descCacheHits, float64(s.CacheHits+s.Coalesced), key)
			g(descMonth, float64(s.MonthRemaining), key)
			g(descMonthLim, float64(s.MonthLimit), key)
			g(descQuotaOut, b2f(s.QuotaExhausted), key)
			g(descDegraded, b2f(s.StoreDegraded), key)
		}
	}
	if len(outbox) > 0 {
		m.outboxSnapshot(outbox, g)
	}
	fams := make([]family, 0, len(order))
	for _, name := range order {
		fams = append(fams, *byName[name])
	}
	return fams
}

func (m *Metrics) outboxSnapshot(outbox []OutboxSource, g func(d desc, v float64, labels ...string)) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	totals := map[string]int{"pending": 0, "sending": 0, "done": 0, "dropped": 0}
	var oldest time.Time
	failed := false
	for _, src := range outbox {
		by, old, err := src(ctx)
		if err != nil {
			failed = true
			continue
		}
		for st, n := range by {
			totals[st] += n
		}
		if !old.IsZero() && (oldest.IsZero() || old.Before(oldest)) {
			oldest = old
		}
	}
	g(descScrapeErr, b2f(failed))
	if failed {
		return
	}
	for st, n := range totals {
		g(descOutbox, float64(n), st)
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(0, time.Since(oldest).Seconds())
	}
	g(descOutboxAge, age)
}

// RedisHook counts failed Redis commands (a missing key, redis.Nil, is not a failure).
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			h.m.RedisError("dial")
		}
		return c, err
	}
}

func redisFailed(err error) bool {
	return err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, redis.TxFailedErr)
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if redisFailed(err) && !strings.HasPrefix(err.Error(), "NOSCRIPT") {
			h.m.RedisError(cmd.Name())
		}
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if redisFailed(err) {
			h.m.RedisError("pipeline")
		}
		return err
	}
}

// SlackTransport times Slack Web API calls (the method is the last path segment, e.g. chat.postMessage).
func (m *Metrics) SlackTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := next.RoundTrip(req)
		method := req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]
		if !strings.Contains(method, ".") {
			method = "other"
		}
		outcome := "ok"
		switch {
		case err != nil:
			outcome = "error"
		case resp.StatusCode == http.StatusTooManyRequests:
			outcome = "ratelimited"
		case resp.StatusCode >= 500:
			outcome = "5xx"
		}
		m.slackAPI.observe(time.Since(start).Seconds(), method, outcome)
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// SlackAcks counts the answers to Slack's request URLs (/slack/...) handled by next.
func (m *Metrics) SlackAcks(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/slack/") {
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		endpoint := strings.TrimPrefix(r.URL.Path, "/slack/")
		if len(endpoint) > 32 || strings.Contains(endpoint, "/") {
			endpoint = "other"
		}
		m.slackAcks.add(1, endpoint, httpCode(sw.code))
	})
}

type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader {
		s.code, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func httpCode(c int) string { return strconv.Itoa(c) }

// AddGaugeFunc registers a gauge read at scrape time (live replicas, the gate's fallback share). A name registered
// twice is a wiring bug and panics, as registering a collector twice did with client_golang.
func (m *Metrics) AddGaugeFunc(name, help string, fn func() float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, g := range m.funcs {
		if g.name == name {
			panic("metrics: gauge " + name + " registered twice")
		}
	}
	m.funcs = append(m.funcs, gaugeFunc{name, help, fn})
}
