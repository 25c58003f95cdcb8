package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// The vendor's OpenAPI file carries real response bodies under `examples:`. These tests serve every example of
// every in-scope operation from an httptest server, call the matching client method, and check that
//   - 2xx bodies decode and, re-encoded, still hold every documented non-null field with the same value
//     (the collection document must come back exactly);
//   - 4xx/5xx bodies become an *Error with the example's status and its name/message.

type specExample struct {
	op          string // "GET /collections/{collectionId}"
	status      int
	name        string
	contentType string
	body        []byte
}

var (
	specOnce     sync.Once
	specDoc      map[string]any
	specErr      error
	specExamples []specExample
	specOps      []string
	specRequests map[string][]specRequestExample
)

type specRequestExample struct {
	name string
	body []byte
}

func loadSpec(t *testing.T) {
	t.Helper()
	yamlPath := sharedFile(t, "openapi.yaml")
	resolvedPaths := []string{sharedFile(t, "relevant-operations.resolved.json"),
		sharedFile(t, "collection-items-and-mocks-operations.resolved.json")}
	specOnce.Do(func() { specErr = parseSpec(yamlPath, resolvedPaths...) })
	if specErr != nil {
		t.Fatal(specErr)
	}
}

func parseSpec(yamlPath string, resolvedPaths ...string) error {
	raw, err := os.ReadFile(yamlPath)
	if err != nil {
		return err
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("parse %s: %w", yamlPath, err)
	}
	m, ok := normalizeYAML(doc).(map[string]any)
	if !ok {
		return errors.New("openapi.yaml is not a mapping")
	}
	specDoc = m

	// The in-scope operation list comes from the resolved files; the bodies come from the YAML.
	for _, resolvedPath := range resolvedPaths {
		rb, err := os.ReadFile(resolvedPath)
		if err != nil {
			return err
		}
		var resolved struct {
			Operations map[string]json.RawMessage `json:"operations"`
		}
		if err := json.Unmarshal(rb, &resolved); err != nil {
			return err
		}
		for op := range resolved.Operations {
			specOps = append(specOps, op)
		}
	}
	sort.Strings(specOps)

	specRequests = map[string][]specRequestExample{}
	paths, _ := specDoc["paths"].(map[string]any)
	for _, op := range specOps {
		method, path, _ := strings.Cut(op, " ")
		item, _ := paths[path].(map[string]any)
		oper, _ := item[strings.ToLower(method)].(map[string]any)
		if oper == nil {
			return fmt.Errorf("%s is not in openapi.yaml", op)
		}
		responses, _ := resolveRef(oper["responses"]).(map[string]any)
		for code, r := range responses {
			status, err := strconv.Atoi(code)
			if err != nil {
				continue
			}
			resp, _ := resolveRef(r).(map[string]any)
			content, _ := resp["content"].(map[string]any)
			for ct, media := range content {
				for name, value := range examplesOf(media) {
					b, err := json.Marshal(value)
					if err != nil {
						return fmt.Errorf("%s %d %s: %w", op, status, name, err)
					}
					specExamples = append(specExamples, specExample{op: op, status: status, name: name, contentType: ct, body: b})
				}
			}
		}
		if rbody, ok := resolveRef(oper["requestBody"]).(map[string]any); ok {
			content, _ := rbody["content"].(map[string]any)
			for _, media := range content {
				for name, value := range examplesOf(media) {
					b, err := json.Marshal(value)
					if err != nil {
						return err
					}
					specRequests[op] = append(specRequests[op], specRequestExample{name: name, body: b})
				}
			}
		}
	}
	sort.Slice(specExamples, func(i, j int) bool {
		a, b := specExamples[i], specExamples[j]
		return fmt.Sprint(a.op, a.status, a.name) < fmt.Sprint(b.op, b.status, b.name)
	})
	return nil
}

// examplesOf returns the example bodies of a media type object, $refs resolved.
func examplesOf(media any) map[string]any {
	m, _ := resolveRef(media).(map[string]any)
	out := map[string]any{}
	if ex, ok := m["example"]; ok {
		out["(example)"] = resolveRef(ex)
	}
	exs, _ := m["examples"].(map[string]any)
	for name, e := range exs {
		em, _ := resolveRef(e).(map[string]any)
		if v, ok := em["value"]; ok {
			out[name] = resolveRef(v)
		}
	}
	return out
}

// resolveRef follows "#/..." $refs (chains included) within the spec.
func resolveRef(v any) any {
	for range 20 {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#/") {
			return v
		}
		var cur any = specDoc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
			cm, _ := cur.(map[string]any)
			cur = cm[part]
		}
		v = cur
	}
	return v
}

// normalizeYAML turns yaml.v3's decoded tree into JSON-compatible values.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeYAML(e)
		}
		return x
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = normalizeYAML(e)
		}
		return x
	}
	return v
}

// specCase calls the client method of one operation. status and name are the example being served, for the
// few operations whose call depends on it. result is the value to compare with want(body).
type specCase struct {
	call func(ctx context.Context, c *Client, ex specExample) (result any, err error)
	// want picks the part of a 2xx body that result must reproduce.
	want func(body map[string]any) any
	// view picks the part of result to compare; nil means result itself.
	view func(result any) any
	// exact demands equality, not just the documented fields (lossless documents).
	exact bool
	// check runs extra assertions on 2xx results.
	check func(t *testing.T, ex specExample, body map[string]any, result any)
}

func key(k string) func(map[string]any) any { return func(b map[string]any) any { return b[k] } }

const (
	tID  = "12345678-12ece9e1-2abf-4edc-8e34-de66e74114d2"
	tWS  = "1f0df51a-8658-4ee8-a2a1-d2567dfa09a9"
	tMon = "1e6b6cc1-c760-48e0-968f-4bfaeeae9af1"
)

var specCases = map[string]specCase{
	"GET /me": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) { return c.GetMe(ctx) },
		want: func(b map[string]any) any { return b },
		check: func(t *testing.T, _ specExample, _ map[string]any, r any) {
			if u, ok := r.(*Me).APIUsage(); !ok || u.Limit <= 0 {
				t.Errorf("api_usage not found: %+v", u)
			}
		},
	},
	"GET /workspaces": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.ListWorkspacesPage(ctx, ListWorkspacesOptions{}, "")
		},
		want: key("workspaces"),
		view: func(r any) any { return r.(Page[WorkspaceSummary]).Items },
		check: func(t *testing.T, _ specExample, b map[string]any, r any) {
			checkVendorCursor(t, listingWorkspaces, b, r.(Page[WorkspaceSummary]).Next)
		},
	},
	"GET /workspaces/{workspaceId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.GetWorkspace(ctx, tWS, GetWorkspaceOptions{})
		},
		want: func(b map[string]any) any {
			if w, ok := b["workspace"]; ok {
				return w
			}
			return b // the one unwrapped vendor example
		},
	},
	"GET /collections": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.ListCollectionsPage(ctx, ListCollectionsOptions{}, "")
		},
		want: key("collections"),
		view: func(r any) any { return r.(Page[CollectionSummary]).Items },
		check: func(t *testing.T, _ specExample, b map[string]any, r any) {
			p := r.(Page[CollectionSummary])
			meta, _ := b["meta"].(map[string]any)
			if meta == nil {
				if p.Next != "" || p.Total != nil {
					t.Errorf("no meta, yet Next=%q Total=%v", p.Next, p.Total)
				}
				return
			}
			total := int(meta["total"].(float64))
			if p.Total == nil || *p.Total != total {
				t.Errorf("Total = %v, want %d", p.Total, total)
			}
			off, err := offsetFromCursor(p.Next)
			if err != nil || off != len(p.Items) {
				t.Errorf("Next = %q (offset %d, %v), want offset %d", p.Next, off, err, len(p.Items))
			}
		},
	},
	"POST /collections": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.CreateCollection(ctx, tWS, &Collection{Info: Info{Name: "Test Collection"}})
		},
		want: key("collection"),
	},
	"GET /collections/{collectionId}": {
		call: func(ctx context.Context, c *Client, ex specExample) (any, error) {
			return c.GetCollection(ctx, tID, GetCollectionOptions{Minimal: strings.Contains(ex.name, "minimal")})
		},
		want:  key("collection"),
		exact: true,
	},
	"PUT /collections/{collectionId}": {
		call: func(ctx context.Context, c *Client, ex specExample) (any, error) {
			res, err := c.ReplaceCollection(ctx, tID, &Collection{Info: Info{Name: "Test Collection"}}, ReplaceOptions{Async: ex.status == 202})
			if err != nil {
				return nil, err
			}
			if res.Task != nil {
				return map[string]any{"task": res.Task}, nil
			}
			return map[string]any{"collection": res.Collection}, nil
		},
		want: func(b map[string]any) any { return b },
	},
	"PATCH /collections/{collectionId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.PatchCollection(ctx, tID, CollectionPatch{Info: &PatchInfo{Name: "Test Collection v2"}})
		},
		want: key("collection"),
	},
	"DELETE /collections/{collectionId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) { return c.DeleteCollection(ctx, tID) },
		want: key("collection"),
	},
	"GET /collection-updates-tasks/{taskId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.GetCollectionUpdateTask(ctx, "66ae9950-0869-4e65-96b0-1e0e47e771af")
		},
		want: func(b map[string]any) any { return b },
	},
	"GET /environments": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) { return c.ListEnvironments(ctx, tWS) },
		want: key("environments"),
	},
	"POST /environments": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.CreateEnvironment(ctx, tWS, EnvironmentInput{Name: "Test Environment"})
		},
		want: key("environment"),
	},
	"GET /environments/{environmentId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) { return c.GetEnvironment(ctx, tID) },
		want: key("environment"),
	},
	"PUT /environments/{environmentId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.ReplaceEnvironment(ctx, tID, EnvironmentInput{Name: "Test A Environment"})
		},
		want: key("environment"),
	},
	"PATCH /environments/{environmentId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.PatchEnvironment(ctx, tID, []PatchOp{{Op: "replace", Path: "/name", Value: "Test API Environment"}})
		},
		want: key("environment"),
	},
	"DELETE /environments/{environmentId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) { return c.DeleteEnvironment(ctx, tID) },
		want: key("environment"),
	},
	"GET /monitors": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.ListMonitorsPage(ctx, ListMonitorsOptions{}, "")
		},
		want: key("monitors"),
		view: func(r any) any { return r.(Page[MonitorSummary]).Items },
		check: func(t *testing.T, _ specExample, b map[string]any, r any) {
			checkVendorCursor(t, listingMonitors, b, r.(Page[MonitorSummary]).Next)
		},
	},
	"POST /monitors": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.CreateMonitor(ctx, tWS, CreateMonitorInput{Name: "Test Monitor", Collection: tID, Schedule: Schedule{Cron: "*/5 * * * *"}})
		},
		want: key("monitor"),
	},
	"GET /monitors/{monitorId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) { return c.GetMonitor(ctx, tMon) },
		want: key("monitor"),
		check: func(t *testing.T, _ specExample, _ map[string]any, r any) {
			m := r.(*Monitor)
			if m.LastRun == nil || m.LastRun.StartedAt.IsZero() || m.Schedule == nil || m.Schedule.NextRun.IsZero() {
				t.Errorf("lastRun/schedule.nextRun not decoded: %+v %+v", m.LastRun, m.Schedule)
			}
		},
	},
	"PUT /monitors/{monitorId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.UpdateMonitor(ctx, tMon, UpdateMonitorInput{Name: "Test Monitor"})
		},
		want: key("monitor"),
	},
	"DELETE /monitors/{monitorId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) { return c.DeleteMonitor(ctx, tMon) },
		want: key("monitor"),
	},
	"POST /monitors/{monitorId}/run": {
		call: func(ctx context.Context, c *Client, ex specExample) (any, error) {
			return c.RunMonitor(ctx, tMon, RunOptions{Async: strings.Contains(ex.name, "async")})
		},
		want: key("run"),
		view: func(r any) any { return r.(RunResult).Run },
		check: func(t *testing.T, ex specExample, _ map[string]any, r any) {
			res := r.(RunResult)
			if res.Running != (ex.status == http.StatusAccepted) {
				t.Errorf("Running = %v for status %d", res.Running, ex.status)
			}
		},
	},
	"GET /mocks": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.ListMocks(ctx, ListMocksOptions{Workspace: tWS})
		},
		want: key("mocks"),
	},
	"GET /mocks/{mockId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) { return c.GetMock(ctx, tID) },
		want: key("mock"),
	},
	"POST /webhooks": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.CreateWebhook(ctx, tWS, WebhookInput{Name: "Test Webhook", Collection: tID})
		},
		want: key("webhook"),
	},

	"POST /collections/{collectionId}/requests": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.CreateCollectionRequest(ctx, tID, CollectionRequest{Name: "Example GET Request", Method: "GET"}, CreateRequestOptions{FolderID: tFolder})
		},
		want: whole, exact: true,
	},
	"GET /collections/{collectionId}/requests/{requestId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.GetCollectionRequest(ctx, tID, tReq, GetItemOptions{})
		},
		want: whole, exact: true,
	},
	"PUT /collections/{collectionId}/requests/{requestId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.UpdateCollectionRequest(ctx, tID, tReq, CollectionRequest{Name: "Example POST Request"})
		},
		want: whole, exact: true,
	},
	"DELETE /collections/{collectionId}/requests/{requestId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.DeleteCollectionRequest(ctx, tID, tReq)
		},
		want: whole, exact: true,
	},
	"POST /collections/{collectionId}/folders": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.CreateCollectionFolder(ctx, tID, CollectionFolder{Name: "Test Folder"})
		},
		want: whole, exact: true,
	},
	"GET /collections/{collectionId}/folders/{folderId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.GetCollectionFolder(ctx, tID, tFolder, GetItemOptions{Populate: true})
		},
		want: whole, exact: true,
	},
	"PUT /collections/{collectionId}/folders/{folderId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.UpdateCollectionFolder(ctx, tID, tFolder, CollectionFolder{Name: "Test Folder"})
		},
		want: whole, exact: true,
	},
	"DELETE /collections/{collectionId}/folders/{folderId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.DeleteCollectionFolder(ctx, tID, tFolder)
		},
		want: whole, exact: true,
	},
	"POST /collections/{collectionId}/responses": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.CreateCollectionResponse(ctx, tID, tReq, CollectionResponse{Name: "Example POST Response"})
		},
		want: whole, exact: true,
	},
	"GET /collections/{collectionId}/responses/{responseId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.GetCollectionResponse(ctx, tID, tResp, GetItemOptions{})
		},
		want: whole, exact: true,
		check: func(t *testing.T, _ specExample, _ map[string]any, r any) {
			d := r.(ItemResult[CollectionResponse]).Data
			if d.ResponseCode == nil || d.ResponseCode.Code != 200 || len(d.Headers) != 1 || d.Text == nil {
				t.Errorf("modelled fields not decoded: %+v", d)
			}
		},
	},
	"PUT /collections/{collectionId}/responses/{responseId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.UpdateCollectionResponse(ctx, tID, tResp, CollectionResponse{Name: "Example Response"})
		},
		want: whole, exact: true,
	},
	"DELETE /collections/{collectionId}/responses/{responseId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.DeleteCollectionResponse(ctx, tID, tResp)
		},
		want: whole, exact: true,
	},
	"POST /mocks": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.CreateMock(ctx, tWS, MockInput{Name: "Test Mock", Collection: tID, Private: true})
		},
		want: key("mock"),
	},
	"PUT /mocks/{mockId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.UpdateMock(ctx, tMock, MockUpdate{Name: "Test Mock"})
		},
		want: key("mock"),
	},
	"DELETE /mocks/{mockId}": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) { return c.DeleteMock(ctx, tMock) },
		want: key("mock"),
	},
	"GET /mocks/{mockId}/call-logs": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.GetMockCallLogs(ctx, tMock, CallLogOptions{Limit: 5}, "")
		},
		want: key("call-logs"),
		view: func(r any) any { return r.(Page[MockCallLog]).Items },
		check: func(t *testing.T, _ specExample, b map[string]any, r any) {
			checkVendorCursor(t, listingMockCalls, b, r.(Page[MockCallLog]).Next)
		},
	},
	"GET /workspaces/{workspaceId}/global-variables": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.GetGlobalVariables(ctx, tWS)
		},
		want: key("values"),
	},
	"PUT /workspaces/{workspaceId}/global-variables": {
		call: func(ctx context.Context, c *Client, _ specExample) (any, error) {
			return c.ReplaceGlobalVariables(ctx, tWS, []GlobalVariable{{Key: "x-api-key", Value: "{{postman-api-key}}", Type: "secret", Enabled: true}})
		},
		want: key("values"),
	},
}

func whole(b map[string]any) any { return b }

const (
	tFolder = "65a99e60-8e0a-4b6e-b79c-7d8264cc5caa"
	tReq    = "c82dd02c-4870-4907-8fcb-593a876cf05b"
	tResp   = "cc364734-7dfd-4bfc-897d-be763dcdbb07"
	tMock   = "e3d951bf-873f-49ac-a658-b2dcb91d3289"
)

// checkVendorCursor checks that Next carries meta.nextCursor, and is empty when that is "", null or absent.
func checkVendorCursor(t *testing.T, listing string, body map[string]any, next string) {
	t.Helper()
	var want string
	if meta, ok := body["meta"].(map[string]any); ok {
		want, _ = meta["nextCursor"].(string)
	}
	got, err := decodeCursor(listing, next)
	if err != nil || got != want {
		t.Errorf("Next = %q → vendor cursor %q (%v), want %q", next, got, err, want)
	}
}

// templateRE turns "/collections/{collectionId}" into a path regexp.
func templateRE(path string) *regexp.Regexp {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			parts[i] = "[^/]+"
		} else {
			parts[i] = regexp.QuoteMeta(p)
		}
	}
	return regexp.MustCompile("^" + strings.Join(parts, "/") + "$")
}

func TestSpecExamples(t *testing.T) {
	loadSpec(t)
	if len(specOps) != 25+18 {
		t.Errorf("the resolved files list %d operations, want 25 + 18", len(specOps))
	}
	for _, op := range specOps {
		if _, ok := specCases[op]; !ok {
			t.Errorf("no client call for in-scope operation %s", op)
		}
	}
	seen := map[string]int{}
	for _, ex := range specExamples {
		tc, ok := specCases[ex.op]
		if !ok {
			continue
		}
		seen[ex.op]++
		t.Run(fmt.Sprintf("%s/%d/%s", ex.op, ex.status, ex.name), func(t *testing.T) {
			method, path, _ := strings.Cut(ex.op, " ")
			re := templateRE(path)
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != method || !re.MatchString(r.URL.Path) {
					t.Errorf("client sent %s %s for %s", r.Method, r.URL.Path, ex.op)
				}
				w.Header().Set("Content-Type", ex.contentType)
				w.WriteHeader(ex.status)
				w.Write(ex.body)
			})
			result, err := tc.call(t.Context(), c, ex)
			var body any
			if jerr := json.Unmarshal(ex.body, &body); jerr != nil {
				t.Fatal(jerr)
			}
			if ex.status >= 400 {
				checkErrorExample(t, ex, body, err)
				return
			}
			if err != nil {
				t.Fatalf("decoding the documented %d body failed: %v\nbody: %s", ex.status, err, ex.body)
			}
			bm, _ := body.(map[string]any)
			want := tc.want(bm)
			if want == nil {
				t.Fatalf("the example has no part to compare: %s", ex.body)
			}
			view := result
			if tc.view != nil {
				view = tc.view(result)
			}
			got := toJSONValue(t, view)
			if tc.exact {
				failDiffs(t, equalJSON(want, got))
			} else {
				failDiffs(t, subsetJSON(want, got, "$"))
			}
			if tc.check != nil {
				tc.check(t, ex, bm, result)
			}
		})
	}
	for _, op := range specOps {
		if seen[op] == 0 {
			t.Errorf("%s has no response examples in openapi.yaml", op)
		}
	}
	t.Logf("%d response examples over %d operations", len(specExamples), len(seen))
}

// checkErrorExample checks that an error example became an *Error with its status and its words.
func checkErrorExample(t *testing.T, ex specExample, body any, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %T %v", err, err)
	}
	if e.Status != ex.status {
		t.Errorf("Status = %d, want %d", e.Status, ex.status)
	}
	if e.Name == "" && e.Message == "" {
		t.Errorf("no name or message: %+v", e)
	}
	// Every documented name/message/detail/title/type string must surface somewhere in the error.
	surfaced := strings.Join([]string{e.Name, e.Message, e.Type, e.Title, e.Instance, string(e.Details)}, "\n")
	var words []string
	collectErrorWords(body, &words)
	for _, w := range words {
		if !strings.Contains(surfaced, w) {
			t.Errorf("%q from the body is not in the error (%s)", w, surfaced)
		}
	}
	if !strings.Contains(e.Error(), strconv.Itoa(ex.status)) {
		t.Errorf("Error() = %q lacks the status", e.Error())
	}
}

func collectErrorWords(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && slices.Contains([]string{"name", "message", "detail", "title", "type", "error"}, k) {
				*out = append(*out, s)
				continue
			}
			collectErrorWords(e, out)
		}
	case []any:
		for _, e := range x {
			collectErrorWords(e, out)
		}
	case string:
		*out = append(*out, x)
	}
}

// TestSpecRequestExamples decodes every documented request body of an in-scope operation into the client's
// input type and checks it encodes back to the same JSON, so the client can send everything the vendor
// documents in the documented shape.
func TestSpecRequestExamples(t *testing.T) {
	loadSpec(t)
	inputs := map[string]func() any{
		"POST /collections":                                      func() any { return &struct{ Collection Collection }{} },
		"PUT /collections/{collectionId}":                        func() any { return &struct{ Collection Collection }{} },
		"PATCH /collections/{collectionId}":                      func() any { return &struct{ Collection CollectionPatch }{} },
		"POST /environments":                                     func() any { return &struct{ Environment EnvironmentInput }{} },
		"PUT /environments/{environmentId}":                      func() any { return &struct{ Environment EnvironmentInput }{} },
		"PATCH /environments/{environmentId}":                    func() any { return &[]PatchOp{} },
		"POST /monitors":                                         func() any { return &struct{ Monitor CreateMonitorInput }{} },
		"PUT /monitors/{monitorId}":                              func() any { return &struct{ Monitor UpdateMonitorInput }{} },
		"POST /webhooks":                                         func() any { return &struct{ Webhook WebhookInput }{} },
		"POST /collections/{collectionId}/requests":              func() any { return &CollectionRequest{} },
		"PUT /collections/{collectionId}/requests/{requestId}":   func() any { return &CollectionRequest{} },
		"POST /collections/{collectionId}/folders":               func() any { return &CollectionFolder{} },
		"PUT /collections/{collectionId}/folders/{folderId}":     func() any { return &CollectionFolder{} },
		"POST /collections/{collectionId}/responses":             func() any { return &CollectionResponse{} },
		"PUT /collections/{collectionId}/responses/{responseId}": func() any { return &CollectionResponse{} },
		"POST /mocks":         func() any { return &struct{ Mock MockInput }{} },
		"PUT /mocks/{mockId}": func() any { return &struct{ Mock MockUpdate }{} },
		"PUT /workspaces/{workspaceId}/global-variables": func() any { return &struct{ Values []GlobalVariable }{} },
	}
	n := 0
	for _, op := range specOps {
		for _, rx := range specRequests[op] {
			mk, ok := inputs[op]
			if !ok {
				t.Errorf("%s documents a request body but the test has no input type for it", op)
				continue
			}
			n++
			t.Run(op+"/"+rx.name, func(t *testing.T) {
				v := mk()
				dec := json.NewDecoder(strings.NewReader(string(rx.body)))
				if err := dec.Decode(v); err != nil {
					t.Fatal(err)
				}
				out, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				var want, got any
				json.Unmarshal(rx.body, &want)
				json.Unmarshal(out, &got)
				// The wrapper struct's field names are Go names; compare the inner objects.
				failDiffs(t, equalJSON(unwrapOne(want), unwrapOne(got)))
			})
		}
	}
	if n == 0 {
		t.Error("no request examples found")
	}
}

func unwrapOne(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for _, inner := range m {
			return inner
		}
	}
	return v
}
