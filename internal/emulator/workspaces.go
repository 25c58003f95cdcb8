package emulator

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

type meUser struct {
	ID            int64    `json:"id"`
	Sub           string   `json:"sub"`
	Username      string   `json:"username"`
	Email         string   `json:"email"`
	FullName      string   `json:"fullName"`
	Avatar        *string  `json:"avatar"`
	IsPublic      bool     `json:"isPublic"`
	EmailVerified bool     `json:"emailVerified"`
	TeamID        int64    `json:"teamId"`
	TeamName      string   `json:"teamName"`
	TeamDomain    string   `json:"teamDomain"`
	Roles         []string `json:"roles"`
}

type usageOp struct {
	Name    string  `json:"name"`
	Limit   float64 `json:"limit"`
	Usage   float64 `json:"usage"`
	Overage float64 `json:"overage"`
}

func (c *call) getMe() reply {
	u := c.user
	avatar := "https://res.cloudinary.com/postman/image/upload/t_user_profile_300/v1/user/default-6"
	usage := c.e.limits.monthUsage(u.Key, c.now)
	quota := c.e.limits.quota
	overage := float64(0)
	if usage > quota {
		overage = float64(usage - quota)
	}
	return ok(map[string]any{
		"user": meUser{ID: u.ID, Sub: c.e.subs[u.ID], Username: u.Username, Email: u.Email, FullName: u.FullName,
			Avatar: &avatar, IsPublic: false, EmailVerified: true, TeamID: u.TeamID, TeamName: u.TeamName,
			TeamDomain: u.TeamDomain, Roles: u.Roles},
		"operations": []usageOp{
			{"api_object_usage", 99999999, 412, 0},
			{"collection_run_limit", 99999999, 37, 0},
			{"file_storage_limit", 1, 0.04, 0},
			{"flow_requests", 1000000, 0, 0},
			{"performance_test_limit", 99999999, 0, 0},
			{"reusable_packages", 100, 3, 0},
			{"test_data_retrieval", 1000, 0, 0},
			{"test_data_storage", 10, 0, 0},
			{"postbot_calls", 2500, 12, 0},
			{"mock_usage", 1000000, 5120, 0},
			{"monitor_request_runs", 15000000, 48211, 0},
			{"api_usage", float64(quota), float64(usage), overage},
		},
	})
}

type workspaceSummary struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Visibility string    `json:"visibility"`
	CreatedBy  string    `json:"createdBy"`
	About      string    `json:"about"`
	Scim       *scimRefs `json:"scim,omitempty"`
	CreatedAt  string    `json:"createdAt"`
	UpdatedAt  string    `json:"updatedAt"`
}

type scimRefs struct {
	CreatedBy string `json:"createdBy"`
	UpdatedBy string `json:"updatedBy,omitempty"`
}

func scimID(userID int64) string {
	return fmt.Sprintf("%016x%016x%016x", hash64("scim", fmt.Sprint(userID)), hash64("scim2", fmt.Sprint(userID)), hash64("scim3", fmt.Sprint(userID)))
}

var workspaceTypes = map[string]bool{"personal": true, "team": true, "private": true, "public": true, "partner": true}

func encodeCursor(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(offset)))
}

func decodeCursor(s string) (int, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			return 0, false
		}
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func (c *call) listWorkspaces() reply {
	q := c.query
	typ := q.Get("type")
	if typ != "" && !workspaceTypes[typ] {
		return reply{status: http.StatusBadRequest, ctype: ctJSON, body: map[string]any{
			"error":      map[string]any{"name": "invalidParamError", "message": "visibilityStatus must be one of personal/private/team/public/partner"},
			"statusCode": 400,
		}}
	}
	elemType, elemID := q.Get("elementType"), q.Get("elementId")
	if elemType != "" && elemType != "collection" && elemType != "specification" {
		return reply{status: http.StatusBadRequest, ctype: ctJSON, body: map[string]string{"name": "badRequest", "message": "elementType must be one of: collection, specification"}}
	}
	if elemType != "" && elemID == "" {
		return reply{status: http.StatusBadRequest, ctype: ctJSON, body: map[string]string{"name": "badRequest", "message": "elementId is required when elementType is provided"}}
	}
	limit, paginate := 0, q.Has("limit")
	if paginate {
		n, err := strconv.Atoi(q.Get("limit"))
		switch {
		case err != nil || n < 1:
			return legacy(http.StatusBadRequest, "badRequestError", "The limit parameter must be a positive integer.")
		case n > 100:
			return legacy(http.StatusBadRequest, "badRequestError", "The limit parameter must not exceed 100.")
		}
		limit = n
	}
	offset := 0
	if cur := q.Get("cursor"); cur != "" {
		n, okc := decodeCursor(cur)
		if !okc {
			return legacy(http.StatusBadRequest, "badRequestError", "Invalid cursor query parameter passed.")
		}
		offset = n
	}
	var createdBy map[int64]bool
	if cb := q.Get("createdBy"); cb != "" {
		createdBy = map[int64]bool{}
		for _, s := range strings.Split(cb, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return legacy(http.StatusBadRequest, "invalidParamError", "createdBy must be a comma-separated list of user IDs")
			}
			createdBy[n] = true
		}
	}
	scim := strings.Contains(q.Get("include"), "scim")

	var all []workspaceSummary
	for _, w := range byOrder(c.e.workspaces, wsOrder) {
		if !w.canSee(c.user) {
			continue
		}
		if typ != "" && w.typ != typ && w.visibility != typ {
			continue
		}
		if createdBy != nil && !createdBy[w.createdBy] {
			continue
		}
		if elemType == "collection" && !c.e.workspaceHoldsCollection(w, elemID) {
			continue
		}
		if elemType == "specification" {
			continue // the emulator has no specs
		}
		s := workspaceSummary{ID: w.id, Name: w.name, Type: w.typ, Visibility: w.visibility, CreatedBy: fmt.Sprint(w.createdBy),
			About: w.about, CreatedAt: ts(w.createdAt), UpdatedAt: ts(w.updatedAt)}
		if scim {
			s.Scim = &scimRefs{CreatedBy: scimID(w.createdBy)}
		}
		all = append(all, s)
	}
	if all == nil {
		all = []workspaceSummary{}
	}
	if offset > len(all) {
		offset = len(all)
	}
	page := all[offset:]
	out := map[string]any{}
	if paginate {
		meta := map[string]any{}
		if len(page) > limit {
			page = page[:limit]
			meta["nextCursor"] = encodeCursor(offset + limit)
		}
		out["meta"] = meta
	}
	out["workspaces"] = page
	return ok(out)
}

func (e *Emulator) workspaceHoldsCollection(w *workspace, ref string) bool {
	owner, id, okr := splitRef(ref)
	if !okr {
		return false
	}
	col := e.collections[id]
	return col != nil && col.workspaceID == w.id && (owner == 0 || owner == col.owner)
}

type elemRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	UID  string `json:"uid"`
}

type elemRefDeactivated struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	UID         string `json:"uid"`
	Deactivated bool   `json:"deactivated"`
}

type workspaceDetail struct {
	ID           string               `json:"id"`
	Name         string               `json:"name"`
	Type         string               `json:"type"`
	Description  string               `json:"description"`
	Visibility   string               `json:"visibility"`
	CreatedBy    string               `json:"createdBy"`
	UpdatedBy    string               `json:"updatedBy"`
	CreatedAt    string               `json:"createdAt"`
	UpdatedAt    string               `json:"updatedAt"`
	About        string               `json:"about"`
	Team         string               `json:"team,omitempty"`
	Collections  []elemRef            `json:"collections"`
	Environments []elemRef            `json:"environments"`
	Mocks        []elemRefDeactivated `json:"mocks"`
	Monitors     []elemRefDeactivated `json:"monitors"`
	Specs        []elemRef            `json:"specs"`
	Scim         *scimRefs            `json:"scim,omitempty"`
}

func (c *call) getWorkspace() reply {
	w := c.e.visibleWorkspace(c.user, c.params["workspaceId"])
	if w == nil {
		return reply{status: http.StatusNotFound, ctype: ctJSON, body: legacyError{Error: legacyErrorBody{
			Name: "workspaceNotFoundError", Message: "Workspace not found", StatusCode: 404}}}
	}
	include := map[string]bool{}
	for _, s := range strings.Split(c.query.Get("include"), ",") {
		include[strings.TrimSpace(s)] = true
	}
	d := workspaceDetail{ID: w.id, Name: w.name, Type: w.typ, Description: w.description, Visibility: w.visibility,
		CreatedBy: fmt.Sprint(w.createdBy), UpdatedBy: fmt.Sprint(w.updatedBy), CreatedAt: ts(w.createdAt), UpdatedAt: ts(w.updatedAt),
		About: w.about, Collections: []elemRef{}, Environments: []elemRef{}, Mocks: []elemRefDeactivated{},
		Monitors: []elemRefDeactivated{}, Specs: []elemRef{}}
	if include["team"] && w.teamID != 0 {
		d.Team = fmt.Sprint(w.teamID)
	}
	if include["scim"] {
		d.Scim = &scimRefs{CreatedBy: scimID(w.createdBy), UpdatedBy: scimID(w.updatedBy)}
	}
	for _, col := range byOrder(c.e.collections, colOrder) {
		if col.workspaceID == w.id {
			d.Collections = append(d.Collections, elemRef{col.id, col.name(), col.uid()})
		}
	}
	for _, v := range byOrder(c.e.environments, envOrder) {
		if v.workspaceID == w.id {
			d.Environments = append(d.Environments, elemRef{v.id, v.name, v.uid()})
		}
	}
	for _, m := range byOrder(c.e.mocks, mockOrder) {
		if m.workspaceID == w.id && (!m.deactivated || include["mocks:deactivated"]) {
			d.Mocks = append(d.Mocks, elemRefDeactivated{m.id, m.name, m.uid(), m.deactivated})
		}
	}
	for _, m := range byOrder(c.e.monitors, monOrder) {
		if m.workspaceID == w.id {
			d.Monitors = append(d.Monitors, elemRefDeactivated{m.id, m.name, m.uid(), !m.active})
		}
	}
	return ok(map[string]any{"workspace": d})
}

// targetWorkspace resolves the ?workspace= of a create: absent means the caller's oldest personal workspace.
func (c *call) targetWorkspace() (*workspace, *reply) {
	id := c.query.Get("workspace")
	if id == "" {
		if w := c.e.personalWorkspace(c.user); w != nil {
			return w, nil
		}
		rep := errForbiddenWorkspace()
		return nil, &rep
	}
	w := c.e.visibleWorkspace(c.user, id)
	if w == nil {
		rep := errForbiddenWorkspace()
		return nil, &rep
	}
	return w, nil
}
