package emulator

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The fuzz targets feed arbitrary bodies to the handlers that parse outside input. Whatever arrives, the emulator
// must answer with a vendor-shaped 2xx/4xx: never a 5xx, never a panic. Their seed corpora run with plain go test.

func fuzzFixture(t testing.TB) *fixture {
	return newFixture(t, Options{PerWindow: 1 << 30, RoutePerWindow: 1 << 30, MonthlyQuota: 1 << 40})
}

func checkFuzzReply(t *testing.T, r *resp, body []byte) {
	t.Helper()
	if r.Code >= 500 || r.Code < 200 {
		t.Fatalf("status %d for body %q: %s", r.Code, body, r.Raw)
	}
	if r.Code >= 400 && r.get("error") == nil && r.get("detail") == nil && r.get("name") == nil {
		t.Fatalf("a %d without a vendor error shape: %s", r.Code, r.Raw)
	}
}

func FuzzEnvironmentPatch(f *testing.F) {
	for _, seed := range []string{
		`[{"op":"add","path":"/values/0/description","value":"A valid API key."}]`,
		`[{"op":"add","path":"/values/1","value":{"key":"collectionId","value":"1","type":"default","enabled":true,"description":"d"}}]`,
		`[{"op":"add","path":"/values/1","value":{"enabled":true,"key":"apiKey","secret":true,"source":{"postman":{"secretId":"s","type":"cloud","vaultId":"v"},"provider":"postman"},"type":"default","value":""}}]`,
		`[{"op":"replace","path":"/values/0/enabled","value":true}]`,
		`[{"op":"remove","path":"/values/0"}]`,
		`[{"op":"remove","path":"/values/4"},{"op":"remove","path":"/values/3"},{"op":"remove","path":"/values/2"},{"op":"remove","path":"/values/1"}]`,
		`[{"op":"remove","path":"/values/1"},{"op":"remove","path":"/values/0"},{"op":"add","path":"/values/0","value":{"key":"x-api-key","value":"{{x-api-key}}","type":"default","enabled":true}}]`,
		`[{"op":"remove","path":"/values/0/key"}]`,
		`[{"op":"replace","path":"/name","value":"Test API Environment"}]`,
		`[{"op":"replace","path":"/values/1/source","value":{"postman":{"secretId":"0","type":"cloud","vaultId":"0"},"provider":"postman"}}]`,
		`[{"op":"add","path":"/values/-","value":{"key":"k"}}]`,
		`[{"op":"replace","path":"/values/01/value","value":"x"}]`,
		`[{"op":"add","path":"/values/99999999999999999999","value":{"key":"k"}}]`,
		`[{"op":"replace","path":"/values/~1/value","value":"x"}]`,
		`[{"op":"replace","path":"","value":"x"},{"op":1},null,[]]`,
		`{"op":"add"}`, `[`, `null`, ``, `[{"op":"add","path":"/values/0","value":[1,2]}]`,
	} {
		f.Add([]byte(seed))
	}
	fx := fuzzFixture(f)
	env := fx.uid("environment", "staging")
	f.Fuzz(func(t *testing.T, body []byte) {
		fx := fx.with(t)
		r := fx.do("PATCH", "/environments/"+env, DemoKey, body)
		checkFuzzReply(t, r, body)
		if r.Code == 200 {
			// Whatever a successful patch left behind must still render.
			wantStatus(t, fx.do("GET", "/environments/"+env, DemoKey, nil), 200)
		}
	})
}

func FuzzCollectionBody(f *testing.F) {
	for _, seed := range []string{
		`{"collection":{"info":{"name":"x","schema":"https://schema.getpostman.com/json/collection/v2.1.0/collection.json"},"item":[]}}`,
		`{"collection":{"info":{"name":"x","schema":"https://schema.postman.com/json/collection/v2.1.0/collection.json"},"item":[{"name":"f","item":[{"name":"r","request":{"method":"GET","url":{"raw":"https://x/{{a}}","host":["x"]}},"event":[{"listen":"test","script":{"exec":["pm.test(\"s\", function () { pm.response.to.have.status(200); });"]}}],"response":[{"name":"ex","code":200}]}]}],"variable":[{"key":"a","value":1.5e300}],"auth":{"type":"noauth"}}}`,
		`{"collection":{"info":{"_postman_id":"00000000-0000-0000-0000-000000000000","name":"x","schema":"https://schema.postman.com/json/collection/v2.1.0/collection.json"},"item":[{"id":"","request":"https://x"}]}}`,
		`{"collection":{"info":{"name":"x"},"item":{}}}`, `{"collection":[]}`, `{"collection":{"item":[[[]]]}}`, `[]`, `"x"`, `{`, ``,
		`{"collection":{"info":{"name":"x","schema":"https://schema.postman.com/json/collection/v2.1.0/collection.json"},"item":[{"item":[{"item":[{"item":[]}]}]}],"event":{}}}`,
		`{"collection":{"info":{"name":"x","schema":"https://schema.postman.com/json/collection/v2.1.0/collection.json"},"item":[]}} trailing`,
	} {
		f.Add([]byte(seed))
	}
	fx := fuzzFixture(f)
	target := fx.uid("collection", DemoCollectionSmoke)
	monitor := fx.uid("monitor", DemoMonitorPassing)
	f.Fuzz(func(t *testing.T, body []byte) {
		fx := fx.with(t)
		r := fx.do("POST", "/collections", DemoKey, body)
		checkFuzzReply(t, r, body)
		if r.Code == 200 {
			wantStatus(t, fx.do("GET", "/collections/"+r.str("collection", "uid"), DemoKey, nil), 200)
		}
		r = fx.do("PUT", "/collections/"+target, DemoKey, body)
		checkFuzzReply(t, r, body)
		r = fx.do("PATCH", "/collections/"+target, DemoKey, body)
		checkFuzzReply(t, r, body)
		// Whatever the collection became, the monitor that runs it must still run.
		r = fx.do("POST", "/monitors/"+monitor+"/run", DemoKey, nil)
		checkFuzzReply(t, r, body)
	})
}

func FuzzMonitorBody(f *testing.F) {
	for _, seed := range []string{
		`{"monitor":{"name":"Test Monitor","notificationLimit":1,"retry":{"attempts":2},"schedule":{"cron":"*/5 * * * *","timezone":"America/Chicago"},"options":{"strictSSL":false,"followRedirects":true,"requestTimeout":5000,"requestDelay":1},"notifications":{"onError":[{"email":"a@b.c"}],"onFailure":[]},"distribution":[{"region":"ca-central"}]}}`,
		`{"monitor":{"active":false}}`, `{"monitor":{"active":true}}`, `{"monitor":{"collection":"x"}}`,
		`{"monitor":{"schedule":{"cron":"0 0 31 2 *"}}}`, `{"monitor":{"schedule":{"cron":"*/5 * * * *","timezone":"../../etc/passwd"}}}`,
		`{"monitor":{"notificationLimit":1e400}}`, `{"monitor":{"options":{"requestDelay":-1}}}`, `{"monitor":null}`, `[`,
	} {
		f.Add([]byte(seed))
	}
	fx := fuzzFixture(f)
	monitor := fx.uid("monitor", DemoMonitorPassing)
	f.Fuzz(func(t *testing.T, body []byte) {
		fx := fx.with(t)
		r := fx.do("PUT", "/monitors/"+monitor, DemoKey, body)
		checkFuzzReply(t, r, body)
		r = fx.do("POST", "/monitors", DemoKey, body)
		checkFuzzReply(t, r, body)
		if r.Code == 200 { // keep the fixture from accumulating scheduled monitors
			wantStatus(t, fx.do("DELETE", "/monitors/"+r.str("monitor", "uid"), DemoKey, nil), 200)
		}
		fx.clk.Advance(7 * time.Minute) // let schedules fire
		wantStatus(t, fx.do("GET", "/monitors/"+monitor, DemoKey, nil), 200)
	})
}

func FuzzCron(f *testing.F) {
	for _, s := range []string{"*/5 * * * *", "0 0 * * * *", "0 17 * * MON-FRI", "1-59/7 */3 1,15 JAN-DEC 0-7", "* * * *", "0 0 30 2 *", "?/?", "0 2 * * *"} {
		f.Add(s, "America/New_York")
	}
	f.Fuzz(func(t *testing.T, expr, tz string) {
		spec, loc, err := parseSchedule(expr, tz)
		if err != nil {
			return
		}
		prev := testStart
		for range 5 {
			n := spec.next(prev, loc)
			if n.IsZero() {
				return
			}
			if !n.After(prev) {
				t.Fatalf("%q: next(%v) = %v does not advance", expr, prev, n)
			}
			prev = n
		}
	})
}

// FuzzItemBodies sends arbitrary bodies to the collection-item writes: a vendor-shaped answer, and the collection
// still renders afterwards.
func FuzzItemBodies(f *testing.F) {
	for _, seed := range []string{
		vendorCreateRequest, vendorUpdateRequest, vendorCreateResponse, vendorUpdateResponse,
		`{"name":"x","method":"get","dataMode":"graphql","graphqlModeData":{"query":"{a}"}}`,
		`{"dataMode":"formdata","data":[{"key":"f","type":"file"},1,null]}`,
		`{"auth":"noauth","events":[{"listen":"test"}]}`, `{"auth":{"type":"nope"}}`, `{"events":{}}`,
		`{"method":"BREW"}`, `{"responseCode":{"code":"x"}}`, `{"responseCode":{"code":99}}`, `{"requestObject":"{\"url\":1}"}`,
		`{"folder":"nope"}`, `{"name":7}`, `[]`, `null`, ``, `{`, `{"url":"http://[::1"}`, `{"queryParams":[{"key":"a","enabled":false}],"url":"x?y=1"}`,
	} {
		f.Add([]byte(seed), uint8(0))
	}
	fx := fuzzFixture(f)
	_, colID, _ := splitRef(fx.uid("collection", DemoCollectionSmoke))
	reqID := fx.itemID(DemoCollectionSmoke, "Health check")
	folderID := fx.itemID(DemoCollectionSmoke, "Payments")
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		fx := fx.with(t)
		base := "/collections/" + colID
		var r *resp
		switch which % 5 {
		case 0:
			r = fx.do("POST", base+"/requests", DemoKey, body)
		case 1:
			r = fx.do("PUT", base+"/requests/"+reqID, DemoKey, body)
		case 2:
			r = fx.do("POST", base+"/folders", DemoKey, body)
		case 3:
			r = fx.do("PUT", base+"/folders/"+folderID, DemoKey, body)
		default:
			r = fx.do("POST", base+"/responses?request="+reqID, DemoKey, body)
		}
		checkFuzzReply(t, r, body)
		wantStatus(t, fx.do("GET", "/collections/"+colID, DemoKey, nil), 200)
		wantStatus(t, fx.do("GET", base+"/requests/"+reqID, DemoKey, nil), 200)
	})
}

var httpToken = regexp.MustCompile(`^[A-Za-z]{1,16}$`)

// FuzzMockServe sends arbitrary paths and selection headers to a mock server: it answers 200/4xx, never panics.
func FuzzMockServe(f *testing.F) {
	for _, seed := range [][3]string{
		{"GET", "/health", ""}, {"POST", "/v1/accounts", "422"}, {"GET", "/v1/accounts/%7B%7Bx%7D%7D", ""}, {"PATCH", "/v1/a//b/", "abc"},
		{"GET", "/%zz", ""}, {"DELETE", "/v1/accounts/{{id}}", "404"}, {"GET", "/?limit=1000&limit=", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	fx := newFixture(f, Options{PublicURL: "http://emulator.test"})
	_, id, _ := splitRef(fx.uid("mock", "Payments API mock"))
	f.Fuzz(func(t *testing.T, method, path, code string) {
		if !httpToken.MatchString(method) || !strings.HasPrefix(path, "/") ||
			strings.ContainsAny(path, " \t\r\n#") || strings.ContainsAny(code, "\r\n\x00") {
			return
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			return // not a request a client could send
		}
		fx := fx.with(t)
		r := fx.do(method, "/mock/"+id+path, "", nil, func(r *http.Request) {
			if code != "" {
				r.Header.Set("X-Mock-Response-Code", code)
			}
		})
		if r.Code != 200 && (r.Code < 100 || r.Code > 599) {
			t.Fatalf("status %d for %s %s", r.Code, method, path)
		}
	})
}
