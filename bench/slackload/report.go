package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/slackfake"
)

// Outcome is what the final answer to a command told the person who typed it.
type Outcome int

const (
	Answered        Outcome = iota + 1 // the command's result
	RateLimited                        // the rate limit or budget, and when to retry
	RateLimitedWhen                    // the rate limit or budget, without saying when
	OtherError                         // any other answer (Postman not answering, upstream error, busy, …)
)

// saysWhen is a time a reader can act on: a Slack date token or a clock time.
var saysWhen = regexp.MustCompile(`!date\^[0-9]+\^|\b[0-9]{2}:[0-9]{2}(:[0-9]{2})? UTC\b`)

// Classify says how a final answer ended the command whose result starts with the header want: a result shows
// that header first (errors the bot renders have no header), a rate-limited reply says when to retry.
func Classify(a answer, want string) Outcome {
	lower := strings.ToLower(a.text)
	if strings.Contains(lower, "rate limit") || strings.Contains(lower, "rate budget") {
		if saysWhen.MatchString(a.text) || saysWhen.Match(a.blocks) {
			return RateLimited
		}
		return RateLimitedWhen
	}
	var blocks []struct {
		Type string `json:"type"`
		Text struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if json.Unmarshal(a.blocks, &blocks) == nil && len(blocks) > 0 && blocks[0].Type == "header" && blocks[0].Text.Text == want {
		return Answered
	}
	return OtherError
}

// UserCount is one user's share of the run.
type UserCount struct {
	User                    string
	Sent, Answered, Results int
}

// Result is one run's measurements.
type Result struct {
	Name string

	Sent     int
	Acked    int // HTTP 200 within Slack's 3 s
	TimedOut int // Delivery.TimedOut: Slack gave up, the user saw operation_timeout
	Failed   int // delivered but not 200, or not deliverable at all
	Acks     []time.Duration

	Results, RateLimited, Other, Lost int
	RateLimitedNoWhen                 int // rate-limited replies that did not say when
	OtherSamples                      []string
	// Waited is the commands whose answer came more than QueuedAfter later than the same command takes on an
	// idle Postman; QueuedOnTime of them were told "Queued…" within QueuedWithin of their ack.
	Waited, QueuedOnTime int
	QueuedNotes          int // commands told "Queued…" at all
	// QueuedNoWait is the commands told "Queued…" that did not wait more than QueuedAfter (false alarms);
	// QueuedLate is, for the commands told "Queued…" that got their result, how much later the answer came
	// than the note announced (note time + "about T s"; negative: sooner).
	QueuedNoWait   int
	QueuedLate     []time.Duration
	NoWaitSamples  []string
	NotToldSamples []string        // commands that waited but were not told in time, first few
	AnswerLatency  []time.Duration // command sent → final answer shown

	Users []UserCount

	APICalls, Emulator429 int
	WebAPIEphemerals      int // answers that fell back to chat.postEphemeral (not attributable to one command)
	Wall                  time.Duration
	Capped                bool // the wait cap ended the run with answers outstanding
}

// QueuedAfter and QueuedWithin are the figures: a command that waits more than QueuedAfter is told so
// within QueuedWithin of its ack.
const (
	QueuedAfter  = 2 * time.Second
	QueuedWithin = 3 * time.Second
)

func collect(name string, cmds []*command, final func(*command) (answer, time.Time, bool), refs References) Result {
	r := Result{Name: name, Sent: len(cmds)}
	users := map[string]*UserCount{}
	for _, c := range cmds {
		u := users[c.user]
		if u == nil {
			u = &UserCount{User: c.user}
			users[c.user] = u
		}
		u.Sent++
		switch {
		case c.err != nil:
			r.Failed++
		case c.del.TimedOut:
			r.TimedOut++
			r.Acks = append(r.Acks, c.del.Latency)
		case c.del.Status != 200:
			r.Failed++
			r.Acks = append(r.Acks, c.del.Latency)
		default:
			r.Acked++
			r.Acks = append(r.Acks, c.del.Latency)
		}
		a, queuedAt, ok := final(c)
		if !queuedAt.IsZero() {
			r.QueuedNotes++
		}
		if !ok {
			r.Lost++
			continue
		}
		u.Answered++
		r.AnswerLatency = append(r.AnswerLatency, a.at.Sub(c.sentAt))
		wait := a.at.Sub(c.sentAt) - refs.Idle[c.text]
		if !queuedAt.IsZero() && wait <= QueuedAfter {
			r.QueuedNoWait++
			if len(r.NoWaitSamples) < 5 {
				r.NoWaitSamples = append(r.NoWaitSamples, fmt.Sprintf("%s (sent at +%s, waited %s, told about %s)", c.text, secs(c.sentAt.Sub(cmds[0].sentAt)), secs(wait), secs(a.about)))
			}
		}
		if !queuedAt.IsZero() && Classify(a, refs.Header[c.text]) == Answered {
			r.QueuedLate = append(r.QueuedLate, a.at.Sub(queuedAt.Add(a.about)))
		}
		if wait > QueuedAfter {
			r.Waited++
			ackAt := c.sentAt.Add(c.del.Latency)
			switch {
			case !queuedAt.IsZero() && queuedAt.Sub(ackAt) <= QueuedWithin:
				r.QueuedOnTime++
			case len(r.NotToldSamples) < 5:
				told := "never told"
				if !queuedAt.IsZero() {
					told = "told after " + secs(queuedAt.Sub(ackAt))
				}
				r.NotToldSamples = append(r.NotToldSamples, fmt.Sprintf("%s (sent at +%s, waited %s, %s)", c.text, secs(c.sentAt.Sub(cmds[0].sentAt)), secs(wait), told))
			}
		}
		switch Classify(a, refs.Header[c.text]) {
		case Answered:
			r.Results++
			u.Results++
		case RateLimited:
			r.RateLimited++
		case RateLimitedWhen:
			r.RateLimitedNoWhen++
			r.Other++
			if len(r.OtherSamples) < 3 {
				r.OtherSamples = append(r.OtherSamples, fmt.Sprintf("%s → %s (rate limited, no time)", c.text, a.text))
			}
		default:
			r.Other++
			if len(r.OtherSamples) < 3 {
				r.OtherSamples = append(r.OtherSamples, fmt.Sprintf("%s → %s", c.text, a.text))
			}
		}
	}
	slices.Sort(r.Acks)
	slices.Sort(r.AnswerLatency)
	slices.Sort(r.QueuedLate)
	for _, u := range users {
		r.Users = append(r.Users, *u)
	}
	slices.SortFunc(r.Users, func(a, b UserCount) int { return strings.Compare(a.User, b.User) })
	return r
}

func (r *Result) addEmulator(emu *emulator.Emulator) {
	st := emu.Stats(emulator.DemoKey)
	r.APICalls = st.Requests
	r.Emulator429 = st.RateLimited + st.QuotaExhausted
}

// Percentile is the nearest-rank percentile of sorted durations (0 for none).
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Jain is Jain's fairness index (Σx)²/(n·Σx²): 1 when every x is equal, 1/n when one takes everything. It is 1
// for no values or all zeros (nobody was treated worse than anyone else).
func Jain(xs []int) float64 {
	var sum, sq float64
	for _, x := range xs {
		sum += float64(x)
		sq += float64(x) * float64(x)
	}
	if sq == 0 {
		return 1
	}
	return sum * sum / (float64(len(xs)) * sq)
}

// shares returns the min and max of part/sent over users.
func (r Result) shares(part func(UserCount) int) (lo, hi float64) {
	lo, hi = 1, 0
	for _, u := range r.Users {
		if u.Sent == 0 {
			continue
		}
		s := float64(part(u)) / float64(u.Sent)
		lo, hi = min(lo, s), max(hi, s)
	}
	if len(r.Users) == 0 {
		lo = 0
	}
	return lo, hi
}

func (r Result) jain(part func(UserCount) int) float64 {
	xs := make([]int, len(r.Users))
	for i, u := range r.Users {
		xs[i] = part(u)
	}
	return Jain(xs)
}

func answered(u UserCount) int { return u.Answered }
func results(u UserCount) int  { return u.Results }

// Threshold is one of the figures and whether the run met it.
type Threshold struct {
	Name, Want, Got string
	Met             bool
}

// answerGrace is how long after the job timeout an answer may still arrive: the reply is posted after the job's
// context ends (the responder has its own 30 s budget, but a loopback post takes milliseconds).
const answerGrace = 5 * time.Second

// late counts answers that came after the job timeout (plus grace): the person was kept waiting past the bound
// the bot promises.
func (r Result) late(jobTimeout time.Duration) int {
	n := 0
	for _, d := range r.AnswerLatency {
		if d > jobTimeout+answerGrace {
			n++
		}
	}
	return n
}

// Thresholds checks the bot run against the figures, plus the bound the job timeout promises.
// starvation is checked only when the key's budget can serve everyone within the job timeout (the load scenario);
// in the waits scenario most commands must end rate-limited.
func Thresholds(r Result, maxAckP99, jobTimeout time.Duration, starvation bool) []Threshold {
	p99 := Percentile(r.Acks, 99)
	minResults, _ := r.shares(results)
	starved := 0
	for _, u := range r.Users {
		if u.Results == 0 {
			starved++
		}
	}
	th := []Threshold{
		{"ack latency p99", "≤ " + ms(maxAckP99), ms(p99), p99 <= maxAckP99 && len(r.Acks) == r.Sent},
		{"acked within Slack's 3 s", fmt.Sprintf("%d/%d", r.Sent, r.Sent), fmt.Sprintf("%d/%d", r.Acked, r.Sent), r.Acked == r.Sent},
		{"answered with a result or a rate-limited reply that says when", fmt.Sprintf("%d/%d", r.Sent, r.Sent),
			fmt.Sprintf("%d/%d", r.Results+r.RateLimited, r.Sent), r.Results+r.RateLimited == r.Sent},
		{"lost (no answer)", "0", fmt.Sprint(r.Lost), r.Lost == 0},
		{"429s from Postman", "0", fmt.Sprint(r.Emulator429), r.Emulator429 == 0},
		{fmt.Sprintf("told \"Queued…\" within %s of the ack (commands that waited > %s)", secs(QueuedWithin), secs(QueuedAfter)),
			fmt.Sprintf("%d/%d", r.Waited, r.Waited), fmt.Sprintf("%d/%d", r.QueuedOnTime, r.Waited), r.QueuedOnTime == r.Waited},
		{"answered later than the job timeout + " + secs(answerGrace), "0", fmt.Sprintf("%d (max %s)", r.late(jobTimeout), secs(Percentile(r.AnswerLatency, 100))),
			r.late(jobTimeout) == 0},
	}
	if starvation {
		th = append(th, Threshold{"users with no result (starved)", "0", fmt.Sprintf("%d (min per-user result share %s)", starved, pct(minResults)), starved == 0})
	}
	return th
}

// WriteMarkdown prints the side-by-side table, then the thresholds.
func WriteMarkdown(w io.Writer, s Scenario, bot, naive *Result, th []Threshold) {
	runs := []*Result{bot}
	if naive != nil {
		runs = append(runs, naive)
	}
	fmt.Fprintf(w, "%d slash commands over %s (one every %s) from %d users in #general; emulator latency %s, %d requests per %s per key plus Postman's 10-per-10 s route bucket; job timeout %s, %s.\n\n",
		s.Commands, dur(s.Over), ms(s.Over/time.Duration(max(1, s.Commands))), s.Users, dur(s.Latency), s.PerWindow, dur(s.Window),
		dur(s.JobTimeout), workers(s.Workers))
	head := "| |"
	sep := "|---|"
	for _, r := range runs {
		head += " " + r.Name + " |"
		sep += "---|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, sep)
	row := func(label string, cell func(r *Result) string) {
		line := "| " + label + " |"
		for _, r := range runs {
			line += " " + cell(r) + " |"
		}
		fmt.Fprintln(w, line)
	}
	row("commands sent", func(r *Result) string { return fmt.Sprint(r.Sent) })
	row(fmt.Sprintf("acked (HTTP 200 within %s)", ackDeadline(s)), func(r *Result) string { return fmt.Sprint(r.Acked) })
	row("ack latency p50 / p95 / p99 / max", func(r *Result) string {
		return fmt.Sprintf("%s / %s / %s / %s", ms(Percentile(r.Acks, 50)), ms(Percentile(r.Acks, 95)),
			ms(Percentile(r.Acks, 99)), ms(Percentile(r.Acks, 100)))
	})
	row("deliveries timed out (user sees operation_timeout)", func(r *Result) string { return fmt.Sprint(r.TimedOut) })
	row("answered with a result", func(r *Result) string { return fmt.Sprint(r.Results) })
	row("answered rate-limited, saying when", func(r *Result) string { return fmt.Sprint(r.RateLimited) })
	row("answered rate-limited, not saying when", func(r *Result) string { return fmt.Sprint(r.RateLimitedNoWhen) })
	row(fmt.Sprintf("waited > %s (answer later than on an idle Postman)", secs(QueuedAfter)), func(r *Result) string { return fmt.Sprint(r.Waited) })
	row(fmt.Sprintf("… of which told \"Queued…\" within %s of the ack", secs(QueuedWithin)), func(r *Result) string { return fmt.Sprint(r.QueuedOnTime) })
	row(fmt.Sprintf("told \"Queued…\" but waited ≤ %s (false alarms)", secs(QueuedAfter)), func(r *Result) string { return fmt.Sprint(r.QueuedNoWait) })
	row("told \"Queued…\", got the result: answer − (note + announced T), p10 / p50 / p90", func(r *Result) string {
		if len(r.QueuedLate) == 0 {
			return "–"
		}
		return fmt.Sprintf("%s / %s / %s", signedSecs(Percentile(r.QueuedLate, 10)), signedSecs(Percentile(r.QueuedLate, 50)), signedSecs(Percentile(r.QueuedLate, 90)))
	})
	row("other errors", func(r *Result) string { return fmt.Sprint(r.Other) })
	row("lost (no answer)", func(r *Result) string { return fmt.Sprint(r.Lost) })
	row("command → answer p50 / p99 / max", func(r *Result) string {
		return fmt.Sprintf("%s / %s / %s", secs(Percentile(r.AnswerLatency, 50)), secs(Percentile(r.AnswerLatency, 99)),
			secs(Percentile(r.AnswerLatency, 100)))
	})
	row(fmt.Sprintf("answered later than the job timeout + %s", secs(answerGrace)), func(r *Result) string { return fmt.Sprint(r.late(s.JobTimeout)) })
	row("per-user answered share min / max", func(r *Result) string {
		lo, hi := r.shares(answered)
		return pct(lo) + " / " + pct(hi)
	})
	row("per-user result share min / max", func(r *Result) string {
		lo, hi := r.shares(results)
		return pct(lo) + " / " + pct(hi)
	})
	row("Jain's index over users (answered / results)", func(r *Result) string {
		return fmt.Sprintf("%.3f / %.3f", r.jain(answered), r.jain(results))
	})
	row("Postman API calls (emulator)", func(r *Result) string { return fmt.Sprint(r.APICalls) })
	row("429s the emulator returned", func(r *Result) string { return fmt.Sprint(r.Emulator429) })
	row("wall time", func(r *Result) string {
		t := secs(r.Wall)
		if r.Capped {
			t += " (wait cap hit)"
		}
		return t
	})
	for _, r := range runs {
		if len(r.OtherSamples) > 0 {
			fmt.Fprintf(w, "\nOther errors (%s), first %d: %s\n", r.Name, len(r.OtherSamples), strings.Join(r.OtherSamples, "; "))
		}
		if len(r.NoWaitSamples) > 0 {
			fmt.Fprintf(w, "\nTold \"Queued…\" but did not wait (%s), first %d: %s\n", r.Name, len(r.NoWaitSamples), strings.Join(r.NoWaitSamples, "; "))
		}
		if len(r.NotToldSamples) > 0 {
			fmt.Fprintf(w, "\nWaited but not told \"Queued…\" in time (%s), first %d: %s\n", r.Name, len(r.NotToldSamples), strings.Join(r.NotToldSamples, "; "))
		}
		if r.WebAPIEphemerals > 0 {
			fmt.Fprintf(w, "\n%s: %d answers fell back to chat.postEphemeral.\n", r.Name, r.WebAPIEphemerals)
		}
	}
	fmt.Fprintln(w, "\n| threshold (pmops bot) | want | got | |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, t := range th {
		verdict := "met"
		if !t.Met {
			verdict = "**MISSED**"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.Name, t.Want, t.Got, verdict)
	}
}

func ackDeadline(s Scenario) string {
	if s.AckTimeout > 0 {
		return secs(s.AckTimeout)
	}
	return secs(slackfake.AckDeadline)
}

func workers(n int) string {
	if n <= 0 {
		return "the bot's default 16 workers"
	}
	return fmt.Sprintf("%d workers", n)
}

func ms(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}

// dur prints a configured duration in seconds, as short as it goes ("2 s", "0.3 s").
func dur(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s" }

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func pct(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }

func signedSecs(d time.Duration) string { return fmt.Sprintf("%+.1f s", d.Seconds()) }
