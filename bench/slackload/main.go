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
// issue's figures (ack p99 ≤ 100 ms, every command acked and answered with its result or a rate-limited reply
// that says when, none lost, 0 × 429, every command that waits more than 2 s told "Queued…" within 3 s of its ack,
// no user without a result) or the bound its job timeout promises (no answer later than the job timeout plus
// 5 s). -scenario waits runs the waiting scenario (100 commands from 30 users in 3 s, a 20-per-minute
// key, 1 s latency). The bot runs with the shipped binary's defaults.
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

	"github.com/pmops/pmops/bench/internal/machine"
	"github.com/pmops/pmops/internal/slackbot"
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

func run(args []string, stdout, stderr io.Writer) (ok bool, err error) {
	fs := flag.NewFlagSet("slackload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := Scenario{}
	scenario := fs.String("scenario", "load", "preset for the flags below: load (200 commands in 10 s from 50 users, 2 s latency, 60 per minute) or waits (100 commands in 3 s from 30 users, 1 s latency, 20 per minute); flags given override it")
	fs.IntVar(&s.Commands, "commands", 200, "slash commands to send")
	fs.DurationVar(&s.Over, "over", 10*time.Second, "spread the commands evenly over this long")
	fs.IntVar(&s.Users, "users", 50, "distinct Slack users (members of #general), taking turns")
	mix := fs.String("mix", strings.Join(DefaultMix, ","), "comma-separated command texts after /postman, cycled")
	fs.DurationVar(&s.Latency, "latency", 2*time.Second, "emulator latency added to every admitted request")
	fs.IntVar(&s.PerWindow, "per-window", 60, "emulator requests per window per key")
	fs.DurationVar(&s.Window, "window", 60*time.Second, "emulator rate window")
	// The bot runs with the shipped binary's defaults; these two are the binary's own flags (-job-timeout,
	// -workers), so a run with them set is a configuration users can choose too.
	fs.DurationVar(&s.JobTimeout, "job-timeout", slackbot.DefaultJobTimeout, "the bot's -job-timeout (default: the binary's)")
	fs.IntVar(&s.Workers, "workers", 0, "the bot's -workers (0: the binary's default)")
	fs.DurationVar(&s.Wait, "wait", 140*time.Second, "after the last command, wait at most this long for answers (the rest count as lost)")
	maxP99 := fs.Duration("max-ack-p99", 100*time.Millisecond, "threshold for the bot's ack latency p99")
	baseline := fs.Bool("baseline", true, "also run the naive on-the-ack-path bot")
	verbose := fs.Bool("v", false, "log the bot's warnings to stderr")
	startSecond := fs.Int("start-second", -1, "start the bot run when the wall clock reaches this second of a minute (0-59; -1: at once): the emulator's windows lie on the minute, so this sets where in its window the run begins")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	if *startSecond < -1 || *startSecond > 59 {
		return false, fmt.Errorf("-start-second %d: use 0-59, or -1 to start at once", *startSecond)
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch *scenario {
	case "load":
	case "waits":
		// The waiting scenario: 100 commands from 30 users in 3 s against a 20-per-minute key with 1 s
		// latency: most must wait, and must be told so.
		preset := map[string]func(){
			"commands": func() { s.Commands = 100 }, "over": func() { s.Over = 3 * time.Second },
			"users": func() { s.Users = 30 }, "latency": func() { s.Latency = time.Second },
			"per-window": func() { s.PerWindow = 20 },
		}
		for name, apply := range preset {
			if !set[name] {
				apply()
			}
		}
	default:
		return false, fmt.Errorf("unknown -scenario %q: use load or waits", *scenario)
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
	load := machine.LoadAverage("unknown")
	start := time.Now()
	refs, err := Reference(ctx, s)
	if err != nil {
		return false, err
	}
	if *startSecond >= 0 {
		wait := secondOfMinute(time.Now(), *startSecond)
		fmt.Fprintf(stderr, "slackload: waiting %s for second :%02d of the minute…\n", secs(wait), *startSecond)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return false, ctx.Err()
		}
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
	th := Thresholds(bot, *maxP99, s.JobTimeout, *scenario == "load")
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

// secondOfMinute is how long from now until the wall clock next shows second sec of a minute.
func secondOfMinute(now time.Time, sec int) time.Duration {
	at := now.Truncate(time.Minute).Add(time.Duration(sec) * time.Second)
	if at.Before(now) {
		at = at.Add(time.Minute)
	}
	return at.Sub(now)
}
