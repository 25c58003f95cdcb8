package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/pmops/pmops/internal/emulator"
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
	_, url := startMCPHTTP(t, cleanEnv(), "-demo")
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
		{"no key", nil, "2025-11-25", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := httpCallTool(t, url, tc.header, tc.protocol, "get_account")
			text := resultText(res)
			assertNoLeak(t, tc.name, keys, text)
			if tc.wantUser == "" {
				if !res.IsError {
					t.Fatalf("without a key get_account should be an error result; got %s", text)
				}
				if !strings.Contains(text, "Authorization: Bearer") {
					t.Errorf("error should say how to send a key (Authorization: Bearer <key>):\n%s", text)
				}
				return
			}
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
