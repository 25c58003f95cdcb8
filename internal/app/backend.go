// Package app wires the pieces both binaries share: it checks the Postman configuration, starts the embedded
// demo emulator when asked, and hands out one API client (with its own rate gate) per Postman key, so keys never
// share a budget, a cache or data, and one key never has two.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/newman"
	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/tools"
)

// Config is the Postman side of the configuration.
type Config struct {
	// APIKey is the default key (POSTMAN_API_KEY); over HTTP each request may bring its own.
	APIKey string
	// BaseURL overrides Region (POSTMAN_API_BASE_URL).
	BaseURL string
	// Region is "us" or "eu".
	Region  string
	Timeout time.Duration
	// Demo serves everything from an embedded emulator seeded with a demo team; no key is needed.
	Demo bool
	// MaxKeys bounds how many keys the registry holds at once (each with its client and gate). Default 256.
	MaxKeys int
	Logger  *slog.Logger
	// Newman runs collections for run_collection; nil leaves collection runs out.
	Newman *newman.Runner
	// NewClient builds a key's API client; nil means api.New. Tests count or redirect clients with it.
	NewClient func(api.Config) (*api.Client, error)
	// Ops, when set, completes every key's gate (shared window store, metrics hook) and reads the gates for
	// /metrics.
	Ops *Ops
}

// Backend hands out tool environments per Postman key from a bounded registry. A key's entry (its client and
// rate gate) is evicted only while it is idle: not pinned (no HTTP request or MCP session is using it) and its
// gate has nothing queued or in flight. So the registry never holds two gates, two budgets, for one key, and a
// flood of unknown keys cannot push out a key that is in use; when every entry is busy a new key is refused
// (ErrKeysBusy) instead.
type Backend struct {
	cfg     Config
	emu     *emulator.Emulator
	emuSrv  *http.Server
	runs    *tools.RunLog
	history tools.RunHistory // set by SetRunHistory (history.go)
	colRuns *tools.CollectionRuns
	mu      sync.Mutex
	clients map[[32]byte]*entry
	tick    uint64
	stats   RegistryStats
}

type entry struct {
	client *api.Client // nil until the key's first tool call: pinning a key is cheap
	env    *tools.Env
	refs   int // pins: HTTP requests in progress and live MCP sessions
	used   uint64
}

// RegistryStats counts what the key registry did, for logs and tests.
type RegistryStats struct {
	Keys, Pinned int    // entries now, and how many of them are pinned
	Created      uint64 // clients (gates) built
	Evicted      uint64 // idle entries dropped to make room
	Refused      uint64 // new keys turned away because every entry was busy
}

// ErrKeysBusy means the registry is full of keys in use; the caller should try again shortly.
var ErrKeysBusy = errors.New("this server is serving as many Postman keys as it may at once; try again in a minute")

// ErrNoKey means no Postman API key was configured or sent.
var ErrNoKey = errors.New("no Postman API key: set POSTMAN_API_KEY (or send Authorization: Bearer <key> over HTTP); use -demo to try pmops without one")

// Open checks cfg and, in demo mode, starts the embedded emulator on a loopback port.
func Open(cfg Config) (*Backend, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 256
	}
	if cfg.NewClient == nil {
		cfg.NewClient = api.New
	}
	b := &Backend{cfg: cfg, runs: tools.NewRunLog(512), clients: map[[32]byte]*entry{}}
	if cfg.Ops != nil {
		cfg.Ops.Metrics.AddGates(b.Snapshots)
	}
	if cfg.Newman != nil {
		b.colRuns = tools.NewCollectionRuns(cfg.Newman)
	}
	if cfg.Demo {
		if cfg.BaseURL != "" || cfg.Region != "" {
			return nil, fmt.Errorf("-demo serves its own Postman emulator; drop the base URL and region settings")
		}
		if err := b.startEmulator(); err != nil {
			return nil, err
		}
		if b.cfg.APIKey == "" {
			b.cfg.APIKey = emulator.DemoKey
		}
	}
	// Validate the client configuration now, so bad config fails at start rather than on the first call.
	probeKey := b.cfg.APIKey
	if probeKey == "" {
		probeKey = "PMAK-config-check"
	}
	probe := b.apiConfig(probeKey)
	probe.NoGate = true // only the settings are checked: no rate gate is built for a client nobody uses
	if _, err := api.New(probe); err != nil {
		b.Close()
		return nil, err
	}
	if b.cfg.APIKey != "" {
		// The configured key serves stdio, the CLI and the team's Slack commands: it is never evicted.
		if _, err := b.Pin(b.cfg.APIKey); err != nil {
			b.Close()
			return nil, err
		}
	}
	return b, nil
}

func (b *Backend) startEmulator() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start demo emulator: %w", err)
	}
	// PublicURL: the demo's mock servers answer on this listener and the staging environment points at the
	// Payments API mock, so collection runs work offline.
	b.emu = emulator.New(emulator.Options{Seed: emulator.SeedDemo, PublicURL: "http://" + ln.Addr().String(),
		Logger: b.cfg.Logger.With("component", "emulator")})
	b.emuSrv = &http.Server{Handler: b.emu, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.emuSrv.Serve(ln) }()
	b.cfg.BaseURL = "http://" + ln.Addr().String()
	return nil
}

func (b *Backend) apiConfig(key string) api.Config {
	return api.Config{APIKey: key, BaseURL: b.cfg.BaseURL, Region: b.cfg.Region, Timeout: b.cfg.Timeout,
		Logger: b.cfg.Logger.With("component", "api")}
}

// gatedConfig is apiConfig with the key's own gate completed by Ops (shared window store, metrics hook).
func (b *Backend) gatedConfig(key string) api.Config {
	cfg := b.apiConfig(key)
	if b.cfg.Ops != nil {
		opts := ratelimit.Options{Routes: api.RateRoutes(), Cache: api.CacheRules(), Logger: cfg.Logger}
		b.cfg.Ops.GateOptions(&opts)
		cfg.Gate = ratelimit.New(nil, opts)
	}
	return cfg
}

// Snapshots returns the rate budget of every key's gate, keyed like the gate's own key ID (a short hash of the
// key, never the key), for /metrics.
func (b *Backend) Snapshots() map[string]ratelimit.Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]ratelimit.Snapshot, len(b.clients))
	for h, e := range b.clients {
		if e.client != nil {
			out[hex.EncodeToString(h[:8])] = e.client.RateBudget()
		}
	}
	return out
}

// Emulator returns the embedded emulator in demo mode, else nil.
func (b *Backend) Emulator() *emulator.Emulator { return b.emu }

// BaseURL is the Postman API root in use.
func (b *Backend) BaseURL() string { return b.cfg.BaseURL }

// DemoKey is the key keyless demo requests act with ("" outside demo mode).
func (b *Backend) DemoKey() string {
	if !b.cfg.Demo {
		return ""
	}
	return b.cfg.APIKey
}

// HasDefaultKey says whether a key was configured (or demo mode supplies one).
func (b *Backend) HasDefaultKey() bool { return b.cfg.APIKey != "" }

// DefaultEnv is the environment of the configured key.
func (b *Backend) DefaultEnv(context.Context) (*tools.Env, error) { return b.Env(b.cfg.APIKey) }

// Env returns the tool environment for key, creating its client and gate on first use. The entry is not pinned:
// callers that hold the environment across a long operation should use Acquire.
func (b *Backend) Env(key string) (*tools.Env, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, err := b.lookup(key)
	if err != nil {
		return nil, err
	}
	return b.envOf(key, e)
}

// Acquire returns key's environment pinned until release is called (release is idempotent).
func (b *Backend) Acquire(key string) (env *tools.Env, release func(), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, err := b.lookup(key)
	if err != nil {
		return nil, nil, err
	}
	if env, err = b.envOf(key, e); err != nil {
		return nil, nil, err
	}
	return env, b.pinLocked(e), nil
}

// Pin keeps key's entry (and, once made, its client) in the registry until release is called; release is
// idempotent. It builds no client: an HTTP request or session pins its key before any tool needs it.
func (b *Backend) Pin(key string) (release func(), err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, err := b.lookup(key)
	if err != nil {
		return nil, err
	}
	return b.pinLocked(e), nil
}

// Stats reports the registry's counters.
func (b *Backend) Stats() RegistryStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.stats
	st.Keys = len(b.clients)
	for _, e := range b.clients {
		if e.refs > 0 {
			st.Pinned++
		}
	}
	return st
}

func (b *Backend) pinLocked(e *entry) func() {
	e.refs++
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			e.refs--
			b.tick++
			e.used = b.tick
		})
	}
}

// lookup finds or adds key's entry; the caller holds b.mu.
func (b *Backend) lookup(key string) (*entry, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, ErrNoKey
	}
	h := sha256.Sum256([]byte(key))
	b.tick++
	if e, ok := b.clients[h]; ok {
		e.used = b.tick
		return e, nil
	}
	if len(b.clients) >= b.cfg.MaxKeys && !b.evictIdle() {
		b.stats.Refused++
		return nil, ErrKeysBusy
	}
	e := &entry{used: b.tick}
	b.clients[h] = e
	return e, nil
}

// envOf builds e's client on first use; the caller holds b.mu.
func (b *Backend) envOf(key string, e *entry) (*tools.Env, error) {
	if e.env != nil {
		return e.env, nil
	}
	c, err := b.cfg.NewClient(b.gatedConfig(strings.TrimSpace(key)))
	if err != nil {
		return nil, err
	}
	b.stats.Created++
	e.client = c
	e.env = &tools.Env{Client: c, Budget: c.RateBudget, Runs: b.runs, CollectionRuns: b.colRuns, History: b.history}
	return e.env, nil
}

// evictIdle drops the least recently used idle entry and reports whether there was one. Busy entries stay: an
// entry is busy while pinned or while its gate has requests queued or in flight (a caller of Env may still be
// using it).
func (b *Backend) evictIdle() bool {
	var victim [32]byte
	found := false
	var oldest uint64
	for h, e := range b.clients {
		if e.refs > 0 || (found && e.used >= oldest) {
			continue
		}
		if e.client != nil {
			if snap := e.client.RateBudget(); snap.InFlight > 0 || snap.QueuedInteractive > 0 || snap.QueuedBackground > 0 {
				continue
			}
		}
		victim, oldest, found = h, e.used, true
	}
	if found {
		delete(b.clients, victim)
		b.stats.Evicted++
	}
	return found
}

// Close stops collection runs still going and the demo emulator.
func (b *Backend) Close() {
	if b.colRuns != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		b.colRuns.Close(ctx)
		cancel()
	}
	if b.emuSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = b.emuSrv.Shutdown(ctx)
	}
	if b.emu != nil {
		_ = b.emu.Close()
	}
}
