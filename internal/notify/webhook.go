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
	subs, err := n.subscriptionsOf(ctx, uid)
	return len(subs) > 0, err
}

// subscriptionsOf lists the subscriptions covering a monitor: its own, and its workspace's when the poller has
// seen which workspace it is in.
func (n *Notifier) subscriptionsOf(ctx context.Context, uid string) ([]store.Subscription, error) {
	ws := ""
	ms, err := n.st.MonitorState(ctx, uid)
	switch {
	case err == nil:
		ws = ms.WorkspaceID
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	return n.st.Subscriptions(ctx, store.SubscriptionFilter{MonitorUID: uid, WorkspaceID: ws})
}

// deliveringTo keeps one live subscription per channel: a channel subscribed to both the monitor and its
// workspace hears of a run once (monitor first: Subscriptions orders "monitor" before "workspace"), a paused one
// not at all.
func deliveringTo(subs []store.Subscription) []store.Subscription {
	var out []store.Subscription
	seen := map[string]bool{}
	for _, sub := range subs {
		if sub.Paused || seen[sub.ChannelID] {
			continue
		}
		seen[sub.ChannelID] = true
		out = append(out, sub)
	}
	return out
}

// ProcessInbox turns stored webhooks into recorded runs: AcceptHooks, then CorrelateHooks. Run does the two
// apart, so a webhook never waits for another one's Postman call; tests call ProcessInbox or Step.
func (n *Notifier) ProcessInbox(ctx context.Context) (int, error) {
	a, err := n.AcceptHooks(ctx)
	if err != nil {
		return a, err
	}
	c, err := n.CorrelateHooks(ctx)
	return a + c, err
}

// hookPlan is what a stored webhook needs; see planHook.
type hookPlan int

const (
	// planPost: no recorded run of the monitor could be the one the webhook reports, so it is a new run. It is
	// recorded at once under its provisional key (hookEvent) and posted; its lastRun is read afterwards, only to
	// bind the run key to it.
	planPost hookPlan = iota
	// planBind: the webhook's provisional run is recorded (posted, or being posted); the monitor's lastRun is read
	// to learn the run's key (bind).
	planBind
	// planCorrelate: the webhook arrives within the replay horizon of the monitor's newest run and a recent run had
	// its numbers, so it may repeat that run. Nothing is posted until the monitor's lastRun says which run it
	// reports (correlate).
	planCorrelate
	// planDrop: Postman said the monitor no longer exists; its channels were told.
	planDrop
)

// planHook decides from the store alone (no Postman call) what a stored webhook needs, and returns its
// provisional event.
func (n *Notifier) planHook(ctx context.Context, it store.InboxItem, b hookBody) (hookPlan, Event, error) {
	ev := hookEvent(b, it.ReceivedAt)
	runs, err := n.st.Runs(ctx, b.MonitorUID, 50)
	if err != nil {
		return 0, ev, err
	}
	horizon := minReplayHorizon
	if ms, err := n.st.MonitorState(ctx, b.MonitorUID); err == nil {
		if ms.Gone {
			return planDrop, ev, nil
		}
		horizon = replayHorizon(ms.Period)
	}
	// A webhook is checked against lastRun before it is posted only when it arrives within the replay horizon
	// of the monitor's newest run (no scheduled run comes that soon: a replay, or a run started by hand) and a
	// recent run had the same numbers. Otherwise it is a new run: its run is due, and waiting for lastRun would
	// only delay it.
	memory := max(replayMemory, 2*horizon)
	plan := planPost
	soon := false
	for _, r := range runs {
		if r.Key == ev.Key {
			return planBind, ev, nil
		}
		if !r.FinishedAt.After(it.ReceivedAt.Add(twinEarly)) && !r.FinishedAt.Before(it.ReceivedAt.Add(-horizon)) {
			soon = true
		}
	}
	for _, r := range runs {
		e, err := eventOf(r)
		if err != nil || !sameOutcome(e, ev) || e.FinishedAt.After(it.ReceivedAt.Add(twinEarly)) {
			continue
		}
		if soon && !e.FinishedAt.Before(it.ReceivedAt.Add(-memory)) {
			plan = planCorrelate
		}
	}
	return plan, ev, nil
}

// replayMemory is how far back a run with the webhook's numbers makes a webhook that arrives soon after the
// monitor's newest run a possible replay (of that run, or of one before it).
const replayMemory = 15 * time.Minute

// AcceptHooks records, without calling Postman, every newly stored webhook that cannot repeat a recorded run
// (planPost), so it is posted at once; the others are left to CorrelateHooks. It returns how many it recorded.
func (n *Notifier) AcceptHooks(ctx context.Context) (int, error) {
	n.mu.Lock()
	after := n.accepted
	n.mu.Unlock()
	done := 0
	for {
		items, err := n.st.Inbox(ctx, after, 100)
		if err != nil {
			return done, err
		}
		for _, it := range items {
			var b hookBody
			if err := json.Unmarshal(it.Body, &b); err == nil && b.MonitorUID != "" {
				plan, ev, err := n.planHook(ctx, it, b)
				if err != nil {
					return done, err
				}
				switch plan {
				case planPost:
					if _, err := n.record(ctx, ev, 0); err != nil {
						return done, err
					}
					done++
				case planDrop:
					n.log.Info("webhook for a monitor Postman deleted; dropped", "monitor", b.MonitorUID)
					if err := n.dropInbox(ctx, it.ID); err != nil {
						return done, err
					}
				}
			} // an unreadable item is CorrelateHooks's to drop
			after = it.ID
			n.mu.Lock()
			n.accepted = max(n.accepted, after)
			n.mu.Unlock()
		}
		if len(items) < 100 {
			if done > 0 {
				n.kickCorrelate()
			}
			return done, nil
		}
	}
}

// CorrelateHooks finishes the stored webhooks with one background-class read of the monitor's lastRun each
// (usually from the gate's 30-second cache for replays): a posted webhook is bound to its run key, a possible
// replay is told from a new run; see the package doc. It returns how many webhooks it consumed.
func (n *Notifier) CorrelateHooks(ctx context.Context) (int, error) {
	done := 0
	fresh := map[string]freshRead{} // one fresh read per monitor and pass, however many replays wait
	var after int64
	for {
		items, err := n.st.Inbox(ctx, after, 100)
		if err != nil {
			return done, err
		}
		for _, it := range items {
			after = it.ID
			consumed, err := n.correlate(ctx, it, fresh)
			if err != nil {
				return done, err
			}
			if consumed {
				done++
			}
		}
		if len(items) < 100 {
			return done, nil
		}
	}
}

func (n *Notifier) correlate(ctx context.Context, it store.InboxItem, fresh map[string]freshRead) (bool, error) {
	var b hookBody
	if err := json.Unmarshal(it.Body, &b); err != nil || b.MonitorUID == "" {
		n.log.Error("dropping an unreadable stored webhook", "id", it.ID)
		return true, n.dropInbox(ctx, it.ID)
	}
	now := n.now()
	n.mu.Lock()
	wait := n.inboxRetry[it.ID].After(now)
	n.mu.Unlock()
	if wait {
		return false, nil
	}
	plan, prov, err := n.planHook(ctx, it, b)
	if err != nil {
		return false, err
	}
	if plan == planDrop {
		return true, n.dropInbox(ctx, it.ID)
	}
	if plan == planPost { // AcceptHooks has not seen it yet
		if _, err := n.record(ctx, prov, 0); err != nil {
			return false, err
		}
		plan = planBind
	}
	if n.cfg.Env == nil {
		// Nothing to correlate with: a posted webhook stays under its provisional key, a possible replay is
		// dropped (it repeats a run recorded within the replay horizon).
		if plan == planCorrelate {
			n.log.Info("webhook repeats a recent run with the same numbers; dropped as a replay", "monitor", b.MonitorUID)
		}
		return true, n.dropInbox(ctx, it.ID)
	}
	ev, ok, err := n.matchLastRun(ctx, b, it.ReceivedAt, fresh, plan == planBind)
	if err != nil {
		var te *tools.Error
		if errors.As(err, &te) && te.Kind == tools.KindNotFound {
			n.log.Warn("webhook for a monitor Postman does not know; dropped", "monitor", b.MonitorUID)
			n.monitorGone(ctx, b.MonitorUID, b.MonitorName)
			return true, n.dropInbox(ctx, it.ID)
		}
	}
	if ok && plan == planCorrelate {
		// lastRun names a run we already have: the webhook repeats it, unless Postman has not shown the webhook's
		// own run yet (a run started by hand just after another with the same numbers). Look once more after
		// correlateRetry before calling it a replay.
		if known, err := n.recorded(ctx, ev); err != nil {
			return false, err
		} else if known && now.Sub(it.ReceivedAt) < correlateRetry {
			n.holdInbox(it.ID, it.ReceivedAt.Add(correlateRetry))
			return false, nil
		} else if known {
			n.log.Info("webhook repeats a run already recorded; dropped as a replay", "monitor", b.MonitorUID, "run", ev.Key)
			return true, n.dropInbox(ctx, it.ID)
		}
	}
	if ok {
		if plan == planBind {
			ev.AliasOf = prov.Key // already posted as prov: recorded for the history and the key, never posted
		}
		_, err = n.record(ctx, ev, it.ID)
		n.holdInbox(it.ID, time.Time{})
		return err == nil, err
	}
	// Postman's lastRun is another run: either it has not caught up with this webhook yet, or the webhook is a
	// late replay of an older run. Look again for a while, then decide from the history.
	if now.Sub(it.ReceivedAt) < correlateWindow {
		n.holdInbox(it.ID, now.Add(correlateRetry))
		n.log.Info("webhook waits for Postman's lastRun to show its run", "monitor", b.MonitorUID, "posted", plan == planBind, "err", err)
		return false, nil
	}
	if plan == planBind {
		n.log.Warn("a posted webhook never matched a run in Postman's lastRun; it stays keyed by its arrival", "monitor", b.MonitorUID, "err", err)
		return true, n.dropInbox(ctx, it.ID)
	}
	if seen, herr := n.seenNumbers(ctx, b); herr == nil && seen {
		n.log.Info("webhook repeats a run already recorded; dropped as a replay", "monitor", b.MonitorUID)
		return true, n.dropInbox(ctx, it.ID)
	}
	n.log.Warn("could not correlate a webhook with its run; recording it by its arrival time", "monitor", b.MonitorUID, "err", err)
	_, err = n.record(ctx, prov, it.ID)
	n.holdInbox(it.ID, time.Time{})
	return err == nil, err
}

func (n *Notifier) dropInbox(ctx context.Context, id int64) error {
	n.holdInbox(id, time.Time{})
	return n.st.DropInbox(ctx, id)
}

// holdInbox keeps a stored webhook from CorrelateHooks until until (zero: forgets the hold).
func (n *Notifier) holdInbox(id int64, until time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if until.IsZero() {
		delete(n.inboxRetry, id)
		return
	}
	n.inboxRetry[id] = until
}

// recorded reports whether ev's run key is among the monitor's recent recorded runs.
func (n *Notifier) recorded(ctx context.Context, ev Event) (bool, error) {
	runs, err := n.st.Runs(ctx, ev.MonitorUID, 50)
	if err != nil {
		return false, err
	}
	for _, r := range runs {
		if r.Key == ev.Key {
			return true, nil
		}
	}
	return false, nil
}

// seenNumbers reports whether one of the monitor's recent recorded runs has exactly the webhook's numbers.
func (n *Notifier) seenNumbers(ctx context.Context, b hookBody) (bool, error) {
	runs, err := n.st.Runs(ctx, b.MonitorUID, 50)
	if err != nil {
		return false, err
	}
	want := hookFields(b)
	for _, r := range runs {
		if ev, err := eventOf(r); err == nil && sameOutcome(ev, want) {
			return true, nil
		}
	}
	return false, nil
}

// hookEvent is a webhook's provisional run, before (or without) its run key: finished at its arrival, keyed by
// the arrival minute and the numbers, so replays within the minute collapse.
func hookEvent(b hookBody, received time.Time) Event {
	h := fnv.New64a()
	fmt.Fprintf(h, "%+v", b.Metrics)
	ev := hookFields(b)
	ev.FinishedAt = received
	ev.Key = fmt.Sprintf("%s%s%d:%x", b.MonitorUID, hookKeyMark, received.UTC().Truncate(time.Minute).Unix(), h.Sum64())
	return ev
}

// hookKeyMark is in the key of every provisional (webhook-keyed) run and of no run key.
const hookKeyMark = "@hook:"

func isHookKey(key string) bool { return strings.Contains(key, hookKeyMark) }

// sameOutcome reports whether two reports of a run carry the same numbers (a webhook's failed and total
// assertions and requests are lastRun's too; a zero request count is unknown).
func sameOutcome(a, b Event) bool {
	return a.Failed() == b.Failed() && a.Assertions == b.Assertions && a.FailedAsserts == b.FailedAsserts &&
		(a.Requests == b.Requests || a.Requests == 0 || b.Requests == 0)
}

// twinEarly and twinLate bound when a webhook may arrive around the finish of the run it reports (Postman sends
// it as the run ends; the two clocks may disagree by up to a minute, and a busy receiver may store it late).
const (
	twinEarly = time.Minute
	twinLate  = 2 * time.Minute
)

// minReplayHorizon is the shortest time after a run within which a webhook with the same numbers is treated as a
// possible replay of it (checked against lastRun before it is posted); longer for slower schedules.
const minReplayHorizon = twinLate

// replayHorizon is half the monitor's schedule period (its next scheduled run cannot come sooner), at least
// minReplayHorizon and at most an hour.
func replayHorizon(period time.Duration) time.Duration {
	return max(minReplayHorizon, min(period/2, time.Hour))
}

// reportedBy returns the key of the webhook run that already stands for ev, or "" when ev is a run of its own.
// A run key (from lastRun, polling or a pmops run) is the same run as a provisional webhook run of the same
// monitor with the same numbers that arrived within [finish−twinEarly, finish+twinLate], unless that webhook run
// is bound to another run key. runs are the monitor's recent runs.
func reportedBy(ev Event, runs []store.NotifyRun) string {
	if ev.AliasOf != "" {
		return ev.AliasOf
	}
	if isHookKey(ev.Key) || ev.FinishedAt.IsZero() {
		return ""
	}
	bound := map[string]string{} // webhook run key → the run key bound to it
	var hooks []Event
	for _, r := range runs {
		e, err := eventOf(r)
		if err != nil || e.Key == ev.Key {
			continue
		}
		if e.AliasOf != "" {
			bound[e.AliasOf] = e.Key
		}
		if isHookKey(e.Key) {
			hooks = append(hooks, e)
		}
	}
	for _, h := range hooks {
		if b, ok := bound[h.Key]; ok && b != ev.Key {
			continue
		}
		if sameOutcome(h, ev) && !h.FinishedAt.Before(ev.FinishedAt.Add(-twinEarly)) && !h.FinishedAt.After(ev.FinishedAt.Add(twinLate)) {
			return h.Key
		}
	}
	return ""
}

// dedupeRuns drops the provisional webhook runs that a run key stands for (bound to it, or reported by it), so
// the history counts each run once.
func dedupeRuns(runs []store.NotifyRun) []store.NotifyRun {
	drop := map[string]bool{}
	for _, r := range runs {
		if isHookKey(r.Key) {
			continue
		}
		ev, err := eventOf(r)
		if err != nil {
			continue
		}
		if h := reportedBy(ev, runs); h != "" {
			drop[h] = true
		}
	}
	if len(drop) == 0 {
		return runs
	}
	out := make([]store.NotifyRun, 0, len(runs)-len(drop))
	for _, r := range runs {
		if !drop[r.Key] {
			out = append(out, r)
		}
	}
	return out
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

// matchLastRun reads the monitor's lastRun (fresh: a read made after the webhook arrived shows its run, or a newer
// one; one read per monitor and pass serves every webhook of that monitor that arrived before it) and, when its
// numbers are the webhook's and it did not finish after the webhook arrived, returns the event keyed by that run.
// ok=false means the lastRun is another run. With near, the run must also have finished at most twinLate before
// the webhook arrived (binding a posted webhook: an older run with the same numbers is the previous run, and
// Postman does not show this one yet).
func (n *Notifier) matchLastRun(ctx context.Context, b hookBody, received time.Time, fresh map[string]freshRead, near bool) (Event, bool, error) {
	if n.cfg.Env == nil {
		return Event{}, false, nil
	}
	memo, seen := fresh[b.MonitorUID]
	st := memo.st
	if !seen || memo.at.Before(received) {
		env, err := n.cfg.Env(ctx)
		if err != nil {
			return Event{}, false, err
		}
		c := ratelimit.WithCache(ratelimit.WithTicket(ctx, ratelimit.Ticket{Class: ratelimit.Background, User: "notify"}), -1)
		at := n.now()
		if st, err = tools.FetchMonitorStatus(c, env, b.MonitorUID); err != nil {
			return Event{}, false, err
		}
		fresh[b.MonitorUID] = freshRead{st: st, at: at}
	}
	lr := st.LastRun
	match := lr != nil && sameNumbers(b.Metrics, lr) && !lr.FinishedAt.After(received.Add(twinEarly))
	if match && near && received.Sub(lr.FinishedAt) > twinLate {
		match = false
	}
	if !match {
		return Event{}, false, nil
	}
	ev := fromLastRun(st, SourceWebhook)
	hf := hookFields(b)
	ev.MonitorName = firstNonEmpty(b.MonitorName, ev.MonitorName)
	ev.CollectionName, ev.EnvironmentName, ev.Warnings = hf.CollectionName, hf.EnvironmentName, hf.Warnings
	ev.CollectionUID, ev.EnvironmentUID = firstNonEmpty(ev.CollectionUID, hf.CollectionUID), firstNonEmpty(ev.EnvironmentUID, hf.EnvironmentUID)
	return ev, true, nil
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
