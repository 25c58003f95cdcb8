package slackbot

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/store"
)

const alice, bob = slackfake.UserAlice, slackfake.UserBob

func TestReadCommandOverHTTP(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey})
	r.command(t, alice, "env get staging")
	got := r.lastAnswer(t, alice)
	if got.Source != "response_url" || !strings.Contains(string(got.Blocks), "baseUrl") {
		t.Fatalf("answer: %+v", got)
	}
	assertNoSecret(t, "env get answer", got.Text+string(got.Blocks))
	if len(r.answers(t, bob)) != 0 {
		t.Fatal("an ephemeral answer was shown to someone else")
	}
}

func TestUnknownInputGetsHelp(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey})
	del := r.command(t, alice, "frobnicate the widgets")
	if !strings.Contains(string(del.Body), `Unknown command`) || !strings.Contains(string(del.Body), "/postman monitors") {
		t.Fatalf("help ack: %s", del.Body)
	}
	if r.emu.Requests(emulator.DemoKey) != 0 {
		t.Fatal("help reached Postman")
	}
}

func TestAmbiguousNameOffersButtons(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey})
	r.command(t, alice, "env get stag")
	pick := r.lastAnswer(t, alice)
	if !strings.Contains(string(pick.Blocks), "Orders staging") {
		t.Fatalf("no candidates: %s", pick.Blocks)
	}
	r.click(t, alice, pick, "Orders staging")
	got := r.lastAnswer(t, alice)
	if !strings.Contains(string(got.Blocks), "Orders staging") || strings.Contains(got.Text, "matches") {
		t.Fatalf("after pick: %s", got.Blocks)
	}
}

func TestWritesNeedAllowlistAndOneConfirmation(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, writers: []string{alice}})
	before := r.emu.Requests(emulator.DemoKey)
	del := r.command(t, bob, "env set staging currency=USD")
	if !strings.Contains(string(del.Body), "allowlist") {
		t.Fatalf("bob should be refused: %s", del.Body)
	}
	if r.emu.Requests(emulator.DemoKey) != before {
		t.Fatal("a refused write reached Postman")
	}

	r.command(t, alice, "env set staging currency=USD")
	confirm := r.lastAnswer(t, alice)
	if !strings.Contains(string(confirm.Blocks), "EUR") || !strings.Contains(string(confirm.Blocks), "USD") {
		t.Fatalf("confirmation should show the diff: %s", confirm.Blocks)
	}
	r.click(t, alice, confirm, "Confirm")
	done := r.lastAnswer(t, alice)
	if !strings.Contains(done.Text, "<@"+alice+">") || !strings.Contains(string(done.Blocks), "currency") {
		t.Fatalf("done message should say who did what: %q %s", done.Text, done.Blocks)
	}
	patches := r.emu.Stats(emulator.DemoKey)
	_ = patches
	// A second click on the same (now replaced) confirmation must not write again: Slack would send the
	// same button value, which is a spent token.
	r.command(t, alice, "env get staging currency")
	if got := r.lastAnswer(t, alice); !strings.Contains(string(got.Blocks), "USD") {
		t.Fatalf("value not changed: %s", got.Blocks)
	}
}

func TestDoubleClickRunsOnce(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, writers: []string{alice}})
	r.command(t, alice, "monitor resume Legacy billing sync")
	confirm := r.lastAnswer(t, alice)
	// Two clicks on the same button, the second before the first's answer replaced it.
	actionID := findAction(t, confirm.Blocks, "Confirm")
	p1, err := r.fake.BlockActionPayload(slackfake.Click{Channel: confirm.Channel, MessageTS: confirm.TS, User: alice, ActionID: actionID})
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := r.fake.BlockActionPayload(slackfake.Click{Channel: confirm.Channel, MessageTS: confirm.TS, User: alice, ActionID: actionID})
	before := r.emu.Requests(emulator.DemoKey)
	for _, p := range []map[string]any{p1, p2} {
		if _, err := r.fake.Deliver(context.Background(), r.http.URL+"/slack/interactions", slackfake.DeliverInteraction, p); err != nil {
			t.Fatal(err)
		}
	}
	r.d.Idle()
	writes := r.emu.Requests(emulator.DemoKey) - before
	if writes > 2 { // name resolution (cached list) + one PUT
		t.Fatalf("double click sent %d requests; the write ran twice", writes)
	}
	var used bool
	for _, e := range r.answers(t, alice) {
		if strings.Contains(e.Text, "already used") {
			used = true
		}
	}
	if !used {
		t.Fatal("the second click was not told the button was used")
	}
}

func TestAckComesBeforeSlowPostman(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey})
	r.emu.SetFault(emulator.Fault{Kind: emulator.FaultLatency, Latency: 1500 * time.Millisecond})
	del := r.command(t, alice, "workspaces")
	for _, e := range r.fake.Ephemerals(slackfake.ChannelGeneral, alice) {
		if e.Source != "http_response" {
			t.Fatalf("the answer (%s) came before the ack: work ran on the ack path", e.Text)
		}
	}
	_ = del
	if got := r.lastAnswer(t, alice); !strings.Contains(string(got.Blocks), "Payments Platform") {
		t.Fatalf("answer after the slow call: %s", got.Blocks)
	}
}

func TestRateLimitedCommandSaysUntilWhen(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, emu: emulator.Options{PerWindow: 1}, jobTimeout: 300 * time.Millisecond})
	r.command(t, alice, "quota")
	r.d.Idle()
	r.command(t, alice, "quota")
	got := r.lastAnswer(t, alice)
	for _, e := range r.answers(t, alice) {
		t.Logf("answer: %s", e.Text)
	}
	if !strings.Contains(got.Text+string(got.Blocks), "retry after") || !strings.Contains(string(got.Blocks), "!date^") {
		t.Fatalf("second call should say until when: %q %s", got.Text, got.Blocks)
	}
}

func TestRejectsForgedStaleReplayedAndOversized(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey})
	form, _ := r.fake.SlashCommandForm(slackfake.SlashCommand{Text: "workspaces", ChannelID: slackfake.ChannelGeneral, UserID: alice})
	body := []byte(form.Encode())
	post := func(b []byte, ts time.Time, secret string) int {
		req, _ := http.NewRequest(http.MethodPost, r.http.URL+"/slack/commands", bytes.NewReader(b))
		stamp, sig := slackfake.Sign(secret, ts, b)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", stamp)
		req.Header.Set("X-Slack-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	now := time.Now()
	tests := []struct {
		name string
		body []byte
		ts   time.Time
		key  string
		want int
	}{
		{"forged", body, now, "not-the-secret", http.StatusUnauthorized},
		{"stale", body, now.Add(-6 * time.Minute), r.fake.SigningSecret(), http.StatusUnauthorized},
		{"future", body, now.Add(6 * time.Minute), r.fake.SigningSecret(), http.StatusUnauthorized},
		{"oversized", append(body, bytes.Repeat([]byte("&x=y"), MaxBodyBytes/4+10)...), now, r.fake.SigningSecret(), http.StatusRequestEntityTooLarge},
		{"malformed", []byte("%%%"), now, r.fake.SigningSecret(), http.StatusBadRequest},
		{"no user", []byte(url.Values{"text": {"workspaces"}}.Encode()), now, r.fake.SigningSecret(), http.StatusBadRequest},
		// Slack's certificate check of the Request URL: 200, nothing runs (the emulator count below stays 0).
		{"ssl check", []byte(url.Values{"ssl_check": {"1"}, "token": {"legacy-verification-token"}}.Encode()), now, r.fake.SigningSecret(), http.StatusOK},
		{"ssl check unsigned", []byte(url.Values{"ssl_check": {"1"}, "token": {"x"}}.Encode()), now, "not-the-secret", http.StatusOK},
		{"ssl check with a command", []byte(url.Values{"ssl_check": {"1"}, "command": {"/postman"}, "text": {"workspaces"}, "user_id": {alice}}.Encode()), now, "not-the-secret", http.StatusUnauthorized},
	}
	for _, tc := range tests {
		if got := post(tc.body, tc.ts, tc.key); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
	}
	if n := r.emu.Requests(emulator.DemoKey); n != 0 {
		t.Fatalf("rejected requests reached Postman %d times", n)
	}
	// The same signed request twice inside the window is answered once.
	if got := post(body, now, r.fake.SigningSecret()); got != 200 {
		t.Fatalf("genuine request: %d", got)
	}
	if got := post(body, now, r.fake.SigningSecret()); got != 200 {
		t.Fatalf("replay: %d", got)
	}
	r.d.Idle()
	if n := r.emu.Requests(emulator.DemoKey); n != 1 {
		t.Fatalf("replayed command ran %d times, want once", n)
	}
	resp, err := http.Get(r.http.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
}

func TestLoginLinksAPersonalKey(t *testing.T) {
	r := newRig(t, rigOpts{withVault: true}) // personal mode only: no team key
	del := r.command(t, alice, "monitors")
	if !strings.Contains(string(del.Body), "/postman login") {
		t.Fatalf("unlinked user should be told to log in: %s", del.Body)
	}
	r.command(t, alice, "login")
	if _, err := r.fake.WaitCalls(context.Background(), "views.open", 1); err != nil {
		t.Fatal(err)
	}
	views := r.fake.Views()
	if len(views) != 1 {
		t.Fatalf("views opened: %d", len(views))
	}
	submit := func(key string) slackfake.Delivery {
		p, err := r.fake.ViewSubmissionPayload(views[0].ID, alice, map[string]map[string]string{loginBlock: {loginAction: key}})
		if err != nil {
			t.Fatal(err)
		}
		del, err := r.fake.Deliver(context.Background(), r.http.URL+"/slack/interactions", slackfake.DeliverInteraction, p)
		if err != nil {
			t.Fatal(err)
		}
		return del
	}
	bad := submit("PMAK-not-a-real-key")
	if !strings.Contains(string(bad.Body), "did not accept") {
		t.Fatalf("bad key should keep the modal open with an error: %s", bad.Body)
	}
	good := submit(emulator.DemoTeammateKey)
	if strings.Contains(string(good.Body), "errors") {
		t.Fatalf("good key refused: %s", good.Body)
	}
	r.d.Idle()
	sealed, meta, err := r.store.LinkedKey(context.Background(), store.UserRef{TeamID: r.fake.Options().TeamID, UserID: alice})
	if err != nil || meta.PostmanUserID != emulator.DemoTeammateID {
		t.Fatalf("linked: %+v %v", meta, err)
	}
	if bytes.Contains(sealed, []byte(emulator.DemoTeammateKey)) {
		t.Fatal("the key is stored in clear")
	}
	who := r.command(t, alice, "whoami")
	if !strings.Contains(string(who.Body), meta.PostmanUsername) {
		t.Fatalf("whoami: %s", who.Body)
	}
	before := r.emu.Requests(emulator.DemoTeammateKey)
	r.command(t, alice, "workspaces")
	r.d.Idle()
	if r.emu.Requests(emulator.DemoTeammateKey) != before+1 {
		t.Fatal("the command did not act with the linked key")
	}
	out := r.command(t, alice, "logout")
	if !strings.Contains(string(out.Body), "Unlinked") {
		t.Fatalf("logout: %s", out.Body)
	}
	if _, _, err := r.store.LinkedKey(context.Background(), store.UserRef{TeamID: r.fake.Options().TeamID, UserID: alice}); err == nil {
		t.Fatal("key still stored after logout")
	}
}

func TestLoginRefusedWithoutVault(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey})
	del := r.command(t, alice, "login")
	if !strings.Contains(string(del.Body), "PMOPS_SECRET_KEY") {
		t.Fatalf("login without a vault: %s", del.Body)
	}
	if len(r.fake.Views()) != 0 {
		t.Fatal("a login form opened although keys cannot be stored")
	}
}
