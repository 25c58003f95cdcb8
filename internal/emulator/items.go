package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The collection-item operations (/collections/{id}/requests|folders|responses) work on the stored Collection
// v2.1 document: an item created here appears in GET /collections/{id} and an item of a PUT document can be
// read here. Their bodies use Postman's item model (method, url, headerData, queryParams, dataMode,
// rawModeData, events; responseCode, headers, text), converted to and from the document's shapes. Updates act
// like a PATCH: the item's current item-model view is overlaid with the fields sent, then written back.

// itemLoc is where an item sits in a collection's tree.
type itemLoc struct {
	item   map[string]any
	parent map[string]any // the folder holding it; nil at the root
	req    map[string]any // for a response: the request item holding it
}

func isFolder(m map[string]any) bool { _, f := m["item"]; return f }

// findItem looks for a folder ("folder"), request ("request") or saved response ("response") by plain ID.
func findItem(items []any, kind, id string, parent map[string]any) *itemLoc {
	for _, it := range items {
		m, okM := it.(map[string]any)
		if !okM {
			continue
		}
		mid, _ := m["id"].(string)
		if isFolder(m) {
			if kind == "folder" && strings.EqualFold(mid, id) {
				return &itemLoc{item: m, parent: parent}
			}
			sub, _ := m["item"].([]any)
			if l := findItem(sub, kind, id, m); l != nil {
				return l
			}
			continue
		}
		switch kind {
		case "request":
			if strings.EqualFold(mid, id) {
				return &itemLoc{item: m, parent: parent}
			}
		case "response":
			rs, _ := m["response"].([]any)
			for _, r := range rs {
				rm, okR := r.(map[string]any)
				if rid, _ := rm["id"].(string); okR && strings.EqualFold(rid, id) {
					return &itemLoc{item: rm, parent: parent, req: m}
				}
			}
		}
	}
	return nil
}

// removeFrom drops target from list (by identity).
func removeFrom(list []any, target map[string]any) []any {
	out := make([]any, 0, len(list))
	for _, it := range list {
		if m, okM := it.(map[string]any); okM && sameMap(m, target) {
			continue
		}
		out = append(out, it)
	}
	return out
}

func sameMap(a, b map[string]any) bool {
	ai, _ := a["id"].(string)
	bi, _ := b["id"].(string)
	return ai != "" && ai == bi
}

// itemCall resolves the collection of an item operation; rep is set when it does not exist for the caller.
func (c *call) itemCollection() (*collection, *reply) {
	ref := c.params["collectionId"]
	col := c.e.findCollection(c.user, ref)
	if col == nil {
		_, id, _ := splitRef(ref)
		if id == "" {
			id = ref
		}
		rep := legacyDetails(http.StatusNotFound, "instanceNotFoundError", "We could not find the collection you are looking for",
			map[string]any{"model": "collection", "model_id": id, "owner": fmt.Sprint(c.user.ID)})
		return nil, &rep
	}
	return col, nil
}

func itemNotFound(status int, kind, id string, owner int64) reply {
	return legacyDetails(status, "instanceNotFoundError", fmt.Sprintf("We could not find the %s you are looking for", kind),
		map[string]any{"model": kind, "model_id": id, "owner": fmt.Sprint(owner)})
}

// itemBody decodes a JSON object body.
func (c *call) itemBody() (map[string]any, *reply) {
	if len(strings.TrimSpace(string(c.body))) == 0 {
		return map[string]any{}, nil
	}
	v, err := decodeJSON(c.body)
	m, okM := v.(map[string]any)
	if err != nil || !okM {
		rep := legacy(http.StatusBadRequest, "malformedRequestError", "The request body must be a JSON object.")
		return nil, &rep
	}
	return m, nil
}

// touch records a change to col and returns the collection's new revision.
func (e *Emulator) touch(col *collection, user int64, now time.Time) int64 {
	e.revision++
	col.revision = e.revision
	col.updatedAt, col.lastUpdatedBy, col.fullJSON = now, user, nil
	return col.revision
}

func itemAnswer(model, action, id string, data any, revision int64) reply {
	body := map[string]any{"model_id": id, "meta": map[string]any{"model": model, "action": action}, "data": data}
	if revision != 0 {
		body["revision"] = revision
	}
	return ok(body)
}

func findAnswer(model, id string, data any) reply {
	return ok(map[string]any{"model_id": id, "meta": map[string]any{"model": model, "populate": false, "changeset": false, "action": "find"}, "data": data})
}

func parentID(parent map[string]any) any {
	if parent == nil {
		return nil
	}
	id, _ := parent["id"].(string)
	return id
}

// ---- requests ----

var itemMethods = map[string]bool{"GET": true, "PUT": true, "POST": true, "PATCH": true, "DELETE": true, "COPY": true, "HEAD": true,
	"OPTIONS": true, "LINK": true, "UNLINK": true, "PURGE": true, "LOCK": true, "UNLOCK": true, "PROPFIND": true, "VIEW": true}

// requestModel is the item-model view of a request item.
func requestModel(col *collection, loc *itemLoc) map[string]any {
	it := loc.item
	req, _ := it["request"].(map[string]any)
	if req == nil {
		if s, isStr := it["request"].(string); isStr {
			req = map[string]any{"url": s, "method": "GET"}
		} else {
			req = map[string]any{}
		}
	}
	m := map[string]any{
		"id": it["id"], "name": it["name"], "owner": fmt.Sprint(col.owner), "lastUpdatedBy": fmt.Sprint(col.lastUpdatedBy),
		"lastRevision": col.revision, "folder": parentID(loc.parent), "collection": col.id,
		"method": strOr(req["method"], "GET"), "url": nil, "description": descText(req["description"]),
		"headerData": []any{}, "queryParams": []any{}, "pathVariableData": []any{}, "pathVariables": map[string]any{},
		"dataMode": nil, "data": nil, "rawModeData": nil, "graphqlModeData": nil, "dataOptions": nil, "dataDisabled": false,
		"auth": nil, "events": nil, "variables": nil, "headers": nil, "descriptionFormat": nil,
		"preRequestScript": nil, "tests": nil, "currentHelper": nil, "helperAttributes": nil,
		"protocolProfileBehavior": it["protocolProfileBehavior"], "responses_order": []any{},
		"createdAt": it["createdAt"], "updatedAt": it["updatedAt"],
	}
	switch u := req["url"].(type) {
	case string:
		m["url"] = u
	case map[string]any:
		m["url"] = u["raw"]
		if q, okQ := u["query"].([]any); okQ {
			qp := []any{}
			for _, x := range q {
				if qm, okM := x.(map[string]any); okM {
					qp = append(qp, map[string]any{"key": qm["key"], "value": qm["value"], "equals": true,
						"description": descText(qm["description"]), "enabled": qm["disabled"] != true})
				}
			}
			m["queryParams"] = qp
		}
	}
	if hs, okH := req["header"].([]any); okH {
		hd := []any{}
		for _, x := range hs {
			if hm, okM := x.(map[string]any); okM {
				e := map[string]any{"key": hm["key"], "value": hm["value"], "enabled": hm["disabled"] != true}
				if d := descText(hm["description"]); d != nil {
					e["description"] = d
				}
				hd = append(hd, e)
			}
		}
		m["headerData"] = hd
	}
	if b, okB := req["body"].(map[string]any); okB {
		mode, _ := b["mode"].(string)
		m["dataMode"] = mode
		switch mode {
		case "raw":
			m["rawModeData"] = b["raw"]
		case "urlencoded", "formdata":
			m["data"] = b[mode]
		case "graphql":
			m["graphqlModeData"] = b["graphql"]
		}
		if o, has := b["options"]; has {
			m["dataOptions"] = o
		}
		if b["disabled"] == true {
			m["dataDisabled"] = true
		}
	}
	if a, has := req["auth"]; has && a != nil {
		m["auth"] = a
	}
	if ev, okE := it["event"].([]any); okE && len(ev) > 0 {
		m["events"] = ev
		for _, x := range ev {
			em, _ := x.(map[string]any)
			script, _ := em["script"].(map[string]any)
			lines := execLines(script["exec"])
			switch em["listen"] {
			case "test":
				m["tests"] = strings.Join(lines, "\n")
			case "prerequest":
				m["preRequestScript"] = strings.Join(lines, "\n")
			}
		}
	}
	if hd, _ := m["headerData"].([]any); len(hd) > 0 {
		m["headers"] = hd
	}
	order := []any{}
	rs, _ := it["response"].([]any)
	for _, r := range rs {
		if rm, okR := r.(map[string]any); okR {
			order = append(order, rm["id"])
		}
	}
	m["responses_order"] = order
	return m
}

func strOr(v any, def string) string {
	if s, okS := v.(string); okS && s != "" {
		return s
	}
	return def
}

// descText reads a description that may be a string or {content, type}.
func descText(v any) any {
	switch d := v.(type) {
	case string:
		return d
	case map[string]any:
		if s, okS := d["content"].(string); okS {
			return s
		}
	}
	return nil
}

func execLines(v any) []string {
	switch x := v.(type) {
	case string:
		return strings.Split(x, "\n")
	case []any:
		out := make([]string, 0, len(x))
		for _, l := range x {
			if s, okS := l.(string); okS {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func linesOf(s string) []any {
	out := []any{}
	for _, l := range strings.Split(s, "\n") {
		out = append(out, l)
	}
	return out
}

// applyRequestModel writes an item-model view back into a request item (it keeps keys it does not model).
func applyRequestModel(it map[string]any, m map[string]any) *reply {
	if n, has := m["name"]; has {
		if n == nil {
			n = ""
		}
		s, okS := n.(string)
		if !okS {
			rep := invalidParams("request", "name")
			return &rep
		}
		it["name"] = s
	}
	req, _ := it["request"].(map[string]any)
	if req == nil {
		req = map[string]any{}
	}
	method := strings.ToUpper(strOr(m["method"], "GET"))
	if !itemMethods[method] {
		rep := legacyDetails(http.StatusBadRequest, "invalidParamsError", fmt.Sprintf("Invalid value for parameter: method (%s).", method),
			map[string]any{"param": "method"})
		return &rep
	}
	req["method"] = method
	if d, has := m["description"]; has {
		if d == nil || d == "" {
			delete(req, "description")
		} else {
			req["description"] = d
		}
	}
	rawURL, _ := m["url"].(string)
	req["url"] = urlObject(rawURL, params(m["queryParams"]))
	headers := params(m["headerData"])
	if len(headers) == 0 {
		headers = params(m["headers"]) // the vendor's create example sends "headers"
	}
	hl := []any{}
	for _, h := range headers {
		e := map[string]any{"key": h["key"], "value": strOr(h["value"], ""), "type": "text"}
		if d, okD := h["description"].(string); okD && d != "" {
			e["description"] = d
		}
		if h["enabled"] == false {
			e["disabled"] = true
		}
		hl = append(hl, e)
	}
	req["header"] = hl
	mode, _ := m["dataMode"].(string)
	body := map[string]any{}
	switch mode {
	case "":
	case "raw":
		body["mode"] = "raw"
		body["raw"] = strOr(m["rawModeData"], "")
	case "urlencoded", "formdata":
		body["mode"] = mode
		list := []any{}
		for _, p := range params(m["data"]) {
			e := map[string]any{"key": p["key"], "value": strOr(p["value"], "")}
			if t, okT := p["type"].(string); okT && t != "" {
				e["type"] = t
			} else if mode == "formdata" {
				e["type"] = "text"
			}
			if p["enabled"] == false {
				e["disabled"] = true
			}
			list = append(list, e)
		}
		body[mode] = list
	case "graphql":
		body["mode"] = "graphql"
		body["graphql"] = m["graphqlModeData"]
	case "binary":
		body["mode"] = "file"
		body["file"] = map[string]any{}
	default:
		rep := legacyDetails(http.StatusBadRequest, "invalidParamsError", fmt.Sprintf("Invalid value for parameter: dataMode (%s).", mode),
			map[string]any{"param": "dataMode"})
		return &rep
	}
	if len(body) > 0 {
		if o, okO := m["dataOptions"].(map[string]any); okO && len(o) > 0 {
			body["options"] = o
		}
		if m["dataDisabled"] == true {
			body["disabled"] = true
		}
		req["body"] = body
	} else {
		delete(req, "body")
	}
	switch a := m["auth"].(type) {
	case nil:
		delete(req, "auth")
	case string:
		req["auth"] = map[string]any{"type": a}
	case map[string]any:
		if typ, _ := a["type"].(string); !authTypes[typ] {
			rep := invalidParams("request.auth.type", fmt.Sprint(a["type"]))
			return &rep
		}
		req["auth"] = a
	default:
		rep := invalidParams("request", "auth")
		return &rep
	}
	it["request"] = req
	var events []any
	if ev, okE := m["events"].([]any); okE {
		for _, x := range ev {
			em, okM := x.(map[string]any)
			if !okM {
				rep := invalidParams("request.events", fmt.Sprint(x))
				return &rep
			}
			if l, _ := em["listen"].(string); l != "test" && l != "prerequest" {
				rep := invalidParams("request.events.listen", fmt.Sprint(em["listen"]))
				return &rep
			}
			script, _ := em["script"].(map[string]any)
			if script == nil {
				script = map[string]any{}
			}
			if _, has := script["type"]; !has {
				script["type"] = "text/javascript"
			}
			script["exec"] = anyList(execLines(script["exec"]))
			em["script"] = script
			events = append(events, em)
		}
	} else {
		// Legacy single-string scripts.
		if s, okS := m["preRequestScript"].(string); okS && s != "" {
			events = append(events, map[string]any{"listen": "prerequest", "script": map[string]any{"type": "text/javascript", "exec": linesOf(s)}})
		}
		if s, okS := m["tests"].(string); okS && s != "" {
			events = append(events, map[string]any{"listen": "test", "script": map[string]any{"type": "text/javascript", "exec": linesOf(s)}})
		}
	}
	if len(events) > 0 {
		it["event"] = events
	} else {
		delete(it, "event")
	}
	return nil
}

func anyList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// params reads a list of {key, value, ...} objects, skipping anything else.
func params(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, x := range list {
		if m, okM := x.(map[string]any); okM {
			out = append(out, m)
		}
	}
	return out
}

// urlObject builds a v2.1 url object from a raw URL and the item model's query parameters (which win over the
// raw URL's query when given).
func urlObject(raw string, query []map[string]any) any {
	if raw == "" && len(query) == 0 {
		return map[string]any{"raw": ""}
	}
	base, qs, hasQ := strings.Cut(raw, "?")
	u := map[string]any{}
	if strings.HasPrefix(base, "{{") {
		host, path, _ := strings.Cut(base, "}}")
		u["host"] = []any{host + "}}"}
		u["path"] = splitPath(path)
	} else {
		proto, rest, hasProto := strings.Cut(base, "://")
		if !hasProto {
			rest, proto = base, ""
		}
		if proto != "" {
			u["protocol"] = proto
		}
		host, path, _ := strings.Cut(rest, "/")
		hs := []any{}
		if host != "" {
			for _, h := range strings.Split(host, ".") {
				hs = append(hs, h)
			}
		}
		u["host"] = hs
		u["path"] = splitPath("/" + path)
	}
	q := []any{}
	if len(query) > 0 {
		parts := []string{}
		for _, p := range query {
			k, _ := p["key"].(string)
			v := strOr(p["value"], "")
			e := map[string]any{"key": k, "value": v}
			if d, okD := p["description"].(string); okD && d != "" {
				e["description"] = d
			}
			if p["enabled"] == false {
				e["disabled"] = true
			} else {
				parts = append(parts, k+"="+v)
			}
			q = append(q, e)
		}
		raw = base
		if len(parts) > 0 {
			raw += "?" + strings.Join(parts, "&")
		}
	} else if hasQ && qs != "" {
		for _, kv := range strings.Split(qs, "&") {
			k, v, _ := strings.Cut(kv, "=")
			q = append(q, map[string]any{"key": k, "value": v})
		}
	}
	u["raw"] = raw
	if len(q) > 0 {
		u["query"] = q
	}
	return u
}

// placeIn returns the folder to create into (nil: the root) or a reply when the folder does not exist.
func (c *call) placeIn(col *collection, ref string) (map[string]any, *reply) {
	if ref == "" {
		return nil, nil
	}
	_, id, okRef := splitRef(ref)
	if !okRef {
		id = ref
	}
	l := findItem(col.items, "folder", id, nil)
	if l == nil {
		rep := itemNotFound(http.StatusBadRequest, "folder", id, c.user.ID)
		return nil, &rep
	}
	return l.item, nil
}

func appendItem(col *collection, folder map[string]any, it map[string]any) {
	if folder == nil {
		col.items = append(col.items, it)
		return
	}
	sub, _ := folder["item"].([]any)
	folder["item"] = append(sub, it)
}

func (e *Emulator) stamp(it map[string]any, owner int64, now time.Time) {
	id, _ := it["id"].(string)
	if id == "" {
		id = e.newID("item")
	}
	it["id"] = id
	it["uid"] = uidOf(owner, id)
	it["createdAt"] = ts(now)
	it["updatedAt"] = ts(now)
}

func (c *call) createRequest() reply {
	col, rep := c.itemCollection()
	if rep != nil {
		return *rep
	}
	body, rep := c.itemBody()
	if rep != nil {
		return *rep
	}
	folderRef := c.query.Get("folderId")
	if folderRef == "" {
		folderRef = c.query.Get("folder") // what Postman's own MCP server sends
	}
	folder, rep := c.placeIn(col, folderRef)
	if rep != nil {
		return *rep
	}
	it := map[string]any{"name": "", "request": map[string]any{}, "response": []any{}}
	if id, _ := body["id"].(string); id != "" {
		_, plain, okRef := splitRef(id)
		if !okRef {
			return legacy(http.StatusBadRequest, "invalidParamsError", "Invalid value for parameter: id.")
		}
		if findItem(col.items, "request", plain, nil) != nil || findItem(col.items, "folder", plain, nil) != nil {
			return legacyDetails(http.StatusBadRequest, "instanceFoundError", "This request already exists in the database.",
				map[string]any{"model": "request", "owner": fmt.Sprint(c.user.ID), "model_id": plain})
		}
		it["id"] = plain
	}
	if rep := applyRequestModel(it, body); rep != nil {
		return *rep
	}
	c.e.stamp(it, col.owner, c.now)
	appendItem(col, folder, it)
	rev := c.e.touch(col, c.user.ID, c.now)
	data := requestModel(col, &itemLoc{item: it, parent: folder})
	data["responses"] = []any{}
	return itemAnswer("request", "import", it["id"].(string), data, rev)
}

func (c *call) locate(kind string) (*collection, *itemLoc, *reply) {
	col, rep := c.itemCollection()
	if rep != nil {
		return nil, nil, rep
	}
	ref := c.params[kind+"Id"]
	_, id, okRef := splitRef(ref)
	if !okRef {
		id = ref
	}
	l := findItem(col.items, kind, id, nil)
	if l == nil {
		rep := itemNotFound(http.StatusNotFound, kind, id, c.user.ID)
		return nil, nil, &rep
	}
	return col, l, nil
}

func (c *call) getRequest() reply {
	col, l, rep := c.locate("request")
	if rep != nil {
		return *rep
	}
	return findAnswer("request", l.item["id"].(string), requestModel(col, l))
}

func (c *call) updateRequest() reply {
	col, l, rep := c.locate("request")
	if rep != nil {
		return *rep
	}
	body, rep := c.itemBody()
	if rep != nil {
		return *rep
	}
	merged := requestModel(col, l)
	for k, v := range body {
		switch k {
		case "id", "owner", "collection", "folder", "createdAt", "updatedAt", "lastUpdatedBy", "lastRevision":
			// read-only; this endpoint cannot move a request
		default:
			merged[k] = v
		}
	}
	if _, has := body["events"]; !has {
		if _, legacyScripts := body["tests"]; legacyScripts {
			delete(merged, "events")
		} else if _, legacyScripts := body["preRequestScript"]; legacyScripts {
			delete(merged, "events")
		}
	}
	if _, has := body["queryParams"]; !has {
		if _, urlChanged := body["url"]; urlChanged {
			delete(merged, "queryParams") // the new URL's own query counts
		}
	}
	if rep := applyRequestModel(l.item, merged); rep != nil {
		return *rep
	}
	l.item["updatedAt"] = ts(c.now)
	rev := c.e.touch(col, c.user.ID, c.now)
	return itemAnswer("request", "update", l.item["id"].(string), requestModel(col, l), rev)
}

func (e *Emulator) removeItem(col *collection, l *itemLoc) {
	switch {
	case l.req != nil:
		rs, _ := l.req["response"].([]any)
		l.req["response"] = removeFrom(rs, l.item)
	case l.parent == nil:
		col.items = removeFrom(col.items, l.item)
	default:
		sub, _ := l.parent["item"].([]any)
		l.parent["item"] = removeFrom(sub, l.item)
	}
}

func (c *call) deleteItem(kind string) reply {
	col, l, rep := c.locate(kind)
	if rep != nil {
		return *rep
	}
	c.e.removeItem(col, l)
	rev := c.e.touch(col, c.user.ID, c.now)
	id := l.item["id"].(string)
	return itemAnswer(kind, "destroy", id, map[string]any{"id": id, "owner": fmt.Sprint(col.owner)}, rev)
}

func (c *call) deleteRequest() reply  { return c.deleteItem("request") }
func (c *call) deleteFolder() reply   { return c.deleteItem("folder") }
func (c *call) deleteResponse() reply { return c.deleteItem("response") }

// ---- folders ----

func folderModel(col *collection, l *itemLoc) map[string]any {
	it := l.item
	order, folders := []any{}, []any{}
	sub, _ := it["item"].([]any)
	for _, x := range sub {
		if m, okM := x.(map[string]any); okM {
			if isFolder(m) {
				folders = append(folders, m["id"])
			} else {
				order = append(order, m["id"])
			}
		}
	}
	var events any
	if ev, okE := it["event"].([]any); okE && len(ev) > 0 {
		events = ev
	}
	var vars any
	if v, okV := it["variable"].([]any); okV && len(v) > 0 {
		vars = v
	}
	return map[string]any{
		"id": it["id"], "name": it["name"], "description": descText(it["description"]), "collection": col.id,
		"folder": parentID(l.parent), "owner": fmt.Sprint(col.owner), "lastUpdatedBy": fmt.Sprint(col.lastUpdatedBy),
		"lastRevision": col.revision, "order": order, "folders_order": folders, "auth": it["auth"], "events": events,
		"variables": vars, "createdAt": it["createdAt"], "updatedAt": it["updatedAt"],
	}
}

// applyFolderFields sets the folder fields present in body.
func applyFolderFields(it, body map[string]any) *reply {
	for k, v := range body {
		switch k {
		case "name":
			s, okS := v.(string)
			if v != nil && !okS {
				rep := invalidParams("folder", "name")
				return &rep
			}
			it["name"] = s
		case "description":
			if v == nil || v == "" {
				delete(it, "description")
			} else {
				it["description"] = v
			}
		case "auth":
			if v == nil {
				delete(it, "auth")
			} else if a, okA := v.(map[string]any); okA && authTypes[fmt.Sprint(a["type"])] {
				it["auth"] = a
			} else {
				rep := invalidParams("folder.auth", fmt.Sprint(v))
				return &rep
			}
		case "events":
			if v == nil {
				delete(it, "event")
			} else if ev, okE := v.([]any); okE {
				it["event"] = ev
			} else {
				rep := invalidParams("folder", "events")
				return &rep
			}
		case "variables":
			if v == nil {
				delete(it, "variable")
			} else if vs, okV := v.([]any); okV {
				it["variable"] = vs
			} else {
				rep := invalidParams("folder", "variables")
				return &rep
			}
		}
	}
	return nil
}

func (c *call) createFolder() reply {
	col, rep := c.itemCollection()
	if rep != nil {
		return *rep
	}
	body, rep := c.itemBody()
	if rep != nil {
		return *rep
	}
	parentRef, _ := body["folder"].(string)
	parent, rep := c.placeIn(col, parentRef)
	if rep != nil {
		return *rep
	}
	it := map[string]any{"name": "", "item": []any{}}
	if rep := applyFolderFields(it, body); rep != nil {
		return *rep
	}
	c.e.stamp(it, col.owner, c.now)
	appendItem(col, parent, it)
	rev := c.e.touch(col, c.user.ID, c.now)
	data := folderModel(col, &itemLoc{item: it, parent: parent})
	data["folders"], data["requests"] = []any{}, []any{}
	return itemAnswer("folder", "import", it["id"].(string), data, rev)
}

func (c *call) getFolder() reply {
	col, l, rep := c.locate("folder")
	if rep != nil {
		return *rep
	}
	return findAnswer("folder", l.item["id"].(string), folderModel(col, l))
}

func (c *call) updateFolder() reply {
	col, l, rep := c.locate("folder")
	if rep != nil {
		return *rep
	}
	body, rep := c.itemBody()
	if rep != nil {
		return *rep
	}
	if rep := applyFolderFields(l.item, body); rep != nil {
		return *rep
	}
	l.item["updatedAt"] = ts(c.now)
	rev := c.e.touch(col, c.user.ID, c.now)
	return itemAnswer("folder", "update", l.item["id"].(string), folderModel(col, l), rev)
}

// ---- saved responses ----

func responseModel(col *collection, l *itemLoc) map[string]any {
	r := l.item
	code := 0
	if n, okN := r["code"].(json.Number); okN {
		if v, err := n.Int64(); err == nil {
			code = int(v)
		}
	} else if f, okF := r["code"].(float64); okF {
		code = int(f)
	} else if i, okI := r["code"].(int); okI {
		code = i
	} else if i, okI := r["code"].(int64); okI {
		code = int(i)
	}
	headers := []any{}
	for _, h := range params(r["header"]) {
		headers = append(headers, map[string]any{"key": h["key"], "name": h["key"], "value": h["value"], "description": "", "type": "text"})
	}
	var text any
	if s, okS := r["body"].(string); okS {
		text = s
	}
	var reqObj any
	if or, okO := r["originalRequest"].(map[string]any); okO {
		holder := map[string]any{"request": or}
		view := requestModel(col, &itemLoc{item: holder})
		ro := map[string]any{}
		for _, k := range []string{"method", "url", "headerData", "queryParams", "dataMode", "data", "rawModeData", "dataOptions", "pathVariableData", "pathVariables", "graphqlModeData"} {
			ro[k] = view[k]
		}
		b, _ := json.Marshal(ro)
		reqObj = string(b)
	}
	var status any
	if s, okS := r["status"].(string); okS {
		status = s
	}
	lang, _ := r["_postman_previewlanguage"].(string)
	reqID, _ := l.req["id"].(string)
	return map[string]any{
		"id": r["id"], "name": r["name"], "request": reqID, "owner": fmt.Sprint(col.owner),
		"lastUpdatedBy": fmt.Sprint(col.lastUpdatedBy), "lastRevision": col.revision,
		"status": status, "responseCode": map[string]any{"code": code, "name": http.StatusText(code)},
		"time": nil, "headers": headers, "cookies": nil, "mime": nil, "text": text, "language": lang,
		"rawDataType": nil, "requestObject": reqObj, "createdAt": r["createdAt"], "updatedAt": r["updatedAt"],
	}
}

// applyResponseFields sets the saved-response fields present in body; req is the request it belongs to.
func applyResponseFields(r, req, body map[string]any) *reply {
	if n, has := body["name"]; has {
		s, _ := n.(string)
		r["name"] = s
	}
	if rc, has := body["responseCode"]; has {
		m, okM := rc.(map[string]any)
		code, okC := m["code"].(json.Number)
		n, err := code.Int64()
		if !okM || !okC || err != nil || n < 100 || n > 599 {
			rep := invalidParams("response.responseCode", fmt.Sprint(rc))
			return &rep
		}
		r["code"] = n
		if name, _ := m["name"].(string); name != "" {
			r["status"] = name
		} else {
			r["status"] = http.StatusText(int(n))
		}
	}
	if s, okS := body["status"].(string); okS && s != "" {
		r["status"] = s
	}
	if _, has := body["headers"]; has {
		hl := []any{}
		for _, h := range params(body["headers"]) {
			hl = append(hl, map[string]any{"key": h["key"], "value": strOr(h["value"], "")})
		}
		r["header"] = hl
	}
	if t, has := body["text"]; has {
		s, _ := t.(string)
		r["body"] = s
	}
	if l, okL := body["language"].(string); okL && l != "" {
		r["_postman_previewlanguage"] = l
	}
	// The answered request: from requestObject, else the url/method/body fields, else the parent request.
	orig, _ := r["originalRequest"].(map[string]any)
	if orig == nil {
		if pr, okP := req["request"].(map[string]any); okP {
			b, _ := json.Marshal(pr)
			_ = json.Unmarshal(b, &orig)
		}
	}
	model := map[string]any{}
	if s, okS := body["requestObject"].(string); okS && s != "" {
		if v, err := decodeJSON([]byte(s)); err == nil {
			if m, okM := v.(map[string]any); okM {
				model = m
			}
		}
	}
	for _, k := range []string{"url", "method", "dataMode", "rawModeData", "dataOptions"} {
		if v, has := body[k]; has {
			model[k] = v
		}
	}
	if len(model) > 0 {
		holder := map[string]any{"request": orig}
		if orig != nil {
			base := requestModel(&collection{}, &itemLoc{item: holder})
			for k, v := range model {
				base[k] = v
			}
			model = base
		}
		tmp := map[string]any{}
		_ = applyRequestModel(tmp, model)
		orig, _ = tmp["request"].(map[string]any)
	}
	if orig != nil {
		r["originalRequest"] = orig
	}
	if _, has := r["cookie"]; !has {
		r["cookie"] = []any{}
	}
	return nil
}

func (c *call) createResponse() reply {
	col, rep := c.itemCollection()
	if rep != nil {
		return *rep
	}
	ref := c.query.Get("request")
	if ref == "" {
		return legacyDetails(http.StatusBadRequest, "paramMissingError", "Parameter is missing in the request.", map[string]any{"param": []string{"request"}})
	}
	_, id, okRef := splitRef(ref)
	if !okRef {
		id = ref
	}
	l := findItem(col.items, "request", id, nil)
	if l == nil {
		return itemNotFound(http.StatusBadRequest, "request", id, c.user.ID)
	}
	body, rep := c.itemBody()
	if rep != nil {
		return *rep
	}
	r := map[string]any{"name": "", "code": int64(200), "status": "OK", "header": []any{}, "body": ""}
	if rep := applyResponseFields(r, l.item, body); rep != nil {
		return *rep
	}
	c.e.stamp(r, col.owner, c.now)
	rs, _ := l.item["response"].([]any)
	l.item["response"] = append(rs, r)
	rev := c.e.touch(col, c.user.ID, c.now)
	return itemAnswer("response", "create", r["id"].(string), map[string]any{"id": r["id"], "owner": fmt.Sprint(col.owner),
		"request": l.item["id"], "createdAt": r["createdAt"], "updatedAt": r["updatedAt"], "lastUpdatedBy": fmt.Sprint(c.user.ID)}, rev)
}

func (c *call) getResponse() reply {
	col, l, rep := c.locate("response")
	if rep != nil {
		return *rep
	}
	return findAnswer("response", l.item["id"].(string), responseModel(col, l))
}

func (c *call) updateResponse() reply {
	col, l, rep := c.locate("response")
	if rep != nil {
		return *rep
	}
	body, rep := c.itemBody()
	if rep != nil {
		return *rep
	}
	if rep := applyResponseFields(l.item, l.req, body); rep != nil {
		return *rep
	}
	l.item["updatedAt"] = ts(c.now)
	rev := c.e.touch(col, c.user.ID, c.now)
	return itemAnswer("response", "update", l.item["id"].(string), responseModel(col, l), rev)
}
