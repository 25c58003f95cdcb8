package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/store"
)

func hookJSON(uid, metrics string) []byte {
	return []byte(`{"collection_name":"C","collection_uid":"1-c","environment_name":"E","environment_uid":"1-e","metrics":` + metrics +
		`,"monitor_name":"M","monitor_uid":"` + uid + `","user_id":"1","user_name":"u"}`)
}

func TestWebhookBadInput(t *testing.T) {
	r := newRig(t, rigOpts{noWebhook: true})
	f := r.newFlipMonitor("Hooked")
	r.subscribe(slackfake.ChannelGeneral, f.uid, store.PolicyAll)
	good := hookJSON(f.uid, `{"errors":0,"failedTests":1,"passedTests":0,"requestCount":1,"totalLatency":12,"warnings":0}`)
	tests := []struct {
		name   string
		path   string
		method string
		body   []byte
		status int
		says   string
	}{
		{"wrong token", HookPathPrefix + "not-the-token-0123456789abcdef0123456789", "", good, 404, "unknown webhook URL"},
		{"token prefix", HookPathPrefix + testToken[:20], "", good, 404, "unknown webhook URL"},
		{"token plus suffix", HookPathPrefix + testToken + "x", "", good, 404, "unknown webhook URL"},
		{"no token", HookPathPrefix, "", good, 404, "unknown webhook URL"},
		{"GET", HookPathPrefix + testToken, http.MethodGet, nil, 405, "POST"},
		{"oversized", HookPathPrefix + testToken, "", []byte(`{"monitor_name":"` + strings.Repeat("x", MaxHookBody) + `"}`), 413, "body over"},
		{"not JSON", HookPathPrefix + testToken, "", []byte(`{"monitor_uid":`), 400, "not JSON"},
		{"array", HookPathPrefix + testToken, "", []byte(`[1,2]`), 400, "JSON object"},
		{"schema: metric not an integer", HookPathPrefix + testToken, "", hookJSON(f.uid, `{"failedTests":"2"}`), 400, "schema"},
		{"schema: name not a string", HookPathPrefix + testToken, "", []byte(`{"monitor_uid":"` + f.uid + `","monitor_name":5}`), 400, "schema"},
		{"snake_case not an integer", HookPathPrefix + testToken, "", hookJSON(f.uid, `{"failed_tests":1.5}`), 400, "failed_tests must be an integer"},
		{"no monitor", HookPathPrefix + testToken, "", []byte(`{"metrics":{"failedTests":1}}`), 400, "monitor_uid is missing"},
		{"bad monitor uid", HookPathPrefix + testToken, "", hookJSON("../../etc", `{}`), 400, "monitor_uid"},
		{"negative count", HookPathPrefix + testToken, "", hookJSON(f.uid, `{"failedTests":-1}`), 400, "negative"},
		{"unknown monitor", HookPathPrefix + testToken, "", hookJSON("1-0000-unknown", `{"failedTests":1}`), 404, "no channel follows monitor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, r.hooks.URL+tt.path, strings.NewReader(string(tt.body)))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			buf := make([]byte, 4096)
			for {
				n, err := resp.Body.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if resp.StatusCode != tt.status || !strings.Contains(b.String(), tt.says) {
				t.Errorf("%d %s, want %d containing %q", resp.StatusCode, b.String(), tt.status, tt.says)
			}
			if strings.Contains(b.String(), testToken) {
				t.Error("the answer echoes the token")
			}
		})
	}
	inbox, _ := r.st.Inbox(context.Background(), 0, 0)
	if len(inbox) != 0 {
		t.Errorf("rejected bodies were stored: %d", len(inbox))
	}
	r.settle()
	if msgs := r.slack.Messages(slackfake.ChannelGeneral); len(msgs) != 0 {
		t.Errorf("rejected webhooks posted: %q", titles(msgs))
	}
}

// TestWebhookSnakeCaseAndReplays: the emulator sends snake_case metrics; each run is accepted, the same body
// replayed 50 times (also after the next run) posts nothing more, and every run is posted once.
func TestWebhookSnakeCaseAndReplays(t *testing.T) {
	r := newRig(t, rigOpts{emulator: emulatorSnake()})
	f := r.newFlipMonitor("Snaky")
	r.subscribe(slackfake.ChannelGeneral, f.uid, store.PolicyAll)
	r.advance(5 * time.Minute)
	var first []byte
	for _, d := range r.emu.WebhookDeliveries() {
		if d.Payload.MonitorUID == f.uid {
			first = snakeBody(d.Payload)
		}
	}
	if !strings.Contains(string(first), "failed_tests") {
		t.Fatalf("not a snake_case body: %s", first)
	}
	for range 50 {
		if code, ans := r.postHook(HookPathPrefix+testToken, first); code != 202 {
			t.Fatalf("replay: %d %s", code, ans)
		}
	}
	r.settle()
	f.setCode(200)
	r.advance(5 * time.Minute)
	for range 50 { // replays of the first (failing) run after the second (passing) one
		r.postHook(HookPathPrefix+testToken, first)
	}
	// Postman's lastRun never shows these numbers again: after the correlation window they are recognised as
	// replays of a recorded run.
	for range 3 { // the schedule goes on, its webhooks arriving as they come
		r.advance(5 * time.Minute)
	}
	// The first run's thread: FAILING (now RECOVERED) and the recovery; later passing runs (the emulator kept
	// running the schedule while the clock moved) are posted as passes; no replay made a second FAILING.
	msgs := r.slack.Messages(slackfake.ChannelGeneral)
	if len(msgs) < 2 || !strings.Contains(msgs[0].Text, "RECOVERED") || !strings.Contains(msgs[1].Text, "RECOVERED") {
		t.Fatalf("messages: %q", titles(msgs))
	}
	for _, m := range msgs[2:] {
		if !strings.Contains(m.Text, "Passed") {
			t.Errorf("unexpected message %q (all: %q)", m.Text, titles(msgs))
		}
	}
	if inbox, _ := r.st.Inbox(context.Background(), 0, 0); len(inbox) != 0 {
		t.Errorf("%d replays still waiting after the correlation window", len(inbox))
	}
	runs := map[string]bool{}
	for _, d := range r.emu.WebhookDeliveries() {
		if d.Payload.MonitorUID == f.uid {
			runs[fmt.Sprint(len(runs))] = true
		}
	}
	hist, _ := r.n.History().MonitorRuns(context.Background(), f.uid, 0)
	if len(hist) != len(runs) || len(msgs) != len(runs) {
		t.Errorf("history has %d runs, %d messages; the emulator ran the monitor %d times", len(hist), len(msgs), len(runs))
		for _, h := range hist {
			t.Logf("history %s %s %s %s", h.Key, h.Status, h.FinishedAt, h.Source)
		}
		for _, d := range r.emu.WebhookDeliveries() {
			if d.Payload.MonitorUID == f.uid {
				t.Logf("delivery %d %+v", d.Status, d.Payload.Metrics)
			}
		}
	}
}

// TestDeletedMonitor: a monitor deleted after subscribing. Its first webhook is a result received with the secret
// token and is posted once, at once; the read that binds it to its run finds the monitor gone and the channel is
// told once; webhooks after that are dropped, and polling says nothing more.
func TestDeletedMonitor(t *testing.T) {
	r := newRig(t, rigOpts{noWebhook: true})
	f := r.newFlipMonitor("Doomed")
	r.subscribe(slackfake.ChannelGeneral, f.uid, store.PolicyAll)
	r.emuDo("DELETE", "/monitors/"+f.uid, nil)
	body := hookJSON(f.uid, `{"failedTests":1,"passedTests":0,"requestCount":1}`)
	for range 3 {
		if code, ans := r.postHook(HookPathPrefix+testToken, body); code != 202 {
			t.Fatalf("%d %s", code, ans)
		}
	}
	r.settle()
	r.clk.Advance(10 * time.Minute)
	if code, ans := r.postHook(HookPathPrefix+testToken, hookJSON(f.uid, `{"failedTests":2,"passedTests":0,"requestCount":1}`)); code != 202 {
		t.Fatalf("%d %s", code, ans)
	}
	r.settle()
	if _, err := r.n.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.settle()
	msgs := r.slack.Messages(slackfake.ChannelGeneral)
	if len(msgs) != 2 || !strings.Contains(msgs[0].Text, "FAILING") || !strings.Contains(msgs[1].Text, "no longer exists") {
		t.Fatalf("messages: %q", titles(msgs))
	}
	if hist, _ := r.n.History().MonitorRuns(context.Background(), f.uid, 0); len(hist) != 1 {
		t.Errorf("history: %+v, want the one posted run", hist)
	}
	if inbox, _ := r.st.Inbox(context.Background(), 0, 0); len(inbox) != 0 {
		t.Errorf("%d webhooks left in the inbox", len(inbox))
	}
}

func emulatorSnake() emulator.Options {
	return emulator.Options{WebhookStyle: emulator.WebhookSnakeCase}
}

// snakeBody is the emulator's payload with snake_case metrics (as the Power Automate schema names them).
func snakeBody(p emulator.WebhookPayload) []byte {
	b, _ := json.Marshal(map[string]any{
		"collection_name": p.CollectionName, "collection_uid": p.CollectionUID, "environment_name": p.EnvironmentName,
		"environment_uid": p.EnvironmentUID, "monitor_name": p.MonitorName, "monitor_uid": p.MonitorUID, "user_id": p.UserID,
		"user_name": p.UserName, "metrics": map[string]int{"errors": p.Metrics.Errors, "failed_tests": p.Metrics.FailedTests,
			"passed_tests": p.Metrics.PassedTests, "request_count": p.Metrics.RequestCount, "total_latency": p.Metrics.TotalLatency,
			"warnings": p.Metrics.Warnings}})
	return b
}

func FuzzParseHook(f *testing.F) {
	f.Add(hookJSON("1-abc", `{"errors":0,"failedTests":1,"passedTests":2,"requestCount":3,"totalLatency":4,"warnings":0}`))
	f.Add(hookJSON("1-abc", `{"failed_tests":1,"passed_tests":2,"request_count":3,"total_latency":4}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"metrics":{"failedTests":1e400}}`))
	f.Add([]byte(`{"monitor_uid":"x","metrics":[]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := parseHook(raw)
		if err != nil {
			return
		}
		if !uidPattern.MatchString(b.MonitorUID) {
			t.Fatalf("accepted monitor uid %q", b.MonitorUID)
		}
		m := b.Metrics
		if m.FailedTests < 0 || m.PassedTests < 0 || m.Errors < 0 || m.RequestCount < 0 || m.TotalLatency < 0 || m.Warnings < 0 {
			t.Fatalf("accepted negative metrics %+v", m)
		}
		ev := hookEvent(b, t0)
		if ev.Key == "" || ev.Status == "" || ev.MonitorUID != b.MonitorUID {
			t.Fatalf("event %+v", ev)
		}
	})
}
