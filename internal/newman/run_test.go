package newman

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/newman/newmantest"
)

// item is a request of a fixture collection with its test script lines.
func item(name, method, url string, tests ...string) map[string]any {
	it := map[string]any{"name": name, "request": map[string]any{"method": method, "url": url}}
	if len(tests) > 0 {
		it["event"] = []any{map[string]any{"listen": "test", "script": map[string]any{"exec": tests}}}
	}
	return it
}

func folder(name string, items ...map[string]any) map[string]any {
	list := make([]any, len(items))
	for i, it := range items {
		list[i] = it
	}
	return map[string]any{"name": name, "item": list}
}

func collection(items ...map[string]any) json.RawMessage {
	list := make([]any, len(items))
	for i, it := range items {
		list[i] = it
	}
	b, _ := json.Marshal(map[string]any{
		"info": map[string]any{"name": "fixture", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
		"item": list,
	})
	return b
}

const status200 = "pm.test('status is 200', () => pm.response.to.have.status(200));"

// fixtureServer answers /ok with 200, /fail with 500, /slow after ?ms= milliseconds (or when the test closes
// release), and /echo with the query string; it counts requests per path.
type fixtureServer struct {
	*httptest.Server
	mu      sync.Mutex
	hits    map[string]int
	queries []string
	release chan struct{}
	arrived chan string
}

func newServer(t *testing.T) *fixtureServer {
	s := &fixtureServer{hits: map[string]int{}, release: make(chan struct{}), arrived: make(chan string, 1024)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.queries = append(s.queries, r.URL.RawQuery)
		s.mu.Unlock()
		select {
		case s.arrived <- r.URL.Path:
		default:
		}
		switch r.URL.Path {
		case "/fail":
			w.WriteHeader(500)
		case "/slow":
			d, _ := time.ParseDuration(r.URL.Query().Get("d"))
			select {
			case <-time.After(d):
			case <-s.release:
			case <-r.Context().Done():
			}
		case "/block":
			select {
			case <-s.release:
			case <-r.Context().Done():
			}
		}
		fmt.Fprintf(w, `{"path":%q,"query":%q}`, r.URL.Path, r.URL.RawQuery)
	}))
	t.Cleanup(func() {
		s.Release()
		s.Close()
	})
	return s
}

var releaseOnce sync.Map

func (s *fixtureServer) Release() {
	if _, loaded := releaseOnce.LoadOrStore(s, true); !loaded {
		close(s.release)
	}
}

func (s *fixtureServer) hitCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func newRunner(t *testing.T, opts Options) *Runner {
	t.Helper()
	opts.Path = newmantest.Path(t)
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	r := NewRunner(opts)
	if err := r.Available(); err != nil {
		t.Fatal(err)
	}
	return r
}

func run(t *testing.T, r *Runner, job Job) (*Summary, []Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var events []Event
	sum, err := r.Run(ctx, job, func(e Event) { mu.Lock(); events = append(events, e); mu.Unlock() })
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return sum, events
}

func failedNames(sum *Summary) []string {
	var out []string
	for _, x := range sum.Executions {
		if x.Failed() {
			out = append(out, x.Name)
		}
	}
	return out
}

func TestRunPassAndFail(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	r := newRunner(t, Options{})
	col := collection(
		item("ok", "GET", srv.URL+"/ok", status200),
		item("fails", "GET", srv.URL+"/fail", status200),
		item("posts", "POST", srv.URL+"/ok", status200, "pm.test('has path', () => pm.expect(pm.response.json().path).to.eql('/ok'));"),
	)
	sum, events := run(t, r, Job{Collection: col})
	if sum.Version != PinnedVersion {
		t.Errorf("version %q, want %s", sum.Version, PinnedVersion)
	}
	if got := len(sum.Executions); got != 3 {
		t.Fatalf("%d executions, want 3", got)
	}
	if sum.Stats.Assertions.Total != 4 || sum.Stats.Assertions.Failed != 1 || sum.Stats.Requests.Total != 3 {
		t.Errorf("stats %+v", sum.Stats)
	}
	if got := failedNames(sum); len(got) != 1 || got[0] != "fails" {
		t.Errorf("failed %v, want [fails]", got)
	}
	fx := sum.Executions[1]
	if fx.Code != 500 || fx.Method != "GET" || !strings.HasSuffix(fx.URL, "/fail") || fx.Assertions[0].Error == "" {
		t.Errorf("failing execution %+v", fx)
	}
	if sum.Error != "" {
		t.Errorf("run error %q", sum.Error)
	}
	var started, executed int
	for _, e := range events {
		switch e.Kind {
		case EventStarted:
			started++
			if e.Total != 3 {
				t.Errorf("start total %d, want 3", e.Total)
			}
		case EventExecuted:
			executed++
			if e.Done != executed || e.Execution == nil {
				t.Errorf("event %d: done %d", executed, e.Done)
			}
		}
	}
	if started != 1 || executed != 3 {
		t.Errorf("%d start and %d executed events, want 1 and 3", started, executed)
	}
}

func TestBail(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	r := newRunner(t, Options{MaxRuns: 4})
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close() // a port nothing listens on: a request error

	assertionFirst := collection(
		item("a", "GET", srv.URL+"/fail", status200),
		item("b", "GET", srv.URL+"/ok?b", status200),
		item("c", "GET", srv.URL+"/ok?c", status200),
	)
	errorFirst := collection(
		item("a", "GET", closedURL+"/x", status200),
		item("b", "GET", srv.URL+"/ok?b", status200),
	)
	for _, tc := range []struct {
		name string
		col  json.RawMessage
		bail string
		want int // executions
	}{
		{"no bail runs every request", assertionFirst, "", 3},
		{"failure stops at a failing assertion", assertionFirst, BailFailure, 1},
		{"folder ignores failing assertions", assertionFirst, BailFolder, 3},
		{"failure stops at a request error", errorFirst, BailFailure, 1},
		{"folder stops at a request error", errorFirst, BailFolder, 1},
		{"no bail continues after a request error", errorFirst, "", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum, _ := run(t, r, Job{Collection: tc.col, Bail: tc.bail})
			if got := len(sum.Executions); got != tc.want {
				t.Errorf("%d executions, want %d: %+v", got, tc.want, sum.Executions)
			}
			if len(sum.Executions) > 0 && !sum.Executions[0].Failed() {
				t.Errorf("first execution did not fail: %+v", sum.Executions[0])
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	r := newRunner(t, Options{MaxRuns: 3})
	t.Run("request timeout", func(t *testing.T) {
		t.Parallel()
		sum, _ := run(t, r, Job{RequestTimeout: 300 * time.Millisecond,
			Collection: collection(item("slow", "GET", srv.URL+"/slow?d=30s", status200), item("ok", "GET", srv.URL+"/ok", status200))})
		if len(sum.Executions) != 2 {
			t.Fatalf("%d executions, want 2", len(sum.Executions))
		}
		if x := sum.Executions[0]; len(x.Errors) == 0 || !strings.Contains(strings.ToUpper(strings.Join(x.Errors, " ")), "TIMEDOUT") {
			t.Errorf("slow request errors %v, want a timeout", x.Errors)
		}
		if sum.Executions[1].Failed() {
			t.Errorf("second request failed: %+v", sum.Executions[1])
		}
	})
	t.Run("overall timeout", func(t *testing.T) {
		t.Parallel()
		sum, _ := run(t, r, Job{Timeout: 500 * time.Millisecond,
			Collection: collection(item("slow", "GET", srv.URL+"/slow?d=30s", status200), item("never", "GET", srv.URL+"/never", status200))})
		if sum.Error == "" || !strings.Contains(sum.Error, "timed out") {
			t.Errorf("run error %q, want a timeout", sum.Error)
		}
		if srv.hitCount("/never") != 0 {
			t.Error("the request after the timeout was sent")
		}
	})
	t.Run("script timeout", func(t *testing.T) {
		t.Parallel()
		sum, _ := run(t, r, Job{ScriptTimeout: 300 * time.Millisecond,
			Collection: collection(item("loops", "GET", srv.URL+"/ok?loop", "const end = Date.now() + 60000; while (Date.now() < end) {}"))})
		if len(sum.Executions) != 1 || len(sum.Executions[0].Errors) == 0 {
			t.Errorf("executions %+v, want one with a script timeout error", sum.Executions)
		}
	})
}

func TestDelayIterationsDataFolders(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	r := newRunner(t, Options{MaxRuns: 4})
	t.Run("data rows drive iterations", func(t *testing.T) {
		col := collection(item("echo", "GET", srv.URL+"/echo?v={{v}}", "pm.test('v echoed', () => pm.expect(pm.response.json().query).to.eql('v=' + pm.iterationData.get('v')));"))
		sum, _ := run(t, r, Job{Collection: col, Data: json.RawMessage(`[{"v":"one"},{"v":"two"},{"v":"three"}]`)})
		if sum.Stats.Iterations.Total != 3 || len(sum.Executions) != 3 || len(failedNames(sum)) != 0 {
			t.Errorf("iterations %d, executions %d, failed %v", sum.Stats.Iterations.Total, len(sum.Executions), failedNames(sum))
		}
		for i, x := range sum.Executions {
			if x.Iteration != i {
				t.Errorf("execution %d has iteration %d", i, x.Iteration)
			}
		}
	})
	t.Run("iteration count", func(t *testing.T) {
		col := collection(item("it", "GET", srv.URL+"/echo?it", status200))
		sum, events := run(t, r, Job{Collection: col, Iterations: 4})
		if len(sum.Executions) != 4 || sum.Stats.Iterations.Total != 4 {
			t.Errorf("%d executions, %d iterations, want 4", len(sum.Executions), sum.Stats.Iterations.Total)
		}
		if events[0].Kind != EventStarted || events[0].Total != 4 {
			t.Errorf("first event %+v, want start with total 4", events[0])
		}
	})
	t.Run("folders", func(t *testing.T) {
		col := collection(
			folder("A", item("a1", "GET", srv.URL+"/echo?a1", status200)),
			folder("B", item("b1", "GET", srv.URL+"/echo?b1", status200), item("b2", "GET", srv.URL+"/echo?b2", status200)),
			folder("C", item("c1", "GET", srv.URL+"/echo?c1", status200)),
		)
		sum, _ := run(t, r, Job{Collection: col, Folders: []string{"C", "B"}})
		var names []string
		for _, x := range sum.Executions {
			names = append(names, x.Name)
		}
		if got := strings.Join(names, ","); got != "c1,b1,b2" && got != "b1,b2,c1" {
			t.Errorf("ran %s, want folders B and C only", got)
		}
	})
	t.Run("delay between requests", func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Time
		rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
		}))
		defer rec.Close()
		col := collection(item("d1", "GET", rec.URL+"/1"), item("d2", "GET", rec.URL+"/2"))
		run(t, r, Job{Collection: col, Delay: 400 * time.Millisecond})
		mu.Lock()
		defer mu.Unlock()
		// A lower bound only: the delay guarantees at least this gap whatever the machine's load.
		if len(at) != 2 || at[1].Sub(at[0]) < 400*time.Millisecond {
			t.Errorf("requests at %v, want 2 at least 400ms apart", at)
		}
	})
	t.Run("environment and globals files", func(t *testing.T) {
		col := collection(item("vars", "GET", srv.URL+"/echo?e={{e}}&g={{g}}",
			"pm.test('vars', () => pm.expect(pm.response.json().query).to.eql('e=env-value&g=global-value'));"))
		env := json.RawMessage(`{"name":"E","values":[{"key":"e","value":"env-value","enabled":true}]}`)
		glob := json.RawMessage(`{"values":[{"key":"g","value":"global-value","enabled":true}]}`)
		sum, _ := run(t, r, Job{Collection: col, Environment: env, Globals: glob})
		if len(failedNames(sum)) != 0 {
			t.Errorf("failed: %+v", sum.Executions)
		}
	})
}

// TestManyRequests runs a 500-request collection.
func TestManyRequests(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	r := newRunner(t, Options{})
	items := make([]map[string]any, 500)
	for i := range items {
		items[i] = item(fmt.Sprintf("r%03d", i), "GET", fmt.Sprintf("%s/echo?i=%d", srv.URL, i), status200)
	}
	sum, events := run(t, r, Job{Collection: collection(items...)})
	if len(sum.Executions) != 500 || sum.Stats.Assertions.Total != 500 || sum.Stats.Assertions.Failed != 0 {
		t.Errorf("%d executions, assertions %+v", len(sum.Executions), sum.Stats.Assertions)
	}
	if n := len(events); n != 501 {
		t.Errorf("%d events, want 1 start + 500 executed", n)
	}
}

// TestCancelKillsProcessGroup cancels a run blocked on a request and checks nothing of its process group is
// left and its private directory is gone.
func TestCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	r := newRunner(t, Options{})
	type child struct {
		pid int
		dir string
	}
	started := make(chan child, 1)
	r.onStart = func(pid int, dir string) { started <- child{pid, dir} }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := r.Run(ctx, Job{Collection: collection(item("blocks", "GET", srv.URL+"/block"))}, nil)
		errc <- err
	}()
	c := <-started
	waitFor(t, srv.arrived, "/block")
	if err := syscall.Kill(-c.pid, 0); err != nil {
		t.Fatalf("process group %d not running: %v", c.pid, err)
	}
	cancel()
	err := <-errc
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want cancelled", err)
	}
	if err := syscall.Kill(-c.pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still exists after cancel (kill 0: %v)", c.pid, err)
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("private directory %s left behind (%v)", c.dir, err)
	}
}

func waitFor(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
		case <-timeout:
			t.Fatalf("no request to %s", want)
		}
	}
}

// TestChildSeesNoSecrets runs Newman while the parent has a Postman key in its environment and checks the
// child's argv, environment and files: only the run's own documents, mode 0600 in a 0700 directory.
func TestChildSeesNoSecrets(t *testing.T) {
	const canary = "PMAK-canary-0123456789abcdef"
	t.Setenv("POSTMAN_API_KEY", canary)
	t.Setenv("PMOPS_SLACK_TOKEN", canary)
	srv := newServer(t)
	r := newRunner(t, Options{})
	type child struct {
		pid int
		dir string
	}
	started := make(chan child, 1)
	r.onStart = func(pid int, dir string) { started <- child{pid, dir} }
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(context.Background(), Job{Collection: collection(item("blocks", "GET", srv.URL+"/block")),
			Environment: json.RawMessage(`{"values":[{"key":"k","value":"v","enabled":true}]}`)}, nil)
		done <- err
	}()
	c := <-started
	waitFor(t, srv.arrived, "/block")
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c.pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", c.pid))
	if err != nil {
		t.Fatal(err)
	}
	argv := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(argv) != 3 || !strings.HasPrefix(argv[1], c.dir) || !strings.HasPrefix(argv[2], c.dir) {
		t.Errorf("argv %q, want node, the driver and its options file", argv)
	}
	for _, kv := range strings.Split(string(environ), "\x00") {
		if strings.Contains(kv, canary) || strings.HasPrefix(kv, "POSTMAN_") || strings.HasPrefix(kv, "PMOPS_") {
			t.Errorf("child environment has %q", kv)
		}
	}
	if bytes.Contains(cmdline, []byte(canary)) {
		t.Error("the key is on the child's command line")
	}
	st, err := os.Stat(c.dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("private dir mode %v (%v), want 0700", st.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(c.dir)
	var names []string
	for _, e := range entries {
		info, _ := e.Info()
		if info.Mode().IsRegular() {
			names = append(names, e.Name())
			if info.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", e.Name(), info.Mode().Perm())
			}
			b, _ := os.ReadFile(filepath.Join(c.dir, e.Name()))
			if bytes.Contains(b, []byte(canary)) {
				t.Errorf("%s holds the key", e.Name())
			}
		}
	}
	if len(names) < 4 {
		t.Errorf("files %v, want driver, options, collection and environment", names)
	}
	srv.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("private directory left behind")
	}
}

// TestQueue runs two runs with one slot: the second waits, reports its place, and runs after the first.
func TestQueue(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	r := newRunner(t, Options{MaxRuns: 1, MaxQueue: 1})
	col := Job{Collection: collection(item("blocks", "GET", srv.URL+"/block"))}
	var running atomic.Int32
	r.onStart = func(int, string) { running.Add(1) }
	first := make(chan error, 1)
	go func() { _, err := r.Run(context.Background(), col, nil); first <- err }()
	waitFor(t, srv.arrived, "/block")
	queued := make(chan Event, 1)
	second := make(chan error, 1)
	go func() {
		_, err := r.Run(context.Background(), col, func(e Event) {
			if e.Kind == EventQueued {
				queued <- e
			}
		})
		second <- err
	}()
	e := <-queued
	if e.Position != 1 {
		t.Errorf("queue position %d, want 1", e.Position)
	}
	if n := running.Load(); n != 1 {
		t.Errorf("%d runs started while one slot is taken", n)
	}
	// The queue holds one: a third is refused.
	if _, err := r.Run(context.Background(), col, nil); !errors.Is(err, ErrQueueFull) {
		t.Errorf("third run: %v, want ErrQueueFull", err)
	}
	srv.Release()
	for _, ch := range []chan error{first, second} {
		if err := <-ch; err != nil {
			t.Error(err)
		}
	}
	if n := running.Load(); n != 2 {
		t.Errorf("%d runs started, want 2", n)
	}
}

func TestNotInstalled(t *testing.T) {
	t.Parallel()
	r := NewRunner(Options{Path: filepath.Join(t.TempDir(), "no-newman")})
	err := r.Available()
	if !IsNotInstalled(err) || !strings.Contains(err.Error(), "npm install -g newman@"+PinnedVersion) {
		t.Fatalf("Available: %v", err)
	}
	if _, err := r.Run(context.Background(), Job{}, nil); !IsNotInstalled(err) {
		t.Errorf("Run: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"not-newman"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Locate(dir); !IsNotInstalled(err) || !strings.Contains(err.Error(), "not inside a newman npm package") {
		t.Errorf("Locate(other package): %v", err)
	}
}
