package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Mock servers answer at /mock/{mockId}/<path> on the emulator's own listener (the mockUrl the API reports when
// Options.PublicURL is set). Like Postman's classic mocks they answer from the mocked collection's saved
// examples:
//
//  1. x-mock-response-name or x-mock-response-id, when sent, keep only the example of that name or ID (UID);
//  2. the example's request method must equal the request's;
//  3. x-mock-response-code, when sent, keeps only examples with that status;
//  4. the example's URL path (its host or a leading {{variable}} base dropped) must match segment by segment:
//     an exact segment scores highest, a case-insensitive one a little less, a {{variable}} or :param segment
//     matches anything (when the mock's matchWildcards is on) but scores least;
//  5. with matchQueryParams, every query parameter that matches adds to the score and every one that differs
//     takes away; with matchBody, an example with a raw body only matches an equal body (JSON compared as JSON);
//  6. the highest score wins; a tie goes to a 2xx example, then to the first in collection order.
//
// No match is the vendor's 404 mockRequestNotFoundError. A private mock (isPublic false) wants the x-api-key of a
// user who can see its workspace. Not simulated: config.delay, variable substitution in example bodies, and
// header matching.

const (
	mockPrefix      = "/mock/"
	maxMockBodyRead = 1 << 20
)

type mockCandidate struct {
	resp  map[string]any
	orig  map[string]any // the request the example answered
	index int
}

func (e *Emulator) serveMock(w http.ResponseWriter, r *http.Request, path string) {
	rest := strings.TrimPrefix(path, mockPrefix)
	id, sub, _ := strings.Cut(rest, "/")
	sub = "/" + sub
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, maxMockBodyRead))
	}

	e.mu.Lock()
	now := e.now()
	_, plain, okRef := splitRef(id)
	var m *mock
	if okRef {
		m = e.mocks[plain]
	}
	if m == nil || m.deactivated {
		e.mu.Unlock()
		e.write(w, legacyDetails(http.StatusNotFound, "mockServerNotFoundError",
			"We were unable to find any matching mock server for this request.", map[string]any{"mockId": id}))
		return
	}
	if !m.isPublic {
		u := e.users[r.Header.Get("X-Api-Key")]
		if u == nil || !e.canSeeIn(u, m.workspaceID) {
			e.mu.Unlock()
			e.write(w, reply{status: http.StatusUnauthorized, ctype: ctJSON, body: map[string]any{"error": map[string]any{
				"name": "mockRequestNotAuthorizedError", "header": "Unauthorized request",
				"message": "This mock server is private. Send the x-api-key header with a Postman API key that can access it."}}})
			return
		}
	}
	var best *mockCandidate
	if col := e.collectionByUID(m.collectionUID); col != nil {
		best = pickExample(m, exampleCandidates(col.items, nil), r, sub, body)
	}
	call := mockCall{id: e.seedID("mock-call", m.id, strconv.Itoa(len(m.calls))) + "-" + strconv.Itoa(len(m.calls)%10000),
		servedAt: now, method: r.Method, path: sub, reqBody: string(body), reqHeaders: map[string]string{}, respHeaders: map[string]string{}}
	if r.URL.RawQuery != "" {
		call.path += "?" + r.URL.RawQuery
	}
	for k := range r.Header {
		call.reqHeaders[k] = r.Header.Get(k)
	}
	var rep reply
	var headers [][2]string
	if best == nil {
		call.responseName = "Double check your method and the request path and try again."
		call.status = http.StatusNotFound
		rep = reply{status: http.StatusNotFound, ctype: ctJSON, body: map[string]any{"error": map[string]any{
			"name": "mockRequestNotFoundError", "message": "Double check your method and the request path and try again.",
			"header": "No matching requests"}}}
	} else {
		call.responseName, _ = best.resp["name"].(string)
		call.success = true
		code := intOf(best.resp["code"])
		if code < 100 || code > 599 {
			code = http.StatusOK
		}
		call.status = code
		text, _ := best.resp["body"].(string)
		ctype := ""
		for _, h := range params(best.resp["header"]) {
			k, _ := h["key"].(string)
			v, _ := h["value"].(string)
			if h["disabled"] == true || k == "" {
				continue
			}
			switch strings.ToLower(k) {
			case "content-length", "transfer-encoding", "connection", "content-encoding":
				continue
			case "content-type":
				ctype = v
				continue
			}
			headers = append(headers, [2]string{k, v})
		}
		if ctype == "" {
			if lang, _ := best.resp["_postman_previewlanguage"].(string); lang == "json" || json.Valid([]byte(text)) && strings.TrimSpace(text) != "" {
				ctype = "application/json; charset=utf-8"
			} else {
				ctype = "text/plain; charset=utf-8"
			}
		}
		rep = reply{status: code, ctype: ctype, raw: []byte(text)}
		call.respBody = text
	}
	for _, h := range headers {
		call.respHeaders[h[0]] = h[1]
	}
	m.calls = append(m.calls, call)
	if len(m.calls) > maxMockCalls {
		m.calls = m.calls[len(m.calls)-maxMockCalls:]
	}
	e.mu.Unlock()
	for _, h := range headers {
		w.Header().Add(h[0], h[1])
	}
	e.write(w, rep)
}

func intOf(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	}
	return 0
}

// exampleCandidates lists every saved response in collection order with the request it answers.
func exampleCandidates(items []any, into []mockCandidate) []mockCandidate {
	for _, it := range items {
		m, okM := it.(map[string]any)
		if !okM {
			continue
		}
		if isFolder(m) {
			sub, _ := m["item"].([]any)
			into = exampleCandidates(sub, into)
			continue
		}
		req, _ := m["request"].(map[string]any)
		for _, r := range params(m["response"]) {
			orig, _ := r["originalRequest"].(map[string]any)
			if orig == nil {
				orig = req
			}
			into = append(into, mockCandidate{resp: r, orig: orig, index: len(into)})
		}
	}
	return into
}

func pickExample(m *mock, cands []mockCandidate, r *http.Request, path string, body []byte) *mockCandidate {
	name := r.Header.Get("X-Mock-Response-Name")
	rid := r.Header.Get("X-Mock-Response-Id")
	code := r.Header.Get("X-Mock-Response-Code")
	var best *mockCandidate
	bestScore := -1e9
	for i := range cands {
		c := &cands[i]
		if name != "" {
			if n, _ := c.resp["name"].(string); n != name {
				continue
			}
		}
		if rid != "" {
			id, _ := c.resp["id"].(string)
			uid, _ := c.resp["uid"].(string)
			if !strings.EqualFold(rid, id) && !strings.EqualFold(rid, uid) {
				continue
			}
		}
		if !strings.EqualFold(strOr(c.orig["method"], "GET"), r.Method) {
			continue
		}
		if code != "" && strconv.Itoa(intOf(c.resp["code"])) != code {
			continue
		}
		exPath, exQuery := exampleURL(c.orig["url"])
		score, okPath := pathScore(exPath, path, m.matchWildcards)
		if !okPath {
			continue
		}
		if m.matchQueryParams {
			score += queryScore(exQuery, r.URL.Query())
		}
		if m.matchBody {
			if b, okB := c.orig["body"].(map[string]any); okB && b["mode"] == "raw" {
				raw, _ := b["raw"].(string)
				if strings.TrimSpace(raw) != "" && !sameBody(raw, string(body)) {
					continue
				}
			}
		}
		is2xx := intOf(c.resp["code"])/100 == 2
		if best == nil || score > bestScore || (score == bestScore && is2xx && intOf(best.resp["code"])/100 != 2) {
			best, bestScore = c, score
		}
	}
	return best
}

// exampleURL returns the path segments and query of an example's URL, with its host (or a leading {{base}}
// variable) dropped.
func exampleURL(v any) ([]string, url.Values) {
	raw := ""
	switch u := v.(type) {
	case string:
		raw = u
	case map[string]any:
		raw, _ = u["raw"].(string)
	}
	base, qs, _ := strings.Cut(raw, "?")
	switch {
	case strings.HasPrefix(base, "{{"):
		if _, after, okV := strings.Cut(base, "}}"); okV {
			base = after
		}
	case strings.Contains(base, "://"):
		_, after, _ := strings.Cut(base, "://")
		if i := strings.Index(after, "/"); i >= 0 {
			base = after[i:]
		} else {
			base = "/"
		}
	default:
		if i := strings.Index(base, "/"); i > 0 {
			base = base[i:]
		}
	}
	q, _ := url.ParseQuery(qs)
	return segments(base), q
}

func segments(p string) []string {
	var out []string
	for _, s := range strings.Split(strings.Trim(p, "/"), "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func isVariable(s string) bool {
	return (strings.HasPrefix(s, "{{") && strings.HasSuffix(s, "}}")) || (strings.HasPrefix(s, ":") && len(s) > 1)
}

func pathScore(example []string, path string, wildcards bool) (float64, bool) {
	got := segments(path)
	for i, s := range got {
		if u, err := url.PathUnescape(s); err == nil {
			got[i] = u
		}
	}
	if len(got) != len(example) {
		return 0, false
	}
	score := 0.0
	for i, s := range example {
		switch {
		case s == got[i]:
			score += 3
		case strings.EqualFold(s, got[i]):
			score += 2
		case wildcards && isVariable(s):
			score++
		default:
			return 0, false
		}
	}
	return score, true
}

func queryScore(example, got url.Values) float64 {
	score := 0.0
	for k, vs := range example {
		gv, has := got[k]
		switch {
		case !has:
			score -= 0.5
		case len(vs) > 0 && isVariable(vs[0]):
			score += 0.25
		case len(vs) > 0 && len(gv) > 0 && vs[0] == gv[0]:
			score += 0.5
		default:
			score -= 0.5
		}
	}
	for k := range got {
		if _, has := example[k]; !has {
			score -= 0.25
		}
	}
	return score
}

func sameBody(a, b string) bool {
	if strings.TrimSpace(a) == strings.TrimSpace(b) {
		return true
	}
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
