// Command mcp serves pmops's Postman tools to AI assistants over the Model Context Protocol (stdio by default,
// Streamable HTTP with -http), and runs them from the command line (`mcp tools`, `mcp call TOOL key=value…`).
// With -demo everything runs against an embedded Postman emulator seeded with a demo team; no key is needed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/app"
	"github.com/pmops/pmops/internal/cli"
	"github.com/pmops/pmops/internal/mcpserver"
	"github.com/pmops/pmops/internal/newman"
	"github.com/pmops/pmops/internal/tools"
)

const usage = `usage: mcp [flags]                      serve MCP over stdio
       mcp [flags] -http 127.0.0.1:8080   serve MCP over Streamable HTTP at /mcp
       mcp [flags] tools                  list the tools
       mcp [flags] call TOOL [key=value…] run one tool and print its result
       mcp -demo tour                     a short tour on the embedded demo data

call exits 0 on success; run_collection, get_collection_run and run_monitor exit 0 when the run passed,
1 when an assertion or request failed and 2 when the run could not be done (other tools: 1 on error).
-junit FILE writes such a run as a JUnit XML report.

flags (each falls back to the environment variable in brackets):
`

type config struct {
	app        app.Config
	httpAddr   string
	httpLimits mcpserver.HTTPOptions
	maxWait    time.Duration
	toolsets   string
	tools      string
	exclude    string
	readOnly   bool
	logLevel   string
	jsonOutput bool
	junit      string
	newman     string
	maxRuns    int
	ops        app.OpsConfig
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func parse(args []string, stderr io.Writer) (config, []string, error) {
	var c config
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	c.app.AddPostmanFlags(fs)
	c.ops.AddFlags(fs)
	fs.DurationVar(&c.app.Timeout, "timeout", 0, "timeout of one Postman API call (default 60s; monitor runs wait longer)")
	fs.BoolVar(&c.app.Demo, "demo", false, "serve an embedded Postman emulator with demo data; no key needed")
	fs.StringVar(&c.httpAddr, "http", app.EnvOr("PMOPS_HTTP_ADDR", ""), "serve Streamable HTTP on this address instead of stdio [PMOPS_HTTP_ADDR]")
	fs.StringVar(&c.toolsets, "toolsets", app.EnvOr("PMOPS_TOOLSETS", ""), "comma-separated toolsets to enable, or all (default: the default toolsets) [PMOPS_TOOLSETS]")
	fs.StringVar(&c.tools, "tools", app.EnvOr("PMOPS_TOOLS", ""), "comma-separated tools to add; alone, serve only these [PMOPS_TOOLS]")
	fs.StringVar(&c.exclude, "exclude-tools", app.EnvOr("PMOPS_EXCLUDE_TOOLS", ""), "comma-separated tools to hide [PMOPS_EXCLUDE_TOOLS]")
	ro, _ := strconv.ParseBool(app.EnvOr("PMOPS_READ_ONLY", "false"))
	fs.BoolVar(&c.readOnly, "read-only", ro, "hide every tool that changes anything [PMOPS_READ_ONLY]")
	fs.StringVar(&c.logLevel, "log-level", app.EnvOr("PMOPS_LOG_LEVEL", "info"), "debug|info|warn|error; logs go to stderr [PMOPS_LOG_LEVEL]")
	fs.BoolVar(&c.jsonOutput, "json", false, "with call: print the structured result as JSON")
	fs.StringVar(&c.junit, "junit", "", "with call of a run tool: write a JUnit XML report to this file")
	fs.StringVar(&c.newman, "newman", app.EnvOr("PMOPS_NEWMAN", ""), "Newman's bin/newman.js or package directory for run_collection (default: newman on PATH) [PMOPS_NEWMAN]")
	maxRuns := fs.String("max-runs", app.EnvOr("PMOPS_MAX_RUNS", "2"), "collection runs at once (1-64); more wait in a queue [PMOPS_MAX_RUNS]")
	maxBody := fs.String("max-body-bytes", app.EnvOr("PMOPS_MAX_BODY_BYTES", strconv.Itoa(mcpserver.DefaultMaxBodyBytes)), "with -http: largest request body in bytes; larger gets 413 [PMOPS_MAX_BODY_BYTES]")
	ttl := fs.String("session-ttl", app.EnvOr("PMOPS_SESSION_TTL", mcpserver.DefaultSessionTTL.String()), "with -http: end an MCP session after this long without a request [PMOPS_SESSION_TTL]")
	maxSessions := fs.String("max-sessions", app.EnvOr("PMOPS_MAX_SESSIONS", strconv.Itoa(mcpserver.DefaultMaxSessions)), "with -http: most live MCP sessions; an initialize beyond gets 503 + Retry-After [PMOPS_MAX_SESSIONS]")
	origins := fs.String("allowed-origins", app.EnvOr("PMOPS_ALLOWED_ORIGINS", mcpserver.LoopbackOrigins), "with -http: comma-separated browser origins that may call (scheme://host[:port]); \"loopback\" = http(s)://localhost, 127.0.0.1, [::1] on any port; requests without Origin always pass [PMOPS_ALLOWED_ORIGINS]")
	maxWait := fs.String("max-wait", app.EnvOr("PMOPS_MAX_WAIT", mcpserver.DefaultMaxWait.String()), "longest a tool call's Postman request may wait for rate budget; beyond it the call returns at once a rate-limited error with the time to retry [PMOPS_MAX_WAIT]")
	maxKeys := fs.String("max-keys", app.EnvOr("PMOPS_MAX_KEYS", "256"), "with -http: most Postman keys with a client and rate gate in memory; only idle keys are evicted [PMOPS_MAX_KEYS]")
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	c.app.FinishPostman(stderr)
	var errs []error
	var err error
	c.maxRuns, err = positive[int]("max-runs", *maxRuns)
	errs = append(errs, err)
	if err == nil && c.maxRuns > 64 {
		errs = append(errs, fmt.Errorf("-max-runs %d: use 1 to 64", c.maxRuns))
	}
	c.httpLimits.MaxBodyBytes, err = positive[int64]("max-body-bytes", *maxBody)
	errs = append(errs, err)
	c.httpLimits.SessionTTL, err = positiveDuration("session-ttl", *ttl)
	errs = append(errs, err)
	c.httpLimits.MaxSessions, err = positive[int]("max-sessions", *maxSessions)
	errs = append(errs, err)
	c.app.MaxKeys, err = positive[int]("max-keys", *maxKeys)
	errs = append(errs, err)
	c.maxWait, err = positiveDuration("max-wait", *maxWait)
	errs = append(errs, err)
	c.httpLimits.AllowedOrigins = app.List(*origins)
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "mcp: %v\n", err)
		return c, nil, err
	}
	return c, fs.Args(), nil
}

// positive parses a flag value that must be a whole number above zero.
func positive[T int | int64](name, v string) (T, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 || int64(T(n)) != n {
		return 0, fmt.Errorf("bad -%s %q: want a whole number above 0", name, v)
	}
	return T(n), nil
}

func positiveDuration(name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("bad -%s %q: want a duration above 0 such as 10m or 45s", name, v)
	}
	return d, nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, rest, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	logger, err := app.NewLogger(c.logLevel, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "mcp: %v\n", err)
		return 2
	}
	c.app.Logger = logger
	sel := tools.Selection{Toolsets: app.List(c.toolsets), Tools: app.List(c.tools), Exclude: app.List(c.exclude), ReadOnly: c.readOnly}
	selected, err := tools.Select(sel)
	if err != nil {
		fmt.Fprintf(stderr, "mcp: %v\n", err)
		return 2
	}

	runner := newman.NewRunner(newman.Options{Path: c.newman, MaxRuns: c.maxRuns, Logger: logger.With("component", "newman")})
	c.app.Newman = runner
	if c.newman != "" {
		// An explicit path that does not work is a configuration error; a Newman merely absent from PATH is not
		// (and is looked for only when a run needs it).
		if err := runner.Available(); err != nil {
			fmt.Fprintf(stderr, "mcp: -newman %s: %v\n", c.newman, err)
			return 2
		}
	}

	cmd := ""
	if len(rest) > 0 {
		cmd = rest[0]
	}
	optIn := map[string]bool{}
	// The default toolsets keep an assistant's context small; the command line has no such budget, so `tools` and
	// `call` reach every tool unless -toolsets or -tools narrow them (-read-only and -exclude-tools still apply).
	if (cmd == "tools" || cmd == "call") && c.toolsets == "" && c.tools == "" {
		served := map[string]bool{}
		for _, t := range selected {
			served[t.Name] = true
		}
		allSel := sel
		allSel.Toolsets = []string{"all"}
		if selected, err = tools.Select(allSel); err != nil {
			fmt.Fprintf(stderr, "mcp: %v\n", err)
			return 2
		}
		for _, t := range selected {
			if !served[t.Name] {
				optIn[t.Name] = true
			}
		}
	}
	if cmd == "tools" {
		if err := cli.ListTools(stdout, selected, cli.ListOptions{NewmanErr: runner.Available(), OptIn: optIn}); err != nil {
			return 1
		}
		return 0
	}

	// Stdio and the CLI with neither -store nor -metrics-addr get no ops layer at all (ops is nil): no registry,
	// collectors or hooks at start for metrics nobody could read.
	ops, err := app.OpenOpsIfServed(c.ops, c.httpAddr != "" && cmd == "", logger)
	if err != nil {
		fmt.Fprintf(stderr, "mcp: %v\n", err)
		return 2
	}
	defer ops.Close()
	c.app.Ops = ops
	backend, err := app.Open(c.app)
	if err != nil {
		fmt.Fprintf(stderr, "mcp: %v\n", err)
		return 2
	}
	defer backend.Close()
	// No notifier runs here: monitor_history knows the runs this process starts.
	history := tools.NewMemoryHistory(0)
	backend.SetRunHistory(history, history.Observe)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "call", "tour":
		if !backend.HasDefaultKey() {
			fmt.Fprintf(stderr, "mcp: %v\n", app.ErrNoKey)
			return 2
		}
		env, err := backend.DefaultEnv(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "mcp: %v\n", err)
			return 2
		}
		if cmd == "tour" {
			return tour(ctx, env, stdout, stderr)
		}
		if len(rest) < 2 {
			fmt.Fprintln(stderr, "mcp: call needs a tool name; `mcp tools` lists them")
			return 2
		}
		if !contains(selected, rest[1]) {
			fmt.Fprintf(stderr, "mcp: tool %q is not enabled by the current -toolsets/-tools/-read-only settings\n", rest[1])
			return 2
		}
		opts := cli.Options{JSON: c.jsonOutput, JUnit: c.junit}
		if tools.ReportsVerdict(rest[1]) {
			opts.Progress = stderr
		}
		res, err := cli.Call(ctx, env, rest[1], rest[2:], stdout, opts)
		if err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
		}
		return cli.ExitCode(rest[1], res, err)
	case "":
	default:
		fmt.Fprintf(stderr, "mcp: unknown command %q\n%s", cmd, usage)
		return 2
	}

	envFunc := mcpserver.EnvFunc(backend.DefaultEnv)
	if c.httpAddr != "" {
		// The HTTP front pinned the request's key in the registry before any tool runs.
		envFunc = func(ctx context.Context) (*tools.Env, error) { return backend.Env(mcpserver.KeyFromContext(ctx)) }
	} else if !backend.HasDefaultKey() {
		fmt.Fprintf(stderr, "mcp: %v\n", app.ErrNoKey)
		return 2
	}
	s, err := mcpserver.New(mcpserver.Options{Name: "pmops", Version: api.Version, Selection: sel, Env: envFunc, Logger: logger,
		MaxWait: c.maxWait})
	if err != nil {
		fmt.Fprintf(stderr, "mcp: %v\n", err)
		return 2
	}
	if err := ops.Serve(); err != nil {
		fmt.Fprintf(stderr, "mcp: %v\n", err)
		return 2
	}
	if c.httpAddr != "" {
		limits := c.httpLimits
		limits.Keys = backend
		limits.Logger = logger
		if c.app.Demo {
			// The demo data is public and local: a client without a key acts as the demo user.
			limits.DefaultKey = backend.DemoKey()
		}
		return serveHTTP(ctx, s, c.httpAddr, limits, ops, logger, stderr)
	}
	stdio := server.NewStdioServer(s)
	stdio.SetErrorLogger(slog.NewLogLogger(logger.Handler(), slog.LevelError))
	if err := stdio.Listen(ctx, stdin, stdout); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		logger.Error("stdio server stopped", "err", err)
		return 1
	}
	return 0
}

func serveHTTP(ctx context.Context, s *server.MCPServer, addr string, limits mcpserver.HTTPOptions, ops *app.Ops, logger *slog.Logger, stderr io.Writer) int {
	h, err := mcpserver.NewHTTP(s, limits)
	if err != nil {
		fmt.Fprintf(stderr, "mcp: %v\n", err)
		return 2
	}
	defer h.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "mcp: listen on %s: %v\n", addr, err)
		return 2
	}
	srv := mcpserver.NewHTTPServer(h, logger)
	srv.Handler = ops.Handler(srv.Handler)
	logger.Info("serving MCP over Streamable HTTP", "url", "http://"+ln.Addr().String()+"/mcp",
		"max_body_bytes", limits.MaxBodyBytes, "session_ttl", limits.SessionTTL, "max_sessions", limits.MaxSessions,
		"allowed_origins", strings.Join(limits.AllowedOrigins, ","))
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
		return 0
	case err := <-errc:
		logger.Error("http server stopped", "err", err)
		return 1
	}
}

func contains(list []*tools.Tool, name string) bool {
	for _, t := range list {
		if t.Name == name {
			return true
		}
	}
	return false
}
