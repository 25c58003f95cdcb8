package tools

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
)

// itemFixture is the demo emulator behind a real client, counting the requests that could change something.
type itemFixture struct {
	*fixture
	writes atomic.Int64
}

func newItemFixture(t *testing.T) *itemFixture {
	t.Helper()
	emu := emulator.New(emulator.Options{RoutePerWindow: 10_000})
	f := &itemFixture{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			f.writes.Add(1)
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })
	gate := ratelimit.New(srv.Client().Transport, ratelimit.Options{Cache: api.CacheRules()})
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: srv.URL, Gate: gate})
	if err != nil {
		t.Fatal(err)
	}
	f.fixture = &fixture{emu: emu, srv: srv, env: &Env{Client: c, Budget: c.RateBudget, Runs: NewRunLog(16)}}
	return f
}

// edit calls edit_collection_item on the demo "Payments API" and returns its change, failing on an error.
func (f *itemFixture) edit(t *testing.T, args map[string]any) ItemChange {
	t.Helper()
	if _, ok := args["collection"]; !ok {
		args["collection"] = "Payments API"
	}
	return f.mustCall(t, "edit_collection_item", args).(ItemChange)
}

// editErr calls edit_collection_item and wants a tool error of kind, with nothing written.
func (f *itemFixture) editErr(t *testing.T, kind Kind, args map[string]any, wantIn ...string) *Error {
	t.Helper()
	if _, ok := args["collection"]; !ok {
		args["collection"] = "Payments API"
	}
	before := f.writes.Load()
	_, err := f.call(t, "edit_collection_item", args)
	te, ok := AsError(err)
	if !ok || te.Kind != kind {
		t.Fatalf("%v: err = %v, want a %s error", args, err, kind)
	}
	for _, w := range wantIn {
		if !strings.Contains(te.Error(), w) {
			t.Errorf("error lacks %q: %s", w, te.Error())
		}
	}
	if n := f.writes.Load() - before; n != 0 {
		t.Errorf("refused, yet %d writes were sent", n)
	}
	return te
}

// outline returns the Payments API outline, every row, by "path/name".
func (f *itemFixture) outline(t *testing.T) (CollectionView, map[string]OutlineRow) {
	t.Helper()
	v := f.mustCall(t, "get_collection", map[string]any{"collection": "Payments API", "depth": 20, "limit": 500}).(CollectionView)
	if v.NextCursor != "" {
		t.Fatal("outline did not fit one page")
	}
	rows := map[string]OutlineRow{}
	for _, r := range v.Items {
		key := r.Name
		if r.Path != "" {
			key = r.Path + "/" + r.Name
		}
		rows[key] = r
	}
	return v, rows
}

func (f *itemFixture) request(t *testing.T, id string) *RequestDetail {
	t.Helper()
	return f.mustCall(t, "get_collection", map[string]any{"collection": "Payments API", "request": id}).(CollectionView).Request
}

func TestEditRequestLifecycle(t *testing.T) {
	f := newItemFixture(t)
	before, _ := f.outline(t)

	// add: every part a request can carry, into a folder named by path.
	add := f.edit(t, map[string]any{"action": "add", "kind": "request", "parent": "Accounts/Happy path",
		"name": "Health probe", "method": "post", "url": "{{baseUrl}}/health?apikey=sk_live_query_secret&verbose=1",
		"headers":    map[string]any{"X-Trace": "on", "Authorization": "Bearer sk_live_header_secret"},
		"body":       `{"password":"hunter2-body-secret","user":"ann"}`,
		"auth":       map[string]any{"type": "bearer", "token": "sk_live_auth_secret"},
		"tests":      "pm.test(\"status is 201\", function () {\n  pm.response.to.have.status(201);\n});",
		"prerequest": "console.log('go');"})
	if !add.Done || add.Item.ID == "" || add.Item.Name != "Health probe" {
		t.Fatalf("add: %+v", add)
	}
	if add.Collection.Name != "Payments API" || !strings.Contains(add.Collection.ID, "-") {
		t.Errorf("collection not named by name and UID: %+v", add.Collection)
	}
	if add.Folder == nil || add.Folder.Name != "Accounts/Happy path" || add.Folder.ID == "" {
		t.Errorf("folder not named: %+v", add.Folder)
	}
	text := add.Text()
	b, _ := json.Marshal(add)
	for _, secret := range []string{"sk_live_query_secret", "sk_live_header_secret", "hunter2-body-secret", "sk_live_auth_secret"} {
		if strings.Contains(text, secret) || strings.Contains(string(b), secret) {
			t.Errorf("secret %s shown: %s", secret, text)
		}
	}
	for _, want := range []string{"+ method: POST", "apikey=" + masked, "verbose=1", "+ header X-Trace: on", "+ test: pm.test", "+ auth: bearer token=" + masked} {
		if !strings.Contains(text, want) {
			t.Errorf("add result lacks %q:\n%s", want, text)
		}
	}
	after, rows := f.outline(t)
	if after.Requests != before.Requests+1 {
		t.Errorf("requests %d → %d, want one more", before.Requests, after.Requests)
	}
	if r, ok := rows["Accounts/Happy path/Health probe"]; !ok || r.ID != add.Item.ID || r.Method != "POST" {
		t.Fatalf("new request not in the outline where placed: %+v", r)
	}
	got := f.request(t, add.Item.ID)
	if got.Auth != "bearer" || len(got.Tests) != 3 || !strings.Contains(got.URL, "verbose=1") {
		t.Errorf("stored request: %+v", got)
	}

	// update: preview unless confirm, a diff of only what changes; headers and query merge.
	upd := map[string]any{"action": "update", "kind": "request", "item": add.Item.ID,
		"tests":   "pm.test(\"status is 200\", function () {\n  pm.response.to.have.status(200);\n});",
		"headers": map[string]any{"X-Trace": ""}, "query": map[string]any{"verbose": "2"}}
	writes := f.writes.Load()
	prev := f.edit(t, upd)
	if prev.Done || f.writes.Load() != writes {
		t.Fatalf("update without confirm wrote: %+v", prev)
	}
	pt := prev.Text()
	for _, want := range []string{"PREVIEW", "- test: pm.test(\"status is 201\"", "+ test: pm.test(\"status is 200\"", "- header X-Trace: on", "~ url:", "verbose=2", "confirm=true"} {
		if !strings.Contains(pt, want) {
			t.Errorf("update preview lacks %q:\n%s", want, pt)
		}
	}
	if strings.Contains(pt, "prerequest") || strings.Contains(pt, "method") {
		t.Errorf("preview shows fields that do not change:\n%s", pt)
	}
	upd["confirm"] = true
	if done := f.edit(t, upd); !done.Done {
		t.Fatalf("update not done: %+v", done)
	}
	got = f.request(t, add.Item.ID)
	if !strings.Contains(strings.Join(got.Tests, "\n"), "status(200)") || strings.Contains(strings.Join(got.Headers, "\n"), "X-Trace") ||
		!strings.Contains(got.URL, "verbose=2") || got.Auth != "bearer" {
		t.Errorf("after update: %+v", got)
	}

	// move: preview, then copy into the new place and delete the old one.
	mv := map[string]any{"action": "move", "kind": "request", "item": "Accounts/Happy path/Health probe", "parent": "Customers"}
	writes = f.writes.Load()
	prev = f.edit(t, mv)
	if prev.Done || f.writes.Load() != writes || !strings.Contains(prev.Text(), "~ place: Accounts/Happy path → Customers") ||
		!strings.Contains(prev.Text(), "new ID") {
		t.Fatalf("move preview: %s", prev.Text())
	}
	mv["confirm"] = true
	moved := f.edit(t, mv)
	if !moved.Done || moved.Item.ID == add.Item.ID || moved.Folder.Name != "Customers" {
		t.Fatalf("move: %+v", moved)
	}
	_, rows = f.outline(t)
	if _, ok := rows["Accounts/Happy path/Health probe"]; ok {
		t.Error("the original is still there after the move")
	}
	if r, ok := rows["Customers/Health probe"]; !ok || r.ID != moved.Item.ID {
		t.Fatalf("moved request not in Customers: %+v", r)
	}
	got = f.request(t, moved.Item.ID)
	if got.Auth != "bearer" || !strings.Contains(strings.Join(got.Tests, "\n"), "status(200)") || got.Method != "POST" {
		t.Errorf("the move lost content: %+v", got)
	}

	// delete: preview with what goes, then delete.
	del := map[string]any{"action": "delete", "kind": "request", "item": "Customers/Health probe"}
	writes = f.writes.Load()
	prev = f.edit(t, del)
	if prev.Done || f.writes.Load() != writes || !strings.Contains(prev.Text(), "- Health probe: POST {{baseUrl}}/health") ||
		!strings.Contains(prev.Text(), moved.Item.ID) || !strings.Contains(prev.Text(), "Payments API") {
		t.Fatalf("delete preview: %s", prev.Text())
	}
	del["confirm"] = true
	if d := f.edit(t, del); !d.Done {
		t.Fatalf("delete: %+v", d)
	}
	final, rows := f.outline(t)
	if _, ok := rows["Customers/Health probe"]; ok || final.Requests != before.Requests {
		t.Errorf("after delete: %d requests (want %d)", final.Requests, before.Requests)
	}
}

func TestEditFolderLifecycle(t *testing.T) {
	f := newItemFixture(t)
	before, _ := f.outline(t)
	add := f.edit(t, map[string]any{"action": "add", "kind": "folder", "name": "Smoke", "parent": "Accounts",
		"tests": "pm.test('ok', () => {});"})
	if !add.Done || add.Item.ID == "" || add.Folder.Name != "Accounts" {
		t.Fatalf("add folder: %+v", add)
	}
	req := f.edit(t, map[string]any{"action": "add", "kind": "request", "parent": add.Item.ID, "name": "Ping", "url": "{{baseUrl}}/ping"})
	f.edit(t, map[string]any{"action": "add", "kind": "example", "parent": req.Item.ID, "name": "pong", "status": 200, "body": "pong"})

	ren := map[string]any{"action": "update", "kind": "folder", "item": "Accounts/Smoke", "name": "Smoke tests"}
	if p := f.edit(t, ren); p.Done || !strings.Contains(p.Text(), "~ name: Smoke → Smoke tests") {
		t.Fatalf("rename preview: %s", p.Text())
	}
	ren["confirm"] = true
	f.edit(t, ren)

	// Move the folder with its request and example to the root.
	mv := f.edit(t, map[string]any{"action": "move", "kind": "folder", "item": "Smoke tests", "confirm": true})
	if !mv.Done || mv.Folder.Name != "(root)" {
		t.Fatalf("move folder: %+v", mv)
	}
	_, rows := f.outline(t)
	if _, ok := rows["Accounts/Smoke tests"]; ok {
		t.Error("original folder still there")
	}
	ping, ok := rows["Smoke tests/Ping"]
	if !ok {
		t.Fatal("the moved folder lost its request")
	}
	ex, err := f.env.Client.GetCollectionRequest(t.Context(), f.emuUID(t), ping.ID, api.GetItemOptions{})
	if err != nil || len(ex.Data.ResponsesOrder) != 1 {
		t.Errorf("the moved request lost its example: %v %+v", err, ex.Data.ResponsesOrder)
	}
	fold, err := f.env.Client.GetCollectionFolder(t.Context(), f.emuUID(t), mv.Item.ID, api.GetItemOptions{})
	if err != nil || len(fold.Data.Events) != 1 {
		t.Errorf("the moved folder lost its script: %v %+v", err, fold.Data)
	}

	f.editErr(t, KindInvalid, map[string]any{"action": "move", "kind": "folder", "item": "Accounts", "parent": "Accounts/Validation", "confirm": true}, "into itself")

	del := map[string]any{"action": "delete", "kind": "folder", "item": "Smoke tests"}
	if p := f.edit(t, del); p.Done || !strings.Contains(p.Text(), "1 request, 0 sub-folders and 1 saved example") {
		t.Fatalf("delete folder preview: %s", p.Text())
	}
	del["confirm"] = true
	f.edit(t, del)
	after, _ := f.outline(t)
	if after.Requests != before.Requests || after.Folders != before.Folders {
		t.Errorf("after delete: %d requests, %d folders; want %d, %d", after.Requests, after.Folders, before.Requests, before.Folders)
	}
}

func (f *itemFixture) emuUID(t *testing.T) string {
	uid, ok := f.emu.UIDByName("collection", "Payments API")
	if !ok {
		t.Fatal("no Payments API")
	}
	return uid
}

func TestEditExampleLifecycle(t *testing.T) {
	f := newItemFixture(t)
	add := f.edit(t, map[string]any{"action": "add", "kind": "example", "parent": "Health check", "name": "down",
		"status": 503, "body": `{"status":"down"}`, "headers": map[string]any{"Retry-After": "30"}})
	if !add.Done || add.Item.ID == "" || !strings.Contains(add.Text(), "+ status: 503") {
		t.Fatalf("add example: %s", add.Text())
	}
	upd := map[string]any{"action": "update", "kind": "example", "item": "Health check/down", "status": 500, "confirm": true}
	if u := f.edit(t, upd); !u.Done || !strings.Contains(u.Text(), "~ status: 503 → 500") {
		t.Fatalf("update example: %s", u.Text())
	}
	mv := f.edit(t, map[string]any{"action": "move", "kind": "example", "item": add.Item.ID, "parent": "API version", "confirm": true})
	if !mv.Done || mv.Item.ID == add.Item.ID {
		t.Fatalf("move example: %+v", mv)
	}
	got, err := f.env.Client.GetCollectionResponse(t.Context(), f.emuUID(t), mv.Item.ID, api.GetItemOptions{})
	if err != nil || got.Data.ResponseCode == nil || got.Data.ResponseCode.Code != 500 || deref(got.Data.Text) != `{"status":"down"}` {
		t.Fatalf("moved example: %v %+v", err, got.Data)
	}
	if _, err := f.env.Client.GetCollectionResponse(t.Context(), f.emuUID(t), add.Item.ID, api.GetItemOptions{}); !api.IsNotFound(err) {
		t.Errorf("the original example survived the move: %v", err)
	}
	f.editErr(t, KindNotFound, map[string]any{"action": "delete", "kind": "example", "item": "Health check/down"})
	if d := f.edit(t, map[string]any{"action": "delete", "kind": "example", "item": "API version/down", "confirm": true}); !d.Done {
		t.Fatalf("delete example: %+v", d)
	}
}

// TestEditRefusals: names that are partial, ambiguous or unknown, and arguments that do not apply, change nothing.
func TestEditRefusals(t *testing.T) {
	f := newItemFixture(t)
	tests := []struct {
		name   string
		kind   Kind
		args   map[string]any
		wantIn []string
	}{
		{"partial request name", KindNotFound, map[string]any{"action": "delete", "kind": "request", "item": "Health", "confirm": true},
			[]string{"did you mean", "Health check", "Payments API"}},
		{"partial collection name", KindNotFound, map[string]any{"collection": "Payments A", "action": "delete", "kind": "request", "item": "Health check", "confirm": true},
			[]string{"did you mean", "Payments API"}},
		{"ambiguous folder", KindAmbiguous, map[string]any{"action": "add", "kind": "request", "name": "x", "url": "http://x", "parent": "Happy path"},
			[]string{"Happy path", "matches"}},
		{"unknown folder", KindNotFound, map[string]any{"action": "add", "kind": "request", "name": "x", "url": "http://x", "parent": "No such folder"},
			[]string{"no folder", "No such folder"}},
		{"unknown request for an example", KindNotFound, map[string]any{"action": "add", "kind": "example", "name": "x", "parent": "Nope nope"}, nil},
		{"body on delete", KindInvalid, map[string]any{"action": "delete", "kind": "request", "item": "Health check", "body": "x"}, []string{"body does not apply"}},
		{"folder on update", KindInvalid, map[string]any{"action": "update", "kind": "request", "item": "Health check", "parent": "Accounts"}, []string{"move"}},
		{"no item", KindInvalid, map[string]any{"action": "update", "kind": "request", "name": "y"}, []string{"needs item"}},
		{"add without url", KindInvalid, map[string]any{"action": "add", "kind": "request", "name": "y"}, []string{"url"}},
		{"nothing changes", KindInvalid, map[string]any{"action": "update", "kind": "request", "item": "Health check", "method": "GET", "confirm": true}, []string{"nothing to update"}},
		{"bad auth field", KindInvalid, map[string]any{"action": "update", "kind": "request", "item": "Health check", "auth": map[string]any{"type": "bearer", "password": "x"}}, []string{"does not apply to bearer"}},
		{"status out of range", KindInvalid, map[string]any{"action": "add", "kind": "example", "parent": "Health check", "name": "x", "status": 42}, []string{"100-599"}},
		{"move to where it is", KindInvalid, map[string]any{"action": "move", "kind": "request", "item": "Health check", "confirm": true}, []string{"already in"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.editErr(t, tc.kind, tc.args, tc.wantIn...)
		})
	}
	// A name differing only in case and padding is the whole name: accepted.
	if p := f.edit(t, map[string]any{"collection": "  payments api ", "action": "delete", "kind": "request", "item": " HEALTH CHECK "}); p.Done || p.Item.Name != "Health check" {
		t.Fatalf("whole name in other case: %+v", p)
	}
}

// TestEditPreviewGolden pins the text an assistant reads before confirming: the diff of an update (secrets
// masked) and what a folder delete takes away.
func TestEditPreviewGolden(t *testing.T) {
	f := newItemFixture(t)
	upd := f.edit(t, map[string]any{"action": "update", "kind": "request", "item": "Get OAuth token", "method": "PUT",
		"headers": map[string]any{"Authorization": "Bearer sk_live_golden", "X-Request-Id": "{{$guid}}"},
		"query":   map[string]any{"api_key": "sk_live_query"},
		"auth":    map[string]any{"type": "basic", "username": "svc", "password": "sk_live_password"},
		"tests":   "pm.test(\"token issued\", function () {\n    pm.response.to.have.status(200);\n});"})
	del := f.edit(t, map[string]any{"action": "delete", "kind": "folder", "item": "Accounts/Validation"})
	mv := f.edit(t, map[string]any{"action": "move", "kind": "request", "item": "Health check", "parent": "Customers/Happy path"})
	golden(t, "edit_collection_item_previews.txt", upd.Text()+"\n"+del.Text()+"\n"+mv.Text())
	if f.writes.Load() != 0 {
		t.Errorf("previews wrote %d times", f.writes.Load())
	}
}

// TestEditMoveIsSafe: a move copies before it deletes, so a failure leaves the original in place and says what
// exists; a failed delete after a complete copy says both exist and how to remove the original.
func TestEditMoveIsSafe(t *testing.T) {
	f := newItemFixture(t)
	_, rows := f.outline(t)
	orig := rows["API version"]

	// The copy fails at the example: the original stays, the error names the incomplete copy.
	id := f.emu.SetFault(emulator.Fault{Kind: emulator.FaultServerError, Route: "POST /collections/{collectionId}/responses", Times: 1})
	_, err := f.call(t, "edit_collection_item", map[string]any{"collection": "Payments API", "action": "move", "kind": "request",
		"item": "API version", "parent": "Customers", "confirm": true})
	f.emu.ClearFault(id)
	if err == nil || !strings.Contains(err.Error(), "original is unchanged") || !strings.Contains(err.Error(), "incomplete copy") {
		t.Fatalf("copy failure: %v", err)
	}
	_, rows = f.outline(t)
	if r, ok := rows["API version"]; !ok || r.ID != orig.ID {
		t.Fatal("the original went away after a failed copy")
	}

	// The delete of the original fails: both exist, and the error says which one to delete.
	id = f.emu.SetFault(emulator.Fault{Kind: emulator.FaultServerError, Route: "DELETE /collections/{collectionId}/requests/{requestId}"})
	_, err = f.call(t, "edit_collection_item", map[string]any{"collection": "Payments API", "action": "move", "kind": "request",
		"item": orig.ID, "parent": "Accounts", "confirm": true})
	f.emu.ClearFault(id)
	if err == nil || !strings.Contains(err.Error(), "both exist") || !strings.Contains(err.Error(), "item="+orig.ID) {
		t.Fatalf("delete failure: %v", err)
	}
	_, rows = f.outline(t)
	if _, ok := rows["Accounts/API version"]; !ok {
		t.Error("the complete copy is missing")
	}
	if _, ok := rows["API version"]; !ok {
		t.Error("the original is missing though its delete failed")
	}
}

// TestEditFolderMoveFailsHalfWay: a folder copy that fails inside names the outer incomplete copy to delete.
func TestEditFolderMoveFailsHalfWay(t *testing.T) {
	f := newItemFixture(t)
	id := f.emu.SetFault(emulator.Fault{Kind: emulator.FaultServerError, Route: "POST /collections/{collectionId}/responses", Times: 1})
	_, err := f.call(t, "edit_collection_item", map[string]any{"collection": "Payments API", "action": "move", "kind": "folder",
		"item": "Accounts/Validation", "parent": "Customers", "confirm": true})
	f.emu.ClearFault(id)
	te, ok := AsError(err)
	if !ok || !strings.Contains(te.Message, "half-way") {
		t.Fatalf("err = %v", err)
	}
	_, rows := f.outline(t)
	cp, ok := rows["Customers/Validation"]
	if !ok || !strings.Contains(te.Hint, "item="+cp.ID) {
		t.Errorf("hint %q does not name the incomplete folder copy %+v", te.Hint, cp)
	}
	if _, ok := rows["Accounts/Validation"]; !ok {
		t.Error("the original folder is gone")
	}
}

// TestEditEchoesAreClipped: a huge name comes back clipped in the result, text and structured parts alike.
func TestEditEchoesAreClipped(t *testing.T) {
	f := newItemFixture(t)
	huge := strings.Repeat("ünïcødé-", 100_000)
	res := f.edit(t, map[string]any{"action": "add", "kind": "folder", "name": huge})
	b, _ := json.Marshal(res)
	if n := len(b) + len(res.Text()); n > 4000 {
		t.Errorf("result is %d bytes for an 800 KB name", n)
	}
}
