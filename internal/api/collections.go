package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// CollectionSummary is an entry of GET /collections.
type CollectionSummary struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Owner is the owner's user ID, a string here (monitors send it as a number).
	Owner     string    `json:"owner"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	UID       string    `json:"uid"`
	Fork      *Fork     `json:"fork,omitempty"`
	IsPublic  bool      `json:"isPublic"`
}

// CollectionRef is what create, replace, patch and delete answer: the collection's identity. Patch answers
// id, name and description and no uid; delete answers id and uid.
type CollectionRef struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	UID         string `json:"uid,omitempty"`
	Description string `json:"description,omitempty"`
}

// ListCollectionsOptions filters GET /collections.
type ListCollectionsOptions struct {
	// Workspace is a workspace ID. An unknown one lists nothing (200, empty), not an error.
	Workspace string
	// Name keeps collections with exactly this name. The API does not page a name search: with Name set, no
	// limit/offset is sent and the single page is the whole result.
	Name string
	// Limit is the page size; 0 means DefaultCollectionPage.
	Limit int
}

// DefaultCollectionPage is the page size asked of GET /collections when none is given (the API has no
// documented maximum).
const DefaultCollectionPage = 100

// ListCollectionsPage calls GET /collections for the page at cursor ("" for the first page).
func (c *Client) ListCollectionsPage(ctx context.Context, opts ListCollectionsOptions, cursor string) (Page[CollectionSummary], error) {
	return c.listCollections(ctx, opts, cursor, opts.Limit)
}

// CollectionsPager walks GET /collections from cursor within b.
func (c *Client) CollectionsPager(opts ListCollectionsOptions, cursor string, b Bound) *Pager[CollectionSummary] {
	if b.PageSize == 0 {
		b.PageSize = opts.Limit
	}
	return NewPager(func(ctx context.Context, cursor string, limit int) (Page[CollectionSummary], error) {
		return c.listCollections(ctx, opts, cursor, limit)
	}, cursor, b)
}

func (c *Client) listCollections(ctx context.Context, opts ListCollectionsOptions, cursor string, limit int) (Page[CollectionSummary], error) {
	offset, err := offsetFromCursor(cursor)
	if err != nil {
		return Page[CollectionSummary]{}, fmt.Errorf("list collections: %w", err)
	}
	if limit <= 0 {
		limit = DefaultCollectionPage
	}
	q := url.Values{}
	setIf(q, "workspace", opts.Workspace)
	paged := opts.Name == ""
	if paged {
		q.Set("limit", strconv.Itoa(limit))
		q.Set("offset", strconv.Itoa(offset))
	} else {
		if offset > 0 {
			return Page[CollectionSummary]{}, errors.New("list collections: a name search is not paged; drop the cursor")
		}
		q.Set("name", opts.Name)
	}
	var env struct {
		Collections []CollectionSummary `json:"collections"`
		Meta        *struct {
			Total  *int `json:"total"`
			Offset *int `json:"offset"`
			Limit  *int `json:"limit"`
		} `json:"meta"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/collections", query: q}, &env); err != nil {
		return Page[CollectionSummary]{}, err
	}
	page := Page[CollectionSummary]{Items: env.Collections}
	// Without meta the answer is the whole (unpaginated) listing. With it, the next page starts after this one.
	if paged && env.Meta != nil && env.Meta.Total != nil {
		total := *env.Meta.Total
		page.Total = &total
		start := offset
		if env.Meta.Offset != nil {
			start = *env.Meta.Offset
		}
		if next := start + len(env.Collections); len(env.Collections) > 0 && next < total {
			page.Next = encodeCursor(listingCollections, strconv.Itoa(next))
		}
	}
	return page, nil
}

// GetCollectionOptions asks GET /collections/{id} for another form.
type GetCollectionOptions struct {
	// Minimal asks for model=minimal: info, variables, auth, events and the root-level request and folder UIDs.
	Minimal bool
	// AccessKey is a collection access key (PMAT-…), for reading a collection shared with one. It is sent as the
	// access_key query parameter and kept out of errors.
	AccessKey string
}

// GetCollection calls GET /collections/{id}. id may be an ID or a UID. A missing collection is an *Error for
// which IsNotFound holds, whether the API answers 404 or (as its spec files it) 400.
func (c *Client) GetCollection(ctx context.Context, id string, opts GetCollectionOptions) (*Collection, error) {
	p, err := pathID("collection", id)
	if err != nil {
		return nil, fmt.Errorf("get collection: %w", err)
	}
	q := url.Values{}
	if opts.Minimal {
		q.Set("model", "minimal")
	}
	setIf(q, "access_key", opts.AccessKey)
	var env struct {
		Collection *Collection `json:"collection"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/collections/" + p, query: q}, &env); err != nil {
		if opts.AccessKey != "" {
			var e *Error
			if errors.As(err, &e) {
				e.redact(opts.AccessKey)
			}
		}
		return nil, err
	}
	if env.Collection == nil {
		return nil, fmt.Errorf("GET /collections/%s: the answer has no collection object", p)
	}
	return env.Collection, nil
}

// CreateCollection calls POST /collections?workspace=… . The workspace is required here although the API
// would fall back to the oldest personal workspace: a collection created somewhere unexpected is worse than an
// error. An empty info.schema is filled with SchemaV21.
func (c *Client) CreateCollection(ctx context.Context, workspace string, col *Collection) (CollectionRef, error) {
	if workspace == "" {
		return CollectionRef{}, errors.New("create collection: no workspace given; pass the ID of the workspace to create it in")
	}
	if col == nil || col.Info.Name == "" {
		return CollectionRef{}, errors.New("create collection: the collection needs info.name")
	}
	body := withSchema(col)
	var env struct {
		Collection CollectionRef `json:"collection"`
	}
	err := c.call(ctx, request{method: http.MethodPost, path: "/collections", query: url.Values{"workspace": {workspace}},
		body: map[string]any{"collection": body}}, &env)
	return env.Collection, err
}

func withSchema(col *Collection) Collection {
	cp := *col
	if cp.Info.Schema == "" {
		cp.Info.Schema = SchemaV21
	}
	if cp.Item == nil {
		cp.Item = []Item{} // item is required, even when empty
	}
	return cp
}

// ReplaceOptions tunes PUT /collections/{id}.
type ReplaceOptions struct {
	// Async sends "Prefer: respond-async": the API answers 202 with a task to poll with GetCollectionUpdateTask.
	Async bool
}

// ReplaceResult is the answer of PUT /collections/{id}: Collection for a synchronous replace, Task for an
// asynchronous one.
type ReplaceResult struct {
	Collection *CollectionRef
	Task       *CollectionUpdateTask
}

// CollectionUpdateTask is an asynchronous collection update.
type CollectionUpdateTask struct {
	ID string `json:"id"`
	// Status is "in-progress", "successful" or "failed".
	Status string `json:"status"`
}

// Task statuses.
const (
	TaskInProgress = "in-progress"
	TaskSuccessful = "successful"
	TaskFailed     = "failed"
)

// Done reports whether the task has finished, well or badly.
func (t CollectionUpdateTask) Done() bool { return t.Status != TaskInProgress && t.Status != "" }

// ReplaceCollection calls PUT /collections/{id} with the whole document. Items keep their IDs; items without
// one are recreated with new IDs. When id is a plain ID and col.Info.UID is the matching UID, the UID is used in
// the path. A 409 (IsConflict) means another deep update of the collection is still running.
func (c *Client) ReplaceCollection(ctx context.Context, id string, col *Collection, opts ReplaceOptions) (ReplaceResult, error) {
	if col == nil {
		return ReplaceResult{}, errors.New("replace collection: no collection given")
	}
	if owner, plain, ok := SplitUID(col.Info.UID); ok && plain == id {
		id = UID(owner, plain)
	}
	p, err := pathID("collection", id)
	if err != nil {
		return ReplaceResult{}, fmt.Errorf("replace collection: %w", err)
	}
	r := request{method: http.MethodPut, path: "/collections/" + p, body: map[string]any{"collection": withSchema(col)}}
	if opts.Async {
		r.header = http.Header{"Prefer": {"respond-async"}}
		// Each async PUT starts a task; a second one while the first runs is a 409, so it is not resent.
		r.idem = ptrTo(false)
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return ReplaceResult{}, err
	}
	var env struct {
		Collection *CollectionRef        `json:"collection"`
		Task       *CollectionUpdateTask `json:"task"`
	}
	if err := decode(r, resp, &env); err != nil {
		return ReplaceResult{}, err
	}
	if env.Collection == nil && env.Task == nil {
		return ReplaceResult{}, fmt.Errorf("PUT %s: the %d answer has neither collection nor task", r.path, resp.status)
	}
	return ReplaceResult{Collection: env.Collection, Task: env.Task}, nil
}

// GetCollectionUpdateTask calls GET /collection-updates-tasks/{taskId}.
func (c *Client) GetCollectionUpdateTask(ctx context.Context, taskID string) (CollectionUpdateTask, error) {
	p, err := pathID("task", taskID)
	if err != nil {
		return CollectionUpdateTask{}, fmt.Errorf("get collection update task: %w", err)
	}
	r := request{method: http.MethodGet, path: "/collection-updates-tasks/" + p}
	resp, err := c.do(ctx, r)
	if err != nil {
		return CollectionUpdateTask{}, err
	}
	// The documented answer is the bare task; a {"task": …} wrapper (as PUT uses) is read as well.
	var env struct {
		CollectionUpdateTask
		Task *CollectionUpdateTask `json:"task"`
	}
	if err := decode(r, resp, &env); err != nil {
		return CollectionUpdateTask{}, err
	}
	if env.Task != nil {
		return *env.Task, nil
	}
	return env.CollectionUpdateTask, nil
}

// CollectionPatch is the body of PATCH /collections/{id}: at least one part must be set. Secret variables
// cannot be set this way.
type CollectionPatch struct {
	Info     *PatchInfo `json:"info,omitempty"`
	Variable []Variable `json:"variable,omitempty"`
	Auth     *Auth      `json:"auth,omitempty"`
	// Events is spelled with an s here, unlike in the document. Each script needs an id chosen by the caller.
	Events []Event `json:"events,omitempty"`
}

// PatchInfo renames or redescribes a collection.
type PatchInfo struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// PatchCollection calls PATCH /collections/{id}. The answer has id, name and description, no uid.
func (c *Client) PatchCollection(ctx context.Context, id string, patch CollectionPatch) (CollectionRef, error) {
	if patch.Info == nil && patch.Variable == nil && patch.Auth == nil && patch.Events == nil {
		return CollectionRef{}, errors.New("patch collection: nothing to change; set info, variable, auth or events")
	}
	p, err := pathID("collection", id)
	if err != nil {
		return CollectionRef{}, fmt.Errorf("patch collection: %w", err)
	}
	var env struct {
		Collection CollectionRef `json:"collection"`
	}
	err = c.call(ctx, request{method: http.MethodPatch, path: "/collections/" + p, body: map[string]any{"collection": patch}, idem: ptrTo(true)}, &env)
	return env.Collection, err
}

// DeleteCollection calls DELETE /collections/{id}. The answer has id and uid.
func (c *Client) DeleteCollection(ctx context.Context, id string) (CollectionRef, error) {
	p, err := pathID("collection", id)
	if err != nil {
		return CollectionRef{}, fmt.Errorf("delete collection: %w", err)
	}
	var env struct {
		Collection CollectionRef `json:"collection"`
	}
	err = c.call(ctx, request{method: http.MethodDelete, path: "/collections/" + p}, &env)
	return env.Collection, err
}

// compile-time check that the document round-trips through encoding/json.
var _ json.Marshaler = Collection{}
