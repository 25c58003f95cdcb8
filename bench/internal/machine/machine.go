// Package machine describes the machine a benchmark runs on, for the reports' headers.
package machine

import (
	"os"
	"strings"
)

// LoadAverage is /proc/loadavg's three averages ("1.86 0.80 1.11"), or unknown where there is none.
func LoadAverage(unknown string) string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return unknown
}
