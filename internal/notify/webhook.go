package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

// HookPathPrefix is where Postman's monitor webhook posts: HookPathPrefix + <token>.
const HookPathPrefix = "/hooks/postman/"

// MinHookTokenLen is the shortest webhook token accepted.
const MinHookTokenLen = 32

// MaxHookBody caps a webhook body; the documented payload is well under 2 KiB.
const MaxHookBody = 64 << 10

// correlateRetry is how long a webhook whose run Postman's lastRun does not show yet waits before the next look.
const correlateRetry = 30 * time.Second

// freshRun is how long before its webhook a run may have finished and still be taken from the gate's cache; a
// fresh read trusts the numbers alone (a replay, however late, then maps to the run it reports).
const freshRun = 2 * time.Minute

// correlateWindow is how long a webhook may wait for its correlation call (quota out, Postman down) before it is
// recorded on its own, keyed by its arrival.
const correlateWindow = 10 * time.Minute

//go:embed schema/monitor-result-webhook.schema.json
var webhookSchemaJSON []byte

var webhookSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(webhookSchemaJSON))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem:///monitor-result-webhook.json", doc); err != nil {
		return nil, err
	}
	return c.Compile("mem:///monitor-result-webhook.json")
})

// hookMetrics are the webhook's counts; Postman's docs name them in camelCase, its Power Automate schema in
// snake_case, so both are read.
type hookMetrics struct {
	Errors       int `json:"errors"`
	FailedTests  int `json:"failedTests"`
	PassedTests  int `json:"passedTests"`
	RequestCount int `json:"requestCount"`
	TotalLatency int `json:"totalLatency"`
	Warnings     int `json:"warnings"`
}

// hookBody is the documented monitor-result webhook body.
type hookBody struct {
	CollectionName  string      `json:"collection_name"`
	CollectionUID   string      `json:"collection_uid"`
	EnvironmentName string      `json:"environment_name"`
	EnvironmentUID  string      `json:"environment_uid"`
	Metrics         hookMetrics `json:"metrics"`
	MonitorName     string      `json:"monitor_name"`
	MonitorUID      string      `json:"monitor_uid"`
	UserID          string      `json:"user_id"`
	UserName        string      `json:"user_name"`
}

var uidPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,127}$`)

// parseHook validates a webhook body (JSON, the documented schema, a usable monitor UID, counts that make sense)
// and returns it with its metrics normalized to camelCase.
func parseHook(raw []byte) (hookBody, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return hookBody{}, fmt.Errorf("the body is not JSON: %v", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return hookBody{}, errors.New("the body must be a JSON object")
	}
	sch, err := webhookSchema()
	if err != nil {
		return hookBody{}, fmt.Errorf("webhook schema: %w", err)
	}
	if err := sch.Validate(doc); err != nil {
		return hookBody{}, fmt.Errorf("the body does not match Postman's monitor-result webhook schema: %s", oneLine(err.Error()))
	}
	var b hookBody
	if err := json.Unmarshal(raw, &b); err != nil {
		return hookBody{}, fmt.Errorf("the body does not match Postman's monitor-result webhook schema: %v", err)
	}
	if m, ok := obj["metrics"].(map[string]any); ok {
		for snake, dst := range map[string]*int{"failed_tests": &b.Metrics.FailedTests, "passed_tests": &b.Metrics.PassedTests,
			"request_count": &b.Metrics.RequestCount, "total_latency": &b.Metrics.TotalLatency} {
			v, present := m[snake]
			if !present {
				continue
			}
			n, ok := v.(json.Number)
			i, err := strconv.Atoi(string(n))
			if !ok || err != nil {
				return hookBody{}, fmt.Errorf("metrics.%s must be an integer", snake)
			}
			*dst = i
		}
	}
	if !uidPattern.MatchString(b.MonitorUID) {
		return hookBody{}, errors.New("monitor_uid is missing or not a Postman UID")
	}
	for name, v := range map[string]int{"errors": b.Metrics.Errors, "failedTests": b.Metrics.FailedTests, "passedTests": b.Metrics.PassedTests,
		"requestCount": b.Metrics.RequestCount, "totalLatency": b.Metrics.TotalLatency, "warnings": b.Metrics.Warnings} {
		if v < 0 {
			return hookBody{}, fmt.Errorf("metrics.%s is negative", name)
		}
	}
	return b, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// HookURL is the URL to paste into Postman's monitor webhook integration ("" when the receiver is off).
func (n *Notifier) HookURL() string {
	if n.cfg.HookToken == "" {
		return ""
	}
	base := strings.TrimRight(n.cfg.HookBaseURL, "/")
	if base == "" {
		base = "https://<this bot's address>"
	}
	return base + HookPathPrefix + n.cfg.HookToken
}

// HookHandler serves POST /hooks/postman/<token>. It answers 202 once the body is stored (the run is correlated,
// recorded and posted afterwards), 404 for a wrong token or a monitor no channel follows, 413 for a body over
// MaxHookBody, 400 for a malformed or schema-invalid body. A nil handler is returned when the receiver is off.
func (n *Notifier) HookHandler() http.Handler {
	if n.cfg.HookToken == "" {
		return nil
	}
	want := sha256.Sum256([]byte(n.cfg.HookToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.URL.Path, HookPathPrefix)
		got := sha256.Sum256([]byte(token))
		// Compare digests in constant time: neither the token's content nor its length leaks through timing.
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			hookAnswer(w, http.StatusNotFound, "unknown webhook URL; copy it again from /postman subscribe")
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			hookAnswer(w, http.StatusMethodNotAllowed, "POST the monitor result")
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxHookBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				hookAnswer(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", MaxHookBody))
				return
			}
			hookAnswer(w, http.StatusBadRequest, "could not read the body")
			return
		}
		b, err := parseHook(raw)
		if err != nil {
			hookAnswer(w, http.StatusBadRequest, err.Error())
			return
		}
		ctx := r.Context()
		if known, err := n.followed(ctx, b.MonitorUID); err != nil {
			n.log.Error("webhook: reading subscriptions failed", "err", err)
			hookAnswer(w, http.StatusServiceUnavailable, "state store unavailable; retry")
			return
		} else if !known {
			hookAnswer(w, http.StatusNotFound, fmt.Sprintf("no channel follows monitor %s; run /postman subscribe in Slack first", b.MonitorUID))
			return
		}
		norm, _ := json.Marshal(b)
		now := n.now()
		id, err := n.st.AddInbox(ctx, store.InboxItem{MonitorUID: b.MonitorUID, Body: norm, ReceivedAt: now})
		if err != nil {
			n.log.Error("webhook: storing the result failed", "err", err)
			hookAnswer(w, http.StatusServiceUnavailable, "could not store the result; retry")
			return
		}
		n.crash(StepInboxStored)
		if err := n.st.NoteWebhook(ctx, b.MonitorUID, now); err != nil {
			n.log.Warn("webhook: noting the arrival failed", "err", err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "queued": id})
		n.Kick()
	})
}

func hookAnswer(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": msg})
}

// followed reports whether some subscription covers the monitor (directly, or through a workspace the poller has
// seen it in).
func (n *Notifier) followed(ctx context.Context, uid string) (bool, error) {
	ws := ""
	ms, err := n.st.MonitorState(ctx, uid)
	switch {
	case err == nil:
		ws = ms.WorkspaceID
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	subs, err := n.st.Subscriptions(ctx, store.SubscriptionFilter{MonitorUID: uid, WorkspaceID: ws})
	return len(subs) > 0, err
}

// ProcessInbox turns stored webhooks into recorded runs. Each is correlated with the monitor's lastRun (one
// background-class API call, usually served from the gate's 30-second cache for replays) to find which run it
// reports; see the package doc. It returns how many webhooks it consumed.
func (n *Notifier) ProcessInbox(ctx context.Context) (int, error) {
	items, err := n.st.Inbox(ctx, 100)
	if err != nil {
		return 0, err
	}
	done := 0
	fresh := map[string]freshRead{} // one fresh read per monitor and pass, however many replays wait
	for _, it := range items {
		consumed, err := n.correlate(ctx, it, fresh)
		if err != nil {
			return done, err
		}
		if consumed {
			done++
		}
	}
	return done, nil
}

func (n *Notifier) correlate(ctx context.Context, it store.InboxItem, fresh map[string]freshRead) (bool, error) {
	var b hookBody
	if err := json.Unmarshal(it.Body, &b); err != nil || b.MonitorUID == "" {
		n.log.Error("dropping an unreadable stored webhook", "id", it.ID)
		return true, n.st.DropInbox(ctx, it.ID)
	}
	now := n.now()
	n.mu.Lock()
	wait := n.inboxRetry[it.ID].After(now)
	n.mu.Unlock()
	if wait {
		return false, nil
	}
	ev, ok, err := n.matchLastRun(ctx, b, it.ReceivedAt, fresh)
	if err != nil {
		var te *tools.Error
		if errors.As(err, &te) && te.Kind == tools.KindNotFound {
			n.log.Warn("webhook for a monitor Postman does not know; dropped", "monitor", b.MonitorUID)
			n.monitorGone(ctx, b.MonitorUID, b.MonitorName)
			return true, n.dropInbox(ctx, it.ID)
		}
	}
	if !ok && n.cfg.Env != nil {
		// Postman's lastRun is another run: either it has not caught up with this webhook yet, or the webhook is
		// a late replay of an older run. Look again for a while, then decide from the history.
		if now.Sub(it.ReceivedAt) < correlateWindow {
			n.mu.Lock()
			n.inboxRetry[it.ID] = now.Add(correlateRetry)
			n.mu.Unlock()
			n.log.Info("webhook waits for Postman's lastRun to show its run", "monitor", b.MonitorUID, "err", err)
			return false, nil
		}
		if seen, herr := n.seenNumbers(ctx, b); herr == nil && seen {
			n.log.Info("webhook repeats a run already recorded; dropped as a replay", "monitor", b.MonitorUID)
			return true, n.dropInbox(ctx, it.ID)
		}
		n.log.Warn("could not correlate a webhook with its run; recording it by its arrival time", "monitor", b.MonitorUID, "err", err)
	}
	if !ok {
		ev = hookEvent(b, it.ReceivedAt)
	}
	_, err = n.record(ctx, ev, it.ID)
	n.mu.Lock()
	delete(n.inboxRetry, it.ID)
	n.mu.Unlock()
	return err == nil, err
}

func (n *Notifier) dropInbox(ctx context.Context, id int64) error {
	n.mu.Lock()
	delete(n.inboxRetry, id)
	n.mu.Unlock()
	return n.st.DropInbox(ctx, id)
}

// seenNumbers reports whether one of the monitor's recent recorded runs has exactly the webhook's numbers.
func (n *Notifier) seenNumbers(ctx context.Context, b hookBody) (bool, error) {
	runs, err := n.st.Runs(ctx, b.MonitorUID, 50)
	if err != nil {
		return false, err
	}
	want := hookFields(b)
	for _, r := range runs {
		ev, err := eventOf(r)
		if err != nil {
			continue
		}
		if ev.Status == want.Status && ev.Assertions == want.Assertions && ev.FailedAsserts == want.FailedAsserts &&
			(ev.Requests == want.Requests || want.Requests == 0) {
			return true, nil
		}
	}
	return false, nil
}

// hookEvent is a webhook recorded without its run: keyed by the arrival minute and the numbers, so replays within
// the minute still collapse.
func hookEvent(b hookBody, received time.Time) Event {
	h := fnv.New64a()
	fmt.Fprintf(h, "%+v", b.Metrics)
	ev := hookFields(b)
	ev.FinishedAt = received
	ev.Key = fmt.Sprintf("%s@hook:%d:%x", b.MonitorUID, received.UTC().Truncate(time.Minute).Unix(), h.Sum64())
	return ev
}

func hookFields(b hookBody) Event {
	m := b.Metrics
	status := "success"
	if m.FailedTests > 0 || m.Errors > 0 {
		status = "failed"
	}
	return Event{MonitorUID: b.MonitorUID, MonitorName: b.MonitorName, CollectionName: b.CollectionName, CollectionUID: b.CollectionUID,
		EnvironmentName: b.EnvironmentName, EnvironmentUID: b.EnvironmentUID, Status: status, Source: SourceWebhook,
		Requests: m.RequestCount, Assertions: m.PassedTests + m.FailedTests, FailedAsserts: m.FailedTests, Errors: m.Errors,
		Warnings: m.Warnings, LatencyMs: int64(m.TotalLatency)}
}

// matchLastRun reads the monitor's lastRun and, when its numbers are the webhook's and it finished before the
// webhook arrived, returns the event keyed by that run. ok=false means the lastRun is another run.
func (n *Notifier) matchLastRun(ctx context.Context, b hookBody, received time.Time, fresh map[string]freshRead) (Event, bool, error) {
	if n.cfg.Env == nil {
		return Event{}, false, nil
	}
	env, err := n.cfg.Env(ctx)
	if err != nil {
		return Event{}, false, err
	}
	bg := ratelimit.WithTicket(ctx, ratelimit.Ticket{Class: ratelimit.Background, User: "notify"})
	for attempt := range 2 {
		c := ratelimit.WithCache(bg, -1) // a fresh read
		if attempt == 0 {
			c = ratelimit.WithCache(bg, 30*time.Second)
		}
		// A read made after this webhook arrived reflects its run; an earlier one may not.
		memo, seen := fresh[b.MonitorUID]
		seen = seen && !memo.at.Before(received)
		if attempt == 0 && seen {
			continue
		}
		st := memo.st
		if !seen {
			at := n.now()
			var err error
			if st, err = tools.FetchMonitorStatus(c, env, b.MonitorUID); err != nil {
				return Event{}, false, err
			}
			if attempt == 1 {
				fresh[b.MonitorUID] = freshRead{st: st, at: at}
			}
		}
		lr := st.LastRun
		match := lr != nil && sameNumbers(b.Metrics, lr) && !lr.FinishedAt.After(received.Add(time.Minute))
		if match && attempt == 0 && received.Sub(lr.FinishedAt) > freshRun {
			// A cached lastRun that finished well before this webhook may be the previous run with the same
			// numbers: ask Postman again.
			match = false
		}
		if match {
			ev := fromLastRun(st, SourceWebhook)
			hf := hookFields(b)
			ev.MonitorName = firstNonEmpty(b.MonitorName, ev.MonitorName)
			ev.CollectionName, ev.EnvironmentName, ev.Warnings = hf.CollectionName, hf.EnvironmentName, hf.Warnings
			ev.CollectionUID, ev.EnvironmentUID = firstNonEmpty(ev.CollectionUID, hf.CollectionUID), firstNonEmpty(ev.EnvironmentUID, hf.EnvironmentUID)
			return ev, true, nil
		}
	}
	return Event{}, false, nil
}

// freshRead is a monitor read without the cache, and when it was made.
type freshRead struct {
	st tools.MonitorStatus
	at time.Time
}

func sameNumbers(m hookMetrics, lr *tools.LastRunStatus) bool {
	return lr.FailedAsserts == m.FailedTests && lr.Assertions == m.PassedTests+m.FailedTests &&
		(lr.Requests == 0 || m.RequestCount == 0 || lr.Requests == m.RequestCount)
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
