package tools

import (
	"context"
	"testing"
	"time"
)

func TestMemoryHistory(t *testing.T) {
	h := NewMemoryHistory(3)
	t0 := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
	for i, status := range []string{"success", "failed", "running", "failed", "success"} {
		start := t0.Add(time.Duration(i) * time.Hour)
		h.Observe(ObservedRun{MonitorUID: "m1", Run: LastRunStatus{Status: status, StartedAt: start, FinishedAt: start.Add(2 * time.Second)},
			Failures: []string{"Get order: status 500"}})
	}
	// The same run seen twice (a run and its status read) is kept once; other monitors stay apart.
	h.Observe(ObservedRun{MonitorUID: "m1", Run: LastRunStatus{Status: "success", StartedAt: t0.Add(4 * time.Hour)}})
	h.Observe(ObservedRun{MonitorUID: "m2", Run: LastRunStatus{Status: "failed", JobID: "j1"}})
	h.Observe(ObservedRun{Run: LastRunStatus{Status: "failed"}}) // no monitor: ignored

	runs, err := h.MonitorRuns(context.Background(), "m1", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		got = append(got, r.Status+"@"+r.StartedAt.Format("15"))
	}
	want := []string{"success@11", "failed@10", "failed@08"} // newest first, bounded to 3, "running" skipped
	if len(got) != len(want) {
		t.Fatalf("runs %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("runs %v; want %v", got, want)
		}
	}
	if runs[0].DurationMs != 2000 || runs[0].Source != "pmops" {
		t.Errorf("run %+v", runs[0])
	}
	if one, _ := h.MonitorRuns(context.Background(), "m1", 1); len(one) != 1 || one[0].Status != "success" {
		t.Errorf("limit 1: %+v", one)
	}
	if m2, _ := h.MonitorRuns(context.Background(), "m2", 0); len(m2) != 1 || m2[0].Key != "m2@job:j1" {
		t.Errorf("m2: %+v", m2)
	}
}
