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
	"net/http"
	"os"
	"os/signal"
	"strconv"
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
	toolsets   string
	tools      string
	exclude    string
	readOnly   bool
	logLevel   string
	jsonOutput bool
	junit      string
	newman     string
	maxRuns    int
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
	maxRuns, err := strconv.Atoi(app.EnvOr("PMOPS_MAX_RUNS", "2"))
	if err != nil || maxRuns < 1 {
		fmt.Fprintf(stderr, "mcp: PMOPS_MAX_RUNS=%q is not a positive number\n", os.Getenv("PMOPS_MAX_RUNS"))
		return c, nil, fmt.Errorf("bad PMOPS_MAX_RUNS")
	}
	fs.IntVar(&c.maxRuns, "max-runs", maxRuns, "collection runs at once; more wait in a queue [PMOPS_MAX_RUNS]")
	if err := fs.Parse(args); err != nil {
		return c, nil, err
	}
	if c.maxRuns < 1 || c.maxRuns > 64 {
		fmt.Fprintf(stderr, "mcp: -max-runs %d: use 1 to 64\n", c.maxRuns)
		return c, nil, fmt.Errorf("bad -max-runs")
	}
	c.app.FinishPostman(stderr)
	return c, fs.Args(), nil
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
	if err := runner.Available(); err != nil && c.newman != "" {
		// An explicit path that does not work is a configuration error; a Newman merely absent from PATH is not.
		fmt.Fprintf(stderr, "mcp: -newman %s: %v\n", c.newman, err)
		return 2
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

	backend, err := app.Open(c.app)
	if err != nil {
		fmt.Fprintf(stderr, "mcp: %v\n", err)
		return 2
	}
	defer backend.Close()
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
		envFunc = func(ctx context.Context) (*tools.Env, error) {
			if key := mcpserver.KeyFromContext(ctx); key != "" {
				return backend.Env(key)
			}
			if c.app.Demo {
				return backend.DefaultEnv(ctx)
			}
			return nil, app.ErrNoKey
		}
	} else if !backend.HasDefaultKey() {
		fmt.Fprintf(stderr, "mcp: %v\n", app.ErrNoKey)
		return 2
	}
	s, err := mcpserver.New(mcpserver.Options{Name: "pmops", Version: api.Version, Selection: sel, Env: envFunc, Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "mcp: %v\n", err)
		return 2
	}
	if c.httpAddr != "" {
		return serveHTTP(ctx, s, c.httpAddr, logger, stderr)
	}
	stdio := server.NewStdioServer(s)
	stdio.SetErrorLogger(slog.NewLogLogger(logger.Handler(), slog.LevelError))
	if err := stdio.Listen(ctx, stdin, stdout); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		logger.Error("stdio server stopped", "err", err)
		return 1
	}
	return 0
}

func serveHTTP(ctx context.Context, s *server.MCPServer, addr string, logger *slog.Logger, stderr io.Writer) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "mcp: listen on %s: %v\n", addr, err)
		return 2
	}
	srv := &http.Server{Handler: mcpserver.HTTPHandler(s), ReadHeaderTimeout: 10 * time.Second}
	logger.Info("serving MCP over Streamable HTTP", "url", "http://"+ln.Addr().String()+"/mcp")
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
