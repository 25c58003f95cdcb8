package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
)

// TestItemsThroughTheEmulator drives every collection-item, mock and globals method against the emulator and
// checks the collection document reflects the writes.
func TestItemsThroughTheEmulator(t *testing.T) {
	emu := emulator.New(emulator.Options{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	col, _ := emu.UIDByName("collection", emulator.DemoCollectionSmoke)

	folder, err := c.CreateCollectionFolder(ctx, col, api.CollectionFolder{Name: "Health", Description: ptr("Liveness")})
	if err != nil || folder.Data.ID == "" || folder.Meta["action"] != "import" {
		t.Fatalf("create folder: %+v %v", folder, err)
	}
	url := "{{baseUrl}}/ping"
	req, err := c.CreateCollectionRequest(ctx, col, api.CollectionRequest{Name: "Ping", Method: "POST", URL: &url,
		HeaderData: []api.ItemParam{{Key: "X-Trace", Value: "1"}}, DataMode: "raw", RawModeData: ptr(`{"ping":true}`),
		Auth:   api.NewAuth("bearer", map[string]string{"token": "{{accessToken}}"}),
		Events: []api.Event{{Listen: "test", Script: &api.Script{Exec: api.Lines{`pm.test("ok", () => pm.response.to.have.status(200));`}}}},
	}, api.CreateRequestOptions{FolderID: folder.Data.ID})
	if err != nil || req.Data.Folder == nil || *req.Data.Folder != folder.Data.ID || req.Revision == 0 {
		t.Fatalf("create request: %+v %v", req, err)
	}
	resp, err := c.CreateCollectionResponse(ctx, col, req.Data.ID, api.CollectionResponse{Name: "Pong",
		ResponseCode: &api.ResponseCode{Code: 200, Name: "OK"}, Text: ptr(`{"pong":true}`), Language: "json"})
	if err != nil || resp.Data.Request != req.Data.ID {
		t.Fatalf("create response: %+v %v", resp, err)
	}
	got, err := c.GetCollectionRequest(ctx, col, req.Data.ID, api.GetItemOptions{})
	if err != nil || got.Data.Method != "POST" || len(got.Data.Events) != 1 || len(got.Data.ResponsesOrder) != 1 || len(got.Data.HeaderData) != 1 {
		t.Fatalf("get request: %+v %v", got.Data, err)
	}
	if _, err := c.UpdateCollectionRequest(ctx, col, req.Data.ID, api.CollectionRequest{Name: "Ping v2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateCollectionFolder(ctx, col, folder.Data.ID, api.CollectionFolder{Name: "Liveness"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateCollectionResponse(ctx, col, resp.Data.ID, api.CollectionResponse{Name: "Pong 200"}); err != nil {
		t.Fatal(err)
	}
	doc, err := c.GetCollection(ctx, col, api.GetCollectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last := doc.Item[len(doc.Item)-1]
	if last.Name != "Liveness" || len(last.Item) != 1 || last.Item[0].Name != "Ping v2" || len(last.Item[0].Response) != 1 {
		t.Fatalf("the collection document does not show the writes: %+v", last)
	}
	if r, err := c.GetCollectionResponse(ctx, col, resp.Data.ID, api.GetItemOptions{}); err != nil || r.Data.Name != "Pong 200" || *r.Data.Text != `{"pong":true}` {
		t.Fatalf("get response: %+v %v", r.Data, err)
	}
	for _, del := range []func() (api.ItemResult[api.ItemRef], error){
		func() (api.ItemResult[api.ItemRef], error) { return c.DeleteCollectionResponse(ctx, col, resp.Data.ID) },
		func() (api.ItemResult[api.ItemRef], error) { return c.DeleteCollectionRequest(ctx, col, req.Data.ID) },
		func() (api.ItemResult[api.ItemRef], error) { return c.DeleteCollectionFolder(ctx, col, folder.Data.ID) },
	} {
		if r, err := del(); err != nil || r.Meta["action"] != "destroy" {
			t.Fatalf("delete: %+v %v", r, err)
		}
	}
	if _, err := c.GetCollectionFolder(ctx, col, folder.Data.ID, api.GetItemOptions{}); !api.IsNotFound(err) {
		t.Fatalf("deleted folder: %v", err)
	}

	// Mocks and globals.
	ws, _ := emu.UIDByName("workspace", emulator.DemoWorkspacePayments)
	m, err := c.CreateMock(ctx, ws, api.MockInput{Collection: col, Name: "Smoke mock"})
	if err != nil || m.Name != "Smoke mock" || m.Collection != col {
		t.Fatalf("create mock: %+v %v", m, err)
	}
	m, err = c.UpdateMock(ctx, m.ID, api.MockUpdate{Name: "Smoke mock v2", Private: ptr(true)})
	if err != nil || m.Name != "Smoke mock v2" {
		t.Fatalf("update mock: %+v %v", m, err)
	}
	page, err := c.GetMockCallLogs(ctx, m.ID, api.CallLogOptions{}, "")
	if err != nil || len(page.Items) != 0 || page.Next != "" {
		t.Fatalf("call logs: %+v %v", page, err)
	}
	if ref, err := c.DeleteMock(ctx, m.ID); err != nil || ref.ID != m.ID {
		t.Fatalf("delete mock: %+v %v", ref, err)
	}
	vals, err := c.ReplaceGlobalVariables(ctx, ws, []api.GlobalVariable{{Key: "region", Value: "eu", Type: "default", Enabled: true}})
	if err != nil || len(vals) != 1 {
		t.Fatalf("put globals: %v %v", vals, err)
	}
	if vals, err = c.GetGlobalVariables(ctx, ws); err != nil || len(vals) != 1 || vals[0].Value != "eu" {
		t.Fatalf("get globals: %v %v", vals, err)
	}
	if _, err := c.GetGlobalVariables(ctx, "not-a-workspace"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("globals of an unknown workspace: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
