package notify

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

// Sources of an event.
const (
	SourceWebhook = "webhook"
	SourcePoll    = "poll"
	SourcePmops   = "pmops"
)

// Event is one finished monitor run, whichever way it arrived. Key identifies the run: two sources reporting the
// same run produce the same Key, and the store records it once.
type Event struct {
	Key             string    `json:"key"`
	MonitorUID      string    `json:"monitor_uid"`
	MonitorName     string    `json:"monitor_name,omitempty"`
	CollectionName  string    `json:"collection_name,omitempty"`
	CollectionUID   string    `json:"collection_uid,omitempty"`
	EnvironmentName string    `json:"environment_name,omitempty"`
	EnvironmentUID  string    `json:"environment_uid,omitempty"`
	Status          string    `json:"status"`
	StartedAt       time.Time `json:"started_at,omitzero"`
	FinishedAt      time.Time `json:"finished_at,omitzero"`
	Source          string    `json:"source"`
	Requests        int       `json:"requests"`
	FailedRequests  int       `json:"failed_requests"`
	Assertions      int       `json:"assertions"`
	FailedAsserts   int       `json:"failed_assertions"`
	Errors          int       `json:"errors"`
	Warnings        int       `json:"warnings,omitempty"`
	LatencyMs       int64     `json:"latency_ms"`
	// Failures are "request: problem" lines (runs pmops started; Postman's API and webhook give only numbers).
	Failures []string `json:"failures,omitempty"`
	// AliasOf is the provisional webhook run (hookEvent) this run was posted as before its run key was known:
	// the run is kept for the history and its key, never posted again.
	AliasOf string `json:"alias_of,omitempty"`
}

// Failed reports whether the run failed.
func (e Event) Failed() bool { return e.Status != "success" }

// RunKey is the identity of a monitor run (tools.MonitorRunKey).
func RunKey(monitorUID string, started, finished time.Time, jobID string) string {
	return tools.MonitorRunKey(monitorUID, started, finished, jobID)
}

// fromLastRun builds an event from a monitor's lastRun as GET /monitors/{id} reports it.
func fromLastRun(st tools.MonitorStatus, source string) Event {
	lr := st.LastRun
	return Event{
		Key:        RunKey(st.UID, lr.StartedAt, lr.FinishedAt, lr.JobID),
		MonitorUID: st.UID, MonitorName: st.Name, CollectionUID: st.CollectionUID, EnvironmentUID: st.EnvironmentUID,
		Status: lr.Status, StartedAt: lr.StartedAt, FinishedAt: lr.FinishedAt, Source: source,
		Requests: lr.Requests, FailedRequests: lr.FailedRequests, Assertions: lr.Assertions, FailedAsserts: lr.FailedAsserts,
		Errors: lr.Errors, LatencyMs: int64(lr.LatencyMs),
	}
}

// fromObserved builds an event from a run pmops started.
func fromObserved(o tools.ObservedRun) Event {
	r := o.Run
	return Event{
		Key:        RunKey(o.MonitorUID, r.StartedAt, r.FinishedAt, r.JobID),
		MonitorUID: o.MonitorUID, MonitorName: o.MonitorName, Status: r.Status, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		Source: SourcePmops, Requests: r.Requests, FailedRequests: r.FailedRequests, Assertions: r.Assertions,
		FailedAsserts: r.FailedAsserts, Errors: r.Errors, LatencyMs: int64(r.LatencyMs), Failures: o.Failures,
	}
}

// asRun is the stored form of the event.
func (e Event) asRun(now time.Time) (store.NotifyRun, error) {
	detail, err := json.Marshal(e)
	if err != nil {
		return store.NotifyRun{}, fmt.Errorf("encode event %s: %w", e.Key, err)
	}
	// Only names count as failures in the history: webhooks and polling give numbers, not assertions.
	failures := e.Failures
	dur := e.LatencyMs
	if !e.StartedAt.IsZero() && e.FinishedAt.After(e.StartedAt) {
		dur = e.FinishedAt.Sub(e.StartedAt).Milliseconds()
	}
	return store.NotifyRun{Key: e.Key, MonitorUID: e.MonitorUID, MonitorName: e.MonitorName, Status: e.Status,
		StartedAt: e.StartedAt, FinishedAt: e.FinishedAt, Source: e.Source, DurationMs: dur, Failures: failures,
		Detail: detail, RecordedAt: now}, nil
}

func eventOf(r store.NotifyRun) (Event, error) {
	var e Event
	if err := json.Unmarshal(r.Detail, &e); err != nil {
		return Event{}, fmt.Errorf("decode event %s: %w", r.Key, err)
	}
	return e, nil
}
