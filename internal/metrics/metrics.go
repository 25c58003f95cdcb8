// Package metrics is pmops's Prometheus registry: what operators of several replicas need to see (rate gate
// waits, queues, grants by class, 429s, monthly quota left, tool calls and latency by tool, Slack acks and Web API
// latency, outbox depth and age, leader state, Redis errors). Values that live elsewhere (gate snapshots, outbox
// counts) are read at scrape time through sources registered by the wiring in internal/app; events (a tool call,
// a send) are counted through hooks. Nothing here knows Postman, Slack or Redis semantics beyond names.
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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/pmops/pmops/internal/ratelimit"
)

// Metrics owns one registry (not the global one, so tests and several instances never collide).
type Metrics struct {
	Registry *prometheus.Registry

	gateWait    *prometheus.HistogramVec
	grants      *prometheus.CounterVec
	toolCalls   *prometheus.CounterVec
	toolLatency *prometheus.HistogramVec
	slackAcks   *prometheus.CounterVec
	slackAPI    *prometheus.HistogramVec
	redisErrors *prometheus.CounterVec
	leader      *prometheus.GaugeVec
	leaderToken *prometheus.GaugeVec

	mu      sync.Mutex
	gates   []func() map[string]ratelimit.Snapshot
	outbox  []OutboxSource
	storeOK func() float64
}

// OutboxSource reads outbox counts per state and the creation time of the oldest open item.
type OutboxSource func(ctx context.Context) (byState map[string]int, oldestOpen time.Time, err error)

var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// New returns a registry with pmops's collectors and the Go and process collectors.
func New() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.gateWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pmops_gate_wait_seconds",
		Help: "Time a Postman API request waited in the rate gate before it was sent, by class.", Buckets: latencyBuckets}, []string{"class"})
	m.grants = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pmops_gate_grants_total",
		Help: "Postman API requests the rate gate sent, by class."}, []string{"class"})
	m.toolCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pmops_tool_calls_total",
		Help: "Tool calls by tool and outcome (ok or the error kind)."}, []string{"tool", "outcome"})
	m.toolLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pmops_tool_call_seconds",
		Help: "Tool call latency by tool.", Buckets: latencyBuckets}, []string{"tool"})
	m.slackAcks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pmops_slack_acks_total",
		Help: "Slack requests acknowledged over HTTP, by endpoint and status code."}, []string{"endpoint", "code"})
	m.slackAPI = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pmops_slack_api_seconds",
		Help: "Slack Web API call latency (chat.postMessage is the post latency), by method and outcome.", Buckets: latencyBuckets},
		[]string{"method", "outcome"})
	m.redisErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pmops_redis_errors_total",
		Help: "Redis commands that failed, by command."}, []string{"command"})
	m.leader = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pmops_leader",
		Help: "1 while this replica holds the lease (poller, outbox drain), else 0."}, []string{"lease"})
	m.leaderToken = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pmops_leader_token",
		Help: "Fencing token of the lease this replica last held."}, []string{"lease"})
	m.Registry.MustRegister(m.gateWait, m.grants, m.toolCalls, m.toolLatency, m.slackAcks, m.slackAPI, m.redisErrors,
		m.leader, m.leaderToken, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&snapshotCollector{m: m})
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// OnSend is the rate gate's send hook (ratelimit.Options.OnSend): grants by class and the wait before each.
func (m *Metrics) OnSend(t ratelimit.Ticket, waited time.Duration) {
	c := t.Class.String()
	m.grants.WithLabelValues(c).Inc()
	m.gateWait.WithLabelValues(c).Observe(waited.Seconds())
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
	m.toolCalls.WithLabelValues(tool, outcome).Inc()
	m.toolLatency.WithLabelValues(tool).Observe(d.Seconds())
}

// SetLeader records a lease change (lease.Options.OnChange).
func (m *Metrics) SetLeader(lease string, leading bool, token int64) {
	v := 0.0
	if leading {
		v = 1
	}
	m.leader.WithLabelValues(lease).Set(v)
	m.leaderToken.WithLabelValues(lease).Set(float64(token))
}

// RedisError counts a failed Redis command.
func (m *Metrics) RedisError(command string) { m.redisErrors.WithLabelValues(command).Inc() }

// snapshotCollector reads the registered sources at scrape time.
type snapshotCollector struct{ m *Metrics }

var (
	descLimit     = prometheus.NewDesc("pmops_gate_limit", "Requests per window the gate works with.", []string{"key"}, nil)
	descRemaining = prometheus.NewDesc("pmops_gate_remaining", "Requests the gate believes are left in this window for this process.", []string{"key"}, nil)
	descQueued    = prometheus.NewDesc("pmops_gate_queued", "Requests waiting in the gate, by class.", []string{"key", "class"}, nil)
	descInFlight  = prometheus.NewDesc("pmops_gate_in_flight", "Requests sent and not yet answered.", []string{"key"}, nil)
	desc429       = prometheus.NewDesc("pmops_gate_429_total", "429 answers received from Postman.", []string{"key"}, nil)
	descSent      = prometheus.NewDesc("pmops_gate_sent_total", "Requests handed to the transport.", []string{"key"}, nil)
	descCacheHits = prometheus.NewDesc("pmops_gate_cache_hits_total", "Requests answered from the cache or coalesced (no quota spent).", []string{"key"}, nil)
	descMonth     = prometheus.NewDesc("pmops_quota_month_remaining", "Monthly API calls left (-1 unknown).", []string{"key"}, nil)
	descMonthLim  = prometheus.NewDesc("pmops_quota_month_limit", "Monthly API call quota (-1 unknown).", []string{"key"}, nil)
	descQuotaOut  = prometheus.NewDesc("pmops_quota_exhausted", "1 when the monthly quota is spent.", []string{"key"}, nil)
	descDegraded  = prometheus.NewDesc("pmops_gate_store_degraded", "1 while the shared window store (Redis) fails and the gate keeps to limit/replicas.", []string{"key"}, nil)
	descOutbox    = prometheus.NewDesc("pmops_outbox_items", "Notifier outbox items by state.", []string{"state"}, nil)
	descOutboxAge = prometheus.NewDesc("pmops_outbox_oldest_open_seconds", "Age of the oldest undelivered outbox item (0 when none).", nil, nil)
	descScrapeErr = prometheus.NewDesc("pmops_outbox_read_errors", "1 when the outbox could not be read for this scrape.", nil, nil)
)

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLimit, descRemaining, descQueued, descInFlight, desc429, descSent, descCacheHits,
		descMonth, descMonthLim, descQuotaOut, descDegraded, descOutbox, descOutboxAge, descScrapeErr} {
		ch <- d
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	gates := append([]func() map[string]ratelimit.Snapshot(nil), c.m.gates...)
	outbox := append([]OutboxSource(nil), c.m.outbox...)
	c.m.mu.Unlock()
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	cnt := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
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
			cnt(desc429, float64(s.Count429), key)
			cnt(descSent, float64(s.Sent), key)
			cnt(descCacheHits, float64(s.CacheHits+s.Coalesced), key)
			g(descMonth, float64(s.MonthRemaining), key)
			g(descMonthLim, float64(s.MonthLimit), key)
			g(descQuotaOut, b2f(s.QuotaExhausted), key)
			g(descDegraded, b2f(s.StoreDegraded), key)
		}
	}
	if len(outbox) == 0 {
		return
	}
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
		m.slackAPI.WithLabelValues(method, outcome).Observe(time.Since(start).Seconds())
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
		m.slackAcks.WithLabelValues(endpoint, httpCode(sw.code)).Inc()
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

// AddGaugeFunc registers a gauge read at scrape time (live replicas, the gate's fallback share).
func (m *Metrics) AddGaugeFunc(name, help string, fn func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}
