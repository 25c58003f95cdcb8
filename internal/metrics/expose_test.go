package metrics

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pmops/pmops/internal/ratelimit"
)

// parse reads a scrape with Prometheus's own text parser: a malformed line, a sample before its TYPE, a family
// written twice or a histogram without +Inf fails here.
func parse(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); expfmt.ResponseFormat(http.Header{"Content-Type": {ct}}).FormatType() != expfmt.TypeTextPlain {
		t.Errorf("Content-Type %q is not the text format", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("scrape does not parse: %v\n%s", err, rec.Body.String())
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func find(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		got := labelsOf(m)
		if len(got) != len(labels) {
			continue
		}
		for k, v := range labels {
			if got[k] != v {
				continue next
			}
		}
		return m
	}
	t.Fatalf("%s has no series %v", name, labels)
	return nil
}

func TestExpositionParses(t *testing.T) {
	m := New()
	for _, d := range []time.Duration{0, 5 * time.Millisecond, 40 * time.Millisecond, 3 * time.Second, 10 * time.Minute} {
		m.OnSend(ratelimit.Ticket{Class: ratelimit.Background}, d)
	}
	m.ToolCall("get_collection", "ok", 120*time.Millisecond)
	m.ToolCall("get_collection", "ok", 80*time.Millisecond)
	m.ToolCall("list_monitors", "not_found", time.Millisecond)
	m.RedisError(`ev"al\n` + "\n")
	m.SetLeader("notifier", false, 3)
	m.AddGaugeFunc("pmops_replicas_live", "Replicas heartbeating in Redis at the last beat.", func() float64 { return 2 })
	m.AddGates(func() map[string]ratelimit.Snapshot {
		return map[string]ratelimit.Snapshot{"k1": {Limit: 60, MonthRemaining: -1}, "k2": {Limit: 300, QueuedInteractive: 2}}
	})
	m.AddOutbox(func(context.Context) (map[string]int, time.Time, error) {
		return map[string]int{"pending": 1}, time.Time{}, nil
	})
	fams := parse(t, m)

	wantTypes := map[string]dto.MetricType{
		"pmops_gate_wait_seconds": dto.MetricType_HISTOGRAM, "pmops_gate_grants_total": dto.MetricType_COUNTER,
		"pmops_tool_calls_total": dto.MetricType_COUNTER, "pmops_tool_call_seconds": dto.MetricType_HISTOGRAM,
		"pmops_redis_errors_total": dto.MetricType_COUNTER, "pmops_leader": dto.MetricType_GAUGE,
		"pmops_leader_token": dto.MetricType_GAUGE, "pmops_replicas_live": dto.MetricType_GAUGE,
		"pmops_gate_limit": dto.MetricType_GAUGE, "pmops_gate_queued": dto.MetricType_GAUGE,
		"pmops_gate_429_total": dto.MetricType_COUNTER, "pmops_quota_month_remaining": dto.MetricType_GAUGE,
		"pmops_outbox_items": dto.MetricType_GAUGE, "pmops_outbox_oldest_open_seconds": dto.MetricType_GAUGE,
		"pmops_outbox_read_errors": dto.MetricType_GAUGE,
		// client_golang's Go and process collectors' names, which dashboards use.
		"go_goroutines": dto.MetricType_GAUGE, "go_threads": dto.MetricType_GAUGE, "go_info": dto.MetricType_GAUGE,
		"go_gc_duration_seconds": dto.MetricType_SUMMARY, "go_memstats_alloc_bytes": dto.MetricType_GAUGE,
		"go_memstats_alloc_bytes_total": dto.MetricType_COUNTER, "go_memstats_heap_inuse_bytes": dto.MetricType_GAUGE,
		"go_memstats_sys_bytes": dto.MetricType_GAUGE, "go_memstats_next_gc_bytes": dto.MetricType_GAUGE,
		"go_sched_gomaxprocs_threads": dto.MetricType_GAUGE, "go_gc_gogc_percent": dto.MetricType_GAUGE,
		"process_cpu_seconds_total": dto.MetricType_COUNTER, "process_resident_memory_bytes": dto.MetricType_GAUGE,
		"process_open_fds": dto.MetricType_GAUGE, "process_max_fds": dto.MetricType_GAUGE,
		"process_start_time_seconds": dto.MetricType_GAUGE, "process_virtual_memory_bytes": dto.MetricType_GAUGE,
	}
	for name, typ := range wantTypes {
		f := fams[name]
		if f == nil {
			t.Errorf("missing family %s", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s: type %v, want %v", name, f.GetType(), typ)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s: no HELP", name)
		}
	}
	if f := fams["pmops_slack_acks_total"]; f != nil {
		t.Error("a vector without series is written")
	}

	// Histogram: the buckets are latencyBuckets, cumulative, ≤ upper bound; 10 min only in +Inf.
	h := find(t, fams, "pmops_gate_wait_seconds", map[string]string{"class": "background"}).GetHistogram()
	if h.GetSampleCount() != 5 || math.Abs(h.GetSampleSum()-603.045) > 1e-9 {
		t.Errorf("count %d sum %v, want 5 and 603.045", h.GetSampleCount(), h.GetSampleSum())
	}
	buckets := h.GetBucket()
	if len(buckets) != len(latencyBuckets)+1 {
		t.Fatalf("%d buckets, want %d and +Inf", len(buckets), len(latencyBuckets))
	}
	if inf := buckets[len(buckets)-1]; !math.IsInf(inf.GetUpperBound(), 1) || inf.GetCumulativeCount() != 5 {
		t.Errorf("last bucket le=%v %d, want +Inf 5", inf.GetUpperBound(), inf.GetCumulativeCount())
	}
	want := map[float64]uint64{.005: 2, .01: 2, .025: 2, .05: 3, 2.5: 3, 5: 4, 120: 4}
	for i, b := range buckets[:len(latencyBuckets)] {
		if b.GetUpperBound() != latencyBuckets[i] {
			t.Errorf("bucket %d bound %v, want %v", i, b.GetUpperBound(), latencyBuckets[i])
		}
		if n, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != n {
			t.Errorf("le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), n)
		}
	}
	if h := find(t, fams, "pmops_tool_call_seconds", map[string]string{"tool": "get_collection"}).GetHistogram(); h.GetSampleCount() != 2 {
		t.Errorf("get_collection latency count %d, want 2", h.GetSampleCount())
	}

	checks := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"pmops_gate_grants_total", map[string]string{"class": "background"}, 5},
		{"pmops_tool_calls_total", map[string]string{"tool": "get_collection", "outcome": "ok"}, 2},
		{"pmops_tool_calls_total", map[string]string{"tool": "list_monitors", "outcome": "not_found"}, 1},
		{"pmops_redis_errors_total", map[string]string{"command": `ev"al\n` + "\n"}, 1}, // escaped and read back
		{"pmops_leader", map[string]string{"lease": "notifier"}, 0},
		{"pmops_leader_token", map[string]string{"lease": "notifier"}, 3},
		{"pmops_replicas_live", map[string]string{}, 2},
		{"pmops_gate_limit", map[string]string{"key": "k2"}, 300},
		{"pmops_gate_queued", map[string]string{"key": "k2", "class": "interactive"}, 2},
		{"pmops_quota_month_remaining", map[string]string{"key": "k1"}, -1},
		{"pmops_outbox_items", map[string]string{"state": "pending"}, 1},
		{"pmops_outbox_items", map[string]string{"state": "dropped"}, 0},
		{"pmops_outbox_oldest_open_seconds", map[string]string{}, 0},
		{"go_info", map[string]string{"version": goVersion()}, 1},
	}
	for _, c := range checks {
		got := find(t, fams, c.name, c.labels)
		var v float64
		switch {
		case got.GetCounter() != nil:
			v = got.GetCounter().GetValue()
		case got.GetGauge() != nil:
			v = got.GetGauge().GetValue()
		}
		if v != c.value {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.value)
		}
	}
	if g := find(t, fams, "go_goroutines", map[string]string{}).GetGauge().GetValue(); g < 1 {
		t.Errorf("go_goroutines %v", g)
	}
	if s := find(t, fams, "go_gc_duration_seconds", map[string]string{}).GetSummary(); len(s.GetQuantile()) != 5 {
		t.Errorf("go_gc_duration_seconds has %d quantiles, want 5", len(s.GetQuantile()))
	}
	if rss := find(t, fams, "process_resident_memory_bytes", map[string]string{}).GetGauge().GetValue(); rss < 1<<20 {
		t.Errorf("process_resident_memory_bytes %v", rss)
	}
	if st := find(t, fams, "process_start_time_seconds", map[string]string{}).GetGauge().GetValue(); math.Abs(st-float64(time.Now().Unix())) > 24*3600 {
		t.Errorf("process_start_time_seconds %v is not near now", st)
	}
}

func TestAddGaugeFuncTwicePanics(t *testing.T) {
	m := New()
	m.AddGaugeFunc("pmops_x", "x", func() float64 { return 0 })
	defer func() {
		if recover() == nil {
			t.Error("a second gauge with the same name was accepted")
		}
	}()
	m.AddGaugeFunc("pmops_x", "x", func() float64 { return 0 })
}

func TestLabelValuesCountMustMatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("wrong number of label values accepted")
		}
	}()
	New().toolCalls.add(1, "only_tool")
}

func goVersion() string { return runtime.Version() }
