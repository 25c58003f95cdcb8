// Package compare runs pmops's MCP server and Postman's official MCP server (@postman/postman-mcp-server) side by
// side, in one run, against the standalone Postman emulator, and checks pmops against its performance targets:
// spawn-to-initialize time, peak RSS, tools/list size, the default get_collection answer on a 4,000-request
// collection, per-call overhead over a direct HTTP call, and Postman API calls spent per tool call.
package compare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	host "github.com/pmops/pmops/bench/internal/machine"
	"github.com/pmops/pmops/bench/mcpbench/mcpproc"
	"github.com/pmops/pmops/bench/mcpbench/measure"
)

// Key is the demo seed's primary API key, the one every server uses.
const Key = "PMAK-demo"

// Config says what to build, start and measure.
type Config struct {
	RepoRoot    string // where ./cmd/mcp and ./cmd/postman-emulator are built from
	MCPBin      string // prebuilt cmd/mcp; empty builds it
	EmulatorBin string // prebuilt cmd/postman-emulator; empty builds it
	// Baselines are other builds of cmd/mcp (an earlier commit) whose start-up rows are measured with pmops's,
	// run by run in turn, so a regression or a gain is read against the same machine at the same minutes.
	Baselines   []Baseline
	PeerJS      string // @postman/postman-mcp-server's dist/src/index.js
	PeerVersion string
	Node        string // runs the peer

	Runs         int           // fresh processes per pmops startup row
	PeerRuns     int           // fresh processes per peer startup row
	OverheadRuns int           // timed round trips per overhead row
	Generate     int           // requests in the generated collection
	Timeout      time.Duration // per server run
	Logger       *slog.Logger
}

// Baseline is an earlier build of cmd/mcp to measure beside pmops's start-up.
type Baseline struct {
	Name, Bin string
}

// Report is everything one comparison measured.
type Report struct {
	Machine   string
	Emulator  string // how the emulator was started
	Generated CollectionRef
	GenerateN int

	Ours, OursDemo    measure.Result
	Baselines         []measure.Result // each baseline, then each baseline with -demo (Config.Baselines)
	Peer, PeerFull    measure.Result
	ToolsetsCovered   []string
	ToolsetsMissing   []string
	Collection        []CollectionResult
	Overhead          []OverheadResult
	Calls             []CallCount
	OverheadWarmCalls int
}

// Run builds what is missing, starts the emulator and measures every row.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger
	if cfg.MCPBin == "" || cfg.EmulatorBin == "" {
		dir, err := os.MkdirTemp("", "mcpbench-compare-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		for _, b := range []struct {
			dst *string
			pkg string
		}{{&cfg.MCPBin, "./cmd/mcp"}, {&cfg.EmulatorBin, "./cmd/postman-emulator"}} {
			if *b.dst != "" {
				continue
			}
			out := filepath.Join(dir, filepath.Base(b.pkg))
			log.Info("building", "package", b.pkg)
			cmd := exec.CommandContext(ctx, "go", "build", "-o", out, b.pkg)
			cmd.Dir = cfg.RepoRoot
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as README and the Dockerfile build the shipped binaries
			if msg, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("go build %s: %w\n%s", b.pkg, err, msg)
			}
			*b.dst = out
		}
	}

	// Limits far above anything the benchmark sends: no server may be slowed by 429s or by its own rate gate
	// learning a small budget from the emulator's headers.
	emuArgs := []string{"-addr", "127.0.0.1:0", "-seed", "demo", "-key", Key, "-log-level", "warn",
		"-limit", "1000000", "-route-limit", "1000000", "-month-quota", "1000000000",
		"-generate", strconv.Itoa(cfg.Generate), "-generate-name", fmt.Sprintf("Generated %d", cfg.Generate)}
	emu, err := StartEmulator(ctx, cfg.EmulatorBin, emuArgs...)
	if err != nil {
		return nil, err
	}
	defer emu.Close()
	proxy, err := NewCountingProxy(emu.URL)
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	rep := &Report{Machine: machine(cfg.Node), Emulator: "postman-emulator " + ShellJoin(emuArgs), GenerateN: cfg.Generate}
	rep.Generated, err = FindCollection(ctx, emu.URL, Key, fmt.Sprintf("Generated %d", cfg.Generate))
	if err != nil {
		return nil, err
	}

	ours := mcpproc.Spec{Name: "pmops", Command: []string{cfg.MCPBin}, Env: pmopsEnv(emu.URL, Key)}
	oursDemo := mcpproc.Spec{Name: "pmops -demo", Command: []string{cfg.MCPBin, "-demo"}, Env: pmopsEnv("", "")}
	peerEnv := []string{"POSTMAN_API_BASE_URL=" + emu.URL, "POSTMAN_API_KEY=" + Key}
	peerName := "postman-mcp-server " + cfg.PeerVersion
	peer := mcpproc.Spec{Name: peerName + " (default)", Command: []string{cfg.Node, cfg.PeerJS}, Env: peerEnv}
	peerFull := mcpproc.Spec{Name: peerName + " (--full)", Command: []string{cfg.Node, cfg.PeerJS, "--full"}, Env: peerEnv}

	startup := func(spec mcpproc.Spec, runs int, into *measure.Result) error {
		log.Info("startup, tools/list and RSS", "server", spec.Name, "runs", runs)
		r, err := measure.Measure(ctx, spec, measure.Options{Runs: runs, Timeout: cfg.Timeout})
		if err != nil {
			return err
		}
		*into = r
		return nil
	}
	if len(cfg.Baselines) == 0 {
		if err := startup(ours, cfg.Runs, &rep.Ours); err != nil {
			return nil, err
		}
		if err := startup(oursDemo, cfg.Runs, &rep.OursDemo); err != nil {
			return nil, err
		}
	} else {
		specs := []mcpproc.Spec{ours, oursDemo}
		for _, b := range cfg.Baselines {
			specs = append(specs, mcpproc.Spec{Name: b.Name, Command: []string{b.Bin}, Env: pmopsEnv(emu.URL, Key)})
		}
		for _, b := range cfg.Baselines {
			specs = append(specs, mcpproc.Spec{Name: b.Name + " -demo", Command: []string{b.Bin, "-demo"}, Env: pmopsEnv("", "")})
		}
		log.Info("startup, tools/list and RSS, in turn with the baselines", "servers", len(specs), "runs", cfg.Runs)
		res, errs := measure.MeasureAll(ctx, specs, measure.Options{Runs: cfg.Runs, Timeout: cfg.Timeout})
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		rep.Ours, rep.OursDemo, rep.Baselines = res[0], res[1], res[2:]
	}
	if err := startup(peer, cfg.PeerRuns, &rep.Peer); err != nil {
		return nil, err
	}
	if err := startup(peerFull, cfg.PeerRuns, &rep.PeerFull); err != nil {
		return nil, err
	}
	rep.ToolsetsCovered, rep.ToolsetsMissing = toolsetCoverage(rep.Ours.ToolNames)

	log.Info("get_collection on the generated collection", "requests", cfg.Generate, "uid", rep.Generated.UID, "runs", max(cfg.PeerRuns, 1))
	calls := []struct {
		spec mcpproc.Spec
		tool string
		args map[string]any
	}{
		{ours, "get_collection", map[string]any{"collection": rep.Generated.UID}},
		{peer, "getCollection", map[string]any{"collectionId": rep.Generated.ID}},
		{peer, "getCollection", map[string]any{"collectionId": rep.Generated.ID, "model": "full"}},
	}
	// Each call runs in a fresh process, -peer-runs times, the servers taking turns so that load changes on
	// the machine fall on all of them alike; the row shows the median.
	rep.Collection = make([]CollectionResult, len(calls))
	for run := range max(cfg.PeerRuns, 1) {
		for i, c := range calls {
			r, err := measureCollection(ctx, cfg, c.spec, c.tool, c.args)
			if err != nil {
				return nil, err
			}
			samples := append(rep.Collection[i].Samples, r.Elapsed)
			if run == 0 {
				rep.Collection[i] = r
			}
			rep.Collection[i].Samples = samples
			rep.Collection[i].Elapsed = measure.Median(samples)
		}
	}

	rep.OverheadWarmCalls = 20
	for _, c := range []struct {
		spec mcpproc.Spec
		tool string
	}{{ours, "get_account"}, {peer, "getAuthenticatedUser"}} {
		log.Info("per-call overhead", "server", c.spec.Name, "tool", c.tool, "calls", cfg.OverheadRuns)
		r, err := measureOverhead(ctx, cfg, c.spec, c.tool, emu.URL, Key, cfg.OverheadRuns, rep.OverheadWarmCalls)
		if err != nil {
			return nil, err
		}
		rep.Overhead = append(rep.Overhead, r)
	}

	log.Info("Postman API calls per tool call")
	counted := mcpproc.Spec{Name: "pmops -toolsets all", Command: []string{cfg.MCPBin, "-toolsets", "all"}, Env: pmopsEnv(proxy.URL, Key)}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	rep.Calls, err = CountCalls(cctx, counted, proxy, DemoNames)
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// pmopsEnv points cmd/mcp at baseURL with key and neutralises any PMOPS_* settings of the caller's environment.
func pmopsEnv(baseURL, key string) []string {
	return []string{"POSTMAN_API_BASE_URL=" + baseURL, "POSTMAN_API_KEY=" + key, "POSTMAN_API_REGION=",
		"PMOPS_TOOLSETS=", "PMOPS_TOOLS=", "PMOPS_EXCLUDE_TOOLS=", "PMOPS_READ_ONLY=", "PMOPS_HTTP_ADDR=",
		"PMOPS_LOG_LEVEL=warn"}
}

// CollectionResult is one get-collection call on the generated collection.
type CollectionResult struct {
	Server, Tool string
	Args         map[string]any
	ResultBytes  int // the JSON-RPC result member as sent
	TextBytes    int
	Continuation string          // next_cursor of structuredContent, if any
	Items        int             // outline rows in structuredContent
	Elapsed      time.Duration   // median of Samples
	Samples      []time.Duration // one call in each of several fresh processes
	PeakRSS      int64           // process tree after the call
	IsError      bool
	Text         string // first bytes, for errors
}

func measureCollection(ctx context.Context, cfg Config, spec mcpproc.Spec, tool string, args map[string]any) (CollectionResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	p, _, _, err := mcpproc.StartAndInitialize(ctx, spec, measure.Client)
	if err != nil {
		return CollectionResult{}, err
	}
	defer p.Close()
	res, err := p.CallTool(ctx, tool, args)
	if err != nil {
		return CollectionResult{}, err
	}
	out := CollectionResult{Server: spec.Name, Tool: tool, Args: args, ResultBytes: len(res.Response.Result),
		TextBytes: len(res.Text()), Elapsed: res.Response.Elapsed(), IsError: res.IsError}
	if res.IsError {
		out.Text = truncate(res.Text(), 300)
	}
	var sc struct {
		NextCursor string            `json:"next_cursor"`
		Items      []json.RawMessage `json:"items"`
	}
	if len(res.StructuredContent) > 0 {
		_ = json.Unmarshal(res.StructuredContent, &sc)
	}
	out.Continuation, out.Items = sc.NextCursor, len(sc.Items)
	out.PeakRSS, _, _ = p.PeakRSS()
	return out, nil
}

// OverheadResult compares round trips of a tool call through a server with direct calls of the API endpoint
// it wraps, interleaved in the same time window.
type OverheadResult struct {
	Server, Tool string
	MCP, Direct  []time.Duration
}

// Overhead is the median MCP round trip minus the median direct call.
func (o OverheadResult) Overhead() time.Duration {
	return measure.Median(o.MCP) - measure.Median(o.Direct)
}

func measureOverhead(ctx context.Context, cfg Config, spec mcpproc.Spec, tool, baseURL, key string, n, warm int) (OverheadResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout+time.Duration(n)*100*time.Millisecond)
	defer cancel()
	p, _, _, err := mcpproc.StartAndInitialize(ctx, spec, measure.Client)
	if err != nil {
		return OverheadResult{}, err
	}
	defer p.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	defer hc.CloseIdleConnections()
	direct := func() (time.Duration, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/me", nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("X-Api-Key", key)
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, fmt.Errorf("direct GET /me: %w", err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err != nil || resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("direct GET /me: HTTP %d %v", resp.StatusCode, err)
		}
		return d, nil
	}
	viaMCP := func() (time.Duration, error) {
		r, err := p.CallTool(ctx, tool, nil)
		if err != nil {
			return 0, err
		}
		if r.IsError {
			return 0, fmt.Errorf("%s %s returned isError: %s", spec.Name, tool, truncate(r.Text(), 200))
		}
		return r.Response.Elapsed(), nil
	}
	out := OverheadResult{Server: spec.Name, Tool: tool}
	for i := range warm + n {
		first, second := direct, viaMCP
		if i%2 == 1 {
			first, second = viaMCP, direct
		}
		a, err := first()
		if err != nil {
			return out, err
		}
		b, err := second()
		if err != nil {
			return out, err
		}
		if i < warm {
			continue
		}
		if i%2 == 1 {
			a, b = b, a
		}
		out.Direct = append(out.Direct, a)
		out.MCP = append(out.MCP, b)
	}
	return out, nil
}

// ShellJoin quotes the arguments that need it, for a copyable command line.
func ShellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$&|;<>()*?") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

func machine(node string) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	nodeVersion := "?"
	if out, err := exec.Command(node, "--version").Output(); err == nil {
		nodeVersion = strings.TrimSpace(string(out))
	}
	load := host.LoadAverage("?")
	return fmt.Sprintf("%s, %d CPUs, Linux (load average %s at start); Node %s for the peer", cpu, numCPU(), load, nodeVersion)
}
