package emulator

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/lazyre"
)

// A monitor run is simulated, not executed: every request of the monitor's collection gets a deterministic
// response (status, time, size) from the seed, the monitor, the run number and the item, and its pm.test scripts
// are evaluated against that response for the common assertions (status code, response time, JSON body).
//
// The status a request gets is, in order: the monitor's hidden plan (demo monitors that fail or flake), a
// "/status/NNN" path segment in its URL (postman-echo style), the status its own test expects, else 200.

type countPair struct {
	Total  int `json:"total"`
	Failed int `json:"failed"`
}

type runStats struct {
	Assertions      countPair `json:"assertions"`
	Requests        countPair `json:"requests"`
	RunCount        int       `json:"runCount"`
	ErrorCount      int       `json:"errorCount"`
	AbortedCount    int       `json:"abortedCount"`
	ResponseLatency int       `json:"responseLatency"`
	ResponseSize    int       `json:"responseSize"`
}

type execItem struct {
	Name string `json:"name"`
}

type contentLength struct {
	ContentLength int `json:"contentLength"`
}

type execRequest struct {
	Method    string         `json:"method"`
	URL       string         `json:"url"`
	Headers   map[string]any `json:"headers"`
	Body      contentLength  `json:"body"`
	Timestamp string         `json:"timestamp"`
}

type execResponse struct {
	Code         int            `json:"code"`
	Body         contentLength  `json:"body"`
	ResponseTime int            `json:"responseTime"`
	ResponseSize int            `json:"responseSize"`
	Headers      map[string]any `json:"headers"`
}

type execError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

type execution struct {
	ID       int          `json:"id"`
	Item     execItem     `json:"item"`
	Request  execRequest  `json:"request"`
	Response execResponse `json:"response"`
	Errors   []execError  `json:"errors,omitempty"`
}

// runFailure is one failed assertion. The vendor leaves failures[] untyped; this shape borrows newman's names.
type runFailure struct {
	ExecutionID int      `json:"executionId"`
	Item        execItem `json:"item"`
	Name        string   `json:"name"`
	Message     string   `json:"message"`
	Assertion   string   `json:"assertion"`
	At          string   `json:"at"`
}

type runInfo struct {
	JobID          string `json:"jobId"`
	MonitorID      string `json:"monitorId"`
	Name           string `json:"name"`
	CollectionUID  string `json:"collectionUid"`
	EnvironmentUID string `json:"environmentUid,omitempty"`
	Status         string `json:"status"`
	StartedAt      string `json:"startedAt"`
	FinishedAt     string `json:"finishedAt,omitempty"`
}

// runRecord is one run: its outcome is decided when it starts; it becomes the monitor's lastRun (and triggers the
// webhook) when it finishes.
type runRecord struct {
	monitorID  string
	runNumber  int
	jobID      string
	status     string
	startedAt  time.Time
	finishedAt time.Time
	stats      runStats
	executions []execution
	failures   []runFailure
	duration   time.Duration
}

func (r *runRecord) info(m *monitor) runInfo {
	return runInfo{JobID: r.jobID, MonitorID: m.id, Name: m.name, CollectionUID: m.collectionUID, EnvironmentUID: m.environmentUID,
		Status: r.status, StartedAt: ts(r.startedAt), FinishedAt: ts(r.finishedAt)}
}

type flatRequest struct {
	name    string
	request map[string]any
	tests   []string // test script sources that apply, outermost first
}

func flattenRequests(items []any, inherited []string, out *[]flatRequest) {
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		tests := append(append([]string(nil), inherited...), testScripts(m["event"])...)
		if sub, isFolder := m["item"].([]any); isFolder {
			flattenRequests(sub, tests, out)
			continue
		}
		name, _ := m["name"].(string)
		var req map[string]any
		switch r := m["request"].(type) {
		case map[string]any:
			req = r
		case string:
			req = map[string]any{"method": "GET", "url": r}
		default:
			continue
		}
		*out = append(*out, flatRequest{name: name, request: req, tests: tests})
	}
}

func testScripts(events any) []string {
	arr, _ := events.([]any)
	var out []string
	for _, ev := range arr {
		m, _ := ev.(map[string]any)
		if l, _ := m["listen"].(string); l != "test" {
			continue
		}
		script, _ := m["script"].(map[string]any)
		switch ex := script["exec"].(type) {
		case []any:
			lines := make([]string, 0, len(ex))
			for _, l := range ex {
				s, _ := l.(string)
				lines = append(lines, s)
			}
			out = append(out, strings.Join(lines, "\n"))
		case string:
			out = append(out, ex)
		}
	}
	return out
}

var (
	testStartRe   = lazyre.New(`pm\.test\(\s*["'` + "`" + `]([^"'` + "`" + `]*)["'` + "`" + `]`)
	statusCheckRe = lazyre.New(`(?:to\.have\.status\(\s*(\d{3})\s*\)|response\.code\)\.to\.(?:eql|equal|be)\(\s*(\d{3})\s*\))`)
	timeCheckRe   = lazyre.New(`responseTime\)\.to\.be\.(?:below|lessThan)\(\s*(\d+)\s*\)`)
	statusPathRe  = lazyre.New(`/status/([1-5]\d\d)(?:[/?#]|$)`)
	varRe         = lazyre.New(`\{\{([^{}]+)\}\}`)
)

// parseTestsCached memoises parseTests: scripts repeat across runs and monitors. Called with e.mu held.
func (e *Emulator) parseTestsCached(scripts []string) []testCase {
	key := strings.Join(scripts, "\x00")
	if tc, ok := e.testCache[key]; ok {
		return tc
	}
	if len(e.testCache) > 20000 {
		clear(e.testCache)
	}
	tc := parseTests(scripts)
	e.testCache[key] = tc
	return tc
}

type testCase struct {
	name         string
	wantStatus   int
	maxTime      int
	readsJSON    bool
	failMessage  string
	failedByJSON bool
}

func parseTests(scripts []string) []testCase {
	var out []testCase
	for _, src := range scripts {
		locs := testStartRe.FindAllStringSubmatchIndex(src, -1)
		for i, loc := range locs {
			end := len(src)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			seg := src[loc[0]:end]
			tc := testCase{name: src[loc[2]:loc[3]], readsJSON: strings.Contains(seg, "pm.response.json()")}
			if m := statusCheckRe.FindStringSubmatch(seg); m != nil {
				tc.wantStatus, _ = strconv.Atoi(m[1] + m[2])
			}
			if m := timeCheckRe.FindStringSubmatch(seg); m != nil {
				tc.maxTime, _ = strconv.Atoi(m[1])
			}
			out = append(out, tc)
		}
	}
	return out
}

// resolver substitutes {{variables}} from the environment and the collection. Secret values are masked so a run
// report never carries them.
type resolver map[string]string

func newResolver(col *collection, env *environment) resolver {
	r := resolver{}
	for _, v := range col.variable {
		m, _ := v.(map[string]any)
		k, _ := m["key"].(string)
		if k == "" || m["disabled"] == true {
			continue
		}
		if m["secret"] == true {
			r[k] = "********"
			continue
		}
		r[k] = fmt.Sprint(m["value"])
	}
	if env != nil {
		for _, v := range env.values {
			if v.Enabled != nil && !*v.Enabled {
				continue
			}
			val := ""
			if v.Value != nil {
				val = *v.Value
			}
			if v.Type == "secret" || (v.Secret != nil && *v.Secret) {
				val = "********"
			}
			r[v.Key] = val
		}
	}
	return r
}

func (r resolver) resolve(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	for range 3 {
		n := varRe.ReplaceAllStringFunc(s, func(m string) string {
			if v, ok := r[strings.TrimSpace(m[2:len(m)-2])]; ok {
				return v
			}
			return m
		})
		if n == s {
			break
		}
		s = n
	}
	return s
}

func requestURL(req map[string]any) string {
	switch u := req["url"].(type) {
	case string:
		return u
	case map[string]any:
		if raw, ok := u["raw"].(string); ok {
			return raw
		}
		host, _ := u["host"].([]any)
		path, _ := u["path"].([]any)
		var hs, ps []string
		for _, h := range host {
			hs = append(hs, fmt.Sprint(h))
		}
		for _, p := range path {
			ps = append(ps, fmt.Sprint(p))
		}
		return strings.Join(hs, ".") + "/" + strings.Join(ps, "/")
	}
	return ""
}

func requestBodyText(req map[string]any) string {
	b, _ := req["body"].(map[string]any)
	if raw, ok := b["raw"].(string); ok {
		return raw
	}
	return ""
}

// simulateRun decides run runNumber of m, starting at start.
func (e *Emulator) simulateRun(m *monitor, runNumber int, start time.Time, jobID string) runRecord {
	rec := runRecord{monitorID: m.id, runNumber: runNumber, jobID: jobID, startedAt: start}
	rec.stats.RunCount = max(1, len(m.distribution))
	col := e.collectionByUID(m.collectionUID)
	if col == nil {
		rec.status = "error"
		rec.stats.ErrorCount = 1
		rec.executions = []execution{}
		rec.failures = []runFailure{{Name: "CollectionNotFound", Message: "The monitor's collection could not be found.", At: "run"}}
		rec.duration = time.Second
		rec.finishedAt = start.Add(rec.duration)
		return rec
	}
	env := e.environmentByUID(m.environmentUID)
	vars := newResolver(col, env)
	var reqs []flatRequest
	flattenRequests(col.items, testScripts(col.event), &reqs)

	seed := e.opts.Seed
	run := strconv.Itoa(runNumber)
	cursor := start.Add(150 * time.Millisecond)
	rec.executions = make([]execution, 0, len(reqs))
	rec.failures = []runFailure{}
	for i, fr := range reqs {
		id := i + 1
		method, _ := fr.request["method"].(string)
		if method == "" {
			method = "GET"
		}
		rawURL := vars.resolve(requestURL(fr.request))
		tests := e.parseTestsCached(fr.tests)
		code := 200
		for _, tc := range tests {
			if tc.wantStatus != 0 {
				code = tc.wantStatus
				break
			}
		}
		if mm := statusPathRe.FindStringSubmatch(rawURL); mm != nil {
			code, _ = strconv.Atoi(mm[1])
		}
		if f, ok := m.plan.flaky[fr.name]; ok && int(hash64(seed, m.id, run, "flaky", fr.name)%100) < f.percent {
			code = f.code
		}
		if c, ok := m.plan.forced[fr.name]; ok {
			code = c
		}
		h := hash64(seed, m.id, run, strconv.Itoa(id), fr.name)
		rt := 35 + int(h%220)
		if code >= 500 {
			rt += 400 + int(h>>20%600)
		}
		size := 180 + int(h>>32%1800)
		if code == 204 {
			size = 0
		}
		body := vars.resolve(requestBodyText(fr.request))
		host := ""
		if u, err := url.Parse(rawURL); err == nil {
			host = u.Host
		}
		reqHeaders := map[string]any{
			"User-Agent": "PostmanRuntime/7.43.0", "Accept": "*/*", "Cache-Control": "no-cache",
			"Postman-Token": e.seedID("postman-token", m.id, run, strconv.Itoa(id)), "Host": host,
			"Accept-Encoding": "gzip, deflate, br", "Connection": "keep-alive",
		}
		if hs, ok := fr.request["header"].([]any); ok {
			for _, hv := range hs {
				hm, _ := hv.(map[string]any)
				k, _ := hm["key"].(string)
				v, _ := hm["value"].(string)
				if k == "" || hm["disabled"] == true {
					continue
				}
				reqHeaders[k] = vars.resolve(v)
			}
		}
		if body != "" {
			reqHeaders["Content-Length"] = strconv.Itoa(len(body))
		}
		ex := execution{
			ID:   id,
			Item: execItem{Name: fr.name},
			Request: execRequest{Method: method, URL: rawURL, Headers: reqHeaders, Body: contentLength{len(body)},
				Timestamp: ts(cursor)},
			Response: execResponse{Code: code, Body: contentLength{size}, ResponseTime: rt, ResponseSize: size,
				Headers: map[string]any{
					"Date": cursor.Add(time.Duration(rt) * time.Millisecond).UTC().Format(http.TimeFormat), "Content-Type": "application/json; charset=utf-8",
					"Content-Length": strconv.Itoa(size), "Connection": "keep-alive", "Server": "nginx",
				}},
		}
		jsonBroken := code >= 500
		if jsonBroken && hasJSONRead(tests) {
			ex.Errors = append(ex.Errors, execError{Name: "JSONError", Message: "Unexpected token 'I' at 1:1"})
		}
		failed := false
		for _, tc := range tests {
			rec.stats.Assertions.Total++
			msg := ""
			switch {
			case tc.wantStatus != 0 && tc.wantStatus != code:
				msg = fmt.Sprintf("expected response to have status code %d but got %d", tc.wantStatus, code)
			case tc.maxTime != 0 && rt >= tc.maxTime:
				msg = fmt.Sprintf("expected %d to be below %d", rt, tc.maxTime)
			case tc.readsJSON && jsonBroken:
				msg = "JSONError: Unexpected token 'I' at 1:1"
			}
			if msg == "" {
				continue
			}
			failed = true
			rec.stats.Assertions.Failed++
			rec.failures = append(rec.failures, runFailure{ExecutionID: id, Item: execItem{Name: fr.name}, Name: "AssertionError",
				Message: msg, Assertion: tc.name, At: "assertion in test-script"})
		}
		rec.stats.ErrorCount += len(ex.Errors)
		rec.stats.Requests.Total++
		if failed || len(ex.Errors) > 0 {
			rec.stats.Requests.Failed++
		}
		rec.stats.ResponseLatency += rt
		rec.stats.ResponseSize += size
		rec.executions = append(rec.executions, ex)
		cursor = cursor.Add(time.Duration(rt+m.options.RequestDelay) * time.Millisecond)
	}
	rec.status = "success"
	if rec.stats.Assertions.Failed > 0 || rec.stats.ErrorCount > 0 {
		rec.status = "failed"
	}
	rec.duration = cursor.Add(100 * time.Millisecond).Sub(start)
	rec.finishedAt = start.Add(rec.duration)
	return rec
}

func hasJSONRead(tests []testCase) bool {
	for _, t := range tests {
		if t.readsJSON {
			return true
		}
	}
	return false
}

// startRun decides the next run of m, starting at start. With endingAt set, the run is placed so that it ends at
// start instead (a synchronous run has finished by the time its response is written).
func (e *Emulator) startRun(m *monitor, start time.Time, endingAt bool) runRecord {
	m.runs++
	job := e.newID("job")
	rec := e.simulateRun(m, m.runs, start, job)
	if endingAt {
		rec = e.simulateRun(m, m.runs, start.Add(-rec.duration), job)
	}
	m.jobID = job
	return rec
}

// finishRunLocked records rec as its monitor's lastRun and queues the webhook.
func (e *Emulator) finishRunLocked(rec runRecord) {
	m := e.monitors[rec.monitorID]
	if m == nil {
		return
	}
	r := rec
	m.lastRun = &r
	e.queueWebhookLocked(m, &r)
}

// settleLocked brings the emulator up to now: update tasks, pending runs, then scheduled runs in time order.
func (e *Emulator) settleLocked(now time.Time) int {
	e.settleTasksLocked(now)
	n := 0
	if len(e.pending) > 0 {
		sort.SliceStable(e.pending, func(i, j int) bool { return e.pending[i].finishedAt.Before(e.pending[j].finishedAt) })
		keep := e.pending[:0]
		for _, rec := range e.pending {
			if now.Before(rec.finishedAt) {
				keep = append(keep, rec)
				continue
			}
			e.finishRunLocked(rec)
			n++
		}
		e.pending = keep
	}
	return n + e.runSchedulesLocked(now)
}

// maxCatchUp bounds how many overdue scheduled runs one settle executes; after that, schedules skip ahead.
const maxCatchUp = 200

func (e *Emulator) runSchedulesLocked(now time.Time) int {
	n := 0
	var due []*monitor
	for _, m := range e.monitors {
		if m.active && m.spec != nil && !m.nextRun.IsZero() && !m.nextRun.After(now) {
			due = append(due, m)
		}
	}
	for len(due) > 0 {
		sort.Slice(due, func(i, j int) bool {
			if !due[i].nextRun.Equal(due[j].nextRun) {
				return due[i].nextRun.Before(due[j].nextRun)
			}
			return due[i].order < due[j].order
		})
		m := due[0]
		if m.spec == nil || n >= maxCatchUp {
			m.reschedule(now)
			due = due[1:]
			continue
		}
		rec := e.startRun(m, m.nextRun, false)
		e.finishRunLocked(rec)
		n++
		m.nextRun = m.spec.next(m.nextRun, m.loc)
		if m.nextRun.IsZero() || m.nextRun.After(now) {
			due = due[1:]
		}
	}
	return n
}

func (c *call) runMonitor() reply {
	m := c.e.findMonitor(c.user, c.params["monitorId"])
	if m == nil {
		return monitorNotFound()
	}
	async := strings.EqualFold(c.query.Get("async"), "true")
	long := c.e.forceLong[m.id]
	delete(c.e.forceLong, m.id)
	switch {
	case long:
		rec := c.e.startRun(m, c.now, false)
		rec.finishedAt = c.now.Add(c.e.opts.LongRunDelay)
		c.e.pending = append(c.e.pending, rec)
		return reply{status: http.StatusAccepted, ctype: ctJSON, body: map[string]any{"run": map[string]any{"info": map[string]string{
			"monitorId": m.id, "status": "running",
			"message": "The request is taking longer than expected, but is processing. To avoid this in future requests, pass the 'async=true' query parameter to use the  async option.",
		}}}}
	case async:
		rec := c.e.startRun(m, c.now, false)
		c.e.pending = append(c.e.pending, rec)
		info := rec.info(m)
		info.Status, info.FinishedAt = "running", ""
		return ok(map[string]any{"run": map[string]any{"info": info}})
	default:
		rec := c.e.startRun(m, c.now, true)
		c.e.finishRunLocked(rec)
		return ok(map[string]any{"run": map[string]any{
			"info": rec.info(m), "stats": rec.stats, "executions": rec.executions, "failures": rec.failures,
		}})
	}
}
