package emulator

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCollectionsOffsetPagination(t *testing.T) {
	f := demo(t)
	all := f.do("GET", "/collections", DemoKey, nil)
	if all.get("meta") != nil {
		t.Fatal("meta without limit/offset")
	}
	total := len(all.arr("collections"))
	if total < 6 {
		t.Fatalf("only %d collections", total)
	}
	var seen []string
	for off := 0; off < total; off += 2 {
		r := f.do("GET", fmt.Sprintf("/collections?limit=2&offset=%d", off), DemoKey, nil)
		wantStatus(t, r, 200)
		if r.num("meta", "total") != float64(total) || r.num("meta", "offset") != float64(off) || r.num("meta", "limit") != 2 {
			t.Fatalf("meta %v", r.get("meta"))
		}
		for _, c := range r.arr("collections") {
			seen = append(seen, dig(c, "id").(string))
		}
	}
	if len(seen) != total {
		t.Fatalf("pages returned %d collections, want %d", len(seen), total)
	}
	for i, c := range all.arr("collections") {
		if dig(c, "id") != seen[i] {
			t.Fatalf("page order differs at %d", i)
		}
	}
	r := f.do("GET", "/collections?name="+strings.ReplaceAll(DemoCollectionOrders, " ", "%20"), DemoKey, nil)
	if n := len(r.arr("collections")); n != 1 || r.str("collections", 0, "name") != DemoCollectionOrders {
		t.Fatalf("exact name filter returned %d", n)
	}
	if n := len(f.do("GET", "/collections?name=orders%20api", DemoKey, nil).arr("collections")); n != 0 {
		t.Fatalf("name filter is not exact: %d", n)
	}
	ws, _ := f.e.UIDByName("workspace", DemoWorkspaceOrders)
	for _, c := range f.do("GET", "/collections?workspace="+ws, DemoKey, nil).arr("collections") {
		if n := dig(c, "name").(string); n != DemoCollectionOrders && n != DemoCollectionCheckout {
			t.Fatalf("workspace filter let %q through", n)
		}
	}
	wantError(t, f.do("GET", "/collections?limit=x", DemoKey, nil), 400, "badRequest")
}

func TestWorkspacesCursorPagination(t *testing.T) {
	f := demo(t)
	var names []string
	cursor := ""
	for page := 0; page < 10; page++ {
		r := f.do("GET", "/workspaces?limit=1"+cursor, DemoKey, nil)
		wantStatus(t, r, 200)
		if r.get("meta") == nil {
			t.Fatal("meta missing although limit was passed")
		}
		names = append(names, r.str("workspaces", 0, "name"))
		next := r.str("meta", "nextCursor")
		if next == "" {
			break
		}
		cursor = "&cursor=" + next
	}
	if len(names) != 3 {
		t.Fatalf("walked %v", names)
	}
	wantError(t, f.do("GET", "/workspaces?cursor=@@@", DemoKey, nil), 400, "badRequestError")
	wantError(t, f.do("GET", "/workspaces?limit=0", DemoKey, nil), 400, "badRequestError")
	r := f.do("GET", "/workspaces?type=personal", DemoKey, nil)
	if len(r.arr("workspaces")) != 1 || r.str("workspaces", 0, "type") != "personal" {
		t.Fatalf("type filter: %s", r.Raw)
	}
	col := f.uid("collection", DemoCollectionCheckout)
	r = f.do("GET", "/workspaces?elementType=collection&elementId="+col, DemoKey, nil)
	if len(r.arr("workspaces")) != 1 || r.str("workspaces", 0, "name") != DemoWorkspaceOrders {
		t.Fatalf("element filter: %s", r.Raw)
	}
	r = f.do("GET", "/workspaces?elementType=specs&elementId=x", DemoKey, nil)
	if r.Code != 400 || r.str("name") != "badRequest" {
		t.Fatalf("bad elementType: %d %s", r.Code, r.Raw)
	}
}

func TestMonitorsCursorPagination(t *testing.T) {
	f := demo(t)
	var ids []string
	cursor := ""
	for range 10 {
		r := f.do("GET", "/monitors?limit=1"+cursor, DemoKey, nil)
		wantStatus(t, r, 200)
		if r.num("meta", "limit") != 1 {
			t.Fatalf("meta %v", r.get("meta"))
		}
		for _, m := range r.arr("monitors") {
			ids = append(ids, dig(m, "id").(string))
		}
		next, isString := r.get("meta", "nextCursor").(string)
		if !isString {
			t.Fatal("nextCursor must be a string")
		}
		if next == "" {
			break
		}
		cursor = "&cursor=" + next
		f.clk.Advance(time.Second) // stay inside the 10-per-10 s route bucket
	}
	if len(ids) != 4 {
		t.Fatalf("walked %d monitors", len(ids))
	}
	active := f.do("GET", "/monitors?active=false", DemoKey, nil)
	if len(active.arr("monitors")) != 1 || active.str("monitors", 0, "name") != DemoMonitorPaused {
		t.Fatalf("active=false: %s", active.Raw)
	}
	wantError(t, f.do("GET", "/monitors?active=maybe", DemoKey, nil), 400, "badRequest")
	r := f.do("GET", "/monitors?workspace=short", DemoKey, nil)
	if r.Code != 400 || r.str("error", "message") != "Workspace ID must be 36 characters (5)." {
		t.Fatalf("short workspace: %s", r.Raw)
	}
	f.clk.Advance(10 * time.Second)
	r = f.do("GET", "/monitors?collectionUid="+f.uid("collection", DemoCollectionOrders), DemoKey, nil)
	if len(r.arr("monitors")) != 1 || r.str("monitors", 0, "name") != DemoMonitorFailing {
		t.Fatalf("collection filter: %s", r.Raw)
	}
}

func TestCreateCollectionValidation(t *testing.T) {
	f := demo(t)
	cases := []struct {
		name, body string
		details    []string
	}{
		{"no info, no item", `{"collection":{}}`, []string{": must have required property 'info'", ": must have required property 'item'"}},
		{"no schema", `{"collection":{"info":{"name":"x"},"item":[]}}`, []string{"info: must have required property 'schema'"}},
		{"bad schema", `{"collection":{"info":{"name":"x","schema":"https://example.com"},"item":[]}}`, []string{"info.schema: must be equal to one of the allowed values"}},
		{"bad item", `{"collection":{"info":{"name":"x","schema":"https://schema.postman.com/json/collection/v2.1.0/collection.json"},"item":[1,{"item":"x"}]}}`,
			[]string{"item.0: must be object", "item.1.item: must be array"}},
		{"no collection", `{"info":{}}`, []string{": must have required property 'collection'"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do("POST", "/collections", DemoKey, c.body)
			wantError(t, r, 400, "malformedRequestError")
			got := r.arr("error", "details")
			if len(got) != len(c.details) {
				t.Fatalf("details %v, want %v", got, c.details)
			}
			for i := range got {
				if got[i] != c.details[i] {
					t.Fatalf("details %v, want %v", got, c.details)
				}
			}
			if !strings.HasPrefix(r.str("error", "message"), fmt.Sprintf("Found %d errors", len(c.details))) {
				t.Fatalf("message %q", r.str("error", "message"))
			}
		})
	}
	wantError(t, f.do("POST", "/collections", DemoKey, `{not json`), 400, "malformedRequestError")
	// Both schema hosts are accepted; no ?workspace= lands in the caller's personal workspace.
	r := f.do("POST", "/collections", DemoKey, minimalCollection("Both hosts"))
	wantStatus(t, r, 200)
	uid := r.str("collection", "uid")
	if !strings.HasPrefix(uid, fmt.Sprint(DemoUserID)+"-") || r.str("collection", "name") != "Both hosts" {
		t.Fatalf("created %s", r.Raw)
	}
	personal := f.uid("workspace", "My Workspace")
	found := false
	for _, c := range f.do("GET", "/collections?workspace="+personal, DemoKey, nil).arr("collections") {
		found = found || dig(c, "uid") == uid
	}
	if !found {
		t.Fatal("collection did not land in the personal workspace")
	}
	wantStatus(t, f.do("POST", "/collections?workspace="+f.uid("workspace", DemoWorkspaceGlobex), DemoKey, minimalCollection("x")), 403)
}

func TestCollectionRoundTripAndPut(t *testing.T) {
	f := demo(t)
	created := f.do("POST", "/collections", DemoKey, map[string]any{"collection": map[string]any{
		"info": map[string]any{"name": "Round trip", "description": "d", "schema": "https://schema.postman.com/json/collection/v2.1.0/collection.json"},
		"item": []any{
			map[string]any{"name": "Folder", "item": []any{map[string]any{"name": "Inner", "request": map[string]any{"method": "POST", "url": "https://x/y",
				"body": map[string]any{"mode": "raw", "raw": "{\"n\": 1.50}"}}}}},
			map[string]any{"name": "Top", "request": "https://x/top"},
		},
		"variable": []any{map[string]any{"key": "n", "value": json.Number("12345678901234567890")}},
	}})
	wantStatus(t, created, 200)
	uid := created.str("collection", "uid")
	got := f.do("GET", "/collections/"+uid, DemoKey, nil)
	folderID := got.str("collection", "item", 0, "id")
	innerID := got.str("collection", "item", 0, "item", 0, "id")
	if folderID == "" || innerID == "" || got.str("collection", "item", 0, "uid") != fmt.Sprintf("%d-%s", DemoUserID, folderID) {
		t.Fatalf("items lack ids/uids: %s", got.Raw)
	}
	if !strings.Contains(string(got.Raw), "12345678901234567890") {
		t.Fatal("a large number lost precision")
	}
	min := f.do("GET", "/collections/"+uid+"?model=minimal", DemoKey, nil)
	if len(min.arr("collection", "rootLevelFolders")) != 1 || len(min.arr("collection", "rootLevelRequests")) != 1 || min.get("collection", "item") != nil {
		t.Fatalf("minimal: %s", min.Raw)
	}

	// PUT: the folder keeps its id, the request sent without one gets a new id.
	f.clk.Advance(time.Minute)
	put := f.do("PUT", "/collections/"+uid, DemoKey, map[string]any{"collection": map[string]any{
		"info": map[string]any{"_postman_id": bareID(uid), "name": "Round trip v2", "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},
		"item": []any{map[string]any{"id": folderID, "name": "Folder", "item": []any{map[string]any{"name": "Inner", "request": map[string]any{"method": "GET", "url": "https://x/y"}}}}},
	}})
	wantStatus(t, put, 200)
	if put.str("collection", "name") != "Round trip v2" || put.str("collection", "uid") != uid {
		t.Fatalf("put reply %s", put.Raw)
	}
	after := f.do("GET", "/collections/"+uid, DemoKey, nil)
	if after.str("collection", "item", 0, "id") != folderID {
		t.Fatal("PUT changed a kept item id")
	}
	if id := after.str("collection", "item", 0, "item", 0, "id"); id == innerID || id == "" {
		t.Fatalf("item without id kept %q", id)
	}
	if len(after.arr("collection", "item")) != 1 || after.get("collection", "variable") != nil {
		t.Fatalf("PUT is not a full replace: %s", after.Raw)
	}
	if after.str("collection", "item", 0, "createdAt") != got.str("collection", "item", 0, "createdAt") ||
		after.str("collection", "info", "updatedAt") == got.str("collection", "info", "updatedAt") {
		t.Fatal("timestamps: kept items keep createdAt, the collection's updatedAt moves")
	}

	patch := f.do("PATCH", "/collections/"+uid, DemoKey, `{"collection":{"info":{"name":"Patched"},"variable":[{"key":"a","value":"b"}],"auth":{"type":"bearer","bearer":[{"key":"token","value":"{{t}}"}]},"events":[{"listen":"test","script":{"id":"s1","type":"text/javascript","exec":[""]}}]}}`)
	wantStatus(t, patch, 200)
	if patch.get("collection", "uid") != nil || patch.str("collection", "name") != "Patched" {
		t.Fatalf("patch reply %s", patch.Raw)
	}
	after = f.do("GET", "/collections/"+uid, DemoKey, nil)
	if after.str("collection", "auth", "type") != "bearer" || after.str("collection", "variable", 0, "key") != "a" ||
		after.str("collection", "event", 0, "script", "id") != "s1" || len(after.arr("collection", "item")) != 1 {
		t.Fatalf("patch did not apply: %s", after.Raw)
	}

	del := f.do("DELETE", "/collections/"+bareID(uid), DemoKey, nil)
	wantStatus(t, del, 200)
	if del.str("collection", "uid") != uid {
		t.Fatalf("delete reply %s", del.Raw)
	}
	wantError(t, f.do("GET", "/collections/"+uid, DemoKey, nil), 404, "instanceNotFoundError")
	r := f.do("DELETE", "/collections/"+uid, DemoKey, nil)
	wantError(t, r, 404, "instanceNotFoundError")
	if r.str("error", "details", "item") != "collection" {
		t.Fatalf("details %s", r.Raw)
	}
}

func TestPatchCollectionErrors(t *testing.T) {
	f := demo(t)
	uid := f.uid("collection", DemoCollectionSmoke)
	cases := []struct{ body, name, message string }{
		{`{"collection":{}}`, "paramMissingError", "'info' key is mandatory when 'collection' is empty."},
		{`{"collection":{"item":[]}}`, "badRequest", "Invalid parameters: ('item') for key: 'collection'"},
		{`{"collection":{"info":{"schema":"x"}}}`, "badRequest", "Invalid parameters: ('schema') for key: 'collection.info'"},
		{`{"collection":{"auth":{"type":"apikey"}}}`, "paramMissingError", "The key 'apikey' must be present in 'collection.auth' when 'type' is 'apikey'."},
		{`{"collection":{"variable":[{"key":"a"}]}}`, "badRequest", "Parameters required: ('value') for key: 'collection.variables'"},
		{`{"collection":{"variable":[{"key":"a","value":"b","property":1}]}}`, "badRequest", "Invalid parameters: ('property') for key: 'collection.variables'"},
		{`{"collection":{"events":[{"listen":"test","script":{"id":"x"}}]}}`, "badRequest", "Parameters required: ('type', 'exec') for key: 'collection.events.script'"},
		{`{"collection":{"events":[{"listen":"test","script":{"id":"x","type":"t","exec":[],"property":1}}]}}`, "badRequest", "Invalid parameters: ('property') for key: 'collection.events.script'"},
		{`{"collection":{"events":[{"listen":"test","script":{"type":"t","exec":[]}}]}}`, "badRequest", "Invalid parameters: ('id') for key: 'collection.events'"},
	}
	for _, c := range cases {
		r := f.do("PATCH", "/collections/"+uid, DemoKey, c.body)
		wantError(t, r, 400, c.name)
		if r.str("error", "message") != c.message {
			t.Fatalf("%s: message %q, want %q", c.body, r.str("error", "message"), c.message)
		}
	}
	if f.do("GET", "/collections/"+uid, DemoKey, nil).str("collection", "info", "name") != DemoCollectionSmoke {
		t.Fatal("a rejected PATCH changed the collection")
	}
}

func TestAsyncPutTaskAndConflict(t *testing.T) {
	f := newFixture(t, Options{AsyncUpdateDelay: 5 * time.Second})
	uid := f.uid("collection", DemoCollectionSmoke)
	r := f.do("PUT", "/collections/"+uid, DemoKey, minimalCollection("Async v2"), withHeader("Prefer", "respond-async"))
	wantStatus(t, r, 202)
	task := r.str("task", "id")
	if r.str("task", "status") != "in-progress" || task == "" {
		t.Fatalf("task %s", r.Raw)
	}
	poll := func(key string) *resp { return f.do("GET", "/collection-updates-tasks/"+task, key, nil) }
	if p := poll(DemoKey); p.str("status") != "in-progress" || p.str("id") != task {
		t.Fatalf("poll %s", p.Raw)
	}
	if f.do("GET", "/collections/"+uid, DemoKey, nil).str("collection", "info", "name") != DemoCollectionSmoke {
		t.Fatal("the async update applied before its task finished")
	}
	wantProblem(t, f.do("PUT", "/collections/"+uid, DemoKey, minimalCollection("Sync")), 409, "Deep update operation is already in progress for this collection.")
	wantStatus(t, f.do("PUT", "/collections/"+uid, DemoKey, minimalCollection("Again"), withHeader("Prefer", "respond-async")), 409)
	wantStatus(t, poll(OtherTeamKey), 404)
	wantStatus(t, poll(DemoTeammateKey), 200)

	f.clk.Advance(5 * time.Second)
	if p := poll(DemoKey); p.str("status") != "successful" {
		t.Fatalf("after the delay: %s", p.Raw)
	}
	if f.do("GET", "/collections/"+uid, DemoKey, nil).str("collection", "info", "name") != "Async v2" {
		t.Fatal("the async update did not apply")
	}
	wantStatus(t, f.do("PUT", "/collections/"+uid, DemoKey, minimalCollection("Sync")), 200)

	// A task whose collection disappears fails.
	r = f.do("PUT", "/collections/"+uid, DemoKey, minimalCollection("Doomed"), withHeader("Prefer", "respond-async"))
	task = r.str("task", "id")
	wantStatus(t, f.do("DELETE", "/collections/"+uid, DemoKey, nil), 200)
	f.clk.Advance(5 * time.Second)
	if p := poll(DemoKey); p.str("status") != "failed" {
		t.Fatalf("orphaned task: %s", p.Raw)
	}
}

func TestGeneratedCollection(t *testing.T) {
	f := demo(t)
	uid, err := f.e.AddGeneratedCollection(DemoKey, "", "Bench 4000", 4000)
	if err != nil {
		t.Fatal(err)
	}
	r := f.do("GET", "/collections/"+uid, DemoKey, nil)
	wantStatus(t, r, 200)
	var reqs []flatRequest
	flattenRequests(r.arr("collection", "item"), nil, &reqs)
	if len(reqs) != 4000 {
		t.Fatalf("%d requests, want 4000", len(reqs))
	}
	if _, err := f.e.AddGeneratedCollection("PMAK-nobody", "", "x", 1); err == nil {
		t.Fatal("unknown key accepted")
	}
	if _, err := f.e.AddGeneratedCollection(DemoKey, f.uid("workspace", DemoWorkspaceGlobex), "x", 1); err == nil {
		t.Fatal("another team's workspace accepted")
	}
	payments := f.do("GET", "/collections/"+f.uid("collection", DemoCollectionPayments), DemoKey, nil)
	reqs = nil
	flattenRequests(payments.arr("collection", "item"), nil, &reqs)
	if len(reqs) < 280 || len(reqs) > 320 {
		t.Fatalf("Payments API has %d requests, want about 300", len(reqs))
	}
}

func TestDemoDataIsStable(t *testing.T) {
	a, b := demo(t), demo(t)
	for _, kind := range []string{"workspace", "collection", "environment", "monitor", "mock"} {
		for _, name := range map[string][]string{
			"workspace": {DemoWorkspacePayments}, "collection": {DemoCollectionPayments, DemoCollectionOrders},
			"environment": {"staging", "production", "local"}, "monitor": {DemoMonitorPassing, DemoMonitorFlaky}, "mock": {"Orders mock"},
		}[kind] {
			if a.uid(kind, name) != b.uid(kind, name) {
				t.Fatalf("%s %q has a different id in a second emulator", kind, name)
			}
		}
	}
	ra := a.do("GET", "/collections/"+a.uid("collection", DemoCollectionPayments), DemoKey, nil)
	rb := b.do("GET", "/collections/"+b.uid("collection", DemoCollectionPayments), DemoKey, nil)
	if string(ra.Raw) != string(rb.Raw) {
		t.Fatal("the demo Payments API differs between two emulators on the same clock")
	}
	// Objects created at runtime get deterministic IDs too.
	ca := a.do("POST", "/collections", DemoKey, minimalCollection("x")).str("collection", "id")
	cb := b.do("POST", "/collections", DemoKey, minimalCollection("x")).str("collection", "id")
	if ca != cb {
		t.Fatal("runtime IDs are not deterministic")
	}
}

func TestBodyCap(t *testing.T) {
	f := newFixture(t, Options{MaxBodyBytes: 1024})
	big := strings.Repeat("x", 2048)
	body := `{"collection":{"info":{"name":"` + big + `","schema":"https://schema.postman.com/json/collection/v2.1.0/collection.json"},"item":[]}}`
	wantStatus(t, f.do("POST", "/collections", DemoKey, body), 413)
	wantStatus(t, f.do("POST", "/environments", DemoKey, `{"environment":{"name":"`+big+`"}}`), 413)
	wantStatus(t, f.do("POST", "/collections", DemoKey, body, chunked()), 413)
}
