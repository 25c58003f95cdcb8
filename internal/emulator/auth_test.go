package emulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAuth(t *testing.T) {
	f := demo(t)
	cases := []struct {
		name  string
		build func() *resp
		code  int
		user  float64
	}{
		{"missing", func() *resp { return f.do("GET", "/me", "", nil) }, 401, 0},
		{"invalid", func() *resp { return f.do("GET", "/me", "PMAK-not-a-key", nil) }, 401, 0},
		{"header", func() *resp { return f.do("GET", "/me", DemoKey, nil) }, 200, float64(DemoUserID)},
		{"lower-case header", func() *resp {
			return f.do("GET", "/me", "", nil, func(r *http.Request) { r.Header["x-api-key"] = []string{DemoKey} })
		}, 200, float64(DemoUserID)},
		{"query param", func() *resp { return f.do("GET", "/me?apikey="+DemoTeammateKey, "", nil) }, 200, float64(DemoTeammateID)},
		{"header beats query", func() *resp { return f.do("GET", "/me?apikey="+DemoTeammateKey, OtherTeamKey, nil) }, 200, float64(OtherTeamUserID)},
		{"invalid header beats valid query", func() *resp { return f.do("GET", "/me?apikey="+DemoKey, "PMAK-bad", nil) }, 401, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.build()
			wantStatus(t, r, c.code)
			if c.code == 200 && r.num("user", "id") != c.user {
				t.Fatalf("user %v, want %v", r.get("user", "id"), c.user)
			}
		})
	}
	r := f.do("GET", "/me", "", nil)
	wantProblem(t, r, 401, "An API key must be provided in the request header or query string")
	r = f.do("GET", "/me", "PMAK-not-a-key", nil)
	wantError(t, r, 401, "AuthenticationError")
	if r.str("error", "message") != "Invalid API Key. Every request requires a valid API Key to be sent." {
		t.Fatalf("message %q", r.str("error", "message"))
	}
	if strings.Contains(string(r.Raw), "PMAK-not-a-key") {
		t.Fatal("the 401 echoes the key")
	}
}

func TestIsolationBetweenTeams(t *testing.T) {
	f := demo(t)
	acme := map[string][]string{}
	globex := map[string][]string{}
	for _, kind := range []struct{ path, list string }{
		{"/workspaces", "workspaces"}, {"/collections", "collections"}, {"/environments", "environments"},
		{"/monitors", "monitors"}, {"/mocks?teamId=" + "4821", "mocks"},
	} {
		for key, into := range map[string]map[string][]string{DemoKey: acme, OtherTeamKey: globex} {
			r := f.do("GET", kind.path, key, nil)
			wantStatus(t, r, 200)
			for _, it := range r.arr(kind.list) {
				into[kind.list] = append(into[kind.list], dig(it, "id").(string))
			}
		}
	}
	for list, ids := range globex {
		for _, id := range ids {
			for _, other := range acme[list] {
				if id == other {
					t.Fatalf("%s %s is visible to both teams", list, id)
				}
			}
		}
	}
	if len(acme["collections"]) < 5 || len(globex["collections"]) != 1 || len(globex["monitors"]) != 1 {
		t.Fatalf("unexpected visibility: acme %d collections, globex %d collections %d monitors",
			len(acme["collections"]), len(globex["collections"]), len(globex["monitors"]))
	}
	// Direct access by ID or UID to the other team's objects is a not-found, never a leak.
	col := f.uid("collection", DemoCollectionPayments)
	for _, path := range []string{"/collections/" + col, "/collections/" + bareID(col), "/environments/" + f.uid("environment", "production"),
		"/monitors/" + f.uid("monitor", DemoMonitorPassing), "/mocks/" + f.uid("mock", "Payments API mock")} {
		r := f.do("GET", path, OtherTeamKey, nil)
		wantStatus(t, r, 404)
		if strings.Contains(string(r.Raw), "Payments") || strings.Contains(string(r.Raw), "secret") {
			t.Fatalf("%s: the 404 leaks data: %s", path, r.Raw)
		}
	}
	wantStatus(t, f.do("DELETE", "/collections/"+col, OtherTeamKey, nil), 404)
	wantStatus(t, f.do("GET", "/collections/"+col, DemoKey, nil), 200)
	// A teammate sees the team's data but not Dana's personal workspace.
	personal := f.uid("collection", "Scratchpad")
	wantStatus(t, f.do("GET", "/collections/"+personal, DemoTeammateKey, nil), 404)
	wantStatus(t, f.do("GET", "/collections/"+col, DemoTeammateKey, nil), 200)
}

func TestIDAndUIDPaths(t *testing.T) {
	f := demo(t)
	for _, c := range []struct{ kind, name, path, envelope string }{
		{"collection", DemoCollectionSmoke, "/collections/", "collection"},
		{"environment", "staging", "/environments/", "environment"},
		{"monitor", DemoMonitorPassing, "/monitors/", "monitor"},
		{"mock", "Orders mock", "/mocks/", "mock"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			uid := f.uid(c.kind, c.name)
			id := bareID(uid)
			for _, ref := range []string{uid, id, strings.ToUpper(id)} {
				r := f.do("GET", c.path+ref, DemoKey, nil)
				wantStatus(t, r, 200)
				got := r.str(c.envelope, "id")
				if got == "" {
					got = r.str(c.envelope, "info", "_postman_id")
				}
				if got != id {
					t.Fatalf("%s: id %q, want %q", ref, got, id)
				}
			}
			owner, _, _ := strings.Cut(uid, "-")
			wrongOwner := "1" + owner + "-" + id
			wantStatus(t, f.do("GET", c.path+wrongOwner, DemoKey, nil), 404)
			wantStatus(t, f.do("GET", c.path+"not-an-id", DemoKey, nil), 404)
		})
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	f := demo(t)
	for _, c := range []struct{ method, path string }{{"GET", "/apis"}, {"DELETE", "/me"}, {"GET", "/collections/x/y/z"}} {
		r := f.do(c.method, c.path, DemoKey, nil)
		wantError(t, r, 404, "notFoundError")
	}
	wantStatus(t, f.do("GET", "/apis", "", nil), 401)
	// A doubled slash (a base URL with a trailing slash) still routes.
	wantStatus(t, f.do("GET", "//me", DemoKey, nil), 200)
}

func TestServesOverRealHTTP(t *testing.T) {
	f := demo(t)
	srv := httptest.NewServer(f.e)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/workspaces", nil)
	req.Header.Set("x-api-key", DemoKey)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("RateLimit-Policy") != "300;w=60" || res.Header.Get("Date") == "" {
		t.Fatalf("status %d headers %v", res.StatusCode, res.Header)
	}
}

// TestConcurrentUse hammers one emulator from several goroutines (for the race detector): reads, writes, runs
// with webhooks, scheduled work and faults at once.
func TestConcurrentUse(t *testing.T) {
	rc := newReceiver(t, nil)
	f := newFixture(t, Options{WebhookURL: rc.srv.URL, PerWindow: 1 << 20, RoutePerWindow: 1 << 20})
	srv := httptest.NewServer(f.e)
	defer srv.Close()
	f.e.SetFault(Fault{Kind: FaultServerError, Route: "GET /me", Times: 5})
	paths := []struct{ method, path, body string }{
		{"GET", "/me", ""}, {"GET", "/collections", ""}, {"GET", "/workspaces?limit=1", ""},
		{"POST", "/monitors/" + f.uid("monitor", DemoMonitorFlaky) + "/run", ""},
		{"PATCH", "/environments/" + f.uid("environment", "local"), `[{"op":"replace","path":"/name","value":"local"}]`},
		{"PUT", "/collections/" + f.uid("collection", DemoCollectionBilling), `{"collection":{"info":{"name":"Legacy Billing","schema":"https://schema.postman.com/json/collection/v2.1.0/collection.json"},"item":[]}}`},
		{"GET", "/collections/" + f.uid("collection", DemoCollectionPayments), ""},
	}
	done := make(chan struct{})
	for w := range 6 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 15 {
				p := paths[(w+i)%len(paths)]
				req, _ := http.NewRequest(p.method, srv.URL+p.path, strings.NewReader(p.body))
				req.Header.Set("X-Api-Key", DemoKey)
				res, err := srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_ = res.Body.Close()
				if res.StatusCode >= 500 && p.path != "/me" {
					t.Errorf("%s %s: %d", p.method, p.path, res.StatusCode)
				}
			}
		}()
	}
	for range 3 {
		f.e.Advance(10 * time.Minute)
	}
	for range 6 {
		<-done
	}
	f.e.WaitWebhooks()
	if len(rc.payloads(t)) == 0 {
		t.Fatal("no webhooks")
	}
}
