package emulator

import (
	"testing"
	"time"

	"github.com/pmops/pmops/internal/clock"
)

func BenchmarkNewDemo(b *testing.B) {
	clk := clock.NewFake(testStart)
	for b.Loop() {
		New(Options{Clock: clk})
	}
}

func BenchmarkSimulateRun(b *testing.B) {
	e := New(Options{Clock: clock.NewFake(testStart)})
	m := e.findMonitorAny(bareID(mustUID(b, e, "monitor", DemoMonitorFailing)))
	n := 0
	for b.Loop() {
		n++
		e.simulateRun(m, n, testStart, "job")
	}
}

func BenchmarkGetLargeCollection(b *testing.B) {
	f := newFixture(b, Options{PerWindow: 1 << 30, MonthlyQuota: 1 << 40})
	uid, _ := f.e.AddGeneratedCollection(DemoKey, "", "Bench", 4000)
	for b.Loop() {
		f.clk.Advance(time.Millisecond)
		f.do("GET", "/collections/"+uid, DemoKey, nil)
	}
}

func mustUID(b testing.TB, e *Emulator, kind, name string) string {
	u, ok := e.UIDByName(kind, name)
	if !ok {
		b.Fatalf("no %s %q", kind, name)
	}
	return u
}
