package emulator

import (
	"encoding/json"
	"strings"
	"testing"
)

// itemID finds a folder, request or saved response by name path ("Payments/Create payment intent") in a demo
// collection and returns its plain ID.
func (f *fixture) itemID(collection, path string) string {
	f.t.Helper()
	uid := f.uid("collection", collection)
	_, id, _ := splitRef(uid)
	f.e.mu.Lock()
	defer f.e.mu.Unlock()
	items := f.e.collections[id].items
	var found map[string]any
	for _, name := range strings.Split(path, "/") {
		found = nil
		for _, it := range items {
			m, _ := it.(map[string]any)
			if m["name"] == name {
				found = m
				break
			}
			for _, r := range params(m["response"]) {
				if r["name"] == name {
					found = r
				}
			}
			if found != nil {
				break
			}
		}
		if found == nil {
			f.t.Fatalf("no item %q in %s", path, collection)
		}
		items, _ = found["item"].([]any)
		if items == nil {
			items = []any{found}
		}
	}
	return found["id"].(string)
}

// Vendor request bodies (collection-items-and-mocks-operations.resolved.json).
const (
	vendorCreateRequest  = `{"name": "Example GET Request", "description": "This is an example GET request.", "url": "https://postman-echo.com/get?param=value", "method": "GET", "headers": [{"key": "Host", "value": "postman-echo.com"}, {"key": "user-agent", "value": "curl/7.88.1"}, {"key": "accept", "value": "*/*"}, {"key": "content-type", "value": "application/json"}], "queryParams": [{"key": "id", "value": "{{id}}", "equals": true, "description": "Optional. The user's ID.", "enabled": true}], "dataMode": "raw", "rawModeData": null, "dataOptions": {"raw": {"language": "json"}}}`
	vendorUpdateRequest  = `{"oauth": "noauth", "currentHelper": null, "helperAttributes": null, "owner": "12345678", "lastUpdatedBy": "12345678", "lastRevision": 32368133476, "folder": null, "collection": "c05fb60e-bb28-4e7b-9cf7-55ada6ab320c", "name": "Example POST Request", "dataMode": "raw", "data": null, "events": null, "rawModeData": "{\n    \"field\": \"Value\"\n}", "descriptionFormat": null, "description": "This is an example POST request.", "variables": null, "headers": null, "method": "POST", "pathVariables": null, "url": "https://postman-echo.com/post", "preRequestScript": null, "tests": null, "queryParams": [], "headerData": [], "pathVariableData": [], "protocolProfileBehavior": null, "dataDisabled": false, "responses_order": [], "createdAt": "2023-09-01T07:59:25+00:00", "updatedAt": "2023-09-01T09:29:54+00:00", "dataOptions": {"raw": {"language": "json"}}}`
	vendorCreateResponse = `{"name": "Example POST Response", "description": "This is an example POST response.", "url": "https://postman-echo.com/post", "method": "POST", "headers": [{"key": "Host", "value": "postman-echo.com"}, {"key": "content-type", "value": "application/json"}], "dataMode": "raw", "rawModeData": "{\n    \"field\": \"Value\"\n}", "dataOptions": {"raw": {"language": "json"}}}`
	vendorUpdateResponse = `{"name": "Example Response", "status": null, "responseCode": {"code": 200, "name": "OK"}, "time": "50", "headers": [{"key": "Date", "value": "Fri, 01 Sep 2023 07:36:18 GMT"}, {"key": "Content-Type", "value": "application/json; charset=utf-8"}], "cookies": null, "mime": null, "text": "{\"json\": {\"field\": \"Value\"}}", "language": "json", "rawDataType": null}`
)

func itemFidelityCases() []fidelityCase {
	col := func(f *fixture) string { return f.uid("collection", DemoCollectionSmoke) }
	colID := func(f *fixture) string { _, id, _ := splitRef(col(f)); return id }
	reqPath := func(f *fixture) string {
		return "/collections/" + colID(f) + "/requests/" + f.itemID(DemoCollectionSmoke, "Payments/List recent charges")
	}
	folderPath := func(f *fixture) string {
		return "/collections/" + colID(f) + "/folders/" + f.itemID(DemoCollectionSmoke, "Payments")
	}
	ordersFolder := func(f *fixture) string {
		_, id, _ := splitRef(f.uid("collection", DemoCollectionOrders))
		return "/collections/" + id + "/folders/" + f.itemID(DemoCollectionOrders, "Fulfilment")
	}
	withResponse := func(f *fixture) string {
		r := f.do("POST", "/collections/"+colID(f)+"/responses?request="+f.itemID(DemoCollectionSmoke, "Health check"), DemoKey, vendorCreateResponse)
		wantStatus(f.t, r, 200)
		return "/collections/" + colID(f) + "/responses/" + r.JSON.(map[string]any)["model_id"].(string)
	}
	missing := "/00000000-0000-4000-8000-000000000000"
	ws := func(f *fixture) string { u, _ := f.e.UIDByName("workspace", DemoWorkspacePayments); return u }
	return []fidelityCase{
		{name: "create request", op: "POST /collections/{collectionId}/requests", status: 200, example: "Collection Request Created",
			send: func(f *fixture) *resp {
				return f.do("POST", "/collections/"+colID(f)+"/requests", DemoKey, vendorCreateRequest)
			}},
		{name: "create request in folder by UID", op: "POST /collections/{collectionId}/requests", status: 200, send: func(f *fixture) *resp {
			return f.do("POST", "/collections/"+col(f)+"/requests?folderId="+f.itemID(DemoCollectionSmoke, "Payments"), DemoKey, `{"name":"x","method":"GET","url":"{{baseUrl}}/x"}`)
		}},
		{name: "create request duplicate", op: "POST /collections/{collectionId}/requests", status: 400, example: "Request Already Exists", send: func(f *fixture) *resp {
			return f.do("POST", "/collections/"+colID(f)+"/requests", DemoKey, map[string]any{"id": f.itemID(DemoCollectionSmoke, "Health check"), "name": "dup"})
		}},
		{name: "request", op: "GET /collections/{collectionId}/requests/{requestId}", status: 200, example: "Successful Response",
			send: func(f *fixture) *resp { return f.do("GET", reqPath(f), DemoKey, nil) }},
		{name: "request not found", op: "GET /collections/{collectionId}/requests/{requestId}", status: 404, example: "Not Found",
			send: func(f *fixture) *resp { return f.do("GET", "/collections/"+colID(f)+"/requests"+missing, DemoKey, nil) }},
		{name: "request of another team", op: "GET /collections/{collectionId}/requests/{requestId}", status: 404,
			send: func(f *fixture) *resp { return f.do("GET", reqPath(f), OtherTeamKey, nil) }},
		{name: "update request", op: "PUT /collections/{collectionId}/requests/{requestId}", status: 200, example: "Collection Request Updated",
			send: func(f *fixture) *resp { return f.do("PUT", reqPath(f), DemoKey, vendorUpdateRequest) }},
		{name: "update request not found", op: "PUT /collections/{collectionId}/requests/{requestId}", status: 404, example: "Not Found",
			send: func(f *fixture) *resp {
				return f.do("PUT", "/collections/"+colID(f)+"/requests"+missing, DemoKey, `{"name":"x"}`)
			}},
		{name: "delete request", op: "DELETE /collections/{collectionId}/requests/{requestId}", status: 200, example: "Request Deleted",
			send: func(f *fixture) *resp { return f.do("DELETE", reqPath(f), DemoKey, nil) }},
		{name: "delete request not found", op: "DELETE /collections/{collectionId}/requests/{requestId}", status: 404, example: "Not Found",
			send: func(f *fixture) *resp {
				return f.do("DELETE", "/collections/"+colID(f)+"/requests"+missing, DemoKey, nil)
			}},

		{name: "create folder", op: "POST /collections/{collectionId}/folders", status: 200, example: "Folder Created",
			send: func(f *fixture) *resp {
				return f.do("POST", "/collections/"+colID(f)+"/folders", DemoKey, `{"name": "Test Folder", "description": "This is a test collection folder."}`)
			}},
		{name: "create folder in missing parent", op: "POST /collections/{collectionId}/folders", status: 400, example: "Instance Not Found",
			send: func(f *fixture) *resp {
				return f.do("POST", "/collections/"+colID(f)+"/folders", DemoKey, `{"name": "Sub", "folder": "`+missing[1:]+`"}`)
			}},
		{name: "folder", op: "GET /collections/{collectionId}/folders/{folderId}", status: 200, example: "Successful Response",
			ignore: []string{"data.auth.apikey"}, send: func(f *fixture) *resp { return f.do("GET", ordersFolder(f), DemoKey, nil) }},
		{name: "folder not found", op: "GET /collections/{collectionId}/folders/{folderId}", status: 404, example: "Instance Not Found",
			send: func(f *fixture) *resp { return f.do("GET", "/collections/"+colID(f)+"/folders"+missing, DemoKey, nil) }},
		{name: "update folder", op: "PUT /collections/{collectionId}/folders/{folderId}", status: 200, example: "Folder Updated",
			send: func(f *fixture) *resp {
				return f.do("PUT", folderPath(f), DemoKey, `{"description": "This is a test folder."}`)
			}},
		{name: "update folder not found", op: "PUT /collections/{collectionId}/folders/{folderId}", status: 404, example: "Instance Not Found",
			send: func(f *fixture) *resp {
				return f.do("PUT", "/collections/"+colID(f)+"/folders"+missing, DemoKey, `{"name":"x"}`)
			}},
		{name: "delete folder", op: "DELETE /collections/{collectionId}/folders/{folderId}", status: 200, example: "Folder Deleted",
			send: func(f *fixture) *resp { return f.do("DELETE", folderPath(f), DemoKey, nil) }},
		{name: "delete folder not found", op: "DELETE /collections/{collectionId}/folders/{folderId}", status: 404, example: "Instance Not Found",
			send: func(f *fixture) *resp {
				return f.do("DELETE", "/collections/"+colID(f)+"/folders"+missing, DemoKey, nil)
			}},

		{name: "create response", op: "POST /collections/{collectionId}/responses", status: 200, example: "Collection Response Created",
			send: func(f *fixture) *resp {
				return f.do("POST", "/collections/"+colID(f)+"/responses?request="+f.itemID(DemoCollectionSmoke, "Health check"), DemoKey, vendorCreateResponse)
			}},
		{name: "create response for a missing request", op: "POST /collections/{collectionId}/responses", status: 400, example: "Change Parent Error",
			send: func(f *fixture) *resp {
				return f.do("POST", "/collections/"+colID(f)+"/responses?request="+missing[1:], DemoKey, vendorCreateResponse)
			}},
		{name: "response", op: "GET /collections/{collectionId}/responses/{responseId}", status: 200, example: "Successful Response",
			send: func(f *fixture) *resp { return f.do("GET", withResponse(f), DemoKey, nil) }},
		{name: "response not found", op: "GET /collections/{collectionId}/responses/{responseId}", status: 404, example: "Instance Not Found",
			send: func(f *fixture) *resp {
				return f.do("GET", "/collections/"+colID(f)+"/responses"+missing, DemoKey, nil)
			}},
		{name: "update response", op: "PUT /collections/{collectionId}/responses/{responseId}", status: 200, example: "Collection Response Updated",
			send: func(f *fixture) *resp { return f.do("PUT", withResponse(f), DemoKey, vendorUpdateResponse) }},
		{name: "update response not found", op: "PUT /collections/{collectionId}/responses/{responseId}", status: 404, example: "Instance Not Found",
			send: func(f *fixture) *resp {
				return f.do("PUT", "/collections/"+colID(f)+"/responses"+missing, DemoKey, `{"name":"x"}`)
			}},
		{name: "delete response", op: "DELETE /collections/{collectionId}/responses/{responseId}", status: 200, example: "Collection Response Deleted",
			send: func(f *fixture) *resp { return f.do("DELETE", withResponse(f), DemoKey, nil) }},
		{name: "delete response not found", op: "DELETE /collections/{collectionId}/responses/{responseId}", status: 404, example: "Instance Not Found",
			send: func(f *fixture) *resp {
				return f.do("DELETE", "/collections/"+colID(f)+"/responses"+missing, DemoKey, nil)
			}},

		{name: "create mock", op: "POST /mocks", status: 200, example: "Successful Response", ignore: []string{"mock.config.delay"},
			send: func(f *fixture) *resp {
				return f.do("POST", "/mocks?workspace="+ws(f), DemoKey, map[string]any{"mock": map[string]any{"name": "Test Mock",
					"collection": col(f), "environment": f.uid("environment", "staging"), "private": true}})
			}},
		{name: "create mock without body", op: "POST /mocks", status: 400, example: "Request Body Missing",
			send: func(f *fixture) *resp { return f.do("POST", "/mocks?workspace="+ws(f), DemoKey, nil) }},
		{name: "create mock without collection", op: "POST /mocks", status: 400, example: "Missing collection Parameter",
			send: func(f *fixture) *resp {
				return f.do("POST", "/mocks?workspace="+ws(f), DemoKey, `{"mock":{"name":"x"}}`)
			}},
		{name: "update mock", op: "PUT /mocks/{mockId}", status: 200, example: "Successful Response", ignore: []string{"mock.config.delay.preset"}, send: func(f *fixture) *resp {
			return f.do("PUT", "/mocks/"+f.uid("mock", "Payments API mock"), DemoKey, `{"mock":{"name":"Renamed mock","private":false}}`)
		}},
		{name: "update mock empty", op: "PUT /mocks/{mockId}", status: 400, example: "Missing Parameter", send: func(f *fixture) *resp {
			return f.do("PUT", "/mocks/"+f.uid("mock", "Payments API mock"), DemoKey, `{"mock":{}}`)
		}},
		{name: "update mock not found", op: "PUT /mocks/{mockId}", status: 404, example: "Mock Not Found", send: func(f *fixture) *resp {
			return f.do("PUT", "/mocks/"+f.uid("mock", "Payments API mock"), OtherTeamKey, `{"mock":{"name":"x"}}`)
		}},
		{name: "delete mock", op: "DELETE /mocks/{mockId}", status: 200, example: "Mock Deleted", send: func(f *fixture) *resp {
			return f.do("DELETE", "/mocks/"+f.uid("mock", "Orders mock"), DemoKey, nil)
		}},
		{name: "delete mock not found", op: "DELETE /mocks/{mockId}", status: 404, example: "Mock Not Found", send: func(f *fixture) *resp {
			return f.do("DELETE", "/mocks/"+f.uid("mock", "Orders mock"), OtherTeamKey, nil)
		}},
		{name: "mock call logs", op: "GET /mocks/{mockId}/call-logs", status: 200, example: "Successful Response", send: func(f *fixture) *resp {
			_, id, _ := splitRef(f.uid("mock", "Payments API mock"))
			f.do("GET", "/mock/"+id+"/health", DemoKey, nil) // a private mock: the key is needed
			f.do("POST", "/mock/"+id+"/nowhere", DemoKey, nil)
			return f.do("GET", "/mocks/"+id+"/call-logs?limit=1", DemoKey, nil)
		}},
		{name: "mock call logs retention", op: "GET /mocks/{mockId}/call-logs", status: 400, example: "Log Retention Period Exceeded",
			send: func(f *fixture) *resp {
				return f.do("GET", "/mocks/"+f.uid("mock", "Payments API mock")+"/call-logs?since=2001-01-01T00:00:00Z", DemoKey, nil)
			}},
		{name: "mock call logs not found", op: "GET /mocks/{mockId}/call-logs", status: 404, example: "Mock Not Found", send: func(f *fixture) *resp {
			return f.do("GET", "/mocks/"+f.uid("mock", "Payments API mock")+"/call-logs", OtherTeamKey, nil)
		}},

		{name: "globals", op: "GET /workspaces/{workspaceId}/global-variables", status: 200, example: "Successful Response", send: func(f *fixture) *resp {
			wantStatus(f.t, f.do("PUT", "/workspaces/"+ws(f)+"/global-variables", DemoKey,
				`{"values":[{"key":"x-api-key","value":"{{postman-api-key}}","type":"secret","enabled":true,"description":"A valid Postman API key."}]}`), 200)
			return f.do("GET", "/workspaces/"+ws(f)+"/global-variables", DemoKey, nil)
		}},
		{name: "globals empty", op: "GET /workspaces/{workspaceId}/global-variables", status: 200,
			send: func(f *fixture) *resp { return f.do("GET", "/workspaces/"+ws(f)+"/global-variables", DemoKey, nil) }},
		{name: "put globals", op: "PUT /workspaces/{workspaceId}/global-variables", status: 200, example: "Global Variables Updated",
			send: func(f *fixture) *resp {
				return f.do("PUT", "/workspaces/"+ws(f)+"/global-variables", DemoKey,
					`{"values":[{"key":"x-api-key","value":"{{k}}","type":"secret","enabled":true,"description":"d"},{"key":"collectionId","value":"c","type":"default","enabled":true,"description":"d"}]}`)
			}},
	}
}

// TestItemsAppearInTheCollection checks both directions: what the item endpoints write is in GET
// /collections/{id}, and items of the stored document are readable through the item endpoints.
func TestItemsAppearInTheCollection(t *testing.T) {
	f := demo(t)
	uid := f.uid("collection", DemoCollectionSmoke)
	_, colID, _ := splitRef(uid)
	folder := f.do("POST", "/collections/"+colID+"/folders", DemoKey, `{"name":"Health","description":"Liveness checks"}`)
	wantStatus(t, folder, 200)
	folderID := folder.JSON.(map[string]any)["model_id"].(string)
	sub := f.do("POST", "/collections/"+colID+"/folders", DemoKey, `{"name":"Deep","folder":"`+uidOf(DemoUserID, folderID)+`"}`)
	wantStatus(t, sub, 200)
	if got := sub.JSON.(map[string]any)["data"].(map[string]any)["folder"]; got != folderID {
		t.Fatalf("sub-folder parent = %v, want %s", got, folderID)
	}
	req := f.do("POST", "/collections/"+colID+"/requests?folderId="+folderID, DemoKey, map[string]any{
		"name": "Ping", "method": "post", "url": "{{baseUrl}}/ping?verbose=1",
		"headerData": []any{map[string]any{"key": "X-Trace", "value": "1"}},
		"dataMode":   "raw", "rawModeData": `{"ping":true}`, "dataOptions": map[string]any{"raw": map[string]any{"language": "json"}},
		"auth":   map[string]any{"type": "bearer", "bearer": []any{map[string]any{"key": "token", "value": "{{accessToken}}"}}},
		"events": []any{map[string]any{"listen": "test", "script": map[string]any{"exec": []any{`pm.test("ok", () => pm.response.to.have.status(200));`}}}},
	})
	wantStatus(t, req, 200)
	reqID := req.JSON.(map[string]any)["model_id"].(string)
	resp := f.do("POST", "/collections/"+colID+"/responses?request="+reqID, DemoKey, `{"name":"Pong","responseCode":{"code":200,"name":"OK"},"headers":[{"key":"Content-Type","value":"application/json"}],"text":"{\"pong\":true}","language":"json"}`)
	wantStatus(t, resp, 200)
	respID := resp.JSON.(map[string]any)["model_id"].(string)

	doc := f.do("GET", "/collections/"+uid, DemoKey, nil)
	wantStatus(t, doc, 200)
	var got struct {
		Collection struct {
			Item []json.RawMessage `json:"item"`
		} `json:"collection"`
	}
	if err := json.Unmarshal(doc.Raw, &got); err != nil {
		t.Fatal(err)
	}
	last := string(got.Collection.Item[len(got.Collection.Item)-1])
	for _, want := range []string{`"name":"Health"`, `"name":"Deep"`, `"name":"Ping"`, `"method":"POST"`, `"raw":"{{baseUrl}}/ping?verbose=1"`,
		`"key":"verbose"`, `"key":"X-Trace"`, `"raw":"{\"ping\":true}"`, `"type":"bearer"`, `"listen":"test"`, `"name":"Pong"`, `"code":200`,
		`"body":"{\"pong\":true}"`, `"id":"` + respID + `"`, `"uid":"` + uidOf(DemoUserID, reqID) + `"`} {
		if !strings.Contains(last, want) {
			t.Errorf("GET /collections lacks %s in the new folder: %.2000s", want, last)
		}
	}

	// An item of the seeded document, through the item endpoints, and an update that only renames.
	hid := f.itemID(DemoCollectionSmoke, "Health check")
	r := f.do("GET", "/collections/"+colID+"/requests/"+hid, DemoKey, nil)
	wantStatus(t, r, 200)
	data := r.JSON.(map[string]any)["data"].(map[string]any)
	if data["name"] != "Health check" || data["url"] != "{{baseUrl}}/health" || !strings.Contains(data["tests"].(string), "Status code is 200") {
		t.Fatalf("seeded request through the item endpoint: %v", data)
	}
	wantStatus(t, f.do("PUT", "/collections/"+colID+"/requests/"+hid, DemoKey, `{"name":"Liveness"}`), 200)
	r = f.do("GET", "/collections/"+colID+"/requests/"+hid, DemoKey, nil)
	data = r.JSON.(map[string]any)["data"].(map[string]any)
	if data["name"] != "Liveness" || data["url"] != "{{baseUrl}}/health" || data["tests"] == nil || data["method"] != "GET" {
		t.Fatalf("a rename changed more than the name: %v", data)
	}

	// Deleting the folder removes everything in it.
	wantStatus(t, f.do("DELETE", "/collections/"+colID+"/folders/"+folderID, DemoKey, nil), 200)
	wantStatus(t, f.do("GET", "/collections/"+colID+"/requests/"+reqID, DemoKey, nil), 404)
	wantStatus(t, f.do("GET", "/collections/"+colID+"/responses/"+respID, DemoKey, nil), 404)
}
