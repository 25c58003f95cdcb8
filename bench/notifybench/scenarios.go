package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/clock"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/notify"
	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

const hookToken = "bench-hook-token-0123456789abcdef0123456789"

// quiet discards the components' logs; PMOPS_BENCH_LOG=debug|info shows them on stderr.
var quiet = func() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(os.Getenv("PMOPS_BENCH_LOG"))); err != nil || os.Getenv("PMOPS_BENCH_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}()

// postman is an emulator on a virtual clock with monitors created for the scenario.
type postman struct {
	clk  *clock.Fake
	emu  *emulator.Emulator
	srv  *httptest.Server
	ws   string
	env  *tools.Env
	uids []string
}

func newPostman(start time.Time, opts emulator.Options) (*postman, error) {
	p := &postman{clk: clock.NewFake(start)}
	opts.Clock = p.clk
	opts.Logger = quiet
	p.emu = emulator.New(opts)
	p.srv = httptest.NewServer(p.emu)
	// The production client and gate, without Postman's 10-per-10 s route bucket: that bucket would be counted on
	// the real clock while the emulator runs on the virtual one (the per-minute window and the monthly quota are
	// learnt from the emulator's headers, on its clock).
	gate := ratelimit.New(p.srv.Client().Transport, ratelimit.Options{Cache: api.CacheRules()})
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: p.srv.URL, Logger: quiet, Gate: gate})
	if err != nil {
		return nil, err
	}
	p.env = &tools.Env{Client: c, Budget: c.RateBudget, Runs: tools.NewRunLog(16)}
	for _, w := range p.do(emulator.DemoTeammateKey, "GET", "/workspaces", nil)["workspaces"].([]any) {
		if m := w.(map[string]any); m["name"] == emulator.DemoWorkspacePayments {
			p.ws = m["id"].(string)
		}
	}
	return p, nil
}

func (p *postman) close() { p.srv.Close(); _ = p.emu.Close() }

// do is a setup call with the teammate's key (its own rate budget), waiting out the route bucket on the virtual
// clock when needed.
func (p *postman) do(key, method, path string, body any) map[string]any {
	for {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, p.srv.URL+path, bytes.NewReader(b))
		req.Header.Set("X-Api-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode == 429 {
			p.clk.Advance(10 * time.Second)
			continue
		}
		if resp.StatusCode != 200 {
			panic(fmt.Sprintf("%s %s: %d %v", method, path, resp.StatusCode, out))
		}
		return out
	}
}

// addMonitors creates n monitors on a 5-minute schedule; every third fails (its request answers 500).
func (p *postman) addMonitors(n int) {
	mk := func(name, url string) string {
		col := p.do(emulator.DemoTeammateKey, "POST", "/collections?workspace="+p.ws, map[string]any{"collection": map[string]any{
			"info": map[string]any{"name": name, "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
			"item": []any{map[string]any{"name": "Health", "request": map[string]any{"method": "GET", "url": url},
				"event": []any{map[string]any{"listen": "test", "script": map[string]any{"exec": []any{
					`pm.test("Status code is 200", function () { pm.response.to.have.status(200); });`}}}}}},
		}})
		return col["collection"].(map[string]any)["uid"].(string)
	}
	ok, bad := mk("bench ok", "https://echo.example/status/200"), mk("bench bad", "https://echo.example/status/500")
	for i := range n {
		col := ok
		if i%3 == 2 {
			col = bad
		}
		m := p.do(emulator.DemoTeammateKey, "POST", "/monitors?workspace="+p.ws, map[string]any{"monitor": map[string]any{
			"name": fmt.Sprintf("bench monitor %03d", i), "collection": col, "schedule": map[string]any{"cron": "*/5 * * * *", "timezone": "UTC"}}})
		p.uids = append(p.uids, m["monitor"].(map[string]any)["uid"].(string))
	}
}

func subscribe(st store.NotifyStore, channel, uid string, policy store.Policy) {
	if _, err := st.PutSubscription(context.Background(), store.Subscription{ChannelID: channel, Target: store.Target{Kind: store.TargetMonitor, ID: uid},
		Policy: policy, CreatedBy: slackfake.UserAlice}); err != nil {
		panic(err)
	}
}

func channelIDs(n int) []slackfake.Channel {
	var out []slackfake.Channel
	for i := range n {
		out = append(out, slackfake.Channel{ID: fmt.Sprintf("C0BENCH%03d", i), Name: fmt.Sprintf("bench-%d", i),
			Members: []string{slackfake.DefaultBotUserID, slackfake.UserAlice}})
	}
	return out
}

var benchScopes = []string{"chat:write", "channels:read", "groups:read", "channels:history", "groups:history", "im:history"}

// ---- polling: 100 monitors, no webhook, a 100,000-call month ----

// PollResult is what the polling scenario measured.
type PollResult struct {
	Monitors         int
	Hours            float64
	MonthLimit       int64
	Reserve          float64
	Calls            int
	CallsPerHour     []int
	PlanAllowed      float64
	PlanDemand       float64
	Stretch          float64
	MonthLeftAtEnd   int64
	ReserveCalls     int64
	RunsExecuted     int
	RunsSeen         int
	Posted           int
	LagP50, LagP99   time.Duration
	QuotaNotices     int
	Interactive      LatencyResult
	BackgroundCalls  int
	InteractiveCalls int
}

// LatencyResult is interactive latency while the poller saturates the window.
type LatencyResult struct {
	Calls, Errors    int
	P50, P99, Max    time.Duration
	PollPasses       int
	PollCalls        int
	Window, PerWin   int
	Wall             time.Duration
	RateLimitedCalls int
}

func runPolling(monitors int, hours float64, quota int64) (PollResult, error) {
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // the start of a month: the whole quota ahead
	// The emulator's windows run on the virtual clock and the client's gate on the real one, so the server-side
	// route bucket is raised; the client still keeps Postman's 10 per 10 s on /monitors* locally.
	pm, err := newPostman(start, emulator.Options{MonthlyQuota: quota, PerWindow: 300, RoutePerWindow: 100_000})
	if err != nil {
		return PollResult{}, err
	}
	defer pm.close()
	pm.addMonitors(monitors)
	fake := slackfake.New(slackfake.Options{Clock: pm.clk, Scopes: benchScopes, Channels: append(channelIDs(1), slackfake.DefaultChannels(slackfake.DefaultBotUserID)...)})
	defer fake.Close()
	st := store.NewNotifyMemory()
	n, err := notify.New(notify.Config{Store: st, Slack: slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL())), Clock: pm.clk, Logger: quiet,
		Env: func(context.Context) (*tools.Env, error) { return pm.env, nil }})
	if err != nil {
		return PollResult{}, err
	}
	for _, uid := range pm.uids {
		subscribe(st, "C0BENCH000", uid, store.PolicyAll)
		// As /postman subscribe leaves it: the poller knows the schedule from the subscribe call's read.
		if err := st.PutMonitorState(context.Background(), store.MonitorState{MonitorUID: uid, Period: 5 * time.Minute,
			NextRun: start.Add(5 * time.Minute), LastPolledAt: start}); err != nil {
			return PollResult{}, err
		}
	}
	ctx := context.Background()
	before := pm.emu.Requests(emulator.DemoKey)
	res := PollResult{Monitors: monitors, Hours: hours, MonthLimit: quota, Reserve: 0.2}
	tick := 15 * time.Second
	steps := int(hours * float64(time.Hour/tick))
	hourStart := before
	for i := range steps {
		if _, err := n.Poll(ctx); err != nil {
			return res, fmt.Errorf("poll: %w", err)
		}
		for range int(tick / time.Second) { // the Run loop steps twice a second; once a virtual second will do
			n.Step(ctx)
			pm.clk.Advance(time.Second)
		}
		pm.emu.Tick()
		if (i+1)%int(time.Hour/tick) == 0 {
			fmt.Fprintf(os.Stderr, "  polling: virtual hour %d done\n", (i+1)/int(time.Hour/tick))
			now := pm.emu.Requests(emulator.DemoKey)
			res.CallsPerHour = append(res.CallsPerHour, now-hourStart)
			hourStart = now
		}
	}
	// Let the last deliveries out.
	for range 120 {
		pm.clk.Advance(time.Second)
		n.Step(ctx)
	}
	res.Calls = pm.emu.Requests(emulator.DemoKey) - before
	plan := n.LastPlan()
	res.PlanAllowed, res.PlanDemand, res.Stretch = plan.AllowedPerHour, plan.DemandPerHour, plan.Stretch
	res.MonthLeftAtEnd = quota - pm.emu.MonthlyUsage(emulator.DemoKey)
	res.ReserveCalls = int64(0.2 * float64(quota))
	res.RunsExecuted = monitors * int(hours*12) // every monitor runs on its */5 schedule
	var lags []time.Duration
	for _, uid := range pm.uids {
		runs, _ := st.Runs(ctx, uid, 0)
		res.RunsSeen += len(runs)
	}
	finished := map[string]time.Time{}
	for _, uid := range pm.uids {
		runs, _ := st.Runs(ctx, uid, 0)
		for _, r := range runs {
			finished[r.Key] = r.FinishedAt
		}
	}
	var all []slackfake.Message
	for _, m := range fake.Messages("C0BENCH000") {
		all = append(all, m)
		if !m.IsReply() {
			for _, r := range fake.Thread("C0BENCH000", m.TS)[1:] {
				if !r.ReplyBroadcast { // broadcast replies are in the channel list already
					all = append(all, r)
				}
			}
		}
	}
	for _, m := range all {
		key := deliveryRun(m.Metadata)
		if key == "" {
			if strings.Contains(m.Text, "quota") {
				res.QuotaNotices++
			}
			continue
		}
		res.Posted++
		if f, ok := finished[key]; ok {
			lags = append(lags, m.PostedAt.Sub(f))
		}
	}
	res.LagP50, res.LagP99 = pct(lags, 0.5), pct(lags, 0.99)
	return res, nil
}

// deliveryRun reads the run key out of a message's delivery metadata ("<channel>|<run>|<role>").
func deliveryRun(raw json.RawMessage) string {
	var meta struct {
		EventPayload map[string]any `json:"event_payload"`
	}
	if json.Unmarshal(raw, &meta) != nil {
		return ""
	}
	key, _ := meta.EventPayload["key"].(string)
	parts := strings.Split(key, "|")
	if len(parts) != 3 || parts[0] == "notice" {
		return ""
	}
	return parts[1]
}

// runInteractive measures people's calls while the poller reads every monitor as fast as the gate lets
// background traffic go: the real clock, Postman's 300 per minute and 10 per 10 s on /monitors*, 50 ms latency.
// With every > 0 the poller instead reads one monitor every that long (the planner's pace for 100 monitors on a
// 100,000-call month is one read per ~32 s).
func runInteractive(monitors, users int, over, every time.Duration) (LatencyResult, error) {
	emu := emulator.New(emulator.Options{Latency: 50 * time.Millisecond, Logger: quiet, RoutePerWindow: 100_000})
	srv := httptest.NewServer(emu)
	defer func() { srv.Close(); _ = emu.Close() }()
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: srv.URL, Logger: quiet})
	if err != nil {
		return LatencyResult{}, err
	}
	env := &tools.Env{Client: c, Budget: c.RateBudget, Runs: tools.NewRunLog(16)}
	// Monitors to poll: setup with the teammate's key.
	pm := &postman{clk: nil, emu: emu, srv: srv}
	pm.clk = clock.NewFake(time.Now()) // only for do()'s 429 back-off, which the raised route bucket avoids
	for _, w := range pm.do(emulator.DemoTeammateKey, "GET", "/workspaces", nil)["workspaces"].([]any) {
		if m := w.(map[string]any); m["name"] == emulator.DemoWorkspacePayments {
			pm.ws = m["id"].(string)
		}
	}
	pm.addMonitors(monitors)
	fake := slackfake.New(slackfake.Options{Scopes: benchScopes, Channels: channelIDs(1)})
	defer fake.Close()
	st := store.NewNotifyMemory()
	n, err := notify.New(notify.Config{Store: st, Slack: slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL())), Logger: quiet,
		Env: func(context.Context) (*tools.Env, error) { return env, nil },
		// A quota that never binds and no schedule wait: every monitor is read on every pass (the worst case).
		Planner: notify.Planner{Grace: time.Nanosecond}})
	if err != nil {
		return LatencyResult{}, err
	}
	for _, uid := range pm.uids {
		subscribe(st, "C0BENCH000", uid, store.PolicyFailures)
	}
	// No deadline on the poller's context (as in production, where background calls wait for the budget): the
	// run ends by cancellation.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(over, cancel)
	res := LatencyResult{Window: 60, PerWin: 300}
	startCalls := emu.Requests(emulator.DemoKey)
	var wg sync.WaitGroup
	wg.Go(func() { // the poller: passes back to back, every monitor forced due
		for i := 0; ctx.Err() == nil; i++ {
			states, _ := st.MonitorStates(ctx)
			for j, s := range states {
				if every > 0 && j != i%len(states) {
					s.NextRun, s.LastPolledAt = time.Now().Add(time.Hour), time.Now()
				} else {
					s.NextRun, s.LastPolledAt = time.Time{}, time.Time{}
				}
				_ = st.PutMonitorState(ctx, s)
			}
			if every > 0 && i > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(every):
				}
			}
			rep, err := n.Poll(ctx)
			if err != nil && ctx.Err() == nil {
				fmt.Fprintln(io.Discard, err)
			}
			res.PollPasses++
			res.PollCalls += rep.Polled
		}
	})
	var mu sync.Mutex
	var lat []time.Duration
	monTool, _ := tools.Lookup("get_monitor")
	envTool, _ := tools.Lookup("get_environment")
	var envs []string
	for _, e := range pm.do(emulator.DemoTeammateKey, "GET", "/environments?workspace="+pm.ws, nil)["environments"].([]any) {
		envs = append(envs, e.(map[string]any)["uid"].(string))
	}
	t0 := time.Now()
	for u := range users {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				time.Sleep(time.Duration(1000+(u*37+i*53)%2000) * time.Millisecond) // a person every ~2 s
				if ctx.Err() != nil {
					return
				}
				// A person's mix: a monitor (shares the poller's 10-per-10 s route bucket) or an environment.
				tool, arg := envTool, map[string]any{"environment": envs[(u+i)%len(envs)]}
				if i%3 == 0 {
					tool, arg = monTool, map[string]any{"monitor": pm.uids[(u*7+i)%len(pm.uids)]}
				}
				raw, _ := json.Marshal(arg)
				c := ratelimit.WithTicket(context.Background(), ratelimit.Ticket{Class: ratelimit.Interactive, User: fmt.Sprintf("U%02d", u)})
				c, cancelCall := context.WithTimeout(c, 30*time.Second)
				began := time.Now()
				_, err := tool.Call(c, env, raw)
				d := time.Since(began)
				cancelCall()
				mu.Lock()
				res.Calls++
				if err != nil {
					res.Errors++
					if te, ok := tools.AsError(err); ok && te.Kind == tools.KindRateLimited {
						res.RateLimitedCalls++
					}
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	res.Wall = time.Since(t0)
	res.P50, res.P99 = pct(lat, 0.5), pct(lat, 0.99)
	if len(lat) > 0 {
		res.Max = slices.Max(lat)
	}
	_ = startCalls
	return res, nil
}

// ---- webhook lag ----

// HookResult is the webhook scenario's measurements.
type HookResult struct {
	Monitors, Rounds int
	Posted           int
	LagP50, LagP99   time.Duration
	LagMax           time.Duration
	CorrelationCalls int
	Bound            int // posted webhooks later bound to their run key by a lastRun read
}

func runWebhookLag(monitors, rounds int) (HookResult, error) {
	// The emulator's schedule runs on a virtual clock kept behind the real one, so a run "finishes" when the
	// clock is advanced; the notifier and Slack run on the real clock and the lag is real time.
	pm, err := newPostman(time.Now().Add(-3*time.Hour).Truncate(5*time.Minute), emulator.Options{RoutePerWindow: 100_000})
	if err != nil {
		return HookResult{}, err
	}
	defer pm.close()
	pm.addMonitors(monitors)
	chans := channelIDs(monitors)
	fake := slackfake.New(slackfake.Options{Scopes: benchScopes, Channels: chans})
	defer fake.Close()
	st := store.NewNotifyMemory()
	// The notifier shares the emulator's clock (so a run's finish and its webhook's arrival agree, as with
	// Postman); each channel gets one message per round, so the standing clock never holds the pace back.
	n, err := notify.New(notify.Config{Store: st, Slack: slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL())), Logger: quiet,
		HookToken: hookToken, Clock: pm.clk, Env: func(context.Context) (*tools.Env, error) { return pm.env, nil }})
	if err != nil {
		return HookResult{}, err
	}
	for i, uid := range pm.uids {
		subscribe(st, chans[i].ID, uid, store.PolicyAll)
		_ = st.NoteWebhook(context.Background(), uid, pm.clk.Now()) // the poller leaves them to the webhook
	}
	hooks := httptest.NewServer(n.HookHandler())
	defer hooks.Close()
	pm.emu.SetWebhookURL(hooks.URL + notify.HookPathPrefix + hookToken)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = n.Run(ctx) }()
	res := HookResult{Monitors: monitors, Rounds: rounds}
	var lags []time.Duration
	callsBefore := pm.emu.Requests(emulator.DemoKey)
	for r := range rounds {
		want := (r + 1) * monitors
		finished := time.Now()
		pm.emu.Advance(5 * time.Minute)
		deadline := time.Now().Add(roundWait)
		var posts []slackfake.Call
		for {
			posts = posts[:0]
			for _, c := range fake.CallsTo("chat.postMessage") {
				if c.OK && strings.HasPrefix(c.Args["channel"], "C0BENCH") {
					posts = append(posts, c)
				}
			}
			if len(posts) >= want || time.Now().After(deadline) {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		// The clock stands still between rounds: let the round's deliveries close (the notifier paces each channel
		// from the moment Slack answered) before the next round moves it.
		for time.Now().Before(deadline) {
			stats, err := st.OutboxStats(context.Background())
			if err == nil && stats[store.OutboxPending]+stats[store.OutboxSending] == 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		// Before the next run, the webhooks are bound to their run keys by background lastRun reads (real time
		// flows on between scheduled runs; here the clock waits for them, up to bindWait).
		for bindBy := time.Now().Add(bindWait); time.Now().Before(bindBy); time.Sleep(20 * time.Millisecond) {
			if inbox, err := st.Inbox(context.Background(), 0, 1); err == nil && len(inbox) == 0 {
				break
			}
		}
		// This round's messages (a failing monitor's later failures are thread replies: counted from the calls).
		for _, c := range posts[min(len(posts), r*monitors):] {
			lags = append(lags, c.At.Sub(finished))
		}
	}
	for _, c := range fake.CallsTo("chat.postMessage") {
		if c.OK && strings.HasPrefix(c.Args["channel"], "C0BENCH") {
			res.Posted++
		}
	}
	if os.Getenv("PMOPS_BENCH_LOG") != "" {
		for _, ch := range chans {
			if msgs := fake.Messages(ch.ID); len(msgs) < rounds {
				quiet.Info("channel short of messages", "channel", ch.ID, "messages", len(msgs))
			}
		}
		open, _ := st.DueOutbox(context.Background(), pm.clk.Now().Add(time.Hour), 100)
		for _, it := range open {
			quiet.Info("open outbox item", "key", it.Key, "state", it.State, "not_before", it.NotBefore, "now", pm.clk.Now())
		}
	}
	res.CorrelationCalls = pm.emu.Requests(emulator.DemoKey) - callsBefore
	for _, uid := range pm.uids {
		runs, _ := st.Runs(context.Background(), uid, 0)
		for _, r := range runs {
			if !strings.Contains(r.Key, "@hook:") {
				res.Bound++
			}
		}
	}
	res.LagP50, res.LagP99 = pct(lags, 0.5), pct(lags, 0.99)
	if len(lags) > 0 {
		res.LagMax = slices.Max(lags)
	}
	return res, nil
}

var roundWait = 90 * time.Second

// bindWait bounds the wait for a round's webhooks to be bound to their runs.
var bindWait = 60 * time.Second

// ---- burst: 500 webhook results into 20 channels ----

// BurstResult is the burst scenario's measurements.
type BurstResult struct {
	Results, Channels, Posts int
	Accepted                 int
	Posted, Doubled          int
	Slack429                 int
	MinGap                   time.Duration
	Wall                     time.Duration
	PerChannelMax            int
}

func runBurst(results, channels int) (BurstResult, error) {
	chans := channelIDs(channels)
	fake := slackfake.New(slackfake.Options{Scopes: benchScopes, Channels: chans, ChannelRate: &slackfake.ChannelRate{Interval: time.Second, Burst: 1}})
	defer fake.Close()
	st := store.NewNotifyMemory()
	// No Postman access: webhooks are recorded by their arrival (the burst is within one minute per monitor).
	n, err := notify.New(notify.Config{Store: st, Slack: slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL())), Logger: quiet, HookToken: hookToken})
	if err != nil {
		return BurstResult{}, err
	}
	uids := make([]string, results)
	for i := range results {
		uids[i] = fmt.Sprintf("1-burst-%04d", i)
		subscribe(st, chans[i%channels].ID, uids[i], store.PolicyAll)
	}
	hooks := httptest.NewServer(n.HookHandler())
	defer hooks.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = n.Run(ctx) }()
	res := BurstResult{Results: results, Channels: channels}
	t0 := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 32)
	for i := range results {
		for range 2 { // each result is delivered twice (Postman retrying, or a replay)
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				body := fmt.Sprintf(`{"monitor_name":"burst %d","monitor_uid":"%s","collection_name":"C","metrics":{"errors":0,"failedTests":%d,"passedTests":3,"requestCount":3,"totalLatency":40,"warnings":0}}`,
					i, uids[i], i%2)
				resp, err := http.Post(hooks.URL+notify.HookPathPrefix+hookToken, "application/json", strings.NewReader(body))
				if err != nil {
					return
				}
				resp.Body.Close()
				mu.Lock()
				res.Posts++
				if resp.StatusCode == 202 {
					res.Accepted++
				}
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	deadline := time.Now().Add(time.Duration(results/channels+30) * time.Second)
	for time.Now().Before(deadline) {
		total := 0
		for _, ch := range chans {
			total += len(fake.Messages(ch.ID))
		}
		if total >= results {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // anything doubled would show by now
	res.Wall = time.Since(t0)
	seen := map[string]int{}
	res.MinGap = time.Hour
	for _, ch := range chans {
		msgs := fake.Messages(ch.ID)
		res.PerChannelMax = max(res.PerChannelMax, len(msgs))
		for i, m := range msgs {
			seen[m.Text]++
			if i > 0 {
				res.MinGap = min(res.MinGap, m.PostedAt.Sub(msgs[i-1].PostedAt))
			}
		}
	}
	for _, c := range seen {
		res.Posted++
		if c > 1 {
			res.Doubled += c - 1
		}
	}
	for _, c := range fake.CallsTo("chat.postMessage") {
		if c.Status == 429 {
			res.Slack429++
		}
	}
	return res, nil
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}
