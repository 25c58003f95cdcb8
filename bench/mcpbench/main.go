// Command mcpbench measures MCP stdio servers with one methodology and prints
// a Markdown table, one row per server: Postman's official server
// (@postman/postman-mcp-server, installed by scripts/npm-tools.sh) in its
// default and --full modes, and any other server command, such as our cmd/mcp.
//
//	go run ./bench/mcpbench -peer
//	go run ./bench/mcpbench -peer -server 'pmops=./bin/mcp' -probe getAuthenticatedUser -probe 'whoami={}'
//	go run ./bench/mcpbench -interleave -runs 40 -server 'new=./bin/mcp' -server 'old=/tmp/base/mcp'
//
// Servers get POSTMAN_API_BASE_URL (-base-url, default from the environment)
// and POSTMAN_API_KEY (-key, default $POSTMAN_API_KEY or PMAK-demo).
//
// With -compare it runs the whole pmops-versus-official-server comparison in
// one command: it builds cmd/mcp and cmd/postman-emulator, starts the
// emulator with a generated collection, measures both servers against it and
// prints the Markdown for BENCHMARKS.md (see package compare):
//
//	go run ./bench/mcpbench -compare
//	go run ./bench/mcpbench -compare -baseline '8bb725f=/tmp/mcp-8bb725f'   # plus an earlier build's start-up
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/pmops/pmops/bench/mcpbench/compare"
	"github.com/pmops/pmops/bench/mcpbench/mcpproc"
	"github.com/pmops/pmops/bench/mcpbench/measure"

	"github.com/pmops/pmops/internal/repo"
)

const peerRelPath = ".cache/npm/peer/node_modules/@postman/postman-mcp-server/dist/src/index.js"

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mcpbench:", err)
		os.Exit(1)
	}
}

func run() error {
	var servers, probes listFlag
	peer := flag.Bool("peer", false, "measure Postman's official MCP server (see -peer-modes)")
	peerModes := flag.String("peer-modes", "default,full", "comma-separated peer modes: default, full, code")
	peerJS := flag.String("peer-js", os.Getenv("PEER_MCP_JS"), "path to @postman/postman-mcp-server's dist/src/index.js (default: $PEER_MCP_JS or "+peerRelPath+")")
	node := flag.String("node", "node", "node binary used to run the peer")
	flag.Var(&servers, "server", "extra server as 'NAME=COMMAND ARGS...' (split on spaces; repeatable)")
	flag.Var(&probes, "probe", "tool call to time as 'TOOL' or 'TOOL=JSONARGS'; each server uses the first one it lists (repeatable)")
	probeRuns := flag.Int("probe-runs", 5, "calls per probe")
	runs := flag.Int("runs", 5, "fresh processes per server (median reported)")
	interleave := flag.Bool("interleave", false, "start the servers in turn, one run of each per round, instead of all runs of one server after the other (fairer when comparing builds on a busy machine)")
	timeout := flag.Duration("timeout", 60*time.Second, "time limit per run")
	baseURL := flag.String("base-url", os.Getenv("POSTMAN_API_BASE_URL"), "Postman API base URL handed to the servers (the emulator)")
	key := flag.String("key", envOr("POSTMAN_API_KEY", "PMAK-demo"), "Postman API key handed to the servers")
	doCompare := flag.Bool("compare", false, "run the full pmops vs official-server comparison (builds and starts everything) and print Markdown")
	compareRuns := flag.Int("compare-runs", 20, "with -compare: fresh pmops processes per start-up row")
	peerRuns := flag.Int("peer-runs", 5, "with -compare: fresh official-server processes per start-up row")
	overheadRuns := flag.Int("overhead-runs", 300, "with -compare: timed round trips per overhead row")
	generate := flag.Int("generate", 4000, "with -compare: requests in the generated collection")
	mcpBin := flag.String("mcp-bin", "", "with -compare: prebuilt cmd/mcp (default: build it)")
	emulatorBin := flag.String("emulator-bin", "", "with -compare: prebuilt cmd/postman-emulator (default: build it)")
	var baselines listFlag
	flag.Var(&baselines, "baseline", "with -compare: an earlier cmd/mcp build as 'NAME=PATH', whose start-up rows are measured in turn with pmops's (repeatable)")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if *doCompare {
		js, err := findPeer(*peerJS)
		if err != nil {
			return err
		}
		root, err := repo.Root()
		if err != nil {
			return err
		}
		var bls []compare.Baseline
		for _, b := range baselines {
			name, path, ok := strings.Cut(b, "=")
			if !ok || name == "" || path == "" {
				return fmt.Errorf("-baseline %q: want NAME=PATH", b)
			}
			bls = append(bls, compare.Baseline{Name: name, Bin: path})
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		defer stop()
		rep, err := compare.Run(ctx, compare.Config{
			RepoRoot: root, MCPBin: *mcpBin, EmulatorBin: *emulatorBin, Baselines: bls,
			PeerJS: js, PeerVersion: peerVersion(js), Node: *node,
			Runs: *compareRuns, PeerRuns: *peerRuns, OverheadRuns: *overheadRuns, Generate: *generate,
			Timeout: *timeout, Logger: slog.Default(),
		})
		if err != nil {
			return err
		}
		return rep.WriteMarkdown(os.Stdout, "go run ./bench/mcpbench "+compare.ShellJoin(os.Args[1:]))
	}

	env := []string{"POSTMAN_API_KEY=" + *key}
	if *baseURL != "" {
		env = append(env, "POSTMAN_API_BASE_URL="+*baseURL)
	} else if len(probes) > 0 {
		slog.Warn("probes need an API: set -base-url or POSTMAN_API_BASE_URL to the emulator")
	}

	var specs []mcpproc.Spec
	if *peer {
		js, err := findPeer(*peerJS)
		if err != nil {
			return err
		}
		version := peerVersion(js)
		for _, mode := range strings.Split(*peerModes, ",") {
			mode = strings.TrimSpace(mode)
			cmd := []string{*node, js}
			switch mode {
			case "default", "minimal":
			case "full", "code":
				cmd = append(cmd, "--"+mode)
			default:
				return fmt.Errorf("unknown peer mode %q (want default, full or code)", mode)
			}
			specs = append(specs, mcpproc.Spec{
				Name:    fmt.Sprintf("postman-mcp-server %s (%s)", version, mode),
				Command: cmd,
				Env:     env,
			})
		}
	}
	for _, s := range servers {
		spec, err := parseServer(s)
		if err != nil {
			return err
		}
		spec.Env = env
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return errors.New("nothing to measure: pass -peer and/or -server 'NAME=COMMAND ARGS'")
	}
	var ps []measure.Probe
	for _, p := range probes {
		probe, err := parseProbe(p)
		if err != nil {
			return err
		}
		probe.Runs = *probeRuns
		ps = append(ps, probe)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var results []measure.Result
	var failed []error
	if *interleave {
		slog.Info("measuring in turn", "servers", len(specs), "runs", *runs)
		all, errs := measure.MeasureAll(ctx, specs, measure.Options{Runs: *runs, Timeout: *timeout, Probes: ps})
		for i, res := range all {
			if errs[i] != nil {
				slog.Error("measurement failed", "server", res.Name, "err", errs[i])
				failed = append(failed, errs[i])
				continue
			}
			results = append(results, res)
		}
		specs = nil
	}
	for _, spec := range specs {
		slog.Info("measuring", "server", spec.Name, "command", strings.Join(spec.Command, " "), "runs", *runs)
		res, err := measure.Measure(ctx, spec, measure.Options{Runs: *runs, Timeout: *timeout, Probes: ps})
		if err != nil {
			// Keep going: one broken server should not hide the others' rows.
			slog.Error("measurement failed", "server", spec.Name, "err", err)
			failed = append(failed, err)
			continue
		}
		if res.ProbeIsError {
			slog.Warn("probe returned isError", "server", spec.Name, "tool", res.ProbeTool, "text", res.ProbeText)
		}
		results = append(results, res)
	}
	if len(results) > 0 {
		if err := measure.WriteMarkdown(os.Stdout, results); err != nil {
			return err
		}
	}
	return errors.Join(failed...)
}

// parseServer reads 'NAME=COMMAND ARGS...'; without a NAME= prefix the
// command's base name is the label.
func parseServer(s string) (mcpproc.Spec, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || strings.ContainsAny(name, " \t/") {
		name, rest = "", s
	}
	argv := strings.Fields(rest)
	if len(argv) == 0 {
		return mcpproc.Spec{}, fmt.Errorf("-server %q: no command", s)
	}
	if name == "" {
		name = filepath.Base(argv[0])
	}
	return mcpproc.Spec{Name: name, Command: argv}, nil
}

// parseProbe reads 'TOOL' or 'TOOL=JSONARGS'.
func parseProbe(s string) (measure.Probe, error) {
	tool, rawArgs, _ := strings.Cut(s, "=")
	if tool == "" {
		return measure.Probe{}, fmt.Errorf("-probe %q: no tool name", s)
	}
	args := map[string]any{}
	if rawArgs != "" {
		if err := json.Unmarshal([]byte(rawArgs), &args); err != nil {
			return measure.Probe{}, fmt.Errorf("-probe %q: arguments must be a JSON object: %w", s, err)
		}
	}
	return measure.Probe{Tool: tool, Args: args}, nil
}

func findPeer(flagValue string) (string, error) {
	if flagValue != "" {
		if _, err := os.Stat(flagValue); err != nil {
			return "", fmt.Errorf("peer server: %w", err)
		}
		return flagValue, nil
	}
	root, err := repo.Root()
	if err != nil {
		return "", fmt.Errorf("peer server not found (%v): pass -peer-js", err)
	}
	candidate := filepath.Join(root, peerRelPath)
	if _, err := os.Stat(candidate); err != nil {
		return "", fmt.Errorf("peer server not installed at %s: run scripts/npm-tools.sh", candidate)
	}
	return candidate, nil
}

// peerVersion reads the version from the package.json next to dist/.
func peerVersion(js string) string {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(js), "..", "..", "package.json"))
	if err != nil {
		return "?"
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &pkg) != nil || pkg.Version == "" {
		return "?"
	}
	return pkg.Version
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
