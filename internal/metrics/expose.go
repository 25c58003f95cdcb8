package metrics

import (
	"bufio"
	"cmp"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The Prometheus text exposition format (version 0.0.4), written by hand: pmops's metric kinds are few (counters,
// gauges and fixed-bucket histograms with labels, gauges and a summary read at scrape time), and linking
// client_golang (with protobuf, procfs and their package initialisation) cost every start of every binary about
// 3 ms, stdio MCP servers that never serve /metrics included.

const contentType = "text/plain; version=0.0.4; charset=utf-8"

type metricType string

const (
	counterType   metricType = "counter"
	gaugeType     metricType = "gauge"
	histogramType metricType = "histogram"
	summaryType   metricType = "summary"
)

// family is one metric name's HELP, TYPE and samples, as gathered for one scrape.
type family struct {
	name, help string
	typ        metricType
	samples    []sample
}

// sample is one line: name suffix (_bucket, _sum, _count or ""), label pairs in output order, and the value.
type sample struct {
	suffix string
	labels []labelPair
	value  float64
}

type labelPair struct{ name, value string }

// pairs zips label names and values, sorted by name as client_golang writes them.
func pairs(names, values []string) []labelPair {
	p := make([]labelPair, len(names))
	for i := range names {
		p[i] = labelPair{names[i], values[i]}
	}
	slices.SortFunc(p, func(a, b labelPair) int { return cmp.Compare(a.name, b.name) })
	return p
}

// vec is a metric with labels: one series per distinct label values, created on first use.
type vec struct {
	name, help string
	typ        metricType
	labels     []string
	buckets    []float64 // histograms only

	mu     sync.Mutex
	series map[string]*series
}

type series struct {
	values []string
	v      float64  // counter or gauge value
	counts []uint64 // histogram: observations per bucket (not cumulative)
	sum    float64
	n      uint64
}

func newVec(name, help string, typ metricType, buckets []float64, labels ...string) *vec {
	return &vec{name: name, help: help, typ: typ, labels: labels, buckets: buckets, series: map[string]*series{}}
}

// with returns the series for values; the caller holds v.mu.
func (v *vec) with(values []string) *series {
	if len(values) != len(v.labels) {
		panic("metrics: " + v.name + " wants " + strconv.Itoa(len(v.labels)) + " label values, got " + strconv.Itoa(len(values)))
	}
	key := strings.Join(values, "\xff")
	s := v.series[key]
	if s == nil {
		s = &series{values: slices.Clone(values)}
		if v.typ == histogramType {
			s.counts = make([]uint64, len(v.buckets))
		}
		v.series[key] = s
	}
	return s
}

func (v *vec) add(d float64, values ...string) {
	v.mu.Lock()
	v.with(values).v += d
	v.mu.Unlock()
}

func (v *vec) set(x float64, values ...string) {
	v.mu.Lock()
	v.with(values).v = x
	v.mu.Unlock()
}

func (v *vec) observe(x float64, values ...string) {
	v.mu.Lock()
	s := v.with(values)
	if i, ok := slices.BinarySearch(v.buckets, x); ok || i < len(v.buckets) {
		s.counts[i]++ // buckets are upper bounds, inclusive
	}
	s.sum += x
	s.n++
	v.mu.Unlock()
}

func (v *vec) gather() family {
	f := family{name: v.name, help: v.help, typ: v.typ}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, s := range v.series {
		lp := pairs(v.labels, s.values)
		if v.typ != histogramType {
			f.samples = append(f.samples, sample{labels: lp, value: s.v})
			continue
		}
		var cum uint64
		for i, ub := range v.buckets {
			cum += s.counts[i]
			f.samples = append(f.samples, sample{suffix: "_bucket", labels: withLabel(lp, "le", formatFloat(ub)), value: float64(cum)})
		}
		f.samples = append(f.samples,
			sample{suffix: "_bucket", labels: withLabel(lp, "le", "+Inf"), value: float64(s.n)},
			sample{suffix: "_sum", labels: lp, value: s.sum},
			sample{suffix: "_count", labels: lp, value: float64(s.n)})
	}
	return f
}

// withLabel appends a label written last (le, quantile), as the format has it.
func withLabel(lp []labelPair, name, value string) []labelPair {
	return append(slices.Clip(lp), labelPair{name, value})
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// writeText writes families sorted by name, each one's samples in a stable order (by label values, then the
// order gathered, which keeps a histogram's buckets ascending).
func writeText(w io.Writer, fams []family) error {
	slices.SortFunc(fams, func(a, b family) int { return cmp.Compare(a.name, b.name) })
	bw := bufio.NewWriter(w)
	for _, f := range fams {
		if len(f.samples) == 0 {
			continue // as client_golang: a vector without series is not written
		}
		bw.WriteString("# HELP " + f.name + " " + helpEscaper.Replace(f.help) + "\n")
		bw.WriteString("# TYPE " + f.name + " " + string(f.typ) + "\n")
		slices.SortStableFunc(f.samples, func(a, b sample) int { return compareLabels(a.labels, b.labels) })
		for _, s := range f.samples {
			bw.WriteString(f.name + s.suffix)
			if len(s.labels) > 0 {
				bw.WriteByte('{')
				for i, l := range s.labels {
					if i > 0 {
						bw.WriteByte(',')
					}
					bw.WriteString(l.name + `="` + labelEscaper.Replace(l.value) + `"`)
				}
				bw.WriteByte('}')
			}
			bw.WriteString(" " + formatFloat(s.value) + "\n")
		}
	}
	return bw.Flush()
}

// compareLabels orders samples by their label values, ignoring le and quantile (whose order is the gathered one).
func compareLabels(a, b []labelPair) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i].name == "le" || a[i].name == "quantile" || b[i].name == "le" || b[i].name == "quantile" {
			return 0
		}
		if c := cmp.Compare(a[i].value, b[i].value); c != 0 {
			return c
		}
	}
	return 0
}
