package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pmops/pmops/internal/clock"
)

// route is one in-scope operation. op is the operation's key in relevant-operations.resolved.json
// ("GET /collections/{collectionId}"), which is also what faults match on.
type route struct {
	method, pattern string
	segs            []string
	limited         bool // the 10-per-10-s route bucket applies
	body            bool // the handler reads a JSON body
	needLength      bool // 411 without Content-Length (environment writes)
	bodyLimit       int64
	handle          func(*call) reply
}

func (rt *route) op() string { return rt.method + " " + rt.pattern }

// call is one request as a handler sees it. Handlers run with e.mu held.
type call struct {
	e      *Emulator
	r      *http.Request
	user   *User
	params map[string]string
	query  url.Values
	body   []byte
	now    time.Time
	path   string
}

// routes is built on first use: every binary links the emulator (for -demo) and most never serve it.
var routes = sync.OnceValue(buildRoutes)

func buildRoutes() []*route {
	rs := []*route{
		{method: "GET", pattern: "/me", handle: (*call).getMe},
		{method: "GET", pattern: "/workspaces", limited: true, handle: (*call).listWorkspaces},
		{method: "GET", pattern: "/workspaces/{workspaceId}", limited: true, handle: (*call).getWorkspace},
		{method: "GET", pattern: "/collections", limited: true, handle: (*call).listCollections},
		{method: "POST", pattern: "/collections", body: true, handle: (*call).createCollection},
		{method: "GET", pattern: "/collections/{collectionId}", handle: (*call).getCollection},
		{method: "PUT", pattern: "/collections/{collectionId}", body: true, handle: (*call).putCollection},
		{method: "PATCH", pattern: "/collections/{collectionId}", body: true, handle: (*call).patchCollection},
		{method: "DELETE", pattern: "/collections/{collectionId}", handle: (*call).deleteCollection},
		{method: "GET", pattern: "/collection-updates-tasks/{taskId}", handle: (*call).getUpdateTask},
		{method: "GET", pattern: "/environments", handle: (*call).listEnvironments},
		{method: "POST", pattern: "/environments", body: true, needLength: true, bodyLimit: environmentBodyLimit, handle: (*call).createEnvironment},
		{method: "GET", pattern: "/environments/{environmentId}", handle: (*call).getEnvironment},
		{method: "PUT", pattern: "/environments/{environmentId}", body: true, needLength: true, bodyLimit: environmentBodyLimit, handle: (*call).putEnvironment},
		{method: "PATCH", pattern: "/environments/{environmentId}", body: true, needLength: true, bodyLimit: environmentBodyLimit, handle: (*call).patchEnvironment},
		{method: "DELETE", pattern: "/environments/{environmentId}", handle: (*call).deleteEnvironment},
		{method: "GET", pattern: "/monitors", limited: true, handle: (*call).listMonitors},
		{method: "POST", pattern: "/monitors", limited: true, body: true, handle: (*call).createMonitor},
		{method: "GET", pattern: "/monitors/{monitorId}", limited: true, handle: (*call).getMonitor},
		{method: "PUT", pattern: "/monitors/{monitorId}", limited: true, body: true, handle: (*call).updateMonitor},
		{method: "DELETE", pattern: "/monitors/{monitorId}", limited: true, handle: (*call).deleteMonitor},
		{method: "POST", pattern: "/monitors/{monitorId}/run", limited: true, handle: (*call).runMonitor},
		{method: "GET", pattern: "/mocks", handle: (*call).listMocks},
		{method: "GET", pattern: "/mocks/{mockId}", handle: (*call).getMock},
		{method: "POST", pattern: "/webhooks", body: true, handle: (*call).createWebhook},

		{method: "POST", pattern: "/collections/{collectionId}/requests", body: true, handle: (*call).createRequest},
		{method: "GET", pattern: "/collections/{collectionId}/requests/{requestId}", handle: (*call).getRequest},
		{method: "PUT", pattern: "/collections/{collectionId}/requests/{requestId}", body: true, handle: (*call).updateRequest},
		{method: "DELETE", pattern: "/collections/{collectionId}/requests/{requestId}", handle: (*call).deleteRequest},
		{method: "POST", pattern: "/collections/{collectionId}/folders", body: true, handle: (*call).createFolder},
		{method: "GET", pattern: "/collections/{collectionId}/folders/{folderId}", handle: (*call).getFolder},
		{method: "PUT", pattern: "/collections/{collectionId}/folders/{folderId}", body: true, handle: (*call).updateFolder},
		{method: "DELETE", pattern: "/collections/{collectionId}/folders/{folderId}", handle: (*call).deleteFolder},
		{method: "POST", pattern: "/collections/{collectionId}/responses", body: true, handle: (*call).createResponse},
		{method: "GET", pattern: "/collections/{collectionId}/responses/{responseId}", handle: (*call).getResponse},
		{method: "PUT", pattern: "/collections/{collectionId}/responses/{responseId}", body: true, handle: (*call).updateResponse},
		{method: "DELETE", pattern: "/collections/{collectionId}/responses/{responseId}", handle: (*call).deleteResponse},
		{method: "POST", pattern: "/mocks", body: true, handle: (*call).createMock},
		{method: "PUT", pattern: "/mocks/{mockId}", body: true, handle: (*call).updateMock},
		{method: "DELETE", pattern: "/mocks/{mockId}", handle: (*call).deleteMock},
		{method: "GET", pattern: "/mocks/{mockId}/call-logs", handle: (*call).mockCallLogs},
		{method: "GET", pattern: "/workspaces/{workspaceId}/global-variables", handle: (*call).getGlobals},
		{method: "PUT", pattern: "/workspaces/{workspaceId}/global-variables", body: true, handle: (*call).putGlobals},
	}
	for _, r := range rs {
		r.segs = strings.Split(strings.Trim(r.pattern, "/"), "/")
	}
	return rs
}

// Operations lists the in-scope operations the emulator serves, as "METHOD /path/{param}" keys.
func Operations() []string {
	out := make([]string, len(routes()))
	for i, r := range routes() {
		out[i] = r.op()
	}
	return out
}

func cleanPath(p string) string {
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p
}

func matchRoute(method, path string) (*route, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, r := range routes() {
		if r.method != method || len(r.segs) != len(segs) {
			continue
		}
		params := map[string]string{}
		matched := true
		for i, s := range r.segs {
			if strings.HasPrefix(s, "{") {
				v, err := url.PathUnescape(segs[i])
				if err != nil || v == "" {
					matched = false
					break
				}
				params[strings.Trim(s, "{}")] = v
				continue
			}
			if s != segs[i] {
				matched = false
				break
			}
		}
		if matched {
			return r, params
		}
	}
	return nil, nil
}

// limitedPath tells whether an unmatched path would still be in the route bucket (all /monitors* count).
func limitedPath(method, path string) bool {
	return strings.HasPrefix(path, "/monitors") ||
		(method == "GET" && (path == "/collections" || path == "/workspaces" || strings.HasPrefix(path, "/workspaces/")))
}

func apiKey(r *http.Request) string {
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return k
	}
	// Servers canonicalise header names, but in-process callers may fill the map by hand.
	for name, vals := range r.Header {
		if strings.EqualFold(name, "X-Api-Key") && len(vals) > 0 && vals[0] != "" {
			return vals[0]
		}
	}
	return r.URL.Query().Get("apikey")
}

// ServeHTTP authenticates, applies the rate limits and faults, then runs the operation.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	path := cleanPath(r.URL.Path)
	if strings.HasPrefix(path, mockPrefix) {
		e.serveMock(w, r, path) // a mock server, not the API: no key, no rate limit
		return
	}
	rt, params := matchRoute(r.Method, path)
	limited := limitedPath(r.Method, path)
	if rt != nil {
		limited = rt.limited
	}
	key := apiKey(r)

	e.mu.Lock()
	now := e.now()
	e.settleLocked(now)
	e.total++
	var (
		v      verdict
		reject *reply
		fault  *Fault
		user   = e.users[key]
	)
	switch {
	case key == "":
		v = e.limits.peek("", now)
		rep := errMissingKey()
		reject = &rep
	case user == nil:
		e.statsFor(key).Requests++
		e.statsFor(key).Unauthorized++
		v = e.limits.peek("", now)
		rep := errInvalidKey()
		reject = &rep
	default:
		st := e.statsFor(key)
		st.Requests++
		v = e.limits.admit(key, now, limited)
		if !v.allowed {
			if v.reason == "serviceLimitExhausted" {
				st.QuotaExhausted++
			} else {
				st.RateLimited++
			}
			rep := tooMany(e.opts.Style429, v.reason, v.retryAt)
			reject = &rep
		} else {
			st.Admitted++
			op := ""
			if rt != nil {
				op = rt.op()
			}
			fault = e.takeFaultLocked(op, key)
		}
	}
	hooks := e.drainHooksLocked()
	e.mu.Unlock()
	e.hooks.dispatch(hooks)

	writeRateHeaders(w.Header(), v, now)
	status := 0
	defer func() {
		e.log.Debug("request", "method", r.Method, "path", path, "status", status, "user", userLabel(user), "took", time.Since(start))
	}()
	if reject != nil {
		status = e.write(w, *reject)
		return
	}

	delay := e.opts.Latency
	if fault != nil {
		delay += fault.Latency
	}
	if delay > 0 && clock.Sleep(r.Context(), delay) != nil {
		return
	}
	if fault != nil {
		switch fault.Kind {
		case FaultDropConnection:
			dropConnection(w)
			status = -1
			return
		case FaultServerError:
			status = e.write(w, errServer())
			return
		case FaultConflict:
			status = e.write(w, errDeepUpdateConflict())
			return
		case FaultBadGateway, FaultGatewayTimeout, FaultUnavailable:
			if fault.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.FormatInt(int64((fault.RetryAfter+time.Second-1)/time.Second), 10))
			}
			rep := errUnavailable()
			switch fault.Kind {
			case FaultBadGateway:
				rep = gatewayPage(http.StatusBadGateway)
			case FaultGatewayTimeout:
				rep = gatewayPage(http.StatusGatewayTimeout)
			}
			status = e.write(w, rep)
			return
		case FaultHang:
			if r.Body != nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, e.opts.MaxBodyBytes))
			}
			<-r.Context().Done()
			status = -1
			return
		}
	}
	if rt == nil {
		status = e.write(w, errRouteNotFound())
		return
	}

	var body []byte
	if rt.body {
		if rt.needLength && (r.ContentLength < 0 || len(r.TransferEncoding) > 0) {
			status = e.write(w, errLengthRequired())
			return
		}
		limit := e.opts.MaxBodyBytes
		if rt.bodyLimit > 0 && rt.bodyLimit < limit {
			limit = rt.bodyLimit
		}
		if r.ContentLength > limit {
			status = e.write(w, errPayloadTooLarge())
			return
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			status = e.write(w, legacy(http.StatusBadRequest, "malformedRequestError", "The request body could not be read."))
			return
		}
		if int64(len(b)) > limit {
			status = e.write(w, errPayloadTooLarge())
			return
		}
		body = b
	}

	rep := e.handle(rt, &call{e: e, r: r, user: user, params: params, query: r.URL.Query(), body: body, path: path})
	if fault != nil && fault.Kind == FaultDropAfterServe {
		dropConnection(w) // the operation happened; the client never hears of it
		status = -1
		return
	}
	status = e.write(w, rep)
}

// handle runs a handler under the lock and encodes its reply before unlocking, so the encoder never reads state
// another request is changing. A panic becomes the vendor's 500 instead of a crash.
func (e *Emulator) handle(rt *route, c *call) (rep reply) {
	e.mu.Lock()
	c.now = e.now()
	e.settleLocked(c.now)
	func() {
		defer func() {
			if p := recover(); p != nil {
				e.log.Error("handler panic", "op", rt.op(), "panic", fmt.Sprint(p))
				rep = errServer()
			}
		}()
		rep = rt.handle(c)
		if rep.raw == nil {
			rep.raw = e.encode(rep.body)
		}
	}()
	hooks := e.drainHooksLocked()
	e.mu.Unlock()
	e.hooks.dispatch(hooks)
	return rep
}

func (e *Emulator) encode(body any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		panic(fmt.Sprintf("encode response: %v", err))
	}
	return buf.Bytes()
}

func (e *Emulator) write(w http.ResponseWriter, rep reply) int {
	raw := rep.raw
	if raw == nil {
		raw = e.encode(rep.body)
	}
	ct := rep.ctype
	if ct == "" {
		ct = ctJSON
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(raw)
	return rep.status
}

func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// Not a real connection (for example httptest.ResponseRecorder): abort the handler the way net/http does.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func userLabel(u *User) string {
	if u == nil {
		return "-"
	}
	return strconv.FormatInt(u.ID, 10)
}

// decodeJSON parses one JSON value, keeping numbers exact, and rejects trailing data.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
