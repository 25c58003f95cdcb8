package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/lazyre"
)

// edit_collection_item is one tool for every change inside a collection: add, update, move or delete a request, a
// folder or a saved example. One tool with an action and a kind costs a fraction of the twelve endpoint-shaped
// tools Postman's server lists for the same work, and states the rules once.

type editItemArgs struct {
	Collection string            `json:"collection" desc:"name, ID or UID"`
	Action     string            `json:"action" enum:"add,update,move,delete"`
	Kind       string            `json:"kind" enum:"request,folder,example"`
	Item       string            `json:"item,omitempty" desc:"name, Folder/Name or ID"`
	Parent     string            `json:"parent,omitempty" desc:"target folder (an example's: request); none=root"`
	Name       string            `json:"name,omitempty"`
	Method     string            `json:"method,omitempty"`
	URL        string            `json:"url,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	Query      map[string]string `json:"query,omitempty"`
	Body       *string           `json:"body,omitempty"`
	Auth       map[string]string `json:"auth,omitempty" desc:"type=bearer|apikey|basic|noauth|inherit + fields"`
	Tests      *string           `json:"tests,omitempty"`
	PreRequest *string           `json:"prerequest,omitempty"`
	Status     int               `json:"status,omitempty" desc:"example HTTP code"`
	Confirm    bool              `json:"confirm,omitempty"`
}

// NamedRef names a resource by its name and ID.
type NamedRef struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// label renders the ref; names in a NamedRef are already clipped (Echo).
func (r NamedRef) label() string {
	if r.ID == "" {
		return r.Name
	}
	return fmt.Sprintf("%s (%s)", r.Name, r.ID)
}

// ItemChange is the outcome of edit_collection_item, or its preview when nothing was written.
type ItemChange struct {
	Done       bool      `json:"done"`
	Action     string    `json:"action"`
	Collection NamedRef  `json:"collection"`
	Item       NamedRef  `json:"item"`
	Folder     *NamedRef `json:"folder,omitempty"`
	Diff       []string  `json:"diff"`
	Notes      []string  `json:"notes,omitempty" schema:"-"`
}

func (c ItemChange) Text() string {
	var b strings.Builder
	if !c.Done {
		b.WriteString("PREVIEW (nothing changed) ")
	}
	fmt.Fprintf(&b, "%s %s in %s", c.Action, c.Item.label(), c.Collection.label())
	if c.Folder != nil {
		where := "folder"
		if strings.HasSuffix(c.Action, "example") {
			where = "request"
		}
		fmt.Fprintf(&b, ", %s %s", where, c.Folder.label())
	}
	b.WriteByte('\n')
	for _, d := range c.Diff {
		fmt.Fprintf(&b, "  %s\n", d)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "%s\n", n)
	}
	return b.String()
}

func itemTools() []*Tool {
	return []*Tool{define(Tool{
		Name: "edit_collection_item", Title: "Edit collection items", Toolset: ToolsetCollections,
		Description: "Add, update, move or delete a request, folder or saved example. update sets only given fields " +
			"(headers/query merge, \"\" removes); all but add preview a diff unless confirm=true.",
		Hints: Hints{Destructive: true, OpenWorld: true},
	}, editCollectionItem)}
}

// node is a request, folder or example found in a collection document.
type node struct {
	kind    string // request, folder, example
	id      string
	name    string
	path    []string // names of the folders (and, for an example, the request) above it
	parent  string   // the holding folder's ID (requests, folders) or request's ID (examples); "" at the root
	item    *api.Item
	folders []string // IDs of the folders above it, outermost first (requests, folders)
}

func (n node) ref() NamedRef { return NamedRef{Name: Echo(n.name), ID: n.id} }

func (n node) fullPath() string { return strings.Join(append(slices.Clone(n.path), n.name), "/") }

func collectNodes(items []api.Item, path, folders []string, out *[]node) {
	for i := range items {
		it := &items[i]
		parent := ""
		if len(folders) > 0 {
			parent = folders[len(folders)-1]
		}
		if it.IsFolder() {
			*out = append(*out, node{kind: "folder", id: it.ID, name: it.Name, path: path, parent: parent, item: it, folders: folders})
			collectNodes(it.Item, append(slices.Clip(path), it.Name), append(slices.Clip(folders), it.ID), out)
			continue
		}
		*out = append(*out, node{kind: "request", id: it.ID, name: it.Name, path: path, parent: parent, item: it, folders: folders})
		for _, raw := range it.Response {
			var r struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			}
			if json.Unmarshal(raw, &r) == nil {
				*out = append(*out, node{kind: "example", id: r.ID, name: r.Name, path: append(slices.Clip(path), it.Name), parent: it.ID})
			}
		}
	}
}

// itemScope is one collection's items, fetched once per call.
type itemScope struct {
	col   Resolved
	nodes []node
}

func (s *itemScope) colRef() NamedRef { return NamedRef{Name: Echo(s.col.Name), ID: s.col.ID} }

// find resolves a name, Folder/Name path or ID among the items of one kind, exactly (writes never guess).
func (s *itemScope) find(ctx context.Context, kind, query string) (node, error) {
	var of []node
	for _, n := range s.nodes {
		if n.kind == kind {
			of = append(of, n)
		}
	}
	byPath := strings.Contains(query, "/")
	n, err := matchFor(ctx, kind, query, of, func(n node) ref {
		name := n.name
		if byPath {
			name = n.fullPath()
		}
		return ref{Name: name, ID: n.id}
	})
	if te, ok := AsError(err); ok {
		te.Message += " in collection " + s.col.label()
		// Items share names across folders ("Happy path" in every resource): show where each one is.
		for i, c := range te.Candidates {
			if k := slices.IndexFunc(of, func(n node) bool { return n.id == c.ID }); k >= 0 {
				te.Candidates[i].Name = Echo(of[k].fullPath())
			}
		}
		if te.Kind == KindAmbiguous {
			te.Hint = "pass the Folder/Name path or the ID of the one you mean; nothing was changed"
		}
		if te.Kind == KindNotFound && len(te.Candidates) == 0 || te.Kind == KindNotFound && !strings.Contains(te.Hint, "nothing was changed") {
			te.Hint = "use a whole name, Folder/Name or an ID; get_collection lists the items; nothing was changed"
		}
	}
	return n, err
}

func editCollectionItem(ctx context.Context, env *Env, a editItemArgs) (ItemChange, error) {
	if err := checkItemArgs(a); err != nil {
		return ItemChange{}, err
	}
	col, err := resolveCollectionRef(ctx, env, a.Collection)
	if err != nil {
		return ItemChange{}, err
	}
	doc, err := env.Client.GetCollection(ctx, col.ID, api.GetCollectionOptions{})
	if err != nil {
		return ItemChange{}, fmt.Errorf("get collection %s: %w", col.label(), err)
	}
	col.Name = firstNonEmpty(col.Name, doc.Info.Name)
	s := &itemScope{col: col}
	collectNodes(doc.Item, nil, nil, &s.nodes)
	switch a.Action {
	case "add":
		return s.add(ctx, env, a)
	case "update":
		return s.update(ctx, env, a)
	case "move":
		return s.move(ctx, env, a)
	default:
		return s.remove(ctx, env, a)
	}
}

// checkItemArgs refuses arguments that do not apply, so nothing is silently ignored.
func checkItemArgs(a editItemArgs) error {
	content := map[string]bool{"name": a.Name != "", "method": a.Method != "", "url": a.URL != "", "headers": len(a.Headers) > 0,
		"query": len(a.Query) > 0, "body": a.Body != nil, "auth": len(a.Auth) > 0, "tests": a.Tests != nil,
		"prerequest": a.PreRequest != nil, "status": a.Status != 0}
	allowed := map[string][]string{
		"request": {"name", "method", "url", "headers", "query", "body", "auth", "tests", "prerequest"},
		"folder":  {"name", "auth", "tests", "prerequest"},
		"example": {"name", "headers", "body", "status"},
	}[a.Kind]
	var bad []string
	for _, k := range sortedKeys(content) {
		if content[k] && (a.Action == "move" || a.Action == "delete" || !slices.Contains(allowed, k)) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		return Invalid(fmt.Sprintf("%s does not apply to %s %s; a %s takes %s", strings.Join(bad, ", "), a.Action, a.Kind, a.Kind, strings.Join(allowed, ", ")))
	}
	if a.Action != "add" && strings.TrimSpace(a.Item) == "" {
		return Invalid(fmt.Sprintf("%s needs item: the %s's name, Folder/Name or ID", a.Action, a.Kind))
	}
	if a.Action == "add" && a.Item != "" {
		return Invalid("add takes no item; give name (and parent for where)")
	}
	if a.Parent != "" && a.Action != "add" && a.Action != "move" {
		return Invalid("parent places an item on add or move only; to move it use action=move")
	}
	if a.Kind == "example" && (a.Action == "add" || a.Action == "move") && strings.TrimSpace(a.Parent) == "" {
		return Invalid(fmt.Sprintf("%s example needs parent: the request it belongs to", a.Action))
	}
	if a.Action == "add" && strings.TrimSpace(a.Name) == "" {
		return Invalid(fmt.Sprintf("add %s needs a name", a.Kind))
	}
	if a.Action == "add" && a.Kind == "request" && strings.TrimSpace(a.URL) == "" {
		return Invalid("add request needs a url")
	}
	if a.Status != 0 && (a.Status < 100 || a.Status > 599) {
		return Invalid(fmt.Sprintf("status %d is not an HTTP status code (100-599)", a.Status))
	}
	if a.Method != "" && !slices.Contains(itemMethods, strings.ToUpper(a.Method)) {
		return Invalid(fmt.Sprintf("method %s is not one of %s", EchoQ(a.Method), strings.Join(itemMethods, ", ")))
	}
	return nil
}

var itemMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "COPY", "HEAD", "OPTIONS", "LINK", "UNLINK", "PURGE", "LOCK", "UNLOCK", "PROPFIND", "VIEW"}

// placement resolves the folder a request or folder goes into ("" is the root).
func (s *itemScope) placement(ctx context.Context, query string) (*node, error) {
	if strings.TrimSpace(query) == "" {
		return nil, nil
	}
	f, err := s.find(ctx, "folder", query)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

func placeRef(f *node) *NamedRef {
	if f == nil {
		return &NamedRef{Name: "(root)"}
	}
	r := f.ref()
	r.Name = Echo(f.fullPath())
	return &r
}

func (s *itemScope) add(ctx context.Context, env *Env, a editItemArgs) (ItemChange, error) {
	out := ItemChange{Done: true, Action: "added " + a.Kind, Collection: s.colRef()}
	switch a.Kind {
	case "request":
		f, err := s.placement(ctx, a.Parent)
		if err != nil {
			return ItemChange{}, err
		}
		in, err := requestPatch(api.CollectionRequest{}, a)
		if err != nil {
			return ItemChange{}, err
		}
		var opts api.CreateRequestOptions
		if f != nil {
			opts.FolderID = f.id
		}
		res, err := env.Client.CreateCollectionRequest(ctx, s.col.ID, in, opts)
		if err != nil {
			return ItemChange{}, fmt.Errorf("add request %s to %s: %w", EchoQ(a.Name), s.col.label(), err)
		}
		out.Item, out.Folder = NamedRef{Name: Echo(a.Name), ID: firstNonEmpty(res.Data.ID, res.ModelID)}, placeRef(f)
		out.Diff = diffFacets(nil, requestFacets(in))
	case "folder":
		f, err := s.placement(ctx, a.Parent)
		if err != nil {
			return ItemChange{}, err
		}
		in, err := folderPatch(api.CollectionFolder{}, a)
		if err != nil {
			return ItemChange{}, err
		}
		if f != nil {
			in.Folder = &f.id
		}
		res, err := env.Client.CreateCollectionFolder(ctx, s.col.ID, in)
		if err != nil {
			return ItemChange{}, fmt.Errorf("add folder %s to %s: %w", EchoQ(a.Name), s.col.label(), err)
		}
		out.Item, out.Folder = NamedRef{Name: Echo(a.Name), ID: firstNonEmpty(res.Data.ID, res.ModelID)}, placeRef(f)
		out.Diff = diffFacets(nil, folderFacets(in))
	case "example":
		r, err := s.find(ctx, "request", a.Parent)
		if err != nil {
			return ItemChange{}, err
		}
		in := examplePatch(api.CollectionResponse{}, a)
		if in.ResponseCode == nil {
			in.ResponseCode = &api.ResponseCode{Code: http.StatusOK, Name: http.StatusText(http.StatusOK)}
		}
		res, err := env.Client.CreateCollectionResponse(ctx, s.col.ID, r.id, in)
		if err != nil {
			return ItemChange{}, fmt.Errorf("add example %s to %s: %w", EchoQ(a.Name), s.col.label(), err)
		}
		out.Item = NamedRef{Name: Echo(a.Name), ID: firstNonEmpty(res.Data.ID, res.ModelID)}
		rr := r.ref()
		rr.Name = Echo(r.fullPath())
		out.Folder = &rr
		out.Diff = diffFacets(nil, exampleFacets(in))
	}
	return out, nil
}

func (s *itemScope) update(ctx context.Context, env *Env, a editItemArgs) (ItemChange, error) {
	n, err := s.find(ctx, a.Kind, a.Item)
	if err != nil {
		return ItemChange{}, err
	}
	out := ItemChange{Action: "update " + a.Kind, Collection: s.colRef(), Item: n.ref(), Folder: s.parentOf(n)}
	var apply func() error
	switch a.Kind {
	case "request":
		cur, err := env.Client.GetCollectionRequest(ctx, s.col.ID, n.id, api.GetItemOptions{})
		if err != nil {
			return ItemChange{}, fmt.Errorf("get request %s: %w", n.ref().label(), err)
		}
		patch, err := requestPatch(cur.Data, a)
		if err != nil {
			return ItemChange{}, err
		}
		out.Diff = diffFacets(requestFacets(cur.Data), requestFacets(overlayRequest(cur.Data, patch)))
		apply = func() error {
			_, err := env.Client.UpdateCollectionRequest(ctx, s.col.ID, n.id, patch)
			return err
		}
	case "folder":
		cur, err := env.Client.GetCollectionFolder(ctx, s.col.ID, n.id, api.GetItemOptions{})
		if err != nil {
			return ItemChange{}, fmt.Errorf("get folder %s: %w", n.ref().label(), err)
		}
		patch, err := folderPatch(cur.Data, a)
		if err != nil {
			return ItemChange{}, err
		}
		out.Diff = diffFacets(folderFacets(cur.Data), folderFacets(overlayFolder(cur.Data, patch)))
		apply = func() error {
			_, err := env.Client.UpdateCollectionFolder(ctx, s.col.ID, n.id, patch)
			return err
		}
	case "example":
		cur, err := env.Client.GetCollectionResponse(ctx, s.col.ID, n.id, api.GetItemOptions{})
		if err != nil {
			return ItemChange{}, fmt.Errorf("get example %s: %w", n.ref().label(), err)
		}
		patch := examplePatch(cur.Data, a)
		out.Diff = diffFacets(exampleFacets(cur.Data), exampleFacets(overlayExample(cur.Data, patch)))
		apply = func() error {
			_, err := env.Client.UpdateCollectionResponse(ctx, s.col.ID, n.id, patch)
			return err
		}
	}
	if len(out.Diff) == 0 {
		return ItemChange{}, Invalid(fmt.Sprintf("nothing to update: %s %s already has these values (or none were given)", a.Kind, n.ref().label()))
	}
	if !a.Confirm {
		out.Notes = []string{"call again with confirm=true to apply"}
		return out, nil
	}
	if err := apply(); err != nil {
		return ItemChange{}, fmt.Errorf("update %s %s: %w", a.Kind, n.ref().label(), err)
	}
	out.Done, out.Action = true, "updated "+a.Kind
	return out, nil
}

func (s *itemScope) remove(ctx context.Context, env *Env, a editItemArgs) (ItemChange, error) {
	n, err := s.find(ctx, a.Kind, a.Item)
	if err != nil {
		return ItemChange{}, err
	}
	out := ItemChange{Action: "delete " + a.Kind, Collection: s.colRef(), Item: n.ref(), Folder: s.parentOf(n), Diff: s.removal(n)}
	if !a.Confirm {
		out.Notes = append(out.Notes, "this cannot be undone; call again with confirm=true to delete")
		return out, nil
	}
	switch a.Kind {
	case "request":
		_, err = env.Client.DeleteCollectionRequest(ctx, s.col.ID, n.id)
	case "folder":
		_, err = env.Client.DeleteCollectionFolder(ctx, s.col.ID, n.id)
	default:
		_, err = env.Client.DeleteCollectionResponse(ctx, s.col.ID, n.id)
	}
	if err != nil {
		return ItemChange{}, fmt.Errorf("delete %s %s: %w", a.Kind, n.ref().label(), err)
	}
	out.Done, out.Action, out.Notes = true, "deleted "+a.Kind, nil
	return out, nil
}

// parentOf names where n is: its folder by path and ID, (root), or an example's request.
func (s *itemScope) parentOf(n node) *NamedRef {
	for _, m := range s.nodes {
		if m.id == n.parent && m.kind != "example" && (m.kind == "request") == (n.kind == "example") {
			return &NamedRef{Name: Echo(m.fullPath()), ID: m.id}
		}
	}
	return placeRef(nil)
}

// removal lists what deleting n takes away, as "-" diff lines.
func (s *itemScope) removal(n node) []string {
	switch n.kind {
	case "request":
		d := []string{"- " + n.name + ": " + requestLine(n.item)}
		if k := len(n.item.Response); k > 0 {
			d = append(d, "- "+plural(k, "saved example", "saved examples"))
		}
		return d
	case "folder":
		reqs, folders, examples := s.contents(n.id)
		return []string{fmt.Sprintf("- folder %s with %s, %s and %s", n.fullPath(), plural(reqs, "request", "requests"),
			plural(folders, "sub-folder", "sub-folders"), plural(examples, "saved example", "saved examples"))}
	}
	return []string{"- example " + n.fullPath()}
}

// contents counts what lies below a folder.
func (s *itemScope) contents(folderID string) (reqs, folders, examples int) {
	for _, m := range s.nodes {
		if m.kind == "example" || !slices.Contains(m.folders, folderID) {
			continue
		}
		if m.kind == "folder" {
			folders++
		} else {
			reqs++
			examples += len(m.item.Response)
		}
	}
	return reqs, folders, examples
}

func requestLine(it *api.Item) string {
	if it == nil || it.Request == nil {
		return "GET"
	}
	return firstNonEmpty(it.Request.Method, http.MethodGet) + " " + maskURL(it.Request.URL.String())
}

// ---- building item-model bodies from the arguments ----

// requestPatch builds the update (or create) body: only the fields the arguments change, with headers and query
// merged into cur's and a script replacing only its own event.
func requestPatch(cur api.CollectionRequest, a editItemArgs) (api.CollectionRequest, error) {
	var p api.CollectionRequest
	if a.Name != "" {
		p.Name = a.Name
	}
	if a.Method != "" || cur.Method == "" {
		p.Method = strings.ToUpper(firstNonEmpty(a.Method, cur.Method, http.MethodGet))
	}
	if a.URL != "" {
		p.URL = &a.URL
	}
	if len(a.Headers) > 0 {
		p.HeaderData = mergeParams(cur.HeaderData, a.Headers)
	}
	if len(a.Query) > 0 {
		u := deref(cur.URL)
		if p.URL != nil {
			u = *p.URL
		}
		base, qs, _ := strings.Cut(u, "?")
		var old []api.ItemParam
		if p.URL != nil || len(cur.QueryParams) == 0 {
			old = parseQuery(qs)
		} else {
			old = cur.QueryParams
		}
		p.QueryParams = mergeParams(old, a.Query)
		full := base + queryString(p.QueryParams)
		p.URL = &full
	}
	if a.Body != nil {
		p.DataMode = "raw"
		p.RawModeData = a.Body
		lang := "text"
		if json.Valid([]byte(*a.Body)) {
			lang = "json"
		}
		p.DataOptions = json.RawMessage(`{"raw":{"language":"` + lang + `"}}`)
	}
	if len(a.Auth) > 0 {
		auth, err := itemAuth(a.Auth)
		if err != nil {
			return p, err
		}
		p.Auth = auth
	}
	if a.Tests != nil || a.PreRequest != nil {
		p.Events = withScripts(cur.Events, a.Tests, a.PreRequest)
	}
	return p, nil
}

func folderPatch(cur api.CollectionFolder, a editItemArgs) (api.CollectionFolder, error) {
	var p api.CollectionFolder
	p.Name = a.Name
	if len(a.Auth) > 0 {
		auth, err := itemAuth(a.Auth)
		if err != nil {
			return p, err
		}
		p.Auth = auth
	}
	if a.Tests != nil || a.PreRequest != nil {
		p.Events = withScripts(cur.Events, a.Tests, a.PreRequest)
	}
	return p, nil
}

func examplePatch(cur api.CollectionResponse, a editItemArgs) api.CollectionResponse {
	var p api.CollectionResponse
	p.Name = a.Name
	if a.Status != 0 {
		p.ResponseCode = &api.ResponseCode{Code: a.Status, Name: http.StatusText(a.Status)}
		st := http.StatusText(a.Status)
		p.Status = &st
	}
	if len(a.Headers) > 0 {
		p.Headers = mergeParams(cur.Headers, a.Headers)
	}
	if a.Body != nil {
		p.Text = a.Body
		if json.Valid([]byte(*a.Body)) {
			p.Language = "json"
		}
	}
	return p
}

// itemAuth builds an auth object from {type, attributes…}; type inherit removes the item's own auth.
func itemAuth(m map[string]string) (json.RawMessage, error) {
	typ := strings.TrimSpace(m["type"])
	attrs := map[string]string{}
	for k, v := range m {
		if k != "type" {
			attrs[k] = v
		}
	}
	if typ == "inherit" {
		if len(attrs) > 0 {
			return nil, Invalid("auth type inherit takes no other fields")
		}
		return json.RawMessage("null"), nil
	}
	allowed, ok := map[string][]string{"bearer": {"token"}, "apikey": {"key", "value", "in"}, "basic": {"username", "password"}, "noauth": {}}[typ]
	if !ok {
		return nil, Invalid(fmt.Sprintf("auth needs type: bearer, apikey, basic, noauth or inherit (got %s)", EchoQ(typ)))
	}
	for _, k := range sortedKeys(attrs) {
		if !slices.Contains(allowed, k) {
			return nil, Invalid(fmt.Sprintf("auth field %s does not apply to %s auth; use %s", EchoQ(k), typ, strings.Join(allowed, ", ")))
		}
	}
	if typ != "noauth" && len(attrs) == 0 {
		return nil, Invalid(fmt.Sprintf("%s auth needs %s", typ, strings.Join(allowed, ", ")))
	}
	return api.NewAuth(typ, attrs), nil
}

// withScripts replaces the test and/or pre-request script in events, keeping every other event; "" removes one.
func withScripts(events []api.Event, tests, pre *string) []api.Event {
	out := []api.Event{}
	for _, ev := range events {
		if (ev.Listen == "test" && tests != nil) || (ev.Listen == "prerequest" && pre != nil) {
			continue
		}
		out = append(out, ev)
	}
	for _, s := range []struct {
		listen string
		src    *string
	}{{"prerequest", pre}, {"test", tests}} {
		if s.src != nil && strings.TrimSpace(*s.src) != "" {
			out = append(out, api.Event{Listen: s.listen, Script: &api.Script{Type: "text/javascript", Exec: strings.Split(*s.src, "\n")}})
		}
	}
	return out
}

func mergeParams(cur []api.ItemParam, set map[string]string) []api.ItemParam {
	out := []api.ItemParam{}
	seen := map[string]bool{}
	for _, p := range cur {
		v, has := set[p.Key]
		switch {
		case !has:
			out = append(out, p)
		case v != "":
			p.Value = v
			out = append(out, p)
		}
		seen[p.Key] = true
	}
	for _, k := range sortedKeys(set) {
		if !seen[k] && set[k] != "" {
			out = append(out, api.ItemParam{Key: k, Value: set[k]})
		}
	}
	return out
}

func parseQuery(qs string) []api.ItemParam {
	var out []api.ItemParam
	for kv := range strings.SplitSeq(qs, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, api.ItemParam{Key: k, Value: v})
	}
	return out
}

func queryString(ps []api.ItemParam) string {
	var parts []string
	for _, p := range ps {
		if p.Enabled == nil || *p.Enabled {
			parts = append(parts, p.Key+"="+p.Value)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "?" + strings.Join(parts, "&")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// overlay* apply a patch to a current item the way the PUT endpoints do (fields sent replace, others stay), for
// the preview's "after".
func overlayRequest(cur, p api.CollectionRequest) api.CollectionRequest {
	out := cur
	if p.Name != "" {
		out.Name = p.Name
	}
	if p.Method != "" {
		out.Method = p.Method
	}
	if p.URL != nil {
		out.URL = p.URL
	}
	if p.HeaderData != nil {
		out.HeaderData = p.HeaderData
	}
	if p.DataMode != "" {
		out.DataMode, out.RawModeData = p.DataMode, p.RawModeData
	}
	if p.Auth != nil {
		out.Auth = p.Auth
	}
	if p.Description != nil {
		out.Description = p.Description
	}
	if p.Events != nil {
		out.Events = p.Events
	}
	return out
}

func overlayFolder(cur, p api.CollectionFolder) api.CollectionFolder {
	out := cur
	if p.Name != "" {
		out.Name = p.Name
	}
	if p.Description != nil {
		out.Description = p.Description
	}
	if p.Auth != nil {
		out.Auth = p.Auth
	}
	if p.Events != nil {
		out.Events = p.Events
	}
	return out
}

func overlayExample(cur, p api.CollectionResponse) api.CollectionResponse {
	out := cur
	if p.Name != "" {
		out.Name = p.Name
	}
	if p.Description != nil {
		out.Description = p.Description
	}
	if p.ResponseCode != nil {
		out.ResponseCode = p.ResponseCode
	}
	if p.Headers != nil {
		out.Headers = p.Headers
	}
	if p.Text != nil {
		out.Text = p.Text
	}
	return out
}

// ---- diffs with secrets masked ----

// facet is one shown aspect of an item: "url" → "GET https://…". Scripts give one facet per line.
type facet struct{ key, val string }

func requestFacets(r api.CollectionRequest) []facet {
	fs := []facet{{"name", Echo(r.Name)}, {"method", firstNonEmpty(r.Method, http.MethodGet)}, {"url", maskURL(deref(r.URL))}}
	for _, h := range r.HeaderData {
		fs = append(fs, facet{"header " + h.Key, maskParam(h.Key, h.Value)})
	}
	if r.DataMode != "" {
		fs = append(fs, facet{"body", r.DataMode + " " + maskBody(deref(r.RawModeData))})
	}
	fs = append(fs, authFacet(r.Auth)...)
	fs = append(fs, facet{"description", clip(deref(r.Description), 160)})
	return append(fs, scriptFacets(r.Events)...)
}

func folderFacets(f api.CollectionFolder) []facet {
	fs := []facet{{"name", Echo(f.Name)}, {"description", clip(deref(f.Description), 160)}}
	fs = append(fs, authFacet(f.Auth)...)
	return append(fs, scriptFacets(f.Events)...)
}

func exampleFacets(r api.CollectionResponse) []facet {
	fs := []facet{{"name", Echo(r.Name)}}
	if r.ResponseCode != nil {
		fs = append(fs, facet{"status", fmt.Sprint(r.ResponseCode.Code)})
	}
	for _, h := range r.Headers {
		fs = append(fs, facet{"header " + h.Key, maskParam(h.Key, h.Value)})
	}
	fs = append(fs, facet{"body", maskBody(deref(r.Text))}, facet{"description", clip(deref(r.Description), 160)})
	return fs
}

func authFacet(raw json.RawMessage) []facet {
	var a struct {
		Type string `json:"type"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &a) != nil || a.Type == "" {
		return nil
	}
	var obj map[string]json.RawMessage
	_ = json.Unmarshal(raw, &obj)
	var attrs []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	}
	_ = json.Unmarshal(obj[a.Type], &attrs)
	parts := []string{a.Type}
	for _, at := range attrs {
		v := fmt.Sprint(at.Value)
		switch at.Key {
		case "key", "in", "username":
		default:
			if !isTemplate(v) {
				v = masked
			}
		}
		parts = append(parts, at.Key+"="+clip(v, 60))
	}
	slices.Sort(parts[1:])
	return []facet{{"auth", strings.Join(parts, " ")}}
}

func scriptFacets(events []api.Event) []facet {
	var fs []facet
	for _, ev := range events {
		if ev.Script == nil || (ev.Listen != "test" && ev.Listen != "prerequest") {
			continue
		}
		for _, l := range ev.Script.Exec {
			if strings.TrimSpace(l) != "" {
				fs = append(fs, facet{ev.Listen, clip(l, 160)})
			}
		}
	}
	return fs
}

func isTemplate(v string) bool {
	v = strings.TrimSpace(strings.TrimPrefix(v, "Bearer "))
	return strings.HasPrefix(v, "{{") && strings.HasSuffix(v, "}}")
}

func maskParam(key, val string) string {
	if looksSecret(key, "", false) && !isTemplate(val) && val != "" {
		return masked
	}
	return clip(val, 160)
}

// maskURL masks query values whose key looks secret (?apikey=…, ?token=…).
func maskURL(u string) string {
	base, qs, ok := strings.Cut(u, "?")
	if !ok {
		return clip(u, 200)
	}
	ps := parseQuery(qs)
	for i := range ps {
		ps[i].Value = maskParam(ps[i].Key, ps[i].Value)
	}
	return clip(base+queryString(ps), 200)
}

var secretJSONValue = lazyre.New(`(?i)("[^"]*(token|secret|passw|api[-_]?key|credential)[^"]*"\s*:\s*)"[^"]*"`)

func maskBody(b string) string {
	return clip(secretJSONValue.ReplaceAllString(b, `$1"`+masked+`"`), 120)
}

// diffFacets renders before → after: "~ key: old → new", "+ key: new", "- key: old"; a key with several values
// (script lines) is compared line by line. Empty values count as absent.
func diffFacets(before, after []facet) []string {
	group := func(fs []facet) (map[string][]string, []string) {
		m := map[string][]string{}
		var order []string
		for _, f := range fs {
			if f.val == "" {
				continue
			}
			if _, ok := m[f.key]; !ok {
				order = append(order, f.key)
			}
			m[f.key] = append(m[f.key], f.val)
		}
		return m, order
	}
	bm, border := group(before)
	am, aorder := group(after)
	keys := border
	for _, k := range aorder {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	var out []string
	for _, k := range keys {
		b, a := bm[k], am[k]
		switch {
		case len(b) <= 1 && len(a) <= 1:
			switch {
			case len(b) == 0:
				out = append(out, "+ "+k+": "+a[0])
			case len(a) == 0:
				out = append(out, "- "+k+": "+b[0])
			case a[0] != b[0]:
				out = append(out, "~ "+k+": "+b[0]+" → "+a[0])
			}
		default:
			out = append(out, lineDiff(k, b, a)...)
		}
	}
	if len(out) > 60 {
		out = append(out[:60], fmt.Sprintf("… %d more changed lines", len(out)-60))
	}
	return out
}

// lineDiff compares two lists of lines by their longest common subsequence.
func lineDiff(key string, b, a []string) []string {
	n, m := len(b), len(a)
	if n*m > 1_000_000 {
		return []string{fmt.Sprintf("~ %s: %d lines → %d lines", key, n, m)}
	}
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if b[i] == a[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && b[i] == a[j]:
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] > lcs[i+1][j]):
			out = append(out, "+ "+key+": "+a[j])
			j++
		default:
			out = append(out, "- "+key+": "+b[i])
			i++
		}
	}
	return out
}
