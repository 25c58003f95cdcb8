package emulator

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type mockConfig struct {
	Headers          []string   `json:"headers"`
	MatchBody        bool       `json:"matchBody"`
	MatchQueryParams bool       `json:"matchQueryParams"`
	MatchWildcards   bool       `json:"matchWildcards"`
	Delay            *mockDelay `json:"delay"`
	ServerResponseID string     `json:"serverResponseId"`
}

type mockOut struct {
	ID          string     `json:"id"`
	Owner       string     `json:"owner"`
	UID         string     `json:"uid"`
	Collection  string     `json:"collection"`
	MockURL     string     `json:"mockUrl"`
	Name        string     `json:"name"`
	Config      mockConfig `json:"config"`
	CreatedAt   string     `json:"createdAt"`
	UpdatedAt   string     `json:"updatedAt"`
	IsPublic    bool       `json:"isPublic"`
	Deactivated bool       `json:"deactivated"`
	Environment string     `json:"environment,omitempty"`
}

// mockURL is where the mock answers: under the emulator's own listener when Options.PublicURL is set
// (PublicURL/mock/{id}), else the vendor's https://{id}.mock.pstmn.io (which the emulator also serves at
// /mock/{id} on whatever address it listens on).
func (e *Emulator) mockURL(m *mock) string {
	if e.opts.PublicURL != "" {
		return strings.TrimRight(e.opts.PublicURL, "/") + "/mock/" + m.id
	}
	return fmt.Sprintf("https://%s.mock.pstmn.io", m.id)
}

func (e *Emulator) mockOutFor(m *mock) mockOut {
	o := m.out()
	o.MockURL = e.mockURL(m)
	return o
}

// mockWriteOut is a mock as create and update answer it: without isPublic and deactivated.
func (e *Emulator) mockWriteOut(m *mock) map[string]any {
	o := e.mockOutFor(m)
	out := map[string]any{"id": o.ID, "owner": o.Owner, "uid": o.UID, "collection": o.Collection, "mockUrl": o.MockURL,
		"name": o.Name, "config": o.Config, "createdAt": o.CreatedAt, "updatedAt": o.UpdatedAt}
	if o.Environment != "" {
		out["environment"] = o.Environment
	}
	return out
}

func (m *mock) out() mockOut {
	headers := m.headers
	if headers == nil {
		headers = []string{}
	}
	return mockOut{ID: m.id, Owner: fmt.Sprint(m.owner), UID: m.uid(), Collection: m.collectionUID,
		MockURL: fmt.Sprintf("https://%s.mock.pstmn.io", m.id), Name: m.name,
		Config: mockConfig{Headers: headers, MatchBody: m.matchBody, MatchQueryParams: m.matchQueryParams,
			MatchWildcards: m.matchWildcards, Delay: m.delay, ServerResponseID: m.serverResponseID},
		CreatedAt: ts(m.createdAt), UpdatedAt: ts(m.updatedAt), IsPublic: m.isPublic, Deactivated: m.deactivated,
		Environment: m.environmentUID}
}

// listMocks follows the documented defaults: without ?workspace= only the caller's own active mocks (or, with
// ?teamId= of the caller's team, the team's); with it, the workspace's active mocks. ?workspace= wins over ?teamId=.
func (c *call) listMocks() reply {
	ws, team := c.query.Get("workspace"), c.query.Get("teamId")
	out := []mockOut{}
	for _, m := range byOrder(c.e.mocks, mockOrder) {
		if m.deactivated || !c.e.canSeeIn(c.user, m.workspaceID) {
			continue
		}
		switch {
		case ws != "":
			if m.workspaceID != ws {
				continue
			}
		case team != "" && c.user.TeamID != 0 && team == fmt.Sprint(c.user.TeamID):
		default:
			if m.owner != c.user.ID {
				continue
			}
		}
		out = append(out, c.e.mockOutFor(m))
	}
	return ok(map[string]any{"mocks": out})
}

func (c *call) getMock() reply {
	m := c.e.findMock(c.user, c.params["mockId"])
	if m == nil {
		return legacyDetails(http.StatusNotFound, "instanceNotFoundError", "The specified mock does not exist.", map[string]any{})
	}
	return ok(map[string]any{"mock": c.e.mockOutFor(m)})
}

func (c *call) createMock() reply {
	if len(strings.TrimSpace(string(c.body))) == 0 {
		return problemReply(http.StatusBadRequest, "bad-request", "Bad Request", "Request body is required", "")
	}
	v, err := decodeJSON(c.body)
	top, okTop := v.(map[string]any)
	if err != nil || !okTop {
		return problemReply(http.StatusBadRequest, "bad-request", "Bad Request", "Bad Request", "")
	}
	in, _ := top["mock"].(map[string]any)
	colRef, _ := in["collection"].(string)
	if colRef == "" {
		return legacyDetails(http.StatusBadRequest, "paramMissingError", "Parameter is missing in the request.", map[string]any{"param": []string{"collection"}})
	}
	col := c.e.findCollection(c.user, colRef)
	if col == nil {
		return itemNotFound(http.StatusBadRequest, "collection", colRef, c.user.ID)
	}
	w, rep := c.targetWorkspace()
	if rep != nil {
		return *rep
	}
	m := &mock{id: c.e.newID("mock"), owner: c.user.ID, workspaceID: w.id, collectionUID: col.uid(), headers: []string{},
		matchQueryParams: true, matchWildcards: true, isPublic: true, createdAt: c.now, updatedAt: c.now, order: c.e.nextOrder()}
	if rep := c.e.applyMockFields(c.user, m, in); rep != nil {
		return *rep
	}
	if m.name == "" {
		m.name = col.name()
	}
	c.e.mocks[m.id] = m
	return ok(map[string]any{"mock": c.e.mockWriteOut(m)})
}

// applyMockFields sets name, description, environment, private, collection and config.serverResponseId.
func (e *Emulator) applyMockFields(u *User, m *mock, in map[string]any) *reply {
	for k, v := range in {
		switch k {
		case "name":
			s, okS := v.(string)
			if !okS {
				rep := legacy(http.StatusBadRequest, "invalidParamsError", "Invalid value for parameter: name.")
				return &rep
			}
			m.name = s
		case "description":
			s, _ := v.(string)
			m.description = s
		case "private":
			b, okB := v.(bool)
			if !okB {
				rep := legacy(http.StatusBadRequest, "invalidParamsError", "Invalid value for parameter: private.")
				return &rep
			}
			m.isPublic = !b
		case "environment":
			s, _ := v.(string)
			if s == "" {
				m.environmentUID = ""
				continue
			}
			env := e.findEnvironment(u, s)
			if env == nil {
				rep := itemNotFound(http.StatusBadRequest, "environment", s, u.ID)
				return &rep
			}
			m.environmentUID = env.uid()
		case "collection":
			s, _ := v.(string)
			col := e.findCollection(u, s)
			if col == nil {
				rep := itemNotFound(http.StatusBadRequest, "collection", s, u.ID)
				return &rep
			}
			m.collectionUID = col.uid()
		case "config":
			cfg, _ := v.(map[string]any)
			if sr, has := cfg["serverResponseId"]; has {
				s, _ := sr.(string)
				m.serverResponseID = s
			}
		}
	}
	return nil
}

func (c *call) updateMock() reply {
	m := c.e.findMock(c.user, c.params["mockId"])
	if m == nil {
		return legacyDetails(http.StatusNotFound, "instanceNotFoundError", "The specified mock does not exist.", map[string]any{})
	}
	v, err := decodeJSON(c.body)
	top, _ := v.(map[string]any)
	in, _ := top["mock"].(map[string]any)
	if err != nil || len(in) == 0 {
		return legacyDetails(http.StatusBadRequest, "paramMissingError", "At least one parameter must be provided.",
			map[string]any{"param": "environment, private, name, config, collection"})
	}
	if rep := c.e.applyMockFields(c.user, m, in); rep != nil {
		return *rep
	}
	m.updatedAt = c.now
	return ok(map[string]any{"mock": c.e.mockWriteOut(m)})
}

func (c *call) deleteMock() reply {
	m := c.e.findMock(c.user, c.params["mockId"])
	if m == nil {
		return legacyDetails(http.StatusNotFound, "instanceNotFoundError", "The specified mock does not exist.", map[string]any{})
	}
	delete(c.e.mocks, m.id)
	return ok(map[string]any{"mock": map[string]string{"id": m.id, "uid": m.uid()}})
}

// mockCall is one request a mock served, as the call-logs endpoint reports it.
type mockCall struct {
	id           string
	responseName string
	servedAt     time.Time
	method, path string
	reqHeaders   map[string]string
	reqBody      string
	status       int
	success      bool
	respHeaders  map[string]string
	respBody     string
}

const maxMockCalls = 1000

func (c *call) mockCallLogs() reply {
	m := c.e.findMock(c.user, c.params["mockId"])
	if m == nil {
		return legacyDetails(http.StatusNotFound, "instanceNotFoundError", "The specified mock does not exist.", map[string]any{})
	}
	q := c.query
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return legacy(http.StatusBadRequest, "invalidParamsError", "Invalid value for parameter: limit.")
		}
		limit = min(n, 100)
	}
	var since, until time.Time
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &since}, {"until", &until}} {
		if s := q.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return legacy(http.StatusBadRequest, "invalidParamsError", fmt.Sprintf("Invalid value for parameter: %s.", p.name))
			}
			*p.dst = t
		}
	}
	if !since.IsZero() && c.now.Sub(since) > 30*24*time.Hour {
		return legacy(http.StatusBadRequest, "invalidParamsError",
			"Invalid value for parameter: since. Cannot view logs beyond the call log retention period based on your plan i.e. 30 days.")
	}
	offset := 0
	if cur := q.Get("cursor"); cur != "" {
		raw, err := base64.StdEncoding.DecodeString(cur)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || err2 != nil || n < 0 {
			return problemReply(http.StatusBadRequest, "bad-request", "Malformed request", "Invalid cursor", "")
		}
		offset = n
	}
	include := map[string]bool{}
	for _, s := range strings.Split(q.Get("include"), ",") {
		include[strings.TrimSpace(s)] = true
	}
	var sel []mockCall
	asc := q.Get("direction") == "asc"
	for i := range m.calls {
		cl := m.calls[len(m.calls)-1-i]
		if asc {
			cl = m.calls[i]
		}
		if (!since.IsZero() && cl.servedAt.Before(since)) || (!until.IsZero() && cl.servedAt.After(until)) {
			continue
		}
		if s := q.Get("responseStatusCode"); s != "" && s != strconv.Itoa(cl.status) {
			continue
		}
		if s := q.Get("responseType"); s != "" && s != map[bool]string{true: "success", false: "error"}[cl.success] {
			continue
		}
		if s := q.Get("requestMethod"); s != "" && !strings.EqualFold(s, cl.method) {
			continue
		}
		if s := q.Get("requestPath"); s != "" && s != cl.path {
			continue
		}
		sel = append(sel, cl)
	}
	out := []any{}
	end := min(offset+limit, len(sel))
	for _, cl := range sel[min(offset, len(sel)):end] {
		req := map[string]any{"method": cl.method, "path": cl.path}
		resp := map[string]any{"type": map[bool]string{true: "success", false: "error"}[cl.success], "statusCode": cl.status}
		if include["request.headers"] {
			req["headers"] = cl.reqHeaders
		}
		if include["request.body"] {
			req["body"] = map[string]any{"mode": "raw", "data": cl.reqBody}
		}
		if include["response.headers"] {
			resp["headers"] = cl.respHeaders
		}
		if include["response.body"] {
			resp["body"] = map[string]any{"data": cl.respBody}
		}
		out = append(out, map[string]any{"id": cl.id, "responseName": cl.responseName, "servedAt": ts(cl.servedAt), "request": req, "response": resp})
	}
	var next any
	if end < len(sel) {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return ok(map[string]any{"call-logs": out, "meta": map[string]any{"nextCursor": next}})
}
