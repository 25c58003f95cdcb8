package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/redistest"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetricsExposition(t *testing.T) {
	m := New()
	m.OnSend(ratelimit.Ticket{Class: ratelimit.Background}, 1500*time.Millisecond)
	m.OnSend(ratelimit.Ticket{Class: ratelimit.Interactive}, 0)
	m.ToolCall("list_monitors", "ok", 200*time.Millisecond)
	m.ToolCall("list_monitors", "rate_limited", time.Second)
	m.SetLeader("notifier", true, 7)
	m.AddGates(func() map[string]ratelimit.Snapshot {
		return map[string]ratelimit.Snapshot{"ab12": {Limit: 300, Remaining: 120, QueuedBackground: 4, Count429: 1,
			MonthRemaining: 99000, MonthLimit: 100000, StoreDegraded: true}}
	})
	m.AddOutbox(func(context.Context) (map[string]int, time.Time, error) {
		return map[string]int{"pending": 3, "done": 10}, time.Now().Add(-time.Minute), nil
	})

	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "chat.update") {
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer slack.Close()
	c := &http.Client{Transport: m.SlackTransport(nil)}
	for _, method := range []string{"chat.postMessage", "chat.update"} {
		resp, err := c.Post(slack.URL+"/api/"+method, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	acks := m.SlackAcks(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slack/interactions" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	for _, p := range []string{"/slack/commands", "/slack/interactions", "/healthz"} {
		acks.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, p, nil))
	}

	out := scrape(t, m)
	for _, want := range []string{
		`pmops_gate_grants_total{class="background"} 1`,
		`pmops_gate_wait_seconds_bucket{class="background",le="2.5"} 1`,
		`pmops_gate_wait_seconds_bucket{class="background",le="1"} 0`,
		`pmops_tool_calls_total{outcome="rate_limited",tool="list_monitors"} 1`,
		`pmops_tool_call_seconds_count{tool="list_monitors"} 2`,
		`pmops_leader{lease="notifier"} 1`,
		`pmops_leader_token{lease="notifier"} 7`,
		`pmops_gate_queued{class="background",key="ab12"} 4`,
		`pmops_gate_429_total{key="ab12"} 1`,
		`pmops_quota_month_remaining{key="ab12"} 99000`,
		`pmops_gate_store_degraded{key="ab12"} 1`,
		`pmops_outbox_items{state="pending"} 3`,
		`pmops_slack_api_seconds_count{method="chat.postMessage",outcome="ok"} 1`,
		`pmops_slack_api_seconds_count{method="chat.update",outcome="ratelimited"} 1`,
		`pmops_slack_acks_total{code="200",endpoint="commands"} 1`,
		`pmops_slack_acks_total{code="401",endpoint="interactions"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(out, `endpoint="healthz"`) {
		t.Error("non-Slack paths counted as acks")
	}
}

func TestRedisHookCountsFailures(t *testing.T) {
	srv := redistest.Start(t)
	m := New()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	defer rdb.Close()
	rdb.AddHook(m.RedisHook())
	ctx := t.Context()
	if err := rdb.Get(ctx, "missing").Err(); !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	if err := rdb.Do(ctx, "NOSUCHCOMMAND").Err(); err == nil {
		t.Fatal("unknown command accepted")
	}
	out := scrape(t, m)
	if strings.Contains(out, `command="get"`) {
		t.Error("a missing key counted as an error")
	}
	if !strings.Contains(out, `pmops_redis_errors_total{command="nosuchcommand"} 1`) {
		t.Errorf("failed command not counted:\n%s", out[strings.Index(out, "pmops_redis"):][:200])
	}
}
