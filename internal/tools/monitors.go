package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sourcegraph/conc/pool"

	"github.com/pmops/pmops/internal/api"
)

type listMonitorsArgs struct {
	Workspace  string `json:"workspace,omitempty" desc:"name or ID"`
	ActiveOnly bool   `json:"active_only,omitempty"`
	Status     *bool  `json:"status,omitempty" desc:"include last run, default true"`
	Limit      int    `json:"limit,omitempty" min:"1" max:"25" desc:"page size, default 10"`
	Cursor     string `json:"cursor,omitempty" desc:"from next_cursor"`
}

// MonitorRow is one listed monitor with its last run.
type MonitorRow struct {
	Name      string `json:"name"`
	UID       string `json:"uid"`
	Active    bool   `json:"active"`
	LastRun   string `json:"last_run,omitempty"`
	LastRunAt string `json:"last_run_at,omitempty"`
	Failed    string `json:"failed,omitempty"`
	Error     string `json:"error,omitempty"`
}

// MonitorList is a page of monitors.
type MonitorList Page[MonitorRow]

func (l MonitorList) Text() string {
	var b strings.Builder
	b.WriteString(resolvedLine(l.Resolved))
	for _, m := range l.Items {
		state := "active"
		if !m.Active {
			state = "paused"
		}
		fmt.Fprintf(&b, "%s %s  [%s]", statusIcon(m.LastRun), m.Name, state)
		if m.LastRun != "" {
			fmt.Fprintf(&b, "  last run %s at %s", m.LastRun, m.LastRunAt)
		}
		if m.Failed != "" {
			fmt.Fprintf(&b, " (%s)", m.Failed)
		}
		if m.Error != "" {
			fmt.Fprintf(&b, "  (status unavailable: %s)", m.Error)
		}
		fmt.Fprintf(&b, "  uid=%s\n", m.UID)
	}
	if len(l.Items) == 0 {
		b.WriteString("no monitors\n")
	}
	b.WriteString(moreLine(Page[MonitorRow](l)))
	return b.String()
}

func statusIcon(status string) string {
	switch status {
	case "success":
		return "✓"
	case "failed", "error", "aborted":
		return "✗"
	case "":
		return "·"
	default:
		return "…"
	}
}

type monitorArgs struct {
	Monitor string `json:"monitor" desc:"name, ID or UID"`
}

// RunSummary is a run's outcome in numbers.
type RunSummary struct {
	Status           string  `json:"status"`
	StartedAt        string  `json:"started_at,omitempty"`
	FinishedAt       string  `json:"finished_at,omitempty"`
	Requests         int     `json:"requests"`
	FailedRequests   int     `json:"failed_requests"`
	Assertions       int     `json:"assertions"`
	FailedAssertions int     `json:"failed_assertions"`
	Errors           int     `json:"errors"`
	LatencyMs        float64 `json:"latency_ms,omitempty"`
}

func (s RunSummary) line() string {
	return fmt.Sprintf("%s %s: %d/%d requests ok, %d/%d assertions passed, %s",
		statusIcon(s.Status), s.Status, s.Requests-s.FailedRequests, s.Requests,
		s.Assertions-s.FailedAssertions, s.Assertions, plural(s.Errors, "error", "errors"))
}

// MonitorView is one monitor's configuration and last run.
type MonitorView struct {
	Name        string      `json:"name"`
	UID         string      `json:"uid"`
	Active      bool        `json:"active"`
	Cron        string      `json:"cron,omitempty"`
	Timezone    string      `json:"timezone,omitempty"`
	NextRun     string      `json:"next_run,omitempty"`
	Collection  string      `json:"collection_uid"`
	Environment string      `json:"environment_uid,omitempty"`
	Regions     []string    `json:"regions,omitempty"`
	LastRun     *RunSummary `json:"last_run,omitempty"`
	Resolved    string      `json:"resolved,omitempty" schema:"-"`
}

func (m MonitorView) Text() string {
	var b strings.Builder
	b.WriteString(resolvedLine(m.Resolved))
	state := "active"
	if !m.Active {
		state = "paused"
	}
	fmt.Fprintf(&b, "%s  [%s]  uid=%s\n", m.Name, state, m.UID)
	fmt.Fprintf(&b, "schedule: %s %s, next run %s\n", m.Cron, m.Timezone, firstNonEmpty(m.NextRun, "-"))
	fmt.Fprintf(&b, "collection %s", m.Collection)
	if m.Environment != "" {
		fmt.Fprintf(&b, ", environment %s", m.Environment)
	}
	b.WriteByte('\n')
	if len(m.Regions) > 0 {
		fmt.Fprintf(&b, "regions: %s\n", strings.Join(m.Regions, ", "))
	}
	if r := m.LastRun; r != nil {
		fmt.Fprintf(&b, "last run %s → %s\n  %s\n", r.StartedAt, r.FinishedAt, r.line())
	}
	return b.String()
}

type runMonitorArgs struct {
	Monitor string `json:"monitor" desc:"name, ID or UID"`
	Async   bool   `json:"async,omitempty" desc:"return at once"`
}

type explainArgs struct {
	Monitor string `json:"monitor" desc:"name, ID or UID"`
	Rerun   bool   `json:"rerun,omitempty" desc:"run it now if the last run's details are unknown"`
}

// Failure is one failing request of a run and what went wrong with it.
type Failure struct {
	Request  string   `json:"request"`
	Method   string   `json:"method,omitempty"`
	URL      string   `json:"url,omitempty"`
	Code     int      `json:"code,omitempty"`
	Problems []string `json:"problems"`
}

// writeFailure renders one failing request ("✗ name [iteration N] (METHOD URL → code)") and its problems, as monitor
// and collection runs both show them; iteration 0 means the run had one.
func writeFailure(b *strings.Builder, f Failure, iteration int) {
	fmt.Fprintf(b, "  ✗ %s", f.Request)
	if iteration > 0 {
		fmt.Fprintf(b, " [iteration %d]", iteration)
	}
	if f.Method != "" {
		fmt.Fprintf(b, " (%s %s", f.Method, f.URL)
		if f.Code != 0 {
			fmt.Fprintf(b, " → %d", f.Code)
		}
		b.WriteByte(')')
	}
	b.WriteByte('\n')
	for _, p := range f.Problems {
		fmt.Fprintf(b, "      %s\n", p)
	}
}

func writeMoreFailures(b *strings.Builder, more int) {
	if more > 0 {
		fmt.Fprintf(b, "  … and %s\n", plural(more, "more failing request", "more failing requests"))
	}
}

// RunReport is a monitor run's outcome: a pass/fail verdict with the failing requests and assertions.
type RunReport struct {
	Monitor  string      `json:"monitor"`
	UID      string      `json:"uid"`
	JobID    string      `json:"job_id,omitempty"`
	Passed   bool        `json:"passed"`
	Running  bool        `json:"running,omitempty"`
	Summary  RunSummary  `json:"summary"`
	Failures []Failure   `json:"failures"`
	More     int         `json:"more_failures,omitempty"`
	Note     string      `json:"note,omitempty"`
	Source   string      `json:"source,omitempty"`
	Previous *RunSummary `json:"-"`
}

func (r RunReport) Text() string {
	var b strings.Builder
	switch {
	case r.Running:
		fmt.Fprintf(&b, "… %s is still running (job %s)", r.Monitor, firstNonEmpty(r.JobID, "?"))
	case r.Passed:
		fmt.Fprintf(&b, "✓ %s passed", r.Monitor)
	default:
		fmt.Fprintf(&b, "✗ %s failed", r.Monitor)
	}
	if r.UID != "" {
		fmt.Fprintf(&b, "  uid=%s", r.UID)
	}
	b.WriteByte('\n')
	if !r.Running {
		fmt.Fprintf(&b, "  %s\n", r.Summary.line())
	}
	for _, f := range r.Failures {
		writeFailure(&b, f, 0)
	}
	writeMoreFailures(&b, r.More)
	if r.Note != "" {
		fmt.Fprintf(&b, "%s\n", r.Note)
	}
	return b.String()
}

type setMonitorActiveArgs struct {
	Monitor string `json:"monitor" desc:"name, ID or UID"`
	Active  bool   `json:"active"`
}

type createMonitorArgs struct {
	Workspace   string   `json:"workspace" desc:"name or ID"`
	Name        string   `json:"name"`
	Collection  string   `json:"collection" desc:"name, ID or UID"`
	Environment string   `json:"environment,omitempty" desc:"name, ID or UID"`
	Cron        string   `json:"cron" desc:"5-field cron, e.g. */15 * * * *"`
	Timezone    string   `json:"timezone,omitempty" desc:"IANA zone, default UTC"`
	Regions     []string `json:"regions,omitempty"`
}

type deleteMonitorArgs struct {
	Monitor string `json:"monitor" desc:"name, ID or UID"`
	Confirm bool   `json:"confirm,omitempty" desc:"true deletes; else preview"`
}

func monitorTools() []*Tool {
	return []*Tool{
		define(Tool{
			Name: "list_monitors", Title: "List monitors with their status", Toolset: ToolsetMonitors,
			Description: "List monitors with each one's last run status (one API call per monitor; status=false skips it).",
			Hints:       Hints{ReadOnly: true, Idempotent: true, OpenWorld: true},
		}, listMonitors),
		define(Tool{
			Name: "get_monitor", Title: "Show a monitor", Toolset: ToolsetMonitors,
			Description: "Show a monitor's schedule, next run, collection, environment and last run numbers.",
			Hints:       Hints{ReadOnly: true, Idempotent: true, OpenWorld: true},
		}, getMonitor),
		define(Tool{
			Name: "run_monitor", Title: "Run a monitor now", Toolset: ToolsetMonitors,
			Description: "Run a monitor now; returns pass/fail with the failing requests and assertions, and reports progress.",
			Hints:       Hints{OpenWorld: true},
		}, runMonitor),
		define(Tool{
			Name: "explain_monitor_failure", Title: "Explain why a monitor fails", Toolset: ToolsetMonitors,
			Description: "Explain a monitor's latest run: failing requests and assertions, with its recorded history; rerun=true runs it to learn details pmops did not see.",
			Hints:       Hints{ReadOnly: false, Idempotent: false, OpenWorld: true},
		}, explainMonitorFailure),
		define(Tool{
			Name: "set_monitor_active", Title: "Pause or resume a monitor", Toolset: ToolsetMonitors,
			Description: "Pause a monitor (active=false) so it stops running on its schedule, or resume it (active=true).",
			Hints:       Hints{Idempotent: true, OpenWorld: true},
		}, setMonitorActiveTool),
		define(Tool{
			Name: "create_monitor", Title: "Create a monitor", Toolset: ToolsetMonitors,
			Description: "Create a monitor that runs a collection (with an optional environment) on a cron schedule.",
			Hints:       Hints{OpenWorld: true},
		}, createMonitor),
		define(Tool{
			Name: "delete_monitor", Title: "Delete a monitor", Toolset: ToolsetMonitors,
			Description: "Delete a monitor for good; without confirm=true it only previews.",
			Hints:       Hints{Destructive: true, Idempotent: true, OpenWorld: true},
		}, deleteMonitor),
	}
}

const monitorFanOut = 4

func listMonitors(ctx context.Context, env *Env, args listMonitorsArgs) (MonitorList, error) {
	ws, err := resolveWorkspace(ctx, env, args.Workspace)
	if err != nil {
		return MonitorList{}, err
	}
	limit := args.Limit
	if limit == 0 {
		limit = 10
	}
	page, err := env.Client.ListMonitorsPage(ctx, api.ListMonitorsOptions{Workspace: ws, Active: args.ActiveOnly, Limit: limit}, args.Cursor)
	if err != nil {
		return MonitorList{}, fmt.Errorf("list monitors: %w", err)
	}
	out := MonitorList{Items: make([]MonitorRow, len(page.Items)), NextCursor: page.Next}
	noteMonitorPage(args.Cursor, len(page.Items))
	for i, m := range page.Items {
		out.Items[i] = MonitorRow{Name: m.Name, UID: m.UID, Active: m.Active}
	}
	if args.Status != nil && !*args.Status {
		return out, nil
	}
	p := pool.New().WithContext(ctx).WithMaxGoroutines(monitorFanOut)
	for i := range out.Items {
		p.Go(func(ctx context.Context) error {
			row := &out.Items[i]
			m, err := env.Client.GetMonitor(ctx, row.UID)
			if err != nil {
				if te, ok := classify(err).(*Error); ok && (te.Kind == KindQuota) {
					return err
				}
				row.Error = clip(classify(err).Error(), 120)
				return nil
			}
			if lr := m.LastRun; lr != nil {
				row.LastRun = lr.Status
				row.LastRunAt = ts(lr.FinishedAt)
				if lr.Stats != nil && (lr.Stats.Assertions.Failed > 0 || lr.Stats.Requests.Failed > 0) {
					row.Failed = fmt.Sprintf("%d/%d assertions failed", lr.Stats.Assertions.Failed, lr.Stats.Assertions.Total)
				}
			}
			env.progress(i+1, len(out.Items), "fetched "+row.Name)
			return nil
		})
	}
	if err := p.Wait(); err != nil {
		return MonitorList{}, fmt.Errorf("fetch monitor status: %w", err)
	}
	return out, nil
}

// resolveMonitor turns a monitor name, ID or UID into its UID (see resolveMonitorRef).
func resolveMonitor(ctx context.Context, env *Env, query string) (string, error) {
	r, err := resolveMonitorRef(ctx, env, query)
	return r.ID, err
}

// resolveMonitorRef resolves a monitor in the call's mode (see Mode). A read given an ID costs nothing; anything
// else costs one cached listing.
func resolveMonitorRef(ctx context.Context, env *Env, query string) (Resolved, error) {
	q := strings.TrimSpace(query)
	if looksLikeID(q) && ModeOf(ctx) == Forgiving {
		return Resolved{Kind: "monitor", ID: q}, nil
	}
	if q == "" {
		return Resolved{}, Invalid("argument \"monitor\" is required")
	}
	all, err := api.Collect(cached(ctx), env.Client.MonitorsPager(api.ListMonitorsOptions{Limit: api.MaxMonitorPage}, "", api.Bound{MaxPages: 20}))
	if err != nil {
		if looksLikeID(q) {
			return Resolved{Kind: "monitor", ID: q}, nil
		}
		return Resolved{}, fmt.Errorf("list monitors to find %s: %w", EchoQ(q), err)
	}
	return resolveIn(ctx, "monitor", q, all, func(m api.MonitorSummary) ref { return ref{Name: m.Name, ID: m.ID, UID: m.UID} })
}

func summarize(status string, started, finished time.Time, s *api.RunStats) RunSummary {
	r := RunSummary{Status: status, StartedAt: ts(started), FinishedAt: ts(finished)}
	if s != nil {
		r.Requests, r.FailedRequests = s.Requests.Total, s.Requests.Failed
		r.Assertions, r.FailedAssertions = s.Assertions.Total, s.Assertions.Failed
		r.Errors, r.LatencyMs = s.ErrorCount, s.ResponseLatency
	}
	return r
}

func getMonitor(ctx context.Context, env *Env, args monitorArgs) (MonitorView, error) {
	uid, err := resolveMonitor(ctx, env, args.Monitor)
	if err != nil {
		return MonitorView{}, err
	}
	m, err := env.Client.GetMonitor(ctx, uid)
	if err != nil {
		return MonitorView{}, fmt.Errorf("get monitor %s: %w", uid, err)
	}
	return monitorView(m), nil
}

func monitorView(m *api.Monitor) MonitorView {
	v := MonitorView{Name: m.Name, UID: m.UID, Active: m.Active, Collection: m.CollectionUID, Environment: m.EnvironmentUID}
	if s := m.Schedule; s != nil {
		v.Cron, v.Timezone = s.Cron, s.Timezone
		if !s.NextRun.IsZero() {
			v.NextRun = ts(s.NextRun)
		}
	}
	for _, d := range m.Distribution {
		v.Regions = append(v.Regions, d.Region)
	}
	if lr := m.LastRun; lr != nil {
		s := summarize(lr.Status, lr.StartedAt, lr.FinishedAt, lr.Stats)
		v.LastRun = &s
	}
	return v
}

const maxFailuresShown = 10

func runMonitor(ctx context.Context, env *Env, args runMonitorArgs) (RunReport, error) {
	r, err := resolveMonitorRef(ctx, env, args.Monitor)
	if err != nil {
		return RunReport{}, err
	}
	uid, name := r.ID, Echo(firstNonEmpty(r.Name, r.ID))
	stop := tickProgress(env, "running monitor "+name)
	res, err := env.Client.RunMonitor(ctx, uid, api.RunOptions{Async: args.Async})
	stop()
	if err != nil {
		return RunReport{}, fmt.Errorf("run monitor %s: %w", uid, err)
	}
	res.Run = maskRun(ctx, env, res.Run)
	rep := reportRun(name, uid, res)
	if !rep.Running && env.Runs != nil {
		env.Runs.Add(uid, res.Run)
	}
	return rep, nil
}

// tickProgress reports elapsed time every few seconds while a long call runs; the returned func stops it.
func tickProgress(env *Env, msg string) func() {
	if env.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(exited)
		t := time.NewTicker(3 * time.Second)
		defer t.Stop()
		n := 0
		env.progress(0, 0, msg)
		for {
			select {
			case <-done:
				return
			case <-t.C:
				n++
				env.progress(n, 0, fmt.Sprintf("%s: %ds", msg, int(time.Since(start).Seconds())))
			}
		}
	}()
	// Stopping waits for the ticker goroutine, so no progress is reported after the tool has returned.
	return func() { close(done); <-exited }
}

func reportRun(name, uid string, res api.RunResult) RunReport {
	info := res.Run.Info
	rep := RunReport{Monitor: Echo(firstNonEmpty(info.Name, name)), UID: uid, JobID: info.JobID, Failures: []Failure{}, Source: "run"}
	if res.Running || res.Async {
		rep.Running = true
		rep.Summary.Status = firstNonEmpty(info.Status, "running")
		rep.Note = "the run continues in Postman; call get_monitor or explain_monitor_failure in a minute for its result"
		return rep
	}
	rep.Summary = summarize(info.Status, info.StartedAt, info.FinishedAt, res.Run.Stats)
	rep.Passed = info.Status == "success"
	rep.Failures, rep.More = failuresOf(res.Run)
	return rep
}

// failuresOf turns a run's executions and its (untyped) failures into one entry per failing request.
func failuresOf(run api.MonitorRun) ([]Failure, int) {
	type key struct {
		id   int64
		name string
	}
	byKey := map[key]*Failure{}
	var order []key
	get := func(k key) *Failure {
		if f, ok := byKey[k]; ok {
			return f
		}
		f := &Failure{Request: k.name, Problems: []string{}}
		for _, ex := range run.Executions {
			if ex.ID == k.id || (k.id == 0 && ex.Item.Name == k.name) {
				f.Request = firstNonEmpty(ex.Item.Name, k.name)
				f.Method, f.URL, f.Code = ex.Request.Method, clip(ex.Request.URL, 120), ex.Response.Code
				break
			}
		}
		byKey[k] = f
		order = append(order, k)
		return f
	}
	for _, raw := range run.Failures {
		var fl struct {
			ExecutionID int64 `json:"executionId"`
			Item        struct{ Name string }
			Source      struct{ Name string }
			Name        string `json:"name"`
			Message     string `json:"message"`
			Assertion   string `json:"assertion"`
			Error       *struct {
				Name, Message, Test string
			} `json:"error"`
		}
		if json.Unmarshal(raw, &fl) != nil {
			continue
		}
		name := firstNonEmpty(fl.Item.Name, fl.Source.Name)
		msg, assertion := fl.Message, fl.Assertion
		if fl.Error != nil {
			msg = firstNonEmpty(msg, fl.Error.Message)
			assertion = firstNonEmpty(assertion, fl.Error.Test)
		}
		if msg == "" && assertion == "" {
			continue
		}
		f := get(key{fl.ExecutionID, name})
		p := clip(msg, 200)
		if assertion != "" {
			p = fmt.Sprintf("%q: %s", assertion, clip(msg, 200))
		}
		f.Problems = append(f.Problems, p)
	}
	for _, ex := range run.Executions {
		failedAssertions := assertionFailures(ex.Assertions)
		if len(ex.Errors) == 0 && len(failedAssertions) == 0 && ex.Response.Code < 500 {
			continue
		}
		f := get(key{ex.ID, ex.Item.Name})
		for _, e := range ex.Errors {
			f.Problems = appendUnique(f.Problems, clip(e.Name+": "+e.Message, 200))
		}
		for _, a := range failedAssertions {
			f.Problems = appendUnique(f.Problems, fmt.Sprintf("%q failed", a))
		}
		if len(f.Problems) == 0 {
			f.Problems = append(f.Problems, fmt.Sprintf("server answered %d", ex.Response.Code))
		}
	}
	out := make([]Failure, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	more := 0
	if len(out) > maxFailuresShown {
		more = len(out) - maxFailuresShown
		out = out[:maxFailuresShown]
	}
	return out, more
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s || strings.Contains(x, s) {
			return list
		}
	}
	return append(list, s)
}

// assertionFailures reads the per-execution assertions, which the vendor leaves untyped: a map of assertion name
// to pass, or a list of {assertion, skipped, error}.
func assertionFailures(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var asMap map[string]bool
	if json.Unmarshal(raw, &asMap) == nil {
		var out []string
		for _, k := range sortedKeys(asMap) {
			if !asMap[k] {
				out = append(out, k)
			}
		}
		return out
	}
	var asList []struct {
		Assertion string          `json:"assertion"`
		Skipped   bool            `json:"skipped"`
		Error     json.RawMessage `json:"error"`
		Passed    *bool           `json:"passed"`
	}
	if json.Unmarshal(raw, &asList) == nil {
		var out []string
		for _, a := range asList {
			if !a.Skipped && ((len(a.Error) > 0 && string(a.Error) != "null") || (a.Passed != nil && !*a.Passed)) {
				out = append(out, a.Assertion)
			}
		}
		return out
	}
	return nil
}

func explainMonitorFailure(ctx context.Context, env *Env, args explainArgs) (RunReport, error) {
	uid, err := resolveMonitor(ctx, env, args.Monitor)
	if err != nil {
		return RunReport{}, err
	}
	m, err := env.Client.GetMonitor(ctx, uid)
	if err != nil {
		return RunReport{}, fmt.Errorf("get monitor %s: %w", uid, err)
	}
	lr := m.LastRun
	if lr == nil {
		if !args.Rerun {
			return RunReport{Monitor: m.Name, UID: m.UID, Failures: []Failure{}, Source: "last_run_stats",
				Note: "this monitor has not run yet; call again with rerun=true to run it now"}, nil
		}
	}
	jobID := m.JobID
	if lr != nil && lr.JobID != "" {
		jobID = lr.JobID
	}
	if env.Runs != nil {
		if run, ok := env.Runs.Get(m.UID, jobID); ok {
			rep := reportRun(m.Name, m.UID, api.RunResult{Run: run})
			if rep.Passed {
				rep.Note = "the latest run passed; nothing to explain"
			}
			return withHistory(ctx, env, rep), nil
		}
	}
	if args.Rerun {
		rep, err := runMonitor(ctx, env, runMonitorArgs{Monitor: m.UID})
		if err != nil {
			return RunReport{}, err
		}
		rep.Note = strings.TrimSpace("ran the monitor now to capture failure details. " + rep.Note)
		return rep, nil
	}
	rep := RunReport{Monitor: m.Name, UID: m.UID, JobID: jobID, Failures: []Failure{}, Source: "last_run_stats",
		Summary: summarize(lr.Status, lr.StartedAt, lr.FinishedAt, lr.Stats), Passed: lr.Status == "success"}
	if rep.Passed {
		rep.Note = "the latest run passed; nothing to explain"
	} else {
		rep.Note = "Postman's API reports only the numbers of a past run; pmops did not see this run's details. " +
			"Call again with rerun=true to run the monitor now and capture which requests and assertions fail."
	}
	return withHistory(ctx, env, rep), nil
}

func setMonitorActiveTool(ctx context.Context, env *Env, args setMonitorActiveArgs) (Change, error) {
	return setMonitorActive(ctx, env, args.Monitor, args.Active)
}

func setMonitorActive(ctx context.Context, env *Env, query string, active bool) (Change, error) {
	r, err := resolveMonitorRef(ctx, env, query)
	if err != nil {
		return Change{}, err
	}
	uid := r.ID
	var ref api.MonitorRef
	if active {
		ref, err = env.Client.ResumeMonitor(ctx, uid)
	} else {
		ref, err = env.Client.PauseMonitor(ctx, uid)
	}
	verb := map[bool]string{true: "resumed monitor", false: "paused monitor"}[active]
	if err != nil {
		return Change{}, fmt.Errorf("%s %s: %w", strings.TrimSuffix(verb, "d monitor"), uid, err)
	}
	return Change{Done: true, Action: verb, Name: Echo(firstNonEmpty(ref.Name, r.Name, uid)), UID: firstNonEmpty(ref.UID, uid)}, nil
}

func createMonitor(ctx context.Context, env *Env, args createMonitorArgs) (Change, error) {
	wr, err := resolveWorkspaceRef(ctx, env, args.Workspace)
	if err != nil {
		return Change{}, err
	}
	ws := wr.ID
	cr, err := resolveCollectionRef(ctx, env, args.Collection)
	if err != nil {
		return Change{}, err
	}
	in := api.CreateMonitorInput{Name: args.Name, Collection: cr.ID,
		Schedule: api.Schedule{Cron: args.Cron, Timezone: firstNonEmpty(args.Timezone, "UTC")}}
	details := []string{"in workspace " + wr.label(), "runs collection " + cr.label()}
	if args.Environment != "" {
		er, err := resolveEnvironmentRef(ctx, env, args.Environment)
		if err != nil {
			return Change{}, err
		}
		in.Environment = er.ID
		details = append(details, "with environment "+er.label())
	}
	if fields := strings.Fields(args.Cron); len(fields) != 5 {
		return Change{}, Invalid(fmt.Sprintf("cron %s must have 5 fields (minute hour day month weekday), e.g. \"*/15 * * * *\"", EchoQ(args.Cron)))
	}
	if _, err := time.LoadLocation(in.Schedule.Timezone); err != nil {
		return Change{}, Invalid(fmt.Sprintf("timezone %s is not an IANA zone such as Europe/Berlin", EchoQ(args.Timezone)))
	}
	for _, r := range args.Regions {
		in.Distribution = append(in.Distribution, api.Distribution{Region: r})
	}
	ref, err := env.Client.CreateMonitor(ctx, ws, in)
	if err != nil {
		return Change{}, fmt.Errorf("create monitor %s: %w", EchoQ(args.Name), err)
	}
	return Change{Done: true, Action: "created monitor", Name: Echo(firstNonEmpty(ref.Name, args.Name)), UID: ref.UID,
		Details: append(details, "schedule "+Echo(args.Cron)+" "+Echo(in.Schedule.Timezone))}, nil
}

func deleteMonitor(ctx context.Context, env *Env, args deleteMonitorArgs) (Change, error) {
	r, err := resolveMonitorRef(ctx, env, args.Monitor)
	if err != nil {
		return Change{}, err
	}
	if !args.Confirm {
		m, err := env.Client.GetMonitor(ctx, r.ID)
		if err != nil {
			return Change{}, fmt.Errorf("get monitor %s: %w", r.ID, err)
		}
		cron := ""
		if m.Schedule != nil {
			cron = m.Schedule.Cron
		}
		return Change{Action: "delete monitor", Name: Echo(m.Name), UID: firstNonEmpty(m.UID, r.ID),
			Details: []string{fmt.Sprintf("would delete the monitor (schedule %s) and its run history; this cannot be undone", cron), "call again with confirm=true to delete"}}, nil
	}
	ref, err := env.Client.DeleteMonitor(ctx, r.ID)
	if err != nil {
		return Change{}, fmt.Errorf("delete monitor %s: %w", r.ID, err)
	}
	return Change{Done: true, Action: "deleted monitor", Name: Echo(firstNonEmpty(r.Name, r.ID)), UID: firstNonEmpty(ref.UID, r.ID)}, nil
}
