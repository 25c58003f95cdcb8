package tools

import (
	"sync"

	"github.com/pmops/pmops/internal/api"
)

// RunLog remembers the latest full run report per monitor that this process has seen (from run_monitor, the
// poller or a webhook), because Postman's API gives a past run's numbers but not its failing requests.
type RunLog struct {
	mu   sync.Mutex
	runs map[string]api.MonitorRun
	max  int
	// observe, when set (SetObserver in history.go), hears of every run added.
	observe func(ObservedRun)
}

// NewRunLog keeps the latest run of up to max monitors.
func NewRunLog(max int) *RunLog {
	return &RunLog{runs: map[string]api.MonitorRun{}, max: max}
}

// Add records run as the latest of monitor uid.
func (l *RunLog) Add(uid string, run api.MonitorRun) {
	l.mu.Lock()
	defer func() {
		observe := l.observe
		l.mu.Unlock()
		if observe != nil {
			observe(observedRun(uid, run))
		}
	}()
	if _, ok := l.runs[uid]; !ok && len(l.runs) >= l.max {
		for k := range l.runs { // evict an arbitrary entry; the log is a cache, not a record
			delete(l.runs, k)
			break
		}
	}
	l.runs[uid] = run
}

// Get returns the recorded run of monitor uid when it is the run with jobID (any run when jobID is empty).
func (l *RunLog) Get(uid, jobID string) (api.MonitorRun, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	run, ok := l.runs[uid]
	if !ok || (jobID != "" && run.Info.JobID != "" && run.Info.JobID != jobID) {
		return api.MonitorRun{}, false
	}
	return run, true
}
