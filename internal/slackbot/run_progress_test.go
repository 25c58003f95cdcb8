package slackbot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/clock"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/tools"
)

// longRun is one confirmed collection run driven on a fake clock: the real bot (dispatcher, SlackResponder,
// slackfake) shows its progress while the test plays Newman's events for a run of a given length, without
// waiting through it.
type longRun struct {
	t       *testing.T
	r       *rig
	fc      *clock.Fake
	channel string
	url     string
	st      *jobState
	p       *runProgress
	// updates are the fake times at which an update was shown (a response_url note, a channel post or edit).
	updates []time.Duration
	// quiet is how long Newman says nothing at the start (starting up, a slow first request).
	quiet time.Duration
	// edits are the chat.update calls tried, at their fake time, with Slack's answer.
	edits []edit
}

type edit struct {
	at     time.Duration
	status int
}

const runSubject = "Payments API with staging"

// startLongRun asks for the run in channel, takes the confirmation's response_url as a click on Run does, and
// shows the working note, as the dispatcher does for the click.
func startLongRun(t *testing.T, channel string) *longRun {
	r := newRunRig(t, []string{alice})
	fc := clock.NewFake(time.Unix(1_800_000_000, 0))
	r.d.cfg.Responder.(*SlackResponder).Now = fc.Now
	form, err := r.fake.SlashCommandForm(slackfake.SlashCommand{Text: "run Payments API env staging", ChannelID: channel, UserID: alice})
	if err != nil {
		t.Fatal(err)
	}
	if del, err := r.fake.Deliver(context.Background(), r.http.URL+"/slack/commands", slackfake.DeliverSlashCommand, form); err != nil || del.Status != 200 {
		t.Fatalf("command: %v %+v", err, del)
	}
	r.d.Idle()
	eph := r.fake.Ephemerals(channel, alice)
	if len(eph) == 0 {
		t.Fatal("no confirmation")
	}
	preview := eph[len(eph)-1]
	if !strings.Contains(preview.Text, "Run collection "+runSubject+"?") {
		t.Fatalf("confirmation: %s", preview.Text)
	}
	payload, err := r.fake.BlockActionPayload(slackfake.Click{Channel: preview.Channel, MessageTS: preview.TS, User: alice, ActionID: findAction(t, preview.Blocks, "Run")})
	if err != nil {
		t.Fatal(err)
	}
	url, _ := payload["response_url"].(string)
	req := Request{Kind: KindAction, TeamID: slackfake.DefaultTeamID, UserID: alice, UserName: "alice", ChannelID: channel, ResponseURL: url}
	st := &jobState{d: r.d, req: req, asked: time.Now(), acked: make(chan struct{})}
	st.ackSent()
	st.note(slackrender.Working())
	lr := &longRun{t: t, r: r, fc: fc, channel: channel, url: url, st: st}
	lr.p = r.d.newRunProgress(st, runSubject, fc.Now)
	return lr
}

// shown counts what the bot has shown for the run so far: response_url posts after the working note, and
// chat.postMessage/chat.update calls that Slack accepted.
func (lr *longRun) shown() (notes, posts, edits int) {
	for _, p := range lr.r.fake.ResponseURLPosts("") {
		if p.Source == "response_url" && strings.HasSuffix(lr.url, "/response/"+p.URLID) && p.Error == "" && strings.Contains(p.Text, "Running") {
			notes++
		}
	}
	for _, c := range lr.r.fake.CallsTo("chat.postMessage") {
		if c.OK {
			posts++
		}
	}
	for _, c := range lr.r.fake.CallsTo("chat.update") {
		if c.OK {
			edits++
		}
	}
	return
}

// play runs Newman for length on the fake clock: a request done every 1.5 s of total, the dispatcher's
// one-second tick calling step; each update shown is recorded at its fake time. hook runs each second.
func (lr *longRun) play(length time.Duration, total int, hook func(at time.Duration)) {
	ctx := context.Background()
	start := lr.fc.Now()
	done := 0
	for at := time.Duration(0); at <= length; at += 100 * time.Millisecond {
		lr.fc.Set(start.Add(at))
		if at > lr.quiet && at%(1500*time.Millisecond) == 0 && done < total {
			done++
			lr.p.record(done, total, fmt.Sprintf("✓ GET item %d 200 12 ms", done))
		}
		if at%time.Second == 0 {
			if hook != nil {
				hook(at)
			}
			n0, p0, e0 := lr.shown()
			tried := len(lr.r.fake.CallsTo("chat.update"))
			lr.p.step(ctx)
			if n1, p1, e1 := lr.shown(); n1+p1+e1 > n0+p0+e0 {
				lr.updates = append(lr.updates, at)
			}
			for _, c := range lr.r.fake.CallsTo("chat.update")[tried:] {
				lr.edits = append(lr.edits, edit{at: at, status: c.Status})
			}
		}
	}
}

// finish ends the run as runCollection does: the result replaces the confirmation, the channel message goes.
func (lr *longRun) finish() slackfake.Ephemeral {
	lr.p.stop()
	run := tools.CollectionRun{Collection: "Payments API", Environment: "staging", Status: tools.RunPassed, DurationMs: 60_000,
		Totals: &tools.RunTotals{Requests: 40, Assertions: 40, Iterations: 1}}
	cmd := Command{Tool: "run_collection", Args: map[string]any{"collection": "Payments API", "environment": "staging"}}
	lr.r.d.answerRun(context.Background(), lr.st, nil, cmd, runSubject, run, nil)
	lr.p.cleanup()
	lr.r.d.Idle()
	eph := lr.r.fake.Ephemerals(lr.channel, alice)
	return eph[len(eph)-1]
}

// checkPace: updates come throughout the run (the first within 10 s, then at least one in every 10 s) and never
// closer than runProgressEvery.
func (lr *longRun) checkPace(length time.Duration, maxGap time.Duration) {
	t := lr.t
	t.Helper()
	if len(lr.updates) == 0 {
		t.Fatal("no progress shown")
	}
	prev := time.Duration(0)
	for i, at := range lr.updates {
		if at-prev > maxGap {
			t.Errorf("no update between %v and %v (updates at %v)", prev, at, lr.updates)
		}
		if i > 0 && at-prev < runProgressEvery {
			t.Errorf("updates at %v and %v are closer than %v", prev, at, runProgressEvery)
		}
		prev = at
	}
	if length-prev > maxGap {
		t.Errorf("no update after %v of a %v run (updates at %v)", prev, length, lr.updates)
	}
}

// checkResponseURL: never more than five posts to the click's response_url, none refused.
func (lr *longRun) checkResponseURL() {
	t := lr.t
	t.Helper()
	n := 0
	for _, p := range lr.r.fake.ResponseURLPosts("") {
		if p.Source != "response_url" || !strings.HasSuffix(lr.url, "/response/"+p.URLID) {
			continue
		}
		n++
		if p.Error != "" {
			t.Errorf("response_url post %d refused: %s", p.Use, p.Error)
		}
	}
	if n > slackfake.ResponseURLMaxUses {
		t.Errorf("%d response_url posts, Slack takes %d", n, slackfake.ResponseURLMaxUses)
	}
}

// checkResult: the result replaced the confirmation, has no secret, and its Re-run proposes the same run.
func (lr *longRun) checkResult(result slackfake.Ephemeral) {
	t := lr.t
	t.Helper()
	all := result.Text + string(result.Blocks)
	assertNoSecret(t, "run result", all)
	if !strings.Contains(all, "Run of "+runSubject+" passed") || !runHasButton(t, result, "Re-run") || result.Source != "response_url" {
		t.Fatalf("result: %s %s", result.Text, result.Blocks)
	}
	payload, err := lr.r.fake.BlockActionPayload(slackfake.Click{Channel: result.Channel, MessageTS: result.TS, User: alice, ActionID: findAction(t, result.Blocks, "Re-run")})
	if err != nil {
		t.Fatal(err)
	}
	if del, err := lr.r.fake.Deliver(context.Background(), lr.r.http.URL+"/slack/interactions", slackfake.DeliverInteraction, payload); err != nil || del.Status != 200 {
		t.Fatalf("Re-run click: %v %+v", err, del)
	}
	lr.r.d.Idle()
	eph := lr.r.fake.Ephemerals(lr.channel, alice)
	if again := eph[len(eph)-1]; !strings.Contains(again.Text, "Run collection "+runSubject+"?") || !runHasButton(t, again, "Run") {
		t.Fatalf("Re-run: %s", again.Text)
	}
}

// everything returns every message the run showed, for the no-secret and how-far checks.
func (lr *longRun) everything() []string {
	var out []string
	for _, p := range lr.r.fake.ResponseURLPosts("") {
		out = append(out, p.Text+string(p.Blocks))
	}
	for _, c := range lr.r.fake.Calls() {
		out = append(out, c.Args["text"]+c.Args["blocks"])
	}
	return out
}

// TestRunProgressLongRun: a 60-second run in a channel the bot is in shows its progress throughout: first on
// the confirmation, then in the bot's channel message, edited every 5 s (never closer) until the run ends; each
// update says done/total, the time so far and the time left; the response_url never takes more than five
// posts; the channel message goes away at the end and the result replaces the confirmation with a working
// Re-run button; no message shows a secret.
func TestRunProgressLongRun(t *testing.T) {
	lr := startLongRun(t, slackfake.ChannelGeneral)
	lr.play(60*time.Second, 40, nil)
	notes, posts, edits := lr.shown()
	if posts != 1 || edits < 8 {
		t.Errorf("channel message: %d posts, %d edits; want 1 post and an edit every 5 s", posts, edits)
	}
	if notes > maxRunNotes {
		t.Errorf("%d response_url notes, want at most %d", notes, maxRunNotes)
	}
	lr.checkPace(60*time.Second, 10*time.Second)

	// The channel message says who runs what and how far it is, never which request did what.
	msgs := lr.r.fake.Messages(slackfake.ChannelGeneral)
	if len(msgs) != 1 {
		t.Fatalf("%d channel messages, want the one progress message", len(msgs))
	}
	live := msgs[0].Text + string(msgs[0].Blocks)
	for _, want := range []string{alice, "is running", "of 40 requests done", "so far", "left"} {
		if !strings.Contains(live, want) {
			t.Errorf("channel progress lacks %q: %s", want, live)
		}
	}
	if strings.Contains(live, "GET item") {
		t.Errorf("channel progress names requests: %s", live)
	}
	for _, c := range lr.r.fake.CallsTo("chat.update") {
		if !strings.Contains(c.Args["blocks"], "requests done") || !strings.Contains(c.Args["blocks"], "so far") {
			t.Errorf("an edit does not say how far the run is: %s", c.Args["blocks"])
		}
	}

	result := lr.finish()
	if m, ok := lr.r.fake.Message(slackfake.ChannelGeneral, msgs[0].TS); !ok || !m.Deleted {
		t.Errorf("the progress message is still in the channel after the run: %+v", m)
	}
	lr.checkResponseURL()
	for _, s := range lr.everything() {
		assertNoSecret(t, "run progress", s)
	}
	lr.checkResult(result)
}

// TestRunProgressNotInChannel: where the bot cannot post (#random, which it has not joined), the progress stays
// on the response_url: three notes 5 s apart that say how far the run is, the last telling how to get live
// progress, then the result, within the five posts.
func TestRunProgressNotInChannel(t *testing.T) {
	lr := startLongRun(t, slackfake.ChannelRandom)
	lr.play(60*time.Second, 40, nil)
	notes, posts, edits := lr.shown()
	if notes != maxRunNotes || posts != 0 || edits != 0 {
		t.Fatalf("%d notes, %d posts, %d edits; want %d notes on the response_url only", notes, posts, edits, maxRunNotes)
	}
	lr.checkPace(15*time.Second, 10*time.Second) // three notes, then the result
	var last string
	for _, p := range lr.r.fake.ResponseURLPosts("") {
		if p.Channel == slackfake.ChannelRandom && strings.Contains(p.Text, "Running") {
			all := p.Text + string(p.Blocks)
			if !strings.Contains(all, "of 40 requests done") || !strings.Contains(all, "so far") {
				t.Errorf("a note does not say how far the run is: %s", all)
			}
			last = all
		}
	}
	if !strings.Contains(last, "/invite @postman") || !strings.Contains(last, "left") {
		t.Errorf("the last note: %s", last)
	}
	result := lr.finish()
	lr.checkResponseURL()
	for _, s := range lr.everything() {
		assertNoSecret(t, "run progress", s)
	}
	lr.checkResult(result)
}

// TestRunProgressBacksOffOn429: a 429 on chat.update pauses the edits for its Retry-After (no edit is tried
// before it), and they resume afterwards.
func TestRunProgressBacksOffOn429(t *testing.T) {
	lr := startLongRun(t, slackfake.ChannelGeneral)
	armed := false
	lr.play(60*time.Second, 40, func(at time.Duration) {
		if _, posts, _ := lr.shown(); posts == 1 && !armed {
			armed = true
			lr.r.fake.RateLimitNext("chat.update", 1, 20*time.Second)
		}
	})
	var at429 time.Duration = -1
	var after []time.Duration
	for _, e := range lr.edits {
		switch {
		case e.status == 429:
			at429 = e.at
		case at429 >= 0:
			after = append(after, e.at)
		}
	}
	if at429 < 0 || len(after) < 3 {
		t.Fatalf("want a 429 and edits resuming after it: %+v", lr.edits)
	}
	if after[0]-at429 < 20*time.Second {
		t.Errorf("an edit %v after a 429 with Retry-After 20 s", after[0]-at429)
	}
	lr.checkPace(60*time.Second, 26*time.Second) // 5 s + Retry-After
	lr.finish()
	lr.checkResponseURL()
}

// TestRunProgressBeforeNewmanReports: a run whose Newman says nothing for its first 12 s (starting, a slow first
// request) is not silent: updates come from 5 s on, saying it is starting and how long it has run.
func TestRunProgressBeforeNewmanReports(t *testing.T) {
	lr := startLongRun(t, slackfake.ChannelGeneral)
	lr.quiet = 12 * time.Second
	lr.play(40*time.Second, 20, nil)
	lr.checkPace(40*time.Second, 10*time.Second)
	if len(lr.updates) == 0 || lr.updates[0] != runProgressEvery {
		t.Fatalf("first update at %v, want %v", lr.updates, runProgressEvery)
	}
	first := ""
	for _, p := range lr.r.fake.ResponseURLPosts("") {
		if strings.HasSuffix(lr.url, "/response/"+p.URLID) && strings.Contains(p.Text, "Running") {
			first = string(p.Blocks)
			break
		}
	}
	if !strings.Contains(first, "Starting · 5 s so far") {
		t.Errorf("first update: %s", first)
	}
	lr.finish()
	lr.checkResponseURL()
}

// TestRunProgressMessageGone: when the channel message can no longer be edited (someone deleted it), the
// progress goes on through the response_url's remaining posts, and the result still lands within five posts.
func TestRunProgressMessageGone(t *testing.T) {
	lr := startLongRun(t, slackfake.ChannelGeneral)
	gone := false
	lr.play(60*time.Second, 40, func(at time.Duration) {
		if _, posts, _ := lr.shown(); posts == 1 && !gone && at >= 20*time.Second {
			gone = true
			msgs := lr.r.fake.Messages(slackfake.ChannelGeneral)
			if _, _, err := lr.r.api.DeleteMessage(slackfake.ChannelGeneral, msgs[len(msgs)-1].TS); err != nil {
				t.Fatal(err)
			}
		}
	})
	notes, posts, edits := lr.shown()
	if !gone || posts != 1 || edits == 0 || notes != maxRunNotes {
		t.Fatalf("%d notes, %d posts, %d edits (deleted: %v); want the response_url to carry on to %d notes", notes, posts, edits, gone, maxRunNotes)
	}
	result := lr.finish()
	lr.checkResponseURL()
	lr.checkResult(result)
}
