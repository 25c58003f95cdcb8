package slackbot

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/newman"
	"github.com/pmops/pmops/internal/newman/newmantest"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

// runEnvs is testEnvs with collection runs wired, as app.Backend does when Newman is configured.
type runEnvs struct {
	*testEnvs
	runs *tools.CollectionRuns
}

func (e *runEnvs) Env(key string) (*tools.Env, error) {
	env, err := e.testEnvs.Env(key)
	if err != nil {
		return nil, err
	}
	env.CollectionRuns = e.runs
	return env, nil
}

// newRunRig is a rig whose emulator knows its own address (so the demo staging environment points at the
// emulator's mock and the demo Payments API runs offline) and whose bot runs collections with real Newman.
func newRunRig(t *testing.T, writers []string) *rig {
	t.Helper()
	path := newmantest.Path(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	emu := emulator.New(emulator.Options{RoutePerWindow: 10_000, PublicURL: "http://" + ln.Addr().String()})
	emuSrv := httptest.NewUnstartedServer(emu)
	emuSrv.Listener.Close()
	emuSrv.Listener = ln
	emuSrv.Start()
	fake := slackfake.New(slackfake.Options{})
	runner := newman.NewRunner(newman.Options{Path: path, MaxRuns: 2, TempDir: t.TempDir()})
	runs := tools.NewCollectionRuns(runner)
	t.Cleanup(func() { runs.Close(context.Background()); fake.Close(); emuSrv.Close(); _ = emu.Close() })
	apiClient := slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL()), slack.OptionAppLevelToken(fake.AppToken()))
	st := store.NewMemory()
	d, err := New(Config{Envs: &runEnvs{testEnvs: &testEnvs{url: emuSrv.URL, m: map[string]*tools.Env{}}, runs: runs},
		TeamKey: emulator.DemoKey, Writers: writers, Store: st, Responder: NewSlackResponder(apiClient, nil)})
	if err != nil {
		t.Fatal(err)
	}
	h := &HTTPHandler{Dispatcher: d, SigningSecret: fake.SigningSecret(), Seen: st.SeenOnce}
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(func() { srv.Close(); d.Close(context.Background()) })
	return &rig{emu: emu, fake: fake, store: st, d: d, http: srv, api: apiClient}
}

func buttonLabels(t *testing.T, e slackfake.Ephemeral) []string {
	var out []string
	for _, b := range buttonsOf(t, e.Blocks) {
		out = append(out, b.label)
	}
	return out
}

func runHasButton(t *testing.T, e slackfake.Ephemeral, label string) bool {
	for _, l := range buttonLabels(t, e) {
		if strings.Contains(l, label) {
			return true
		}
	}
	return false
}

// TestRunCollectionFromSlack runs the demo Payments API against staging end to end: a partial name offers
// candidates and no Confirm, the exact name is confirmed under its resolved names, a stranger cannot confirm,
// the run's message is replaced by the result with the failing request and assertion (secrets masked) within
// the response_url's five posts, and Re-run leads to the same confirmation again.
func TestRunCollectionFromSlack(t *testing.T) {
	r := newRunRig(t, []string{alice, bob})

	r.command(t, alice, "run Payments env staging")
	partial := r.lastAnswer(t, alice)
	if runHasButton(t, partial, "Run") && !runHasButton(t, partial, "Payments API") || runHasButton(t, partial, "Confirm") {
		t.Fatalf("a partial name must offer candidates, not a Confirm: %s", partial.Text)
	}
	if !runHasButton(t, partial, "Payments API") {
		t.Fatalf("no candidate for the partial name: %s %s", partial.Text, partial.Blocks)
	}
	// Picking the candidate leads straight to the one confirmation, titled with the resolved names.
	r.click(t, alice, partial, "Payments API")
	preview := r.lastAnswer(t, alice)
	if !strings.Contains(preview.Text, "Run collection Payments API with staging?") || !runHasButton(t, preview, "Run") {
		t.Fatalf("preview after the pick: %s", preview.Text)
	}

	r.command(t, alice, "run Payments API env staging")
	preview = r.lastAnswer(t, alice)
	if !strings.Contains(preview.Text, "Run collection Payments API with staging?") {
		t.Fatalf("preview: %s", preview.Text)
	}

	// A stranger's click is refused and does not spend alice's button.
	p, err := r.fake.BlockActionPayload(slackfake.Click{Channel: preview.Channel, MessageTS: preview.TS, User: alice, ActionID: findAction(t, preview.Blocks, "Run")})
	if err != nil {
		t.Fatal(err)
	}
	p["user"] = map[string]any{"id": bob, "username": "bob", "name": "bob", "team_id": slackfake.DefaultTeamID}
	p["response_url"] = r.fake.NewResponseURL(preview.Channel, bob)
	if del, err := r.fake.Deliver(context.Background(), r.http.URL+"/slack/interactions", slackfake.DeliverInteraction, p); err != nil || del.Status != 200 {
		t.Fatalf("stranger's click: %v %+v", err, del)
	}
	if got := r.lastAnswer(t, bob); !strings.Contains(got.Text, "Only the person who asked") {
		t.Fatalf("stranger's click: %s", got.Text)
	}

	before := len(r.fake.ResponseURLPosts(""))
	r.click(t, alice, preview, "Run")
	result := r.lastAnswer(t, alice)
	all := result.Text + string(result.Blocks)
	assertNoSecret(t, "run result", all)
	for _, want := range []string{"Run of Payments API with staging failed", "ran collection Payments API with staging", "✗", "assertion"} {
		if !strings.Contains(all, want) {
			t.Errorf("result lacks %q:\n%s\n%s", want, result.Text, result.Blocks)
		}
	}
	if !runHasButton(t, result, "Re-run") {
		t.Fatalf("no Re-run button: %v", buttonLabels(t, result))
	}
	for _, p := range r.fake.ResponseURLPosts("")[before:] {
		if p.Error != "" || p.Use > 5 {
			t.Errorf("a response_url post was refused (use %d): %s", p.Use, p.Error)
		}
	}
	checkRunWords(t, all)
	var progress int
	for _, p := range r.fake.ResponseURLPosts("")[before:] {
		if strings.Contains(p.Text, "Running Payments API with staging") {
			progress++
		}
	}
	if progress == 0 || progress > maxRunNotes {
		t.Errorf("%d progress updates shown; want 1 to %d", progress, maxRunNotes)
	}
	t.Logf("result:\n%s\n%s", result.Text, result.Blocks)

	// Re-run proposes the same run again: nothing runs before a Confirm.
	r.click(t, alice, result, "Re-run")
	again := r.lastAnswer(t, alice)
	if !strings.Contains(again.Text, "Run collection Payments API with staging?") || !runHasButton(t, again, "Run") {
		t.Fatalf("Re-run: %s", again.Text)
	}
	r.click(t, alice, again, "Cancel")
	if got := r.lastAnswer(t, alice); !strings.Contains(got.Text, "Cancelled") {
		t.Fatalf("cancel: %s", got.Text)
	}
}

func checkRunWords(t *testing.T, s string) {
	t.Helper()
	for _, w := range []string{"run_collection", "get_collection_run", "async=true", "cancel=true"} {
		if strings.Contains(s, w) {
			t.Errorf("shows tool-layer words %q: %s", w, s)
		}
	}
}

// TestRunCollectionAmbiguousAndUnknown: two collections with the same name get a pick list, an unknown name
// says so with no Confirm, a bad usage shows the run command's usage only.
func TestRunCollectionAmbiguousAndUnknown(t *testing.T) {
	r := newRunRig(t, []string{alice})
	if _, err := r.emu.AddGeneratedCollection(emulator.DemoKey, "", "Payments API", 2); err != nil {
		t.Fatal(err)
	}
	r.command(t, alice, "run Payments API")
	amb := r.lastAnswer(t, alice)
	if runHasButton(t, amb, "Run") && !strings.Contains(amb.Text, "Payments") || runHasButton(t, amb, "Confirm") {
		t.Fatalf("ambiguous: %s", amb.Text)
	}
	if n := len(buttonsOf(t, amb.Blocks)); n < 2 {
		t.Fatalf("ambiguous name: want a pick list, got %d buttons: %s", n, amb.Blocks)
	}
	r.click(t, alice, amb, "Payments API")
	if got := r.lastAnswer(t, alice); !strings.Contains(got.Text, "Run collection Payments API?") {
		t.Fatalf("pick: %s", got.Text)
	}

	r.command(t, alice, "run No Such Collection")
	if got := r.lastAnswer(t, alice); runHasButton(t, got, "Run") || !strings.Contains(strings.ToLower(got.Text), "no collection") {
		t.Fatalf("unknown: %s", got.Text)
	}
	del := r.command(t, alice, "run")
	if body := string(del.Body); !strings.Contains(body, `/postman run \u0026lt;collection\u0026gt;`) || strings.Contains(body, "monitor run") {
		t.Fatalf("usage: %s", del.Body)
	}
}

// TestRunCollectionNeedsWritePermission: in team mode a reader off the writers allowlist cannot run a
// collection (a run sends real requests).
func TestRunCollectionNeedsWritePermission(t *testing.T) {
	r := newRig(t, rigOpts{teamKey: emulator.DemoKey, writers: []string{alice}})
	del := r.command(t, bob, "run Payments API env staging")
	r.d.Idle()
	if !strings.Contains(string(del.Body), "allowlist") {
		t.Fatalf("reader was not refused: %s", del.Body)
	}
	for _, e := range r.fake.Ephemerals(slackfake.ChannelGeneral, bob) {
		if strings.Contains(e.Text, "Run collection") {
			t.Fatalf("reader got a confirmation: %s", e.Text)
		}
	}
	// A writer on a bot without Newman hears what is missing, before any confirmation.
	r.command(t, alice, "run Payments API env staging")
	if got := r.lastAnswer(t, alice); !strings.Contains(got.Text, "Collection runs are not set up") || runHasButton(t, got, "Run") {
		t.Fatalf("no Newman: %s", got.Text)
	}
}

func TestParseRun(t *testing.T) {
	cases := []struct {
		in   string
		want map[string]any
		bad  bool
	}{
		{in: "run Payments API", want: map[string]any{"collection": "Payments API"}},
		{in: "run Payments API env staging", want: map[string]any{"collection": "Payments API", "environment": "staging"}},
		{in: `run "Orders API" environment "Orders staging" folder Health checks`, want: map[string]any{"collection": "Orders API", "environment": "Orders staging", "folders": []any{"Health checks"}}},
		{in: "run", bad: true},
		{in: "run env staging", bad: true},
		{in: "run X env", bad: true},
		{in: "run X env a env b", bad: true},
	}
	for _, c := range cases {
		got := ParseCommand(c.in)
		if c.bad {
			if got.Verb != "help" || got.Usage != runUsage {
				t.Errorf("%q: want the run usage, got %+v", c.in, got)
			}
			continue
		}
		if got.Tool != "run_collection" || !got.Write || len(got.Args) != len(c.want) {
			t.Errorf("%q: %+v", c.in, got)
			continue
		}
		for k, v := range c.want {
			if gv := got.Args[k]; strings.TrimSpace(strings.Join(anyStrings(gv), "")+strAny(gv)) != strings.TrimSpace(strings.Join(anyStrings(v), "")+strAny(v)) {
				t.Errorf("%q: %s = %v, want %v", c.in, k, gv, v)
			}
		}
	}
}

func strAny(v any) string { s, _ := v.(string); return s }

// TestClickEverythingRuns is TestClickEverything for the run command's messages (it needs Newman and an
// emulator that knows its address): every button of the confirmation, the pick list, the progress and the
// result is clicked through the signed HTTP path, and nothing shown speaks the tool layer's words.
func TestClickEverythingRuns(t *testing.T) {
	r := newRunRig(t, []string{alice})
	if _, err := r.emu.AddGeneratedCollection(emulator.DemoKey, "", "Click smoke", 3); err != nil {
		t.Fatal(err)
	}
	c := &clickRig{rig: r, t: t}
	kinds := map[string]bool{}
	for _, cmd := range []string{"run", "run Click", "run Click smoke env staging", "run Click smoke env stag", "run Click smoke folder nosuchfolder"} {
		c.explore([]string{cmd}, 3, kinds)
	}
	for _, k := range []string{"pick", "share", "confirm", "cancel", "label:Run", "label:Re-run"} {
		if !kinds[k] {
			t.Errorf("no %q button was rendered and clicked", k)
		}
	}
	t.Logf("%d clicks", c.clicks)
	checkCatalogue(t, c.snapshot())
}
