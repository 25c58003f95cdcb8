package emulator

import (
	"sort"
	"time"
)

type workspace struct {
	id, name, typ, visibility, about, description string
	teamID                                        int64 // 0 for personal workspaces
	createdBy, updatedBy                          int64
	createdAt, updatedAt                          time.Time
	order                                         int
	globals                                       []globalVar
}

type fork struct {
	label     string
	createdAt time.Time
	from      string // source collection UID
}

// collection stores a Postman Collection v2.1 document. items, event, variable and auth are kept as decoded JSON
// (numbers as json.Number) so whatever a client PUTs comes back unchanged.
type collection struct {
	id            string
	owner         int64
	workspaceID   string
	createdAt     time.Time
	updatedAt     time.Time
	lastUpdatedBy int64
	info          map[string]any // name, description, schema and any extra info keys
	items         []any
	auth          any
	event         []any
	variable      []any
	ppb           any // protocolProfileBehavior
	fork          *fork
	isPublic      bool
	order         int
	fullJSON      []byte // cached GET body (full model); nil after any change
	revision      int64  // bumped by every collection-item write
}

func (c *collection) uid() string { return uidOf(c.owner, c.id) }

func (c *collection) name() string {
	s, _ := c.info["name"].(string)
	return s
}

type envValue struct {
	Key         string         `json:"key"`
	Value       *string        `json:"value,omitempty"`
	Enabled     *bool          `json:"enabled,omitempty"`
	Type        string         `json:"type,omitempty"`
	Description *string        `json:"description,omitempty"`
	Secret      *bool          `json:"secret,omitempty"`
	Source      map[string]any `json:"source,omitempty"`
}

type environment struct {
	id          string
	owner       int64
	workspaceID string
	name        string
	values      []envValue
	createdAt   time.Time
	updatedAt   time.Time
	isPublic    bool
	order       int
}

func (v *environment) uid() string { return uidOf(v.owner, v.id) }

type monitorOptions struct {
	StrictSSL       bool `json:"strictSSL"`
	FollowRedirects bool `json:"followRedirects"`
	RequestTimeout  int  `json:"requestTimeout,omitempty"` // 0: not configured (the schema's minimum is 1)
	RequestDelay    int  `json:"requestDelay,omitempty"`
}

type emailTarget struct {
	Email string `json:"email"`
}

type monitorNotifications struct {
	OnError   []emailTarget `json:"onError"`
	OnFailure []emailTarget `json:"onFailure"`
}

type region struct {
	Region string `json:"region"`
}

// runPlan is the hidden part of a demo monitor: which requests misbehave. Monitors created through the API have an
// empty plan, so their outcome follows only from their collection's content.
type runPlan struct {
	forced map[string]int         // item name → status code on every run
	flaky  map[string]flakyAction // item name → status code on some runs
}

type flakyAction struct {
	code    int
	percent int
}

type monitor struct {
	id                string
	owner             int64
	workspaceID       string
	name              string
	active            bool
	collectionUID     string
	environmentUID    string
	notificationLimit int
	options           monitorOptions
	notifications     monitorNotifications
	distribution      []region
	retryAttempts     int
	cron, timezone    string // cron "" means trigger-only (created by POST /webhooks)
	spec              *cronSpec
	loc               *time.Location
	nextRun           time.Time
	lastRun           *runRecord
	jobID             string
	runs              int // run number of the latest run
	plan              runPlan
	webhookURL        string
	createdAt         time.Time
	order             int
}

func (m *monitor) uid() string { return uidOf(m.owner, m.id) }

type mockDelay struct {
	Type     string `json:"type"`
	Preset   string `json:"preset,omitempty"`
	Duration int    `json:"duration"`
}

type mock struct {
	id               string
	owner            int64
	workspaceID      string
	name             string
	collectionUID    string
	environmentUID   string
	isPublic         bool
	deactivated      bool
	delay            *mockDelay
	headers          []string
	matchBody        bool
	matchQueryParams bool
	matchWildcards   bool
	serverResponseID string
	createdAt        time.Time
	updatedAt        time.Time
	order            int
	description      string
	calls            []mockCall // newest last
}

func (m *mock) uid() string { return uidOf(m.owner, m.id) }

// updateTask is an asynchronous collection PUT (`Prefer: respond-async`).
type updateTask struct {
	id           string
	collectionID string
	teamID       int64 // who may poll it: the creator's team, or the creator alone when teamless
	creator      int64
	doneAt       time.Time
	status       string // in-progress, successful, failed
	apply        func(now time.Time)
}

// canSee reports whether u may see things in workspace w. Personal workspaces belong to their creator; team
// workspaces to everyone in that team. Different teams never see each other's data.
func (w *workspace) canSee(u *User) bool {
	if w.typ == "personal" {
		return w.createdBy == u.ID
	}
	return u.TeamID != 0 && w.teamID == u.TeamID
}

func (e *Emulator) visibleWorkspace(u *User, id string) *workspace {
	w := e.workspaces[id]
	if w == nil || !w.canSee(u) {
		return nil
	}
	return w
}

func (e *Emulator) canSeeIn(u *User, workspaceID string) bool {
	return e.visibleWorkspace(u, workspaceID) != nil
}

// personalWorkspace returns u's oldest personal workspace, where creates without ?workspace= land.
func (e *Emulator) personalWorkspace(u *User) *workspace {
	var best *workspace
	for _, w := range e.workspaces {
		if w.typ == "personal" && w.createdBy == u.ID && (best == nil || w.order < best.order) {
			best = w
		}
	}
	return best
}

func (e *Emulator) ensurePersonalWorkspaces(now time.Time) {
	ids := make([]int64, 0, len(e.userByID))
	for id := range e.userByID {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		u := e.userByID[id]
		if e.personalWorkspace(u) != nil {
			continue
		}
		w := &workspace{
			id: e.seedID("workspace", "personal", u.Username), name: "My Workspace", typ: "personal", visibility: "personal",
			about: "This is a personal workspace.", createdBy: u.ID, updatedBy: u.ID,
			createdAt: now.Add(-400 * 24 * time.Hour).Truncate(time.Second), updatedAt: now.Add(-30 * 24 * time.Hour).Truncate(time.Second),
			order: e.nextOrder(),
		}
		e.workspaces[w.id] = w
	}
}

// Lookups accept a bare ID or a UID, and return nil when the object does not exist or u may not see it.

func (e *Emulator) findCollection(u *User, ref string) *collection {
	owner, id, ok := splitRef(ref)
	if !ok {
		return nil
	}
	c := e.collections[id]
	if c == nil || (owner != 0 && owner != c.owner) || !e.canSeeIn(u, c.workspaceID) {
		return nil
	}
	return c
}

func (e *Emulator) findEnvironment(u *User, ref string) *environment {
	owner, id, ok := splitRef(ref)
	if !ok {
		return nil
	}
	v := e.environments[id]
	if v == nil || (owner != 0 && owner != v.owner) || !e.canSeeIn(u, v.workspaceID) {
		return nil
	}
	return v
}

func (e *Emulator) findMonitor(u *User, ref string) *monitor {
	m := e.findMonitorAny(ref)
	if m == nil || !e.canSeeIn(u, m.workspaceID) {
		return nil
	}
	return m
}

func (e *Emulator) findMonitorAny(ref string) *monitor {
	owner, id, ok := splitRef(ref)
	if !ok {
		return nil
	}
	m := e.monitors[id]
	if m == nil || (owner != 0 && owner != m.owner) {
		return nil
	}
	return m
}

func (e *Emulator) findMock(u *User, ref string) *mock {
	owner, id, ok := splitRef(ref)
	if !ok {
		return nil
	}
	m := e.mocks[id]
	if m == nil || (owner != 0 && owner != m.owner) || !e.canSeeIn(u, m.workspaceID) {
		return nil
	}
	return m
}

// collectionByUID resolves a UID without a visibility check (monitor runs act as the monitor's owner).
func (e *Emulator) collectionByUID(uid string) *collection {
	owner, id, ok := splitRef(uid)
	if !ok {
		return nil
	}
	c := e.collections[id]
	if c == nil || (owner != 0 && owner != c.owner) {
		return nil
	}
	return c
}

func (e *Emulator) environmentByUID(uid string) *environment {
	owner, id, ok := splitRef(uid)
	if !ok {
		return nil
	}
	v := e.environments[id]
	if v == nil || (owner != 0 && owner != v.owner) {
		return nil
	}
	return v
}

// byOrder returns map values ordered by insertion.
func byOrder[T any](m map[string]*T, order func(*T) int) []*T {
	out := make([]*T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return order(out[i]) < order(out[j]) })
	return out
}

func wsOrder(w *workspace) int    { return w.order }
func colOrder(c *collection) int  { return c.order }
func envOrder(v *environment) int { return v.order }
func monOrder(m *monitor) int     { return m.order }
func mockOrder(m *mock) int       { return m.order }
