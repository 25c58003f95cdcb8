package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/pmops/pmops/internal/api"
)

type listCollectionsArgs struct {
	Workspace string `json:"workspace,omitempty" desc:"name or ID"`
	Name      string `json:"name,omitempty" desc:"exact collection name"`
	Limit     int    `json:"limit,omitempty" min:"1" max:"100" desc:"page size, default 50"`
	Cursor    string `json:"cursor,omitempty" desc:"from next_cursor"`
}

// CollectionRow is one listed collection.
type CollectionRow struct {
	Name      string `json:"name"`
	UID       string `json:"uid"`
	UpdatedAt string `json:"updated_at,omitempty"`
	ForkOf    string `json:"fork_of,omitempty"`
}

// CollectionList is a page of collections.
type CollectionList Page[CollectionRow]

func (l CollectionList) Text() string {
	var b strings.Builder
	b.WriteString(resolvedLine(l.Resolved))
	for _, c := range l.Items {
		fmt.Fprintf(&b, "%s  uid=%s", c.Name, c.UID)
		if c.ForkOf != "" {
			fmt.Fprintf(&b, "  (fork of %s)", c.ForkOf)
		}
		b.WriteByte('\n')
	}
	if len(l.Items) == 0 {
		b.WriteString("no collections\n")
	}
	b.WriteString(moreLine(Page[CollectionRow](l)))
	return b.String()
}

type getCollectionArgs struct {
	Collection string `json:"collection" desc:"name, ID or UID"`
	Request    string `json:"request,omitempty" desc:"one request in full: name, Folder/Name or ID"`
	Depth      int    `json:"depth,omitempty" min:"1" max:"20" desc:"folder levels to expand, default 4"`
	Limit      int    `json:"limit,omitempty" min:"1" max:"500" desc:"outline rows per page, default 100"`
	Cursor     string `json:"cursor,omitempty" desc:"from next_cursor"`
}

// OutlineRow is a folder or a request in a collection outline.
type OutlineRow struct {
	Path   string `json:"path,omitempty"`
	Name   string `json:"name"`
	Method string `json:"method,omitempty"`
	URL    string `json:"url,omitempty"`
	ID     string `json:"id,omitempty"`
	// Requests counts the requests below a folder that is not expanded (deeper than depth).
	Requests int  `json:"requests,omitempty"`
	Folder   bool `json:"folder,omitempty"`
}

// CollectionView is a collection's outline, or one of its requests in full.
type CollectionView struct {
	Name        string         `json:"name"`
	UID         string         `json:"uid"`
	Description string         `json:"description,omitempty"`
	Requests    int            `json:"requests"`
	Folders     int            `json:"folders"`
	Items       []OutlineRow   `json:"items,omitempty"`
	NextCursor  string         `json:"next_cursor,omitempty"`
	Request     *RequestDetail `json:"request,omitempty"`
	Resolved    string         `json:"resolved,omitempty" schema:"-"`
}

// RequestDetail is one request of a collection.
type RequestDetail struct {
	ID          string   `json:"id,omitempty"`
	Path        string   `json:"path"`
	Method      string   `json:"method"`
	URL         string   `json:"url"`
	Headers     []string `json:"headers,omitempty"`
	BodyMode    string   `json:"body_mode,omitempty"`
	Body        string   `json:"body,omitempty"`
	Auth        string   `json:"auth,omitempty"`
	Description string   `json:"description,omitempty"`
	Tests       []string `json:"tests,omitempty"`
}

func (v CollectionView) Text() string {
	var b strings.Builder
	b.WriteString(resolvedLine(v.Resolved))
	fmt.Fprintf(&b, "%s  uid=%s  (%s, %s)\n", v.Name, v.UID, plural(v.Requests, "request", "requests"), plural(v.Folders, "folder", "folders"))
	if r := v.Request; r != nil {
		fmt.Fprintf(&b, "%s\n%s %s\n", r.Path, r.Method, r.URL)
		for _, h := range r.Headers {
			fmt.Fprintf(&b, "  %s\n", h)
		}
		if r.Auth != "" {
			fmt.Fprintf(&b, "auth: %s\n", r.Auth)
		}
		if r.Body != "" {
			fmt.Fprintf(&b, "body (%s):\n%s\n", r.BodyMode, r.Body)
		}
		if r.Description != "" {
			fmt.Fprintf(&b, "description: %s\n", r.Description)
		}
		if len(r.Tests) > 0 {
			fmt.Fprintf(&b, "tests:\n  %s\n", strings.Join(r.Tests, "\n  "))
		}
		return b.String()
	}
	if v.Description != "" {
		fmt.Fprintf(&b, "%s\n", clip(v.Description, 300))
	}
	for _, r := range v.Items {
		indent := strings.Repeat("  ", strings.Count(r.Path, "/")+boolInt(r.Path != ""))
		switch {
		case r.Folder && r.Requests > 0:
			fmt.Fprintf(&b, "%s%s/ (%s, not expanded)\n", indent, r.Name, plural(r.Requests, "request", "requests"))
		case r.Folder:
			fmt.Fprintf(&b, "%s%s/\n", indent, r.Name)
		default:
			fmt.Fprintf(&b, "%s%-6s %s  %s\n", indent, r.Method, r.Name, r.URL)
		}
	}
	if v.NextCursor != "" {
		fmt.Fprintf(&b, "… more with cursor=%s\n", v.NextCursor)
	}
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

type createCollectionArgs struct {
	Workspace   string       `json:"workspace" desc:"name or ID"`
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Requests    []newRequest `json:"requests,omitempty"`
}

type newRequest struct {
	Name        string            `json:"name"`
	Method      string            `json:"method,omitempty" desc:"default GET"`
	URL         string            `json:"url"`
	Folder      string            `json:"folder,omitempty" desc:"e.g. Users/Admin"`
	Headers     map[string]string `json:"headers,omitempty"`
	Body        string            `json:"body,omitempty"`
	Description string            `json:"description,omitempty"`
}

type updateCollectionArgs struct {
	Collection  string            `json:"collection" desc:"name, ID or UID"`
	Name        string            `json:"name,omitempty"`
	Description *string           `json:"description,omitempty"`
	Variables   map[string]string `json:"variables,omitempty"`
	Unset       []string          `json:"unset_variables,omitempty"`
	AuthType    string            `json:"auth_type,omitempty" enum:"noauth,bearer,apikey,basic"`
	Auth        map[string]string `json:"auth,omitempty" desc:"token | key,value,in | username,password"`
}

type deleteCollectionArgs struct {
	Collection string `json:"collection" desc:"name, ID or UID"`
	Confirm    bool   `json:"confirm,omitempty" desc:"true deletes; else preview"`
}

// Change is the outcome of a write, or its preview when nothing was written.
type Change struct {
	Done    bool     `json:"done"`
	Action  string   `json:"action"`
	Name    string   `json:"name"`
	UID     string   `json:"uid,omitempty"`
	Details []string `json:"details,omitempty"`
}

func (c Change) Text() string {
	var b strings.Builder
	if c.Done {
		fmt.Fprintf(&b, "%s: %s", c.Action, c.Name)
	} else {
		fmt.Fprintf(&b, "PREVIEW (nothing changed) %s: %s", c.Action, c.Name)
	}
	if c.UID != "" {
		fmt.Fprintf(&b, " uid=%s", c.UID)
	}
	b.WriteByte('\n')
	for _, d := range c.Details {
		fmt.Fprintf(&b, "  %s\n", d)
	}
	return b.String()
}

func collectionTools() []*Tool {
	return []*Tool{
		define(Tool{
			Name: "list_collections", Title: "List collections", Toolset: ToolsetCollections,
			Description: "List collections, optionally in one workspace or with an exact name; get_collection shows the " +
				"requests inside.",
			Hints: Hints{ReadOnly: true, Idempotent: true, OpenWorld: true},
		}, listCollections),
		define(Tool{
			Name: "get_collection", Title: "Show a collection", Toolset: ToolsetCollections,
			Description: "Show a collection as an outline of folders and requests (method, URL), bounded by depth and limit " +
				"with a cursor; or, with request, one request in full (headers, body, auth, tests).",
			Hints: Hints{ReadOnly: true, Idempotent: true, OpenWorld: true},
		}, getCollection),
		define(Tool{
			Name: "create_collection", Title: "Create a collection", Toolset: ToolsetCollections,
			Description: "Create a collection from a simple list of requests (name, method, url, optional folder, headers, body).",
			Hints:       Hints{OpenWorld: true},
		}, createCollection),
		define(Tool{
			Name: "update_collection", Title: "Update a collection", Toolset: ToolsetCollections,
			Description: "Rename a collection, change its description, set or remove its variables, or replace its auth. " +
				"Only the parts given change.",
			Hints: Hints{Idempotent: true, OpenWorld: true},
		}, updateCollection),
		define(Tool{
			Name: "delete_collection", Title: "Delete a collection", Toolset: ToolsetCollections,
			Description: "Delete a collection for good; without confirm=true it only previews.",
			Hints:       Hints{Destructive: true, Idempotent: true, OpenWorld: true},
		}, deleteCollection),
		itemTools()[0],
	}
}

func listCollections(ctx context.Context, env *Env, args listCollectionsArgs) (CollectionList, error) {
	ws, err := resolveWorkspace(ctx, env, args.Workspace)
	if err != nil {
		return CollectionList{}, err
	}
	limit := args.Limit
	if limit == 0 {
		limit = 50
	}
	opts := api.ListCollectionsOptions{Workspace: ws, Name: args.Name, Limit: limit}
	if args.Name != "" {
		opts.Limit = 0
	}
	page, err := env.Client.ListCollectionsPage(ctx, opts, args.Cursor)
	if err != nil {
		return CollectionList{}, fmt.Errorf("list collections: %w", err)
	}
	out := CollectionList{Items: make([]CollectionRow, 0, len(page.Items)), NextCursor: page.Next}
	if page.Total != nil {
		out.Total = *page.Total
	}
	for _, c := range page.Items {
		row := CollectionRow{Name: c.Name, UID: c.UID}
		if !c.UpdatedAt.IsZero() {
			row.UpdatedAt = ts(c.UpdatedAt)
		}
		if c.Fork != nil {
			row.ForkOf = c.Fork.From
		}
		out.Items = append(out.Items, row)
	}
	return out, nil
}

// resolveCollection turns a collection name, ID or UID into its UID (see resolveCollectionRef).
func resolveCollection(ctx context.Context, env *Env, query string) (string, error) {
	r, err := resolveCollectionRef(ctx, env, query)
	return r.ID, err
}

// resolveCollectionRef resolves a collection in the call's mode (see Mode): a read given an ID costs nothing,
// an exact name one call, any other name one cached listing.
func resolveCollectionRef(ctx context.Context, env *Env, query string) (Resolved, error) {
	q := strings.TrimSpace(query)
	if looksLikeID(q) && ModeOf(ctx) == Forgiving {
		return Resolved{Kind: "collection", ID: q}, nil
	}
	if q == "" {
		return Resolved{}, Invalid("argument \"collection\" is required")
	}
	if !looksLikeID(q) {
		exact, err := env.Client.ListCollectionsPage(cached(ctx), api.ListCollectionsOptions{Name: q}, "")
		if err == nil && len(exact.Items) == 1 && strings.EqualFold(strings.TrimSpace(exact.Items[0].Name), q) {
			c := exact.Items[0]
			if c.Name != q {
				noteResolved(ctx, "collection", q, ref{Name: c.Name, ID: c.ID, UID: c.UID})
			}
			return Resolved{Kind: "collection", Name: c.Name, ID: firstNonEmpty(c.UID, c.ID)}, nil
		}
	}
	all, err := api.Collect(cached(ctx), env.Client.CollectionsPager(api.ListCollectionsOptions{}, "", api.Bound{PageSize: api.DefaultCollectionPage, MaxPages: 20}))
	if err != nil {
		if looksLikeID(q) {
			return Resolved{Kind: "collection", ID: q}, nil
		}
		return Resolved{}, fmt.Errorf("list collections to find %s: %w", EchoQ(q), err)
	}
	return resolveIn(ctx, "collection", q, all, func(c api.CollectionSummary) ref { return ref{Name: c.Name, ID: c.ID, UID: c.UID} })
}

func getCollection(ctx context.Context, env *Env, args getCollectionArgs) (CollectionView, error) {
	// A later outline page names its collection and snapshot in the cursor: no resolving, and no download while
	// the snapshot is cached.
	in := CursorIn(ctx)
	uid := in.Ref
	if uid == "" {
		r, err := resolveCollectionRef(ctx, env, args.Collection)
		if err != nil {
			return CollectionView{}, err
		}
		uid = r.ID
	}
	if args.Request != "" {
		return getCollectionRequest(ctx, env, uid, args.Request)
	}
	// The outline needs only names, methods and URLs: the fast decoder keeps a 4,000-request collection cheap.
	out, err := outlineSnapshot(ctx, env, uid, in.Version)
	if err != nil {
		return CollectionView{}, err
	}
	ref := uid
	if strings.EqualFold(strings.TrimSpace(args.Collection), uid) {
		ref = "" // the argument already names it
	}
	KeepInCursor(ctx, outlineVersion(out), ref)
	view := CollectionView{Name: out.Info.Name, UID: firstNonEmpty(out.Info.UID, uid), Description: clip(out.Info.Description.Text(), 500)}
	depth := args.Depth
	if depth == 0 {
		depth = 4
	}
	limit := args.Limit
	if limit == 0 {
		limit = 100
	}
	var rows []OutlineRow
	var walk func(items []api.OutlineItem, parents []string)
	walk = func(items []api.OutlineItem, parents []string) {
		for i := range items {
			it := &items[i]
			if it.IsFolder() {
				view.Folders++
			} else {
				view.Requests++
			}
			if len(parents) < depth {
				row := OutlineRow{Path: strings.Join(parents, "/"), Name: it.Name, ID: it.ID}
				if it.IsFolder() {
					row.Folder = true
					if len(parents)+1 >= depth {
						row.Requests = countOutlineRequests(it.Item)
					}
				} else if it.Request != nil {
					row.Method = firstNonEmpty(it.Request.Method, http.MethodGet)
					row.URL = clip(it.Request.URL, 160)
				}
				rows = append(rows, row)
			}
			if len(it.Item) > 0 {
				walk(it.Item, append(slices.Clip(parents), it.Name))
			}
		}
	}
	walk(out.Item, nil)
	page, err := localPage(rows, args.Cursor, limit)
	if err != nil {
		return CollectionView{}, err
	}
	view.Items, view.NextCursor = page.Items, page.NextCursor
	return view, nil
}

func countOutlineRequests(items []api.OutlineItem) int {
	n := 0
	for i := range items {
		if items[i].IsFolder() {
			n += countOutlineRequests(items[i].Item)
		} else {
			n++
		}
	}
	return n
}

// getCollectionRequest shows one request in full; it needs the whole document (headers, body, auth, tests).
func getCollectionRequest(ctx context.Context, env *Env, uid, query string) (CollectionView, error) {
	col, err := env.Client.GetCollection(ctx, uid, api.GetCollectionOptions{})
	if err != nil {
		return CollectionView{}, fmt.Errorf("get collection %s: %w", uid, err)
	}
	view := CollectionView{Name: col.Info.Name, UID: firstNonEmpty(col.Info.UID, uid), Description: clip(col.Info.Description.Text(), 500)}
	type entry struct {
		parents []string
		item    *api.Item
	}
	var reqs []entry
	_ = col.Walk(func(parents []string, it *api.Item) error {
		if it.IsFolder() {
			view.Folders++
			return nil
		}
		view.Requests++
		reqs = append(reqs, entry{parents: slices.Clone(parents), item: it})
		return nil
	})
	hit, err := matchFor(ctx, "request", query, reqs, func(e entry) ref {
		name := e.item.Name
		if p := strings.Join(e.parents, "/"); p != "" && strings.Contains(query, "/") {
			name = p + "/" + name
		}
		return ref{Name: name, ID: e.item.ID, UID: e.item.UID}
	})
	if err != nil {
		return CollectionView{}, err
	}
	view.Request = requestDetail(hit.parents, hit.item)
	return view, nil
}

const maxBodyShown = 4000

func requestDetail(parents []string, it *api.Item) *RequestDetail {
	d := &RequestDetail{ID: it.ID, Path: strings.Join(append(slices.Clone(parents), it.Name), "/")}
	if r := it.Request; r != nil {
		d.Method = firstNonEmpty(r.Method, http.MethodGet)
		d.URL = r.URL.String()
		for _, h := range r.Header {
			v := h.Value
			if looksSecret(h.Key, "", false) && !strings.HasPrefix(strings.TrimPrefix(v, "Bearer "), "{{") {
				v = masked
			}
			line := h.Key + ": " + v
			if h.Disabled {
				line += " (disabled)"
			}
			d.Headers = append(d.Headers, line)
		}
		if b := r.Body; b != nil {
			d.BodyMode = b.Mode
			d.Body = b.Raw
			if d.Body == "" && b.Mode != "" && b.Mode != "raw" {
				d.Body = string(bodyPart(b))
			}
			if len(d.Body) > maxBodyShown {
				d.Body = d.Body[:maxBodyShown] + fmt.Sprintf("\n[body truncated: %d of %d bytes]", maxBodyShown, len(d.Body))
			}
		}
		if r.Auth != nil {
			d.Auth = r.Auth.Type
		}
		d.Description = clip(r.Description.Text(), 1000)
	}
	if d.Description == "" {
		d.Description = clip(it.Description.Text(), 1000)
	}
	for _, ev := range it.Event {
		if ev.Listen == "test" && ev.Script != nil {
			for _, line := range ev.Script.Exec {
				if strings.TrimSpace(line) != "" && len(d.Tests) < 40 {
					d.Tests = append(d.Tests, line)
				}
			}
		}
	}
	return d
}

func bodyPart(b *api.Body) json.RawMessage {
	switch b.Mode {
	case "urlencoded":
		return b.URLEncoded
	case "formdata":
		return b.FormData
	case "graphql":
		return b.GraphQL
	case "file":
		return b.File
	}
	return nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func createCollection(ctx context.Context, env *Env, args createCollectionArgs) (Change, error) {
	wr, err := resolveWorkspaceRef(ctx, env, args.Workspace)
	if err != nil {
		return Change{}, err
	}
	ws := wr.ID
	col := &api.Collection{Info: api.Info{Name: args.Name, Schema: api.SchemaV21}}
	if args.Description != "" {
		col.Info.Description = api.NewDescription(args.Description)
	}
	for i, nr := range args.Requests {
		if strings.TrimSpace(nr.Name) == "" || strings.TrimSpace(nr.URL) == "" {
			return Change{}, Invalid(fmt.Sprintf("requests[%d] needs a name and a url", i))
		}
		item := api.Item{Name: nr.Name, Request: &api.Request{
			Method: strings.ToUpper(firstNonEmpty(nr.Method, http.MethodGet)),
			URL:    &api.URL{Raw: nr.URL},
		}}
		for _, k := range sortedKeys(nr.Headers) {
			item.Request.Header = append(item.Request.Header, api.Header{Key: k, Value: nr.Headers[k]})
		}
		if nr.Body != "" {
			item.Request.Body = &api.Body{Mode: "raw", Raw: nr.Body}
			if json.Valid([]byte(nr.Body)) {
				item.Request.Body.Options = json.RawMessage(`{"raw":{"language":"json"}}`)
			}
		}
		if nr.Description != "" {
			item.Request.Description = api.NewDescription(nr.Description)
		}
		insertItem(&col.Item, splitPath(nr.Folder), item)
	}
	ref, err := env.Client.CreateCollection(ctx, ws, col)
	if err != nil {
		return Change{}, fmt.Errorf("create collection %s: %w", EchoQ(args.Name), err)
	}
	return Change{Done: true, Action: "created collection", Name: Echo(firstNonEmpty(ref.Name, args.Name)), UID: ref.UID,
		Details: []string{"in workspace " + wr.label(), plural(len(args.Requests), "request", "requests"), "get_collection shows its outline"}}, nil
}

func splitPath(p string) []string {
	var out []string
	for part := range strings.SplitSeq(p, "/") {
		if s := strings.TrimSpace(part); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// insertItem puts item under the folder path, creating folders as needed.
func insertItem(items *[]api.Item, path []string, item api.Item) {
	if len(path) == 0 {
		*items = append(*items, item)
		return
	}
	for i := range *items {
		f := &(*items)[i]
		if f.IsFolder() && f.Name == path[0] {
			insertItem(&f.Item, path[1:], item)
			return
		}
	}
	*items = append(*items, api.Item{Name: path[0], Item: []api.Item{}})
	last := &(*items)[len(*items)-1]
	insertItem(&last.Item, path[1:], item)
}

func updateCollection(ctx context.Context, env *Env, args updateCollectionArgs) (Change, error) {
	r, err := resolveCollectionRef(ctx, env, args.Collection)
	if err != nil {
		return Change{}, err
	}
	uid := r.ID
	var patch api.CollectionPatch
	var details []string
	if args.Name != "" || args.Description != nil {
		patch.Info = &api.PatchInfo{Name: args.Name}
		if args.Name != "" {
			details = append(details, "name → "+Echo(args.Name))
		}
		if args.Description != nil {
			patch.Info.Description = *args.Description
			details = append(details, "description updated")
		}
	}
	if len(args.Variables) > 0 || len(args.Unset) > 0 {
		col, err := env.Client.GetCollection(ctx, uid, api.GetCollectionOptions{})
		if err != nil {
			return Change{}, fmt.Errorf("get collection %s: %w", uid, err)
		}
		if patch.Info != nil && patch.Info.Name == "" {
			patch.Info.Name = col.Info.Name
		}
		vars := slices.Clone(col.Variable)
		for _, k := range args.Unset {
			n := len(vars)
			vars = slices.DeleteFunc(vars, func(v api.Variable) bool { return v.Key == k })
			if n == len(vars) {
				return Change{}, &Error{Kind: KindNotFound, Message: fmt.Sprintf("collection %s has no variable %s", Echo(col.Info.Name), EchoQ(k)),
					Candidates: varCandidates(col.Variable, k), Hint: "unset only existing keys"}
			}
			details = append(details, "unset variable "+Echo(k))
		}
		for _, k := range sortedKeys(args.Variables) {
			i := slices.IndexFunc(vars, func(v api.Variable) bool { return v.Key == k })
			nv := api.NewVariable(k, args.Variables[k])
			if i >= 0 {
				vars[i].Value = nv.Value
				details = append(details, "set variable "+Echo(k))
			} else {
				vars = append(vars, nv)
				details = append(details, "add variable "+Echo(k))
			}
		}
		if vars == nil {
			vars = []api.Variable{}
		}
		patch.Variable = vars
	}
	if args.AuthType != "" {
		auth, err := buildAuth(args.AuthType, args.Auth)
		if err != nil {
			return Change{}, err
		}
		patch.Auth = auth
		details = append(details, "auth → "+args.AuthType)
	}
	if len(details) == 0 {
		return Change{}, Invalid("nothing to update: give name, description, variables, unset_variables or auth_type")
	}
	ref, err := env.Client.PatchCollection(ctx, uid, patch)
	if err != nil {
		return Change{}, fmt.Errorf("update collection %s: %w", uid, err)
	}
	return Change{Done: true, Action: "updated collection", Name: Echo(firstNonEmpty(ref.Name, r.Name, uid)), UID: uid, Details: details}, nil
}

func varCandidates(vars []api.Variable, key string) []Candidate {
	keys := make([]string, 0, len(vars))
	for _, v := range vars {
		keys = append(keys, v.Key)
	}
	var out []Candidate
	for _, k := range closest(key, keys, 3) {
		out = append(out, Candidate{Name: k})
	}
	return out
}

func buildAuth(typ string, attrs map[string]string) (*api.Auth, error) {
	a := &api.Auth{Type: typ}
	if typ == "noauth" {
		return a, nil
	}
	allowed := map[string][]string{"bearer": {"token"}, "apikey": {"key", "value", "in"}, "basic": {"username", "password"}}[typ]
	var list []api.AuthAttribute
	for _, k := range sortedKeys(attrs) {
		if !slices.Contains(allowed, k) {
			return nil, Invalid(fmt.Sprintf("auth attribute %s does not apply to %s auth; use %s", EchoQ(k), typ, strings.Join(allowed, ", ")))
		}
		v, _ := json.Marshal(attrs[k])
		list = append(list, api.AuthAttribute{Key: k, Value: v, Type: "string"})
	}
	if len(list) == 0 {
		return nil, Invalid(fmt.Sprintf("%s auth needs attributes: %s", typ, strings.Join(allowed, ", ")))
	}
	if err := a.SetAttributes(list); err != nil {
		return nil, fmt.Errorf("build auth: %w", err)
	}
	return a, nil
}

func deleteCollection(ctx context.Context, env *Env, args deleteCollectionArgs) (Change, error) {
	r, err := resolveCollectionRef(ctx, env, args.Collection)
	if err != nil {
		return Change{}, err
	}
	if !args.Confirm {
		col, err := env.Client.GetCollectionOutline(ctx, r.ID)
		if err != nil {
			return Change{}, fmt.Errorf("get collection %s: %w", r.ID, err)
		}
		reqs := countOutlineRequests(col.Item)
		return Change{Action: "delete collection", Name: Echo(col.Info.Name), UID: r.ID,
			Details: []string{fmt.Sprintf("would delete %s and everything in it; this cannot be undone", plural(reqs, "request", "requests")), "call again with confirm=true to delete"}}, nil
	}
	ref, err := env.Client.DeleteCollection(ctx, r.ID)
	if err != nil {
		return Change{}, fmt.Errorf("delete collection %s: %w", r.ID, err)
	}
	return Change{Done: true, Action: "deleted collection", Name: Echo(firstNonEmpty(r.Name, r.ID)), UID: firstNonEmpty(ref.UID, r.ID)}, nil
}
