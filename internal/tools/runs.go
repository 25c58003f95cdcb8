package tools

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/lazyre"
	"github.com/pmops/pmops/internal/newman"
)

// ToolsetRuns holds the tools that run collections with Newman.
const ToolsetRuns Toolset = "runs"

// NeedsNewman names the tools that work only where Newman is installed; adapters list them with that note.
var NeedsNewman = []string{"run_collection", "get_collection_run"}

type runCollectionArgs struct {
	Collection  string            `json:"collection" desc:"name, ID or UID"`
	Environment string            `json:"environment,omitempty" desc:"name, ID or UID"`
	Workspace   string            `json:"workspace,omitempty" desc:"adds its globals; collection and environment must be in it"`
	Folders     []string          `json:"folders,omitempty" desc:"names or IDs"`
	Vars        map[string]string `json:"vars,omitempty" desc:"variable overrides"`
	Iterations  int               `json:"iterations,omitempty" min:"1" max:"1000"`
	Data        []map[string]any  `json:"data,omitempty" desc:"one row per iteration"`
	Stop        string            `json:"stop,omitempty" enum:"failure,error" desc:"failure: first failed test or error; error: first error"`
	TimeoutS    int               `json:"timeout_s,omitempty" min:"1" max:"3600" desc:"default 600"`
	RequestMs   int               `json:"request_timeout_ms,omitempty" min:"1" max:"600000"`
	DelayMs     int               `json:"delay_ms,omitempty" min:"0" max:"60000"`
	Async       bool              `json:"async,omitempty" desc:"return a handle at once"`
}

type getRunArgs struct {
	Run    string `json:"run" desc:"handle from run_collection"`
	Cancel bool   `json:"cancel,omitempty" desc:"stop the run"`
}

// Limits of a run's input, so a mistaken call cannot occupy the machine for hours or fill its memory.
const (
	maxRunRequests   = 100_000 // requests × iterations
	maxRunDataBytes  = 16 << 20
	defaultRunTimout = 10 * time.Minute
	maxFailingShown  = 5
	maxProblemsShown = 3
	slowestShown     = 3
)

// RunTotals are a collection run's numbers.
type RunTotals struct {
	Iterations       int `json:"iterations"`
	Requests         int `json:"requests"`
	FailedRequests   int `json:"failed_requests"`
	Assertions       int `json:"assertions"`
	FailedAssertions int `json:"failed_assertions"`
	Errors           int `json:"errors"`
}

// RequestFailure is one failing request of a collection run, with what failed (secrets masked).
type RequestFailure struct {
	Request   string   `json:"request"`
	Method    string   `json:"method,omitempty"`
	URL       string   `json:"url,omitempty"`
	Code      int      `json:"code,omitempty"`
	Iteration int      `json:"iteration,omitempty"`
	Problems  []string `json:"problems"`
}

// SlowRequest is one of a run's slowest requests.
type SlowRequest struct {
	Request string `json:"request"`
	Ms      int64  `json:"ms"`
}

// Run states.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunPassed    = "passed"
	RunFailed    = "failed"
	RunError     = "error"
	RunCancelled = "cancelled"
)

// CollectionRun is a collection run's state, and once finished its compact result: totals, the failing requests
// with their failing assertions, the slowest requests and the duration. Nothing of it is uploaded anywhere.
type CollectionRun struct {
	Run          string           `json:"run"`
	Collection   string           `json:"collection"`
	Environment  string           `json:"environment,omitempty"`
	Workspace    string           `json:"workspace,omitempty"`
	Status       string           `json:"status" enum:"queued,running,passed,failed,error,cancelled"`
	Progress     string           `json:"progress,omitempty"`
	Totals       *RunTotals       `json:"totals,omitempty"`
	Failures     []RequestFailure `json:"failures"`
	MoreFailures int              `json:"more_failures,omitempty" schema:"-"`
	Slowest      []SlowRequest    `json:"slowest,omitempty"`
	DurationMs   int64            `json:"duration_ms,omitempty"`
	Error        string           `json:"error,omitempty"`
	Newman       string           `json:"newman,omitempty" schema:"-"`

	// executions keeps every execution (masked) for reports that list them all (JUnit).
	executions []newman.Execution
}

// Executions returns every request the run executed, secrets masked.
func (r CollectionRun) Executions() []newman.Execution { return r.executions }

func (r CollectionRun) Text() string {
	var b strings.Builder
	head := r.Collection
	if r.Environment != "" {
		head += " · " + r.Environment
	}
	if r.Workspace != "" {
		head += " (" + r.Workspace + ")"
	}
	switch r.Status {
	case RunQueued, RunRunning:
		fmt.Fprintf(&b, "… %s: %s", head, r.Status)
		if r.Progress != "" {
			fmt.Fprintf(&b, " (%s)", r.Progress)
		}
		fmt.Fprintf(&b, "\nget_collection_run run=%s reads its state; cancel=true stops it\n", r.Run)
		return b.String()
	case RunError, RunCancelled:
		fmt.Fprintf(&b, "✗ %s: run %s: %s\n", head, r.Status, r.Error)
	case RunPassed:
		fmt.Fprintf(&b, "✓ %s passed", head)
	default:
		fmt.Fprintf(&b, "✗ %s failed", head)
	}
	if t := r.Totals; t != nil {
		if r.Status == RunPassed || r.Status == RunFailed {
			b.WriteString(": ")
		} else {
			b.WriteString("  ")
		}
		fmt.Fprintf(&b, "%d/%d requests ok, %d/%d assertions passed, %s, %s",
			t.Requests-t.FailedRequests, t.Requests, t.Assertions-t.FailedAssertions, t.Assertions,
			plural(t.Iterations, "iteration", "iterations"), seconds(r.DurationMs))
		if t.Errors > 0 {
			fmt.Fprintf(&b, ", %s", plural(t.Errors, "error", "errors"))
		}
		b.WriteByte('\n')
	}
	for _, f := range r.Failures {
		writeFailure(&b, Failure{Request: f.Request, Method: f.Method, URL: f.URL, Code: f.Code, Problems: f.Problems}, f.Iteration)
	}
	writeMoreFailures(&b, r.MoreFailures)
	if len(r.Slowest) > 0 {
		b.WriteString("slowest:")
		for i, s := range r.Slowest {
			if i > 0 {
				b.WriteString(" ·")
			}
			fmt.Fprintf(&b, " %s %d ms", s.Request, s.Ms)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "run %s", r.Run)
	if r.Newman != "" {
		fmt.Fprintf(&b, " · newman %s", r.Newman)
	}
	b.WriteString(" · results stay local\n")
	return b.String()
}

func seconds(ms int64) string { return fmt.Sprintf("%.1f s", float64(ms)/1000) }

func runTools() []*Tool {
	return []*Tool{
		define(Tool{
			Name: "run_collection", Title: "Run a collection with Newman", Toolset: ToolsetRuns,
			Description: "Run a collection (or folders) with Newman here, sending real requests; returns pass/fail, failing requests and assertions, slowest requests.",
			Hints:       Hints{OpenWorld: true},
		}, runCollection),
		define(Tool{
			Name: "get_collection_run", Title: "Read or stop a collection run", Toolset: ToolsetRuns,
			Description: "State and result of a run_collection run (async=true gives the handle); cancel=true stops it.",
			// Open-world: it reads and stops a Newman child process that talks to the APIs under test.
			Hints: Hints{Idempotent: true, OpenWorld: true},
		}, getCollectionRun),
	}
}

// CollectionRuns runs collections for every caller of one process and remembers recent runs, so an async run
// can be read later. Each run belongs to the API client (the key) that started it.
type CollectionRuns struct {
	runner *newman.Runner
	// base is the parent of every run: Close cancels it, so no Newman outlives the process that started it.
	base  context.Context
	stop  context.CancelFunc
	mu    sync.Mutex
	runs  map[string]*runEntry
	order []string
	keep  int
}

type runEntry struct {
	owner  *api.Client
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	state  CollectionRun
}

func (e *runEntry) snapshot() CollectionRun {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state
}

func (e *runEntry) update(fn func(*CollectionRun)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn(&e.state)
}

// NewCollectionRuns serves runs through runner, remembering the latest 64.
func NewCollectionRuns(runner *newman.Runner) *CollectionRuns {
	base, stop := context.WithCancel(context.Background())
	return &CollectionRuns{runner: runner, base: base, stop: stop, runs: map[string]*runEntry{}, keep: 64}
}

// Close stops every run still going (killing its Newman process group) and waits for them, up to ctx.
func (c *CollectionRuns) Close(ctx context.Context) {
	c.stop()
	c.mu.Lock()
	var pending []*runEntry
	for _, e := range c.runs {
		pending = append(pending, e)
	}
	c.mu.Unlock()
	for _, e := range pending {
		select {
		case <-e.done:
		case <-ctx.Done():
			return
		}
	}
}

// Runner is the Newman runner in use.
func (c *CollectionRuns) Runner() *newman.Runner { return c.runner }

func (c *CollectionRuns) add(e *runEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.runs[e.state.Run] = e
	c.order = append(c.order, e.state.Run)
	// Forget the oldest finished runs beyond keep; running ones stay.
	for i := 0; len(c.runs) > c.keep && i < len(c.order); {
		id := c.order[i]
		old := c.runs[id]
		select {
		case <-old.done:
			delete(c.runs, id)
			c.order = slices.Delete(c.order, i, i+1)
		default:
			i++
		}
	}
}

func (c *CollectionRuns) get(id string, owner *api.Client) (*runEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.runs[id]
	if !ok || e.owner != owner {
		return nil, false
	}
	return e, true
}

func newRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "cr-" + hex.EncodeToString(b)
}

func runsOf(env *Env) (*CollectionRuns, error) {
	if env.CollectionRuns == nil || env.CollectionRuns.runner == nil {
		return nil, &Error{Kind: KindInvalid, Message: "collection runs are not set up in this server",
			Hint: "run pmops's mcp binary, which runs collections with Newman"}
	}
	if err := env.CollectionRuns.runner.Available(); err != nil {
		return nil, &Error{Kind: KindInvalid, Message: err.Error(), Err: err}
	}
	return env.CollectionRuns, nil
}

// prepared is everything a run needs, fetched and checked before Newman starts.
type prepared struct {
	job         newman.Job
	collection  string
	environment string
	workspace   string
	requests    int // per iteration
	secrets     []string
}

func (p prepared) describe() string {
	d := fmt.Sprintf("collection %q", p.collection)
	if p.environment != "" {
		d += fmt.Sprintf(" with environment %q", p.environment)
	}
	if p.workspace != "" {
		d += fmt.Sprintf(" in workspace %q", p.workspace)
	}
	return d
}

func runCollection(ctx context.Context, env *Env, args runCollectionArgs) (CollectionRun, error) {
	p, err := prepareRun(ctx, env, args)
	if err != nil {
		return CollectionRun{}, err
	}
	runs, err := runsOf(env)
	if err != nil {
		te, _ := AsError(err)
		return CollectionRun{}, &Error{Kind: te.Kind, Err: te.Err, Hint: te.Hint,
			Message: fmt.Sprintf("%s; the run of %s did not start", te.Message, p.describe())}
	}
	// The run outlives this call when async; its life is bounded by its timeout and by runs.Close.
	runCtx, cancel := context.WithCancel(runs.base)
	e := &runEntry{owner: env.Client, cancel: cancel, done: make(chan struct{}),
		state: CollectionRun{Run: newRunID(), Collection: p.collection, Environment: p.environment, Workspace: p.workspace,
			Status: RunQueued, Failures: []RequestFailure{}}}
	runs.add(e)
	progress := env.Progress
	if args.Async {
		progress = nil // the call returns now; get_collection_run shows progress
	}
	go runs.execute(runCtx, e, p, progress)
	if args.Async {
		return e.snapshot(), nil
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		cancel()
		<-e.done
	}
	cancel()
	return e.snapshot(), nil
}

func (c *CollectionRuns) execute(ctx context.Context, e *runEntry, p prepared, progress func(int, int, string)) {
	defer close(e.done)
	total := p.requests * max(p.job.Iterations, 1)
	report := func(done int, msg string) {
		if progress != nil {
			progress(done, total, msg)
		}
	}
	sum, err := c.runner.Run(ctx, p.job, func(ev newman.Event) {
		switch ev.Kind {
		case newman.EventQueued:
			e.update(func(s *CollectionRun) { s.Progress = fmt.Sprintf("waiting: %d ahead", ev.Position) })
			report(0, fmt.Sprintf("queued behind %d running collection runs", c.runner.MaxRuns()))
		case newman.EventStarted:
			if ev.Total > 0 {
				total = ev.Total
			}
			e.update(func(s *CollectionRun) { s.Status, s.Progress = RunRunning, fmt.Sprintf("0/%d requests", total) })
			report(0, "newman started")
		case newman.EventExecuted:
			x := maskExecution(*ev.Execution, p.secrets)
			mark := "✓"
			if x.Failed() {
				mark = "✗"
			}
			msg := fmt.Sprintf("%s %s %s", mark, clip(x.Name, 60), codeOrError(x))
			e.update(func(s *CollectionRun) { s.Progress = fmt.Sprintf("%d/%d requests", ev.Done, total) })
			report(ev.Done, msg)
		}
	})
	e.update(func(s *CollectionRun) {
		s.Progress = ""
		if err != nil {
			s.Status, s.Error = RunError, maskText(err.Error(), p.secrets)
			if ctx.Err() != nil {
				s.Status, s.Error = RunCancelled, "the run was cancelled; Newman and its process group were stopped"
			}
			return
		}
		fillResult(s, sum, p.secrets)
	})
}

func codeOrError(x newman.Execution) string {
	switch {
	case x.Code != 0:
		return fmt.Sprintf("%d %d ms", x.Code, x.Ms)
	case len(x.Errors) > 0:
		return clip(x.Errors[0], 60)
	}
	return ""
}

// fillResult turns Newman's summary into the compact result.
func fillResult(s *CollectionRun, sum *newman.Summary, secrets []string) {
	s.Newman = sum.Version
	s.DurationMs = sum.Duration.Milliseconds()
	t := &RunTotals{Iterations: sum.Stats.Iterations.Total, Requests: len(sum.Executions) + sum.Dropped,
		Assertions: sum.Stats.Assertions.Total, FailedAssertions: sum.Stats.Assertions.Failed}
	s.executions = make([]newman.Execution, 0, len(sum.Executions))
	var slow []SlowRequest
	for _, raw := range sum.Executions {
		x := maskExecution(raw, secrets)
		s.executions = append(s.executions, x)
		t.Errors += len(x.Errors)
		if x.Code != 0 {
			slow = append(slow, SlowRequest{Request: clip(x.Name, 60), Ms: x.Ms})
		}
		if !x.Failed() {
			continue
		}
		t.FailedRequests++
		if len(s.Failures) >= maxFailingShown {
			s.MoreFailures++
			continue
		}
		f := RequestFailure{Request: clip(x.Name, 80), Method: x.Method, URL: clip(x.URL, 100), Code: x.Code, Problems: []string{}}
		if t.Iterations > 1 {
			f.Iteration = x.Iteration + 1
		}
		var problems []string
		if vars := unresolved.FindAllString(x.URL, 3); len(vars) > 0 {
			problems = append(problems, "unresolved "+strings.Join(vars, " ")+": pass an environment or vars that define it")
		}
		problems = append(problems, x.Errors...)
		for _, a := range x.Assertions {
			if a.Error != "" {
				problems = append(problems, fmt.Sprintf("%q: %s", a.Name, a.Error))
			}
		}
		for i, pr := range problems {
			if i == maxProblemsShown {
				f.Problems = append(f.Problems, fmt.Sprintf("… %d more", len(problems)-i))
				break
			}
			f.Problems = append(f.Problems, clip(pr, 160))
		}
		s.Failures = append(s.Failures, f)
	}
	sort.SliceStable(slow, func(i, j int) bool { return slow[i].Ms > slow[j].Ms })
	s.Slowest = slow[:min(slowestShown, len(slow))]
	s.Totals = t
	switch {
	case sum.Error != "":
		s.Status, s.Error = RunError, "newman stopped the run: "+maskText(sum.Error, secrets)
	case t.FailedRequests > 0 || t.FailedAssertions > 0 || t.Errors > 0:
		s.Status = RunFailed
	default:
		s.Status = RunPassed
	}
}

func getCollectionRun(ctx context.Context, env *Env, args getRunArgs) (CollectionRun, error) {
	runs, err := runsOf(env)
	if err != nil {
		return CollectionRun{}, err
	}
	e, ok := runs.get(strings.TrimSpace(args.Run), env.Client)
	if !ok {
		return CollectionRun{}, &Error{Kind: KindNotFound, Message: fmt.Sprintf("no collection run %s", EchoQ(args.Run)),
			Hint: "pass the run handle run_collection returned; this server keeps the latest 64 runs until it restarts"}
	}
	if args.Cancel {
		e.cancel()
		select {
		case <-e.done:
		case <-ctx.Done():
			return CollectionRun{}, ctx.Err()
		}
	}
	return e.snapshot(), nil
}

// prepareRun resolves and fetches everything through the gated client and checks the arguments, so a run only
// starts when it can.
func prepareRun(ctx context.Context, env *Env, args runCollectionArgs) (prepared, error) {
	var p prepared
	colUID, envUID, wsID, wsName, err := resolveRunTargets(ctx, env, args)
	if err != nil {
		return p, err
	}
	p.workspace = wsName
	col, err := env.Client.GetCollection(ctx, colUID, api.GetCollectionOptions{})
	if err != nil {
		return p, fmt.Errorf("get collection %s: %w", colUID, err)
	}
	p.collection = col.Info.Name
	folders, requests, err := selectFolders(col, args.Folders)
	if err != nil {
		return p, err
	}
	p.requests = requests
	if requests == 0 {
		return p, Invalid(fmt.Sprintf("collection %q has no requests to run%s", col.Info.Name, map[bool]string{true: " in the chosen folders"}[len(folders) > 0]))
	}
	iterations := max(args.Iterations, 1)
	if args.Iterations == 0 && len(args.Data) > 0 {
		iterations = len(args.Data)
	}
	if n := requests * iterations; n > maxRunRequests {
		return p, Invalid(fmt.Sprintf("%d requests × %d iterations = %d requests; one run may send at most %d", requests, iterations, n, maxRunRequests))
	}
	if p.job.Collection, err = newmanCollection(col); err != nil {
		return p, fmt.Errorf("encode collection: %w", err)
	}
	var values []api.EnvVar
	if envUID != "" {
		e, err := env.Client.GetEnvironment(ctx, envUID)
		if err != nil {
			return p, fmt.Errorf("get environment %s: %w", envUID, err)
		}
		p.environment = e.Name
		values = e.Values
	}
	for _, v := range values {
		if v.Enabled && looksSecret(v.Key, v.Type, v.Secret) {
			p.secrets = append(p.secrets, v.Value)
		}
	}
	for _, k := range sortedKeys(args.Vars) {
		v := args.Vars[k]
		if secretish.MatchString(k) {
			p.secrets = append(p.secrets, v)
		}
		i := slices.IndexFunc(values, func(x api.EnvVar) bool { return x.Key == k })
		if i >= 0 {
			values[i].Value, values[i].Enabled = v, true
		} else {
			values = append(values, api.EnvVar{Key: k, Value: v, Enabled: true, Type: api.EnvVarDefault})
		}
	}
	if len(values) > 0 {
		if p.job.Environment, err = json.Marshal(map[string]any{"name": firstNonEmpty(p.environment, "pmops vars"), "values": values}); err != nil {
			return p, err
		}
	}
	if wsID != "" {
		globals, secrets, err := workspaceGlobals(ctx, env, wsID)
		if err != nil {
			return p, err
		}
		p.job.Globals = globals
		p.secrets = append(p.secrets, secrets...)
	}
	if len(args.Data) > 0 {
		if p.job.Data, err = json.Marshal(args.Data); err != nil {
			return p, Invalid("data rows are not representable as JSON")
		}
		if len(p.job.Data) > maxRunDataBytes {
			return p, Invalid(fmt.Sprintf("data is %.1f MB; one run takes at most %d MB of iteration data: split the rows over several runs",
				float64(len(p.job.Data))/(1<<20), maxRunDataBytes>>20))
		}
		for _, row := range args.Data {
			for k, v := range row {
				if s, ok := v.(string); ok && secretish.MatchString(k) {
					p.secrets = append(p.secrets, s)
				}
			}
		}
	}
	p.job.Folders = folders
	p.job.Iterations = args.Iterations
	switch args.Stop {
	case "failure":
		p.job.Bail = newman.BailFailure
	case "error":
		p.job.Bail = newman.BailFolder
	}
	p.job.Timeout = defaultRunTimout
	if args.TimeoutS > 0 {
		p.job.Timeout = time.Duration(args.TimeoutS) * time.Second
	}
	p.job.RequestTimeout = time.Duration(args.RequestMs) * time.Millisecond
	p.job.Delay = time.Duration(args.DelayMs) * time.Millisecond
	return p, nil
}

// newmanCollection encodes a collection for Newman. A request URL that is an object with only "raw" (Postman
// keeps URLs so when created through the API without parsed parts) becomes the raw string: Newman builds a URL
// object from its host and path parts and would send such a request to an empty URL.
func newmanCollection(col *api.Collection) (json.RawMessage, error) {
	raw, err := json.Marshal(col)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	var walk func(items []any)
	walk = func(items []any) {
		for _, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				continue
			}
			if req, ok := m["request"].(map[string]any); ok {
				if u, ok := req["url"].(map[string]any); ok {
					if r, ok := u["raw"].(string); ok && u["host"] == nil {
						req["url"] = r
					}
				}
			}
			if sub, ok := m["item"].([]any); ok {
				walk(sub)
			}
		}
	}
	if items, ok := doc["item"].([]any); ok {
		walk(items)
	}
	return json.Marshal(doc)
}

// resolveRunTargets finds the collection and environment. With a workspace both must be in it, as Postman's
// runner only offers a workspace's own environments.
func resolveRunTargets(ctx context.Context, env *Env, args runCollectionArgs) (col, envUID, wsID, wsName string, err error) {
	if strings.TrimSpace(args.Workspace) == "" {
		if col, err = resolveCollection(ctx, env, args.Collection); err != nil {
			return "", "", "", "", err
		}
		if strings.TrimSpace(args.Environment) != "" {
			if envUID, err = resolveEnvironment(ctx, env, args.Environment); err != nil {
				return "", "", "", "", err
			}
		}
		return col, envUID, "", "", nil
	}
	if wsID, err = resolveWorkspace(ctx, env, args.Workspace); err != nil {
		return "", "", "", "", err
	}
	ws, err := env.Client.GetWorkspace(cached(ctx), wsID, api.GetWorkspaceOptions{})
	if err != nil {
		return "", "", "", "", fmt.Errorf("get workspace %s: %w", wsID, err)
	}
	refOf := func(e api.WorkspaceElement) ref { return ref{Name: e.Name, ID: e.ID, UID: e.UID} }
	c, err := match("collection", args.Collection, ws.Collections, refOf)
	if err != nil {
		return "", "", "", "", err
	}
	col = firstNonEmpty(c.UID, c.ID)
	if strings.TrimSpace(args.Environment) == "" {
		return col, "", wsID, ws.Name, nil
	}
	e, err := match("environment", args.Environment, ws.Environments, refOf)
	if err != nil {
		// Say so when the environment exists, but in another workspace.
		if other, oerr := resolveEnvironment(ctx, env, args.Environment); oerr == nil && other != "" {
			return "", "", "", "", &Error{Kind: KindInvalid, Err: err,
				Message: fmt.Sprintf("environment %s is not in workspace %q; a run uses an environment of the collection's workspace", EchoQ(args.Environment), ws.Name),
				Hint:    "pick one of this workspace's environments (list_environments workspace=…) or copy the environment into it"}
		}
		return "", "", "", "", err
	}
	return col, firstNonEmpty(e.UID, e.ID), wsID, ws.Name, nil
}

// selectFolders checks the folder names or IDs against the collection and counts the requests a run sends per
// iteration.
func selectFolders(col *api.Collection, want []string) ([]string, int, error) {
	type folderRef struct {
		name, id string
		requests int
	}
	var all []folderRef
	var count func(items []api.Item) int
	count = func(items []api.Item) int {
		n := 0
		for i := range items {
			it := &items[i]
			if it.Request == nil && it.Item != nil {
				k := count(it.Item)
				all = append(all, folderRef{name: it.Name, id: firstNonEmpty(it.ID, it.UID), requests: k})
				n += k
			} else {
				n++
			}
		}
		return n
	}
	total := count(col.Item)
	if len(want) == 0 {
		return nil, total, nil
	}
	var out []string
	n := 0
	for _, w := range want {
		w = strings.TrimSpace(w)
		i := slices.IndexFunc(all, func(f folderRef) bool { return f.name == w || (f.id != "" && f.id == w) })
		if i < 0 {
			names := make([]string, len(all))
			for j, f := range all {
				names[j] = f.name
			}
			e := &Error{Kind: KindNotFound, Message: fmt.Sprintf("collection %q has no folder %s", col.Info.Name, EchoQ(w))}
			for _, c := range closest(w, names, 5) {
				e.Candidates = append(e.Candidates, Candidate{Name: c})
			}
			switch {
			case len(names) == 0:
				e.Hint = "the collection has no folders; omit folders to run it all"
			case len(e.Candidates) == 0:
				e.Hint = "its folders: " + strings.Join(names[:min(10, len(names))], ", ")
			default:
				e.Hint = "folder names are exact (or pass the folder ID)"
			}
			return nil, 0, e
		}
		out = append(out, w)
		n += all[i].requests
	}
	return out, n, nil
}

// Masking of run output: the values of secret variables wherever they appear, and the values of query parameters
// and user-info passwords that look like credentials (an apikey in a URL), also inside assertion messages.
var unresolved = lazyre.New(`\{\{[^{}\s]{1,40}\}\}`)
var queryParam = lazyre.New(`([?&;])([^=&#\s"']+)=([^&#\s"']*)`)
var userInfo = lazyre.New(`(//[^/:@\s"']+):([^/@\s"']+)@`)

func maskText(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= 4 { // shorter values would mask ordinary text; Postman's own secrets are longer
			s = strings.ReplaceAll(s, v, masked)
			if esc := url.QueryEscape(v); esc != v {
				s = strings.ReplaceAll(s, esc, masked)
			}
			s = maskClippedTail(s, v)
		}
	}
	s = queryParam.ReplaceAllStringFunc(s, func(m string) string {
		g := queryParam.FindStringSubmatch(m)
		if k, err := url.QueryUnescape(g[2]); err == nil && secretish.MatchString(k) && g[3] != "" && g[3] != masked {
			return g[1] + g[2] + "=" + masked
		}
		return m
	})
	return userInfo.ReplaceAllString(s, "$1:"+masked+"@")
}

// maskClippedTail masks the start of secret v where s was clipped (ends in "…") in the middle of it.
func maskClippedTail(s, v string) string {
	body, ok := strings.CutSuffix(s, "…")
	if !ok {
		return s
	}
	for k := len(v) - 1; k >= 4; k-- {
		if strings.HasSuffix(body, v[:k]) {
			return body[:len(body)-k] + masked + "…"
		}
	}
	return s
}

func maskExecution(x newman.Execution, secrets []string) newman.Execution {
	x.Name = maskText(x.Name, secrets)
	x.URL = maskText(x.URL, secrets)
	errs := make([]string, len(x.Errors))
	for i, e := range x.Errors {
		errs[i] = maskText(e, secrets)
	}
	x.Errors = errs
	as := make([]newman.Assertion, len(x.Assertions))
	for i, a := range x.Assertions {
		a.Name, a.Error = maskText(a.Name, secrets), maskText(a.Error, secrets)
		as[i] = a
	}
	x.Assertions = as
	return x
}
