package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

const workspacesMarkdown = `# Workspaces

## Meta

- **nextCursor**: 

| id | name | type | visibility | createdBy | about | createdAt | updatedAt | scim |
|---|---|---|---|---|---|---|---|---|
| 1f0df51a-8658-4ee8-a2a1-d2567dfa09a9 | My Workspace | personal | personal | 12345678 |  | 2022-01-13T10:21:46.000Z | 2022-01-13T10:21:46.000Z |  |
| a0f46158-1529-11ee-be56-0242ac120002 | Team | team | team | 12345678 | x \| y | 2022-01-13T10:21:46.000Z | 2022-01-13T10:21:46.000Z |  |
`

func TestMarkdownTable(t *testing.T) {
	rows, err := markdownTable(workspacesMarkdown, "# Workspaces")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0]["id"] != "1f0df51a-8658-4ee8-a2a1-d2567dfa09a9" || rows[1]["type"] != "team" {
		t.Errorf("rows = %v", rows)
	}
	tests := []struct {
		name, text, heading string
		wantRows            int
		wantErr             bool
	}{
		{"no heading", "{}", "# Workspaces", 0, true},
		{"heading without table", "# Collections\n\nnothing\n", "# Collections", 0, true},
		{"empty table", "# Collections\n\n| id | uid |\n|---|---|\n", "# Collections", 0, false},
		{"stops at first table end", "# C\n| id |\n|---|\n| a |\n\n| id |\n| b |\n", "# C", 1, false},
		{"short row", "# C\n| id | uid |\n|---|---|\n| a |\n", "# C", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := markdownTable(tt.text, tt.heading)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if len(rows) != tt.wantRows {
				t.Errorf("rows = %v", rows)
			}
		})
	}
}

func FuzzMarkdownTable(f *testing.F) {
	f.Add(workspacesMarkdown, "# Workspaces")
	f.Add("# C\n| a | b |\n|--|--|\n| 1 |", "# C")
	f.Add("|||\n# C\n|", "# C")
	f.Fuzz(func(t *testing.T, text, heading string) {
		rows, err := markdownTable(text, heading)
		if err != nil && rows != nil {
			t.Fatal("rows with an error")
		}
	})
}

func TestDecodePretty(t *testing.T) {
	var v map[string]any
	tests := []struct {
		name, text string
		wantErr    string
	}{
		{"pretty object", "{\n  \"user\": {}\n}", ""},
		{"empty object", "{}", ""},
		{"compact object means wrong content type", `{"user":{}}`, "Content-Type"},
		{"not JSON", "Monitor not found", "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decodePretty(tt.text, &v)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	for text, isErr := range map[string]bool{
		"MCP error -32603: API request failed: 404":                             true,
		"API request failed: 401 {}":                                            true,
		"Input validation error: bad":                                           true,
		"Monitor not found: m1\nAPI detail: x\nVerify the monitor ID is right.": true,
		"{\n  \"user\": {}\n}":                                                  false,
		"# Workspaces\n":                                                        false,
	} {
		if got := errorText(text) != ""; got != isErr {
			t.Errorf("errorText(%q) error=%v, want %v", text, got, isErr)
		}
	}
}

func TestSingleResourceAcceptsIDOrUIDSuffix(t *testing.T) {
	s := &session{}
	check := singleResource("monitor", func(*session) string { return "12345678-1e6b6c77-2031-42d0-9948-76d7251b2dd1" })
	if _, err := check(s, "{\n  \"monitor\": {\"id\": \"1e6b6c77-2031-42d0-9948-76d7251b2dd1\", \"name\": \"m\"}\n}"); err != nil {
		t.Error(err)
	}
	if _, err := check(s, "{\n  \"monitor\": {\"id\": \"other\"}\n}"); err == nil {
		t.Error("wrong id accepted")
	}
	if _, err := check(s, "{\n  \"monitors\": []\n}"); err == nil {
		t.Error("missing object accepted")
	}
}

// contractAPI serves the 28 endpoints with bodies shaped like the
// vendor's openapi.yaml examples. breakPath makes one path misbehave.
func contractAPI(t *testing.T, breakPath string, breakWith func(http.ResponseWriter)) *httptest.Server {
	const ws = "1f0df51a-8658-4ee8-a2a1-d2567dfa09a9"
	const col = "12345678-12ece9e1-2abf-4edc-8e34-de66e74114d2"
	const env = "5daabc50-8451-43f6-922d-96b403b4f28e"
	const mon = "1e6b6c77-2031-42d0-9948-76d7251b2dd1"
	bodies := map[string]string{
		"GET /me":                        `{"user":{"id":12345678,"username":"taylor-lee","teamId":0}}`,
		"GET /workspaces":                `{"workspaces":[{"id":"` + ws + `","name":"My Workspace","type":"personal","visibility":"personal","createdBy":"12345678"}],"meta":{"nextCursor":""}}`,
		"GET /workspaces/" + ws:          `{"workspace":{"id":"` + ws + `","name":"My Workspace","collections":[{"id":"12ece9e1-2abf-4edc-8e34-de66e74114d2","uid":"` + col + `"}],"environments":[],"mocks":[],"monitors":[]}}`,
		"GET /collections":               `{"collections":[{"id":"12ece9e1-2abf-4edc-8e34-de66e74114d2","name":"Test Collection","owner":"12345678","uid":"` + col + `","isPublic":false}]}`,
		"GET /collections/" + col:        `{"collection":{"info":{"_postman_id":"12ece9e1-2abf-4edc-8e34-de66e74114d2","name":"Test Collection","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},"item":[{"name":"Get","id":"r1","uid":"12345678-r1"}]}}`,
		"GET /environments":              `{"environments":[{"id":"` + env + `","name":"Test","owner":"12345678","uid":"12345678-` + env + `","isPublic":false}]}`,
		"GET /environments/" + env:       `{"environment":{"id":"` + env + `","name":"Test","owner":"12345678","values":[],"isPublic":false}}`,
		"GET /monitors":                  `{"monitors":[{"id":"` + mon + `","name":"Mon","active":true,"uid":"12345678-` + mon + `","owner":12345678}],"meta":{"nextCursor":"","limit":25}}`,
		"GET /monitors/" + mon:           `{"monitor":{"id":"` + mon + `","name":"Mon","uid":"12345678-` + mon + `","owner":12345678,"active":true}}`,
		"POST /monitors/" + mon + "/run": `{"run":{"info":{"jobId":"j1","monitorId":"` + mon + `","status":"success"},"stats":{},"executions":[],"failures":[]}}`,
		"GET /mocks":                     `{"mocks":[]}`,
	}
	// The item, mock and globals endpoints, shaped like the vendor's examples.
	const folder, request, response, mock = "65a99e60-8e0a-4b6e-b79c-7d8264cc5caa", "c82dd02c-4870-4907-8fcb-593a876cf05b",
		"cc364734-7dfd-4bfc-897d-be763dcdbb07", "e3d951bf-873f-49ac-a658-b2dcb91d3289"
	item := func(model, action, id string) string {
		return `{"model_id":"` + id + `","meta":{"model":"` + model + `","action":"` + action + `"},"data":{"id":"` + id + `","name":"x","owner":"12345678"},"revision":1}`
	}
	mockBody := `{"mock":{"id":"` + mock + `","owner":"12345678","uid":"12345678-` + mock + `","collection":"` + col + `","mockUrl":"https://` + mock + `.mock.pstmn.io","name":"m","config":{}}}`
	globals := `{"values":[{"key":"region","type":"default","value":"eu","enabled":true}]}`
	base := "/collections/" + col
	for k, v := range map[string]string{
		"POST " + base + "/folders":                 item("folder", "import", folder),
		"GET " + base + "/folders/" + folder:        item("folder", "find", folder),
		"PUT " + base + "/folders/" + folder:        item("folder", "update", folder),
		"DELETE " + base + "/folders/" + folder:     item("folder", "destroy", folder),
		"POST " + base + "/requests":                item("request", "import", request),
		"GET " + base + "/requests/" + request:      item("request", "find", request),
		"PUT " + base + "/requests/" + request:      item("request", "update", request),
		"DELETE " + base + "/requests/" + request:   item("request", "destroy", request),
		"POST " + base + "/responses":               item("response", "create", response),
		"GET " + base + "/responses/" + response:    item("response", "find", response),
		"PUT " + base + "/responses/" + response:    item("response", "update", response),
		"DELETE " + base + "/responses/" + response: item("response", "destroy", response),
		"POST /mocks":                                 mockBody,
		"PUT /mocks/" + mock:                          mockBody,
		"DELETE /mocks/" + mock:                       `{"mock":{"id":"` + mock + `","uid":"12345678-` + mock + `"}}`,
		"GET /workspaces/" + ws + "/global-variables": globals,
		"PUT /workspaces/" + ws + "/global-variables": globals,
	} {
		bodies[k] = v
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "PMAK-test" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		key := r.Method + " " + r.URL.Path
		if key == breakPath {
			breakWith(w)
			return
		}
		body, ok := bodies[key]
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"name":"notFound","message":"no route ` + key + `"}}`))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestAgainstContractFake runs the real peer (if installed by
// scripts/npm-tools.sh) against a small contract-shaped fake, once as is and
// once with a deviation, to show the check passes and fails when it should.
func TestAgainstContractFake(t *testing.T) {
	js, err := findPeer(os.Getenv("PEER_MCP_JS"))
	if err != nil {
		t.Skipf("peer not installed (%v); run scripts/npm-tools.sh", err)
	}
	tests := []struct {
		name       string
		breakPath  string
		breakWith  func(http.ResponseWriter)
		wantOK     bool
		wantOutput []string
	}{
		{name: "conformant", wantOK: true, wantOutput: []string{"28 passed, 0 failed", "PASS runMonitor", "PASS createCollectionRequest", "PASS deleteMock"}},
		{
			name: "monitor 404", breakPath: "GET /monitors/1e6b6c77-2031-42d0-9948-76d7251b2dd1",
			breakWith: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				w.Write([]byte(`{"error":{"name":"instanceNotFoundError","message":"The specified monitor does not exist."}}`))
			},
			wantOutput: []string{"FAIL getMonitor", "← 404", "27 passed, 1 failed", "X-Api-Key: PMAK-****"},
		},
		{
			name: "wrong content type", breakPath: "GET /me",
			breakWith: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "text/plain")
				w.Write([]byte(`{"user":{"id":1}}`))
			},
			wantOutput: []string{"FAIL getAuthenticatedUser", "Content-Type", "27 passed, 1 failed"},
		},
		{
			name: "request create fails", breakPath: "POST /collections/12345678-12ece9e1-2abf-4edc-8e34-de66e74114d2/requests",
			breakWith: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"error":{"name":"instanceNotFoundError","message":"We could not find the folder you are looking for"}}`))
			},
			// Every later step that needs the request's ID fails too.
			wantOutput: []string{"FAIL createCollectionRequest", "FAIL getCollectionRequest", "20 passed, 8 failed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := contractAPI(t, tt.breakPath, tt.breakWith)
			var out bytes.Buffer
			ok, err := run(js, "node", api.URL, "PMAK-test", 60*time.Second, false, &out)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(out.String())
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v\n%s", ok, tt.wantOK, out.String())
			}
			for _, want := range tt.wantOutput {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			if strings.Contains(out.String(), "PMAK-test") {
				t.Error("output contains the API key")
			}
		})
	}
}
