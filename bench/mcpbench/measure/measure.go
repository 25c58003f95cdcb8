// Package measure applies one fixed methodology to any MCP stdio server so
// that servers can be compared side by side: spawn-to-initialize latency
// (median over fresh processes), peak RSS of the process tree after
// tools/list, the byte size of tools/list, and optional per-call timings.
package measure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pmops/pmops/bench/mcpbench/mcpproc"
)

// Client is how the benchmark introduces itself in initialize.
var Client = mcpproc.ClientInfo{Name: "mcpbench", Version: "1"}

// Options control one measurement.
type Options struct {
	Runs    int           // fresh processes to start; at least 1
	Timeout time.Duration // per run; 0 means 60 s
	// Probes are candidate tool calls to time on the last run; the first one
	// whose tool the server lists is used, so one list can serve servers with
	// different tool names.
	Probes []Probe
}

// Probe is a tool call timed Runs times in one process.
type Probe struct {
	Tool string
	Args map[string]any
	Runs int
}

// Result holds everything measured for one server.
type Result struct {
	Name string

	InitTimes []time.Duration // spawn → initialize response, one per run

	Tools             int
	ToolNames         []string // as listed on the last run, in order
	ToolsListPages    int
	ToolsListBytes    int // result member bytes, summed over pages
	ToolsListMsgBytes int // whole JSON-RPC line bytes, summed over pages
	ToolsListTimes    []time.Duration

	PeakRSS       []int64 // per run: VmHWM summed over the process tree, after tools/list
	PeakRSSProcs  int     // processes counted on the last run
	Notifications int     // server notifications seen on the last run

	ProbeTool    string
	ProbeTimes   []time.Duration
	ProbeIsError bool   // the probe's last result had isError:true
	ProbeText    string // first bytes of the probe's last text, for diagnostics
}

// InitMedian is the median spawn-to-initialize time.
func (r Result) InitMedian() time.Duration { return Median(r.InitTimes) }

// PeakRSSMedian is the median over runs of the process tree's peak RSS.
func (r Result) PeakRSSMedian() int64 { return Median(r.PeakRSS) }

// Measure starts spec opts.Runs times. Each run spawns a fresh process,
// initializes, lists tools and reads the tree's peak RSS; the last run also
// times the probe, if any.
func Measure(ctx context.Context, spec mcpproc.Spec, opts Options) (Result, error) {
	if opts.Runs < 1 {
		opts.Runs = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	res := Result{Name: spec.Name}
	for run := range opts.Runs {
		last := run == opts.Runs-1
		if err := measureRun(ctx, spec, opts, last, &res); err != nil {
			return res, fmt.Errorf("measure %s run %d: %w", spec.Name, run+1, err)
		}
	}
	return res, nil
}

// MeasureAll measures every spec as Measure does, but round by round: each round starts every server once, the
// order rotated by one per round, so that a change in machine load falls on all of them alike (use it to compare
// builds). A server whose run fails leaves the later rounds; errs[i] is its error, results[i] what it measured.
func MeasureAll(ctx context.Context, specs []mcpproc.Spec, opts Options) (results []Result, errs []error) {
	if opts.Runs < 1 {
		opts.Runs = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	results = make([]Result, len(specs))
	errs = make([]error, len(specs))
	for i, spec := range specs {
		results[i].Name = spec.Name
	}
	for run := range opts.Runs {
		last := run == opts.Runs-1
		for k := range specs {
			i := (run + k) % len(specs)
			if errs[i] != nil {
				continue
			}
			if err := measureRun(ctx, specs[i], opts, last, &results[i]); err != nil {
				errs[i] = fmt.Errorf("measure %s run %d: %w", specs[i].Name, run+1, err)
			}
		}
	}
	return results, errs
}

func measureRun(ctx context.Context, spec mcpproc.Spec, opts Options, last bool, res *Result) error {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	p, _, initTime, err := mcpproc.StartAndInitialize(ctx, spec, Client)
	if err != nil {
		return err
	}
	defer p.Close()
	res.InitTimes = append(res.InitTimes, initTime)

	list, err := p.ListTools(ctx)
	if err != nil {
		return err
	}
	if res.ToolsListBytes != 0 && res.ToolsListBytes != list.ResultBytes {
		return fmt.Errorf("tools/list size changed between runs: %d then %d bytes", res.ToolsListBytes, list.ResultBytes)
	}
	res.Tools = len(list.Tools)
	res.ToolNames = res.ToolNames[:0]
	for _, t := range list.Tools {
		res.ToolNames = append(res.ToolNames, t.Name)
	}
	res.ToolsListPages = list.Pages
	res.ToolsListBytes = list.ResultBytes
	res.ToolsListMsgBytes = list.MessageBytes
	res.ToolsListTimes = append(res.ToolsListTimes, list.Elapsed)

	rss, pids, err := p.PeakRSS()
	if err != nil {
		return err
	}
	res.PeakRSS = append(res.PeakRSS, rss)
	if !last {
		return nil
	}
	res.PeakRSSProcs = len(pids)
	for _, probe := range opts.Probes {
		if !slices.ContainsFunc(list.Tools, func(t mcpproc.Tool) bool { return t.Name == probe.Tool }) {
			continue
		}
		if err := runProbe(ctx, p, probe, res); err != nil {
			return err
		}
		break
	}
	res.Notifications = p.Notifications()
	return nil
}

func runProbe(ctx context.Context, p *mcpproc.Process, probe Probe, res *Result) error {
	res.ProbeTool = probe.Tool
	var last *mcpproc.ToolResult
	times, err := TimeCalls(max(probe.Runs, 1), func() (time.Duration, error) {
		r, err := p.CallTool(ctx, probe.Tool, probe.Args)
		if err != nil {
			return 0, err
		}
		last = r
		return r.Response.Elapsed(), nil
	})
	res.ProbeTimes = times
	if err != nil {
		return fmt.Errorf("probe %s: %w", probe.Tool, err)
	}
	res.ProbeIsError = last.IsError
	text := last.Text()
	if len(text) > 300 {
		text = text[:300]
	}
	res.ProbeText = text
	return nil
}

// TimeCalls runs call n times and collects the durations it reports (use
// mcpproc.Response.Elapsed for exact request-to-response times). It stops at
// the first error.
func TimeCalls(n int, call func() (time.Duration, error)) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		d, err := call()
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	return out, nil
}

// TimeTool calls one tool n times in a running process and returns the
// request-to-response durations. A result with isError:true is an error.
func TimeTool(ctx context.Context, p *mcpproc.Process, tool string, args map[string]any, n int) ([]time.Duration, error) {
	return TimeCalls(n, func() (time.Duration, error) {
		r, err := p.CallTool(ctx, tool, args)
		if err != nil {
			return 0, err
		}
		if r.IsError {
			return r.Response.Elapsed(), errors.New("tool " + tool + " returned isError: " + r.Text())
		}
		return r.Response.Elapsed(), nil
	})
}

// Median returns the median of durations or byte counts; zero for none.
// Even counts average the middle two.
func Median[T ~int64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
