package ratelimit

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sourcegraph/conc/pool"
	"golang.org/x/time/rate"
)

// The benchmark runs each scenario in virtual time (testing/synctest) against the fake fixed-window server, once
// for the gate and once for each baseline, and prints one table. Thresholds are asserted on the gate only.
//
//	go test -v -run TestBenchmarkScenarios ./internal/ratelimit/
//	go test -run TestBenchmarkScenarios ./internal/ratelimit/ -args -table /tmp/bench.md   (or RATELIMIT_BENCH_TABLE)

var tableOut = flag.String("table", "", "write the benchmark table as Markdown to this file")

// benchClient is one way of sending requests: the gate or a baseline.
type benchClient interface {
	do(ctx context.Context, t Ticket, id string) (status int, err error)
	close()
}

const (
	clientGate  = "gate"
	clientNaive = "naive retry-on-429"
	clientRate  = "x/time/rate"
)

var clientKinds = []string{clientGate, clientNaive, clientRate}

func newRequest(ctx context.Context, id string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/monitors/"+id, nil)
	req.Header.Set("X-Req-Id", id)
	req.Header.Set("X-Api-Key", "PMAK-bench")
	return req
}

type gateClient struct{ g *Gate }

func (c gateClient) do(ctx context.Context, t Ticket, id string) (int, error) {
	resp, err := c.g.RoundTrip(newRequest(WithTicket(ctx, t), id))
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
func (c gateClient) close() { c.g.Close() }

// naiveClient retries every 429 after its Retry-After (1 s without one), like retryablehttp or slack-go: each
// caller on its own, no shared state.
type naiveClient struct {
	rt      http.RoundTripper
	limiter *rate.Limiter // nil: no pacing
}

func (c naiveClient) do(ctx context.Context, _ Ticket, id string) (int, error) {
	for attempt := 0; ; attempt++ {
		if c.limiter != nil {
			if err := c.limiter.Wait(ctx); err != nil {
				return 0, err
			}
		}
		resp, err := c.rt.RoundTrip(newRequest(ctx, id+"/"+strconv.Itoa(attempt)))
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			return resp.StatusCode, nil
		}
		wait := time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return 0, err
		}
	}
}
func (c naiveClient) close() {}

// recorder collects what callers saw.
type recorder struct {
	mu        sync.Mutex
	waits     map[Class][]time.Duration
	perUser   map[string]int
	failures  int
	quotaErrs map[string]bool
}

func newRecorder() *recorder {
	return &recorder{waits: map[Class][]time.Duration{}, perUser: map[string]int{}, quotaErrs: map[string]bool{}}
}

func (r *recorder) ok(t Ticket, wait time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits[t.Class] = append(r.waits[t.Class], wait)
	r.perUser[t.User]++
}

func (r *recorder) failed(caller string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures++
	if errors.Is(err, ErrQuotaExhausted) {
		r.quotaErrs[caller] = true
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func jain(xs []int) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += float64(x)
		sq += float64(x) * float64(x)
	}
	if sq == 0 {
		return 0
	}
	return sum * sum / (float64(len(xs)) * sq)
}

// scenario is one benchmark setup; run drives callers until ctx ends.
type scenario struct {
	name     string
	dialect  bool // a server clock dialect: every threshold (no 429, full windows, interactive p99) applies
	server   fakeConfig
	duration time.Duration
	callers  func(ctx context.Context, c benchClient, rec *recorder, wg *sync.WaitGroup)
}

type result struct {
	fullUse    float64
	windows    int
	counts     fakeCounts
	intP50     time.Duration
	intP99     time.Duration
	bgP99      time.Duration
	jain       float64
	perUser    map[string]int
	quotaTold  int
	failures   int
	snapshot   Snapshot
	okRequests int
}

const benchStartOffset = 17300 * time.Millisecond // start 17.3 s into a server window

func runScenario(t *testing.T, sc scenario, kind string) result {
	var res result
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(benchStartOffset)
		srv := newFakeServer(sc.server)
		var c benchClient
		L, W := srv.cfg.Limit, srv.cfg.Window
		switch kind {
		case clientGate:
			c = gateClient{New(srv, Options{Logger: discardLogger()})}
		case clientNaive:
			c = naiveClient{rt: srv}
		case clientRate:
			c = naiveClient{rt: srv, limiter: rate.NewLimiter(rate.Limit(float64(L)/W.Seconds()), 1)}
		}
		rec := newRecorder()
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		stop := time.AfterFunc(sc.duration, cancel)
		var wg sync.WaitGroup
		sc.callers(ctx, c, rec, &wg)
		wg.Wait()
		stop.Stop()
		cancel()
		end := start.Add(sc.duration)
		res.fullUse, res.windows = srv.fullWindowUse(start.Add(sc.server.Skew), end.Add(sc.server.Skew))
		res.counts = srv.counts()
		res.intP50 = percentile(rec.waits[Interactive], 0.50)
		res.intP99 = percentile(rec.waits[Interactive], 0.99)
		res.bgP99 = percentile(rec.waits[Background], 0.99)
		var users []int
		for _, n := range rec.perUser {
			users = append(users, n)
			res.okRequests += n
		}
		res.jain = jain(users)
		res.perUser = rec.perUser
		res.quotaTold = len(rec.quotaErrs)
		res.failures = rec.failures
		if g, ok := c.(gateClient); ok {
			res.snapshot = g.g.Snapshot()
		}
		c.close()
	})
	return res
}

// saturate runs n closed-loop callers for ticket t, each sending its next request as soon as one ends.
func saturate(ctx context.Context, c benchClient, rec *recorder, wg *sync.WaitGroup, n int, t Ticket, prefix string) {
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			caller := fmt.Sprintf("%s%d", prefix, i)
			// Distinct start instants keep the run deterministic: goroutines woken at the same virtual instant
			// run in any order.
			time.Sleep(time.Duration(i)*time.Millisecond + time.Duration(hashID(caller)%9973)*time.Microsecond)
			for seq := 0; ctx.Err() == nil; seq++ {
				began := time.Now()
				_, err := c.do(ctx, t, fmt.Sprintf("%s-%d", caller, seq))
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					rec.failed(caller, err)
					if errors.Is(err, ErrQuotaExhausted) {
						return
					}
					continue
				}
				rec.ok(t, time.Since(began))
			}
		}()
	}
}

// poisson runs n interactive users who each think an exponential time (mean) between requests.
func poisson(ctx context.Context, c benchClient, rec *recorder, wg *sync.WaitGroup, n int, mean time.Duration) {
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i)+1, 42))
			t := Ticket{Class: Interactive, User: fmt.Sprintf("U%d", i)}
			for seq := 0; ; seq++ {
				think := time.Duration(rng.ExpFloat64()*float64(mean)) + time.Duration(i)*time.Microsecond
				if sleepCtx(ctx, think) != nil {
					return
				}
				began := time.Now()
				_, err := c.do(ctx, t, fmt.Sprintf("U%d-%d", i, seq))
				if ctx.Err() != nil {
					return
				}
				if err != nil {
					rec.failed(t.User, err)
					continue
				}
				rec.ok(t, time.Since(began))
			}
		}()
	}
}

func benchScenarios() []scenario {
	var out []scenario
	lat := func(c fakeConfig) fakeConfig {
		c.Latency, c.Jitter = 100*time.Millisecond, 20*time.Millisecond
		return c
	}
	for _, L := range []int{60, 300} {
		for _, skew := range []time.Duration{0, 5 * time.Second, -5 * time.Second} {
			out = append(out, scenario{
				name:     fmt.Sprintf("S1 L=%d skew %+ds", L, int(skew.Seconds())),
				server:   lat(fakeConfig{Limit: L, Skew: skew}),
				duration: 10 * time.Minute,
				callers: func(ctx context.Context, c benchClient, rec *recorder, wg *sync.WaitGroup) {
					for u := range 10 {
						saturate(ctx, c, rec, wg, 1, Ticket{Class: Background, User: fmt.Sprintf("bg%d", u)}, fmt.Sprintf("c%d-", u))
					}
				},
			})
		}
	}
	out = append(out, scenario{
		name:     "S2 3 pollers + 6 users",
		server:   lat(fakeConfig{Limit: 60}),
		duration: 10 * time.Minute,
		callers: func(ctx context.Context, c benchClient, rec *recorder, wg *sync.WaitGroup) {
			saturate(ctx, c, rec, wg, 3, Ticket{Class: Background, User: "poller"}, "poll")
			poisson(ctx, c, rec, wg, 6, 30*time.Second)
		},
	})
	out = append(out, scenario{
		name:     "S3 1 heavy (8) + 4 light",
		server:   lat(fakeConfig{Limit: 60}),
		duration: 10 * time.Minute,
		callers: func(ctx context.Context, c benchClient, rec *recorder, wg *sync.WaitGroup) {
			saturate(ctx, c, rec, wg, 8, Ticket{Class: Interactive, User: "heavy"}, "heavy")
			for u := range 4 {
				saturate(ctx, c, rec, wg, 1, Ticket{Class: Interactive, User: fmt.Sprintf("light%d", u)}, fmt.Sprintf("light%d-", u))
			}
		},
	})
	out = append(out, scenario{
		name:     "S4 monthly quota 150",
		server:   lat(fakeConfig{Limit: 60, Month: 150}),
		duration: 5 * time.Minute,
		callers: func(ctx context.Context, c benchClient, rec *recorder, wg *sync.WaitGroup) {
			for u := range 10 {
				saturate(ctx, c, rec, wg, 1, Ticket{Class: Background, User: fmt.Sprintf("bg%d", u)}, fmt.Sprintf("q%d-", u))
			}
		},
	})
	out = append(out, scenario{
		name:     "S5 50-monitor conc fan-out + 6 users",
		server:   lat(fakeConfig{Limit: 60}),
		duration: 10 * time.Minute,
		callers:  s5Callers,
	})
	out = append(out, scenario{
		name: "S6 429 storm",
		server: lat(fakeConfig{Limit: 300, Storm: func(id string) (int, bool) {
			h := hashID("storm" + id)
			return 1 + int(h>>8%5), h%10 == 0
		}}),
		duration: 5 * time.Minute,
		callers: func(ctx context.Context, c benchClient, rec *recorder, wg *sync.WaitGroup) {
			for u := range 10 {
				saturate(ctx, c, rec, wg, 1, Ticket{Class: Background, User: fmt.Sprintf("bg%d", u)}, fmt.Sprintf("s%d-", u))
			}
		},
	})
	out = append(out, dialectScenarios(lat)...)
	return out
}

// serverDialects are server clocks the gate must be right on: windows off the second grid with the epoch reset
// floored (so it reads up to a second early), windows that start at the key's first call, and the reset rounded
// up (up to a second late).
var serverDialects = []struct {
	name string
	set  func(*fakeConfig)
}{
	{"offset 0.9 s, reset floored", func(c *fakeConfig) { c.WindowOffset, c.ResetRounding = 900*time.Millisecond, "down" }},
	{"first-call windows, reset floored", func(c *fakeConfig) { c.FirstCall, c.ResetRounding = true, "down" }},
	{"offset 0.1 s, reset rounded up", func(c *fakeConfig) { c.WindowOffset, c.ResetRounding = 100*time.Millisecond, "up" }},
}

// dialectScenarios runs S1, S2 and S5 on every server dialect at L=60 and L=300.
func dialectScenarios(lat func(fakeConfig) fakeConfig) []scenario {
	var out []scenario
	for _, d := range serverDialects {
		for _, L := range []int{60, 300} {
			cfg := lat(fakeConfig{Limit: L})
			d.set(&cfg)
			out = append(out,
				scenario{name: fmt.Sprintf("S1 L=%d %s", L, d.name), server: cfg, duration: 10 * time.Minute, dialect: true,
					callers: func(ctx context.Context, c benchClient, rec *recorder, wg *sync.WaitGroup) {
						for u := range 10 {
							saturate(ctx, c, rec, wg, 1, Ticket{Class: Background, User: fmt.Sprintf("bg%d", u)}, fmt.Sprintf("c%d-", u))
						}
					}},
				scenario{name: fmt.Sprintf("S2 L=%d %s", L, d.name), server: cfg, duration: 10 * time.Minute, dialect: true,
					callers: func(ctx context.Context, c benchClient, rec *recorder, wg *sync.WaitGroup) {
						saturate(ctx, c, rec, wg, 3, Ticket{Class: Background, User: "poller"}, "poll")
						poisson(ctx, c, rec, wg, 6, 30*time.Second)
					}},
				scenario{name: fmt.Sprintf("S5 L=%d %s", L, d.name), server: cfg, duration: 10 * time.Minute, dialect: true,
					callers: s5Callers},
			)
		}
	}
	return out
}

// benchRow is one metric of one scenario for the gate and both baselines.
type benchRow struct {
	scenario, metric string
	values           [3]string
	threshold        string
	pass             string
}

func TestBenchmarkScenarios(t *testing.T) {
	var rows []benchRow
	only := os.Getenv("RATELIMIT_BENCH_ONLY") // run only scenarios whose name contains this (gate only: baselines blank)
	for _, sc := range benchScenarios() {
		if only != "" && !strings.Contains(sc.name, only) {
			continue
		}
		var res [3]result
		for i, kind := range clientKinds {
			if only != "" && kind != clientGate {
				continue
			}
			res[i] = runScenario(t, sc, kind)
		}
		g := res[0]
		add := func(metric string, f func(r result) string, threshold string, ok bool) {
			row := benchRow{scenario: sc.name, metric: metric, threshold: threshold}
			for i := range res {
				row.values[i] = f(res[i])
			}
			if threshold != "" {
				row.pass = "yes"
				if !ok {
					row.pass = "NO"
					t.Errorf("%s: %s = %s, want %s", sc.name, metric, row.values[0], threshold)
				}
			}
			rows = append(rows, row)
		}
		pct := func(r result) string { return fmt.Sprintf("%.1f %% (%d win)", 100*r.fullUse, r.windows) }
		n429 := func(r result) string { return strconv.Itoa(r.counts.n429) }
		secs := func(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
		switch {
		case strings.HasPrefix(sc.name, "S1"):
			add("full-window use", pct, "≥ 99 %", g.fullUse >= 0.99)
			add("429s", n429, "0", g.counts.n429 == 0)
		case strings.HasPrefix(sc.name, "S2"):
			add("interactive p50 / p99", func(r result) string { return secs(r.intP50) + " / " + secs(r.intP99) }, "p99 ≤ 5 s", g.intP99 <= 5*time.Second && g.intP99 > 0)
			add("background p99", func(r result) string { return secs(r.bgP99) }, "", true)
			add("full-window use", pct, "≥ 99 %", g.fullUse >= 0.99)
			if sc.dialect {
				add("429s", n429, "0", g.counts.n429 == 0)
			} else {
				add("429s", n429, "", true)
			}
		case strings.HasPrefix(sc.name, "S3"):
			add("Jain's index over users", func(r result) string { return fmt.Sprintf("%.3f", r.jain) }, "≥ 0.95", g.jain >= 0.95)
			add("successes heavy / light avg", func(r result) string {
				light := 0
				for u, n := range r.perUser {
					if u != "heavy" {
						light += n
					}
				}
				return fmt.Sprintf("%d / %d", r.perUser["heavy"], light/4)
			}, "", true)
			add("full-window use", pct, "", true)
		case strings.HasPrefix(sc.name, "S4"):
			add("sent after exhaustion (in flight then)", func(r result) string {
				return fmt.Sprintf("%d (%d)", r.counts.sentAfterExhaustion, r.counts.inFlightAtExhaustion)
			}, "≤ in flight", g.counts.exhausted && g.counts.sentAfterExhaustion <= g.counts.inFlightAtExhaustion)
			add("callers told quota exhausted", func(r result) string { return fmt.Sprintf("%d / 10", r.quotaTold) }, "10 / 10", g.quotaTold == 10)
		case strings.HasPrefix(sc.name, "S5"):
			add("interactive p50 / p99", func(r result) string { return secs(r.intP50) + " / " + secs(r.intP99) }, "p99 ≤ 5 s", g.intP99 <= 5*time.Second && g.intP99 > 0)
			add("monitor fetches ok", func(r result) string { return strconv.Itoa(r.perUser["monitor-poller"]) }, "", true)
			if sc.dialect {
				add("full-window use", pct, "≥ 99 %", g.fullUse >= 0.99)
				add("429s", n429, "0", g.counts.n429 == 0)
			} else {
				add("full-window use", pct, "", true)
			}
		case strings.HasPrefix(sc.name, "S6"):
			add("sent inside a Retry-After", func(r result) string { return strconv.Itoa(r.counts.early) }, "0", g.counts.early == 0 && g.counts.n429 > 0)
			add("429s / ok", func(r result) string { return fmt.Sprintf("%d / %d", r.counts.n429, r.counts.oks) }, "", true)
		}
	}
	table := renderTable(rows)
	t.Log("\n" + table)
	path := *tableOut
	if path == "" {
		path = os.Getenv("RATELIMIT_BENCH_TABLE")
	}
	if path != "" {
		if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func renderTable(rows []benchRow) string {
	var b strings.Builder
	b.WriteString("| scenario | metric | gate | " + clientNaive + " | " + clientRate + " | threshold (gate) | pass |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.scenario, r.metric, r.values[0], r.values[1], r.values[2], r.threshold, r.pass)
	}
	return b.String()
}

// s5Callers: a poller fetches 50 monitors per cycle through a conc pool of 50 while 6 people ask.
func s5Callers(ctx context.Context, c benchClient, rec *recorder, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		bg := Ticket{Class: Background, User: "monitor-poller"}
		for cycle := 0; ctx.Err() == nil; cycle++ {
			p := pool.New().WithContext(ctx).WithMaxGoroutines(50)
			for m := range 50 {
				p.Go(func(ctx context.Context) error {
					began := time.Now()
					// Distinct instants keep the run deterministic (see saturate).
					time.Sleep(time.Duration(m) * time.Microsecond)
					_, err := c.do(ctx, bg, fmt.Sprintf("m%d-%d", m, cycle))
					if err == nil && ctx.Err() == nil {
						rec.ok(bg, time.Since(began))
					}
					return nil
				})
			}
			_ = p.Wait()
		}
	}()
	poisson(ctx, c, rec, wg, 6, 30*time.Second)
}
