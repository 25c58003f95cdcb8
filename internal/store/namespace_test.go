package store

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidNamespace holds the hand-written check equal to the pattern it replaced.
func TestValidNamespace(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	cases := []string{"", "pmops", "team-a", "a.b_c-D9", "a b", "a/b", "a:b", "ä", "a\n", "\na", strings.Repeat("x", 64),
		strings.Repeat("x", 65), "{}", "*", "a\x00"}
	for c := byte(0); c < 128; c++ {
		cases = append(cases, "x"+string(rune(c)))
	}
	for _, ns := range cases {
		if got, want := validNamespace(ns), re.MatchString(ns); got != want {
			t.Errorf("validNamespace(%q) = %v, the pattern says %v", ns, got, want)
		}
	}
}

func FuzzValidNamespace(f *testing.F) {
	re := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	for _, s := range []string{"pmops", "a b", strings.Repeat("y", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ns string) {
		if got, want := validNamespace(ns), re.MatchString(ns); got != want {
			t.Errorf("validNamespace(%q) = %v, the pattern says %v", ns, got, want)
		}
	})
}
