package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// WebhookMetrics are the run counts of the monitor-result webhook (monitor-result-webhook.schema.json).
type WebhookMetrics struct {
	Errors       int `json:"errors"`
	FailedTests  int `json:"failedTests"`
	PassedTests  int `json:"passedTests"`
	RequestCount int `json:"requestCount"`
	TotalLatency int `json:"totalLatency"`
	Warnings     int `json:"warnings"`
}

// WebhookPayload is the documented monitor-result webhook body (camelCase metrics, as in the custom-webhooks
// doc). With WebhookSnakeCase the metrics are renamed failed_tests, passed_tests, request_count, total_latency.
type WebhookPayload struct {
	CollectionName  string         `json:"collection_name"`
	CollectionUID   string         `json:"collection_uid"`
	EnvironmentName string         `json:"environment_name"`
	EnvironmentUID  string         `json:"environment_uid"`
	Metrics         WebhookMetrics `json:"metrics"`
	MonitorName     string         `json:"monitor_name"`
	MonitorUID      string         `json:"monitor_uid"`
	UserID          string         `json:"user_id"`
	UserName        string         `json:"user_name"`

	status string // the run's status, for logs only
}

// WebhookDelivery is the outcome of one delivery attempt.
type WebhookDelivery struct {
	URL     string
	Payload WebhookPayload
	Status  int    // HTTP status, 0 when the request failed
	Err     string // transport error, if any
}

func (p WebhookPayload) encode(style string) []byte {
	var v any = p
	if style == WebhookSnakeCase {
		v = map[string]any{
			"collection_name": p.CollectionName, "collection_uid": p.CollectionUID,
			"environment_name": p.EnvironmentName, "environment_uid": p.EnvironmentUID,
			"metrics": map[string]int{"errors": p.Metrics.Errors, "failed_tests": p.Metrics.FailedTests, "passed_tests": p.Metrics.PassedTests,
				"request_count": p.Metrics.RequestCount, "total_latency": p.Metrics.TotalLatency, "warnings": p.Metrics.Warnings},
			"monitor_name": p.MonitorName, "monitor_uid": p.MonitorUID, "user_id": p.UserID, "user_name": p.UserName,
		}
	}
	b, _ := json.Marshal(v)
	return b
}

func (e *Emulator) queueWebhookLocked(m *monitor, r *runRecord) {
	if e.hooks.url() == "" {
		return
	}
	p := WebhookPayload{CollectionUID: m.collectionUID, EnvironmentUID: m.environmentUID, MonitorName: m.name, MonitorUID: m.uid(),
		UserID: fmt.Sprint(m.owner), status: r.status}
	if col := e.collectionByUID(m.collectionUID); col != nil {
		p.CollectionName = col.name()
	}
	if env := e.environmentByUID(m.environmentUID); env != nil {
		p.EnvironmentName = env.name
	}
	if u := e.userByID[m.owner]; u != nil {
		p.UserName = u.Username
	}
	p.Metrics = WebhookMetrics{Errors: r.stats.ErrorCount, FailedTests: r.stats.Assertions.Failed,
		PassedTests: r.stats.Assertions.Total - r.stats.Assertions.Failed, RequestCount: r.stats.Requests.Total,
		TotalLatency: r.stats.ResponseLatency}
	e.hookQueue = append(e.hookQueue, p)
}

func (e *Emulator) drainHooksLocked() []WebhookPayload {
	q := e.hookQueue
	e.hookQueue = nil
	return q
}

// SetWebhookURL changes where monitor results are posted ("" disables).
func (e *Emulator) SetWebhookURL(url string) { e.hooks.setURL(url) }

// webhookSender posts payloads in the background, at most a few at a time, each with a bounded timeout; the API
// response that caused a run never waits for it.
type webhookSender struct {
	style   string
	timeout time.Duration
	client  *http.Client
	log     *slog.Logger
	sem     chan struct{}
	wg      sync.WaitGroup

	mu   sync.Mutex
	dest string
	done []WebhookDelivery
}

func newWebhookSender(o Options) *webhookSender {
	client := o.WebhookClient
	if client == nil {
		client = &http.Client{}
	}
	return &webhookSender{style: o.WebhookStyle, timeout: o.WebhookTimeout, client: client, log: o.Logger,
		sem: make(chan struct{}, 4), dest: o.WebhookURL}
}

func (s *webhookSender) url() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dest
}

func (s *webhookSender) setURL(u string) {
	s.mu.Lock()
	s.dest = u
	s.mu.Unlock()
}

func (s *webhookSender) dispatch(payloads []WebhookPayload) {
	dest := s.url()
	if dest == "" {
		return
	}
	for _, p := range payloads {
		s.wg.Add(1)
		go s.deliver(dest, p)
	}
}

func (s *webhookSender) deliver(dest string, p WebhookPayload) {
	defer s.wg.Done()
	s.sem <- struct{}{}
	defer func() { <-s.sem }()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	d := WebhookDelivery{URL: dest, Payload: p}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dest, bytes.NewReader(p.encode(s.style)))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Postman-Monitor-Webhook/1.0")
		var resp *http.Response
		if resp, err = s.client.Do(req); err == nil {
			d.Status = resp.StatusCode
			_ = resp.Body.Close()
		}
	}
	if err != nil {
		// A *url.Error quotes the destination, which may embed a token (Slack-style webhook URLs): keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		d.Err = err.Error()
		s.log.Warn("monitor webhook failed", "monitor", p.MonitorUID, "err", d.Err)
	} else {
		s.log.Info("monitor webhook sent", "monitor", p.MonitorUID, "run_status", p.status, "status", d.Status)
	}
	s.mu.Lock()
	s.done = append(s.done, d)
	s.mu.Unlock()
}

func (s *webhookSender) wait() { s.wg.Wait() }

func (s *webhookSender) deliveries() []WebhookDelivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WebhookDelivery(nil), s.done...)
}
