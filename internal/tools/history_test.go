package tools

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/emulator"
)

// memHistory is a RunHistory fed by the RunLog observer, as the notifier does.
type memHistory struct {
	mu   sync.Mutex
	runs map[string][]HistoryRun // newest first
}

func (m *memHistory) MonitorRuns(_ context.Context, uid string, limit int) ([]HistoryRun, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.runs[uid]
	if limit > 0 && len(r) > limit {
		r = r[:limit]
	}
	return append([]HistoryRun(nil), r...), nil
}

func (m *memHistory) add(uid string, r HistoryRun) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runs == nil {
		m.runs = map[string][]HistoryRun{}
	}
	m.runs[uid] = append([]HistoryRun{r}, m.runs[uid]...)
}

func TestSummarizeHistory(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 7, 0, 0, 0, time.UTC)
	var runs []HistoryRun // built oldest first, then reversed
	for i := range 41 {
		runs = append(runs, HistoryRun{Status: "success", FinishedAt: t0.Add(time.Duration(i-41) * 5 * time.Minute), DurationMs: int64(100 + i)})
	}
	runs = append(runs, HistoryRun{Status: "failed", FinishedAt: t0, DurationMs: 900, Failures: []string{"Status code is 200", "body has id"}})
	runs = append(runs, HistoryRun{Status: "failed", FinishedAt: t0.Add(5 * time.Minute), DurationMs: 950, Failures: []string{"Status code is 200"}})
	newest := make([]HistoryRun, len(runs))
	for i, r := range runs {
		newest[len(runs)-1-i] = r
	}
	h := SummarizeHistory("payments", "u-1", newest)
	if h.Runs != 30 || len(h.Strip) != 30 || !strings.HasSuffix(h.Strip, "PFF") || strings.Count(h.Strip, "F") != 2 {
		t.Errorf("strip %q (%d)", h.Strip, h.Runs)
	}
	if !h.Failing || h.StreakRuns != 2 || h.PassesBefore != 41 || !h.StreakStart().Equal(t0) || h.FirstFailure != "Status code is 200" {
		t.Errorf("streak: %+v", h)
	}
	if h.TopFailure != "Status code is 200" || h.TopFailureCount != 2 {
		t.Errorf("top failure %q ×%d", h.TopFailure, h.TopFailureCount)
	}
	if h.Kept != 43 || h.PassRate < 0.95 || h.PassRate > 0.96 || h.P50Ms != 121 || h.P95Ms != 140 {
		t.Errorf("numbers: kept %d rate %f p50 %d p95 %d", h.Kept, h.PassRate, h.P50Ms, h.P95Ms)
	}
	txt := h.Text()
	for _, want := range []string{"failing since 2026-01-02 07:00 UTC (2 failed runs, after 41 passes)", "first failing assertion: Status code is 200"} {
		if !strings.Contains(txt, want) {
			t.Errorf("text lacks %q:\n%s", want, txt)
		}
	}
	if e := SummarizeHistory("x", "y", nil); e.Kept != 0 || !strings.Contains(e.Text(), "no runs recorded") {
		t.Errorf("empty: %+v", e)
	}
}

func TestMonitorHistoryToolAndExplain(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	const failing = "Orders API nightly regression"
	if _, err := f.call(t, "monitor_history", map[string]any{"monitor": failing}); err == nil {
		t.Fatal("monitor_history without a history source should fail with a hint")
	}
	hist := &memHistory{}
	f.env.History = hist
	var observed []ObservedRun
	f.env.Runs.SetObserver(func(o ObservedRun) {
		observed = append(observed, o)
		hist.add(o.MonitorUID, HistoryRun{Status: o.Run.Status, FinishedAt: o.Run.FinishedAt, Failures: o.Failures, DurationMs: int64(o.Run.LatencyMs)})
	})
	empty := f.mustCall(t, "monitor_history", map[string]any{"monitor": failing}).(MonitorHistory)
	if empty.Kept != 0 || empty.Note == "" {
		t.Errorf("empty history: %+v", empty)
	}
	f.mustCall(t, "run_monitor", map[string]any{"monitor": failing})
	if len(observed) != 1 || observed[0].Run.Status != "failed" || len(observed[0].Failures) == 0 || observed[0].MonitorUID == "" {
		t.Fatalf("observer: %+v", observed)
	}
	h := f.mustCall(t, "monitor_history", map[string]any{"monitor": failing}).(MonitorHistory)
	if h.Kept != 1 || !h.Failing || h.Strip != "F" || h.Monitor != failing {
		t.Errorf("history after one failing run: %+v", h)
	}
	ex := f.mustCall(t, "explain_monitor_failure", map[string]any{"monitor": failing}).(RunReport)
	if !strings.Contains(ex.Note, "History: failing since") || !strings.Contains(ex.Note, "first failing assertion") {
		t.Errorf("explain does not use the history: %q", ex.Note)
	}
}
