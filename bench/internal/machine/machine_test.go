package machine

import (
	"os"
	"strings"
	"testing"
)

func TestLoadAverage(t *testing.T) {
	got := LoadAverage("unknown")
	if _, err := os.Stat("/proc/loadavg"); err != nil {
		if got != "unknown" {
			t.Fatalf("no /proc/loadavg, got %q", got)
		}
		return
	}
	if f := strings.Fields(got); len(f) != 3 {
		t.Fatalf("LoadAverage = %q, want three averages", got)
	}
}
