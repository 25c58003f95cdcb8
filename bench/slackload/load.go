package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/app"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/slackbot"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/store"
)

// Scenario is the shape of one load run.
type Scenario struct {
	Commands int           // slash commands sent
	Over     time.Duration // spread evenly over this long (one every Over/Commands)
	Users    int           // distinct Slack users, taking turns
	Mix      []string      // command texts after /postman, cycled

	Latency   time.Duration // the emulator's added latency per admitted request
	PerWindow int           // the emulator's per-key limit per Window
	Window    time.Duration

	JobTimeout time.Duration // slackbot.Config.JobTimeout
	Workers    int           // slackbot.Config.Workers (0: the bot's default)
	// AckTimeout is how long the Slack fake waits for an ack before the user sees operation_timeout (0:
	// Slack's 3 s).
	AckTimeout time.Duration
	// Wait caps how long the run waits for answers after the last command was sent; what has no answer by
	// then counts as lost.
	Wait time.Duration

	Logger *slog.Logger // progress and the bot's own warnings; nil discards
}

// DefaultMix is mostly reads that go through Postman's stricter route bucket (workspaces, monitors, the
// collections list) plus some that only spend the per-key window (environments, /me).
var DefaultMix = []string{
	"workspaces",
	"monitors",
	"env get staging",
	"collection " + emulator.DemoCollectionOrders,
	"quota",
	"monitor " + emulator.DemoMonitorFailing,
}

// world is one emulator, one Slack fake with the scenario's users in #general, and the production backend
// (internal/app: one api.Client per key, with Postman's route buckets and cache rules) over the emulator.
type world struct {
	emu     *emulator.Emulator
	emuSrv  *httptest.Server
	fake    *slackfake.Server
	backend *app.Backend
	users   []string
}

func newWorld(s Scenario) (*world, error) {
	emu := emulator.New(emulator.Options{Latency: s.Latency, PerWindow: s.PerWindow, Window: s.Window})
	emuSrv := httptest.NewServer(emu)
	users := make([]slackfake.User, s.Users)
	members := []string{slackfake.DefaultBotUserID}
	ids := make([]string, s.Users)
	for i := range users {
		ids[i] = fmt.Sprintf("U0LOAD%04d", i+1)
		users[i] = slackfake.User{ID: ids[i], Name: fmt.Sprintf("user%d", i+1), RealName: fmt.Sprintf("Load User %d", i+1)}
		members = append(members, ids[i])
	}
	fake := slackfake.New(slackfake.Options{Users: users, DeliveryTimeout: s.AckTimeout,
		Channels: []slackfake.Channel{{ID: slackfake.ChannelGeneral, Name: "general", Members: members}}})
	backend, err := app.Open(app.Config{APIKey: emulator.DemoKey, BaseURL: emuSrv.URL})
	if err != nil {
		fake.Close()
		emuSrv.Close()
		return nil, fmt.Errorf("open backend over the emulator: %w", err)
	}
	return &world{emu: emu, emuSrv: emuSrv, fake: fake, backend: backend, users: ids}, nil
}

func (w *world) close() {
	w.backend.Close()
	w.fake.Close()
	w.emuSrv.Close()
	_ = w.emu.Close()
}

// command is one slash command of the run and what became of it.
type command struct {
	user, text  string
	form        url.Values
	responseURL string
	sentAt      time.Time
	del         slackfake.Delivery
	err         error // the delivery could not be made at all
}

// commands builds the run's slash-command forms in #general. Users take turns (command i is user i%Users's k-th,
// k = i/Users) and each walks the mix from its own starting point (Mix[(i%Users+k)%len(Mix)]), so every user
// sends different commands and neighbouring commands differ.
func (w *world) commands(s Scenario) ([]*command, error) {
	out := make([]*command, s.Commands)
	for i := range out {
		c := &command{user: w.users[i%len(w.users)], text: s.Mix[(i%len(w.users)+i/len(w.users))%len(s.Mix)]}
		form, err := w.fake.SlashCommandForm(slackfake.SlashCommand{Text: c.text, ChannelID: slackfake.ChannelGeneral, UserID: c.user})
		if err != nil {
			return nil, fmt.Errorf("slash command form for %s: %w", c.user, err)
		}
		c.form, c.responseURL = form, form.Get("response_url")
		out[i] = c
	}
	return out, nil
}

// drive delivers the commands to target on an even schedule, each on its own goroutine as Slack would, and
// waits for every delivery to be acked or time out. It returns when the last command was sent.
func (w *world) drive(ctx context.Context, target string, cmds []*command, over time.Duration) time.Time {
	interval := over / time.Duration(max(1, len(cmds)))
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range cmds {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		c.sentAt = time.Now()
		wg.Go(func() {
			c.del, c.err = w.fake.Deliver(ctx, target, slackfake.DeliverSlashCommand, c.form)
		})
	}
	last := time.Now()
	wg.Wait()
	return last
}

// RunBot measures the real bot: slackbot's HTTP transport and dispatcher over the production backend.
func RunBot(ctx context.Context, s Scenario, refs References) (Result, error) {
	log := logger(s)
	w, err := newWorld(s)
	if err != nil {
		return Result{}, err
	}
	defer w.close()
	st := store.NewMemory()
	defer st.Close()
	slackAPI := slack.New(w.fake.BotToken(), slack.OptionAPIURL(w.fake.APIURL()))
	d, err := slackbot.New(slackbot.Config{Envs: w.backend, TeamKey: emulator.DemoKey, Store: st,
		Responder: slackbot.NewSlackResponder(slackAPI, log), Workers: s.Workers, JobTimeout: s.JobTimeout, Logger: log})
	if err != nil {
		return Result{}, err
	}
	h := &slackbot.HTTPHandler{Dispatcher: d, SigningSecret: w.fake.SigningSecret(), Seen: st.SeenOnce, Logger: log}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	defer func() {
		// Jobs still running past the cap are cut short: they were already counted as lost.
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		d.Close(cctx)
	}()

	cmds, err := w.commands(s)
	if err != nil {
		return Result{}, err
	}
	log.Info("slackload: bot run", "commands", len(cmds), "over", s.Over, "users", s.Users)
	start := time.Now()
	last := w.drive(ctx, srv.URL+"/slack/commands", cmds, s.Over)
	idle := make(chan struct{})
	go func() { d.Idle(); close(idle) }()
	capped := false
	select {
	case <-idle:
	case <-time.After(time.Until(last.Add(s.Wait))):
		capped = true
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	wall := time.Since(start)
	if capped {
		log.Warn("slackload: answers still outstanding at the wait cap", "cap", s.Wait)
	}
	res := collect("pmops bot", cmds, func(c *command) (answer, time.Time, bool) { return botAnswer(w.fake, c) }, refs)
	res.Wall, res.Capped = wall, capped
	res.addEmulator(w.emu)
	res.WebAPIEphemerals = len(okCalls(w.fake.CallsTo("chat.postEphemeral")))
	return res, nil
}

// RunNaive measures the baseline: a bot that calls the tool on the ack path and answers in the HTTP body.
func RunNaive(ctx context.Context, s Scenario, refs References) (Result, error) {
	log := logger(s)
	w, err := newWorld(s)
	if err != nil {
		return Result{}, err
	}
	defer w.close()
	srv := httptest.NewServer(&naiveBot{SigningSecret: w.fake.SigningSecret(), Envs: w.backend, Key: emulator.DemoKey})
	defer srv.Close()
	cmds, err := w.commands(s)
	if err != nil {
		return Result{}, err
	}
	log.Info("slackload: naive baseline run", "commands", len(cmds), "over", s.Over, "users", s.Users)
	start := time.Now()
	w.drive(ctx, srv.URL+"/slack/commands", cmds, s.Over)
	wall := time.Since(start)
	res := collect("naive (Postman on the ack path)", cmds, func(c *command) (answer, time.Time, bool) {
		if c.err != nil || c.del.TimedOut || c.del.Status != http.StatusOK {
			return answer{}, time.Time{}, false
		}
		a := ackAnswer(c.del.Body)
		a.at = c.sentAt.Add(c.del.Latency)
		return a, time.Time{}, true
	}, refs)
	res.Wall = wall
	res.addEmulator(w.emu)
	return res, nil
}

// answer is what a person finally saw for one command.
type answer struct {
	text   string          // the fallback (notification) text
	blocks json.RawMessage // the Block Kit blocks
	at     time.Time
	// about is the wait the first "Queued…" note announced ("about T s"; zero when none was shown).
	about time.Duration
}

// queuedAbout reads the "about T s" of a "Queued…" note.
func queuedAbout(text string) time.Duration {
	_, rest, ok := strings.Cut(text, "about ")
	if !ok {
		return 0
	}
	n, _, _ := strings.Cut(rest, " s")
	secs, err := strconv.Atoi(n)
	if err != nil {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// progressNote says a message only says the command is under way ("Working on it…", "Queued: …").
func progressNote(text string) bool {
	return strings.Contains(text, "Working on it") || strings.HasPrefix(strings.TrimPrefix(text, "⏳ "), "Queued:")
}

// botAnswer is the last message the bot posted to the command's response_url, or, when it posted none, an
// immediate answer in the ack body that is not just a progress note. queuedAt is when the person was first told
// the command is queued (zero if never).
func botAnswer(fake *slackfake.Server, c *command) (a answer, queuedAt time.Time, ok bool) {
	id := c.responseURL[strings.LastIndex(c.responseURL, "/")+1:]
	ackAt := c.sentAt.Add(c.del.Latency)
	var ack answer
	if c.err == nil && !c.del.TimedOut && c.del.Status == http.StatusOK && len(c.del.Body) > 0 {
		ack = ackAnswer(c.del.Body)
		ack.at = ackAt
		if strings.Contains(ack.text, "Queued:") {
			queuedAt, ack.about = ackAt, queuedAbout(ack.text)
		}
	}
	about := ack.about
	var last *slackfake.ResponsePost
	for _, p := range fake.ResponseURLPosts(id) {
		if p.Error != "" || p.Source != "response_url" {
			continue
		}
		if queuedAt.IsZero() && strings.Contains(p.Text, "Queued:") {
			queuedAt, about = p.At, queuedAbout(p.Text)
		}
		last = &p
	}
	if last != nil {
		if progressNote(last.Text) {
			return answer{}, queuedAt, false
		}
		return answer{text: last.Text, blocks: last.Blocks, at: last.At, about: about}, queuedAt, true
	}
	if ack.text != "" && !progressNote(ack.text) {
		return ack, queuedAt, true
	}
	return answer{}, queuedAt, false
}

// References are, by command text, the header each command's result starts with and how long the command takes
// on an idle emulator with the scenario's latency (its time without any wait for rate budget).
type References struct {
	Header map[string]string
	Idle   map[string]time.Duration
}

// Reference answers every distinct command of the mix once, on an idle emulator with no latency, with the
// tool layer called directly (not through the bot under test): the header of each result is what "answered with
// its result" must show under load. A command that fails even then is a broken mix.
func Reference(ctx context.Context, s Scenario) (References, error) {
	idle := s
	idle.PerWindow, idle.Window, idle.Users = 100_000, 0, 1
	w, err := newWorld(idle)
	if err != nil {
		return References{}, err
	}
	defer w.close()
	bot := &naiveBot{Envs: w.backend, Key: emulator.DemoKey}
	refs := References{Header: map[string]string{}, Idle: map[string]time.Duration{}}
	for _, text := range s.Mix {
		if _, ok := refs.Header[text]; ok {
			continue
		}
		start := time.Now()
		msg := bot.answer(ctx, text)
		refs.Idle[text] = time.Since(start)
		h, ok := firstHeader(msg.Blocks)
		if !ok {
			return References{}, fmt.Errorf("command %q fails on an idle emulator (%s); fix the mix", text, msg.Text)
		}
		refs.Header[text] = h
	}
	return refs, nil
}

func firstHeader(blocks []slack.Block) (string, bool) {
	if len(blocks) == 0 {
		return "", false
	}
	h, ok := blocks[0].(*slack.HeaderBlock)
	if !ok || h.Text == nil {
		return "", false
	}
	return h.Text.Text, true
}

func okCalls(calls []slackfake.Call) []slackfake.Call {
	var out []slackfake.Call
	for _, c := range calls {
		if c.OK {
			out = append(out, c)
		}
	}
	return out
}

func logger(s Scenario) *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}
