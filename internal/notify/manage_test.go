package notify

import (
	"testing"
	"time"
)

func TestParseMuteDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"1h": time.Hour, "4h": 4 * time.Hour, "1d": 24 * time.Hour, "2w": 14 * 24 * time.Hour,
		"90m": 90 * time.Minute, " 1D ": 24 * time.Hour} {
		if got, err := ParseMuteDuration(in); err != nil || got != want {
			t.Errorf("ParseMuteDuration(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "soon", "10s", "-1h", "0d", "1.5d", "d"} {
		if _, err := ParseMuteDuration(bad); err == nil {
			t.Errorf("ParseMuteDuration(%q) accepted", bad)
		}
	}
}
