package app

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/redistest"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

func scrape(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// TestOpsRedisMetricsAndReadiness: with -store redis://, a tool call goes through a gate that counts its window
// in Redis, /metrics shows the call, the grant and the gate, /readyz follows Redis, and a stopped Redis shows as
// Redis errors, a degraded gate and an unready replica.
func TestOpsRedisMetricsAndReadiness(t *testing.T) {
	srv := redistest.Start(t)
	ops, err := OpenOps(OpsConfig{Store: srv.URL(0) + "?namespace=opstest", Replicas: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	b, err := Open(Config{Demo: true, Ops: ops})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	env, err := b.DefaultEnv(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	acct, _ := tools.Lookup("get_account")
	if _, err := acct.Call(t.Context(), env, []byte(`{}`)); err != nil {
		t.Fatalf("get_account: %v", err)
	}
	h := ops.Handler(nil)
	if code, body := scrape(t, h, "/readyz"); code != 200 {
		t.Errorf("readyz with Redis up: %d %s", code, body)
	}
	_, m := scrape(t, h, "/metrics")
	for _, want := range []string{
		`pmops_tool_calls_total{outcome="ok",tool="get_account"} 1`,
		`pmops_gate_grants_total{class="interactive"}`,
		`pmops_gate_wait_seconds_count{class="interactive"}`,
		`pmops_gate_sent_total{key="`,
		`pmops_gate_store_degraded{key="`,
		`pmops_quota_month_remaining{key="`,
		"pmops_replicas_live 1",
		"pmops_gate_fallback_share 3",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(m, "PMAK") {
		t.Error("metrics show an API key")
	}
	keys, _ := ops.Redis.Client().Keys(t.Context(), "pmops:{opstest}:win:*").Result()
	if len(keys) == 0 {
		t.Error("the gate did not count its window in Redis")
	}
	for _, k := range keys {
		if strings.Contains(k, "PMAK") {
			t.Errorf("window key shows the API key: %s", k)
		}
	}

	srv.Stop()
	code, body := scrape(t, h, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "store: not ready") {
		t.Errorf("readyz with Redis down: %d %q", code, body)
	}
	// The next call cannot reach Redis: it still goes (within the local share) and the gate says it is degraded.
	if _, err := acct.Call(t.Context(), env, []byte(`{}`)); err != nil {
		t.Fatalf("get_account with Redis down: %v", err)
	}
	_, m = scrape(t, h, "/metrics")
	if !strings.Contains(m, "pmops_redis_errors_total") || !strings.Contains(m, "pmops_gate_store_degraded{key=") {
		t.Errorf("metrics after Redis stopped lack the errors:\n%s", grep(m, "pmops_redis|degraded"))
	}
	if !strings.Contains(grep(m, "pmops_gate_store_degraded{"), "} 1") {
		t.Errorf("gate not marked degraded:\n%s", grep(m, "degraded"))
	}
}

func grep(s, pat string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range strings.Split(pat, "|") {
			if strings.Contains(l, p) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestOpsConfigErrors(t *testing.T) {
	tests := []struct {
		cfg  OpsConfig
		want string
	}{
		{OpsConfig{Store: "postgres://x"}, "want redis://"},
		{OpsConfig{Store: "mysql://u:secretpw@h"}, "credentials"},
		{OpsConfig{Store: "redis://:secretpw@127.0.0.1:1/0"}, "-store"},
		{OpsConfig{Replicas: -1}, "-replicas"},
		{OpsConfig{MetricsAddr: "nonsense"}, "-metrics-addr"},
	}
	for _, tt := range tests {
		_, err := OpenOps(tt.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want an error mentioning %q", tt.cfg, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secretpw") {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func TestOpsSoloLeaderAndMetricsAddr(t *testing.T) {
	ops, err := OpenOps(OpsConfig{MetricsAddr: "127.0.0.1:0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	if err := ops.Serve(); err != nil {
		t.Fatal(err)
	}
	if tok, ok := ops.Leader("notifier").IsLeader(); !ok || tok != 1 {
		t.Errorf("single process: leader %v token %d", ok, tok)
	}
	_, m := scrape(t, ops.Handler(nil), "/metrics")
	if !strings.Contains(m, `pmops_leader{lease="notifier"} 1`) {
		t.Errorf("leader gauge missing:\n%s", grep(m, "leader"))
	}
	if code, _ := scrape(t, ops.Handler(nil), "/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
}

func TestOpsOutboxMetrics(t *testing.T) {
	ops, err := OpenOps(OpsConfig{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	ns := store.NewNotifyMemory()
	ops.WatchOutbox(ns)
	created := time.Now().Add(-90 * time.Second)
	if _, err := ns.EnqueueOutbox(t.Context(), []store.OutboxItem{{Key: "a", ChannelID: "C1", Kind: store.OutboxPost},
		{Key: "b", ChannelID: "C2", Kind: store.OutboxPost}}, created); err != nil {
		t.Fatal(err)
	}
	_, m := scrape(t, ops.Handler(nil), "/metrics")
	if !strings.Contains(m, `pmops_outbox_items{state="pending"} 2`) {
		t.Errorf("outbox depth missing:\n%s", grep(m, "outbox"))
	}
	age := sample(m, "pmops_outbox_oldest_open_seconds")
	var secs float64
	if _, err := fmt.Sscanf(strings.TrimPrefix(age, "pmops_outbox_oldest_open_seconds "), "%g", &secs); err != nil || secs < 89 {
		t.Errorf("outbox age %q, want about 90 s", age)
	}
}

// sample is the value text of the metric line called name (no labels).
func sample(m, name string) string {
	for _, l := range strings.Split(m, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return name + " " + v
		}
	}
	return ""
}

// TestOpenOpsIfServed: with no -store, no -metrics-addr and no HTTP server there is no ops layer (a nil *Ops whose
// Serve and Close do nothing), yet bad settings still fail; anything that can serve
// /metrics or share state gets a real one.
func TestOpenOpsIfServed(t *testing.T) {
	ops, err := OpenOpsIfServed(OpsConfig{Replicas: 3}, false, nil)
	if err != nil || ops != nil {
		t.Fatalf("defaults: %v, %v; want no ops layer", ops, err)
	}
	if err := ops.Serve(); err != nil {
		t.Errorf("Serve on nil: %v", err)
	}
	ops.Close()
	for _, cfg := range []OpsConfig{{Replicas: -1}, {MetricsAddr: "nonsense"}} {
		if _, err := OpenOpsIfServed(cfg, false, nil); err == nil {
			t.Errorf("%+v: no error", cfg)
		}
	}
	for _, tc := range []struct {
		cfg  OpsConfig
		http bool
	}{{OpsConfig{}, true}, {OpsConfig{MetricsAddr: "127.0.0.1:0"}, false}} {
		ops, err := OpenOpsIfServed(tc.cfg, tc.http, nil)
		if err != nil || ops == nil || ops.Metrics == nil {
			t.Fatalf("%+v http=%v: %v, %v; want an ops layer with metrics", tc.cfg, tc.http, ops, err)
		}
		ops.Close()
	}
}
