package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MonitorSummary is an entry of GET /monitors.
type MonitorSummary struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Active bool   `json:"active"`
	UID    string `json:"uid"`
	// Owner is the owner's user ID, a number here (collections and environments send a string).
	Owner          int64  `json:"owner"`
	CollectionUID  string `json:"collectionUid"`
	EnvironmentUID string `json:"environmentUid"`
}

// Monitor is the answer of GET /monitors/{id}.
type Monitor struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	UID               string `json:"uid"`
	Owner             int64  `json:"owner"`
	Active            bool   `json:"active"`
	NotificationLimit int    `json:"notificationLimit"`
	CollectionUID     string `json:"collectionUid"`
	EnvironmentUID    string `json:"environmentUid"`
	// JobID is the job of the latest run.
	JobID         string          `json:"jobId"`
	Options       *MonitorOptions `json:"options,omitempty"`
	Notifications *Notifications  `json:"notifications,omitempty"`
	Distribution  []Distribution  `json:"distribution"`
	Schedule      *Schedule       `json:"schedule,omitempty"`
	Retry         *Retry          `json:"retry,omitempty"`
	LastRun       *LastRun        `json:"lastRun,omitempty"`
}

// MonitorOptions are a monitor's request options. Pointers, so an update sends only what is set.
type MonitorOptions struct {
	FollowRedirects *bool `json:"followRedirects,omitempty"`
	// RequestDelay and RequestTimeout are milliseconds, 1..900000.
	RequestDelay   *int  `json:"requestDelay,omitempty"`
	RequestTimeout *int  `json:"requestTimeout,omitempty"`
	StrictSSL      *bool `json:"strictSSL,omitempty"`
}

// Notifications are the e-mail addresses told about errors and failures.
type Notifications struct {
	OnError   []EmailTarget `json:"onError,omitzero"`
	OnFailure []EmailTarget `json:"onFailure,omitzero"`
}

// EmailTarget is one notified address.
type EmailTarget struct {
	Email string `json:"email"`
}

// Distribution is one region a monitor runs from (us-east, us-west, ap-southeast, ca-central, eu-central,
// sa-east, uk, us-east-staticip, us-west-staticip).
type Distribution struct {
	Region string `json:"region"`
}

// Schedule is when a monitor runs. NextRun is only in answers.
type Schedule struct {
	Cron     string    `json:"cron,omitempty"`
	Timezone string    `json:"timezone,omitempty"`
	NextRun  time.Time `json:"nextRun,omitzero"`
}

// Retry is how often a failed run is retried (1..2).
type Retry struct {
	Attempts int `json:"attempts"`
}

// LastRun is the latest run of a monitor, as GET /monitors/{id} reports it.
type LastRun struct {
	// Status is "success" or "failed" (other values are possible).
	Status     string    `json:"status"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	JobID      string    `json:"jobId,omitempty"`
	Stats      *RunStats `json:"stats,omitempty"`
}

// RunStats counts a run's assertions, requests and outcomes.
type RunStats struct {
	Assertions   Counts `json:"assertions"`
	Requests     Counts `json:"requests"`
	RunCount     int    `json:"runCount"`
	ErrorCount   int    `json:"errorCount"`
	AbortedCount int    `json:"abortedCount"`
	// ResponseLatency is in milliseconds, ResponseSize in bytes.
	ResponseLatency float64 `json:"responseLatency"`
	ResponseSize    int64   `json:"responseSize"`
}

// Counts is a total and how many of it failed.
type Counts struct {
	Total  int `json:"total"`
	Failed int `json:"failed"`
}

// MonitorRef is what create, update and delete answer.
type MonitorRef struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Active *bool  `json:"active,omitempty"`
	UID    string `json:"uid,omitempty"`
}

// ListMonitorsOptions filters GET /monitors.
type ListMonitorsOptions struct {
	Workspace string
	// Active lists only active monitors; false lists all.
	Active bool
	// Owner keeps monitors of this user ID; 0 means any.
	Owner          int64
	CollectionUID  string
	EnvironmentUID string
	// Limit is the page size, at most MaxMonitorPage; 0 means MaxMonitorPage.
	Limit int
}

// MaxMonitorPage is the largest limit GET /monitors accepts.
const MaxMonitorPage = 25

// ListMonitorsPage calls GET /monitors for the page at cursor ("" for the first page).
func (c *Client) ListMonitorsPage(ctx context.Context, opts ListMonitorsOptions, cursor string) (Page[MonitorSummary], error) {
	return c.listMonitors(ctx, opts, cursor, opts.Limit)
}

// MonitorsPager walks GET /monitors from cursor within b.
func (c *Client) MonitorsPager(opts ListMonitorsOptions, cursor string, b Bound) *Pager[MonitorSummary] {
	if b.PageSize == 0 {
		b.PageSize = opts.Limit
	}
	return NewPager(func(ctx context.Context, cursor string, limit int) (Page[MonitorSummary], error) {
		return c.listMonitors(ctx, opts, cursor, limit)
	}, cursor, b)
}

func (c *Client) listMonitors(ctx context.Context, opts ListMonitorsOptions, cursor string, limit int) (Page[MonitorSummary], error) {
	vendorCursor, err := decodeCursor(listingMonitors, cursor)
	if err != nil {
		return Page[MonitorSummary]{}, fmt.Errorf("list monitors: %w", err)
	}
	q := url.Values{}
	setIf(q, "workspace", opts.Workspace)
	if opts.Active {
		q.Set("active", "true")
	}
	if opts.Owner != 0 {
		q.Set("owner", strconv.FormatInt(opts.Owner, 10))
	}
	setIf(q, "collectionUid", opts.CollectionUID)
	setIf(q, "environmentUid", opts.EnvironmentUID)
	setIf(q, "cursor", vendorCursor)
	q.Set("limit", strconv.Itoa(clampLimit(limit, MaxMonitorPage)))
	var env struct {
		Monitors []MonitorSummary `json:"monitors"`
		Meta     *cursorMeta      `json:"meta"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/monitors", query: q}, &env); err != nil {
		return Page[MonitorSummary]{}, err
	}
	return Page[MonitorSummary]{Items: env.Monitors, Next: env.Meta.next(listingMonitors, vendorCursor)}, nil
}

// GetMonitor calls GET /monitors/{id}; id may be an ID or a UID.
func (c *Client) GetMonitor(ctx context.Context, id string) (*Monitor, error) {
	p, err := pathID("monitor", id)
	if err != nil {
		return nil, fmt.Errorf("get monitor: %w", err)
	}
	var env struct {
		Monitor *Monitor `json:"monitor"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/monitors/" + p}, &env); err != nil {
		return nil, err
	}
	if env.Monitor == nil {
		return nil, fmt.Errorf("GET /monitors/%s: the answer has no monitor object", p)
	}
	return env.Monitor, nil
}

// CreateMonitorInput is the body of POST /monitors.
type CreateMonitorInput struct {
	Name string `json:"name"`
	// Active defaults to true on the server when nil.
	Active            *bool `json:"active,omitempty"`
	NotificationLimit int   `json:"notificationLimit,omitempty"`
	// Collection and Environment are UIDs.
	Collection    string          `json:"collection"`
	Environment   string          `json:"environment,omitempty"`
	Retry         *Retry          `json:"retry,omitempty"`
	Options       *MonitorOptions `json:"options,omitempty"`
	Schedule      Schedule        `json:"schedule"`
	Distribution  []Distribution  `json:"distribution,omitempty"`
	Notifications *Notifications  `json:"notifications,omitempty"`
}

// UpdateMonitorInput is the body of PUT /monitors/{id}: only set fields are sent. The collection and
// environment of a monitor cannot be changed.
type UpdateMonitorInput struct {
	Name              string          `json:"name,omitempty"`
	Active            *bool           `json:"active,omitempty"`
	NotificationLimit int             `json:"notificationLimit,omitempty"`
	Retry             *Retry          `json:"retry,omitempty"`
	Options           *MonitorOptions `json:"options,omitempty"`
	Schedule          *Schedule       `json:"schedule,omitempty"`
	Distribution      []Distribution  `json:"distribution,omitempty"`
	Notifications     *Notifications  `json:"notifications,omitempty"`
}

// CreateMonitor calls POST /monitors?workspace=… . The workspace is required (see CreateCollection).
func (c *Client) CreateMonitor(ctx context.Context, workspace string, in CreateMonitorInput) (MonitorRef, error) {
	switch {
	case workspace == "":
		return MonitorRef{}, errors.New("create monitor: no workspace given; pass the ID of the workspace to create it in")
	case in.Name == "" || in.Collection == "" || in.Schedule.Cron == "":
		return MonitorRef{}, errors.New("create monitor: name, collection (a UID) and schedule.cron are required")
	}
	var env struct {
		Monitor MonitorRef `json:"monitor"`
	}
	err := c.call(ctx, request{method: http.MethodPost, path: "/monitors", query: url.Values{"workspace": {workspace}},
		body: map[string]any{"monitor": in}}, &env)
	return env.Monitor, err
}

// UpdateMonitor calls PUT /monitors/{id}.
func (c *Client) UpdateMonitor(ctx context.Context, id string, in UpdateMonitorInput) (MonitorRef, error) {
	p, err := pathID("monitor", id)
	if err != nil {
		return MonitorRef{}, fmt.Errorf("update monitor: %w", err)
	}
	if bytes.Equal(mustJSON(in), []byte("{}")) {
		return MonitorRef{}, errors.New("update monitor: nothing to change")
	}
	var env struct {
		Monitor MonitorRef `json:"monitor"`
	}
	err = c.call(ctx, request{method: http.MethodPut, path: "/monitors/" + p, body: map[string]any{"monitor": in}}, &env)
	return env.Monitor, err
}

// PauseMonitor sets a monitor inactive ({"monitor":{"active":false}}).
func (c *Client) PauseMonitor(ctx context.Context, id string) (MonitorRef, error) {
	return c.UpdateMonitor(ctx, id, UpdateMonitorInput{Active: new(false)})
}

// ResumeMonitor sets a monitor active ({"monitor":{"active":true}}).
func (c *Client) ResumeMonitor(ctx context.Context, id string) (MonitorRef, error) {
	return c.UpdateMonitor(ctx, id, UpdateMonitorInput{Active: new(true)})
}

// DeleteMonitor calls DELETE /monitors/{id}.
func (c *Client) DeleteMonitor(ctx context.Context, id string) (MonitorRef, error) {
	p, err := pathID("monitor", id)
	if err != nil {
		return MonitorRef{}, fmt.Errorf("delete monitor: %w", err)
	}
	var env struct {
		Monitor MonitorRef `json:"monitor"`
	}
	err = c.call(ctx, request{method: http.MethodDelete, path: "/monitors/" + p}, &env)
	return env.Monitor, err
}

// RunOptions tunes POST /monitors/{id}/run.
type RunOptions struct {
	// Async returns at once with run.info only; poll GetMonitor's LastRun for the outcome.
	Async bool
}

// RunResult is the answer of POST /monitors/{id}/run.
type RunResult struct {
	// Running is true when the API answered 202: a synchronous run took longer than 300 s and is still going.
	// Run.Info.Message says so; poll GetMonitor's LastRun for the outcome.
	Running bool
	// Async is true when the run was started with RunOptions.Async: Run holds Info only.
	Async bool
	Run   MonitorRun
}

// MonitorRun is a run's report.
type MonitorRun struct {
	Info       RunInfo     `json:"info"`
	Stats      *RunStats   `json:"stats,omitempty"`
	Executions []Execution `json:"executions,omitempty"`
	// Failures is untyped in every version of the vendor's spec.
	Failures []json.RawMessage `json:"failures,omitzero"`
}

// RunInfo identifies a run and its outcome.
type RunInfo struct {
	JobID          string `json:"jobId,omitempty"`
	MonitorID      string `json:"monitorId"`
	Name           string `json:"name,omitempty"`
	CollectionUID  string `json:"collectionUid,omitempty"`
	EnvironmentUID string `json:"environmentUid,omitempty"`
	// Status is "success", "failed", "running" (202), or another value the API adds.
	Status     string    `json:"status"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// Message explains a 202 answer.
	Message string `json:"message,omitempty"`
}

// Execution is one request the run sent.
type Execution struct {
	ID       int64             `json:"id"`
	Item     ExecutionItem     `json:"item"`
	Request  ExecutionRequest  `json:"request"`
	Response ExecutionResponse `json:"response"`
	Errors   []ExecutionError  `json:"errors,omitempty"`
	// Assertions has had several undocumented shapes ({"name": true} maps, lists of objects); kept as sent.
	Assertions json.RawMessage `json:"assertions,omitempty"`
}

// ExecutionItem names the collection item that was run.
type ExecutionItem struct {
	Name string `json:"name"`
	ID   string `json:"id,omitempty"`
}

// ExecutionRequest is the request as sent.
type ExecutionRequest struct {
	Method    string      `json:"method"`
	URL       string      `json:"url"`
	Headers   HeaderMap   `json:"headers"`
	Body      ContentInfo `json:"body"`
	Timestamp time.Time   `json:"timestamp,omitzero"`
}

// ExecutionResponse is the response as received.
type ExecutionResponse struct {
	Code    int         `json:"code"`
	Headers HeaderMap   `json:"headers"`
	Body    ContentInfo `json:"body"`
	// ResponseTime is in milliseconds, ResponseSize in bytes.
	ResponseTime float64 `json:"responseTime"`
	ResponseSize int64   `json:"responseSize"`
}

// ContentInfo describes a body without its content.
type ContentInfo struct {
	ContentLength int64  `json:"contentLength"`
	Mode          string `json:"mode,omitempty"`
}

// ExecutionError is an error the run hit while executing an item.
type ExecutionError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// HeaderMap is a run report's header map. Values the API sends as null become "", lists are joined with ", ",
// and other scalars are kept as their JSON text.
type HeaderMap map[string]string

// UnmarshalJSON reads a header object whatever its value types.
func (h *HeaderMap) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil {
		*h = nil
		return nil
	}
	out := make(HeaderMap, len(raw))
	for k, v := range raw {
		var list []json.RawMessage
		if json.Unmarshal(v, &list) == nil && list != nil {
			parts := make([]string, len(list))
			for i, p := range list {
				parts[i] = rawText(p)
			}
			out[k] = strings.Join(parts, ", ")
			continue
		}
		out[k] = rawText(v)
	}
	*h = out
	return nil
}

// RunMonitor calls POST /monitors/{id}/run. A synchronous run may take minutes: the call waits up to 330 s
// (or Config.Timeout, when longer) because the API answers 202 "still running" after 300 s; that answer is a
// RunResult with Running set, not an error.
func (c *Client) RunMonitor(ctx context.Context, id string, opts RunOptions) (RunResult, error) {
	p, err := pathID("monitor", id)
	if err != nil {
		return RunResult{}, fmt.Errorf("run monitor: %w", err)
	}
	r := request{method: http.MethodPost, path: "/monitors/" + p + "/run"}
	if opts.Async {
		r.query = url.Values{"async": {"true"}}
	} else {
		r.timeout = syncRunTimeout
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return RunResult{}, err
	}
	var env struct {
		Run *MonitorRun `json:"run"`
	}
	if err := decode(r, resp, &env); err != nil {
		return RunResult{}, err
	}
	if env.Run == nil {
		return RunResult{}, fmt.Errorf("POST %s: the %d answer has no run object", r.path, resp.status)
	}
	return RunResult{
		Running: resp.status == http.StatusAccepted || env.Run.Info.Status == "running",
		Async:   opts.Async,
		Run:     *env.Run,
	}, nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
