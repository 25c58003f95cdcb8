// Command notifybench measures the monitor notifier (internal/notify) against the figures:
//
//   - polling: 100 subscribed monitors on 5-minute schedules, no webhook, a 300/min key and a 100,000-call
//     monthly quota, over virtual hours: API calls per hour against the planner's budget and reserve, runs seen,
//     notification lag (run finished → posted);
//
//   - meanwhile, people's calls (real time) while the poller reads every monitor back to back through the same
//     gate: interactive p99 ≤ 5 s;
//
//   - by webhook: lag from a run finishing to its message in Slack, p99 ≤ 2 s;
//
//   - 500 webhook results (each delivered twice) into 20 channels at once: none lost or doubled, Slack's
//     per-channel pace (1/s, enforced by the fake with 429s) kept.
//
//     go run ./bench/notifybench > /tmp/notifybench.md
//
// Markdown on stdout; exit 1 when a figure is missed.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pmops/pmops/bench/internal/machine"
)

func main() {
	ok, err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifybench:", err)
		os.Exit(2)
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "notifybench: a figure was missed")
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) (bool, error) {
	fs := flag.NewFlagSet("notifybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	monitors := fs.Int("monitors", 100, "subscribed monitors (polling)")
	hours := fs.Float64("hours", 6, "virtual hours of polling")
	quota := fs.Int64("quota", 100_000, "monthly API quota")
	interactiveFor := fs.Duration("interactive-for", 60*time.Second, "real time of people's calls during back-to-back polling")
	users := fs.Int("users", 4, "people making calls")
	hookMonitors := fs.Int("hook-monitors", 20, "monitors (one channel each) in the webhook lag run")
	rounds := fs.Int("rounds", 10, "scheduled rounds in the webhook lag run")
	burst := fs.Int("burst", 500, "webhook results in the burst")
	channels := fs.Int("channels", 20, "channels in the burst")
	only := fs.String("only", "", "run one scenario only: polling, interactive, webhook or burst (no thresholds checked)")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	ok := true
	if *only != "" {
		t := time.Now()
		var v any
		var err error
		switch *only {
		case "polling":
			v, err = runPolling(*monitors, *hours, *quota)
		case "interactive":
			v, err = runInteractive(*monitors, *users, *interactiveFor, 0)
		case "webhook":
			v, err = runWebhookLag(*hookMonitors, *rounds)
		case "burst":
			v, err = runBurst(*burst, *channels)
		default:
			return false, fmt.Errorf("unknown scenario %q", *only)
		}
		fmt.Fprintf(stdout, "%+v\n(%s)\n", v, time.Since(t).Round(time.Millisecond))
		return true, err
	}
	fmt.Fprintf(stdout, "Measured with `go run ./bench/notifybench` on %s (load average %s at start).\n\n", time.Now().UTC().Format("2006-01-02"), machine.LoadAverage("unknown"))

	fmt.Fprintln(stderr, "polling…")
	p, err := runPolling(*monitors, *hours, *quota)
	if err != nil {
		return false, err
	}
	fmt.Fprintln(stderr, "interactive calls while polling at the planner's pace…")
	ip, err := runInteractive(*monitors, *users, *interactiveFor, time.Duration(float64(time.Hour)/max(p.PlanAllowed, 1)))
	if err != nil {
		return false, err
	}
	fmt.Fprintln(stderr, "interactive calls during back-to-back polling…")
	il, err := runInteractive(*monitors, *users, *interactiveFor, 0)
	if err != nil {
		return false, err
	}
	fmt.Fprintln(stderr, "webhook lag…")
	h1, err := runWebhookLag(1, *rounds)
	if err != nil {
		return false, err
	}
	h, err := runWebhookLag(*hookMonitors, *rounds)
	if err != nil {
		return false, err
	}
	fmt.Fprintln(stderr, "burst…")
	b, err := runBurst(*burst, *channels)
	if err != nil {
		return false, err
	}

	maxHour := 0
	for _, c := range p.CallsPerHour {
		maxHour = max(maxHour, c)
	}
	fmt.Fprintf(stdout, "**Polling** (virtual clock): %d monitors on `*/5 * * * *`, no webhook, %.0f h, key at 300/min, %d-call month starting on the 2nd, reserve %.0f%%.\n\n",
		p.Monitors, p.Hours, p.MonthLimit, p.Reserve*100)
	fmt.Fprintln(stdout, "| | |\n|---|---|")
	fmt.Fprintf(stdout, "| planner budget / demand (calls per hour) | %.0f / %.0f (stretch %.1f×) |\n", p.PlanAllowed, p.PlanDemand, p.Stretch)
	fmt.Fprintf(stdout, "| API calls per hour (each hour) | %v |\n", p.CallsPerHour)
	fmt.Fprintf(stdout, "| API calls in total | %d |\n", p.Calls)
	fmt.Fprintf(stdout, "| runs executed / seen by polling / posted | %d / %d / %d |\n", p.RunsExecuted, p.RunsSeen, p.Posted)
	fmt.Fprintf(stdout, "| lag run finished → posted p50 / p99 | %s / %s |\n", p.LagP50.Round(time.Second), p.LagP99.Round(time.Second))
	fmt.Fprintf(stdout, "| \"quota running low\" notices in the channel | %d |\n\n", p.QuotaNotices)

	fmt.Fprintf(stdout, "**People while polling** (real clock, %s each): %d people each call `get_monitor` (a third) or `get_environment` every 1–3 s through the poller's gate (Postman's 300/min and the client's 10-per-10 s on `/monitors*`), emulator latency 50 ms; the poller (background class, 4 workers) reads the %d monitors at the planner's pace (one read every %s), or back to back (a stress beyond the issue's scenario).\n\n",
		il.Wall.Round(time.Second), *users, *monitors, time.Duration(float64(time.Hour)/max(p.PlanAllowed, 1)).Round(time.Second))
	fmt.Fprintln(stdout, "| | planner's pace | back to back |\n|---|---|---|")
	fmt.Fprintf(stdout, "| monitor reads | %d | %d |\n", ip.PollCalls, il.PollCalls)
	fmt.Fprintf(stdout, "| people's calls / errors (rate limited) | %d / %d (%d) | %d / %d (%d) |\n", ip.Calls, ip.Errors, ip.RateLimitedCalls, il.Calls, il.Errors, il.RateLimitedCalls)
	fmt.Fprintf(stdout, "| people's latency p50 / p99 / max | %s / %s / %s | %s / %s / %s |\n\n", ms(ip.P50), ms(ip.P99), ms(ip.Max), ms(il.P50), ms(il.P99), ms(il.Max))

	fmt.Fprintf(stdout, "**Webhook lag** (real clock): %d scheduled rounds; each run's webhook goes emulator → receiver → inbox → (cannot repeat a recorded run: no Postman call) → outbox → Slack fake; afterwards one lastRun read per webhook (GET /monitors/{id}, background class, through the client's 10-per-10 s bucket on `/monitors*`) binds it to its run key, before the next round. One monitor, then %d monitors (one channel each) finishing at the same instant.\n\n", h.Rounds, h.Monitors)
	fmt.Fprintln(stdout, "| | 1 monitor | "+fmt.Sprint(h.Monitors)+" monitors at once |\n|---|---|---|")
	fmt.Fprintf(stdout, "| messages posted / runs | %d / %d | %d / %d |\n", h1.Posted, h1.Monitors*h1.Rounds, h.Posted, h.Monitors*h.Rounds)
	fmt.Fprintf(stdout, "| lag p50 / p99 / max | %s / %s / %s | %s / %s / %s |\n", ms(h1.LagP50), ms(h1.LagP99), ms(h1.LagMax), ms(h.LagP50), ms(h.LagP99), ms(h.LagMax))
	fmt.Fprintf(stdout, "| lastRun reads / webhooks bound to their run key | %d / %d | %d / %d |\n\n", h1.CorrelationCalls, h1.Bound, h.CorrelationCalls, h.Bound)

	fmt.Fprintf(stdout, "**Burst**: %d webhook results, each POSTed twice at once (32 at a time), into %d channels; the Slack fake allows 1 message per second per channel and answers 429 beyond.\n\n", b.Results, b.Channels)
	fmt.Fprintln(stdout, "| | |\n|---|---|")
	fmt.Fprintf(stdout, "| POSTs / accepted | %d / %d |\n", b.Posts, b.Accepted)
	fmt.Fprintf(stdout, "| distinct results posted / doubled | %d / %d |\n", b.Posted, b.Doubled)
	fmt.Fprintf(stdout, "| Slack 429s / smallest gap between two messages of a channel | %d / %s |\n", b.Slack429, ms(b.MinGap))
	fmt.Fprintf(stdout, "| wall time (%d messages per channel at 1/s) | %s |\n\n", b.PerChannelMax, b.Wall.Round(100*time.Millisecond))

	check := func(name, want, got string, met bool) {
		state := "met"
		if !met {
			state, ok = "**missed**", false
		}
		fmt.Fprintf(stdout, "| %s | %s | %s | %s |\n", name, want, got, state)
	}
	fmt.Fprintln(stdout, "| figure | want | got | |\n|---|---|---|---|")
	check("polling API calls per hour", fmt.Sprintf("≤ budget %.0f", p.PlanAllowed), fmt.Sprint(maxHour), float64(maxHour) <= p.PlanAllowed*1.05+float64(p.Monitors)/10)
	check("quota left for people at the end", fmt.Sprintf("≥ reserve %d", p.ReserveCalls), fmt.Sprint(p.MonthLeftAtEnd), p.MonthLeftAtEnd >= p.ReserveCalls)
	check("people's p99 while polling (planner's pace)", "≤ 5 s", ms(ip.P99), ip.P99 <= 5*time.Second && ip.Calls > 0)
	check("webhook lag p99, one monitor", "≤ 2 s", ms(h1.LagP99), h1.LagP99 <= 2*time.Second && h1.Posted == h1.Monitors*h1.Rounds)
	check(fmt.Sprintf("webhook lag p99, %d monitors at once", h.Monitors), "≤ 2 s", ms(h.LagP99), h.LagP99 <= 2*time.Second && h.Posted == h.Monitors*h.Rounds)
	check("burst: lost", "0", fmt.Sprint(b.Results-b.Posted), b.Posted == b.Results)
	check("burst: doubled", "0", fmt.Sprint(b.Doubled), b.Doubled == 0)
	check("burst: per-channel pace", "no 429, gaps ≥ 1 s", fmt.Sprintf("%d × 429, min gap %s", b.Slack429, ms(b.MinGap)), b.Slack429 == 0 && b.MinGap >= 990*time.Millisecond)
	return ok, nil
}

func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}
