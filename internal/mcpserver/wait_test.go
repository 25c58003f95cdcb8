package mcpserver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/tools"
)

// handlerTransport serves requests from an http.Handler in memory, so a synctest bubble holds the whole path.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

type callOutcome struct {
	start, end time.Time
	isError    bool
	text       string
}

type notice struct {
	at  time.Time
	msg string
}

// TestSixtyCallsOnATenPerTenSecondKey: 60 parallel tool calls through the MCP client on a key the emulator allows
// 10 requests per 10 s, with the default 45 s bound on waiting. Each call either answers within the bound or
// returns at once a rate-limited error that says when to retry; calls that wait are told why and for how long,
// at most once a second; Postman never answers 429. Time is virtual (synctest).
func TestSixtyCallsOnATenPerTenSecondKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		emu := emulator.New(emulator.Options{Seed: emulator.SeedDemo, Window: 10 * time.Second, PerWindow: 10,
			RouteWindow: 10 * time.Second, RoutePerWindow: 10})
		defer emu.Close()
		gate := ratelimit.New(handlerTransport{emu}, ratelimit.Options{Routes: api.RateRoutes(), Cache: api.CacheRules()})
		defer gate.Close()
		c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: "http://127.0.0.1:1", Gate: gate})
		if err != nil {
			t.Fatal(err)
		}
		env := &tools.Env{Client: c, Budget: c.RateBudget, Runs: tools.NewRunLog(8)}
		s, err := New(Options{Env: func(context.Context) (*tools.Env, error) { return env, nil }})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := client.NewInProcessClient(s)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx := t.Context()
		if err := cl.Start(ctx); err != nil {
			t.Fatal(err)
		}
		init := mcp.InitializeRequest{}
		init.Params.ProtocolVersion = "2025-11-25"
		init.Params.ClientInfo = mcp.Implementation{Name: "test", Version: "1"}
		if _, err := cl.Initialize(ctx, init); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		notices := map[string][]notice{}
		cl.OnNotification(func(n mcp.JSONRPCNotification) {
			if n.Method != "notifications/progress" {
				return
			}
			tok, _ := n.Params.AdditionalFields["progressToken"].(string)
			msg, _ := n.Params.AdditionalFields["message"].(string)
			mu.Lock()
			notices[tok] = append(notices[tok], notice{time.Now(), msg})
			mu.Unlock()
		})

		const calls = 60
		out := make([]callOutcome, calls)
		var wg sync.WaitGroup
		for i := range calls {
			wg.Go(func() {
				req := mcp.CallToolRequest{}
				req.Params.Name = "list_environments"
				if i%4 != 3 { // a quarter of the calls ask for no progress
					req.Params.Meta = &mcp.Meta{ProgressToken: fmt.Sprintf("tok-%d", i)}
				}
				start := time.Now()
				res, err := cl.CallTool(ctx, req)
				if err != nil {
					t.Errorf("call %d: %v", i, err)
					return
				}
				out[i] = callOutcome{start: start, end: time.Now(), isError: res.IsError, text: textOf(res)}
			})
		}
		wg.Wait()

		answered, refused, notified := 0, 0, 0
		var sample, refusal string
		for i, o := range out {
			took := o.end.Sub(o.start)
			switch {
			case !o.isError:
				answered++
				if took > DefaultMaxWait+time.Second {
					t.Errorf("call %d answered after %s, past the %s bound", i, took, DefaultMaxWait)
				}
			case strings.Contains(o.text, "rate limit reached until") && strings.Contains(o.text, "retry in about"):
				refused++
				refusal = o.text
				if took > time.Second {
					t.Errorf("call %d was refused only after %s; a wait past the bound must be refused at once", i, took)
				}
			default:
				t.Errorf("call %d: unexpected error %q", i, o.text)
			}
			mu.Lock()
			got := notices[fmt.Sprintf("tok-%d", i)]
			mu.Unlock()
			var waits []notice
			for _, n := range got {
				if strings.HasPrefix(n.msg, "waiting for Postman rate budget: ") {
					waits = append(waits, n)
				}
			}
			if i%4 == 3 && len(got) > 0 {
				t.Errorf("call %d gave no progress token but got %d notices", i, len(got))
			}
			if i%4 != 3 && !o.isError && took > 2*time.Second && len(waits) == 0 {
				t.Errorf("call %d waited %s with a progress token and was not told why (notices %v)", i, took, got)
			}
			for j := 1; j < len(waits); j++ {
				if d := waits[j].at.Sub(waits[j-1].at); d < time.Second {
					t.Errorf("call %d: two wait notices %s apart; at most one a second", i, d)
				}
			}
			if len(waits) > 0 {
				notified++
				sample = waits[len(waits)-1].msg
			}
		}
		st := emu.Stats(emulator.DemoKey)
		t.Logf("%d answered, %d refused with a retry time (e.g. %q), %d told why they wait (e.g. %q); emulator admitted %d, 429s %d",
			answered, refused, refusal, notified, sample, st.Admitted, st.RateLimited)
		if notified == 0 {
			t.Error("no call was told why it waits")
		}
		if answered < 30 || refused < 1 {
			t.Errorf("answered %d, refused %d: at 10 per 10 s with a 45 s bound about 50 should answer and the rest be refused", answered, refused)
		}
		if st.RateLimited != 0 {
			t.Errorf("Postman answered %d × 429", st.RateLimited)
		}
	})
}

func TestWaitMessage(t *testing.T) {
	until := time.Date(2026, 12, 5, 12, 3, 10, 0, time.UTC)
	for _, tc := range []struct {
		info ratelimit.WaitInfo
		want string
	}{
		{ratelimit.WaitInfo{Ahead: 12, Estimate: 39500 * time.Millisecond, Until: until, Reason: "window"},
			"waiting for Postman rate budget: 12 requests ahead, about 40 s (rate window spent; expected to go at 12:03:10 UTC)"},
		{ratelimit.WaitInfo{Ahead: 1, Estimate: 200 * time.Millisecond, Until: until, Reason: "route bucket"},
			"waiting for Postman rate budget: 1 request ahead, about 1 s (this endpoint's own limit spent; expected to go at 12:03:10 UTC)"},
		{ratelimit.WaitInfo{Estimate: 150 * time.Second, Until: until, Reason: "server 429"},
			"waiting for Postman rate budget: next in line, about 2 min 30 s (Postman answered 429; expected to go at 12:03:10 UTC)"},
	} {
		if got := WaitMessage(tc.info); got != tc.want {
			t.Errorf("WaitMessage(%+v)\n got %q\nwant %q", tc.info, got, tc.want)
		}
	}
}

// TestProgressOnlyGrows: wait notices and the tool's own steps share one token, so the value must grow whichever
// kind is sent; wait notices come at most once a second.
func TestProgressOnlyGrows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &progress{ctx: context.Background(), s: server.NewMCPServer("t", "1"), token: "tok"}
		var values []float64
		record := func() { values = append(values, p.value) }
		info := ratelimit.WaitInfo{Ahead: 3, Estimate: 5 * time.Second, Until: time.Now().Add(5 * time.Second), Reason: "window"}
		p.wait(info)
		record()
		p.step(0, 3, "start")
		record()
		p.wait(info) // within the second: dropped
		if p.value != values[len(values)-1] {
			t.Fatal("a second wait notice within one second was sent")
		}
		time.Sleep(time.Second)
		p.wait(info)
		record()
		p.step(1, 3, "one")
		record()
		p.step(1, 3, "one again")
		record()
		p.step(3, 3, "done")
		record()
		for i := 1; i < len(values); i++ {
			if values[i] <= values[i-1] {
				t.Fatalf("progress went %v", values)
			}
		}
		if values[len(values)-1] != 3 {
			t.Fatalf("the tool's own count is kept when it is ahead: %v", values)
		}
	})
}
