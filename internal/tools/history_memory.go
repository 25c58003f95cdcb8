package tools

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// MemoryHistory keeps, in this process, the monitor runs its tools started (run_monitor), so monitor_history and
// explain_monitor_failure have something to go on where no notifier runs (the MCP server). Bounded per monitor;
// gone on restart. The Slack bot uses the notifier's store instead, which also sees webhooks and polled runs.
type MemoryHistory struct {
	mu   sync.Mutex
	max  int
	runs map[string][]HistoryRun // monitor UID → runs, oldest first
}

// MonitorRunKey is the identity of a monitor run: the monitor and the run's start (Postman gives runs no public ID;
// the start, to the millisecond, is what lastRun, run reports and their webhooks share). Without a start time the job
// ID or finish time stands in. The notifier and MemoryHistory both key runs by it.
func MonitorRunKey(monitorUID string, started, finished time.Time, jobID string) string {
	switch {
	case !started.IsZero():
		return monitorUID + "@" + strconv.FormatInt(started.UTC().UnixMilli(), 10)
	case jobID != "":
		return monitorUID + "@job:" + jobID
	default:
		return monitorUID + "@end:" + strconv.FormatInt(finished.UTC().UnixMilli(), 10)
	}
}

// NewMemoryHistory keeps up to maxRuns runs per monitor (500 when maxRuns ≤ 0).
func NewMemoryHistory(maxRuns int) *MemoryHistory {
	if maxRuns <= 0 {
		maxRuns = 500
	}
	return &MemoryHistory{max: maxRuns, runs: map[string][]HistoryRun{}}
}

// Observe records a finished run; wire it with RunLog.SetObserver (app.Backend.SetRunHistory does).
func (h *MemoryHistory) Observe(o ObservedRun) {
	r := o.Run
	if r.Status == "" || r.Status == "running" || o.MonitorUID == "" {
		return
	}
	key := MonitorRunKey(o.MonitorUID, r.StartedAt, r.FinishedAt, r.JobID)
	run := HistoryRun{Key: key, Status: r.Status, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		DurationMs: int64(r.LatencyMs), Source: "pmops", Failures: append([]string(nil), o.Failures...)}
	if !r.StartedAt.IsZero() && r.FinishedAt.After(r.StartedAt) {
		run.DurationMs = r.FinishedAt.Sub(r.StartedAt).Milliseconds()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	list := h.runs[o.MonitorUID]
	for _, seen := range list {
		if seen.Key == key {
			return
		}
	}
	list = append(list, run)
	if len(list) > h.max {
		list = list[len(list)-h.max:]
	}
	h.runs[o.MonitorUID] = list
}

// MonitorRuns implements RunHistory: up to limit runs (all when limit ≤ 0), newest first.
func (h *MemoryHistory) MonitorRuns(_ context.Context, uid string, limit int) ([]HistoryRun, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := h.runs[uid]
	if limit <= 0 {
		limit = len(list)
	}
	out := make([]HistoryRun, 0, min(limit, len(list)))
	for i := len(list) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, list[i])
	}
	return out, nil
}
