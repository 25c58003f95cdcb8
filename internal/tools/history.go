package tools

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/api"
)

// HistoryRun is one monitor run kept by the notifier (internal/notify), whatever source it came from.
type HistoryRun struct {
	Key        string
	Status     string // "success", "failed", ...
	StartedAt  time.Time
	FinishedAt time.Time
	DurationMs int64
	Source     string
	// Failures are the run's failing assertions or errors, most relevant first.
	Failures []string
}

// Passed reports whether the run succeeded.
func (r HistoryRun) Passed() bool { return r.Status == "success" }

// RunHistory is the notifier's record of monitor runs; Postman's API keeps only the last run.
type RunHistory interface {
	// MonitorRuns returns up to limit runs of the monitor with uid, newest first.
	MonitorRuns(ctx context.Context, uid string, limit int) ([]HistoryRun, error)
}

// HistoryStripLen is how many runs the pass/fail strip shows.
const HistoryStripLen = 30

// MonitorHistory summarises the runs pmops has seen of one monitor.
type MonitorHistory struct {
	Monitor string `json:"monitor"`
	UID     string `json:"uid"`
	// Strip is the last runs, oldest first: "P" passed, "F" failed.
	Strip      string  `json:"strip"`
	Runs       int     `json:"runs"`
	Kept       int     `json:"kept"`
	PassRate   float64 `json:"pass_rate"`
	P50Ms      int64   `json:"p50_duration_ms"`
	P95Ms      int64   `json:"p95_duration_ms"`
	Failing    bool    `json:"failing"`
	StreakRuns int     `json:"streak_runs"`
	// StreakSince is when the current streak (passing or failing) began: the finish of its first run.
	StreakSince string `json:"streak_since,omitempty"`
	// PassesBefore is how many passing runs came right before the current failing streak.
	PassesBefore int `json:"passes_before,omitempty"`
	// TopFailure is the most frequent failing assertion among the kept runs, with its count.
	TopFailure      string `json:"top_failure,omitempty"`
	TopFailureCount int    `json:"top_failure_count,omitempty"`
	// FirstFailure is the first failing assertion of the current failing streak.
	FirstFailure string `json:"first_failure,omitempty"`
	LastRunAt    string `json:"last_run_at,omitempty"`
	Note         string `json:"note,omitempty"`

	streakStart time.Time
}

// StreakStart is when the current streak began (zero when no runs are known).
func (h MonitorHistory) StreakStart() time.Time { return h.streakStart }

func (h MonitorHistory) Text() string {
	var b strings.Builder
	if h.Kept == 0 {
		fmt.Fprintf(&b, "%s: no runs recorded yet\n", firstNonEmpty(h.Monitor, h.UID))
		if h.Note != "" {
			b.WriteString(h.Note + "\n")
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%s  last %d runs (oldest → newest): %s\n", firstNonEmpty(h.Monitor, h.UID), h.Runs, stripIcons(h.Strip))
	fmt.Fprintf(&b, "pass rate %.0f%% over %d kept runs; duration p50 %d ms, p95 %d ms\n", h.PassRate*100, h.Kept, h.P50Ms, h.P95Ms)
	if h.Failing {
		fmt.Fprintf(&b, "failing since %s (%s", h.StreakSince, plural(h.StreakRuns, "failed run", "failed runs"))
		if h.PassesBefore > 0 {
			fmt.Fprintf(&b, ", after %s", plural(h.PassesBefore, "pass", "passes"))
		}
		b.WriteString(")\n")
		if h.FirstFailure != "" {
			fmt.Fprintf(&b, "first failing assertion: %s\n", h.FirstFailure)
		}
	} else {
		fmt.Fprintf(&b, "passing since %s (%s)\n", h.StreakSince, plural(h.StreakRuns, "run", "runs"))
	}
	if h.TopFailure != "" {
		fmt.Fprintf(&b, "most frequent failing assertion: %s (%s)\n", h.TopFailure, plural(h.TopFailureCount, "run", "runs"))
	}
	if h.Note != "" {
		b.WriteString(h.Note + "\n")
	}
	return b.String()
}

func stripIcons(s string) string {
	return strings.NewReplacer("P", "✓", "F", "✗").Replace(s)
}

// SummarizeHistory computes the history summary of runs (newest first, as RunHistory returns them).
func SummarizeHistory(name, uid string, runs []HistoryRun) MonitorHistory {
	h := MonitorHistory{Monitor: name, UID: uid, Kept: len(runs)}
	if len(runs) == 0 {
		return h
	}
	n := min(len(runs), HistoryStripLen)
	var strip []byte
	for i := n - 1; i >= 0; i-- {
		if runs[i].Passed() {
			strip = append(strip, 'P')
		} else {
			strip = append(strip, 'F')
		}
	}
	h.Strip, h.Runs = string(strip), n
	passed := 0
	durations := make([]int64, 0, len(runs))
	counts := map[string]int{}
	for _, r := range runs {
		if r.Passed() {
			passed++
		}
		if r.DurationMs > 0 {
			durations = append(durations, r.DurationMs)
		}
		seen := map[string]bool{}
		for _, f := range r.Failures {
			if !seen[f] {
				counts[f]++
				seen[f] = true
			}
		}
	}
	h.PassRate = float64(passed) / float64(len(runs))
	slices.Sort(durations)
	h.P50Ms, h.P95Ms = percentile(durations, 0.50), percentile(durations, 0.95)
	h.Failing = !runs[0].Passed()
	i := 0
	for i < len(runs) && runs[i].Passed() != h.Failing {
		i++
	}
	h.StreakRuns = i
	h.streakStart = runs[i-1].FinishedAt
	h.StreakSince = ts(h.streakStart)
	h.LastRunAt = ts(runs[0].FinishedAt)
	if h.Failing {
		if fs := runs[i-1].Failures; len(fs) > 0 {
			h.FirstFailure = fs[0]
		}
		for j := i; j < len(runs) && runs[j].Passed(); j++ {
			h.PassesBefore++
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		if counts[keys[a]] != counts[keys[b]] {
			return counts[keys[a]] > counts[keys[b]]
		}
		return keys[a] < keys[b]
	})
	if len(keys) > 0 {
		h.TopFailure, h.TopFailureCount = keys[0], counts[keys[0]]
	}
	return h
}

// percentile is the nearest-rank percentile of sorted values (0 when empty).
func percentile(sorted []int64, p float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

type historyArgs struct {
	Monitor string `json:"monitor" desc:"name, ID or UID"`
}

func historyTools() []*Tool {
	return []*Tool{
		define(Tool{
			Name: "monitor_history", Title: "A monitor's run history", Toolset: ToolsetMonitors,
			Description: "A monitor's recent runs as pmops recorded them (webhooks, polling, runs it started; Postman keeps only the last): " +
				"pass/fail strip of the last 30, pass rate, p50/p95 duration, current streak and the most frequent failing assertion.",
			Hints: Hints{ReadOnly: true, Idempotent: true, OpenWorld: true},
		}, monitorHistory),
	}
}

func monitorHistory(ctx context.Context, env *Env, args historyArgs) (MonitorHistory, error) {
	if env.History == nil {
		return MonitorHistory{}, &Error{Kind: KindInvalid, Message: "run history is not kept by this pmops server",
			Hint: "run the Slack bot with notifications (it records every monitor result it sees), or use get_monitor for the last run"}
	}
	uid, err := resolveMonitor(ctx, env, args.Monitor)
	if err != nil {
		return MonitorHistory{}, err
	}
	name := args.Monitor
	if m, err := env.Client.GetMonitor(cached(ctx), uid); err == nil {
		name, uid = m.Name, firstNonEmpty(m.UID, uid)
	} else if te, ok := classify(err).(*Error); ok && te.Kind == KindNotFound {
		return MonitorHistory{}, err
	}
	runs, err := env.History.MonitorRuns(ctx, uid, 0)
	if err != nil {
		return MonitorHistory{}, fmt.Errorf("read run history of %s: %w", uid, err)
	}
	h := SummarizeHistory(name, uid, runs)
	if h.Kept == 0 {
		h.Note = "pmops records runs it sees by webhook, polling or its own runs; subscribe a channel to the monitor to start recording"
	}
	return h, nil
}

// historyNote is the sentence explain_monitor_failure adds from the run history ("" when nothing is known).
func historyNote(ctx context.Context, env *Env, uid string) string {
	if env.History == nil {
		return ""
	}
	runs, err := env.History.MonitorRuns(ctx, uid, 0)
	if err != nil || len(runs) == 0 {
		return ""
	}
	h := SummarizeHistory("", uid, runs)
	if !h.Failing {
		return fmt.Sprintf("History: passing since %s (%s; pass rate %.0f%% over %d recorded runs).",
			h.StreakSince, plural(h.StreakRuns, "run", "runs"), h.PassRate*100, h.Kept)
	}
	s := fmt.Sprintf("History: failing since %s (%s", h.StreakSince, plural(h.StreakRuns, "failed run", "failed runs"))
	if h.PassesBefore > 0 {
		s += fmt.Sprintf(" after %s", plural(h.PassesBefore, "pass", "passes"))
	}
	s += ")"
	if h.FirstFailure != "" {
		s += "; first failing assertion: " + h.FirstFailure
	}
	return s + "."
}

// MonitorStatus is a monitor's schedule and latest run, read for the notifier with one GET /monitors/{id}.
type MonitorStatus struct {
	UID, ID, Name  string
	Active         bool
	CollectionUID  string
	EnvironmentUID string
	Cron, Timezone string
	NextRun        time.Time
	LastRun        *LastRunStatus
}

// LastRunStatus is a monitor's latest run in numbers (Postman's lastRun).
type LastRunStatus struct {
	Status                    string
	StartedAt, FinishedAt     time.Time
	JobID                     string
	Requests, FailedRequests  int
	Assertions, FailedAsserts int
	Errors                    int
	LatencyMs                 float64
}

// FetchMonitorStatus reads one monitor (uid may be an ID or UID). Errors are *Error (KindNotFound when the
// monitor is gone). The caller's context carries its rate ticket and cache policy.
func FetchMonitorStatus(ctx context.Context, env *Env, uid string) (MonitorStatus, error) {
	if env == nil || env.Client == nil {
		return MonitorStatus{}, &Error{Kind: KindUnauthorized, Message: "no Postman API key is configured"}
	}
	m, err := env.Client.GetMonitor(ctx, uid)
	if err != nil {
		return MonitorStatus{}, classify(fmt.Errorf("get monitor %s: %w", uid, err))
	}
	st := MonitorStatus{UID: m.UID, ID: m.ID, Name: m.Name, Active: m.Active, CollectionUID: m.CollectionUID, EnvironmentUID: m.EnvironmentUID}
	if s := m.Schedule; s != nil {
		st.Cron, st.Timezone, st.NextRun = s.Cron, s.Timezone, s.NextRun
	}
	if lr := m.LastRun; lr != nil {
		l := &LastRunStatus{Status: lr.Status, StartedAt: lr.StartedAt, FinishedAt: lr.FinishedAt, JobID: firstNonEmpty(lr.JobID, m.JobID)}
		if s := lr.Stats; s != nil {
			l.Requests, l.FailedRequests = s.Requests.Total, s.Requests.Failed
			l.Assertions, l.FailedAsserts = s.Assertions.Total, s.Assertions.Failed
			l.Errors, l.LatencyMs = s.ErrorCount, s.ResponseLatency
		}
		st.LastRun = l
	}
	return st, nil
}

// WorkspaceMonitors lists the UIDs and names of the monitors in a workspace (for workspace subscriptions).
func WorkspaceMonitors(ctx context.Context, env *Env, workspaceID string) ([]Candidate, error) {
	all, err := api.Collect(ctx, env.Client.MonitorsPager(api.ListMonitorsOptions{Workspace: workspaceID, Limit: api.MaxMonitorPage}, "", api.Bound{MaxPages: 40}))
	if err != nil {
		return nil, classify(fmt.Errorf("list monitors of workspace %s: %w", workspaceID, err))
	}
	out := make([]Candidate, len(all))
	for i, m := range all {
		out[i] = Candidate{Name: m.Name, ID: m.UID}
	}
	return out, nil
}

// ResolveMonitor turns a monitor name, ID or UID into the monitor's status, matching names exactly (ambiguous
// or unknown names are *Error with candidates).
func ResolveMonitor(ctx context.Context, env *Env, query string) (MonitorStatus, error) {
	uid, err := resolveMonitor(ctx, env, query)
	if err != nil {
		return MonitorStatus{}, classify(err)
	}
	return FetchMonitorStatus(ctx, env, uid)
}

// ResolveWorkspace turns a workspace name or ID into its ID and name.
func ResolveWorkspace(ctx context.Context, env *Env, query string) (Candidate, error) {
	id, err := resolveWorkspace(ctx, env, query)
	if err != nil {
		return Candidate{}, classify(err)
	}
	if id == "" {
		return Candidate{}, Invalid("name a workspace or a monitor")
	}
	w, err := env.Client.GetWorkspace(ctx, id, api.GetWorkspaceOptions{})
	if err != nil {
		return Candidate{}, classify(fmt.Errorf("get workspace %s: %w", id, err))
	}
	return Candidate{Name: w.Name, ID: w.ID}, nil
}

// ObservedRun is a finished run that pmops itself started (run_monitor, explain_monitor_failure with rerun),
// handed to the RunLog's observer so the notifier treats it like a webhook or a polled result.
type ObservedRun struct {
	MonitorUID  string
	MonitorName string
	Run         LastRunStatus
	// Failures are "request: problem" lines, most relevant first.
	Failures []string
}

// SetObserver makes the log call f (synchronously) with every run added to it. Set it once, before use.
func (l *RunLog) SetObserver(f func(ObservedRun)) {
	l.mu.Lock()
	l.observe = f
	l.mu.Unlock()
}

func observedRun(uid string, run api.MonitorRun) ObservedRun {
	info := run.Info
	o := ObservedRun{MonitorUID: uid, MonitorName: info.Name, Run: LastRunStatus{Status: info.Status, StartedAt: info.StartedAt,
		FinishedAt: info.FinishedAt, JobID: info.JobID}}
	if s := run.Stats; s != nil {
		o.Run.Requests, o.Run.FailedRequests = s.Requests.Total, s.Requests.Failed
		o.Run.Assertions, o.Run.FailedAsserts = s.Assertions.Total, s.Assertions.Failed
		o.Run.Errors, o.Run.LatencyMs = s.ErrorCount, s.ResponseLatency
	}
	failures, _ := failuresOf(run)
	for _, f := range failures {
		for _, p := range f.Problems {
			o.Failures = append(o.Failures, f.Request+": "+p)
		}
	}
	return o
}

// withHistory appends what the run history says to an explanation.
func withHistory(ctx context.Context, env *Env, rep RunReport) RunReport {
	if note := historyNote(ctx, env, rep.UID); note != "" {
		rep.Note = strings.TrimSpace(note + " " + rep.Note)
	}
	return rep
}
