package compare

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunSmoke runs the whole comparison once with tiny counts: real binaries, the standalone emulator and the
// official server. It checks the shape of what was measured, never the timings.
func TestRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and starts the official Node server")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	peerJS := os.Getenv("PEER_MCP_JS")
	if peerJS == "" {
		peerJS = filepath.Join(root, ".cache/npm/peer/node_modules/@postman/postman-mcp-server/dist/src/index.js")
	}
	node, nodeErr := exec.LookPath("node")
	if _, err := os.Stat(peerJS); err != nil || nodeErr != nil {
		msg := "official MCP server or node missing: run scripts/npm-tools.sh"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The build under test doubles as its own baseline: the rows must come out, not differ.
	mcpBin := filepath.Join(t.TempDir(), "mcp")
	build := exec.CommandContext(ctx, "go", "build", "-o", mcpBin, "./cmd/mcp")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/mcp: %v\n%s", err, out)
	}
	rep, err := Run(ctx, Config{RepoRoot: root, MCPBin: mcpBin, Baselines: []Baseline{{Name: "same", Bin: mcpBin}},
		PeerJS: peerJS, PeerVersion: "test", Node: node,
		Runs: 2, PeerRuns: 1, OverheadRuns: 5, Generate: 600, Timeout: time.Minute, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Baselines) != 2 || rep.Baselines[0].Name != "same" || rep.Baselines[1].Name != "same -demo" {
		t.Fatalf("baseline rows: %+v", rep.Baselines)
	}
	for _, b := range rep.Baselines {
		if len(b.InitTimes) != 2 || b.Tools != rep.Ours.Tools {
			t.Errorf("%s: %d runs, %d tools (pmops %d)", b.Name, len(b.InitTimes), b.Tools, rep.Ours.Tools)
		}
	}
	if rep.Ours.Tools == 0 || rep.Peer.Tools == 0 || rep.PeerFull.Tools <= rep.Peer.Tools {
		t.Errorf("tool counts: pmops %d, peer %d, peer --full %d", rep.Ours.Tools, rep.Peer.Tools, rep.PeerFull.Tools)
	}
	if len(rep.Ours.InitTimes) != 2 || len(rep.Peer.InitTimes) != 1 {
		t.Errorf("runs: pmops %d, peer %d", len(rep.Ours.InitTimes), len(rep.Peer.InitTimes))
	}
	if rep.Generated.UID == "" || len(rep.Collection) != 3 {
		t.Fatalf("collection rows: %+v (generated %+v)", rep.Collection, rep.Generated)
	}
	for _, c := range rep.Collection {
		if c.IsError || c.ResultBytes == 0 {
			t.Errorf("%s %s: isError=%v, %d bytes: %s", c.Server, c.Tool, c.IsError, c.ResultBytes, c.Text)
		}
	}
	if rep.Collection[0].Continuation == "" {
		t.Error("pmops get_collection on 600 requests gave no continuation")
	}
	for _, o := range rep.Overhead {
		if len(o.MCP) != 5 || len(o.Direct) != 5 {
			t.Errorf("%s overhead samples: %d MCP, %d direct", o.Server, len(o.MCP), len(o.Direct))
		}
	}
	byTool := map[string]CallCount{}
	for _, c := range rep.Calls {
		if _, seen := byTool[c.Tool]; !seen {
			byTool[c.Tool] = c
		}
	}
	for _, tool := range []string{"get_account", "list_workspaces", "get_collection", "get_environment", "list_monitors", "get_mock"} {
		c, ok := byTool[tool]
		if !ok {
			t.Errorf("no API-call count for %s", tool)
			continue
		}
		if len(c.Cold) == 0 || c.IsError {
			t.Errorf("%s: %d cold calls, isError=%v %s", tool, len(c.Cold), c.IsError, c.Text)
		}
		for _, r := range c.Cold {
			if r.Key != Key {
				t.Errorf("%s sent key %q, want the demo key", tool, r.Key)
			}
		}
	}
	if c := byTool["get_account"]; len(c.Cold) != 1 || c.Cold[0].Route() != "GET /me" {
		t.Errorf("get_account cold requests = %v, want exactly GET /me", c.Cold)
	}
	var b strings.Builder
	if err := rep.WriteMarkdown(&b, "test"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "#### Targets") || !strings.Contains(b.String(), "| same -demo |") {
		t.Error("Markdown lacks the targets table or the baseline rows")
	}
}

// testWriter sends progress logs to t.Log, shown on failure or with -v.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
