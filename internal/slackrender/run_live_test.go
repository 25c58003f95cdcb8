package slackrender

import (
	"strings"
	"testing"
	"time"
)

// TestRunLive: a run's progress says how far it is (done of total, time so far, time left), shows the latest
// request (escaped) only to the person who ran it, and names who runs it in the channel version.
func TestRunLive(t *testing.T) {
	cases := []struct {
		name      string
		s         RunStatus
		want, not []string
	}{
		{name: "own note", s: RunStatus{Collection: "Payments API", Environment: "staging", Done: 12, Total: 40, Latest: "✗ Get <!here> token 401",
			Elapsed: 36 * time.Second, Left: RunLeft(12, 40, 36*time.Second)},
			want: []string{"Running *Payments API with staging*", "12 of 40 requests done", "36 s so far", "about 1 min 24 s left", "Get &lt;!here&gt; token", "replaced by the result"}},
		{name: "channel", s: RunStatus{Collection: "Payments API", Done: 3, Total: 4, Latest: "✗ Get token 401", By: "U0ALICE001",
			Elapsed: 90 * time.Second, Left: RunLeft(3, 4, 90*time.Second), Footer: "Updated every few seconds."},
			want: []string{"<@U0ALICE001> is running *Payments API*", "3 of 4 requests done", "1 min 30 s so far", "about 30 s left", "Updated every few seconds."},
			not:  []string{"Get token", "Latest"}},
		{name: "not started", s: RunStatus{Collection: "X", Elapsed: 6 * time.Second},
			want: []string{"Starting · 6 s so far."}, not: []string{"left"}},
		{name: "all done", s: RunStatus{Collection: "X", Done: 4, Total: 4, Elapsed: time.Hour + 2*time.Minute},
			want: []string{"4 of 4 requests done · 1 h 2 min so far · finishing."}},
	}
	for _, c := range cases {
		m := RunLive(c.s)
		if err := Validate(m); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		md, _ := texts(m)
		all := strings.Join(md, "\n")
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: lacks %q:\n%s", c.name, w, all)
			}
		}
		for _, w := range c.not {
			if strings.Contains(all, w) {
				t.Errorf("%s: shows %q:\n%s", c.name, w, all)
			}
		}
	}
}

func TestRunLeftAndSpan(t *testing.T) {
	for _, c := range []struct {
		done, total int
		elapsed     time.Duration
		want        time.Duration
	}{
		{0, 10, time.Minute, 0}, {5, 0, time.Minute, 0}, {10, 10, time.Minute, 0}, {1, 4, 10 * time.Second, 30 * time.Second},
		{30, 40, 90 * time.Second, 30 * time.Second},
	} {
		if got := RunLeft(c.done, c.total, c.elapsed); got != c.want {
			t.Errorf("RunLeft(%d, %d, %v) = %v, want %v", c.done, c.total, c.elapsed, got, c.want)
		}
	}
	for d, want := range map[time.Duration]string{0: "0 s", 59400 * time.Millisecond: "59 s", time.Minute: "1 min", 125 * time.Second: "2 min 5 s", 3725 * time.Second: "1 h 2 min"} {
		if got := Span(d); got != want {
			t.Errorf("Span(%v) = %q, want %q", d, got, want)
		}
	}
}
