package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pmops/pmops/internal/lease"
	"github.com/pmops/pmops/internal/metrics"
	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

// OpsConfig is the operations side both binaries share: where shared state lives and where metrics are served.
type OpsConfig struct {
	// Store is "" (the embedded SQLite default, one process) or redis://host:port/db / rediss://... for replicas.
	Store string
	// MetricsAddr serves /metrics, /readyz and /healthz on their own listener (needed when a binary has no HTTP
	// server: stdio MCP, Socket Mode Slack).
	MetricsAddr string
	// Replicas is how many processes share each Postman key, for the rate gate's fallback share while Redis is
	// unreachable; 0 means the live count from Redis's roll call (at least 2).
	Replicas int
}

// AddFlags registers -store, -metrics-addr and -replicas with their environment fallbacks.
func (c *OpsConfig) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Store, "store", EnvOr("PMOPS_STORE", ""), "shared state for several replicas: redis://host:port/db or rediss://… (password in the URL or PMOPS_REDIS_PASSWORD, ?namespace= separates installations); empty keeps the embedded SQLite [PMOPS_STORE]")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", EnvOr("PMOPS_METRICS_ADDR", ""), "serve /metrics, /readyz and /healthz on this address (they are on the HTTP server too when there is one) [PMOPS_METRICS_ADDR]")
	n, _ := strconv.Atoi(EnvOr("PMOPS_REPLICAS", "0"))
	fs.IntVar(&c.Replicas, "replicas", n, "processes sharing each Postman key: each keeps to limit/replicas while Redis is unreachable (default: the live count Redis reports, at least 2) [PMOPS_REPLICAS]")
}

// Ops holds the shared-state connection, the metrics registry and the readiness checks of one process.
type Ops struct {
	cfg     OpsConfig
	log     *slog.Logger
	Metrics *metrics.Metrics
	// Redis is the shared store (nil with the SQLite default); Windows its rate-window counters.
	Redis     *store.Redis
	Windows   *store.RedisWindows
	ReplicaID string

	mu     sync.Mutex
	checks map[string]func(context.Context) error
	leases map[string]store.Leader
	stop   context.CancelFunc
	ctx    context.Context
	wg     sync.WaitGroup
}

// HeartbeatTTL is how long a replica counts as alive after its last heartbeat (sent every third of it).
const HeartbeatTTL = 15 * time.Second

// Check reports a bad -replicas or -metrics-addr without opening anything.
func (c OpsConfig) Check() error {
	if c.Replicas < 0 || c.Replicas > 1000 {
		return fmt.Errorf("-replicas %d: use 1 to 1000, or 0 for the live count", c.Replicas)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("-metrics-addr %q: want host:port, e.g. 127.0.0.1:9090 or :9090", c.MetricsAddr)
		}
	}
	return nil
}

// OpenOpsIfServed is OpenOps when there is something for Ops to do: shared state (-store), a metrics listener
// (-metrics-addr) or an HTTP server of the caller's that will carry /metrics (httpServer). Otherwise (stdio MCP
// or the CLI with the defaults) nobody could ever read a metric, so it only checks cfg and returns a nil *Ops
// (Serve and Close do nothing on it): no registry, collectors or hooks are built at start. -replicas alone changes
// nothing then: it only matters with -store.
func OpenOpsIfServed(cfg OpsConfig, httpServer bool, logger *slog.Logger) (*Ops, error) {
	if cfg.Store == "" && cfg.MetricsAddr == "" && !httpServer {
		return nil, cfg.Check()
	}
	return OpenOps(cfg, logger)
}

// OpenOps checks cfg, connects to Redis when -store names one (failing with a clear error when it cannot) and
// starts the replica heartbeat. Close stops it.
func OpenOps(cfg OpsConfig, logger *slog.Logger) (*Ops, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	o := &Ops{cfg: cfg, log: logger, Metrics: metrics.New(), checks: map[string]func(context.Context) error{},
		leases: map[string]store.Leader{}, stop: stop, ctx: ctx}
	tools.SetCallObserver(o.Metrics.ToolCall)
	switch {
	case cfg.Store == "":
	case strings.HasPrefix(cfg.Store, "redis://") || strings.HasPrefix(cfg.Store, "rediss://"):
		store.SetRedisLogger(logger)
		octx, cancel := context.WithTimeout(ctx, 10*time.Second)
		r, err := store.OpenRedis(octx, cfg.Store, store.RedisOptions{Password: store.RedisPasswordFromEnv()})
		cancel()
		if err != nil {
			stop()
			return nil, fmt.Errorf("-store: %w", err)
		}
		r.Client().AddHook(o.Metrics.RedisHook())
		o.Redis, o.Windows = r, r.Windows()
		o.ReplicaID = replicaID()
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = o.Windows.Heartbeat(hctx, o.ReplicaID, HeartbeatTTL)
		cancel()
		if err != nil {
			logger.Warn("replica heartbeat failed", "err", err)
		}
		o.AddReady("store", r.Ping)
		o.Metrics.AddGaugeFunc("pmops_replicas_live", "Replicas heartbeating in Redis at the last beat.",
			func() float64 { return float64(o.Windows.LiveReplicas()) })
		o.Metrics.AddGaugeFunc("pmops_gate_fallback_share", "Replicas the gate divides each window by while Redis is unreachable.",
			func() float64 { return float64(o.Replicas()) })
		o.wg.Go(func() {
			o.Windows.RunHeartbeat(ctx, o.ReplicaID, HeartbeatTTL, func(err error) {
				logger.Warn("replica heartbeat failed; the gate keeps the last known replica count", "err", err)
			})
		})
		logger.Info("shared state in Redis", "namespace", r.Namespace(), "replica", o.ReplicaID,
			"live_replicas", o.Windows.LiveReplicas())
	default:
		stop()
		return nil, fmt.Errorf("-store %q: want redis://host:port/db or rediss://…; leave it empty for the embedded SQLite (-db)", redactStore(cfg.Store))
	}
	return o, nil
}

// redactStore keeps a bad -store value out of errors when it might carry a password.
func redactStore(s string) string {
	if strings.Contains(s, "@") {
		return "<value with credentials>"
	}
	return s
}

func replicaID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Replicas is the share the gate falls back to: -replicas, else the live count (at least 2).
func (o *Ops) Replicas() int {
	if o.cfg.Replicas > 0 {
		return o.cfg.Replicas
	}
	if o.Windows != nil {
		return max(2, o.Windows.LiveReplicas())
	}
	return 2
}

// GateOptions completes a key's gate options: the metrics send hook and, with Redis, the shared window store.
func (o *Ops) GateOptions(opts *ratelimit.Options) {
	opts.OnSend = o.Metrics.OnSend
	if o.Windows != nil {
		opts.Store = o.Windows
		opts.StoreReplicas = o.Replicas()
		opts.StoreReplicasLive = o.Windows.LiveReplicas // replicas that join later shrink every share
	}
}

// AddReady adds a readiness check (/readyz fails while any fails).
func (o *Ops) AddReady(name string, check func(context.Context) error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.checks[name] = check
}

// Ready runs the readiness checks and returns the failures by name.
func (o *Ops) Ready(ctx context.Context) map[string]error {
	o.mu.Lock()
	checks := make(map[string]func(context.Context) error, len(o.checks))
	for k, v := range o.checks {
		checks[k] = v
	}
	o.mu.Unlock()
	failed := map[string]error{}
	for name, check := range checks {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := check(cctx); err != nil {
			failed[name] = err
		}
		cancel()
	}
	return failed
}

func (o *Ops) readyz(w http.ResponseWriter, r *http.Request) {
	failed := o.Ready(r.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if len(failed) == 0 {
		fmt.Fprintln(w, "ready")
		return
	}
	names := make([]string, 0, len(failed))
	for n := range failed {
		names = append(names, n)
	}
	slices.Sort(names)
	w.WriteHeader(http.StatusServiceUnavailable)
	for _, n := range names {
		// The check's error text may name an address; it never carries a password (store errors are redacted).
		fmt.Fprintf(w, "%s: not ready: %v\n", n, failed[n])
	}
}

// Handler serves /metrics and /readyz in front of next, and counts Slack's request-URL acks.
func (o *Ops) Handler(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", o.Metrics.Handler())
	mux.HandleFunc("GET /readyz", o.readyz)
	if next == nil {
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	} else {
		mux.Handle("/", o.Metrics.SlackAcks(next))
	}
	return mux
}

// Serve starts the -metrics-addr listener, if configured, until Close. It fails when the address cannot be bound.
// On a nil *Ops (OpenOpsIfServed) it does nothing.
func (o *Ops) Serve() error {
	if o == nil || o.cfg.MetricsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", o.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("-metrics-addr %s: %w", o.cfg.MetricsAddr, err)
	}
	srv := &http.Server{Handler: o.Handler(nil), ReadHeaderTimeout: 5 * time.Second}
	o.log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	o.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			o.log.Error("metrics server stopped", "err", err)
		}
	})
	o.wg.Go(func() {
		<-o.ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	return nil
}

// SlackHTTPClient is the HTTP client for slack-go: it times every Web API call for the metrics.
func (o *Ops) SlackHTTPClient() *http.Client {
	return &http.Client{Transport: o.Metrics.SlackTransport(http.DefaultTransport), Timeout: 30 * time.Second}
}

// Leader returns the leadership of name for work that must run on one replica only (the notifier's poller and
// outbox drain): a Redis lease with a fencing token when state is shared, else this process alone. The lease
// runs until Close; the leader gauge follows it.
func (o *Ops) Leader(name string) store.Leader {
	o.mu.Lock()
	defer o.mu.Unlock()
	if l, ok := o.leases[name]; ok {
		return l
	}
	if o.Redis == nil {
		o.Metrics.SetLeader(name, true, 1)
		o.leases[name] = lease.Solo{}
		return lease.Solo{}
	}
	o.Metrics.SetLeader(name, false, 0)
	l := lease.New(o.Redis.Client(), o.Redis.LeaseKey(name), lease.Options{TTL: LeaseTTL, Logger: o.log,
		OnChange: func(leading bool, tok int64) { o.Metrics.SetLeader(name, leading, tok) }})
	o.leases[name] = l
	o.wg.Go(func() { l.Run(o.ctx) })
	return l
}

// LeaseTTL is the leadership lease time: a dead leader is replaced within it.
var LeaseTTL = 15 * time.Second

// Close stops the heartbeat (leaving the roll call), releases leases, stops the metrics listener and closes
// Redis. On a nil *Ops it does nothing.
func (o *Ops) Close() {
	if o == nil {
		return
	}
	o.stop()
	o.wg.Wait()
	if o.Redis != nil {
		_ = o.Redis.Close()
	}
	tools.SetCallObserver(nil)
}

// Cached wraps a readiness check so it runs at most once per every (its last answer is reused meanwhile), for
// checks that cost a remote call (Slack's auth.test).
func Cached(every time.Duration, check func(context.Context) error) func(context.Context) error {
	var (
		mu   sync.Mutex
		last time.Time
		err  error
	)
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if !last.IsZero() && time.Since(last) < every {
			return err
		}
		err, last = check(ctx), time.Now()
		return err
	}
}

// Lead runs fn only while this replica holds the lease name (the notifier's poller and outbox drain): fn's
// context is canceled as soon as the lease is lost (at the lease's local deadline, before Redis could let another
// replica in), and fn is started again when the lease comes back. Without Redis this process always leads. Lead
// returns when ctx ends. Writes fn makes through NotifyStore(name) are fenced too, so a leader paused past its
// lease cannot write even if fn has not noticed yet.
func (o *Ops) Lead(ctx context.Context, name string, fn func(context.Context) error) {
	l := o.Leader(name)
	poll := min(100*time.Millisecond, LeaseTTL/50)
	for ctx.Err() == nil {
		if _, ok := l.IsLeader(); !ok {
			select {
			case <-ctx.Done():
				return
			case <-time.After(poll):
			}
			continue
		}
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- fn(lctx) }()
		running := true
		for running {
			select {
			case err := <-done:
				running = false
				if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
					o.log.Warn("leader work stopped; restarting it", "lease", name, "err", err)
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
					}
				}
			case <-time.After(poll):
				if _, ok := l.IsLeader(); !ok {
					cancel()
					<-done
					running = false
					o.log.Info("leader work stopped: lease lost", "lease", name)
				}
			case <-ctx.Done():
				cancel()
				<-done
				running = false
			}
		}
		cancel()
	}
}

// NotifyStore is the notifier's shared store when state lives in Redis, its leader-only writes fenced by the lease
// name; nil with the SQLite default (the caller opens its own). Closing it closes nothing: Close of Ops does.
func (o *Ops) NotifyStore(name string) store.NotifyStore {
	if o.Redis == nil {
		return nil
	}
	return unclosable{o.Redis.Notify().Fenced(name, o.Leader(name))}
}

type unclosable struct{ *store.NotifyRedis }

func (unclosable) Close() error { return nil }

// WatchOutbox reports ns's outbox on /metrics: items per state, and the age of the oldest undelivered one (the
// heads DueOutbox returns at the end of time are each channel's oldest open item). Any backend.
func (o *Ops) WatchOutbox(ns store.NotifyStore) {
	o.Metrics.AddOutbox(func(ctx context.Context) (map[string]int, time.Time, error) {
		stats, err := ns.OutboxStats(ctx)
		if err != nil {
			return nil, time.Time{}, err
		}
		by := make(map[string]int, len(stats))
		for st, n := range stats {
			by[string(st)] = n
		}
		heads, err := ns.DueOutbox(ctx, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), 0)
		if err != nil {
			return nil, time.Time{}, err
		}
		var oldest time.Time
		for _, h := range heads {
			if oldest.IsZero() || h.CreatedAt.Before(oldest) {
				oldest = h.CreatedAt
			}
		}
		return by, oldest, nil
	})
}

// Store is the bot's shared store on Ops's Redis connection (nil with the SQLite default). Closing it closes
// nothing, so the heartbeat and the lease can still leave cleanly when Ops closes.
func (o *Ops) Store() *store.Redis {
	if o.Redis == nil {
		return nil
	}
	return store.NewRedis(o.Redis.Client(), o.Redis.Namespace(), false)
}
