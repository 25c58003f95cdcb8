package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testPublicURL = "http://emulator.test:8080"

func mockID(f *fixture, name string) string {
	_, id, _ := splitRef(f.uid("mock", name))
	return id
}

func TestMockURLs(t *testing.T) {
	f := demo(t)
	r := f.do("GET", "/mocks/"+f.uid("mock", "Payments API mock"), DemoKey, nil)
	if got := r.JSON.(map[string]any)["mock"].(map[string]any)["mockUrl"]; got != "https://"+mockID(f, "Payments API mock")+".mock.pstmn.io" {
		t.Fatalf("without PublicURL the vendor's mock URL stays: %v", got)
	}
	f = newFixture(t, Options{PublicURL: testPublicURL + "/"})
	id := mockID(f, "Payments API mock")
	r = f.do("GET", "/mocks/"+id, DemoKey, nil)
	m := r.JSON.(map[string]any)["mock"].(map[string]any)
	if m["mockUrl"] != testPublicURL+"/mock/"+id || m["isPublic"] != true {
		t.Fatalf("with PublicURL the mock lives on the emulator and is public: %v", m)
	}
	env := f.do("GET", "/environments/"+f.uid("environment", "staging"), DemoKey, nil)
	if !strings.Contains(string(env.Raw), `"value":"`+testPublicURL+"/mock/"+id+`"`) {
		t.Fatalf("staging baseUrl does not point at the mock: %s", env.Raw)
	}
	if err := (Options{PublicURL: "ftp://x"}).Validate(); err == nil {
		t.Fatal("a non-http public URL must be rejected")
	}
}

func TestMockMatching(t *testing.T) {
	f := newFixture(t, Options{PublicURL: testPublicURL})
	id := mockID(f, "Payments API mock")
	call := func(method, path string, hdr map[string]string) *resp {
		return f.do(method, "/mock/"+id+path, "", nil, func(r *http.Request) {
			for k, v := range hdr {
				r.Header.Set(k, v)
			}
		})
	}
	cases := []struct {
		name, method, path string
		hdr                map[string]string
		code               int
		bodyHas            string
	}{
		{"exact path", "GET", "/health", nil, 200, `"id"`},
		{"method must match", "DELETE", "/health", nil, 404, "mockRequestNotFoundError"},
		{"unknown path", "GET", "/nope", nil, 404, "Double check your method and the request path"},
		{"2xx wins a tie", "POST", "/v1/accounts", nil, 201, `"id"`},
		{"x-mock-response-code picks among equals", "POST", "/v1/accounts", map[string]string{"x-mock-response-code": "422"}, 422, "invalid_request_error"},
		{"x-mock-response-name", "POST", "/v1/accounts", map[string]string{"x-mock-response-name": "400 Bad Request"}, 400, "invalid_request_error"},
		{"variable segment is a wildcard", "GET", "/v1/accounts/acct_123", nil, 200, `"get /v1/accounts/{{account_id}}"`},
		{"an exact segment beats a wildcard", "GET", "/v1/accounts/search", nil, 200, `"get /v1/accounts/search"`},
		{"query parameters steer the match", "GET", "/v1/accounts?limit=1000", map[string]string{"x-mock-response-code": "400"}, 400, ""},
		{"case-insensitive segment", "GET", "/HEALTH", nil, 200, ""},
		{"trailing slash", "GET", "/health/", nil, 200, ""},
		{"the failing demo example", "POST", "/oauth/token", nil, 401, "invalid_client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(c.method, c.path, c.hdr)
			if r.Code != c.code || !strings.Contains(string(r.Raw), c.bodyHas) {
				t.Fatalf("%s %s → %d %s; want %d with %q", c.method, c.path, r.Code, r.Raw, c.code, c.bodyHas)
			}
		})
	}
	// x-mock-response-id picks by example ID.
	exID := f.itemID(DemoCollectionPayments, "Health check/200 OK")
	if r := call("GET", "/health", map[string]string{"x-mock-response-id": exID}); r.Code != 200 {
		t.Fatalf("by id: %d", r.Code)
	}
	if r := call("GET", "/health", map[string]string{"x-mock-response-id": "nope"}); r.Code != 404 {
		t.Fatalf("unknown id: %d", r.Code)
	}

	// Every call above is in the call logs, newest first.
	logs := f.do("GET", "/mocks/"+id+"/call-logs?limit=2", DemoKey, nil)
	wantStatus(t, logs, 200)
	var page struct {
		CallLogs []struct {
			ResponseName string
			Request      struct{ Method, Path string }
			Response     struct {
				Type       string
				StatusCode int
			}
		} `json:"call-logs"`
		Meta struct{ NextCursor *string }
	}
	if err := json.Unmarshal(logs.Raw, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.CallLogs) != 2 || page.CallLogs[0].Response.Type != "error" || page.CallLogs[0].Request.Path != "/health" ||
		page.CallLogs[1].Response.StatusCode != 200 || page.Meta.NextCursor == nil {
		t.Fatalf("call logs: %s", logs.Raw)
	}
	next := f.do("GET", "/mocks/"+id+"/call-logs?limit=100&cursor="+*page.Meta.NextCursor, DemoKey, nil)
	if n := strings.Count(string(next.Raw), `"servedAt"`); n != len(cases) {
		t.Fatalf("second page has %d calls, want %d", n, len(cases))
	}
	if r := f.do("GET", "/mocks/"+id+"/call-logs?responseType=error", DemoKey, nil); strings.Count(string(r.Raw), `"servedAt"`) != 3 {
		t.Fatalf("error filter: %s", r.Raw)
	}
}

func TestMockPrivacyAndLifecycle(t *testing.T) {
	f := demo(t)
	id := mockID(f, "Payments API mock") // private in the plain demo seed
	if r := f.do("GET", "/mock/"+id+"/health", "", nil); r.Code != 401 || !strings.Contains(string(r.Raw), "x-api-key") {
		t.Fatalf("a private mock without a key: %d %s", r.Code, r.Raw)
	}
	if r := f.do("GET", "/mock/"+id+"/health", OtherTeamKey, nil); r.Code != 401 {
		t.Fatalf("a private mock with another team's key: %d", r.Code)
	}
	wantStatus(t, f.do("GET", "/mock/"+id+"/health", DemoKey, nil), 200)
	if r := f.do("GET", "/mock/"+mockID(f, "Legacy billing mock")+"/x", DemoKey, nil); r.Code != 404 {
		t.Fatalf("a deactivated mock answers %d", r.Code)
	}
	// A mock created through the API serves examples created through the item endpoints.
	col := f.uid("collection", DemoCollectionSmoke)
	_, colID, _ := splitRef(col)
	created := f.do("POST", "/mocks", DemoKey, map[string]any{"mock": map[string]any{"collection": col}})
	wantStatus(t, created, 200)
	mid := created.JSON.(map[string]any)["mock"].(map[string]any)["id"].(string)
	if r := f.do("GET", "/mock/"+mid+"/health", "", nil); r.Code != 404 {
		t.Fatalf("no examples yet, want 404, got %d", r.Code)
	}
	wantStatus(t, f.do("POST", "/collections/"+colID+"/responses?request="+f.itemID(DemoCollectionSmoke, "Health check"), DemoKey,
		`{"name":"Up","responseCode":{"code":200},"headers":[{"key":"X-Up","value":"yes"}],"text":"{\"status\":\"up\"}","language":"json"}`), 200)
	r := f.do("GET", "/mock/"+mid+"/health", "", nil)
	if r.Code != 200 || r.Header.Get("X-Up") != "yes" || !strings.Contains(string(r.Raw), `"up"`) {
		t.Fatalf("the new example is not served: %d %v %s", r.Code, r.Header, r.Raw)
	}
	wantStatus(t, f.do("DELETE", "/mocks/"+mid, DemoKey, nil), 200)
	if r := f.do("GET", "/mock/"+mid+"/health", "", nil); r.Code != 404 {
		t.Fatalf("a deleted mock answers %d", r.Code)
	}
}

var (
	statusTest = regexp.MustCompile(`pm\.response\.to\.have\.status\((\d+)\)`)
	varRef     = regexp.MustCompile(`\{\{([^{}]+)\}\}`)
)

// TestDemoRunAgainstTheMock sends every request of the demo "Payments API" to its mock, the way a collection
// runner with the staging environment would (variables from the environment and the collection, unresolved ones
// left as they are, the request's headers sent), and checks each request's status and id tests: exactly one
// assertion fails, the OAuth token's.
func TestDemoRunAgainstTheMock(t *testing.T) {
	f := newFixture(t, Options{PublicURL: testPublicURL})
	vars := map[string]string{"apiVersion": "2024-06-01", "pageSize": "25"}
	for _, v := range f.e.environments {
		if v.name == "staging" {
			for _, ev := range v.values {
				vars[ev.Key] = *ev.Value
			}
		}
	}
	resolve := func(s string) string {
		return varRef.ReplaceAllStringFunc(s, func(m string) string {
			if v, has := vars[m[2:len(m)-2]]; has {
				return v
			}
			return m
		})
	}
	_, colID, _ := splitRef(f.uid("collection", DemoCollectionPayments))
	var reqs []map[string]any
	var walk func([]any)
	walk = func(items []any) {
		for _, it := range items {
			m := it.(map[string]any)
			if sub, isF := m["item"].([]any); isF {
				walk(sub)
			} else {
				reqs = append(reqs, m)
			}
		}
	}
	walk(f.e.collections[colID].items)
	if len(reqs) != 300 {
		t.Fatalf("%d requests, want 300", len(reqs))
	}
	var failures []string
	assertions := 0
	for _, it := range reqs {
		req := it["request"].(map[string]any)
		raw := resolve(req["url"].(map[string]any)["raw"].(string))
		if !strings.HasPrefix(raw, testPublicURL) {
			t.Fatalf("%s does not go to the mock: %s", it["name"], raw)
		}
		r := f.do(req["method"].(string), strings.TrimPrefix(raw, testPublicURL), "", nil, func(hr *http.Request) {
			for _, h := range params(req["header"]) {
				hr.Header.Set(h["key"].(string), resolve(h["value"].(string)))
			}
		})
		script := strings.Join(execLines(it["event"].([]any)[0].(map[string]any)["script"].(map[string]any)["exec"]), "\n")
		if m := statusTest.FindStringSubmatch(script); m != nil {
			assertions++
			if want, _ := strconv.Atoi(m[1]); r.Code != want {
				failures = append(failures, fmt.Sprintf("%s: status %d, test wants %d", it["name"], r.Code, want))
			}
		}
		if strings.Contains(script, "body.id") {
			assertions++
			if body, isObj := r.JSON.(map[string]any); !isObj || body["id"] == nil {
				failures = append(failures, fmt.Sprintf("%s: no id in %s", it["name"], r.Raw))
			}
		}
	}
	if len(failures) != 1 || !strings.HasPrefix(failures[0], "Get OAuth token: status 401") {
		t.Fatalf("want exactly the OAuth token's status test to fail; %d of %d assertions failed:\n%s", len(failures), assertions, strings.Join(failures, "\n"))
	}
}

// TestDemoNewmanRun runs real Newman (NEWMAN=path to newman.js or a newman binary; scripts/npm-tools.sh installs
// one) over the demo collection and staging environment against the served mock: one failing assertion.
func TestDemoNewmanRun(t *testing.T) {
	newman := os.Getenv("NEWMAN")
	if newman == "" {
		if p, err := exec.LookPath("newman"); err == nil {
			newman = p
		}
	}
	if newman == "" || testing.Short() {
		t.Skip("no Newman: set NEWMAN (scripts/npm-tools.sh; . .cache/npm/env.sh)")
	}
	srv := httptest.NewUnstartedServer(nil)
	e := New(Options{PublicURL: "http://" + srv.Listener.Addr().String()})
	srv.Config.Handler = e
	srv.Start()
	defer srv.Close()
	get := func(path string) []byte {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("X-Api-Key", DemoKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var v map[string]json.RawMessage
		if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
			t.Fatal(err)
		}
		for _, inner := range v {
			return inner
		}
		return nil
	}
	colUID, _ := e.UIDByName("collection", DemoCollectionPayments)
	envUID, _ := e.UIDByName("environment", "staging")
	dir := t.TempDir()
	colFile, envFile, report := filepath.Join(dir, "c.json"), filepath.Join(dir, "e.json"), filepath.Join(dir, "r.json")
	if err := os.WriteFile(colFile, get("/collections/"+colUID), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envFile, get("/environments/"+envUID), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", colFile, "-e", envFile, "-r", "json", "--reporter-json-export", report, "--timeout", "120000"}
	cmd := exec.Command(newman, args...)
	if strings.HasSuffix(newman, ".js") {
		node := os.Getenv("NODE")
		if node == "" {
			node = "node"
		}
		cmd = exec.Command(node, append([]string{newman}, args...)...)
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("newman: %v\n%s", err, out)
	}
	raw, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("no report: %v\n%s", rerr, out)
	}
	var rep struct {
		Run struct {
			Stats struct {
				Requests, Assertions struct{ Total, Failed int }
			}
			Failures []struct {
				Error  struct{ Test, Message string }
				Source struct{ Name string }
			}
		}
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	st := rep.Run.Stats
	if st.Requests.Total != 300 || st.Requests.Failed != 0 || st.Assertions.Failed != 1 || len(rep.Run.Failures) != 1 ||
		rep.Run.Failures[0].Source.Name != "Get OAuth token" {
		t.Fatalf("newman: %+v failures %+v", st, rep.Run.Failures)
	}
	t.Logf("newman ran %d requests, %d assertions, 1 failing (%s: %s) in %v", st.Requests.Total, st.Assertions.Total,
		rep.Run.Failures[0].Error.Test, rep.Run.Failures[0].Error.Message, time.Since(start).Round(time.Millisecond))
}
