// Command runbench compares collection runs, all in one run on the same emulator collection: pmops's
// run_collection (cmd/mcp over stdio), Postman's MCP server's runCollection (@postman/postman-mcp-server, from
// scripts/npm-tools.sh) and Newman run directly (`newman run`) on the same exported collection and environment
// files, which is pmops's overhead baseline. It prints a Markdown table for BENCHMARKS.md.
//
//	go run ./bench/runbench                # 10 requests (1 failing), 3 repetitions
//	go run ./bench/runbench -n 40 -reps 5
//
// Each request goes to a local HTTP server in this process. Measured per run: wall time of the tools/call (or of
// the newman process), bytes of the JSON-RPC result, peak RSS of the server's whole process tree (sampled every
// 20 ms, since Newman runs in a child process under pmops and in-process in the peer), and the Postman API
// calls the run spent, counted at a reverse proxy in front of the emulator.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pmops/pmops/bench/mcpbench/compare"
	"github.com/pmops/pmops/bench/mcpbench/mcpproc"
	"github.com/pmops/pmops/bench/mcpbench/measure"
	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/newman/newmantest"
	"github.com/pmops/pmops/internal/repo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "runbench:", err)
		os.Exit(1)
	}
}

type sample struct {
	wall     time.Duration
	bytes    int
	textLen  int
	rss      int64
	calls    []compare.APIRequest
	isError  bool
	firstOut string
	leaks    bool // the environment's secret apikey value appears in the result
}

const benchSecret = "sk_bench_0123456789"

func run() error {
	n := flag.Int("n", 10, "requests in the collection (one of them fails its test)")
	reps := flag.Int("reps", 3, "runs per subject; medians are reported")
	peerJS := flag.String("peer-js", os.Getenv("PEER_MCP_JS"), "@postman/postman-mcp-server's dist/src/index.js (default $PEER_MCP_JS or the npm cache)")
	newmanPath := flag.String("newman", os.Getenv("NEWMAN"), "Newman's bin/newman.js (default $NEWMAN or the npm cache)")
	flag.Parse()
	root, err := repo.Root()
	if err != nil {
		return err
	}
	if *newmanPath == "" {
		*newmanPath = newmantest.Find()
	}
	if *newmanPath == "" {
		return errors.New("no Newman: run scripts/npm-tools.sh or pass -newman")
	}
	if *peerJS == "" {
		cache := os.Getenv("PMOPS_NPM_CACHE")
		if cache == "" {
			cache = filepath.Join(root, ".cache", "npm")
		}
		*peerJS = filepath.Join(cache, "peer", "node_modules", "@postman", "postman-mcp-server", "dist", "src", "index.js")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	dir, err := os.MkdirTemp("", "runbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	mcpBin, emuBin := filepath.Join(dir, "mcp"), filepath.Join(dir, "postman-emulator")
	for _, b := range [][2]string{{mcpBin, "./cmd/mcp"}, {emuBin, "./cmd/postman-emulator"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b[0], b[1])
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	emu, err := compare.StartEmulator(ctx, emuBin, "-addr", "127.0.0.1:0", "-limit", "1000000", "-route-limit", "1000000")
	if err != nil {
		return err
	}
	defer emu.Close()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/fail") {
			w.WriteHeader(500)
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer target.Close()
	colUID, envUID, err := seed(ctx, emu.URL, target.URL, *n)
	if err != nil {
		return err
	}
	proxy, err := compare.NewCountingProxy(emu.URL)
	if err != nil {
		return err
	}
	defer proxy.Close()
	env := []string{"POSTMAN_API_BASE_URL=" + proxy.URL, "POSTMAN_API_KEY=" + emulator.DemoKey}

	subjects := []struct {
		name string
		spec mcpproc.Spec
		tool string
		args map[string]any
	}{
		{"pmops run_collection", mcpproc.Spec{Name: "pmops", Command: []string{mcpBin, "-toolsets", "runs", "-newman", *newmanPath}, Env: env, Dir: dir},
			"run_collection", map[string]any{"collection": colUID, "environment": envUID}},
		{"peer runCollection", mcpproc.Spec{Name: "peer", Command: []string{"node", *peerJS, "--quiet"}, Env: env, Dir: dir},
			"runCollection", map[string]any{"collectionId": colUID, "environmentId": envUID}},
	}
	colFile, envFile, files, err := exportFiles(ctx, dir, emu.URL, colUID, envUID)
	if err != nil {
		return err
	}
	// Subjects take turns within each repetition, so a busy machine slows them alike.
	results := map[string][]sample{}
	for range *reps {
		for _, s := range subjects {
			smp, err := measureCall(ctx, s.spec, s.tool, s.args, proxy)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			results[s.name] = append(results[s.name], smp)
		}
		smp, err := measureDirect(ctx, colFile, envFile, *newmanPath)
		if err != nil {
			return err
		}
		results["newman run (same files)"] = append(results["newman run (same files)"], smp)
	}
	report(os.Stdout, *n, *reps, results, files)
	return nil
}

// seed creates the benchmark collection (n requests with a status test, the last one failing) and an
// environment with the target's URL and a secret apikey in the emulator's first workspace.
func seed(ctx context.Context, base, target string, n int) (string, string, error) {
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: base})
	if err != nil {
		return "", "", err
	}
	wss, err := api.Collect(ctx, c.WorkspacesPager(api.ListWorkspacesOptions{}, "", api.Bound{}))
	if err != nil || len(wss) == 0 {
		return "", "", fmt.Errorf("workspaces: %v", err)
	}
	var items []any
	for i := range n {
		path := fmt.Sprintf("ok/%d", i)
		if i == n-1 {
			path = fmt.Sprintf("fail/%d", i)
		}
		items = append(items, map[string]any{
			"name": fmt.Sprintf("request %02d", i),
			"request": map[string]any{"method": "GET", "url": map[string]any{
				"raw": "{{base}}/" + path + "?apikey={{apikey}}", "host": []string{"{{base}}"}, "path": strings.Split(path, "/"),
				"query": []any{map[string]any{"key": "apikey", "value": "{{apikey}}"}}}},
			"event": []any{map[string]any{"listen": "test", "script": map[string]any{"type": "text/javascript",
				"exec": []string{"pm.test('status is 200', () => pm.response.to.have.status(200));"}}}},
		})
	}
	raw, _ := json.Marshal(map[string]any{"info": map[string]any{"name": "Run Bench", "schema": api.SchemaV21}, "item": items})
	var col api.Collection
	if err := json.Unmarshal(raw, &col); err != nil {
		return "", "", err
	}
	ref, err := c.CreateCollection(ctx, wss[0].ID, &col)
	if err != nil {
		return "", "", err
	}
	eref, err := c.CreateEnvironment(ctx, wss[0].ID, api.EnvironmentInput{Name: "Run Bench Env", Values: []api.EnvVar{
		{Key: "base", Value: target, Enabled: true, Type: "default"},
		{Key: "apikey", Value: benchSecret, Enabled: true, Type: "secret"},
	}})
	if err != nil {
		return "", "", err
	}
	return ref.UID, firstNonEmpty(eref.UID, eref.ID), nil
}

func measureCall(ctx context.Context, spec mcpproc.Spec, tool string, args map[string]any, proxy *compare.CountingProxy) (sample, error) {
	p, _, _, err := mcpproc.StartAndInitialize(ctx, spec, measure.Client)
	if err != nil {
		return sample{}, err
	}
	defer p.Close()
	mark := proxy.Mark()
	stop := sampleRSS(p.PID())
	start := time.Now()
	res, err := p.CallTool(ctx, tool, args)
	wall := time.Since(start)
	rss := stop()
	if err != nil {
		return sample{}, err
	}
	// The peer reports its run to Postman after answering; give such a call time to arrive before counting.
	time.Sleep(500 * time.Millisecond)
	text := res.Text()
	s := sample{wall: wall, bytes: len(res.Response.Result), textLen: len(text), rss: rss, calls: proxy.Since(mark), isError: res.IsError}
	s.firstOut = strings.SplitN(text, "\n", 2)[0]
	s.leaks = strings.Contains(string(res.Response.Result), benchSecret)
	return s, nil
}

// sampleRSS polls the peak RSS of pid's process tree until the returned func is called, which returns the
// largest total seen.
func sampleRSS(pid int) func() int64 {
	var mu sync.Mutex
	var peak int64
	done := make(chan struct{})
	exited := make(chan struct{})
	poll := func() {
		if total, _, err := mcpproc.TreePeakRSS("/proc", pid); err == nil {
			mu.Lock()
			peak = max(peak, total)
			mu.Unlock()
		}
	}
	go func() {
		defer close(exited)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			poll()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-exited
		poll()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// exportFiles writes the collection and environment as pmops hands them to Newman, for the baseline.
func exportFiles(ctx context.Context, dir, base, colUID, envUID string) (string, string, string, error) {
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: base})
	if err != nil {
		return "", "", "", err
	}
	col, err := c.GetCollection(ctx, colUID, api.GetCollectionOptions{})
	if err != nil {
		return "", "", "", err
	}
	e, err := c.GetEnvironment(ctx, envUID)
	if err != nil {
		return "", "", "", err
	}
	colFile, envFile := filepath.Join(dir, "collection.json"), filepath.Join(dir, "environment.json")
	cb, _ := json.Marshal(col)
	eb, _ := json.Marshal(map[string]any{"name": e.Name, "values": e.Values})
	if err := os.WriteFile(colFile, cb, 0o600); err != nil {
		return "", "", "", err
	}
	if err := os.WriteFile(envFile, eb, 0o600); err != nil {
		return "", "", "", err
	}
	return colFile, envFile, fmt.Sprintf("`node newman.js run collection.json -e environment.json --reporters cli` (%d + %d bytes)", len(cb), len(eb)), nil
}

// measureDirect runs `newman run` on the exported files: the baseline of pmops's overhead.
func measureDirect(ctx context.Context, colFile, envFile, newmanPath string) (sample, error) {
	cmd := exec.CommandContext(ctx, "node", newmanPath, "run", colFile, "-e", envFile, "--reporters", "cli", "--color", "off")
	var stdout strings.Builder
	cmd.Stdout = &stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	stop := sampleRSS(cmd.Process.Pid)
	err := cmd.Wait()
	wall := time.Since(start)
	rss := stop()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return sample{}, err
	}
	return sample{wall: wall, bytes: stdout.Len(), textLen: stdout.Len(), rss: rss, leaks: strings.Contains(stdout.String(), benchSecret)}, nil
}

func report(w *os.File, n, reps int, results map[string][]sample, files string) {
	fmt.Fprintf(w, "| subject (%d requests, 1 failing; median of %d) | wall time | bytes returned | peak RSS (tree) | Postman API calls | secret apikey in output | result |\n", n, reps)
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|:-:|---|")
	order := []string{"pmops run_collection", "peer runCollection", "newman run (same files)"}
	var pmopsWall, directWall time.Duration
	for _, name := range order {
		ss := results[name]
		walls := make([]time.Duration, len(ss))
		bytes := make([]int, len(ss))
		rss := make([]int64, len(ss))
		for i, s := range ss {
			walls[i], bytes[i], rss[i] = s.wall, s.bytes, s.rss
		}
		wall := median(walls)
		switch name {
		case "pmops run_collection":
			pmopsWall = wall
		case "newman run (same files)":
			directWall = wall
		}
		calls := "–"
		result := "exit code only (CLI text on stdout)"
		if ss[0].calls != nil || name != "newman run (same files)" {
			calls = fmt.Sprintf("%d (%s)", len(ss[0].calls), routes(ss[0].calls))
			result = fmt.Sprintf("isError=%v, %d B text: %q", ss[0].isError, ss[0].textLen, clip(ss[0].firstOut, 70))
		}
		fmt.Fprintf(w, "| %s | %.2f s | %d B | %.0f MiB | %s | %s | %s |\n", name, wall.Seconds(), median(bytes), float64(median(rss))/(1<<20), calls, yesNo(ss[0].leaks), result)
	}
	fmt.Fprintf(w, "\npmops's overhead over Newman run directly on the same files: %+.2f s per run (%s).\n", (pmopsWall - directWall).Seconds(), files)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func routes(reqs []compare.APIRequest) string {
	if len(reqs) == 0 {
		return "none"
	}
	counts := map[string]int{}
	for _, r := range reqs {
		counts[r.Route()]++
	}
	var out []string
	for k, v := range counts {
		out = append(out, fmt.Sprintf("%s ×%d", k, v))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func median[T int | int64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
