// Package app wires the pieces both binaries share: it checks the Postman configuration, starts the embedded
// demo emulator when asked, and hands out one API client (with its own rate gate) per Postman key, so keys never
// share a budget, a cache or data.
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
	// MaxKeys bounds how many keys keep a client (and gate) in memory at once. Default 256.
	MaxKeys int
	Logger  *slog.Logger
	// Ops, when set, completes every key's gate (shared window store, metrics hook) and reads the gates for
	// /metrics.
	Ops *Ops
}

// Backend hands out tool environments per Postman key.
type Backend struct {
	cfg      Config
	emu      *emulator.Emulator
	emuSrv   *http.Server
	runs     *tools.RunLog
	mu       sync.Mutex
	clients  map[[32]byte]*entry
	lastUsed uint64
}

type entry struct {
	env  *tools.Env
	used uint64
}

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
	b := &Backend{cfg: cfg, runs: tools.NewRunLog(512), clients: map[[32]byte]*entry{}}
	if cfg.Ops != nil {
		cfg.Ops.Metrics.AddGates(b.Snapshots)
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
	if _, err := api.New(b.apiConfig(probeKey)); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Backend) startEmulator() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start demo emulator: %w", err)
	}
	b.emu = emulator.New(emulator.Options{Seed: emulator.SeedDemo, Logger: b.cfg.Logger.With("component", "emulator")})
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
		out[hex.EncodeToString(h[:8])] = e.env.Client.RateBudget()
	}
	return out
}

// Emulator returns the embedded emulator in demo mode, else nil.
func (b *Backend) Emulator() *emulator.Emulator { return b.emu }

// BaseURL is the Postman API root in use.
func (b *Backend) BaseURL() string { return b.cfg.BaseURL }

// HasDefaultKey says whether a key was configured (or demo mode supplies one).
func (b *Backend) HasDefaultKey() bool { return b.cfg.APIKey != "" }

// DefaultEnv is the environment of the configured key.
func (b *Backend) DefaultEnv(context.Context) (*tools.Env, error) { return b.Env(b.cfg.APIKey) }

// Env returns the tool environment for key, creating its client and gate on first use.
func (b *Backend) Env(key string) (*tools.Env, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, ErrNoKey
	}
	h := sha256.Sum256([]byte(key))
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lastUsed++
	if e, ok := b.clients[h]; ok {
		e.used = b.lastUsed
		return e.env, nil
	}
	c, err := api.New(b.gatedConfig(key))
	if err != nil {
		return nil, err
	}
	if len(b.clients) >= b.cfg.MaxKeys {
		b.evictOldest()
	}
	env := &tools.Env{Client: c, Budget: c.RateBudget, Runs: b.runs}
	b.clients[h] = &entry{env: env, used: b.lastUsed}
	return env, nil
}

func (b *Backend) evictOldest() {
	var oldest [32]byte
	var min uint64 = ^uint64(0)
	for k, e := range b.clients {
		if e.used < min {
			oldest, min = k, e.used
		}
	}
	delete(b.clients, oldest)
}

// Close stops the demo emulator.
func (b *Backend) Close() {
	if b.emuSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = b.emuSrv.Shutdown(ctx)
	}
	if b.emu != nil {
		_ = b.emu.Close()
	}
}
