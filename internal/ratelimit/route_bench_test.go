package ratelimit

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sourcegraph/conc/pool"
)

// The route bucket benchmark runs one scenario in virtual time against the fake server with Postman's shared
// 10-per-10 s bucket on /monitors*, once per gate configuration, and prints one table. Thresholds are asserted on
// the default configuration (the reserve) only.
//
//	RATELIMIT_ROUTE_BENCH_TABLE=route.md go test -count=1 -v -run TestBenchmarkRouteReserve ./internal/ratelimit/

// routeBenchScenarios: the case, and the same background traffic with nobody asking (what the reserve
// costs background traffic alone).
var routeBenchScenarios = []struct {
	name   string
	people int
}{
	{"route bucket: 20 background monitor reads at once + people's monitor reads", 6},
	{"route bucket: the same background reads, nobody asking", 0},
}

// routeBenchConfigs are the gates compared in the same run: the default reserve, the reserve never lent, none.
var routeBenchConfigs = []struct {
	name  string
	route Route
}{
	{"gate, reserve 3 of 10 (lent within 2 s)", Route{}},
	{"gate, reserve 3 of 10 never lent", Route{ReserveWithin: -1}},
	{"gate without reserve", Route{Reserve: -1}},
}

type routeBenchResult struct {
	readWaits    []time.Duration // each interactive route read, from the call to its answer
	commandWaits []time.Duration // each person's command: list the monitors, then read one
	bursts       []time.Duration // each notifier burst, from the webhooks to the last answer
	burstsMissed int             // bursts with a read that failed
	pollCycles   []time.Duration // each poller cycle over the subscribed monitors
	bgOK         int
	failures     int
	counts       fakeCounts
}

func routeBenchRequest(ctx context.Context, path string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test"+path, nil)
	req.Header.Set("X-Req-Id", strings.ReplaceAll(strings.TrimPrefix(path, "/"), "/", "-"))
	req.Header.Set("X-Api-Key", "PMAK-bench")
	return req
}

func routeBenchGet(ctx context.Context, g *Gate, t Ticket, path string) error {
	resp, err := g.RoundTrip(routeBenchRequest(WithTicket(ctx, t), path))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// runRouteBench: Postman's key (300 per minute) with the 10-per-10 s bucket on /monitors*, 100 ms ± 20 ms one
// way. Every minute 20 monitors finish together and the notifier reads each one (background, one goroutine per
// webhook); half a minute later the poller reads its 10 subscribed monitors through a conc pool of 4. People
// (six in the case) each run a monitor command every minute on average (exponential think time): GET /monitors to resolve the name,
// then GET /monitors/{id}.
const routeBenchDuration = 30 * time.Minute

func runRouteBench(t *testing.T, r Route, people int) routeBenchResult {
	var res routeBenchResult
	seed := routeBenchSeed()
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(benchStartOffset)
		srv := newFakeServer(fakeConfig{Limit: 300, Latency: 100 * time.Millisecond, Jitter: 20 * time.Millisecond,
			RoutePrefix: "/monitors", RouteLimit: 10, RouteWindow: 10 * time.Second})
		r.Method, r.Pattern, r.Limit, r.Window, r.Bucket = "*", "/monitors*", 10, 10*time.Second, "postman-10-per-10s"
		g := New(srv, Options{Routes: []Route{r}, Logger: discardLogger()})
		ctx, cancel := context.WithCancel(context.Background())
		stop := time.AfterFunc(routeBenchDuration, cancel)
		defer stop.Stop()
		var mu sync.Mutex
		var wg sync.WaitGroup
		failed := func() {
			mu.Lock()
			res.failures++
			mu.Unlock()
		}

		notifier := Ticket{Class: Background, User: "notifier"}
		wg.Go(func() {
			for k := 0; ; k++ {
				if sleepCtx(ctx, 5*time.Second+time.Duration(k)*time.Minute-time.Since(epochPlus(benchStartOffset))) != nil {
					return
				}
				began := time.Now()
				var bw sync.WaitGroup
				var missed bool
				for m := range 20 {
					bw.Go(func() {
						// Distinct instants keep the run deterministic (see saturate).
						time.Sleep(time.Duration(m) * time.Microsecond)
						err := routeBenchGet(ctx, g, notifier, fmt.Sprintf("/monitors/w%d-%d", k, m))
						mu.Lock()
						defer mu.Unlock()
						if err != nil {
							missed = true
							return
						}
						res.bgOK++
					})
				}
				bw.Wait()
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				if missed {
					res.burstsMissed++
				} else {
					res.bursts = append(res.bursts, time.Since(began))
				}
				mu.Unlock()
			}
		})

		poller := Ticket{Class: Background, User: "poller"}
		wg.Go(func() {
			for k := 0; ; k++ {
				if sleepCtx(ctx, 35*time.Second+time.Duration(k)*time.Minute-time.Since(epochPlus(benchStartOffset))) != nil {
					return
				}
				began := time.Now()
				p := pool.New().WithContext(ctx).WithMaxGoroutines(4)
				for m := range 10 {
					p.Go(func(ctx context.Context) error {
						time.Sleep(time.Duration(m) * time.Microsecond)
						if err := routeBenchGet(ctx, g, poller, fmt.Sprintf("/monitors/s%d-%d", m, k)); err != nil {
							if ctx.Err() == nil {
								failed()
							}
							return nil
						}
						mu.Lock()
						res.bgOK++
						mu.Unlock()
						return nil
					})
				}
				_ = p.Wait()
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				res.pollCycles = append(res.pollCycles, time.Since(began))
				mu.Unlock()
			}
		})

		for i := range people {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(i)+1, seed))
				person := Ticket{Class: Interactive, User: fmt.Sprintf("U%d", i)}
				for seq := 0; ; seq++ {
					think := time.Duration(rng.ExpFloat64()*float64(time.Minute)) + time.Duration(i)*time.Microsecond
					if sleepCtx(ctx, think) != nil {
						return
					}
					began := time.Now()
					for j, path := range []string{"/monitors", "/monitors/" + strconv.Itoa(rng.IntN(50))} {
						readBegan := time.Now()
						req := path
						if j == 0 {
							req = fmt.Sprintf("/monitors?u=%d&s=%d", i, seq) // distinct ids for the fake server's jitter
						}
						err := routeBenchGet(ctx, g, person, req)
						if ctx.Err() != nil {
							return
						}
						if err != nil {
							failed()
							continue
						}
						mu.Lock()
						res.readWaits = append(res.readWaits, time.Since(readBegan))
						mu.Unlock()
					}
					mu.Lock()
					res.commandWaits = append(res.commandWaits, time.Since(began))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		cancel()
		res.counts = srv.counts()
		g.Close()
	})
	return res
}

func TestBenchmarkRouteReserve(t *testing.T) {
	secs := func(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
	mean := func(ds []time.Duration) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		var s time.Duration
		for _, d := range ds {
			s += d
		}
		return s / time.Duration(len(ds))
	}
	type row struct {
		metric, threshold string
		people            bool // only where people ask
		value             func(r routeBenchResult) string
		ok                func(r routeBenchResult) bool
	}
	rows := []row{
		{"interactive route read p50 / p99", "p99 ≤ 5 s", true,
			func(r routeBenchResult) string {
				return secs(percentile(r.readWaits, 0.5)) + " / " + secs(percentile(r.readWaits, 0.99))
			},
			func(r routeBenchResult) bool {
				return len(r.readWaits) > 100 && percentile(r.readWaits, 0.99) <= 5*time.Second
			}},
		{"person's command (2 reads) p50 / p99 / max", "", true,
			func(r routeBenchResult) string {
				return secs(percentile(r.commandWaits, 0.5)) + " / " + secs(percentile(r.commandWaits, 0.99)) + " / " + secs(percentile(r.commandWaits, 1))
			}, nil},
		{"20-read background burst done in: mean / max", "every burst done (the last may be cut)", false,
			func(r routeBenchResult) string {
				return secs(mean(r.bursts)) + " / " + secs(percentile(r.bursts, 1)) + fmt.Sprintf(" (%d bursts)", len(r.bursts))
			},
			func(r routeBenchResult) bool {
				return len(r.bursts) >= int(routeBenchDuration/time.Minute)-1 && r.burstsMissed == 0
			}},
		{"poller cycle (10 reads, pool of 4): mean / max", "", false,
			func(r routeBenchResult) string {
				return secs(mean(r.pollCycles)) + " / " + secs(percentile(r.pollCycles, 1)) + fmt.Sprintf(" (%d cycles)", len(r.pollCycles))
			}, nil},
		{"background reads ok / failures", "0 failures", false,
			func(r routeBenchResult) string { return fmt.Sprintf("%d / %d", r.bgOK, r.failures) },
			func(r routeBenchResult) bool { return r.failures == 0 }},
		{"interactive route reads / commands", "", true,
			func(r routeBenchResult) string { return fmt.Sprintf("%d / %d", len(r.readWaits), len(r.commandWaits)) }, nil},
		{"429s", "0", false,
			func(r routeBenchResult) string { return strconv.Itoa(r.counts.n429) },
			func(r routeBenchResult) bool { return r.counts.n429 == 0 }},
	}
	var b strings.Builder
	b.WriteString("| scenario | metric |")
	for _, c := range routeBenchConfigs {
		b.WriteString(" " + c.name + " |")
	}
	b.WriteString(" threshold (reserve) | pass |\n| --- | --- |" + strings.Repeat(" --- |", len(routeBenchConfigs)) + " --- | --- |\n")
	for _, sc := range routeBenchScenarios {
		var res []routeBenchResult
		for _, c := range routeBenchConfigs {
			res = append(res, runRouteBench(t, c.route, sc.people))
		}
		for _, rw := range rows {
			if rw.people && sc.people == 0 {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s |", sc.name, rw.metric)
			for _, r := range res {
				b.WriteString(" " + rw.value(r) + " |")
			}
			pass := ""
			if rw.ok != nil {
				pass = "yes"
				if !rw.ok(res[0]) {
					pass = "NO"
					t.Errorf("%s: %s = %s, want %s", sc.name, rw.metric, rw.value(res[0]), rw.threshold)
				}
			}
			fmt.Fprintf(&b, " %s | %s |\n", rw.threshold, pass)
		}
	}
	table := b.String()
	t.Log("\n" + table)
	if path := os.Getenv("RATELIMIT_ROUTE_BENCH_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// routeBenchSeed seeds the people's think times: RATELIMIT_ROUTE_BENCH_SEED=n runs another draw (default 0).
func routeBenchSeed() uint64 {
	n, _ := strconv.Atoi(os.Getenv("RATELIMIT_ROUTE_BENCH_SEED"))
	return uint64(7 + n)
}
