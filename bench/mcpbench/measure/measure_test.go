package measure

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pmops/pmops/bench/mcpbench/internal/fakeserver"
	"github.com/pmops/pmops/bench/mcpbench/mcpproc"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) {
	fakeserver.MaybeRun()
	os.Exit(m.Run())
}

func TestMedian(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"none", nil, 0},
		{"one", []time.Duration{5 * ms}, 5 * ms},
		{"odd unsorted", []time.Duration{9 * ms, 1 * ms, 5 * ms}, 5 * ms},
		{"even averages the middle two", []time.Duration{4 * ms, 1 * ms, 2 * ms, 100 * ms}, 3 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tt.in...)
			if got := Median(tt.in); got != tt.want {
				t.Errorf("Median = %v, want %v", got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatal("Median reordered its input")
				}
			}
		})
	}
	if got := Median([]int64{10, 30, 20}); got != 20 {
		t.Errorf("Median(int64) = %d", got)
	}
}

func TestTimeCallsStopsAtFirstError(t *testing.T) {
	calls := 0
	times, err := TimeCalls(5, func() (time.Duration, error) {
		calls++
		if calls == 3 {
			return 0, os.ErrDeadlineExceeded
		}
		return time.Duration(calls), nil
	})
	if err == nil || calls != 3 || len(times) != 2 {
		t.Fatalf("calls=%d times=%v err=%v", calls, times, err)
	}
}

func TestMeasureFakeServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := mcpproc.Spec{Name: "fake", Command: []string{os.Args[0]}, Env: fakeserver.Env(8)}
	res, err := Measure(ctx, spec, Options{Runs: 3, Probes: []Probe{
		{Tool: "not-listed", Runs: 2}, // skipped: the server lacks it
		{Tool: "slow", Runs: 2},
		{Tool: "echo", Runs: 2}, // not used: slow came first
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.InitTimes) != 3 || len(res.PeakRSS) != 3 || len(res.ToolsListTimes) != 3 {
		t.Errorf("per-run samples: init %d rss %d list %d, want 3 each", len(res.InitTimes), len(res.PeakRSS), len(res.ToolsListTimes))
	}
	if res.Tools != 3 || res.ToolsListPages != 2 {
		t.Errorf("tools %d pages %d", res.Tools, res.ToolsListPages)
	}
	if want := len(fakeserver.ToolsPage1) + len(fakeserver.ToolsPage2); res.ToolsListBytes != want {
		t.Errorf("tools/list bytes %d, want %d", res.ToolsListBytes, want)
	}
	if res.PeakRSSProcs != 2 || res.PeakRSSMedian() < 8<<20 {
		t.Errorf("peak RSS %d over %d processes, want >= 8 MiB over 2", res.PeakRSSMedian(), res.PeakRSSProcs)
	}
	if res.ProbeTool != "slow" || len(res.ProbeTimes) != 2 || res.ProbeIsError {
		t.Errorf("probe %q times %v isError %v", res.ProbeTool, res.ProbeTimes, res.ProbeIsError)
	}
	// The fake sleeps 20 ms in "slow": the timing must include it.
	if Median(res.ProbeTimes) < 20*time.Millisecond {
		t.Errorf("probe median %v is below the fake's 20 ms sleep", Median(res.ProbeTimes))
	}
}

func TestMeasureReportsStartFailure(t *testing.T) {
	_, err := Measure(context.Background(), mcpproc.Spec{Name: "missing", Command: []string{"/nonexistent/srv"}}, Options{Runs: 1})
	if err == nil {
		t.Fatal("want error")
	}
}

func TestWriteMarkdownGolden(t *testing.T) {
	ms := time.Millisecond
	results := []Result{
		{
			Name: "postman-mcp-server 2.13.0 (default)", Tools: 42, ToolsListBytes: 164622, ToolsListMsgBytes: 164656,
			InitTimes:      []time.Duration{1416 * ms, 1131 * ms, 1457 * ms},
			ToolsListTimes: []time.Duration{23 * ms, 22 * ms, 25 * ms},
			PeakRSS:        []int64{145 << 20, 146 << 20, 144 << 20}, PeakRSSProcs: 1,
		},
		{
			Name: "pmops | go", Tools: 9, ToolsListBytes: 7000, ToolsListMsgBytes: 7034,
			InitTimes:      []time.Duration{9 * ms, 7 * ms, 8 * ms},
			ToolsListTimes: []time.Duration{ms, ms, 2 * ms},
			PeakRSS:        []int64{12 << 20, 12 << 20, 13 << 20}, PeakRSSProcs: 1,
			ProbeTool: "whoami", ProbeTimes: []time.Duration{2 * ms, 3 * ms}, ProbeIsError: true,
		},
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, results); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("markdown differs from %s (rerun with -update if intended):\n%s", golden, buf.String())
	}
}

func TestGroupDigits(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 164656: "164,656", 1234567: "1,234,567", -4321: "-4,321"} {
		if got := groupDigits(in); got != want {
			t.Errorf("groupDigits(%d) = %s, want %s", in, got, want)
		}
	}
}

// TestMeasureAllInTurn: every server gets every run; one that cannot start is reported and leaves the rounds
// without stopping the others.
func TestMeasureAllInTurn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	specs := []mcpproc.Spec{
		{Name: "a", Command: []string{os.Args[0]}, Env: fakeserver.Env(1)},
		{Name: "missing", Command: []string{"/nonexistent/srv"}},
		{Name: "b", Command: []string{os.Args[0]}, Env: fakeserver.Env(1)},
	}
	res, errs := MeasureAll(ctx, specs, Options{Runs: 3})
	if len(res) != 3 || len(errs) != 3 {
		t.Fatalf("%d results, %d errors, want 3 each", len(res), len(errs))
	}
	for _, i := range []int{0, 2} {
		if errs[i] != nil || res[i].Name != specs[i].Name || len(res[i].InitTimes) != 3 || len(res[i].PeakRSS) != 3 || res[i].Tools != 3 {
			t.Errorf("%s: err %v, %d init samples, %d RSS samples, %d tools", specs[i].Name, errs[i], len(res[i].InitTimes), len(res[i].PeakRSS), res[i].Tools)
		}
	}
	if errs[1] == nil || len(res[1].InitTimes) != 0 {
		t.Errorf("missing server: err %v, samples %v", errs[1], res[1].InitTimes)
	}
}
