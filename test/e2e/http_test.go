package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/app"
	"github.com/pmops/pmops/internal/clock"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/mcpserver"
	"github.com/pmops/pmops/internal/tools"
)

var (
	mcpURLLine      = regexp.MustCompile(`url=(http://\S+/mcp)`)
	emulatorURLLine = regexp.MustCompile(`(?m)^(http://127\.0\.0\.1:\d+)$`)
)

// startMCPHTTP starts `mcp -http 127.0.0.1:0` with extra flags and environment and returns its /mcp URL once
// /healthz answers.
func startMCPHTTP(t *testing.T, env []string, flags ...string) (*daemon, string) {
	t.Helper()
	argv := append([]string{mcpBin}, flags...)
	argv = append(argv, "-http", "127.0.0.1:0")
	d := startDaemon(t, "mcp -http", env, argv...)
	url := d.waitFor(t, mcpURLLine, 20*time.Second)
	healthz := strings.TrimSuffix(url, "/mcp") + "/healthz"
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(healthz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200: %v", healthz, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startEmulator starts the standalone Postman emulator with the demo seed (keys PMAK-demo and
// PMAK-demo-teammate among others) and returns its base URL.
func startEmulator(t *testing.T, flags ...string) string {
	t.Helper()
	argv := append([]string{emulatorBin, "-addr", "127.0.0.1:0", "-seed", "demo", "-log-level", "warn"}, flags...)
	d := startDaemon(t, "postman-emulator", cleanEnv(), argv...)
	return d.waitFor(t, emulatorURLLine, 20*time.Second)
}

// TestConformanceSuite runs the MCP conformance suite (server mode, Streamable HTTP) against `mcp -demo -http`.
// The suite's other scenarios call fixture tools and prompts (test_simple_text, …) that only a purpose-built
// server has, or features pmops does not offer (resources, completions); they are logged, not asserted.
func TestConformanceSuite(t *testing.T) {
	t.Parallel()
	conformance := npmTool(t, "CONFORMANCE")
	// Every toolset, so the monitor triage prompt (which follows its tools) is offered for prompts-list.
	_, url := startMCPHTTP(t, cleanEnv(), "-demo", "-toolsets", "all")
	outDir := t.TempDir()
	res := runCommand(t, 90*time.Second, t.TempDir(), cleanEnv(), conformance, "server", "--url", url, "-o", outDir)

	summary := parseConformanceSummary(res.stdout)
	if len(summary) == 0 {
		t.Fatalf("no === SUMMARY === in conformance output (exit %d)\nstdout:\n%s\nstderr:\n%s", res.exitCode, tail(res.stdout), tail(res.stderr))
	}
	required := []string{
		"server-initialize", "ping", "tools-list",
		"logging-set-level", // pmops advertises logging
		"prompts-list",      // and prompts
		"resources-list",    // and a resource template (postman://collections/{collection})
		"dns-rebinding-protection",
		"server-sse-multiple-streams",
	}
	for _, scenario := range required {
		checks, err := readConformanceChecks(outDir, scenario)
		if err != nil {
			t.Errorf("scenario %s: %v", scenario, err)
			continue
		}
		for _, c := range checks {
			switch c.Status {
			case "SUCCESS", "INFO":
			case "WARNING":
				t.Logf("scenario %s: check %s warns: %s", scenario, c.ID, c.ErrorMessage)
			default:
				t.Errorf("scenario %s: check %s (%s) is %s: %s", scenario, c.ID, c.Description, c.Status, c.ErrorMessage)
			}
		}
		if s, ok := summary[scenario]; !ok || !s.ok {
			t.Errorf("scenario %s: summary line %q, want ✓", scenario, s.line)
		}
	}
	var others []string
	for name, s := range summary {
		if !slices.Contains(required, name) {
			others = append(others, s.line)
		}
	}
	slices.Sort(others)
	t.Logf("scenarios not asserted (fixture-based or unsupported features):\n%s", strings.Join(others, "\n"))
}

type summaryLine struct {
	ok   bool
	line string
}

// parseConformanceSummary reads the "✓ name: 1 passed, 0 failed" lines after "=== SUMMARY ===".
func parseConformanceSummary(stdout string) map[string]summaryLine {
	_, after, ok := strings.Cut(stdout, "=== SUMMARY ===")
	if !ok {
		return nil
	}
	out := map[string]summaryLine{}
	for _, line := range strings.Split(after, "\n") {
		line = strings.TrimSpace(line)
		var pass bool
		switch {
		case strings.HasPrefix(line, "✓ "):
			pass = true
		case strings.HasPrefix(line, "✗ "):
		default:
			continue
		}
		name, _, ok := strings.Cut(line[len("✓ "):], ":")
		if ok {
			out[strings.TrimSpace(name)] = summaryLine{ok: pass, line: line}
		}
	}
	return out
}

type conformanceCheck struct {
	ID           string `json:"id"`
	Description  string `json:"description"`
	Status       string `json:"status"`
	ErrorMessage string `json:"errorMessage"`
}

// readConformanceChecks reads outDir/server-<scenario>-<timestamp>/checks.json.
func readConformanceChecks(outDir, scenario string) ([]conformanceCheck, error) {
	dirs, err := filepath.Glob(filepath.Join(outDir, "server-"+scenario+"-2*"))
	if err != nil || len(dirs) != 1 {
		return nil, &os.PathError{Op: "find results", Path: filepath.Join(outDir, "server-"+scenario+"-*"), Err: os.ErrNotExist}
	}
	b, err := os.ReadFile(filepath.Join(dirs[0], "checks.json"))
	if err != nil {
		return nil, err
	}
	var checks []conformanceCheck
	if err := json.Unmarshal(b, &checks); err != nil {
		return nil, err
	}
	if len(checks) == 0 {
		return nil, os.ErrNotExist
	}
	return checks, nil
}

// TestHTTPBearerKeySelectsUser serves MCP over HTTP without a configured key, in front of the standalone emulator,
// and checks that each request acts as the user whose key it carries.
func TestHTTPBearerKeySelectsUser(t *testing.T) {
	t.Parallel()
	base := startEmulator(t)
	mcpd, url := startMCPHTTP(t, cleanEnv("POSTMAN_API_BASE_URL="+base))
	keys := []string{emulator.DemoKey, emulator.DemoTeammateKey}

	cases := []struct {
		name     string
		header   map[string]string
		protocol string
		wantUser string
	}{
		{"bearer primary", map[string]string{"Authorization": "Bearer " + emulator.DemoKey}, mcp.LATEST_PROTOCOL_VERSION, "dana-okafor"},
		{"bearer teammate", map[string]string{"Authorization": "Bearer " + emulator.DemoTeammateKey}, mcp.LATEST_PROTOCOL_VERSION, "sam-reyes"},
		{"bearer teammate 2025-11-25", map[string]string{"Authorization": "Bearer " + emulator.DemoTeammateKey}, "2025-11-25", "sam-reyes"},
		{"x-api-key primary", map[string]string{"X-Api-Key": emulator.DemoKey}, "2025-11-25", "dana-okafor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := httpCallTool(t, url, tc.header, tc.protocol, "get_account")
			text := resultText(res)
			assertNoLeak(t, tc.name, keys, text)
			if res.IsError {
				t.Fatalf("get_account returned isError: %s", text)
			}
			sc, _ := json.Marshal(res.StructuredContent)
			var acct struct {
				Username string `json:"username"`
			}
			if err := json.Unmarshal(sc, &acct); err != nil || acct.Username != tc.wantUser {
				t.Errorf("get_account answered as %q (%v), want %q; structuredContent %s", acct.Username, err, tc.wantUser, sc)
			}
		})
	}
	assertNoLeak(t, "mcp -http logs", keys, mcpd.stderr.String(), mcpd.stdout.String())
}

// TestHTTPLimits checks the bounds of `mcp -http` from outside, on the built binary with small limits.
func TestHTTPLimits(t *testing.T) {
	t.Parallel()
	base := startEmulator(t)
	mcpd, url := startMCPHTTP(t, cleanEnv("POSTMAN_API_BASE_URL="+base), "-max-sessions", "2", "-max-body-bytes", "2048")
	const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}`
	post := func(header map[string]string, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	key := map[string]string{"Authorization": "Bearer " + emulator.DemoKey}

	resp, body := post(nil, initialize)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") ||
		!strings.Contains(body, "Authorization: Bearer") {
		t.Errorf("keyless initialize: %d, WWW-Authenticate %q, body %s; want 401 with a Bearer challenge and a hint", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	if resp, _ := post(key, strings.Repeat(" ", 4096)+initialize); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("body over -max-body-bytes: %d, want 413", resp.StatusCode)
	}
	if resp, _ := post(map[string]string{"Authorization": key["Authorization"], "Origin": "http://evil.example"}, initialize); resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Origin: %d, want 403", resp.StatusCode)
	}
	for i := range 2 {
		if resp, body := post(map[string]string{"Authorization": key["Authorization"], "Origin": "http://localhost:6274"}, initialize); resp.StatusCode != http.StatusOK {
			t.Fatalf("initialize %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body = post(key, initialize)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("initialize over -max-sessions: %d, Retry-After %q, %s; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	assertNoLeak(t, "mcp -http logs", []string{emulator.DemoKey}, mcpd.stderr.String(), mcpd.stdout.String())
}

func httpCallTool(t *testing.T, url string, header map[string]string, protocol, tool string) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var opts []transport.StreamableHTTPCOption
	if header != nil {
		opts = append(opts, transport.WithHTTPHeaders(header))
	}
	c, err := client.NewStreamableHttpClient(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("start client: %v", err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = protocol
	init.Params.ClientInfo = mcp.Implementation{Name: "pmops-e2e", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize (%s): %v", protocol, err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("call %s: %v", tool, err)
	}
	return res
}

func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := mcp.AsTextContent(c); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// TestJunkKeysCannotStealARealKeysBudget runs the production wiring in process (app.Backend's key registry behind
// mcpserver's bounded HTTP front, over the emulator with a 1 s window of 20 requests): one real key keeps calling
// tools while 1,000 junk keys open sessions, call a tool (the emulator answers 401) and then end or abandon their
// sessions. The registry holds only 16 keys, so it evicts constantly; the real key must keep its one client and
// gate (its session pins it) and see no 429.
func TestJunkKeysCannotStealARealKeysBudget(t *testing.T) {
	emu := emulator.New(emulator.Options{Seed: emulator.SeedDemo, Window: time.Second, PerWindow: 20,
		RouteWindow: time.Second, RoutePerWindow: 10})
	emuSrv := httptest.NewServer(emu)
	defer func() { emuSrv.Close(); _ = emu.Close() }()

	var madeMu sync.Mutex
	made := map[string]int{}
	backend, err := app.Open(app.Config{BaseURL: emuSrv.URL, MaxKeys: 16, NewClient: func(c api.Config) (*api.Client, error) {
		madeMu.Lock()
		made[c.APIKey]++
		madeMu.Unlock()
		return api.New(c)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	s, err := mcpserver.New(mcpserver.Options{Env: func(ctx context.Context) (*tools.Env, error) {
		return backend.Env(mcpserver.KeyFromContext(ctx))
	}})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Now())
	h, err := mcpserver.NewHTTP(s, mcpserver.HTTPOptions{Keys: backend, MaxSessions: 5000, SessionTTL: 10 * time.Minute, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	srv := httptest.NewUnstartedServer(h)
	srv.Config = mcpserver.NewHTTPServer(h, nil)
	srv.Start()
	defer srv.Close()
	url := srv.URL + "/mcp"

	// The real client: one session, four callers.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	real, err := client.NewStreamableHttpClient(url, transport.WithContinuousListening(),
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + emulator.DemoKey}))
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	if err := real.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-11-25"
	init.Params.ClientInfo = mcp.Implementation{Name: "real", Version: "1"}
	if _, err := real.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	// The client opens its listening stream after initialize returns; until it is open the session is idle, and
	// the fake clock below would end it at the first sweep.
	for deadline := time.Now().Add(10 * time.Second); h.SessionsInUse() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the real client's listening stream never opened")
		}
		time.Sleep(5 * time.Millisecond)
	}

	junkDone := make(chan struct{})
	loadStart := time.Now()
	var realCalls, realErrors atomic.Int64
	var firstRealError atomic.Value
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-junkDone:
					return
				default:
				}
				req := mcp.CallToolRequest{}
				req.Params.Name = "list_environments"
				if (i+n)%2 == 0 {
					req.Params.Name = "get_account"
				}
				res, err := real.CallTool(ctx, req)
				realCalls.Add(1)
				if err != nil || res.IsError {
					realErrors.Add(1)
					if err == nil {
						err = errors.New(resultText(res))
					}
					firstRealError.CompareAndSwap(nil, err.Error())
					return
				}
			}
		}()
	}
	// Idle junk sessions age on the fake clock: a minute a tick, so abandoned ones end after ten ticks (about
	// 200 ms). The real session has its listening stream open, as real clients do, so it is never idle.
	stopAging := make(chan struct{})
	agingDone := make(chan struct{})
	go func() {
		defer close(agingDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopAging:
				return
			case <-tick.C:
				clk.Advance(time.Minute)
				h.Sweep()
			}
		}
	}()

	var junkStatus sync.Map // status code → *atomic.Int64
	count := func(code int) {
		v, _ := junkStatus.LoadOrStore(code, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	keys := make(chan int)
	var junkWG sync.WaitGroup
	for range 8 {
		junkWG.Add(1)
		go func() {
			defer junkWG.Done()
			for i := range keys {
				count(junkSession(t, url, fmt.Sprintf("PMAK-junk-%04d", i), i%2 == 0))
			}
		}()
	}
	for i := range 1000 {
		keys <- i
		// Age sessions from this loop too, not only from the ticker: on a loaded machine the ticker falls
		// behind the junk senders, the registry fills with live junk sessions and refuses instead of evicting.
		if i%8 == 7 {
			clk.Advance(11 * time.Minute)
			h.Sweep()
		}
	}
	close(keys)
	junkWG.Wait()
	// Keep the real key under load for at least three of the emulator's windows.
	time.Sleep(time.Until(loadStart.Add(3 * time.Second)))
	close(junkDone)
	wg.Wait()
	close(stopAging)
	<-agingDone

	st := emu.Stats(emulator.DemoKey)
	stats := backend.Stats()
	var codes []string
	junkStatus.Range(func(k, v any) bool {
		codes = append(codes, fmt.Sprintf("%d×%d", v.(*atomic.Int64).Load(), k))
		return true
	})
	t.Logf("real key: %d tool calls, emulator admitted %d, 429s %d; junk outcomes %v; registry %+v",
		realCalls.Load(), st.Admitted, st.RateLimited, codes, stats)
	if st.RateLimited != 0 {
		t.Errorf("the real key drew %d × 429", st.RateLimited)
	}
	if n := realErrors.Load(); n != 0 {
		t.Errorf("%d of the real key's %d calls failed; first: %v", n, realCalls.Load(), firstRealError.Load())
	}
	madeMu.Lock()
	if n := made[emulator.DemoKey]; n != 1 {
		t.Errorf("the registry built %d clients (gates) for the real key, want exactly 1", n)
	}
	madeMu.Unlock()
	if stats.Evicted < 100 {
		t.Errorf("only %d evictions: the junk keys did not churn the registry, so the test proves little", stats.Evicted)
	}
	if st.Admitted < 20 {
		t.Errorf("the real key was not under load: %d requests admitted", st.Admitted)
	}
}

// junkSession initializes with key, calls a tool, and ends the session (or abandons it); it returns the first
// status that was not 200 (503 when the registry or session table is full), else 200.
func junkSession(t *testing.T, url, key string, end bool) int {
	post := func(sid, body string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if sid != "" {
			req.Header.Set("Mcp-Session-Id", sid)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		return http.DefaultClient.Do(req)
	}
	resp, err := post("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"junk","version":"1"}}}`)
	if err != nil {
		t.Error(err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode
	}
	sid := resp.Header.Get("Mcp-Session-Id")
	resp, err = post(sid, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_account","arguments":{}}}`)
	if err != nil {
		t.Error(err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode
	}
	if end {
		req, _ := http.NewRequest(http.MethodDelete, url, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Mcp-Session-Id", sid)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	return http.StatusOK
}
