package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func envValues(t *testing.T, r *resp) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, v := range r.arr("environment", "values") {
		out = append(out, v.(map[string]any))
	}
	return out
}

func TestEnvironmentCRUD(t *testing.T) {
	f := demo(t)
	created := f.do("POST", "/environments", DemoKey, `{"environment":{"name":"qa","values":[
		{"key":"host","value":"https://qa.example","enabled":true,"type":"default"},
		{"key":"token","value":"qa-secret-1","type":"secret"},
		{"key":"vault","value":"","enabled":true,"type":"default","secret":true,"source":{"provider":"postman","postman":{"secretId":"s","type":"cloud","vaultId":"v"}}}]}}`)
	wantStatus(t, created, 200)
	uid := created.str("environment", "uid")
	got := f.do("GET", "/environments/"+uid, DemoKey, nil)
	wantStatus(t, got, 200)
	if got.str("environment", "owner") != "10472311" || got.get("environment", "uid") != nil {
		t.Fatalf("owner is a string and GET has no uid: %s", got.Raw)
	}
	vals := envValues(t, got)
	if len(vals) != 3 || vals[1]["type"] != "secret" || vals[1]["value"] != "qa-secret-1" || vals[0]["enabled"] != true {
		t.Fatalf("values %v", vals)
	}
	if _, has := vals[2]["value"]; has || vals[2]["secret"] != true {
		t.Fatalf("a vault secret shows a value: %v", vals[2])
	}
	put := f.do("PUT", "/environments/"+uid, DemoKey, `{"environment":{"values":[]}}`)
	wantStatus(t, put, 200)
	if put.str("environment", "name") != "qa" {
		t.Fatal("PUT without a name renamed the environment")
	}
	if n := len(envValues(t, f.do("GET", "/environments/"+uid, DemoKey, nil))); n != 0 {
		t.Fatalf("values:[] left %d values", n)
	}
	wantStatus(t, f.do("DELETE", "/environments/"+uid, DemoKey, nil), 200)
	wantError(t, f.do("GET", "/environments/"+uid, DemoKey, nil), 404, "instanceNotFoundError")
	wantError(t, f.do("PUT", "/environments/"+uid, DemoKey, `{"environment":{}}`), 404, "instanceNotFoundError")

	for body, msg := range map[string]string{
		`{"environment":{"name":"x","values":[null]}}`:                   "Invalid type: null (expected object) at environment.values.0",
		`{"environment":{"name":"x","values":[{"key":"k","value":5}]}}`:  "Invalid type: number (expected string) at environment.values.0.value",
		`{"environment":{"name":"x","values":[{"key":"k","type":"x"}]}}`: `Invalid type: string (expected "default" or "secret") at environment.values.0.type`,
		`{"environment":{"name":7}}`:                                     "Invalid type: number (expected string) at environment.name",
	} {
		r := f.do("POST", "/environments", DemoKey, body)
		wantError(t, r, 400, "malformedRequestError")
		if r.str("error", "message") != msg {
			t.Fatalf("%s: %q, want %q", body, r.str("error", "message"), msg)
		}
	}
	r := f.do("POST", "/environments", DemoKey, `{"environment":{"values":[]}}`)
	wantError(t, r, 400, "malformedRequestError")
	if r.str("error", "details", 0) != "environment: must have required property 'name'" {
		t.Fatalf("details %s", r.Raw)
	}
}

func TestEnvironmentPatch(t *testing.T) {
	type step struct {
		body   string
		check  func(t *testing.T, name string, vals []map[string]any)
		detail any // expected problem detail for a 400
	}
	keys := func(vals []map[string]any) string {
		var ks []string
		for _, v := range vals {
			ks = append(ks, v["key"].(string))
		}
		return strings.Join(ks, ",")
	}
	cases := []struct {
		name string
		step step
	}{
		{"rename", step{body: `[{"op":"replace","path":"/name","value":"stg"}]`, check: func(t *testing.T, name string, _ []map[string]any) {
			if name != "stg" {
				t.Fatalf("name %q", name)
			}
		}}},
		{"add at index", step{body: `[{"op":"add","path":"/values/1","value":{"key":"new","value":"v","type":"default","enabled":true}}]`,
			check: func(t *testing.T, _ string, vals []map[string]any) {
				if keys(vals) != "baseUrl,new,clientId,clientSecret,accessToken,webhookSigningSecret,currency" {
					t.Fatalf("keys %s", keys(vals))
				}
			}}},
		{"append with -", step{body: `[{"op":"add","path":"/values/-","value":{"key":"last","value":"v"}}]`,
			check: func(t *testing.T, _ string, vals []map[string]any) {
				if vals[len(vals)-1]["key"] != "last" || vals[len(vals)-1]["type"] != "default" || vals[len(vals)-1]["enabled"] != true {
					t.Fatalf("appended %v", vals[len(vals)-1])
				}
			}}},
		{"replace fields", step{body: `[{"op":"replace","path":"/values/0/enabled","value":false},{"op":"replace","path":"/values/0/type","value":"secret"},{"op":"add","path":"/values/0/description","value":"root"}]`,
			check: func(t *testing.T, _ string, vals []map[string]any) {
				if vals[0]["enabled"] != false || vals[0]["type"] != "secret" || vals[0]["description"] != "root" {
					t.Fatalf("value 0 %v", vals[0])
				}
			}}},
		{"remove then add", step{body: `[{"op":"remove","path":"/values/1"},{"op":"remove","path":"/values/0"},{"op":"add","path":"/values/0","value":{"key":"x-api-key","value":"{{x-api-key}}","type":"default","enabled":true}}]`,
			check: func(t *testing.T, _ string, vals []map[string]any) {
				if keys(vals) != "x-api-key,clientSecret,accessToken,webhookSigningSecret,currency" {
					t.Fatalf("keys %s", keys(vals))
				}
			}}},
		{"unshare", step{body: `[{"op":"remove","path":"/values/0/key"}]`, check: func(t *testing.T, _ string, vals []map[string]any) {
			if vals[0]["key"] != "baseUrl" || vals[0]["value"] != "" {
				t.Fatalf("unshared %v", vals[0])
			}
		}}},
		{"empty array changes nothing", step{body: `[]`, check: func(t *testing.T, name string, vals []map[string]any) {
			if name != "staging" || len(vals) != 6 {
				t.Fatalf("%s %d", name, len(vals))
			}
		}}},
		{"not an array", step{body: `{"op":"add"}`, detail: "Patch sequence must be an array"}},
		{"not json", step{body: `[{"op":`, detail: "Patch sequence must be an array"}},
		{"no value", step{body: `[{"op":"replace","path":"/name"}]`, detail: "Patch operations with empty value are not supported"}},
		{"null value", step{body: `[{"op":"add","path":"/values/0","value":null}]`, detail: "Patch operations with empty value are not supported"}},
		{"unknown path", step{body: `[{"op":"replace","path":"/isPublic","value":true}]`, detail: "Invalid path in JSON Patch operation"}},
		{"unknown field", step{body: `[{"op":"replace","path":"/values/0/color","value":"red"}]`, detail: "Invalid path in JSON Patch operation"}},
		{"index out of range", step{body: `[{"op":"remove","path":"/values/60"}]`, detail: "Cannot perform the operation at a path that does not exist"}},
		{"wrong type", step{body: `[{"op":"replace","path":"/values/1/value","value":5}]`, detail: []any{"/values/1/value: must be a string"}}},
		{"unknown op", step{body: `[{"op":"move","path":"/name","value":"x"}]`, detail: []any{"/0/op: must be equal to one of the allowed values"}}},
		{"atomic", step{body: `[{"op":"replace","path":"/name","value":"changed"},{"op":"remove","path":"/values/99"}]`,
			detail: "Cannot perform the operation at a path that does not exist"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := demo(t)
			uid := f.uid("environment", "staging")
			r := f.do("PATCH", "/environments/"+uid, DemoKey, c.step.body)
			if c.step.detail != nil {
				wantStatus(t, r, 400)
				want, _ := json.Marshal(c.step.detail)
				got, _ := json.Marshal(r.get("detail"))
				if string(got) != string(want) || r.str("type") != "https://api.postman.com/problems/bad-request" {
					t.Fatalf("detail %s, want %s", got, want)
				}
				after := f.do("GET", "/environments/"+uid, DemoKey, nil)
				if after.str("environment", "name") != "staging" || len(envValues(t, after)) != 6 {
					t.Fatal("a rejected patch changed the environment")
				}
				return
			}
			wantStatus(t, r, 200)
			if r.str("environment", "uid") != uid || r.str("environment", "owner") == "" {
				t.Fatalf("patch reply is not the full environment: %s", r.Raw)
			}
			after := f.do("GET", "/environments/"+uid, DemoKey, nil)
			c.step.check(t, after.str("environment", "name"), envValues(t, after))
		})
	}
	f := demo(t)
	r := f.do("PATCH", "/environments/5daabc50-8451-43f6", DemoKey, `[]`)
	wantProblem(t, r, 400, "Invalid Environment ID")
	if r.str("instance") != "/environments/5daabc50-8451-43f6" {
		t.Fatalf("instance %q", r.str("instance"))
	}
}

// TestLengthRequiredOverTheWire sends a chunked body through a real server, where Go reports ContentLength -1.
func TestLengthRequiredOverTheWire(t *testing.T) {
	f := demo(t)
	srv := httptest.NewServer(f.e)
	defer srv.Close()
	env := f.uid("environment", "staging")
	for _, c := range []struct{ method, path string }{
		{"POST", "/environments"}, {"PUT", "/environments/" + env}, {"PATCH", "/environments/" + env},
	} {
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write([]byte(`[]`))
			_ = pw.Close()
		}()
		req, _ := http.NewRequest(c.method, srv.URL+c.path, pr) // an io.Pipe has no known length: chunked
		req.Header.Set("X-Api-Key", DemoKey)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != 411 || !strings.Contains(string(body), "A valid Content-Length header is required") {
			t.Fatalf("%s %s: %d %s", c.method, c.path, res.StatusCode, body)
		}
	}
	// With a length, the same PATCH works.
	req, _ := http.NewRequest("PATCH", srv.URL+"/environments/"+env, strings.NewReader(`[]`))
	req.Header.Set("X-Api-Key", DemoKey)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("with Content-Length: %d", res.StatusCode)
	}
}
