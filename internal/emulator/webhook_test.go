package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pmops/pmops/internal/repo"
)

type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got [][]byte
}

func newReceiver(t *testing.T, gate <-chan struct{}) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		rc.mu.Lock()
		rc.got = append(rc.got, b)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) payloads(t *testing.T) []map[string]any {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []map[string]any
	for _, b := range rc.got {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("webhook body is not JSON: %s", b)
		}
		out = append(out, m)
	}
	return out
}

func webhookSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile(repo.SharedForTest(t, "postman-api", "monitor-result-webhook.schema.json"))
	if err != nil {
		t.Fatalf("webhook schema: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem:///webhook.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("mem:///webhook.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWebhookAfterManualRun(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, Options{WebhookURL: rc.srv.URL})
	run := runMonitor(f, DemoKey, DemoMonitorFailing, "")
	wantStatus(t, run, 200)
	f.e.WaitWebhooks()
	ps := rc.payloads(t)
	if len(ps) != 1 {
		t.Fatalf("%d webhooks, want 1", len(ps))
	}
	p := ps[0]
	want := map[string]any{
		"collection_name": DemoCollectionOrders, "collection_uid": f.uid("collection", DemoCollectionOrders),
		"environment_name": "Orders staging", "environment_uid": f.uid("environment", "Orders staging"),
		"monitor_name": DemoMonitorFailing, "monitor_uid": f.uid("monitor", DemoMonitorFailing),
		"user_id": "10472312", "user_name": "sam-reyes",
	}
	for k, v := range want {
		if p[k] != v {
			t.Fatalf("%s = %v, want %v", k, p[k], v)
		}
	}
	m := p["metrics"].(map[string]any)
	if m["failedTests"] != run.num("run", "stats", "assertions", "failed") || m["requestCount"] != run.num("run", "stats", "requests", "total") ||
		m["totalLatency"] != run.num("run", "stats", "responseLatency") || m["errors"] != run.num("run", "stats", "errorCount") ||
		m["passedTests"].(float64)+m["failedTests"].(float64) != run.num("run", "stats", "assertions", "total") {
		t.Fatalf("metrics %v do not match the run %v", m, run.get("run", "stats"))
	}
	raw, _ := json.Marshal(p)
	if err := webhookSchema(t).Validate(decodeForSchema(t, raw)); err != nil {
		t.Fatalf("payload breaks the documented schema: %v", err)
	}
	for _, secret := range DemoSecretValues() {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatal("the webhook carries a secret value")
		}
	}
	if d := f.e.WebhookDeliveries(); len(d) != 1 || d[0].Status != 204 {
		t.Fatalf("deliveries %+v", d)
	}
}

func TestWebhookSnakeCaseAndSchedule(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, Options{WebhookURL: rc.srv.URL, WebhookStyle: WebhookSnakeCase})
	n := f.e.Advance(15 * time.Minute) // 09:40 flaky, 09:45 passing
	f.e.WaitWebhooks()
	ps := rc.payloads(t)
	if n != 2 || len(ps) != 2 {
		t.Fatalf("%d runs, %d webhooks", n, len(ps))
	}
	names := map[any]bool{}
	for _, p := range ps {
		names[p["monitor_name"]] = true
		m := p["metrics"].(map[string]any)
		for _, k := range []string{"failed_tests", "passed_tests", "request_count", "total_latency", "errors", "warnings"} {
			if _, has := m[k]; !has {
				t.Fatalf("snake_case metrics lack %s: %v", k, m)
			}
		}
		if _, has := m["failedTests"]; has {
			t.Fatal("camelCase key in snake_case style")
		}
	}
	if !names[DemoMonitorFlaky] || !names[DemoMonitorPassing] {
		t.Fatalf("webhooks for %v", names)
	}
}

func TestWebhookNeverBlocksTheResponse(t *testing.T) {
	gate := make(chan struct{})
	rc := newReceiver(t, gate)
	f := newFixture(t, Options{WebhookURL: rc.srv.URL})
	// The receiver holds every delivery until the gate opens; the run must still answer.
	wantStatus(t, runMonitor(f, DemoKey, DemoMonitorPassing, ""), 200)
	if len(rc.payloads(t)) != 0 {
		t.Fatal("delivered before the gate opened?")
	}
	close(gate)
	f.e.WaitWebhooks()
	if len(rc.payloads(t)) != 1 {
		t.Fatal("delivery lost")
	}
}

func TestWebhookTimeoutHidesTheURL(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	rc := newReceiver(t, block)
	f := newFixture(t, Options{WebhookURL: rc.srv.URL + "/services/T000/B000/secret-token-xyz", WebhookTimeout: 50 * time.Millisecond})
	wantStatus(t, runMonitor(f, DemoKey, DemoMonitorPassing, ""), 200)
	f.e.WaitWebhooks()
	d := f.e.WebhookDeliveries()
	if len(d) != 1 || d[0].Err == "" || d[0].Status != 0 {
		t.Fatalf("deliveries %+v", d)
	}
	if strings.Contains(d[0].Err, "secret-token-xyz") {
		t.Fatalf("the error quotes the webhook URL: %s", d[0].Err)
	}
}

func TestNoWebhookWithoutURL(t *testing.T) {
	f := demo(t)
	wantStatus(t, runMonitor(f, DemoKey, DemoMonitorPassing, ""), 200)
	f.e.WaitWebhooks()
	if len(f.e.WebhookDeliveries()) != 0 {
		t.Fatal("delivered without a URL")
	}
	rc := newReceiver(t, nil)
	f.e.SetWebhookURL(rc.srv.URL)
	wantStatus(t, runMonitor(f, DemoKey, DemoMonitorPassing, ""), 200)
	f.e.WaitWebhooks()
	if len(rc.payloads(t)) != 1 {
		t.Fatal("SetWebhookURL did not take effect")
	}
}
