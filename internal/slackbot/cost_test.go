package slackbot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

// eventLog is what happened, in order: Postman answers ("answered GET /monitors") and the bot's posts
// ("reply <text>"). The cost tests assert on the order, never on times.
type eventLog struct {
	mu sync.Mutex
	ev []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ev = append(l.ev, s)
}

func (l *eventLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ev...)
}

// index is the position of the first event starting with prefix (-1 if none).
func (l *eventLog) index(prefix string) int {
	for i, e := range l.all() {
		if strings.HasPrefix(e, prefix) {
			return i
		}
	}
	return -1
}

// emuTransport serves requests from the emulator in-process (its latency is slept on the bubble's clock) and
// logs each answer.
type emuTransport struct {
	emu *emulator.Emulator
	log *eventLog
}

func (t emuTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.emu.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	t.log.add("answered " + req.Method + " " + req.URL.Path)
	return rec.Result(), nil
}

type logResponder struct{ log *eventLog }

func (r logResponder) Reply(_ context.Context, _ Request, msg slackrender.Message, _ ReplyMode) error {
	r.log.add("reply " + msg.Text)
	return nil
}
func (logResponder) OpenView(context.Context, string, slack.ModalViewRequest) error { return nil }

type oneEnv struct{ env *tools.Env }

func (o oneEnv) Env(string) (*tools.Env, error) { return o.env, nil }

// TestQueuedFromPlan: the dispatcher estimates a read's wait from the calls its tool declares, so a command whose
// later call will meet Postman's spent route bucket (10 per 10 s) is told "Queued…" before its first call
// returns (at the ack when the bucket is already spent; from the wait watcher when others spend it while the
// first call is out), and a command whose calls all fit is told "Working on it…" and never "Queued…". The
// emulator answers in 2 s of the bubble's clock; nothing sleeps for real.
func TestQueuedFromPlan(t *testing.T) {
	const command = "monitor " + emulator.DemoMonitorFailing // GET /monitors, /monitors/{id}, /collections, /environments
	cases := []struct {
		name string
		// spendBefore and spendAfter are how many route-bucket reads another person makes before the command,
		// and after its first call went out.
		spendBefore, spendAfter int
		wantAck                 string
		wantQueued              bool
	}{
		{name: "bucket spent at the ack", spendBefore: 9, wantAck: "Queued:", wantQueued: true},
		{name: "bucket spent while the first call is out", spendAfter: 9, wantAck: "Working on it", wantQueued: true},
		{name: "bucket has room for every call", wantAck: "Working on it", wantQueued: false},
		{name: "others leave room for every call", spendBefore: 5, wantAck: "Working on it", wantQueued: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := &eventLog{}
				emu := emulator.New(emulator.Options{Latency: 2 * time.Second})
				defer emu.Close()
				gate := ratelimit.New(emuTransport{emu: emu, log: log}, ratelimit.Options{Routes: api.RateRoutes(), Cache: api.CacheRules()})
				c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: "http://postman.test", Gate: gate})
				if err != nil {
					t.Fatal(err)
				}
				env := &tools.Env{Client: c, Budget: c.RateBudget, Runs: tools.NewRunLog(8)}
				d, err := New(Config{Envs: oneEnv{env}, TeamKey: emulator.DemoKey, Store: store.NewMemory(), Responder: logResponder{log}})
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close(context.Background())

				other := ratelimit.WithTicket(context.Background(), ratelimit.Ticket{Class: ratelimit.Interactive, User: "someone else"})
				// One call first, so the gate knows the key's window and Postman's round trip, as it would after
				// any earlier command.
				if _, err := c.GetMe(other); err != nil {
					t.Fatal(err)
				}
				var spenders sync.WaitGroup
				spend := func(n int) {
					for range n {
						spenders.Go(func() {
							if _, err := c.ListWorkspacesPage(other, api.ListWorkspacesOptions{}, ""); err != nil {
								t.Errorf("spend the route bucket: %v", err)
							}
						})
					}
					synctest.Wait() // every one of them is out (on the emulator's latency)
				}
				spend(tc.spendBefore)

				ack := d.Handle(context.Background(), Request{Kind: KindCommand, TeamID: "T1", UserID: "U1", ChannelID: "C1",
					Text: command, ResponseURL: "https://hooks.slack.test/1"})
				if ack.Message == nil || !strings.Contains(ack.Message.Text, tc.wantAck) {
					t.Fatalf("ack = %+v, want %q", ack.Message, tc.wantAck)
				}
				log.add("ack " + ack.Message.Text)
				ack.Sent()
				synctest.Wait() // the command's first call is out
				spend(tc.spendAfter)
				d.Idle()
				spenders.Wait()

				ev := log.all()
				told := -1
				for i, e := range ev {
					if strings.Contains(e, "Queued:") {
						told = i
						break
					}
				}
				ackAt := log.index("ack ")
				firstAnswer := -1
				for i, e := range ev {
					if i > ackAt && strings.HasPrefix(e, "answered GET /monitors") {
						firstAnswer = i
						break
					}
				}
				if firstAnswer < 0 {
					t.Fatalf("the command's first call was never answered: %q", ev)
				}
				switch {
				case tc.wantQueued && (told < 0 || told > firstAnswer):
					t.Errorf("not told Queued before its first call returned: %q", ev)
				case !tc.wantQueued && told >= 0:
					t.Errorf("told Queued although its calls all fit: %q", ev)
				}
				last := ev[len(ev)-1]
				if !strings.HasPrefix(last, "reply ") || strings.Contains(last, "Queued:") || strings.Contains(last, "Working on it") ||
					!strings.Contains(last, emulator.DemoMonitorFailing) {
					t.Errorf("last event %q is not the command's answer: %q", last, ev)
				}
			})
		})
	}
}
