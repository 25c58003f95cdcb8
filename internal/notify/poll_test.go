package notify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/store"
)

func TestPlanner(t *testing.T) {
	p := Planner{}.withDefaults()
	mid := time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC) // 16 days left
	five := make([]time.Duration, 100)
	for i := range five {
		five[i] = 5 * time.Minute
	}
	tests := []struct {
		name        string
		snap        ratelimit.Snapshot
		periods     []time.Duration
		low         bool
		stretchFrom float64
		stretchTo   float64
	}{
		{"plenty", ratelimit.Snapshot{MonthLimit: 1_000_000, MonthRemaining: 900_000}, five[:10], false, 1, 1},
		// 100 monitors every 5 min want 1,200 calls/h; 100k quota, 60k left, 20k reserved → 40k/384h ≈ 104/h.
		{"100 monitors on a 100k quota", ratelimit.Snapshot{MonthLimit: 100_000, MonthRemaining: 60_000}, five, true, 11, 12},
		{"reserve reached", ratelimit.Snapshot{MonthLimit: 100_000, MonthRemaining: 20_000}, five, true, 0, 0},
		{"exhausted", ratelimit.Snapshot{MonthLimit: 100_000, MonthRemaining: 90_000, QuotaExhausted: true}, five, true, 0, 0},
		{"unknown quota assumes the smallest plan", ratelimit.Snapshot{MonthLimit: -1, MonthRemaining: -1}, five[:1], false, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := p.Plan(tt.snap, mid, tt.periods)
			if pl.Low != tt.low || pl.Stretch < tt.stretchFrom || pl.Stretch > tt.stretchTo {
				t.Errorf("plan %+v, want low=%v stretch in [%v,%v]", pl, tt.low, tt.stretchFrom, tt.stretchTo)
			}
			if pl.Stretch > 0 && pl.DemandPerHour/pl.Stretch > pl.AllowedPerHour*1.0001 {
				t.Errorf("stretched demand %.1f/h exceeds the budget %.1f/h", pl.DemandPerHour/pl.Stretch, pl.AllowedPerHour)
			}
		})
	}
}

func TestCronPeriod(t *testing.T) {
	for expr, want := range map[string]time.Duration{
		"*/5 * * * *": 5 * time.Minute, "0 */5 * * * *": 5 * time.Minute, "0 * * * *": time.Hour, "0 0 * * * *": time.Hour,
		"0 */6 * * *": 6 * time.Hour, "0 2 * * *": 24 * time.Hour, "*/7 * * * *": 0, "0 2 * * 1": 0, "": 0,
	} {
		if got := cronPeriod(expr); got != want {
			t.Errorf("cronPeriod(%q) = %s, want %s", expr, got, want)
		}
	}
}

// TestPollerFindsScheduledRuns: without a webhook, the poller reads a subscribed monitor once per scheduled
// run (after it is due, not before), posts the failure and then the recovery, and skips monitors whose webhook
// works.
func TestPollerFindsScheduledRuns(t *testing.T) {
	r := newRig(t, rigOpts{noWebhook: true})
	f := r.newFlipMonitor("Polled API")
	r.subscribe(slackfake.ChannelGeneral, f.uid, store.PolicyFailures)
	ctx := context.Background()
	poll := func() PollReport {
		t.Helper()
		before := r.emu.Requests(emulator.DemoKey)
		rep, err := r.n.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if calls := r.emu.Requests(emulator.DemoKey) - before; calls != rep.Polled {
			t.Errorf("poll made %d API calls for %d monitors read", calls, rep.Polled)
		}
		r.settle()
		return rep
	}
	if rep := poll(); rep.Polled != 1 || rep.New != 0 { // learns the schedule; no run yet
		t.Fatalf("first poll: %+v", rep)
	}
	if rep := poll(); rep.Polled != 0 || rep.SkippedNotDue != 1 {
		t.Fatalf("poll before the run is due: %+v", rep)
	}
	r.emu.Advance(5*time.Minute + 31*time.Second)
	if rep := poll(); rep.Polled != 1 || rep.New != 1 {
		t.Fatalf("poll after the run: %+v", rep)
	}
	f.setCode(200)
	r.emu.Advance(5 * time.Minute)
	if rep := poll(); rep.New != 1 {
		t.Fatalf("poll after the recovery: %+v", rep)
	}
	msgs := r.slack.Messages(slackfake.ChannelGeneral)
	if len(msgs) != 2 || !strings.Contains(msgs[0].Text, "RECOVERED") || !strings.Contains(msgs[1].Text, "RECOVERED") {
		t.Fatalf("messages: %q", titles(msgs))
	}
	hist, _ := r.n.History().MonitorRuns(ctx, f.uid, 0)
	if len(hist) != 2 || hist[0].Source != SourcePoll {
		t.Errorf("history: %+v", hist)
	}
	// A webhook arriving makes the poller leave the monitor alone.
	if err := r.st.NoteWebhook(ctx, f.uid, r.clk.Now()); err != nil {
		t.Fatal(err)
	}
	r.emu.Advance(5 * time.Minute)
	if rep := poll(); rep.SkippedWebhook != 1 || rep.Polled != 0 {
		t.Errorf("poll with a working webhook: %+v", rep)
	}
}

// TestPollerSlowsDownOnLowQuota: with the month's quota nearly spent the poller stretches its intervals and says
// so once per channel.
func TestPollerSlowsDownOnLowQuota(t *testing.T) {
	r := newRig(t, rigOpts{noWebhook: true, emulator: emulator.Options{MonthlyQuota: 1000, MonthlyUsageStart: 780}})
	f := r.newFlipMonitor("Thrifty API")
	r.subscribe(slackfake.ChannelGeneral, f.uid, store.PolicyFailures)
	ctx := context.Background()
	for range 3 {
		if _, err := r.n.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		r.emu.Advance(6 * time.Minute)
		r.settle()
	}
	plan := r.n.LastPlan()
	if !plan.Low {
		t.Fatalf("plan with ~200 of 1000 calls left: %+v", plan)
	}
	var notices int
	for _, m := range r.slack.Messages(slackfake.ChannelGeneral) {
		if strings.Contains(m.Text, "quota") {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("%d quota notices, want 1: %q", notices, titles(r.slack.Messages(slackfake.ChannelGeneral)))
	}
}
