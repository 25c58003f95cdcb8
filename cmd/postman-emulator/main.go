// Command postman-emulator serves the in-memory Postman API emulator (internal/emulator) on a local address, for
// demos, manual testing and benchmarks. It prints the listening URL on stdout and logs to stderr.
//
//	postman-emulator -addr 127.0.0.1:8090 -seed demo -key PMAK-demo [-public-url URL] [-webhook-url URL] [-latency 0]
//	                 [-window 60s -limit 300 -month-quota N ...] [-generate 4000]
//	                 [-window-offset 900ms|first-call -reset-rounding up|down|exact]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pmops/pmops/internal/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	addr         string
	opts         emulator.Options
	key          string
	generate     int
	generateName string
	tick         time.Duration
	logLevel     slog.Level
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("postman-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8090", "listen address (host:port; port 0 picks a free one)")
	fs.StringVar(&c.opts.Seed, "seed", emulator.SeedDemo, `data set: "demo" or "empty"`)
	fs.StringVar(&c.key, "key", emulator.DemoKey, "API key of the primary demo user")
	fs.StringVar(&c.opts.PublicURL, "public-url", "", "URL clients reach the emulator at; mock servers (/mock/{id}) and the demo staging baseUrl point under it (default: the listen address)")
	fs.StringVar(&c.opts.WebhookURL, "webhook-url", "", "POST monitor results to this URL after every run")
	fs.StringVar(&c.opts.WebhookStyle, "webhook-style", emulator.WebhookCamelCase, `webhook metric names: "camelCase" or "snake_case"`)
	fs.DurationVar(&c.opts.Latency, "latency", 0, "added to every response")
	fs.DurationVar(&c.opts.Window, "window", emulator.DefaultWindow, "per-key rate window")
	fs.IntVar(&c.opts.PerWindow, "limit", emulator.DefaultPerWindow, "requests per window per key")
	fs.DurationVar(&c.opts.RouteWindow, "route-window", emulator.DefaultRouteWindow, "window of the stricter route bucket (GET /collections, /workspaces, /monitors*)")
	fs.IntVar(&c.opts.RoutePerWindow, "route-limit", emulator.DefaultRoutePerWindow, "requests per route window per key")
	fs.Int64Var(&c.opts.MonthlyQuota, "month-quota", emulator.DefaultMonthlyQuota, "API calls per month per key")
	fs.Int64Var(&c.opts.MonthlyUsageStart, "month-usage", 0, "calls already used this month")
	fs.StringVar(&c.opts.Style429, "style429", emulator.Style429Object, `429 body: "object", "string" or "problem"`)
	fs.DurationVar(&c.opts.ClockSkew, "skew", 0, "server clock offset (moves Date and X-RateLimit-Reset)")
	fs.Func("window-offset", `windows start this far off the second grid (a duration below -window), or "first-call": a key's window starts at its first call`, func(v string) error {
		if strings.TrimSpace(v) == "first-call" {
			c.opts.WindowFromFirstCall, c.opts.WindowOffset = true, 0
			return nil
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf(`want a duration such as 900ms, or "first-call"`)
		}
		c.opts.WindowOffset, c.opts.WindowFromFirstCall = d, false
		return nil
	})
	fs.StringVar(&c.opts.ResetRounding, "reset-rounding", emulator.ResetRoundUp, `how the epoch X-RateLimit-Reset is written: "up", "down" (floored) or "exact" (milliseconds)`)
	fs.DurationVar(&c.opts.AsyncUpdateDelay, "async-update-delay", emulator.DefaultAsyncUpdateDelay, "how long an async collection PUT stays in progress")
	fs.DurationVar(&c.opts.LongRunDelay, "long-run-delay", emulator.DefaultLongRunDelay, "how long a forced long monitor run keeps running")
	fs.Int64Var(&c.opts.MaxBodyBytes, "max-body", emulator.DefaultMaxBodyBytes, "request body cap in bytes")
	fs.IntVar(&c.generate, "generate", 0, "add a generated collection with this many requests for the primary user")
	fs.StringVar(&c.generateName, "generate-name", "", `name of the generated collection (default "Generated <N>")`)
	fs.DurationVar(&c.tick, "tick", time.Second, "how often scheduled monitor runs are checked")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := c.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return c, fmt.Errorf("-log-level: %w", err)
	}
	if strings.TrimSpace(c.key) == "" {
		return c, errors.New("-key must not be empty")
	}
	if c.generate < 0 {
		return c, errors.New("-generate must not be negative")
	}
	if c.tick <= 0 {
		return c, errors.New("-tick must be positive")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{{"-window", c.opts.Window, time.Second}, {"-route-window", c.opts.RouteWindow, time.Second}} {
		if d.v < d.min {
			return c, fmt.Errorf("%s must be at least %s", d.name, d.min)
		}
	}
	if c.opts.PerWindow < 1 || c.opts.RoutePerWindow < 1 || c.opts.MonthlyQuota < 1 {
		return c, errors.New("-limit, -route-limit and -month-quota must be at least 1")
	}
	if c.opts.MaxBodyBytes < 1 {
		return c, errors.New("-max-body must be at least 1")
	}
	if c.generateName == "" {
		c.generateName = fmt.Sprintf("Generated %d", c.generate)
	}
	users := emulator.DemoUsers()
	if c.opts.Seed == emulator.SeedEmpty {
		users = users[:1]
	}
	for i := range users {
		if users[i].Key == c.key && i != 0 {
			return c, errors.New("-key collides with another demo user's key; pick a different one")
		}
	}
	users[0].Key = c.key
	c.opts.Keys = users
	if err := c.opts.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "postman-emulator: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.logLevel}))
	c.opts.Logger = log
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		fmt.Fprintf(stderr, "postman-emulator: listen on %s: %v\n", c.addr, err)
		return 1
	}
	defer ln.Close()
	url := "http://" + ln.Addr().String()
	if c.opts.PublicURL == "" {
		c.opts.PublicURL = url
	}
	emu := emulator.New(c.opts)
	if c.generate > 0 {
		uid, err := emu.AddGeneratedCollection(c.key, "", c.generateName, c.generate)
		if err != nil {
			fmt.Fprintf(stderr, "postman-emulator: %v\n", err)
			return 1
		}
		log.Info("generated collection", "name", c.generateName, "requests", c.generate, "uid", uid)
	}

	srv := &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintln(stdout, url)
	log.Info("postman emulator listening", "url", url, "seed", c.opts.Seed, "limit", c.opts.PerWindow, "window", c.opts.Window,
		"webhook", c.opts.WebhookURL != "")

	go func() {
		t := time.NewTicker(c.tick)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n := emu.Tick(); n > 0 {
					log.Info("scheduled monitor runs finished", "runs", n)
				}
			}
		}
	}()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "postman-emulator: serve: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	_ = emu.Close()
	log.Info("stopped")
	return 0
}
