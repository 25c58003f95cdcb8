// Command slackload is the Slack bot's load benchmark: it sends slash commands from many users, signed, over
// real loopback HTTP from the Slack fake (internal/slackfake) to the bot (internal/slackbot's HTTP transport and
// dispatcher over the production backend and rate gate), while the Postman emulator (internal/emulator) answers
// slowly and rate-limits. It measures ack latency, how every command ended (its result, "rate limited until …",
// another error, or nothing), per-user fairness and the API calls spent, and runs the same load against a naive
// bot that does the Postman work on the ack path, for comparison in the same run.
//
//	go run ./bench/slackload > /tmp/slackload.md
//
// It prints Markdown for BENCHMARKS.md on stdout (progress on stderr) and exits 1 when the bot misses one of the
// issue's figures (ack p99 ≤ 100 ms, every command acked and answered with its result or a "rate limited
// until …" reply, none lost, no user without a result) or the bound its job timeout promises (no answer later
// than the job timeout plus 5 s).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"
)

func main() {
	ok, err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "slackload:", err)
		os.Exit(2)
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "slackload: the bot missed at least one threshold")
		os.Exit(1)
	}
}

// loadAverage is /proc/loadavg's three averages, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func run(args []string, stdout, stderr io.Writer) (ok bool, err error) {
	fs := flag.NewFlagSet("slackload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := Scenario{}
	fs.IntVar(&s.Commands, "commands", 200, "slash commands to send")
	fs.DurationVar(&s.Over, "over", 10*time.Second, "spread the commands evenly over this long")
	fs.IntVar(&s.Users, "users", 50, "distinct Slack users (members of #general), taking turns")
	mix := fs.String("mix", strings.Join(DefaultMix, ","), "comma-separated command texts after /postman, cycled")
	fs.DurationVar(&s.Latency, "latency", 2*time.Second, "emulator latency added to every admitted request")
	fs.IntVar(&s.PerWindow, "per-window", 60, "emulator requests per window per key")
	fs.DurationVar(&s.Window, "window", 60*time.Second, "emulator rate window")
	fs.DurationVar(&s.JobTimeout, "job-timeout", 60*time.Second, "the bot's JobTimeout: how long a command may wait for Postman")
	fs.IntVar(&s.Workers, "workers", 0, "the bot's Workers (0: its default)")
	fs.DurationVar(&s.Wait, "wait", 140*time.Second, "after the last command, wait at most this long for answers (the rest count as lost)")
	maxP99 := fs.Duration("max-ack-p99", 100*time.Millisecond, "threshold for the bot's ack latency p99")
	baseline := fs.Bool("baseline", true, "also run the naive on-the-ack-path bot")
	verbose := fs.Bool("v", false, "log the bot's warnings to stderr")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, m := range strings.Split(*mix, ",") {
		if m = strings.TrimSpace(m); m != "" {
			s.Mix = append(s.Mix, m)
		}
	}
	if s.Commands < 1 || s.Users < 1 || len(s.Mix) == 0 || s.Over <= 0 {
		return false, errors.New("-commands, -users, -over and -mix must be positive / non-empty")
	}
	level := slog.LevelInfo
	if !*verbose {
		level = slog.LevelError
	}
	progress := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	s.Logger = progress

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	load := loadAverage()
	start := time.Now()
	refs, err := Reference(ctx, s)
	if err != nil {
		return false, err
	}
	fmt.Fprintln(stderr, "slackload: bot run…")
	bot, err := RunBot(ctx, s, refs)
	if err != nil {
		return false, fmt.Errorf("bot run: %w", err)
	}
	var naive *Result
	if *baseline {
		fmt.Fprintln(stderr, "slackload: naive baseline run…")
		n, err := RunNaive(ctx, s, refs)
		if err != nil {
			return false, fmt.Errorf("naive run: %w", err)
		}
		naive = &n
	}
	th := Thresholds(bot, *maxP99, s.JobTimeout)
	fmt.Fprintf(stdout, "Measured with `%s` on %d CPUs, %s (load average %s at start).\n\n",
		strings.Join(append([]string{"go run ./bench/slackload"}, args...), " "), runtime.NumCPU(), runtime.GOOS, load)
	WriteMarkdown(stdout, s, &bot, naive, th)
	fmt.Fprintf(stderr, "slackload: done in %s\n", secs(time.Since(start)))
	ok = true
	for _, t := range th {
		ok = ok && t.Met
	}
	return ok, nil
}
