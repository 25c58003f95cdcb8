package metrics

import (
	"bytes"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// goFamilies are the Go runtime metrics client_golang's default Go collector exposes, with its names and help
// texts, so dashboards built on them keep working.
func goFamilies() []family {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	g := func(name, help string, v float64) family {
		return family{name: name, help: help, typ: gaugeType, samples: []sample{{value: v}}}
	}
	c := func(name, help string, v float64) family {
		f := g(name, help, v)
		f.typ = counterType
		return f
	}
	threads, _ := runtime.ThreadCreateProfile(nil)
	fams := []family{
		g("go_goroutines", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine())),
		g("go_threads", "Number of OS threads created.", float64(threads)),
		{name: "go_info", help: "Information about the Go environment.", typ: gaugeType,
			samples: []sample{{labels: []labelPair{{"version", runtime.Version()}}, value: 1}}},
		gcDuration(),
		g("go_memstats_alloc_bytes", "Number of bytes allocated in heap and currently in use. Equals to /memory/classes/heap/objects:bytes.", float64(ms.Alloc)),
		c("go_memstats_alloc_bytes_total", "Total number of bytes allocated in heap until now, even if released already. Equals to /gc/heap/allocs:bytes.", float64(ms.TotalAlloc)),
		g("go_memstats_buck_hash_sys_bytes", "Number of bytes used by the profiling bucket hash table. Equals to /memory/classes/profiling/buckets:bytes.", float64(ms.BuckHashSys)),
		c("go_memstats_frees_total", "Total number of heap objects frees. Equals to /gc/heap/frees:objects + /gc/heap/tiny/allocs:objects.", float64(ms.Frees)),
		g("go_memstats_gc_sys_bytes", "Number of bytes used for garbage collection system metadata. Equals to /memory/classes/metadata/other:bytes.", float64(ms.GCSys)),
		g("go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes. Equals to /memory/classes/heap/objects:bytes.", float64(ms.HeapAlloc)),
		g("go_memstats_heap_idle_bytes", "Number of heap bytes waiting to be used. Equals to /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", float64(ms.HeapIdle)),
		g("go_memstats_heap_inuse_bytes", "Number of heap bytes that are in use. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes", float64(ms.HeapInuse)),
		g("go_memstats_heap_objects", "Number of currently allocated objects. Equals to /gc/heap/objects:objects.", float64(ms.HeapObjects)),
		g("go_memstats_heap_released_bytes", "Number of heap bytes released to OS. Equals to /memory/classes/heap/released:bytes.", float64(ms.HeapReleased)),
		g("go_memstats_heap_sys_bytes", "Number of heap bytes obtained from system. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes + /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", float64(ms.HeapSys)),
		g("go_memstats_last_gc_time_seconds", "Number of seconds since 1970 of last garbage collection.", float64(ms.LastGC)/1e9),
		c("go_memstats_mallocs_total", "Total number of heap objects allocated, both live and gc-ed. Semantically a counter version for go_memstats_heap_objects gauge. Equals to /gc/heap/allocs:objects + /gc/heap/tiny/allocs:objects.", float64(ms.Mallocs)),
		g("go_memstats_mcache_inuse_bytes", "Number of bytes in use by mcache structures. Equals to /memory/classes/metadata/mcache/inuse:bytes.", float64(ms.MCacheInuse)),
		g("go_memstats_mcache_sys_bytes", "Number of bytes used for mcache structures obtained from system. Equals to /memory/classes/metadata/mcache/inuse:bytes + /memory/classes/metadata/mcache/free:bytes.", float64(ms.MCacheSys)),
		g("go_memstats_mspan_inuse_bytes", "Number of bytes in use by mspan structures. Equals to /memory/classes/metadata/mspan/inuse:bytes.", float64(ms.MSpanInuse)),
		g("go_memstats_mspan_sys_bytes", "Number of bytes used for mspan structures obtained from system. Equals to /memory/classes/metadata/mspan/inuse:bytes + /memory/classes/metadata/mspan/free:bytes.", float64(ms.MSpanSys)),
		g("go_memstats_next_gc_bytes", "Number of heap bytes when next garbage collection will take place. Equals to /gc/heap/goal:bytes.", float64(ms.NextGC)),
		g("go_memstats_other_sys_bytes", "Number of bytes used for other system allocations. Equals to /memory/classes/other:bytes.", float64(ms.OtherSys)),
		g("go_memstats_stack_inuse_bytes", "Number of bytes obtained from system for stack allocator in non-CGO environments. Equals to /memory/classes/heap/stacks:bytes.", float64(ms.StackInuse)),
		g("go_memstats_stack_sys_bytes", "Number of bytes obtained from system for stack allocator. Equals to /memory/classes/heap/stacks:bytes + /memory/classes/os-stacks:bytes.", float64(ms.StackSys)),
		g("go_memstats_sys_bytes", "Number of bytes obtained from system. Equals to /memory/classes/total:byte.", float64(ms.Sys)),
	}
	// Not runtime/metrics: its package initialisation (a map of every metric's description) ran at every start of
	// every binary linking this package. pmops never calls debug.SetGCPercent, so GOGC is the setting.
	return append(fams,
		g("go_gc_gogc_percent", "Heap size target percentage configured by the user, otherwise 100. This value is set by the GOGC environment variable.", gogc()),
		g("go_gc_gomemlimit_bytes", "Go runtime memory limit configured by the user, otherwise math.MaxInt64. This value is set by the GOMEMLIMIT environment variable, and the runtime/debug.SetMemoryLimit function.", float64(debug.SetMemoryLimit(-1))),
		g("go_sched_gomaxprocs_threads", "The current runtime.GOMAXPROCS setting, or the number of operating system threads that can execute user-level Go code simultaneously.", float64(runtime.GOMAXPROCS(0))))
}

// gogc reads GOGC as the runtime does: unset is 100, "off" is -1 (reported as such by /gc/gogc:percent too).
func gogc() float64 {
	v := os.Getenv("GOGC")
	if v == "" {
		return 100
	}
	if v == "off" {
		return -1
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 100
	}
	return float64(n)
}

// gcDuration is the stop-the-world pause summary: quantiles 0, .25, .5, .75, 1 over the pauses the runtime keeps.
func gcDuration() family {
	var st debug.GCStats
	st.PauseQuantiles = make([]time.Duration, 5)
	debug.ReadGCStats(&st)
	f := family{name: "go_gc_duration_seconds", typ: summaryType,
		help: "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles."}
	for i, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		f.samples = append(f.samples, sample{labels: []labelPair{{"quantile", q}}, value: st.PauseQuantiles[i].Seconds()})
	}
	f.samples = append(f.samples,
		sample{suffix: "_sum", value: st.PauseTotal.Seconds()},
		sample{suffix: "_count", value: float64(st.NumGC)})
	return f
}

// processFamilies are client_golang's process collector's metrics, read from /proc (Linux; elsewhere none).
func processFamilies() []family {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil
	}
	// Fields after the command name, which is in parentheses and may hold spaces: field 3 (state) is f[0].
	rest := stat[bytes.LastIndexByte(stat, ')')+1:]
	f := strings.Fields(string(rest))
	if len(f) < 22 {
		return nil
	}
	field := func(n int) float64 { // n is the field's number in proc(5)
		v, _ := strconv.ParseFloat(f[n-3], 64)
		return v
	}
	const ticks = 100 // USER_HZ, fixed at 100 on Linux for /proc
	fams := []family{
		{name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", typ: counterType,
			samples: []sample{{value: (field(14) + field(15)) / ticks}}},
		gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", field(23)),
		gauge("process_resident_memory_bytes", "Resident memory size in bytes.", field(24)*float64(os.Getpagesize())),
	}
	if boot := bootTime(); boot > 0 {
		fams = append(fams, gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", boot+field(22)/ticks))
	}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		fams = append(fams, gauge("process_open_fds", "Number of open file descriptors.", float64(len(fds))))
	}
	if lim, err := os.ReadFile("/proc/self/limits"); err == nil {
		if v, ok := limit(lim, "Max open files"); ok {
			fams = append(fams, gauge("process_max_fds", "Maximum number of open file descriptors.", v))
		}
		if v, ok := limit(lim, "Max address space"); ok {
			fams = append(fams, gauge("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", v))
		}
	}
	if in, out, ok := netBytes(); ok {
		fams = append(fams,
			family{name: "process_network_receive_bytes_total", help: "Number of bytes received by the process over the network.", typ: counterType, samples: []sample{{value: in}}},
			family{name: "process_network_transmit_bytes_total", help: "Number of bytes sent by the process over the network.", typ: counterType, samples: []sample{{value: out}}})
	}
	return fams
}

func gauge(name, help string, v float64) family {
	return family{name: name, help: help, typ: gaugeType, samples: []sample{{value: v}}}
}

// bootTime is the btime line of /proc/stat, in seconds since the epoch.
func bootTime() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return n
		}
	}
	return 0
}

// limit reads the soft limit of one row of /proc/self/limits ("unlimited" is +Inf, as client_golang reports it
// for the address space: it uses the maximum uint64).
func limit(b []byte, row string) (float64, bool) {
	for line := range strings.Lines(string(b)) {
		if !strings.HasPrefix(line, row) {
			continue
		}
		f := strings.Fields(line[len(row):])
		if len(f) == 0 {
			return 0, false
		}
		if f[0] == "unlimited" {
			return float64(math.MaxUint64), true
		}
		v, err := strconv.ParseFloat(f[0], 64)
		return v, err == nil
	}
	return 0, false
}

// netBytes is IpExt's InOctets and OutOctets from /proc/self/net/netstat (the process's network namespace).
func netBytes() (in, out float64, ok bool) {
	b, err := os.ReadFile("/proc/self/net/netstat")
	if err != nil {
		return 0, 0, false
	}
	var header []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "IpExt:" {
			continue
		}
		if header == nil {
			header = f
			continue
		}
		for i := 1; i < len(f) && i < len(header); i++ {
			v, _ := strconv.ParseFloat(f[i], 64)
			switch header[i] {
			case "InOctets":
				in, ok = v, true
			case "OutOctets":
				out = v
			}
		}
		return in, out, ok
	}
	return 0, 0, false
}
