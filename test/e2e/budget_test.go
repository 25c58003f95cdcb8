package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/pmops/pmops/bench/mcpbench/compare"
	"github.com/pmops/pmops/bench/mcpbench/mcpproc"
	"github.com/pmops/pmops/bench/mcpbench/measure"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/tools"
)

// TestBudgets holds the size and API-call targets that do not depend on timing (bench/mcpbench -compare measures
// the timed ones): tools/list bytes with the default toolsets and with every toolset, the default get_collection answer on a
// 4,000-request collection, and Postman API calls per read tool call. Bytes are counted as the server sends them:
// the JSON-RPC result member over stdio.
func TestBudgets(t *testing.T) {
	t.Parallel()
	base := startEmulator(t, "-generate", "4000", "-generate-name", "Generated 4000",
		"-limit", "1000000", "-route-limit", "1000000")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	col, err := compare.FindCollection(ctx, base, emulator.DemoKey, "Generated 4000")
	if err != nil {
		t.Fatal(err)
	}
	spec := func(url string, flags ...string) mcpproc.Spec {
		return mcpproc.Spec{Name: "mcp", Command: append([]string{mcpBin}, flags...), Dir: t.TempDir(),
			Env: append(cleanEnv(), "POSTMAN_API_BASE_URL="+url, "POSTMAN_API_KEY="+emulator.DemoKey)}
	}

	p, _, _, err := mcpproc.StartAndInitialize(ctx, spec(base), measure.Client)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	t.Run("tools/list", func(t *testing.T) {
		list, err := p.ListTools(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if list.ResultBytes > compare.TargetDefaultToolsListBytes {
			t.Errorf("tools/list is %d bytes with the default toolsets, budget %d", list.ResultBytes, compare.TargetDefaultToolsListBytes)
		}
		t.Logf("tools/list, default toolsets: %d tools, %d bytes (budget %d)", len(list.Tools), list.ResultBytes, compare.TargetDefaultToolsListBytes)

		all, _, _, err := mcpproc.StartAndInitialize(ctx, spec(base, "-toolsets", "all"), measure.Client)
		if err != nil {
			t.Fatal(err)
		}
		defer all.Close()
		full, err := all.ListTools(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if full.ResultBytes > compare.TargetToolsListBytes {
			t.Errorf("tools/list is %d bytes with every toolset, budget %d", full.ResultBytes, compare.TargetToolsListBytes)
		}
		if len(full.Tools) != len(tools.All()) {
			t.Errorf("-toolsets all lists %d tools, the catalogue has %d", len(full.Tools), len(tools.All()))
		}
		t.Logf("tools/list, every toolset: %d tools, %d bytes (budget %d)", len(full.Tools), full.ResultBytes, compare.TargetToolsListBytes)
	})

	t.Run("get_collection 4000 requests", func(t *testing.T) {
		res, err := p.CallTool(ctx, "get_collection", map[string]any{"collection": col.UID})
		if err != nil {
			t.Fatal(err)
		}
		if res.IsError {
			t.Fatalf("isError: %s", res.Text())
		}
		var sc struct {
			NextCursor string `json:"next_cursor"`
			Requests   int    `json:"requests"`
		}
		if err := json.Unmarshal(res.StructuredContent, &sc); err != nil {
			t.Fatal(err)
		}
		if n := len(res.Response.Result); n > compare.TargetCollection {
			t.Errorf("default answer is %d bytes, budget %d", n, compare.TargetCollection)
		}
		if sc.NextCursor == "" {
			t.Error("no next_cursor: a 4,000-request outline must continue")
		}
		if sc.Requests != 4000 {
			t.Errorf("requests = %d, want 4000", sc.Requests)
		}
		t.Logf("get_collection: %d bytes, next_cursor %q", len(res.Response.Result), sc.NextCursor)
	})

	t.Run("API calls per read tool call", func(t *testing.T) {
		proxy, err := compare.NewCountingProxy(base)
		if err != nil {
			t.Fatal(err)
		}
		defer proxy.Close()
		counts, err := compare.CountCalls(ctx, spec(proxy.URL, "-toolsets", "all"), proxy, compare.DemoNames)
		if err != nil {
			t.Fatal(err)
		}
		if len(counts) < 10 {
			t.Fatalf("only %d read tool calls counted", len(counts))
		}
		for _, c := range counts {
			switch {
			case c.Skip != "":
				if !c.Extra {
					t.Errorf("%s not called: %s", c.Tool, c.Skip)
				}
			case c.IsError:
				t.Errorf("%s %s returned isError: %s", c.Tool, c.ArgsString(), c.Text)
			case !c.Extra && !c.Met():
				t.Errorf("%s %s spent %d (cold) and %d (warm) Postman API calls, budget %d: %s",
					c.Tool, c.ArgsString(), len(c.Cold), len(c.Warm), c.Allowed, compare.Routes(c.Cold))
			}
			for _, r := range append(c.Cold, c.Warm...) {
				if r.Key != emulator.DemoKey {
					t.Errorf("%s sent key %q, want the configured one", c.Tool, r.Key)
				}
			}
		}
	})
}
