package replicas

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/app"
	"github.com/pmops/pmops/internal/notify"
	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/store"
)

const hookToken = "0123456789abcdef0123456789abcdef0123456789abcdef"

// notifyChild is a notifier replica: webhook receiver on its own port, the poller/outbox drain under the lease.
func notifyChild() int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dur, _ := time.ParseDuration(os.Getenv("PMOPS_CHILD_DURATION"))
	ttl, _ := time.ParseDuration(os.Getenv("PMOPS_CHILD_LEASE_TTL"))
	app.LeaseTTL = ttl
	ops, err := app.OpenOps(app.OpsConfig{Store: os.Getenv("PMOPS_CHILD_REDIS"), Replicas: 3}, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer ops.Close()
	api := slack.New(os.Getenv("PMOPS_CHILD_SLACK_TOKEN"), slack.OptionAPIURL(os.Getenv("PMOPS_CHILD_SLACK")), slack.OptionHTTPClient(ops.SlackHTTPClient()))
	n, err := notify.New(notify.Config{Store: ops.NotifyStore("notifier"), Slack: api, HookToken: hookToken, ChannelInterval: 50 * time.Millisecond, Logger: logger})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 2
	}
	srv := &http.Server{Handler: n.HookHandler()}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	fmt.Printf("HOOK http://%s%s%s\n", ln.Addr(), notify.HookPathPrefix, hookToken)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	leader := ops.Leader("notifier")
	go func() {
		leading := false
		for ctx.Err() == nil {
			tok, ok := leader.IsLeader()
			if ok != leading {
				leading = ok
				if ok {
					fmt.Printf("LEAD %d %d\n", time.Now().UnixNano(), tok)
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	ops.Lead(ctx, "notifier", n.Run)
	fmt.Println("DONE {}")
	return 0
}

// TestReplicasNotifyOnceThroughKill: three notifier replicas (webhook receiver on each, poller/fan-out/delivery
// under the lease, the shared Redis store fenced) take webhooks round-robin, each result also replayed to another
// replica; the leader is SIGKILLed half-way. Every result is posted to Slack exactly once.
func TestReplicasNotifyOnceThroughKill(t *testing.T) {
	r := newRig(t, 5*time.Second, 100)
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(fake.Close)
	const monitors = 12
	st, err := store.OpenRedis(t.Context(), r.redis.URL(0)+"?namespace=replicas", store.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i := range monitors {
		if _, err := st.Notify().PutSubscription(t.Context(), store.Subscription{ChannelID: slackfake.ChannelGeneral,
			Target: store.Target{Kind: store.TargetMonitor, ID: fmt.Sprintf("mon-%d", i)}, Policy: store.PolicyAll, CreatedBy: slackfake.UserAlice}); err != nil {
			t.Fatal(err)
		}
	}
	r.extraEnv = []string{"PMOPS_CHILD_MODE=notify", "PMOPS_CHILD_SLACK=" + fake.APIURL(), "PMOPS_CHILD_SLACK_TOKEN=" + fake.BotToken()}
	ttl := 3 * time.Second
	r.start(3, 40*time.Second, ttl, 0)
	var hooks []string
	for i := range 3 {
		l, _, ok := r.waitLine(0, func(l line) bool { return l.child == i && strings.HasPrefix(l.text, "HOOK ") }, 20*time.Second)
		if !ok {
			t.Fatal("replica did not start its receiver")
		}
		hooks = append(hooks, strings.TrimPrefix(l.text, "HOOK "))
	}
	lead, _, ok := r.waitLine(0, func(l line) bool { return strings.HasPrefix(l.text, "LEAD ") }, 10*time.Second)
	if !ok {
		t.Fatal("no leader")
	}
	post := func(url string, i int) {
		body := fmt.Sprintf(`{"collection_name":"c","collection_uid":"1-c","environment_name":"","environment_uid":"","metrics":{"errors":0,"failedTests":%d,"passedTests":%d,"requestCount":3,"totalLatency":%d,"warnings":0},"monitor_name":"Mon%02dX","monitor_uid":"mon-%d","user_id":"1","user_name":"u"}`, i%2, 3-i%2, 100+i, i, i)
		for attempt := 0; attempt < 20; attempt++ {
			resp, err := http.Post(url, "application/json", bytes.NewReader([]byte(body)))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					return
				}
			}
			time.Sleep(100 * time.Millisecond) // that replica was killed: Postman retries, here on another
			url = hooks[(attempt+i)%3]
		}
		t.Errorf("webhook %d not accepted", i)
	}
	for i := range monitors {
		// A result and its replay within the same minute (the receiver keys un-correlated results by minute).
		if s := time.Now().Second(); s >= 58 {
			time.Sleep(time.Duration(61-s) * time.Second)
		}
		post(hooks[i%3], i)
		post(hooks[(i+1)%3], i)
		if i == monitors/2 {
			if err := syscall.Kill(-r.cmds[lead.child].Process.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			hooks[lead.child] = hooks[(lead.child+1)%3]
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && len(fake.Messages(slackfake.ChannelGeneral)) < monitors {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // any duplicate would arrive by now
	count := map[int]int{}
	for _, m := range fake.Messages(slackfake.ChannelGeneral) {
		for i := range monitors {
			if strings.Contains(m.Text+string(m.Blocks), fmt.Sprintf("Mon%02dX", i)) {
				count[i]++
			}
		}
	}
	report(t, "notify: %d results (each also replayed to another replica) into 3 replicas, leader (replica %d) SIGKILLed after %d: %d messages posted",
		monitors, lead.child, monitors/2+1, len(fake.Messages(slackfake.ChannelGeneral)))
	for i := range monitors {
		if count[i] != 1 {
			t.Errorf("monitor %d posted %d times, want exactly once", i, count[i])
		}
	}
	for _, c := range r.cmds {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	}
	r.wait(map[int]bool{0: true, 1: true, 2: true})
}
