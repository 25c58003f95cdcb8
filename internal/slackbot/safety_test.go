package slackbot

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/sqlitestore"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
	"github.com/pmops/pmops/internal/vault"
)

// testClock is a settable clock for the dispatcher's token expiry.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// recordingStore remembers every payload handed to PutAction, as stored (sealed).
type recordingStore struct {
	*sqlitestore.SQLite
	mu       sync.Mutex
	payloads [][]byte
}

func (s *recordingStore) PutAction(ctx context.Context, token string, a store.PendingAction) error {
	s.mu.Lock()
	s.payloads = append(s.payloads, append([]byte(nil), a.Payload...))
	s.mu.Unlock()
	return s.SQLite.PutAction(ctx, token, a)
}

type safetyRig struct {
	*rig
	st    Store
	clock *testClock
	logs  *syncBuffer
}

// newSafetyRig is newRig with a given store, a settable clock and captured debug logs.
func newSafetyRig(t *testing.T, st Store, writers []string, v Sealer) *safetyRig {
	t.Helper()
	emu := emulator.New(emulator.Options{RoutePerWindow: 10_000})
	emuSrv := httptest.NewServer(emu)
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(func() { fake.Close(); emuSrv.Close(); _ = emu.Close() })
	apiClient := slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken(fake.AppToken()))
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := &testClock{now: time.Now()}
	cfg := Config{Envs: &testEnvs{url: emuSrv.URL, m: map[string]*tools.Env{}}, TeamKey: emulator.DemoKey, Writers: writers,
		Store: st, Vault: v, Responder: NewSlackResponder(apiClient, logger), Logger: logger, Now: clock.Now}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	seen := func(ctx context.Context, key string, ttl time.Duration, now time.Time) (bool, error) {
		return st.SeenOnce(ctx, key, ttl, now)
	}
	h := &HTTPHandler{Dispatcher: d, SigningSecret: fake.SigningSecret(), Seen: seen, Logger: logger}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); d.Close(context.Background()) })
	return &safetyRig{rig: &rig{emu: emu, fake: fake, d: d, http: srv, api: apiClient}, st: st, clock: clock, logs: logs}
}

// scanFiles fails the test if any of needles occurs in the database, its WAL or its shared-memory file.
func scanFiles(t *testing.T, when, path string, needles map[string][]byte) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for name, needle := range needles {
			if bytes.Contains(b, needle) {
				t.Errorf("%s: %s holds %s", when, filepath.Base(path+suffix), name)
			}
		}
	}
}

// TestCanarySecretNeverAtRest sets a secret through /postman env set, then confirms one such change, cancels
// another and lets a third expire. At every step neither the secret nor (once the tokens are gone) their sealed
// payloads are in the SQLite file, its WAL or its shared memory, and the secret is never logged or shown.
func TestCanarySecretNeverAtRest(t *testing.T) {
	const canary = "CanarySecret-7f3a9c1e5b"
	path := filepath.Join(t.TempDir(), "pmops.db")
	sq, err := sqlitestore.OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	st := &recordingStore{SQLite: sq}
	r := newSafetyRig(t, st, []string{alice}, nil)
	plain := map[string][]byte{"the canary": []byte(canary)}

	// 1. Confirm.
	r.command(t, alice, "env set staging clientSecret="+canary)
	confirm := r.lastAnswer(t, alice)
	if !strings.Contains(string(confirm.Blocks), "Confirm") {
		t.Fatalf("no confirmation: %s", confirm.Blocks)
	}
	if !strings.Contains(string(confirm.Blocks), "stops working if pmops restarts") {
		t.Fatalf("a confirmation sealed under a per-process key does not say it dies with the process: %s", confirm.Blocks)
	}
	scanFiles(t, "pending confirmation", path, plain)
	// Two clicks on Confirm (the second before the first replaced the message): the second is told the button
	// was used, though its row is already deleted: the tombstone answers.
	second, err := r.fake.BlockActionPayload(slackfake.Click{Channel: confirm.Channel, MessageTS: confirm.TS, User: alice,
		ActionID: findAction(t, confirm.Blocks, "Confirm")})
	if err != nil {
		t.Fatal(err)
	}
	lateCancel, err := r.fake.BlockActionPayload(slackfake.Click{Channel: confirm.Channel, MessageTS: confirm.TS, User: alice,
		ActionID: findAction(t, confirm.Blocks, "Cancel")})
	if err != nil {
		t.Fatal(err)
	}
	r.click(t, alice, confirm, "Confirm")
	if done := r.lastAnswer(t, alice); !strings.Contains(done.Text+string(done.Blocks), "clientSecret") {
		t.Fatalf("not confirmed: %s %s", done.Text, done.Blocks)
	}
	if _, err := r.fake.Deliver(context.Background(), r.http.URL+"/slack/interactions", slackfake.DeliverInteraction, second); err != nil {
		t.Fatal(err)
	}
	if again := r.lastAnswer(t, alice); !strings.Contains(again.Text, "already used") {
		t.Fatalf("second click: %q", again.Text)
	}
	// Its Cancel went with it (the row, and its sealed copy of the secret, deleted at once).
	if _, err := r.fake.Deliver(context.Background(), r.http.URL+"/slack/interactions", slackfake.DeliverInteraction, lateCancel); err != nil {
		t.Fatal(err)
	}
	if again := r.lastAnswer(t, alice); !strings.Contains(again.Text, "already used") {
		t.Fatalf("Cancel after Confirm: %q", again.Text)
	}

	// 2. Cancel.
	r.command(t, alice, "env set staging clientSecret="+canary+"-2")
	cancel := r.lastAnswer(t, alice)
	r.click(t, alice, cancel, "Cancel")
	if got := r.lastAnswer(t, alice); !strings.Contains(got.Text, "Cancelled") {
		t.Fatalf("cancel: %q", got.Text)
	}
	scanFiles(t, "after confirm and cancel", path, plain)

	// 3. Expire: one click after the TTL, the rest by the purge.
	r.command(t, alice, "env set staging clientSecret="+canary+"-3")
	late := r.lastAnswer(t, alice)
	r.clock.Advance(16 * time.Minute)
	r.click(t, alice, late, "Confirm")
	if got := r.lastAnswer(t, alice); !strings.Contains(got.Text, "expired") {
		t.Fatalf("late click: %q", got.Text)
	}
	if _, err := sq.PurgeExpired(context.Background(), r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r.d.Idle()

	// Every stored payload was sealed, and every one is gone from the files (rows deleted, pages overwritten,
	// WAL truncated), not only unreadable.
	st.mu.Lock()
	stored := st.payloads
	st.mu.Unlock()
	if len(stored) < 6 {
		t.Fatalf("only %d action payloads stored; the flows did not run", len(stored))
	}
	needles := map[string][]byte{"the canary": []byte(canary)}
	for i, p := range stored {
		if bytes.Contains(p, []byte(canary)) || bytes.Contains(p, []byte(`"tool"`)) {
			t.Fatalf("payload %d stored in plain text", i)
		}
		if len(p) >= vault.Overhead+16 {
			needles["sealed payload "+string(rune('A'+i))] = p[1+12 : 1+12+16] // 16 bytes of its ciphertext
		}
	}
	scanFiles(t, "after confirm, cancel and expiry", path, needles)

	if strings.Contains(r.logs.String(), canary) {
		t.Fatal("the canary secret was logged")
	}
	if !strings.Contains(r.logs.String(), "audit") {
		t.Fatal("no logs captured; the log assertion proves nothing")
	}
	for _, u := range []string{alice, bob} {
		for _, e := range r.fake.Ephemerals(slackfake.ChannelGeneral, u) {
			if strings.Contains(e.Text+string(e.Blocks), canary) {
				t.Fatalf("the canary was shown in Slack: %s", e.Blocks)
			}
		}
	}
}

// TestStrangersClickLeavesTheOwnersButton: bob (who may write) clicks alice's Confirm through the signed HTTP path.
// He is refused, nothing changes in Postman, and alice's own click still works.
func TestStrangersClickLeavesTheOwnersButton(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, writers: []string{alice, bob}})
	r.command(t, alice, "monitor resume Legacy billing sync")
	confirm := r.lastAnswer(t, alice)
	actionID := findAction(t, confirm.Blocks, "Confirm")
	p, err := r.fake.BlockActionPayload(slackfake.Click{Channel: confirm.Channel, MessageTS: confirm.TS, User: alice, ActionID: actionID})
	if err != nil {
		t.Fatal(err)
	}
	// The same button value, clicked by bob (with his own response_url).
	p["user"] = map[string]any{"id": bob, "username": "bob", "name": "bob", "team_id": slackfake.DefaultTeamID}
	p["response_url"] = r.fake.NewResponseURL(confirm.Channel, bob)
	r.d.Idle()
	before := r.emu.Requests(emulator.DemoKey)
	del, err := r.fake.Deliver(context.Background(), r.http.URL+"/slack/interactions", slackfake.DeliverInteraction, p)
	if err != nil || del.Status != 200 {
		t.Fatalf("stranger's click: %v %+v", err, del)
	}
	if got := r.lastAnswer(t, bob); !strings.Contains(got.Text, "Only the person who asked") {
		t.Fatalf("bob was told %q", got.Text)
	}
	if n := r.emu.Requests(emulator.DemoKey) - before; n != 0 {
		t.Fatalf("a stranger's click sent %d requests to Postman", n)
	}
	r.click(t, alice, confirm, "Confirm")
	if got := r.lastAnswer(t, alice); !strings.Contains(got.Text, "resumed") || !strings.Contains(got.Text, "<@"+alice+">") {
		t.Fatalf("the owner's click after the stranger's: %q", got.Text)
	}
}

// TestConfirmationAfterRestart: with no PMOPS_SECRET_KEY a confirmation sealed before a restart cannot be opened
// after it, and says so; with a key, confirmations carry no such warning.
func TestConfirmationAfterRestart(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, writers: []string{alice}})
	r.command(t, alice, "monitor resume Legacy billing sync")
	confirm := r.lastAnswer(t, alice)
	restarted, err := vault.NewEphemeral() // the same store, a new process's key
	if err != nil {
		t.Fatal(err)
	}
	r.d.actions = restarted
	r.click(t, alice, confirm, "Confirm")
	if got := r.lastAnswer(t, alice); !strings.Contains(got.Text, "before pmops restarted") {
		t.Fatalf("click after restart: %q", got.Text)
	}

	withKey := newRig(t, rigOpts{teamKey: emulator.DemoKey, writers: []string{alice}, withVault: true})
	withKey.command(t, alice, "monitor resume Legacy billing sync")
	if got := withKey.lastAnswer(t, alice); strings.Contains(string(got.Blocks), "restarts") {
		t.Fatalf("a confirmation sealed with PMOPS_SECRET_KEY warns about restarts: %s", got.Blocks)
	}
}

// TestQuotaAndWhoamiWhenQuotaSpent: with the key's monthly quota spent, /postman quota answers from the rate
// gate (the quota is spent, its reset, the gate's numbers) instead of failing, and /postman whoami says so too.
func TestQuotaAndWhoamiWhenQuotaSpent(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, emu: emulator.Options{MonthlyQuota: 5, MonthlyUsageStart: 5}})
	r.command(t, alice, "quota")
	got := r.lastAnswer(t, alice)
	all := got.Text + string(got.Blocks)
	for _, want := range []string{"quota spent", "Resets:", "Rate gate:"} {
		if !strings.Contains(all, want) {
			t.Fatalf("quota answer lacks %q: %s", want, all)
		}
	}
	assertNoSecret(t, "quota answer", all)
	sent := r.emu.TotalRequests()
	r.command(t, alice, "quota")
	if again := r.lastAnswer(t, alice); !strings.Contains(again.Text+string(again.Blocks), "quota spent") {
		t.Fatalf("second quota: %s", again.Blocks)
	}
	if r.emu.TotalRequests() != sent {
		t.Fatal("a spent quota still sent requests to Postman")
	}
	del := r.command(t, alice, "whoami")
	if !strings.Contains(string(del.Body), "shared Postman key") || !strings.Contains(string(del.Body), "quota is spent") {
		t.Fatalf("whoami: %s", del.Body)
	}
}
