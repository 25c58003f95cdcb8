package slackrender

import (
	"fmt"
	"time"
)

// RunStatus is where a collection run stands, for the messages that follow it while Newman works.
type RunStatus struct {
	Collection, Environment string
	// Done of Total requests have finished; Total is 0 while Newman has not said.
	Done, Total int
	// Latest is Newman's latest event (a request name and its outcome). It is shown to the person who ran the
	// collection only: a message in the channel says how far the run is, not which requests failed.
	Latest string
	// Elapsed is the time since the run started; Left the estimated time until it ends (0: unknown).
	Elapsed, Left time.Duration
	// By, when set, is the Slack user ID of the person who started the run: the message is the run's
	// progress in the channel.
	By string
	// Footer is the small print that says where the next update (or the result) will be.
	Footer string
}

// RunLive renders a run's progress: how far it is (done of total requests), how long it has run, and about how
// long it still needs when that can be estimated.
func RunLive(s RunStatus) Message {
	head := runHead(s.Collection, s.Environment)
	d := &doc{summary: "⏳ Running " + head, title: "Running " + head}
	line := "⏳ Running " + bold(clip(head, 300)) + "…"
	if who, ok := mention(s.By); ok {
		line = "⏳ " + who + " is running " + bold(clip(head, 300)) + "…"
	}
	d.add(sectionBlock(line + " " + escape(RunHowFar(s.Done, s.Total, s.Elapsed, s.Left))))
	if l := oneLine(s.Latest); l != "" && s.By == "" {
		d.add(contextBlock("Latest: " + escape(clip(l, 300))))
	}
	d.add(contextBlock(escape(nonEmpty(s.Footer, "This message is updated as the run goes on and replaced by the result."))))
	return d.render(Options{}, nil)
}

// RunHowFar says how far a run is: "12 of 40 requests done · 1 min 5 s so far · about 2 min 10 s left".
func RunHowFar(done, total int, elapsed, left time.Duration) string {
	var s string
	if total > 0 {
		s = fmt.Sprintf("%d of %s done", done, plural(total, "request", "requests"))
	} else {
		s = "Starting"
	}
	s += " · " + Span(elapsed) + " so far"
	if left > 0 {
		s += " · about " + Span(left) + " left"
	} else if total > 0 && done >= total {
		s += " · finishing"
	}
	return s + "."
}

// Span writes a duration for people: "45 s", "2 min 5 s", "1 h 3 min".
func Span(d time.Duration) string {
	secs := int(d.Round(time.Second) / time.Second)
	switch {
	case secs < 60:
		return fmt.Sprintf("%d s", max(secs, 0))
	case secs < 3600:
		if secs%60 == 0 {
			return fmt.Sprintf("%d min", secs/60)
		}
		return fmt.Sprintf("%d min %d s", secs/60, secs%60)
	default:
		return fmt.Sprintf("%d h %d min", secs/3600, secs%3600/60)
	}
}

// RunLeft estimates the time a run still needs from the pace so far: elapsed/done per request for the
// total-done requests still to go. It is 0 (unknown) before the first request is done or when Newman has not
// said how many requests there are.
func RunLeft(done, total int, elapsed time.Duration) time.Duration {
	if done <= 0 || total <= 0 || done >= total || elapsed <= 0 {
		return 0
	}
	return time.Duration(float64(elapsed) * float64(total-done) / float64(done))
}
