package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorded is what the test server saw of one request.
type recorded struct {
	method, path, rawQuery string
	query                  url.Values
	header                 http.Header
	body                   []byte
	contentLength          int64
	transferEncoding       []string
	hasGetBody             bool
	getBody                []byte
}

// recordingTransport notes whether requests carry GetBody, so a retrying transport could resend them.
type recordingTransport struct {
	mu   sync.Mutex
	reqs []*http.Request
	next http.RoundTripper
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.reqs = append(rt.reqs, r)
	rt.mu.Unlock()
	return rt.next.RoundTrip(r)
}

type methodCase struct {
	name string
	call func(ctx context.Context, c *Client) (any, error)
	// answer
	status  int
	respond string
	// expectations
	method, path string
	query        url.Values
	header       map[string]string
	body         string // JSON the request body must equal; "" means no body
	check        func(t *testing.T, result any)
}

func TestMethods(t *testing.T) {
	workspaceCursor := encodeCursor(listingWorkspaces, "NDgzMjY1")
	monitorCursor := encodeCursor(listingMonitors, "vendor-cursor==")
	collectionsCursor := encodeCursor(listingCollections, "20")

	cases := []methodCase{
		{
			name:    "GetMe",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetMe(ctx) },
			respond: `{"user":{"id":12345678,"username":"taylor-lee","teamId":0},"operations":[{"name":"api_usage","limit":1000000,"usage":10788.5,"overage":0}]}`,
			method:  "GET", path: "/me",
			check: func(t *testing.T, r any) {
				me := r.(*Me)
				u, ok := me.APIUsage()
				if me.User.ID != 12345678 || !ok || u.Usage != 10788.5 || u.Limit != 1e6 {
					t.Errorf("got %+v %+v", me, u)
				}
			},
		},
		{
			name: "ListWorkspacesPage all filters",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListWorkspacesPage(ctx, ListWorkspacesOptions{Type: "team", CreatedBy: []int64{1, 22}, Include: "scim",
					ElementType: "collection", ElementID: tID, Limit: 5}, workspaceCursor)
			},
			respond: `{"workspaces":[{"id":"w1","name":"W","type":"team","createdBy":"1"}],"meta":{"nextCursor":"next=="}}`,
			method:  "GET", path: "/workspaces",
			query: url.Values{"type": {"team"}, "createdBy": {"1,22"}, "include": {"scim"}, "elementType": {"collection"},
				"elementId": {tID}, "cursor": {"NDgzMjY1"}, "limit": {"5"}},
			check: func(t *testing.T, r any) {
				p := r.(Page[WorkspaceSummary])
				if len(p.Items) != 1 || p.Items[0].CreatedBy != "1" || p.Next != encodeCursor(listingWorkspaces, "next==") {
					t.Errorf("got %+v", p)
				}
			},
		},
		{
			name: "ListWorkspacesPage limit is capped at 100",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListWorkspacesPage(ctx, ListWorkspacesOptions{Limit: 500}, "")
			},
			respond: `{"workspaces":[]}`,
			method:  "GET", path: "/workspaces", query: url.Values{"limit": {"100"}},
		},
		{
			name: "GetWorkspace with include",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.GetWorkspace(ctx, tWS, GetWorkspaceOptions{Include: []string{"team", "scim"}})
			},
			respond: `{"workspace":{"id":"` + tWS + `","name":"W","type":"team","team":"7","collections":[{"id":"c","name":"C","uid":"1-c"}],"monitors":[{"id":"m","name":"M","uid":"1-m","deactivated":true}]}}`,
			method:  "GET", path: "/workspaces/" + tWS, query: url.Values{"include": {"team,scim"}},
			check: func(t *testing.T, r any) {
				w := r.(*Workspace)
				if w.Team != "7" || len(w.Collections) != 1 || !w.Monitors[0].Deactivated {
					t.Errorf("got %+v", w)
				}
			},
		},
		{
			name: "ListCollectionsPage offset style",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListCollectionsPage(ctx, ListCollectionsOptions{Workspace: tWS, Limit: 10}, collectionsCursor)
			},
			respond: `{"collections":[{"id":"a","name":"A","owner":"1","uid":"1-a","isPublic":false}],"meta":{"total":21,"offset":20,"limit":10}}`,
			method:  "GET", path: "/collections", query: url.Values{"workspace": {tWS}, "limit": {"10"}, "offset": {"20"}},
			check: func(t *testing.T, r any) {
				p := r.(Page[CollectionSummary])
				if p.Next != "" || p.Total == nil || *p.Total != 21 || p.Items[0].Owner != "1" {
					t.Errorf("got %+v", p)
				}
			},
		},
		{
			name: "ListCollectionsPage name search is not paged",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListCollectionsPage(ctx, ListCollectionsOptions{Name: "Billing API"}, "")
			},
			respond: `{"collections":[]}`,
			method:  "GET", path: "/collections", query: url.Values{"name": {"Billing API"}},
		},
		{
			name: "GetCollection minimal with access key",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.GetCollection(ctx, tID, GetCollectionOptions{Minimal: true, AccessKey: "PMAT-abc"})
			},
			respond: `{"collection":{"info":{"name":"C"},"rootLevelRequests":["1-r"],"rootLevelFolders":["1-f"]}}`,
			method:  "GET", path: "/collections/" + tID, query: url.Values{"model": {"minimal"}, "access_key": {"PMAT-abc"}},
			check: func(t *testing.T, r any) {
				c := r.(*Collection)
				if c.Info.Name != "C" || c.RootLevelRequests[0] != "1-r" || c.RootLevelFolders[0] != "1-f" {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "GetCollection escapes the id",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.GetCollection(ctx, "a b%c", GetCollectionOptions{})
			},
			respond: `{"collection":{"info":{"name":"C"},"item":[]}}`,
			method:  "GET", path: "/collections/a%20b%25c",
		},
		{
			name: "CreateCollection",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateCollection(ctx, tWS, &Collection{Info: Info{Name: "New"}})
			},
			respond: `{"collection":{"id":"id1","name":"New","uid":"1-id1"}}`,
			method:  "POST", path: "/collections", query: url.Values{"workspace": {tWS}},
			body: `{"collection":{"info":{"name":"New","schema":"` + SchemaV21 + `"},"item":[]}}`,
			check: func(t *testing.T, r any) {
				if r.(CollectionRef).UID != "1-id1" {
					t.Errorf("got %+v", r)
				}
			},
		},
		{
			name: "ReplaceCollection sync uses the document's UID",
			call: func(ctx context.Context, c *Client) (any, error) {
				col := &Collection{Info: Info{Name: "N", UID: "12345678-12ece9e1-2abf-4edc-8e34-de66e74114d2"},
					Item: []Item{{Name: "folder", Item: []Item{}}}}
				return c.ReplaceCollection(ctx, "12ece9e1-2abf-4edc-8e34-de66e74114d2", col, ReplaceOptions{})
			},
			respond: `{"collection":{"id":"12ece9e1-2abf-4edc-8e34-de66e74114d2","name":"N","uid":"` + tID + `"}}`,
			method:  "PUT", path: "/collections/" + tID,
			header: map[string]string{"Prefer": ""},
			body:   `{"collection":{"info":{"name":"N","schema":"` + SchemaV21 + `","uid":"` + tID + `"},"item":[{"name":"folder","item":[]}]}}`,
			check: func(t *testing.T, r any) {
				res := r.(ReplaceResult)
				if res.Collection == nil || res.Task != nil {
					t.Errorf("got %+v", res)
				}
			},
		},
		{
			name: "ReplaceCollection async",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ReplaceCollection(ctx, tID, &Collection{Info: Info{Name: "N"}}, ReplaceOptions{Async: true})
			},
			status: 202, respond: `{"task":{"id":"t1","status":"in-progress"}}`,
			method: "PUT", path: "/collections/" + tID, header: map[string]string{"Prefer": "respond-async"},
			body: `{"collection":{"info":{"name":"N","schema":"` + SchemaV21 + `"},"item":[]}}`,
			check: func(t *testing.T, r any) {
				res := r.(ReplaceResult)
				if res.Task == nil || res.Task.ID != "t1" || res.Task.Done() {
					t.Errorf("got %+v", res)
				}
			},
		},
		{
			name:    "GetCollectionUpdateTask",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetCollectionUpdateTask(ctx, "t1") },
			respond: `{"id":"t1","status":"failed"}`,
			method:  "GET", path: "/collection-updates-tasks/t1",
			check: func(t *testing.T, r any) {
				if task := r.(CollectionUpdateTask); task.Status != TaskFailed || !task.Done() {
					t.Errorf("got %+v", task)
				}
			},
		},
		{
			name: "PatchCollection",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.PatchCollection(ctx, tID, CollectionPatch{
					Info:     &PatchInfo{Name: "v2"},
					Variable: []Variable{NewVariable("userId", "1")},
					Events:   []Event{{Listen: "test", Script: &Script{ID: "s1", Type: "text/javascript", Exec: Lines{""}}}},
				})
			},
			respond: `{"collection":{"id":"x","name":"v2","description":"d"}}`,
			method:  "PATCH", path: "/collections/" + tID,
			body: `{"collection":{"info":{"name":"v2"},"variable":[{"key":"userId","value":"1"}],` +
				`"events":[{"listen":"test","script":{"id":"s1","type":"text/javascript","exec":[""]}}]}}`,
		},
		{
			name:    "DeleteCollection",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.DeleteCollection(ctx, tID) },
			respond: `{"collection":{"id":"x","uid":"1-x"}}`,
			method:  "DELETE", path: "/collections/" + tID,
		},
		{
			name:    "ListEnvironments",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.ListEnvironments(ctx, tWS) },
			respond: `{"environments":[{"id":"e","name":"E","owner":"1","uid":"1-e","isPublic":false}]}`,
			method:  "GET", path: "/environments", query: url.Values{"workspace": {tWS}},
		},
		{
			name:    "GetEnvironment",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetEnvironment(ctx, tID) },
			respond: `{"environment":{"id":"e","name":"E","owner":"1","values":[{"key":"k","value":"v","enabled":false,"type":"secret"}]}}`,
			method:  "GET", path: "/environments/" + tID,
			check: func(t *testing.T, r any) {
				e := r.(*Environment)
				if e.UIDOf() != "1-e" || e.Values[0].Type != EnvVarSecret || e.Values[0].Enabled {
					t.Errorf("got %+v", e)
				}
			},
		},
		{
			name: "CreateEnvironment",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateEnvironment(ctx, tWS, EnvironmentInput{Name: "E", Values: []EnvVar{
					{Key: "a", Value: "1", Enabled: false, Type: EnvVarDefault},
					{Key: "b", Value: "s", Enabled: true, Type: EnvVarSecret, Description: "d"},
				}})
			},
			respond: `{"environment":{"id":"e","name":"E","uid":"1-e"}}`,
			method:  "POST", path: "/environments", query: url.Values{"workspace": {tWS}},
			body: `{"environment":{"name":"E","values":[{"key":"a","value":"1","enabled":false,"type":"default"},` +
				`{"key":"b","value":"s","enabled":true,"type":"secret","description":"d"}]}}`,
		},
		{
			name: "ReplaceEnvironment removing all values",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ReplaceEnvironment(ctx, tID, EnvironmentInput{Values: []EnvVar{}})
			},
			respond: `{"environment":{"id":"e","name":"E","uid":"1-e"}}`,
			method:  "PUT", path: "/environments/" + tID,
			body: `{"environment":{"values":[]}}`,
		},
		{
			name: "PatchEnvironment",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.PatchEnvironment(ctx, tID, []PatchOp{
					{Op: "remove", Path: "/values/1"},
					{Op: "replace", Path: "/values/0/enabled", Value: false},
					{Op: "add", Path: "/values/0", Value: EnvVar{Key: "k", Value: "v", Enabled: true, Type: "default"}},
				})
			},
			respond: `{"environment":{"id":"e","name":"E","owner":"1","values":[],"uid":"1-e"}}`,
			method:  "PATCH", path: "/environments/" + tID,
			body: `[{"op":"remove","path":"/values/1"},{"op":"replace","path":"/values/0/enabled","value":false},` +
				`{"op":"add","path":"/values/0","value":{"key":"k","value":"v","enabled":true,"type":"default"}}]`,
		},
		{
			name:    "DeleteEnvironment",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.DeleteEnvironment(ctx, tID) },
			respond: `{"environment":{"id":"e","uid":"1-e"}}`,
			method:  "DELETE", path: "/environments/" + tID,
		},
		{
			name: "ListMonitorsPage all filters",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListMonitorsPage(ctx, ListMonitorsOptions{Workspace: tWS, Active: true, Owner: 42, CollectionUID: "1-c",
					EnvironmentUID: "1-e", Limit: 10}, monitorCursor)
			},
			respond: `{"monitors":[{"id":"m","name":"M","active":true,"uid":"42-m","owner":42,"collectionUid":"1-c","environmentUid":"1-e"}],"meta":{"nextCursor":null,"limit":10}}`,
			method:  "GET", path: "/monitors",
			query: url.Values{"workspace": {tWS}, "active": {"true"}, "owner": {"42"}, "collectionUid": {"1-c"},
				"environmentUid": {"1-e"}, "cursor": {"vendor-cursor=="}, "limit": {"10"}},
			check: func(t *testing.T, r any) {
				p := r.(Page[MonitorSummary])
				if p.Next != "" || p.Items[0].Owner != 42 {
					t.Errorf("got %+v", p)
				}
			},
		},
		{
			name: "ListMonitorsPage limit is capped at 25",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListMonitorsPage(ctx, ListMonitorsOptions{Limit: 100}, "")
			},
			respond: `{"monitors":[],"meta":{"nextCursor":"","limit":25}}`,
			method:  "GET", path: "/monitors", query: url.Values{"limit": {"25"}},
		},
		{
			name:    "GetMonitor",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetMonitor(ctx, tMon) },
			respond: `{"monitor":{"id":"m","name":"M","uid":"1-m","owner":1,"active":true,"schedule":{"cron":"0 0 * * * *","timezone":"UTC","nextRun":"2025-06-18T05:00:00.000Z"},"lastRun":{"status":"failed","startedAt":"2025-06-17T18:39:52.852Z","stats":{"assertions":{"total":5,"failed":2},"requests":{"total":3}}}}}`,
			method:  "GET", path: "/monitors/" + tMon,
			check: func(t *testing.T, r any) {
				m := r.(*Monitor)
				want := time.Date(2025, 6, 18, 5, 0, 0, 0, time.UTC)
				if !m.Schedule.NextRun.Equal(want) || m.LastRun.Status != "failed" || m.LastRun.Stats.Assertions.Failed != 2 {
					t.Errorf("got %+v", m)
				}
			},
		},
		{
			name: "CreateMonitor",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateMonitor(ctx, tWS, CreateMonitorInput{Name: "M", Collection: "1-c", Environment: "1-e",
					Schedule:     Schedule{Cron: "*/5 * * * *", Timezone: "America/Chicago"},
					Options:      &MonitorOptions{StrictSSL: new(false), RequestTimeout: new(4000)},
					Distribution: []Distribution{{Region: "us-east"}}})
			},
			respond: `{"monitor":{"id":"m","name":"M","active":true,"uid":"1-m"}}`,
			method:  "POST", path: "/monitors", query: url.Values{"workspace": {tWS}},
			body: `{"monitor":{"name":"M","collection":"1-c","environment":"1-e","options":{"requestTimeout":4000,"strictSSL":false},` +
				`"schedule":{"cron":"*/5 * * * *","timezone":"America/Chicago"},"distribution":[{"region":"us-east"}]}}`,
		},
		{
			name: "UpdateMonitor",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdateMonitor(ctx, tMon, UpdateMonitorInput{Name: "M2", Schedule: &Schedule{Cron: "0 * * * *"}, Retry: &Retry{Attempts: 2}})
			},
			respond: `{"monitor":{"id":"m","name":"M2","active":true,"uid":"1-m"}}`,
			method:  "PUT", path: "/monitors/" + tMon,
			body: `{"monitor":{"name":"M2","retry":{"attempts":2},"schedule":{"cron":"0 * * * *"}}}`,
		},
		{
			name:    "PauseMonitor",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.PauseMonitor(ctx, tMon) },
			respond: `{"monitor":{"id":"m","name":"M","active":false,"uid":"1-m"}}`,
			method:  "PUT", path: "/monitors/" + tMon, body: `{"monitor":{"active":false}}`,
			check: func(t *testing.T, r any) {
				if a := r.(MonitorRef).Active; a == nil || *a {
					t.Errorf("active = %v", a)
				}
			},
		},
		{
			name:    "ResumeMonitor",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.ResumeMonitor(ctx, tMon) },
			respond: `{"monitor":{"id":"m","name":"M","active":true,"uid":"1-m"}}`,
			method:  "PUT", path: "/monitors/" + tMon, body: `{"monitor":{"active":true}}`,
		},
		{
			name:    "DeleteMonitor",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.DeleteMonitor(ctx, tMon) },
			respond: `{"monitor":{"id":"m","uid":"1-m"}}`,
			method:  "DELETE", path: "/monitors/" + tMon,
		},
		{
			name: "RunMonitor sync",
			call: func(ctx context.Context, c *Client) (any, error) { return c.RunMonitor(ctx, tMon, RunOptions{}) },
			respond: `{"run":{"info":{"jobId":"j","monitorId":"m","status":"failed"},"stats":{"assertions":{"total":1,"failed":1},"requests":{"total":1,"failed":0}},` +
				`"executions":[{"id":1,"item":{"name":"R","id":"i1"},"request":{"method":"GET","url":"http://x","headers":{"A":"1","Postman-Token":null,"Multi":["a","b"]},"body":{"contentLength":0,"mode":"raw"},"timestamp":"2025-06-17T19:50:06.186Z"},` +
				`"response":{"code":500,"headers":{},"body":{"contentLength":5},"responseTime":12.5,"responseSize":5},"errors":[{"name":"TypeError","message":"x"}],"assertions":{"Status code is 200":false}}],` +
				`"failures":[{"anything":1}]}}`,
			method: "POST", path: "/monitors/" + tMon + "/run",
			check: func(t *testing.T, r any) {
				res := r.(RunResult)
				ex := res.Run.Executions[0]
				if res.Running || res.Async || res.Run.Info.Status != "failed" || ex.Item.ID != "i1" || ex.Request.Headers["Postman-Token"] != "" ||
					ex.Request.Headers["Multi"] != "a, b" || ex.Response.ResponseTime != 12.5 || ex.Errors[0].Name != "TypeError" ||
					len(ex.Assertions) == 0 || len(res.Run.Failures) != 1 || ex.Request.Body.Mode != "raw" {
					t.Errorf("got %+v", res)
				}
			},
		},
		{
			name: "RunMonitor async",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.RunMonitor(ctx, tMon, RunOptions{Async: true})
			},
			respond: `{"run":{"info":{"jobId":"j","monitorId":"m","status":"success"}}}`,
			method:  "POST", path: "/monitors/" + tMon + "/run", query: url.Values{"async": {"true"}},
			check: func(t *testing.T, r any) {
				if res := r.(RunResult); res.Running || !res.Async || res.Run.Info.JobID != "j" {
					t.Errorf("got %+v", res)
				}
			},
		},
		{
			name:   "RunMonitor still running (202)",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.RunMonitor(ctx, tMon, RunOptions{}) },
			status: 202, respond: `{"run":{"info":{"monitorId":"m","status":"running","message":"taking longer"}}}`,
			method: "POST", path: "/monitors/" + tMon + "/run",
			check: func(t *testing.T, r any) {
				if res := r.(RunResult); !res.Running || res.Run.Info.Message != "taking longer" {
					t.Errorf("got %+v", res)
				}
			},
		},
		{
			name: "ListMocks",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListMocks(ctx, ListMocksOptions{TeamID: "7", Workspace: tWS})
			},
			respond: `{"mocks":[{"id":"k","owner":"1","uid":"1-k","collection":"1-c","mockUrl":"https://k.mock.pstmn.io","name":"K","config":{"delay":null,"headers":[],"matchBody":false,"matchQueryParams":true,"matchWildcards":true,"serverResponseId":""}}]}`,
			method:  "GET", path: "/mocks", query: url.Values{"teamId": {"7"}, "workspace": {tWS}},
		},
		{
			name:    "GetMock",
			call:    func(ctx context.Context, c *Client) (any, error) { return c.GetMock(ctx, tID) },
			respond: `{"mock":{"id":"k","owner":"1","uid":"1-k","collection":"1-c","mockUrl":"u","name":"K","config":{"delay":{"type":"fixed","preset":"1","duration":100}}}}`,
			method:  "GET", path: "/mocks/" + tID,
			check: func(t *testing.T, r any) {
				if m := r.(*Mock); m.Config.Delay.Duration != 100 || m.Owner != "1" {
					t.Errorf("got %+v", m)
				}
			},
		},
		{
			name: "CreateWebhook",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateWebhook(ctx, tWS, WebhookInput{Name: "H", Collection: "1-c"})
			},
			respond: `{"webhook":{"id":"h","name":"H","collection":"1-c","webhookUrl":"https://newman-api.postman.com/run/1/h","uid":"1-h"}}`,
			method:  "POST", path: "/webhooks", query: url.Values{"workspace": {tWS}},
			body: `{"webhook":{"name":"H","collection":"1-c"}}`,
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got recorded
			var n int
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n++
				body, _ := io.ReadAll(r.Body)
				got = recorded{method: r.Method, path: r.URL.EscapedPath(), rawQuery: r.URL.RawQuery, query: r.URL.Query(),
					header: r.Header.Clone(), body: body, contentLength: r.ContentLength, transferEncoding: r.TransferEncoding}
				w.Header().Set("Content-Type", "application/json")
				status := tc.status
				if status == 0 {
					status = 200
				}
				w.WriteHeader(status)
				io.WriteString(w, tc.respond)
			}))
			defer srv.Close()
			rt := &recordingTransport{next: http.DefaultTransport}
			c, err := New(Config{APIKey: testKey, BaseURL: srv.URL, Transport: rt})
			if err != nil {
				t.Fatal(err)
			}
			result, err := tc.call(t.Context(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
			if got.method != tc.method || got.path != tc.path {
				t.Errorf("sent %s %s, want %s %s", got.method, got.path, tc.method, tc.path)
			}
			wantQuery := tc.query
			if wantQuery == nil {
				wantQuery = url.Values{}
			}
			if got.query.Encode() != wantQuery.Encode() {
				t.Errorf("query %q, want %q", got.query.Encode(), wantQuery.Encode())
			}
			checkCommonHeaders(t, got)
			for k, v := range tc.header {
				if g := got.header.Get(k); g != v {
					t.Errorf("header %s = %q, want %q", k, g, v)
				}
			}
			if tc.body == "" {
				if len(got.body) != 0 || got.header.Get("Content-Type") != "" {
					t.Errorf("unexpected body %q (Content-Type %q)", got.body, got.header.Get("Content-Type"))
				}
			} else {
				checkBody(t, got, tc.body)
				rt.mu.Lock()
				req := rt.reqs[0]
				rt.mu.Unlock()
				if req.GetBody == nil {
					t.Error("request has no GetBody; a transport could not retry it")
				} else if rc, err := req.GetBody(); err != nil {
					t.Error(err)
				} else if again, _ := io.ReadAll(rc); string(again) != string(got.body) {
					t.Errorf("GetBody gives %q, sent %q", again, got.body)
				}
			}
			if tc.check != nil {
				tc.check(t, result)
			}
		})
	}
}

func checkCommonHeaders(t *testing.T, got recorded) {
	t.Helper()
	if k := got.header.Get("X-Api-Key"); k != testKey {
		t.Errorf("X-Api-Key = %q", k)
	}
	if ua := got.header.Get("User-Agent"); ua != "pmops/"+Version {
		t.Errorf("User-Agent = %q", ua)
	}
	if a := got.header.Get("Accept"); a != "application/json" {
		t.Errorf("Accept = %q", a)
	}
	if strings.Contains(got.rawQuery, testKey) || strings.Contains(strings.ToLower(got.rawQuery), "apikey") {
		t.Errorf("key in query string: %q", got.rawQuery)
	}
}

func checkBody(t *testing.T, got recorded, want string) {
	t.Helper()
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if got.contentLength != int64(len(got.body)) || len(got.transferEncoding) != 0 {
		t.Errorf("Content-Length %d for %d bytes (transfer-encoding %v); environments answer 411 without it",
			got.contentLength, len(got.body), got.transferEncoding)
	}
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want body: %v", err)
	}
	if err := json.Unmarshal(got.body, &g); err != nil {
		t.Fatalf("sent body is not JSON: %v: %s", err, got.body)
	}
	failDiffs(t, equalJSON(w, g))
}

// TestValidationBeforeSending checks that calls the API would refuse (or misplace) fail without a request.
func TestValidationBeforeSending(t *testing.T) {
	var n int
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { n++ })
	ctx := t.Context()
	calls := map[string]func() error{
		"get collection empty id":  func() error { _, err := c.GetCollection(ctx, " ", GetCollectionOptions{}); return err },
		"get monitor dot-dot":      func() error { _, err := c.GetMonitor(ctx, ".."); return err },
		"get mock with slash":      func() error { _, err := c.GetMock(ctx, "a/b"); return err },
		"create collection no ws":  func() error { _, err := c.CreateCollection(ctx, "", &Collection{Info: Info{Name: "x"}}); return err },
		"create collection noname": func() error { _, err := c.CreateCollection(ctx, "w", &Collection{}); return err },
		"create env no ws":         func() error { _, err := c.CreateEnvironment(ctx, "", EnvironmentInput{Name: "x"}); return err },
		"create monitor no cron": func() error {
			_, err := c.CreateMonitor(ctx, "w", CreateMonitorInput{Name: "x", Collection: "1-c"})
			return err
		},
		"create webhook no ws":  func() error { _, err := c.CreateWebhook(ctx, "", WebhookInput{Name: "x", Collection: "c"}); return err },
		"patch collection none": func() error { _, err := c.PatchCollection(ctx, "c", CollectionPatch{}); return err },
		"patch env none":        func() error { _, err := c.PatchEnvironment(ctx, "e", nil); return err },
		"update monitor none":   func() error { _, err := c.UpdateMonitor(ctx, "m", UpdateMonitorInput{}); return err },
		"replace nil":           func() error { _, err := c.ReplaceCollection(ctx, "c", nil, ReplaceOptions{}); return err },
		"foreign cursor": func() error {
			_, err := c.ListMonitorsPage(ctx, ListMonitorsOptions{}, encodeCursor(listingWorkspaces, "x"))
			return err
		},
		"garbage cursor": func() error {
			_, err := c.ListCollectionsPage(ctx, ListCollectionsOptions{}, "!!!")
			return err
		},
		"element type alone": func() error {
			_, err := c.ListWorkspacesPage(ctx, ListWorkspacesOptions{ElementType: "collection"}, "")
			return err
		},
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n != 0 {
		t.Errorf("%d requests sent for invalid calls", n)
	}
}

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantURL string
		wantErr string
	}{
		{"default is US", Config{APIKey: "k1234"}, BaseURLUS, ""},
		{"region eu", Config{APIKey: "k1234", Region: "EU"}, BaseURLEU, ""},
		{"region us", Config{APIKey: "k1234", Region: "us"}, BaseURLUS, ""},
		{"base URL wins alone", Config{APIKey: "k1234", BaseURL: "http://127.0.0.1:9999/"}, "http://127.0.0.1:9999", ""},
		{"base URL with prefix", Config{APIKey: "k1234", BaseURL: "http://localhost:1/postman/"}, "http://localhost:1/postman", ""},
		{"agreeing base and region", Config{APIKey: "k1234", BaseURL: "https://api.eu.postman.com/", Region: "eu"}, BaseURLEU, ""},
		{"disagreeing base and region", Config{APIKey: "k1234", BaseURL: "https://api.postman.com", Region: "eu"}, "", "set only one"},
		{"no key", Config{}, "", "no Postman API key"},
		{"key with newline", Config{APIKey: "k1234\n"}, "", "whitespace"},
		{"unknown region", Config{APIKey: "k1234", Region: "mars"}, "", "unknown Postman region"},
		{"ftp base", Config{APIKey: "k1234", BaseURL: "ftp://api.postman.com"}, "", "must start with https://"},
		{"no host", Config{APIKey: "k1234", BaseURL: "https://"}, "", "no host"},
		{"unparsable", Config{APIKey: "k1234", BaseURL: "http://[::1"}, "", "does not parse"},
		{"query in base", Config{APIKey: "k1234", BaseURL: "https://x.test/?apikey=1"}, "", "must not carry"},
		{"negative timeout", Config{APIKey: "k1234", Timeout: -time.Second}, "", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "k1234") {
					t.Errorf("error shows the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.BaseURL() != tt.wantURL {
				t.Errorf("BaseURL = %q, want %q", c.BaseURL(), tt.wantURL)
			}
		})
	}
}

func TestBaseURLPrefixAndUserAgent(t *testing.T) {
	var path, ua string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ua = r.URL.Path, r.UserAgent()
		io.WriteString(w, `{"user":{"id":1}}`)
	}))
	defer srv.Close()
	c, err := New(Config{APIKey: testKey, BaseURL: srv.URL + "/prefix/", UserAgent: "custom/1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetMe(t.Context()); err != nil {
		t.Fatal(err)
	}
	if path != "/prefix/me" || ua != "custom/1" {
		t.Errorf("path %q ua %q", path, ua)
	}
}

func TestRedirectToOtherHostDropsKey(t *testing.T) {
	var leaked string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = r.Header.Get("X-Api-Key")
		io.WriteString(w, `{"user":{"id":1}}`)
	}))
	defer other.Close()
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/me", http.StatusFound)
	})
	if _, err := c.GetMe(t.Context()); err != nil {
		t.Fatal(err)
	}
	if leaked != "" {
		t.Errorf("key followed a redirect to another host")
	}
}

func TestTransportErrorsNameTheCallNotTheQuery(t *testing.T) {
	boom := errors.New("boom")
	c, err := New(Config{APIKey: testKey, BaseURL: "http://example.invalid",
		Transport: roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, boom })})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetCollection(t.Context(), "c1", GetCollectionOptions{AccessKey: "PMAT-secret"})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want wrapping boom", err)
	}
	if !strings.Contains(err.Error(), "GET /collections/c1") || strings.Contains(err.Error(), "PMAT-secret") {
		t.Errorf("err = %q", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTimeoutAndContext(t *testing.T) {
	block := make(chan struct{})
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	defer close(block)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.GetMe(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	short, err := New(Config{APIKey: testKey, BaseURL: srv.URL, Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.GetMe(t.Context()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded from Config.Timeout", err)
	}
}

func TestUndecodableSuccessIsAnError(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"monitor":{"owner":"not-a-number"}}`)
	})
	_, err := c.GetMonitor(t.Context(), "m")
	if err == nil || !strings.Contains(err.Error(), "GET /monitors/m") {
		t.Errorf("err = %v", err)
	}
	c = newTestClient(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{}`) })
	if _, err := c.GetMonitor(t.Context(), "m"); err == nil {
		t.Error("an answer without the monitor object must be an error")
	}
}
