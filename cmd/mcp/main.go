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
	"github.com/pmops/pmops/internal/tools"
)

const usage = `usage: mcp [flags]                      serve MCP over stdio
       mcp [flags] -http 127.0.0.1:8080   serve MCP over Streamable HTTP at /mcp
       mcp [flags] tools                  list the tools
       mcp [flags] call TOOL [key=value…] run one tool and print its result
       mcp -demo tour                     a short tour on the embedded demo data

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
	if err := fs.Parse(args); err != nil {
		return c, nil, err
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

	cmd := ""
	if len(rest) > 0 {
		cmd = rest[0]
	}
	if cmd == "tools" {
		if err := cli.ListTools(stdout, selected); err != nil {
			return 1
		}
		return 0
	}

	ops, err := app.OpenOps(c.ops, logger)
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
		if err := cli.Call(ctx, env, rest[1], rest[2:], stdout, c.jsonOutput); err != nil {
			fmt.Fprintf(stderr, "error: %v\n", err)
			return 1
		}
		return 0
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
	if err := ops.Serve(); err != nil {
		fmt.Fprintf(stderr, "mcp: %v\n", err)
		return 2
	}
	if c.httpAddr != "" {
		return serveHTTP(ctx, s, c.httpAddr, ops, logger, stderr)
	}
	stdio := server.NewStdioServer(s)
	stdio.SetErrorLogger(slog.NewLogLogger(logger.Handler(), slog.LevelError))
	if err := stdio.Listen(ctx, stdin, stdout); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		logger.Error("stdio server stopped", "err", err)
		return 1
	}
	return 0
}

func serveHTTP(ctx context.Context, s *server.MCPServer, addr string, ops *app.Ops, logger *slog.Logger, stderr io.Writer) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "mcp: listen on %s: %v\n", addr, err)
		return 2
	}
	srv := &http.Server{Handler: ops.Handler(mcpserver.HTTPHandler(s)), ReadHeaderTimeout: 10 * time.Second}
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
