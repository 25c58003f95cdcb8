package mcpproc

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/pmops/pmops/bench/mcpbench/internal/fakeserver"
)

const envMCPGo = "MCPPROC_TEST_MCPGO_SERVER"

func TestMain(m *testing.M) {
	fakeserver.MaybeRun()
	if os.Getenv(envMCPGo) != "" {
		runMCPGoServer()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMCPGoServer serves five tools with mcp-go, two per tools/list page.
func runMCPGoServer() {
	s := server.NewMCPServer("mcpgo-fake", "0", server.WithPaginationLimit(2), server.WithToolCapabilities(false))
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		s.AddTool(mcp.NewTool(name, mcp.WithDescription("tool "+name)),
			func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultText("called " + req.Params.Name), nil
			})
	}
	if err := server.ServeStdio(s); err != nil {
		os.Exit(2)
	}
}

func fakeSpec(childMB int) Spec {
	return Spec{Name: "fake", Command: []string{os.Args[0]}, Env: fakeserver.Env(childMB)}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestInitializeIsByteExactAndAnswersServerRequests(t *testing.T) {
	ctx := testContext(t)
	p, resp, took, err := StartAndInitialize(ctx, fakeSpec(0), ClientInfo{Name: "t", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := string(resp.Result); got != fakeserver.InitializeResult {
		t.Errorf("initialize result bytes:\n got %s\nwant %s", got, fakeserver.InitializeResult)
	}
	if !strings.Contains(string(resp.Line), `"id":1`) {
		t.Errorf("line %s is not the whole response message", resp.Line)
	}
	if took <= 0 || took < resp.Elapsed() {
		t.Errorf("spawn-to-initialize %v must be positive and include the round trip %v", took, resp.Elapsed())
	}
	if p.Notifications() != 1 {
		t.Errorf("notifications = %d, want 1", p.Notifications())
	}
}

func TestListToolsFollowsCursorAndSumsBytes(t *testing.T) {
	ctx := testContext(t)
	p, _, _, err := StartAndInitialize(ctx, fakeSpec(0), ClientInfo{Name: "t", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	list, err := p.ListTools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range list.Tools {
		names = append(names, tool.Name)
	}
	if got := strings.Join(names, ","); got != "echo,fail,slow" {
		t.Errorf("tools = %s", got)
	}
	if list.Pages != 2 {
		t.Errorf("pages = %d, want 2", list.Pages)
	}
	if want := len(fakeserver.ToolsPage1) + len(fakeserver.ToolsPage2); list.ResultBytes != want {
		t.Errorf("result bytes = %d, want %d", list.ResultBytes, want)
	}
	if list.MessageBytes <= list.ResultBytes {
		t.Errorf("message bytes %d must exceed result bytes %d", list.MessageBytes, list.ResultBytes)
	}
}

func TestListToolsAgainstMCPGoPagination(t *testing.T) {
	ctx := testContext(t)
	spec := Spec{Name: "mcpgo", Command: []string{os.Args[0]}, Env: []string{envMCPGo + "=1", fakeserver.NoRaceExitDelay}}
	p, resp, _, err := StartAndInitialize(ctx, spec, ClientInfo{Name: "t", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !strings.Contains(string(resp.Result), `"protocolVersion":"2025-11-25"`) {
		t.Errorf("initialize result %s: protocol version not negotiated to %s", resp.Result, DefaultProtocolVersion)
	}
	list, err := p.ListTools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tools) != 5 || list.Pages != 3 {
		t.Fatalf("got %d tools in %d pages, want 5 in 3", len(list.Tools), list.Pages)
	}
	res, err := p.CallTool(ctx, "c", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.IsError || res.Text() != "called c" {
		t.Errorf("call c = %+v", res)
	}
}

func TestCallTool(t *testing.T) {
	ctx := testContext(t)
	p, _, _, err := StartAndInitialize(ctx, fakeSpec(0), ClientInfo{Name: "t", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	tests := []struct {
		tool      string
		args      map[string]any
		wantText  string
		isError   bool
		wantRPC   bool
		errSubstr string
	}{
		{tool: "echo", args: map[string]any{"k": "v"}, wantText: `{"k":"v"}`},
		{tool: "echo", wantText: `{}`},
		{tool: "fail", wantText: "boom", isError: true},
		{tool: "nope", wantRPC: true, errSubstr: "-32602"},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			res, err := p.CallTool(ctx, tt.tool, tt.args)
			if tt.wantRPC {
				var rpcErr *RPCError
				if !errors.As(err, &rpcErr) || !strings.Contains(err.Error(), tt.errSubstr) {
					t.Fatalf("err = %v, want RPC error containing %s", err, tt.errSubstr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Text() != tt.wantText || res.IsError != tt.isError {
				t.Errorf("got text %q isError %v, want %q %v", res.Text(), res.IsError, tt.wantText, tt.isError)
			}
			if res.Response.Elapsed() <= 0 {
				t.Errorf("elapsed %v", res.Response.Elapsed())
			}
		})
	}
}

func TestNonProtocolStdoutIsAnError(t *testing.T) {
	ctx := testContext(t)
	p, _, _, err := StartAndInitialize(ctx, fakeSpec(0), ClientInfo{Name: "t", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = p.CallTool(ctx, "garbage", nil)
	if err == nil || !strings.Contains(err.Error(), "non-JSON-RPC line") {
		t.Fatalf("err = %v, want a non-JSON-RPC line error", err)
	}
}

func TestServerExitIsReportedWithStatus(t *testing.T) {
	ctx := testContext(t)
	p, _, _, err := StartAndInitialize(ctx, fakeSpec(0), ClientInfo{Name: "t", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, err = p.CallTool(ctx, "exit", nil)
	if err == nil || !strings.Contains(err.Error(), "exit status 7") {
		t.Fatalf("err = %v, want it to mention exit status 7", err)
	}
}

func TestStartFailures(t *testing.T) {
	if _, err := Start(Spec{}); err == nil {
		t.Error("empty command: want error")
	}
	if _, err := Start(Spec{Command: []string{"/nonexistent/mcp-server"}}); err == nil {
		t.Error("missing binary: want error")
	}
}

func TestPeakRSSCountsChildrenAndCloseKillsThem(t *testing.T) {
	ctx := testContext(t)
	const childMB = 24
	p, _, _, err := StartAndInitialize(ctx, fakeSpec(childMB), ClientInfo{Name: "t", Version: "1"})
	if err != nil {
		t.Fatal(err)
	}
	total, pids, err := p.PeakRSS()
	if err != nil {
		p.Close()
		t.Fatal(err)
	}
	if len(pids) != 2 || pids[0] != p.PID() {
		p.Close()
		t.Fatalf("counted pids %v, want the server %d and its child", pids, p.PID())
	}
	alone, _, err := TreePeakRSS("/proc", pids[1])
	if err != nil {
		p.Close()
		t.Fatal(err)
	}
	if alone < childMB<<20 || total <= alone {
		t.Errorf("tree peak %d, child alone %d: want child >= %d MiB and tree > child", total, alone, childMB)
	}
	child := pids[1]
	p.Close()
	// The child was in the server's process group, so Close must have
	// killed it; allow a moment for the reaper.
	deadline := time.Now().Add(5 * time.Second)
	for alive(child) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d still running after Close", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !strings.Contains(string(b), ") Z ")
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"A=1", "B=2"}, []string{"B=3", "C=4"})
	if strings.Join(got, ",") != "A=1,B=3,C=4" {
		t.Errorf("mergeEnv = %v", got)
	}
}
