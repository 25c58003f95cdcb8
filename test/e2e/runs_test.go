package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pmops/pmops/bench/mcpbench/mcpproc"
	"github.com/pmops/pmops/internal/newman/newmantest"
)

// runServer is the mcp binary in demo mode with every toolset and real Newman, driven over stdio by mcp-go's
// client, with a local API for the collections' requests.
type runServer struct {
	c        *client.Client
	api      *httptest.Server
	release  chan struct{}
	blocked  chan struct{}
	mu       sync.Mutex
	progress []progressNote
}

type progressNote struct {
	token   any
	message string
}

func startRunServer(t *testing.T) *runServer {
	t.Helper()
	nm := newmantest.Path(t)
	s := &runServer{release: make(chan struct{}), blocked: make(chan struct{}, 16)}
	s.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			s.blocked <- struct{}{}
			select {
			case <-s.release:
			case <-r.Context().Done():
			}
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(func() {
		select {
		case <-s.release:
		default:
			close(s.release)
		}
		s.api.Close()
	})
	c, err := client.NewStdioMCPClient(mcpBin, cleanEnv(), "-demo", "-toolsets", "all", "-newman", nm, "-max-runs", "2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		if n.Method != "notifications/progress" {
			return
		}
		f := n.Params.AdditionalFields
		msg, _ := f["message"].(string)
		s.mu.Lock()
		s.progress = append(s.progress, progressNote{token: f["progressToken"], message: msg})
		s.mu.Unlock()
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Start wires the notification handler (NewStdioMCPClient starts only the transport).
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "e2e-runs", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	s.c = c
	return s
}

func (s *runServer) call(t *testing.T, name string, args map[string]any, token any) (map[string]any, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	if token != nil {
		req.Params.Meta = &mcp.Meta{ProgressToken: token}
	}
	res, err := s.c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var text string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if res.IsError {
		t.Fatalf("%s returned isError: %s", name, text)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var sc map[string]any
	_ = json.Unmarshal(b, &sc)
	return sc, text
}

func (s *runServer) collection(t *testing.T, name string, n int, path string) {
	t.Helper()
	var reqs []map[string]any
	for i := range n {
		reqs = append(reqs, map[string]any{"name": fmt.Sprintf("req %03d", i), "url": fmt.Sprintf("%s%s?i=%d", s.api.URL, path, i)})
	}
	s.call(t, "create_collection", map[string]any{"workspace": "Payments Platform", "name": name, "requests": reqs}, nil)
}

// newmanProcesses lists the node processes (Newman's driver) below this test process.
func newmanProcesses(t *testing.T) []string {
	t.Helper()
	_, pids, err := mcpproc.TreePeakRSS("/proc", osGetpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var out []string
	for _, pid := range pids {
		if cmd := procCmdline(pid); strings.Contains(cmd, "pmops-newman-") {
			out = append(out, fmt.Sprintf("%d %s", pid, cmd))
		}
	}
	return out
}

func TestRunCollectionOverMCP(t *testing.T) {
	s := startRunServer(t)
	s.collection(t, "E2E Run", 5, "/ok")

	t.Run("progress per request", func(t *testing.T) {
		sc, text := s.call(t, "run_collection", map[string]any{"collection": "E2E Run"}, "run-1")
		if sc["status"] != "passed" {
			b, _ := json.Marshal(sc)
			t.Fatalf("status %v: %s\n%s", sc["status"], text, b)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		n := 0
		for _, p := range s.progress {
			if p.token == "run-1" && strings.HasPrefix(p.message, "✓ req ") {
				n++
			}
		}
		// The last notification may race the result (mcp-go), so at least 4 of 5 must have arrived.
		if n < 4 {
			t.Errorf("%d per-request progress notifications, want 5: %+v", n, s.progress)
		}
	})

	t.Run("two runs of one collection at once", func(t *testing.T) {
		var wg sync.WaitGroup
		results := make([]any, 2)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc, _ := s.call(t, "run_collection", map[string]any{"collection": "E2E Run"}, nil)
				results[i] = sc["status"]
			}()
		}
		wg.Wait()
		if results[0] != "passed" || results[1] != "passed" {
			t.Errorf("statuses %v", results)
		}
	})

	t.Run("cancel leaves no Newman process", func(t *testing.T) {
		s.collection(t, "E2E Blocking", 1, "/block")
		sc, _ := s.call(t, "run_collection", map[string]any{"collection": "E2E Blocking", "async": true}, nil)
		handle, _ := sc["run"].(string)
		select {
		case <-s.blocked:
		case <-time.After(2 * time.Minute):
			t.Fatal("the blocking request never arrived")
		}
		if procs := newmanProcesses(t); len(procs) == 0 {
			t.Fatal("no Newman process while the run is blocked")
		}
		sc, text := s.call(t, "get_collection_run", map[string]any{"run": handle, "cancel": true}, nil)
		if sc["status"] != "cancelled" {
			t.Fatalf("after cancel: %s", text)
		}
		if procs := newmanProcesses(t); len(procs) != 0 {
			t.Errorf("Newman processes left after cancel: %v", procs)
		}
	})

	t.Run("500 requests", func(t *testing.T) {
		s.collection(t, "E2E 500", 500, "/ok")
		sc, text := s.call(t, "run_collection", map[string]any{"collection": "E2E 500"}, nil)
		totals, _ := sc["totals"].(map[string]any)
		if sc["status"] != "passed" || totals["requests"] != float64(500) {
			t.Errorf("500-request run: %s", text)
		}
		if len(text) > 2048 {
			t.Errorf("result text %d bytes", len(text))
		}
	})
}

func osGetpid() int { return os.Getpid() }

func procCmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
}
