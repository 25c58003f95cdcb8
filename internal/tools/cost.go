package tools

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
)

// Call is one step of the Postman API calls a tool is expected to make, in the order it makes them: N requests
// (0 means 1) of Method on Path at once. Path is the API path with "{id}" for an ID, as the rate gate's route
// buckets and cache rules name paths. A plan is what an adapter can know before the call: it lets the adapter see
// that a later call will wait for a spent rate budget before that call is made (Slack's "Queued…").
type Call struct {
	Method, Path string
	N            int
	// Shared: callers asking at the same time share one request (the gate coalesces it), and while its answer
	// is cached at the gate the call costs nothing (a cached listing to resolve a name, a read of one resource
	// under the gate's cache rules).
	Shared bool
}

// Count is how many requests the step makes (N, at least 1).
func (c Call) Count() int { return max(c.N, 1) }

// Plan returns the calls a call of t with these raw arguments is expected to make, in order; nil when t
// declares no plan or the arguments do not decode. Calls made only on a failure path (a retry, a fallback
// listing when the exact-name lookup misses) are not in it.
func (t *Tool) Plan(raw json.RawMessage) []Call {
	fn := plans[t.Name]
	if fn == nil {
		return nil
	}
	return fn(raw)
}

// NamesPlan is the call ResourceNames makes for kind (one cached listing); nil for a kind it does not know.
func NamesPlan(kind string) []Call {
	switch kind {
	case "collection":
		return []Call{{Method: http.MethodGet, Path: "/collections", Shared: true}}
	case "environment":
		return []Call{{Method: http.MethodGet, Path: "/environments", Shared: true}}
	}
	return nil
}

// plans declares, per tool, the calls its handler makes (see the handlers in this package: a change there that
// adds or removes a call must change the plan here; TestPlansMatchCalls counts them against the emulator).
var plans = map[string]func(json.RawMessage) []Call{
	"get_account": planOf(func(getAccountArgs) []Call { return []Call{get("/me", true)} }),
	"list_workspaces": planOf(func(listWorkspacesArgs) []Call {
		return []Call{get("/workspaces", false)}
	}),
	"get_workspace": planOf(func(a getWorkspaceArgs) []Call {
		return append(resolvePlan("/workspaces", a.Workspace), get("/workspaces/{id}", false))
	}),
	"list_collections": planOf(func(a listCollectionsArgs) []Call {
		return append(resolvePlan("/workspaces", a.Workspace), get("/collections", false))
	}),
	"get_collection": planOf(func(a getCollectionArgs) []Call {
		// The outline is a read of the whole collection; a later page of it comes from the outline cache.
		if a.Cursor != "" {
			return []Call{}
		}
		// One read of the whole collection, with or without a request named: the request is read out of it.
		return append(resolvePlan("/collections", a.Collection), get("/collections/{id}", true))
	}),
	"list_environments": planOf(func(a listEnvironmentsArgs) []Call {
		return append(resolvePlan("/workspaces", a.Workspace), get("/environments", false))
	}),
	"get_environment": planOf(func(a getEnvironmentArgs) []Call {
		return append(resolvePlan("/environments", a.Environment), get("/environments/{id}", true))
	}),
	"list_monitors": planOf(func(a listMonitorsArgs) []Call {
		c := append(resolvePlan("/workspaces", a.Workspace), get("/monitors", false))
		if a.Status != nil && !*a.Status {
			return c
		}
		limit := a.Limit
		if limit == 0 {
			limit = 10
		}
		// The fan-out reads each listed monitor. How many there are is known only after the listing: the plan
		// takes the count of the last monitors page listed (any key, this process), or the page size before the
		// first one, and never more than the page size.
		n := limit
		if seen := int(lastMonitorPage.Load()); seen > 0 && a.Cursor == "" {
			n = min(seen, limit)
		}
		if n == 0 {
			return c
		}
		fan := get("/monitors/{id}", true)
		fan.N = n
		return append(c, fan)
	}),
	"get_monitor": planOf(func(a monitorArgs) []Call {
		return append(resolvePlan("/monitors", a.Monitor), get("/monitors/{id}", true))
	}),
	"list_mocks": planOf(func(a listMocksArgs) []Call {
		return append(resolvePlan("/workspaces", a.Workspace), get("/mocks", false))
	}),
}

// lastMonitorPage is how many monitors the last first page of list_monitors held (-1: none listed yet).
var lastMonitorPage atomic.Int64

func init() { lastMonitorPage.Store(-1) }

// noteMonitorPage remembers the size of a first monitors page for list_monitors' plan.
func noteMonitorPage(cursor string, n int) {
	if cursor == "" {
		lastMonitorPage.Store(int64(n))
	}
}

func planOf[A any](fn func(A) []Call) func(json.RawMessage) []Call {
	return func(raw json.RawMessage) []Call {
		a, err := decodeArgs[A](raw)
		if err != nil {
			return nil
		}
		return fn(a)
	}
}

func get(path string, shared bool) Call {
	return Call{Method: http.MethodGet, Path: path, Shared: shared}
}

// resolvePlan is what resolving a name of the kind listed at list costs: nothing for an empty query or an ID
// (reads take IDs as they are), else one cached listing.
func resolvePlan(list, query string) []Call {
	q := strings.TrimSpace(query)
	if q == "" || looksLikeID(q) {
		return nil
	}
	return []Call{get(list, true)}
}
