package emulator

import (
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

var collectionSchemas = map[string]bool{
	"https://schema.postman.com/json/collection/v2.1.0/collection.json":    true,
	"https://schema.getpostman.com/json/collection/v2.1.0/collection.json": true,
	"http://schema.postman.com/json/collection/v2.1.0/collection.json":     true,
	"http://schema.getpostman.com/json/collection/v2.1.0/collection.json":  true,
}

const schemaV21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

type forkOut struct {
	Label     string `json:"label"`
	CreatedAt string `json:"createdAt"`
	From      string `json:"from"`
}

type collectionSummary struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Owner     string   `json:"owner"`
	CreatedAt string   `json:"createdAt"`
	UpdatedAt string   `json:"updatedAt"`
	UID       string   `json:"uid"`
	Fork      *forkOut `json:"fork,omitempty"`
	IsPublic  bool     `json:"isPublic"`
}

func (c *collection) forkOut() *forkOut {
	if c.fork == nil {
		return nil
	}
	return &forkOut{Label: c.fork.label, CreatedAt: ts(c.fork.createdAt), From: c.fork.from}
}

func (c *call) listCollections() reply {
	q := c.query
	ws := q.Get("workspace")
	name := q.Get("name")
	paginate := q.Has("limit") || q.Has("offset")
	offset, limit := 0, -1
	for _, p := range []struct {
		name string
		dst  *int
	}{{"limit", &limit}, {"offset", &offset}} {
		if !q.Has(p.name) {
			continue
		}
		n, err := strconv.Atoi(q.Get(p.name))
		if err != nil || n < 0 {
			return legacy(http.StatusBadRequest, "badRequest", fmt.Sprintf("The %s query parameter must be a non-negative integer.", p.name))
		}
		*p.dst = n
	}
	all := []collectionSummary{}
	for _, col := range byOrder(c.e.collections, colOrder) {
		if !c.e.canSeeIn(c.user, col.workspaceID) || (ws != "" && col.workspaceID != ws) || (name != "" && col.name() != name) {
			continue
		}
		all = append(all, collectionSummary{ID: col.id, Name: col.name(), Owner: fmt.Sprint(col.owner), CreatedAt: ts(col.createdAt),
			UpdatedAt: ts(col.updatedAt), UID: col.uid(), Fork: col.forkOut(), IsPublic: col.isPublic})
	}
	if !paginate {
		return ok(map[string]any{"collections": all})
	}
	total := len(all)
	if limit < 0 {
		limit = total
	}
	start := min(offset, total)
	end := min(start+limit, total)
	return ok(map[string]any{
		"collections": all[start:end],
		"meta":        map[string]int{"total": total, "offset": offset, "limit": limit},
	})
}

// collectionErrors validates a POST/PUT body the way the vendor's AJV validator words it (paths relative to
// "collection"). It returns the collection object when there are no errors.
func collectionErrors(v any) (map[string]any, []string) {
	top, okTop := v.(map[string]any)
	if !okTop {
		return nil, []string{": must be object"}
	}
	raw, present := top["collection"]
	if !present {
		return nil, []string{": must have required property 'collection'"}
	}
	col, okCol := raw.(map[string]any)
	if !okCol {
		return nil, []string{"collection: must be object"}
	}
	var errs []string
	if info, present := col["info"]; !present {
		errs = append(errs, ": must have required property 'info'")
	} else if im, okInfo := info.(map[string]any); !okInfo {
		errs = append(errs, "info: must be object")
	} else {
		if n, present := im["name"]; !present {
			errs = append(errs, "info: must have required property 'name'")
		} else if s, okName := n.(string); !okName {
			errs = append(errs, "info.name: must be string")
		} else if strings.TrimSpace(s) == "" {
			errs = append(errs, "info.name: must NOT have fewer than 1 characters")
		}
		if sc, present := im["schema"]; !present {
			errs = append(errs, "info: must have required property 'schema'")
		} else if s, okS := sc.(string); !okS || !collectionSchemas[s] {
			errs = append(errs, "info.schema: must be equal to one of the allowed values")
		}
	}
	if items, present := col["item"]; !present {
		errs = append(errs, ": must have required property 'item'")
	} else {
		errs = append(errs, itemErrors("item", items)...)
	}
	for _, k := range []string{"event", "variable"} {
		if x, present := col[k]; present {
			if _, okA := x.([]any); !okA {
				errs = append(errs, k+": must be array")
			}
		}
	}
	if a, present := col["auth"]; present && a != nil {
		if _, okA := a.(map[string]any); !okA {
			errs = append(errs, "auth: must be object")
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return col, nil
}

func itemErrors(path string, v any) []string {
	arr, okA := v.([]any)
	if !okA {
		return []string{path + ": must be array"}
	}
	var errs []string
	for i, it := range arr {
		p := fmt.Sprintf("%s.%d", path, i)
		m, okM := it.(map[string]any)
		if !okM {
			errs = append(errs, p+": must be object")
			continue
		}
		if n, present := m["name"]; present {
			if _, okN := n.(string); !okN {
				errs = append(errs, p+".name: must be string")
			}
		}
		if sub, present := m["item"]; present {
			errs = append(errs, itemErrors(p+".item", sub)...)
		}
		if r, present := m["request"]; present {
			switch r.(type) {
			case string, map[string]any:
			default:
				errs = append(errs, p+".request: must be object")
			}
		}
		if len(errs) > 20 {
			break
		}
	}
	return errs
}

func malformedCollection(details []string) reply {
	return legacyDetails(http.StatusBadRequest, "malformedRequestError",
		fmt.Sprintf("Found %d errors with the supplied collection.", len(details)), details)
}

// storeDocument copies a validated collection document into col, giving items IDs, UIDs and timestamps.
// keepIDs keeps item IDs found in the document (PUT); createdAt of items that existed before is preserved.
func (e *Emulator) storeDocument(col *collection, doc map[string]any, now time.Time, keepIDs bool) {
	prev := map[string]any{}
	if keepIDs {
		collectItemTimes(col.items, prev)
	}
	info, _ := doc["info"].(map[string]any)
	col.info = map[string]any{}
	for k, v := range info {
		switch k {
		case "_postman_id", "uid", "id", "createdAt", "updatedAt", "lastUpdatedBy", "fork", "postman_id":
		default:
			col.info[k] = v
		}
	}
	items, _ := doc["item"].([]any)
	col.items = e.normalizeItems(items, col.owner, now, keepIDs, prev)
	col.auth = doc["auth"]
	col.event, _ = doc["event"].([]any)
	col.variable, _ = doc["variable"].([]any)
	col.ppb = doc["protocolProfileBehavior"]
	col.updatedAt = now
	col.fullJSON = nil
}

func collectItemTimes(items []any, into map[string]any) {
	for _, it := range items {
		m, okM := it.(map[string]any)
		if !okM {
			continue
		}
		if id, okID := m["id"].(string); okID {
			into[id] = m["createdAt"]
		}
		if sub, okS := m["item"].([]any); okS {
			collectItemTimes(sub, into)
		}
		if rs, okR := m["response"].([]any); okR {
			collectItemTimes(rs, into)
		}
	}
}

func (e *Emulator) normalizeItems(items []any, owner int64, now time.Time, keepIDs bool, prev map[string]any) []any {
	out := make([]any, 0, len(items))
	for _, it := range items {
		m, okM := it.(map[string]any)
		if !okM {
			continue
		}
		e.stampElement(m, owner, now, keepIDs, prev)
		if sub, isFolder := m["item"].([]any); isFolder {
			m["item"] = e.normalizeItems(sub, owner, now, keepIDs, prev)
		} else {
			rs, _ := m["response"].([]any)
			norm := make([]any, 0, len(rs))
			for _, r := range rs {
				if rm, okR := r.(map[string]any); okR {
					e.stampElement(rm, owner, now, keepIDs, prev)
					norm = append(norm, rm)
				}
			}
			m["response"] = norm
		}
		out = append(out, m)
	}
	return out
}

func (e *Emulator) stampElement(m map[string]any, owner int64, now time.Time, keepIDs bool, prev map[string]any) {
	id, _ := m["id"].(string)
	if !keepIDs || strings.TrimSpace(id) == "" {
		id = e.newID("item")
	}
	m["id"] = id
	m["uid"] = uidOf(owner, id)
	delete(m, "_postman_id")
	if created, seen := prev[id]; seen && created != nil {
		m["createdAt"] = created
	} else {
		m["createdAt"] = ts(now)
	}
	m["updatedAt"] = ts(now)
}

func (c *call) createCollection() reply {
	v, err := decodeJSON(c.body)
	if err != nil {
		return malformedCollection([]string{": must be valid JSON (" + err.Error() + ")"})
	}
	doc, errs := collectionErrors(v)
	if errs != nil {
		return malformedCollection(errs)
	}
	if info, _ := doc["info"].(map[string]any); info != nil {
		if pid, _ := info["_postman_id"].(string); pid != "" {
			if _, id, okRef := splitRef(pid); okRef && c.e.collections[id] != nil {
				return legacyDetails(http.StatusBadRequest, "instanceFoundError", "The specified item already exists.",
					map[string]string{"item": "collection", "id": id})
			}
		}
	}
	w, rep := c.targetWorkspace()
	if rep != nil {
		return *rep
	}
	col := &collection{id: c.e.newID("collection"), owner: c.user.ID, workspaceID: w.id, createdAt: c.now,
		lastUpdatedBy: c.user.ID, order: c.e.nextOrder()}
	c.e.storeDocument(col, doc, c.now, false)
	c.e.collections[col.id] = col
	return ok(map[string]any{"collection": elemRef{ID: col.id, Name: col.name(), UID: col.uid()}})
}

func collectionNotFoundGet() reply {
	return legacy(http.StatusNotFound, "instanceNotFoundError", "We could not find the collection you are looking for")
}

func collectionNotFound(ref string) reply {
	return legacyDetails(http.StatusNotFound, "instanceNotFoundError", "The specified item does not exist.",
		map[string]string{"item": "collection", "id": ref})
}

type collectionOut struct {
	Info     map[string]any `json:"info"`
	Item     []any          `json:"item"`
	Auth     any            `json:"auth,omitempty"`
	Event    []any          `json:"event,omitempty"`
	Variable []any          `json:"variable,omitempty"`
	PPB      any            `json:"protocolProfileBehavior,omitempty"`
}

type collectionMinimal struct {
	Info              map[string]any `json:"info"`
	Variable          []any          `json:"variable,omitempty"`
	Auth              any            `json:"auth,omitempty"`
	Events            []any          `json:"events,omitempty"`
	RootLevelRequests []string       `json:"rootLevelRequests"`
	RootLevelFolders  []string       `json:"rootLevelFolders"`
}

func (col *collection) infoOut(withSchema bool) map[string]any {
	info := maps.Clone(col.info)
	if !withSchema {
		delete(info, "schema")
	} else if _, has := info["schema"]; !has {
		info["schema"] = schemaV21
	}
	info["_postman_id"] = col.id
	info["createdAt"] = ts(col.createdAt)
	info["updatedAt"] = ts(col.updatedAt)
	info["lastUpdatedBy"] = fmt.Sprint(col.lastUpdatedBy)
	info["uid"] = col.uid()
	if f := col.forkOut(); f != nil {
		info["fork"] = f
	}
	return info
}

func (c *call) getCollection() reply {
	col := c.e.findCollection(c.user, c.params["collectionId"])
	if col == nil {
		return collectionNotFoundGet()
	}
	if c.query.Get("model") == "minimal" {
		m := collectionMinimal{Info: col.infoOut(false), Variable: col.variable, Auth: col.auth, Events: col.event,
			RootLevelRequests: []string{}, RootLevelFolders: []string{}}
		for _, it := range col.items {
			im, _ := it.(map[string]any)
			uid, _ := im["uid"].(string)
			if _, isFolder := im["item"]; isFolder {
				m.RootLevelFolders = append(m.RootLevelFolders, uid)
			} else {
				m.RootLevelRequests = append(m.RootLevelRequests, uid)
			}
		}
		return ok(map[string]any{"collection": m})
	}
	if col.fullJSON == nil {
		col.fullJSON = c.e.encode(map[string]any{"collection": collectionOut{Info: col.infoOut(true), Item: col.items, Auth: col.auth,
			Event: col.event, Variable: col.variable, PPB: col.ppb}})
	}
	return reply{status: http.StatusOK, ctype: ctJSON, raw: col.fullJSON}
}

func (e *Emulator) taskInProgress(collectionID string) bool {
	for _, t := range e.tasks {
		if t.collectionID == collectionID && t.status == "in-progress" {
			return true
		}
	}
	return false
}

func (c *call) putCollection() reply {
	ref := c.params["collectionId"]
	col := c.e.findCollection(c.user, ref)
	if col == nil {
		return collectionNotFound(ref)
	}
	if c.e.taskInProgress(col.id) {
		return errDeepUpdateConflict()
	}
	async := strings.Contains(strings.ToLower(c.r.Header.Get("Prefer")), "respond-async")
	v, err := decodeJSON(c.body)
	if err != nil {
		if async {
			return asyncMalformed(ref, "")
		}
		return malformedCollection([]string{": must be valid JSON (" + err.Error() + ")"})
	}
	doc, errs := collectionErrors(v)
	if errs != nil {
		if async {
			return asyncMalformed(ref, errs[0])
		}
		return malformedCollection(errs)
	}
	if info, _ := doc["info"].(map[string]any); info != nil {
		if pid, _ := info["_postman_id"].(string); pid != "" {
			if _, id, okRef := splitRef(pid); !okRef || id != col.id {
				return legacy(http.StatusBadRequest, "collectionMismatchError", "The collection ID in the path does not match the collection ID in the request body.")
			}
		}
	}
	user := c.user.ID
	if !async {
		c.e.storeDocument(col, doc, c.now, true)
		col.lastUpdatedBy = user // storeDocument dropped the cached body
		return ok(map[string]any{"collection": elemRef{ID: col.id, Name: col.name(), UID: col.uid()}})
	}
	t := &updateTask{id: c.e.newID("task"), collectionID: col.id, teamID: c.user.TeamID, creator: user,
		doneAt: c.now.Add(c.e.opts.AsyncUpdateDelay), status: "in-progress"}
	e := c.e
	t.apply = func(now time.Time) {
		target := e.collections[t.collectionID]
		if target == nil {
			t.status = "failed"
			return
		}
		e.storeDocument(target, doc, now, true)
		target.lastUpdatedBy = user // storeDocument dropped the cached body
		t.status = "successful"
	}
	c.e.tasks[t.id] = t
	return reply{status: http.StatusAccepted, ctype: ctJSON, body: map[string]any{"task": map[string]string{"id": t.id, "status": t.status}}}
}

// asyncMalformed words validation failures the way the async PUT examples do (problem+json).
func asyncMalformed(ref, firstErr string) reply {
	where := fmt.Sprintf("PUT request body for '/collections/%s' failed to validate schema.", ref)
	switch firstErr {
	case ": must have required property 'collection'":
		return problemReply(http.StatusBadRequest, "bad-request", "Missing property 'collection'", where+" Location: /required", "")
	case ": must have required property 'info'":
		return problemReply(http.StatusBadRequest, "bad-request", "Missing property 'info'", where+" Location: /properties/collection/required", "")
	case ": must have required property 'item'":
		return problemReply(http.StatusBadRequest, "bad-request", "Missing property 'item'", where+" Location: /properties/collection/required", "")
	}
	return problemReply(http.StatusBadRequest, "bad-request", "Malformed request",
		"Unable to parse the collection. Please ensure it is according to https://schema.postman.com/collection/json/v2.1.0/draft-07/docs/index.html", "")
}

func (c *call) getUpdateTask() reply {
	t := c.e.tasks[c.params["taskId"]]
	if t == nil || !(t.creator == c.user.ID || (t.teamID != 0 && t.teamID == c.user.TeamID)) {
		return legacy(http.StatusNotFound, "instanceNotFoundError", "The specified task does not exist.")
	}
	return ok(map[string]string{"id": t.id, "status": t.status})
}

// settleTasksLocked finishes asynchronous collection updates whose time has come.
func (e *Emulator) settleTasksLocked(now time.Time) {
	for _, t := range e.tasks {
		if t.status == "in-progress" && !now.Before(t.doneAt) {
			t.apply(now)
		}
	}
}

func badRequest(msg string) reply { return legacy(http.StatusBadRequest, "badRequest", msg) }

func invalidParams(key string, names ...string) reply {
	return badRequest(fmt.Sprintf("Invalid parameters: (%s) for key: '%s'", quoteList(names), key))
}

func requiredParams(key string, names ...string) reply {
	return badRequest(fmt.Sprintf("Parameters required: (%s) for key: '%s'", quoteList(names), key))
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return strings.Join(q, ", ")
}

var authTypes = map[string]bool{"basic": true, "bearer": true, "apikey": true, "digest": true, "oauth1": true, "oauth2": true,
	"hawk": true, "awsv4": true, "ntlm": true, "akamai": true, "edgegrid": true, "jwt": true, "asap": true, "noauth": true}

func (c *call) patchCollection() reply {
	ref := c.params["collectionId"]
	col := c.e.findCollection(c.user, ref)
	if col == nil {
		return collectionNotFound(ref)
	}
	v, err := decodeJSON(c.body)
	if err != nil {
		return badRequest("The request body must be valid JSON.")
	}
	top, _ := v.(map[string]any)
	if top == nil {
		return badRequest("The request body must be a JSON object.")
	}
	for k := range top {
		if k != "collection" {
			return invalidParams("body", k)
		}
	}
	patch, _ := top["collection"].(map[string]any)
	if len(patch) == 0 {
		return legacyDetails(http.StatusBadRequest, "paramMissingError", "'info' key is mandatory when 'collection' is empty.", map[string]string{"param": "info"})
	}
	for _, k := range sortedKeys(patch) {
		switch k {
		case "info", "variable", "auth", "events":
		default:
			return invalidParams("collection", k)
		}
	}
	newInfo := maps.Clone(col.info)
	if raw, has := patch["info"]; has {
		info, okI := raw.(map[string]any)
		if !okI {
			return invalidParams("collection.info", "info")
		}
		for _, k := range sortedKeys(info) {
			switch k {
			case "name":
				s, okS := info[k].(string)
				if !okS || strings.TrimSpace(s) == "" {
					return invalidParams("collection.info.name", fmt.Sprint(info[k]))
				}
				newInfo["name"] = s
			case "description":
				s, okS := info[k].(string)
				if !okS {
					return invalidParams("collection.info.description", fmt.Sprint(info[k]))
				}
				newInfo["description"] = s
			default:
				return invalidParams("collection.info", k)
			}
		}
	}
	newVars := col.variable
	if raw, has := patch["variable"]; has {
		arr, okA := raw.([]any)
		if !okA {
			return invalidParams("collection.variables", "variable")
		}
		for _, it := range arr {
			m, okM := it.(map[string]any)
			if !okM {
				return invalidParams("collection.variables", fmt.Sprint(it))
			}
			for _, k := range sortedKeys(m) {
				switch k {
				case "key", "value", "disabled", "description", "type", "id", "enabled", "secret", "source":
				default:
					return invalidParams("collection.variables", k)
				}
			}
			if _, has := m["key"]; !has {
				return requiredParams("collection.variables", "key")
			}
			if _, has := m["value"]; !has && m["secret"] != true {
				return requiredParams("collection.variables", "value")
			}
		}
		newVars = arr
	}
	newAuth := col.auth
	if raw, has := patch["auth"]; has {
		a, okA := raw.(map[string]any)
		if !okA {
			return invalidParams("collection.auth", "auth")
		}
		typ, _ := a["type"].(string)
		if !authTypes[typ] {
			return invalidParams("collection.auth.type", fmt.Sprint(a["type"]))
		}
		if typ != "noauth" {
			if _, has := a[typ]; !has {
				return legacyDetails(http.StatusBadRequest, "paramMissingError",
					fmt.Sprintf("The key '%s' must be present in 'collection.auth' when 'type' is '%s'.", typ, typ), map[string]string{"param": typ})
			}
			if _, okList := a[typ].([]any); !okList {
				return invalidParams("collection.auth."+typ, typ)
			}
		}
		newAuth = a
	}
	newEvents := col.event
	if raw, has := patch["events"]; has {
		arr, okA := raw.([]any)
		if !okA {
			return invalidParams("collection.events", "events")
		}
		for _, it := range arr {
			ev, okE := it.(map[string]any)
			if !okE {
				return invalidParams("collection.events", fmt.Sprint(it))
			}
			for _, k := range sortedKeys(ev) {
				if k != "listen" && k != "script" {
					return invalidParams("collection.events", k)
				}
			}
			if l, _ := ev["listen"].(string); l != "test" && l != "prerequest" {
				return invalidParams("collection.events.listen", fmt.Sprint(ev["listen"]))
			}
			script, okS := ev["script"].(map[string]any)
			if !okS {
				return requiredParams("collection.events", "script")
			}
			for _, k := range sortedKeys(script) {
				switch k {
				case "id", "type", "exec", "packages":
				default:
					return invalidParams("collection.events.script", k)
				}
			}
			if _, has := script["id"]; !has {
				return invalidParams("collection.events", "id")
			}
			var missing []string
			for _, k := range []string{"type", "exec"} {
				if _, has := script[k]; !has {
					missing = append(missing, k)
				}
			}
			if missing != nil {
				return requiredParams("collection.events.script", missing...)
			}
		}
		newEvents = arr
	}
	col.info, col.variable, col.auth, col.event = newInfo, newVars, newAuth, newEvents
	col.updatedAt, col.lastUpdatedBy, col.fullJSON = c.now, c.user.ID, nil
	desc, _ := col.info["description"].(string)
	return ok(map[string]any{"collection": map[string]string{"id": col.id, "name": col.name(), "description": desc}})
}

func (c *call) deleteCollection() reply {
	ref := c.params["collectionId"]
	col := c.e.findCollection(c.user, ref)
	if col == nil {
		return collectionNotFound(ref)
	}
	delete(c.e.collections, col.id)
	return ok(map[string]any{"collection": map[string]string{"id": col.id, "uid": col.uid()}})
}
