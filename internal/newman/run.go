package newman

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:embed driver.js
var driverJS []byte

// Bail modes, as Newman's --bail modifiers.
const (
	// BailFailure stops the run at the first failing assertion, script error or request error (newman --bail
	// failure, the same as a bare --bail).
	BailFailure = "failure"
	// BailFolder aborts the run at the first request or script error; failing assertions do not stop it
	// (newman --bail folder, postman-runtime's abortOnError).
	BailFolder = "folder"
)

// Job is one collection run. The documents are JSON as Postman's API returns them (a Collection v2.1, an
// environment or globals object with a values array, iteration data as an array of row objects).
type Job struct {
	Collection  json.RawMessage
	Environment json.RawMessage
	Globals     json.RawMessage
	Data        json.RawMessage
	// Folders limits the run to these folders (names or IDs), in order.
	Folders []string
	// Iterations is the iteration count; 0 lets Newman decide (1, or one per data row).
	Iterations int
	// Bail is empty, BailFailure or BailFolder.
	Bail string
	// Timeout bounds the whole run, RequestTimeout each request, ScriptTimeout each script; Delay waits between
	// requests. Zero means none.
	Timeout, RequestTimeout, ScriptTimeout, Delay time.Duration
}

// Execution is one executed request: what was sent, what came back and how its tests went.
type Execution struct {
	// Ref identifies the execution within the run (Newman's cursor ref).
	Ref        string      `json:"ref"`
	Name       string      `json:"name"`
	ID         string      `json:"id"`
	Iteration  int         `json:"iteration"`
	Position   int         `json:"position"`
	Method     string      `json:"method"`
	URL        string      `json:"url"`
	Code       int         `json:"code"`
	Status     string      `json:"status"`
	Ms         int64       `json:"ms"`
	Size       int64       `json:"size"`
	Assertions []Assertion `json:"assertions"`
	Errors     []string    `json:"errors"`
}

// Failed reports whether the execution had a failing assertion or an error.
func (x Execution) Failed() bool {
	if len(x.Errors) > 0 {
		return true
	}
	for _, a := range x.Assertions {
		if a.Error != "" {
			return true
		}
	}
	return false
}

// Assertion is one pm.test of an execution.
type Assertion struct {
	Name    string `json:"name"`
	Error   string `json:"error,omitempty"`
	Skipped bool   `json:"skipped,omitempty"`
}

// Count is one of Newman's run statistics.
type Count struct {
	Total   int `json:"total"`
	Pending int `json:"pending"`
	Failed  int `json:"failed"`
}

// Stats are Newman's run statistics (summary.run.stats).
type Stats struct {
	Iterations        Count `json:"iterations"`
	Items             Count `json:"items"`
	Scripts           Count `json:"scripts"`
	Prerequests       Count `json:"prerequests"`
	Requests          Count `json:"requests"`
	Tests             Count `json:"tests"`
	Assertions        Count `json:"assertions"`
	TestScripts       Count `json:"testScripts"`
	PrerequestScripts Count `json:"prerequestScripts"`
}

// Summary is a finished run.
type Summary struct {
	Version    string
	Executions []Execution
	// Dropped counts executions not kept because the run had more than MaxExecutions.
	Dropped   int
	Stats     Stats
	Started   time.Time
	Completed time.Time
	// Error is a run-level error Newman reported (a global timeout, an invalid folder), already clipped.
	Error string
	// Failures is the length of Newman's failures list.
	Failures int
	// Duration is the wall time of the child process.
	Duration time.Duration
}

// EventKind says what an Event reports.
type EventKind int

const (
	// EventQueued: the run waits for a free slot; Position is its place in the queue (1 = next).
	EventQueued EventKind = iota
	// EventStarted: Newman started; Total is the number of requests it expects to send (per-iteration length
	// times iterations), 0 when unknown.
	EventStarted
	// EventExecuted: one request ran; Execution holds it and Done counts the executions so far.
	EventExecuted
)

// Event is progress of a run.
type Event struct {
	Kind      EventKind
	Position  int
	Total     int
	Done      int
	Execution *Execution
}

// MaxExecutions is how many executions a Summary keeps; beyond it they still count and report progress.
const MaxExecutions = 50_000

// Options configure a Runner.
type Options struct {
	// Path is where Newman is (see Locate); empty looks for `newman` on PATH.
	Path string
	// MaxRuns bounds the runs at once (default 2); more wait in a queue of at most MaxQueue (default 16).
	MaxRuns, MaxQueue int
	// TempDir is where each run's private directory is made (default os.TempDir()).
	TempDir string
	Logger  *slog.Logger
}

// Runner runs collections, at most MaxRuns at once.
type Runner struct {
	opts Options
	// locate finds Newman and node on first use (Locate walks PATH; a stdio MCP server's start need not).
	locate  func() (Install, error)
	slots   chan struct{}
	mu      sync.Mutex
	waiting int
	// onStart, when set (tests), is told each child's pid and private directory.
	onStart func(pid int, dir string)
}

// ErrQueueFull means too many runs are already waiting.
var ErrQueueFull = errors.New("too many collection runs are already waiting; retry when one has finished")

// NewRunner returns a runner that locates Newman once, on first use (Available, Install or Run), not at a
// server's start. A missing Newman is not an error here: Available and every Run report it, so a
// server without Newman still serves everything else.
func NewRunner(opts Options) *Runner {
	if opts.MaxRuns <= 0 {
		opts.MaxRuns = 2
	}
	if opts.MaxQueue <= 0 {
		opts.MaxQueue = 16
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{opts: opts, slots: make(chan struct{}, opts.MaxRuns)}
	r.locate = sync.OnceValues(func() (Install, error) { return Locate(opts.Path) })
	return r
}

// Available returns nil when Newman can run, else a *NotInstalledError saying how to install it.
func (r *Runner) Available() error {
	_, err := r.locate()
	return err
}

// Install is the located Newman.
func (r *Runner) Install() Install {
	in, _ := r.locate()
	return in
}

// MaxRuns is the number of runs allowed at once.
func (r *Runner) MaxRuns() int { return r.opts.MaxRuns }

// Run runs job and returns its summary: waiting for a slot first, then Newman in its own process group, which is
// killed whole when ctx ends. Failing assertions are not an error; a run Newman could not complete is reported
// in Summary.Error, and an error is returned only when no summary exists (cancelled, crashed, not installed).
func (r *Runner) Run(ctx context.Context, job Job, on func(Event)) (*Summary, error) {
	if err := r.Available(); err != nil {
		return nil, err
	}
	if on == nil {
		on = func(Event) {}
	}
	if err := r.acquire(ctx, on); err != nil {
		return nil, err
	}
	defer func() { <-r.slots }()
	return r.run(ctx, job, on)
}

func (r *Runner) acquire(ctx context.Context, on func(Event)) error {
	select {
	case r.slots <- struct{}{}:
		return nil
	default:
	}
	r.mu.Lock()
	if r.waiting >= r.opts.MaxQueue {
		r.mu.Unlock()
		return ErrQueueFull
	}
	r.waiting++
	pos := r.waiting
	r.mu.Unlock()
	defer func() { r.mu.Lock(); r.waiting--; r.mu.Unlock() }()
	on(Event{Kind: EventQueued, Position: pos})
	select {
	case r.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cancelled while waiting for a free run slot: %w", ctx.Err())
	}
}

// driverOptions is the options file the driver reads.
type driverOptions struct {
	Newman         string   `json:"newman"`
	Collection     string   `json:"collection"`
	Environment    string   `json:"environment,omitempty"`
	Globals        string   `json:"globals,omitempty"`
	IterationData  string   `json:"iterationData,omitempty"`
	IterationCount int      `json:"iterationCount,omitempty"`
	Folder         []string `json:"folder,omitempty"`
	Bail           []string `json:"bail,omitempty"`
	Timeout        int64    `json:"timeout,omitempty"`
	TimeoutRequest int64    `json:"timeoutRequest,omitempty"`
	TimeoutScript  int64    `json:"timeoutScript,omitempty"`
	DelayRequest   int64    `json:"delayRequest,omitempty"`
	WorkingDir     string   `json:"workingDir"`
}

// graceAfterTimeout is how long past its own overall timeout Newman gets to report before it is killed; Node
// and Newman take seconds to start on a busy machine, and Newman's clock starts only then.
const graceAfterTimeout = 30 * time.Second

func (r *Runner) run(ctx context.Context, job Job, on func(Event)) (*Summary, error) {
	dir, err := os.MkdirTemp(r.opts.TempDir, "pmops-newman-")
	if err != nil {
		return nil, fmt.Errorf("make the run's private directory: %w", err)
	}
	defer os.RemoveAll(dir)
	// MkdirTemp already makes it 0700; say so in case a umask or a platform differs.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	opts := driverOptions{Newman: r.Install().Dir, WorkingDir: dir, IterationCount: job.Iterations,
		Folder: job.Folders, Timeout: job.Timeout.Milliseconds(), TimeoutRequest: job.RequestTimeout.Milliseconds(),
		TimeoutScript: job.ScriptTimeout.Milliseconds(), DelayRequest: job.Delay.Milliseconds()}
	if job.Bail != "" {
		opts.Bail = []string{job.Bail}
	}
	files := []struct {
		name string
		data []byte
		dst  *string
	}{
		{"collection.json", job.Collection, &opts.Collection},
		{"environment.json", job.Environment, &opts.Environment},
		{"globals.json", job.Globals, &opts.Globals},
		{"data.json", job.Data, &opts.IterationData},
	}
	for _, f := range files {
		if len(f.data) == 0 {
			continue
		}
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.name, err)
		}
		*f.dst = p
	}
	optsJSON, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	driver, optsFile := filepath.Join(dir, "driver.js"), filepath.Join(dir, "options.json")
	if err := os.WriteFile(driver, driverJS, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(optsFile, optsJSON, 0o600); err != nil {
		return nil, err
	}

	runCtx := ctx
	if job.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, job.Timeout+graceAfterTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(runCtx, r.Install().Node, driver, optsFile)
	cmd.Dir = dir
	cmd.Env = childEnv(dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = 3 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start newman (node %s): %w", r.Install().Node, err)
	}
	r.opts.Logger.Debug("newman run started", "pid", cmd.Process.Pid, "dir", dir)
	if r.onStart != nil {
		r.onStart(cmd.Process.Pid, dir)
	}
	sum, fatal, readErr := read(stdout, on)
	waitErr := cmd.Wait()
	// Whatever the driver left in its group goes too.
	_ = killGroup(cmd)
	sum.Duration = time.Since(start)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("collection run cancelled: %w", ctx.Err())
	case runCtx.Err() != nil:
		return nil, fmt.Errorf("newman did not finish within its %s timeout and was stopped", job.Timeout)
	case fatal != "":
		return nil, fmt.Errorf("newman failed: %s", fatal)
	case readErr != nil:
		return nil, fmt.Errorf("read newman's events: %w", readErr)
	case !sum.done:
		return nil, fmt.Errorf("newman exited without a result (%v): %s", waitErr, strings.TrimSpace(stderr.String()))
	}
	return &sum.Summary, nil
}

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// childEnv is the whole environment Newman gets: a PATH, a home and temp dir inside the run's private
// directory, and the proxy and CA settings that decide whether it can reach the APIs under test. Nothing else
// of pmops's environment (keys, tokens) is passed on.
func childEnv(dir string) []string {
	env := []string{"HOME=" + dir, "TMPDIR=" + dir, "NODE_NO_WARNINGS=1"}
	for _, k := range []string{"PATH", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
		"NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

type summaryState struct {
	Summary
	done bool
}

// read consumes the driver's JSON lines.
func read(r io.Reader, on func(Event)) (summaryState, string, error) {
	var s summaryState
	var fatal string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	executed := 0
	byRef := map[string]int{}
	for sc.Scan() {
		line := sc.Bytes()
		var head struct {
			E string `json:"e"`
		}
		if json.Unmarshal(line, &head) != nil {
			continue
		}
		switch head.E {
		case "start":
			var st struct {
				Version        string
				Length, Cycles int
			}
			if json.Unmarshal(line, &st) == nil {
				s.Version = st.Version
				on(Event{Kind: EventStarted, Total: st.Length * max(st.Cycles, 1)})
			}
		case "item":
			var x Execution
			if json.Unmarshal(line, &x) != nil {
				continue
			}
			if x.Assertions == nil {
				x.Assertions = []Assertion{}
			}
			if x.Errors == nil {
				x.Errors = []string{}
			}
			// A script error can be reported after its item ended (a script timeout): merge it into the item.
			if i, ok := byRef[x.Ref]; ok && x.Ref != "" {
				prev := &s.Executions[i]
				prev.Errors = append(prev.Errors, x.Errors...)
				prev.Assertions = append(prev.Assertions, x.Assertions...)
				continue
			}
			executed++
			if len(s.Executions) < MaxExecutions {
				byRef[x.Ref] = len(s.Executions)
				s.Executions = append(s.Executions, x)
			} else {
				s.Dropped++
			}
			on(Event{Kind: EventExecuted, Done: executed, Execution: &x})
		case "done":
			var d struct {
				Stats              Stats
				Started, Completed int64
				Failures           int
				Error              string
			}
			if json.Unmarshal(line, &d) == nil {
				s.Stats, s.Failures, s.Error = d.Stats, d.Failures, d.Error
				s.Started, s.Completed = time.UnixMilli(d.Started), time.UnixMilli(d.Completed)
				s.done = true
			}
		case "fatal":
			var f struct{ Message string }
			_ = json.Unmarshal(line, &f)
			fatal = f.Message
		}
	}
	return s, fatal, sc.Err()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
