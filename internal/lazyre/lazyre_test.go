package lazyre

import (
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestSameAsRegexp: every method answers as regexp's does, from any number of goroutines at once.
func TestSameAsRegexp(t *testing.T) {
	const pat = `(?i)([a-z]+)=(\d+)`
	in := "a=1, B=22; c=x, dd=333"
	want := regexp.MustCompile(pat)
	got := New(pat)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got.MatchString(in) != want.MatchString(in) || got.MatchString("none") != want.MatchString("none") {
				t.Error("MatchString differs")
			}
			if g, w := got.FindStringSubmatch(in), want.FindStringSubmatch(in); strings.Join(g, "|") != strings.Join(w, "|") {
				t.Errorf("FindStringSubmatch %q, want %q", g, w)
			}
			if g, w := got.FindAllString(in, -1), want.FindAllString(in, -1); strings.Join(g, "|") != strings.Join(w, "|") {
				t.Errorf("FindAllString %q, want %q", g, w)
			}
			if g, w := got.FindAllStringSubmatchIndex(in, 2), want.FindAllStringSubmatchIndex(in, 2); len(g) != len(w) || g[1][3] != w[1][3] {
				t.Errorf("FindAllStringSubmatchIndex %v, want %v", g, w)
			}
			if g, w := got.ReplaceAllString(in, "$2:$1"), want.ReplaceAllString(in, "$2:$1"); g != w {
				t.Errorf("ReplaceAllString %q, want %q", g, w)
			}
			if g, w := got.ReplaceAllStringFunc(in, strings.ToUpper), want.ReplaceAllStringFunc(in, strings.ToUpper); g != w {
				t.Errorf("ReplaceAllStringFunc %q, want %q", g, w)
			}
		})
	}
	wg.Wait()
	if got.String() != pat || got.Compiled() != got.Compiled() {
		t.Error("String or Compiled")
	}
}

func TestBadPatternPanicsOnUse(t *testing.T) {
	r := New(`(`) // no panic yet
	defer func() {
		if recover() == nil {
			t.Error("a bad pattern did not panic on first use")
		}
	}()
	r.MatchString("x")
}
