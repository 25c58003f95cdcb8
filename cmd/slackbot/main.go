// Command slackbot serves pmops's Postman tools in Slack through one /postman command: over Socket Mode when
// SLACK_APP_TOKEN is set, over HTTP request URLs otherwise, or as a local console (-console) that prints what
// Slack would show. With -demo it answers from an embedded Postman emulator with demo data; no key is needed.
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
	"strings"
	"syscall"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/pmops/pmops/internal/app"
	"github.com/pmops/pmops/internal/newman"
	"github.com/pmops/pmops/internal/notify"
	"github.com/pmops/pmops/internal/slackbot"
	"github.com/pmops/pmops/internal/sqlitestore"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
	"github.com/pmops/pmops/internal/vault"
)

type config struct {
	app           app.Config
	httpAddr      string
	console       bool
	dbPath        string
	slackAPIURL   string
	writers       string
	workers       int
	logLevel      string
	botToken      string
	signingSecret string
	appToken      string
	secretKey     string
	hooksAddr     string
	hooksURL      string
	hookToken     string
	jobTimeout    time.Duration
	newman        string
	maxRuns       int
	ops           app.OpsConfig
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("slackbot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: slackbot [flags]\n\nSecrets come from the environment only: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET (HTTP mode),\nSLACK_APP_TOKEN (Socket Mode), POSTMAN_API_KEY (team key), PMOPS_SECRET_KEY (personal keys).\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&c.httpAddr, "http", app.EnvOr("PMOPS_SLACK_HTTP_ADDR", ":3000"), "HTTP listen address when not in Socket Mode [PMOPS_SLACK_HTTP_ADDR]")
	fs.BoolVar(&c.console, "console", false, "read /postman lines from stdin and print what Slack would show")
	fs.BoolVar(&c.app.Demo, "demo", false, "answer from an embedded Postman emulator with demo data; no key needed")
	fs.StringVar(&c.dbPath, "db", app.EnvOr("PMOPS_DB", ""), "SQLite file for linked keys and pending actions (default pmops.db; with -demo or -console, memory); :memory: keeps nothing [PMOPS_DB]")
	fs.StringVar(&c.slackAPIURL, "slack-api-url", app.EnvOr("SLACK_API_URL", ""), "Slack Web API base URL, e.g. a proxy or a fake (default Slack's) [SLACK_API_URL]")
	fs.StringVar(&c.writers, "writers", app.EnvOr("PMOPS_SLACK_WRITERS", ""), "comma-separated Slack user IDs (U…) or user group IDs (S…) allowed to change Postman with the team key [PMOPS_SLACK_WRITERS]")
	workers, _ := strconv.Atoi(app.EnvOr("PMOPS_SLACK_WORKERS", "16"))
	fs.IntVar(&c.workers, "workers", workers, "concurrent Postman jobs [PMOPS_SLACK_WORKERS]")
	jobTimeout, jobErr := time.ParseDuration(app.EnvOr("PMOPS_SLACK_JOB_TIMEOUT", slackbot.DefaultJobTimeout.String()))
	fs.DurationVar(&c.jobTimeout, "job-timeout", jobTimeout, "how long a command's reads and writes may take, queueing included; monitor runs continue past it in the background [PMOPS_SLACK_JOB_TIMEOUT]")
	fs.StringVar(&c.newman, "newman", app.EnvOr("PMOPS_NEWMAN", ""), "Newman's bin/newman.js or package directory for /postman run (default: newman on PATH) [PMOPS_NEWMAN]")
	maxRuns, _ := strconv.Atoi(app.EnvOr("PMOPS_MAX_RUNS", "2"))
	fs.IntVar(&c.maxRuns, "max-runs", maxRuns, "collection runs at once (1-64); more wait in a queue [PMOPS_MAX_RUNS]")
	c.app.AddPostmanFlags(fs)
	fs.StringVar(&c.hooksAddr, "hooks-addr", app.EnvOr("PMOPS_HOOKS_ADDR", ""), "in Socket Mode, listen address for Postman's monitor webhook ("+notify.HookPathPrefix+"<PMOPS_HOOK_TOKEN>) and /healthz; in HTTP mode the webhook is on -http [PMOPS_HOOKS_ADDR]")
	fs.StringVar(&c.hooksURL, "hooks-url", app.EnvOr("PMOPS_HOOKS_URL", ""), "public base URL Postman reaches the webhook at, shown by /postman subscribe, e.g. https://bot.example.com [PMOPS_HOOKS_URL]")
	c.ops.AddFlags(fs)
	fs.StringVar(&c.logLevel, "log-level", app.EnvOr("PMOPS_LOG_LEVEL", "info"), "debug|info|warn|error [PMOPS_LOG_LEVEL]")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if jobErr != nil && !given(fs, "job-timeout") {
		return c, fmt.Errorf("PMOPS_SLACK_JOB_TIMEOUT: %v (use a duration such as 60s)", jobErr)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	c.app.FinishPostman(stderr)
	c.botToken = strings.TrimSpace(os.Getenv("SLACK_BOT_TOKEN"))
	c.signingSecret = strings.TrimSpace(os.Getenv("SLACK_SIGNING_SECRET"))
	c.appToken = strings.TrimSpace(os.Getenv("SLACK_APP_TOKEN"))
	c.secretKey = strings.TrimSpace(os.Getenv(vault.EnvVar))
	c.hookToken = strings.TrimSpace(os.Getenv("PMOPS_HOOK_TOKEN"))
	return c, nil
}

// check reports bad configuration before anything starts.
func (c config) check() error {
	if c.workers < 1 || c.workers > 1024 {
		return fmt.Errorf("-workers %d: use 1 to 1024", c.workers)
	}
	if c.hookToken != "" && len(c.hookToken) < notify.MinHookTokenLen {
		return fmt.Errorf("PMOPS_HOOK_TOKEN must be at least %d characters; generate one with: openssl rand -hex 32", notify.MinHookTokenLen)
	}
	if c.hooksAddr != "" && c.hookToken == "" {
		return errors.New("-hooks-addr needs PMOPS_HOOK_TOKEN (the secret in the webhook URL); set it, or drop -hooks-addr")
	}
	if c.jobTimeout < time.Second || c.jobTimeout > time.Hour {
		return fmt.Errorf("-job-timeout %s: use 1s to 1h", c.jobTimeout)
	}
	if c.console {
		return nil
	}
	if c.botToken == "" {
		return errors.New("SLACK_BOT_TOKEN is not set (the bot's xoxb- token from your Slack app's OAuth page); or use -console to try it locally")
	}
	if !strings.HasPrefix(c.botToken, "xoxb-") {
		return errors.New("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
	}
	if c.appToken != "" && !strings.HasPrefix(c.appToken, "xapp-") {
		return errors.New("SLACK_APP_TOKEN must be an app-level token starting with xapp- (with connections:write)")
	}
	if c.appToken == "" && c.signingSecret == "" {
		return errors.New("set SLACK_APP_TOKEN for Socket Mode, or SLACK_SIGNING_SECRET for HTTP request URLs")
	}
	if c.app.APIKey == "" && c.secretKey == "" && !c.app.Demo {
		return errors.New("no way to reach Postman: set POSTMAN_API_KEY (team mode) and/or PMOPS_SECRET_KEY (people link their own keys), or use -demo")
	}
	return nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "slackbot: %v\n", err)
		return 2
	}
	if err := c.check(); err != nil {
		fmt.Fprintf(stderr, "slackbot: %v\n", err)
		return 2
	}
	logger, err := app.NewLogger(c.logLevel, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "slackbot: %v\n", err)
		return 2
	}
	c.app.Logger = logger
	ops, err := app.OpenOps(c.ops, logger)
	if err != nil {
		fmt.Fprintf(stderr, "slackbot: %v\n", err)
		return 2
	}
	defer ops.Close()
	c.app.Ops = ops

	var sealer slackbot.Sealer
	if c.secretKey != "" {
		v, err := vault.FromEnv(c.secretKey)
		if err != nil {
			fmt.Fprintf(stderr, "slackbot: %v\n", err)
			return 2
		}
		sealer = v
	}
	if c.maxRuns < 1 || c.maxRuns > 64 {
		fmt.Fprintf(stderr, "slackbot: -max-runs %d: use 1 to 64\n", c.maxRuns)
		return 2
	}
	runner := newman.NewRunner(newman.Options{Path: c.newman, MaxRuns: c.maxRuns, Logger: logger.With("component", "newman")})
	if err := runner.Available(); err != nil && c.newman != "" {
		// An explicit path that does not work is a configuration error; a Newman merely absent from PATH is not:
		// /postman run then says how to install it.
		fmt.Fprintf(stderr, "slackbot: -newman %s: %v\n", c.newman, err)
		return 2
	}
	c.app.Newman = runner
	backend, err := app.Open(c.app)
	if err != nil {
		fmt.Fprintf(stderr, "slackbot: %v\n", err)
		return 2
	}
	defer backend.Close()

	dbPath := c.storePath()
	st, err := openStore(dbPath, ops)
	if err != nil {
		fmt.Fprintf(stderr, "slackbot: open store %s: %v\n", dbPath, err)
		return 2
	}
	defer st.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	teamKey := c.app.APIKey
	if c.app.Demo && teamKey == "" {
		teamKey = "PMAK-demo"
	}
	cfg := slackbot.Config{Envs: backend, TeamKey: teamKey, Writers: app.List(c.writers), Store: st, Vault: sealer,
		Workers: c.workers, JobTimeout: c.jobTimeout, Logger: logger}

	if c.console {
		con := &slackbot.Console{Out: stdout}
		cfg.Responder = con
		if len(cfg.Writers) == 0 {
			cfg.Writers = []string{slackbot.ConsoleUser} // the console's one user owns the demo
		}
		d, err := slackbot.New(cfg)
		if err != nil {
			fmt.Fprintf(stderr, "slackbot: %v\n", err)
			return 2
		}
		con.Dispatcher = d
		err = con.Run(ctx, stdin)
		d.Close(context.Background())
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "slackbot: %v\n", err)
			return 1
		}
		return 0
	}

	opts := []slack.Option{}
	if c.slackAPIURL != "" {
		u := c.slackAPIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, slack.OptionAPIURL(u))
	}
	if c.appToken != "" {
		opts = append(opts, slack.OptionAppLevelToken(c.appToken))
	}
	opts = append(opts, slack.OptionHTTPClient(ops.SlackHTTPClient()))
	api := slack.New(c.botToken, opts...)
	// A wrong bot token would fail every answer later; say so now, naming the variable.
	actx, acancel := context.WithTimeout(ctx, 15*time.Second)
	who, err := slackbot.CheckBotToken(actx, api)
	acancel()
	if err != nil {
		fmt.Fprintf(stderr, "slackbot: %v\n", err)
		return 1
	}
	logger.Info("Slack accepted SLACK_BOT_TOKEN", "team", who.Team, "bot_user", who.UserID)
	responder := slackbot.NewSlackResponder(api, logger)
	cfg.Responder = responder
	notifier, err := startNotifier(ctx, c, st, api, backend, ops, logger)
	if err != nil {
		fmt.Fprintf(stderr, "slackbot: %v\n", err)
		return 2
	}
	cfg.Notify = notifier
	cfg.Groups = func(ctx context.Context, id string) ([]string, error) {
		return api.GetUserGroupMembersContext(ctx, id)
	}
	d, err := slackbot.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "slackbot: %v\n", err)
		return 2
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		d.Close(sctx)
	}()

	ops.AddReady("slack", app.Cached(time.Minute, func(ctx context.Context) error { _, err := slackbot.CheckBotToken(ctx, api); return err }))
	var sm *slackbot.SocketMode
	if c.appToken != "" {
		sm = &slackbot.SocketMode{Client: socketmode.New(api), Dispatcher: d, Responder: responder, Seen: st.SeenOnce, Logger: logger}
		ops.AddReady("socket", sm.Ready) // commands arrive only while the socket is up
	}
	if err := ops.Serve(); err != nil {
		fmt.Fprintf(stderr, "slackbot: %v\n", err)
		return 2
	}
	if c.appToken != "" {
		logger.Info("serving Slack over Socket Mode")
		if c.hooksAddr != "" {
			hl, err := net.Listen("tcp", c.hooksAddr)
			if err != nil {
				fmt.Fprintf(stderr, "slackbot: listen on -hooks-addr %s: %v\n", c.hooksAddr, err)
				return 2
			}
			hsrv := &http.Server{Handler: hooksMux(notifier, nil), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
			logger.Info("serving Postman's monitor webhook", "addr", hl.Addr().String(), "path", notify.HookPathPrefix+"<token>")
			go func() { _ = hsrv.Serve(hl) }()
			defer hsrv.Close()
		}
		if err := sm.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "slackbot: Socket Mode stopped: %v\n", err)
			return 1
		}
		return 0
	}
	h := &slackbot.HTTPHandler{Dispatcher: d, SigningSecret: c.signingSecret, Seen: st.SeenOnce, Logger: logger}
	ln, err := net.Listen("tcp", c.httpAddr)
	if err != nil {
		fmt.Fprintf(stderr, "slackbot: listen on %s: %v\n", c.httpAddr, err)
		return 2
	}
	srv := &http.Server{Handler: ops.Handler(hooksMux(notifier, h.Handler())), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	logger.Info("serving Slack request URLs", "addr", ln.Addr().String(), "commands", "/slack/commands", "interactions", "/slack/interactions")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return 0
	case err := <-errc:
		logger.Error("http server stopped", "err", err)
		return 1
	}
}

type closableStore interface {
	slackbot.Store
	Close() error
}

func openStore(path string, ops *app.Ops) (closableStore, error) {
	if ops.Redis != nil {
		return ops.Store(), nil
	}
	if path == ":memory:" {
		return store.NewMemory(), nil
	}
	return sqlitestore.OpenSQLite(path)
}

// storePath is where state lives: -db (or PMOPS_DB) when given; else a throwaway in-memory store for -demo and
// -console, which must not leave a pmops.db in the working directory, and pmops.db for a real bot.
func (c config) storePath() string {
	switch {
	case c.dbPath != "":
		return c.dbPath
	case c.app.Demo || c.console:
		return ":memory:"
	}
	return "pmops.db"
}

// startNotifier starts the monitor notifier on the bot's store: Postman's webhook (with PMOPS_HOOK_TOKEN), polling
// with the team key (when there is one) and runs pmops starts.
func startNotifier(ctx context.Context, c config, st closableStore, api *slack.Client, backend *app.Backend, ops *app.Ops, logger *slog.Logger) (*notify.Notifier, error) {
	var ns store.NotifyStore = store.NewNotifyMemory()
	if s, ok := st.(*sqlitestore.SQLite); ok {
		ns = s.Notify()
	}
	if rs := ops.NotifyStore("notifier"); rs != nil {
		ns = rs // shared by the replicas; the leader's writes fenced by the lease
	}
	ops.WatchOutbox(ns)
	cfg := notify.Config{Store: ns, Slack: api, HookToken: c.hookToken, HookBaseURL: c.hooksURL, Logger: logger.With("component", "notify")}
	if backend.HasDefaultKey() {
		cfg.Env = func(ctx context.Context) (*tools.Env, error) { return backend.DefaultEnv(ctx) }
	}
	n, err := notify.New(cfg)
	if err != nil {
		return nil, err
	}
	backend.SetRunHistory(n.History(), n.ObserveRun)
	// Polling, fan-out and delivery run on the lease holder only (always, without Redis); any replica takes webhooks.
	go ops.Lead(ctx, "notifier", n.Run)
	if c.hookToken == "" {
		logger.Info("monitor webhook receiver off (set PMOPS_HOOK_TOKEN to turn it on); subscribed monitors are polled")
	}
	return n, nil
}

// hooksMux serves Postman's monitor webhook and /healthz beside the Slack handler (nil in Socket Mode).
func hooksMux(n *notify.Notifier, slackHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	if h := n.HookHandler(); h != nil {
		mux.Handle(notify.HookPathPrefix, h)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	if slackHandler != nil {
		mux.Handle("/", slackHandler)
	}
	return mux
}

// given says whether a flag was set on the command line.
func given(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
