package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestBotUnderScaledDownLoad runs the benchmark's scenario small (40 commands over 2 s from 10 users, 300 ms
// latency, a window that runs out) and checks the properties the command measures, without any timing
// threshold: every command acked and answered with its result or "rate limited until …", none lost, no user
// without a result, and the load really was rate-limited.
func TestBotUnderScaledDownLoad(t *testing.T) {
	s := Scenario{Commands: 40, Over: 2 * time.Second, Users: 10, Mix: DefaultMix,
		Latency: 300 * time.Millisecond, PerWindow: 40, Window: time.Minute,
		// Short enough that what waits for the route bucket's next slot is refused at once, long enough that a
		// two-call command always finishes once its calls are granted.
		JobTimeout: 3 * time.Second,
		// A generous ack deadline: the test checks that every command is acked, not how fast (-race, 2 cores).
		AckTimeout: 30 * time.Second, Wait: time.Minute}
	ctx := context.Background()
	refs, err := Reference(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	r, err := RunBot(ctx, s, refs)
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	WriteMarkdown(&md, s, &r, nil, nil)
	t.Logf("\n%s", md.String())

	if r.Sent != 40 || r.Acked != 40 || r.TimedOut != 0 || r.Failed != 0 {
		t.Errorf("sent %d acked %d timed out %d failed %d; want 40 acked", r.Sent, r.Acked, r.TimedOut, r.Failed)
	}
	if r.Capped || r.Lost != 0 {
		t.Errorf("lost %d (wait cap hit: %v)", r.Lost, r.Capped)
	}
	if r.Results+r.RateLimited != r.Sent || r.Other != 0 {
		t.Errorf("results %d + rate limited %d of %d; other errors %d: %q", r.Results, r.RateLimited, r.Sent, r.Other, r.OtherSamples)
	}
	if r.Emulator429 != 0 || r.RateLimitedNoWhen != 0 {
		t.Errorf("429s from Postman %d; rate-limited replies that do not say when %d", r.Emulator429, r.RateLimitedNoWhen)
	}
	if r.RateLimited == 0 {
		t.Error("no command was rate-limited: the scenario does not exercise the limit")
	}
	if len(r.Users) != 10 {
		t.Errorf("users %d, want 10", len(r.Users))
	}
	for _, u := range r.Users {
		if u.Sent != 4 || u.Answered != 4 {
			t.Errorf("%s: sent %d answered %d, want 4 and 4", u.User, u.Sent, u.Answered)
		}
		if u.Results == 0 {
			t.Errorf("%s starved: no result", u.User)
		}
	}
	if r.APICalls == 0 || r.WebAPIEphemerals != 0 {
		t.Errorf("API calls %d, chat.postEphemeral fallbacks %d", r.APICalls, r.WebAPIEphemerals)
	}
}

// TestNaiveBaselineTimesOut checks that the baseline counts what Slack gives up on: with Postman slower than the
// ack deadline, a bot that calls Postman before acking misses every deadline and every answer is lost.
func TestNaiveBaselineTimesOut(t *testing.T) {
	s := Scenario{Commands: 6, Over: 300 * time.Millisecond, Users: 3, Mix: DefaultMix,
		Latency: time.Second, AckTimeout: 100 * time.Millisecond}
	r, err := RunNaive(context.Background(), s, References{})
	if err != nil {
		t.Fatal(err)
	}
	if r.TimedOut != 6 || r.Acked != 0 || r.Lost != 6 {
		t.Fatalf("timed out %d acked %d lost %d; want 6, 0, 6", r.TimedOut, r.Acked, r.Lost)
	}
}

func TestReferenceRejectsFailingCommand(t *testing.T) {
	s := Scenario{Mix: []string{"monitor no such monitor anywhere"}}
	if _, err := Reference(context.Background(), s); err == nil {
		t.Fatal("a command that fails on an idle emulator was accepted as a reference")
	}
}

func TestClassify(t *testing.T) {
	header := func(text string) json.RawMessage {
		b, _ := json.Marshal([]map[string]any{{"type": "header", "text": map[string]any{"type": "plain_text", "text": text}}})
		return b
	}
	section := json.RawMessage(`[{"type":"section","text":{"type":"mrkdwn","text":"x"}}]`)
	tests := []struct {
		name, header string
		a            answer
		want         Outcome
	}{
		{"result", "🗂️ Workspaces", answer{text: "Workspaces: 3 workspaces", blocks: header("🗂️ Workspaces")}, Answered},
		{"result with a failure icon", "❌ Orders API nightly regression",
			answer{text: "❌ Monitor Orders API nightly regression (Active)", blocks: header("❌ Orders API nightly regression")}, Answered},
		{"another command's result", "🗂️ Workspaces", answer{text: "Monitors: 3 passing", blocks: header("🩺 Monitors")}, OtherError},
		{"rate limited", "🗂️ Workspaces", answer{text: "⏳ Postman's rate limit for this key is reached; retry after 12:00:00 UTC.", blocks: section}, RateLimited},
		{"rate budget timeout", "🗂️ Workspaces", answer{text: "⏳ Your request waited 60 s for the Postman key's rate budget and was given up.",
			blocks: json.RawMessage(`[{"type":"context","elements":[{"type":"mrkdwn","text":"The rate budget resets at <!date^1800000000^{date_short_pretty} {time}|2027-01-15 08:00 UTC>"}]}]`)}, RateLimited},
		{"rate limited without when", "🗂️ Workspaces", answer{text: "⏳ Postman's rate limit for this key is reached.", blocks: section}, RateLimitedWhen},
		{"timeout", "🗂️ Workspaces", answer{text: "⌛ Postman did not answer within 60 s.", blocks: section}, OtherError},
		{"busy", "🗂️ Workspaces", answer{text: "pmops is busy (512 requests waiting); please try again in a minute."}, OtherError},
		{"empty", "🗂️ Workspaces", answer{}, OtherError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.a, tc.header); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		p    float64
		want time.Duration
	}{{0, 1}, {50, 5}, {90, 9}, {95, 10}, {99, 10}, {100, 10}}
	for _, tc := range tests {
		if got := Percentile(ds, tc.p); got != tc.want {
			t.Errorf("p%.0f = %d, want %d", tc.p, got, tc.want)
		}
	}
	if Percentile(nil, 99) != 0 {
		t.Error("percentile of nothing should be 0")
	}
}

func TestJain(t *testing.T) {
	tests := []struct {
		xs   []int
		want float64
	}{
		{[]int{4, 4, 4, 4}, 1},
		{[]int{4, 0, 0, 0}, 0.25},
		{[]int{2, 4}, 0.9},
		{nil, 1},
		{[]int{0, 0}, 1},
	}
	for _, tc := range tests {
		if got := Jain(tc.xs); got < tc.want-1e-9 || got > tc.want+1e-9 {
			t.Errorf("Jain(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

func TestWriteMarkdownGolden(t *testing.T) {
	s := Scenario{Commands: 4, Over: 200 * time.Millisecond, Users: 2, Latency: 2 * time.Second, PerWindow: 60,
		Window: time.Minute, JobTimeout: time.Minute}
	bot := Result{Name: "pmops bot", Sent: 4, Acked: 4, Acks: []time.Duration{300 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 40 * time.Millisecond},
		Results: 2, RateLimited: 1, Lost: 1, AnswerLatency: []time.Duration{2 * time.Second, 5 * time.Second, 70 * time.Second},
		Users: []UserCount{{"U1", 2, 2, 1}, {"U2", 2, 1, 1}}, APICalls: 3, Emulator429: 1, Wall: 75 * time.Second}
	naive := Result{Name: "naive", Sent: 4, Acked: 1, TimedOut: 3, Acks: []time.Duration{2 * time.Second, 3 * time.Second, 3 * time.Second, 3 * time.Second},
		Results: 1, Lost: 3, Other: 0, AnswerLatency: []time.Duration{2 * time.Second},
		Users: []UserCount{{"U1", 2, 1, 1}, {"U2", 2, 0, 0}}, APICalls: 2, Wall: 3 * time.Second}
	var b bytes.Buffer
	bot.Waited, bot.QueuedOnTime, bot.QueuedNotes = 2, 1, 2
	bot.QueuedNoWait, bot.QueuedLate = 1, []time.Duration{-2 * time.Second, time.Second, 4 * time.Second}
	bot.NoWaitSamples = []string{"quota (sent at +0.1 s, waited 0.5 s, told about 8.0 s)"}
	WriteMarkdown(&b, s, &bot, &naive, Thresholds(bot, 100*time.Millisecond, s.JobTimeout, true))
	golden := filepath.Join("testdata", "report.golden.md")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("report differs from %s (run with -update after checking):\n%s", golden, b.String())
	}
}

func TestQueuedAbout(t *testing.T) {
	tests := []struct {
		text string
		want time.Duration
	}{
		{"⏳ Queued: 12 requests ahead of yours, about 9 s. This message will be replaced by the answer.", 9 * time.Second},
		{"⏳ Queued: 1 request ahead of yours, about 120 s. This message will be replaced by the answer.", 120 * time.Second},
		{"⏳ Working on it…", 0},
		{"about x s", 0},
	}
	for _, tc := range tests {
		if got := queuedAbout(tc.text); got != tc.want {
			t.Errorf("queuedAbout(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}
