package api

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// A document using the less common forms the v2.1 format allows: string request, string url, object
// descriptions, string host, path objects, header string, exec string, null and false values, unknown keys.
const oddCollection = `{
  "info": {"_postman_id": "p1", "name": "Odd", "description": {"content": "# Title", "type": "text/markdown"},
           "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json", "x-custom": [1, 2]},
  "item": [
    {"name": "bare", "request": "https://echo.example/get"},
    {"name": "string url", "request": {"method": "GET", "url": "https://echo.example/{{path}}", "header": "Accept: text/plain\nX-Trace: 1"}},
    {"name": "folder", "description": null, "item": [], "auth": {"type": "noauth"}, "protocolProfileBehavior": {"disableBodyPruning": true}},
    {"name": "object url", "id": "i1", "uid": "1-i1",
     "request": {"method": "POST",
       "url": {"raw": "https://api.example/v1/:id?q&empty=&x=1", "protocol": "https", "host": "api.example",
               "path": ["v1", {"type": "string", "value": ":id"}], "query": [{"key": "q", "value": null}, {"key": "empty", "value": ""}, {"key": "x", "value": "1", "disabled": false}],
               "variable": [{"key": "id", "value": 7, "type": "number"}]},
       "body": {"mode": "raw", "raw": "", "options": {"raw": {"language": "json"}}},
       "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{token}}", "type": "string"}]},
       "proxy": {"host": "p"}},
     "event": [{"listen": "test", "script": {"exec": "line1\nline2", "type": "text/javascript", "packages": {}}}],
     "response": [{"name": "saved", "code": 200, "body": null}]}
  ],
  "variable": [{"key": "b", "value": true}, {"key": "n", "value": 3, "disabled": false}],
  "event": [],
  "unknownTop": {"keep": "me"}
}`

func TestCollectionDocumentForms(t *testing.T) {
	var c Collection
	if err := json.Unmarshal([]byte(oddCollection), &c); err != nil {
		t.Fatal(err)
	}
	if c.Info.Description.Text() != "# Title" || c.Info.Description.Type != "text/markdown" {
		t.Errorf("description %+v", c.Info.Description)
	}
	bare := c.Item[0].Request
	if bare.URL.String() != "https://echo.example/get" || bare.Method != "" {
		t.Errorf("bare request %+v", bare)
	}
	if h := c.Item[1].Request.Header; len(h) != 2 || h[1].Key != "X-Trace" || h[1].Value != "1" {
		t.Errorf("header string %+v", h)
	}
	if !c.Item[2].IsFolder() || c.Item[0].IsFolder() || c.Item[2].Auth.Type != "noauth" {
		t.Error("folder detection")
	}
	u := c.Item[3].Request.URL
	if strings.Join(u.Host, ".") != "api.example" || strings.Join(u.Path, "/") != "v1/:id" || u.Query[0].Value != nil ||
		*u.Query[1].Value != "" || u.Variable[0].ValueString() != "7" {
		t.Errorf("url %+v", u)
	}
	u.Raw = ""
	if got := u.String(); got != "https://api.example/v1/:id?q&empty=&x=1" {
		t.Errorf("assembled url %q", got)
	}
	u.Raw = "https://api.example/v1/:id?q&empty=&x=1"
	if attrs := c.Item[3].Request.Auth.Attributes(); len(attrs) != 1 || rawText(attrs[0].Value) != "{{token}}" {
		t.Errorf("auth attributes %+v", attrs)
	}
	if exec := c.Item[3].Event[0].Script.Exec; len(exec) != 2 || exec[1] != "line2" {
		t.Errorf("exec %q", exec)
	}
	if c.Variable[0].ValueString() != "true" || c.Variable[1].ValueString() != "3" {
		t.Errorf("variables %+v", c.Variable)
	}
	if string(c.Extra["unknownTop"]) != `{"keep": "me"}` || c.Item[3].Request.Extra["proxy"] == nil {
		t.Errorf("extras lost: %v / %v", c.Extra, c.Item[3].Request.Extra)
	}

	// Untouched, it encodes to the same JSON, down to the string host, the path object and the exec string.
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	json.Unmarshal([]byte(oddCollection), &want)
	json.Unmarshal(out, &got)
	failDiffs(t, equalJSON(want, got))
	// The literal false, "" and null values survive, which Go's omitempty alone would drop.
	for _, frag := range []string{`"disabled":false`, `"raw":""`, `"description":null`, `"value":null`, `"item":[]`, `"event":[]`, `"request":"https://echo.example/get"`} {
		if !strings.Contains(string(out), frag) {
			t.Errorf("%s lost in %s", frag, out)
		}
	}
}

func TestCollectionEditsAreEncoded(t *testing.T) {
	var c Collection
	if err := json.Unmarshal([]byte(oddCollection), &c); err != nil {
		t.Fatal(err)
	}
	c.Info.Name = "Renamed"
	c.Item[0].Request.Method = "DELETE" // a bare-string request must now encode as an object
	c.Item[3].Request.Body.Raw = `{"a":1}`
	c.Item[3].Request.URL.Query[2].Disabled = true
	c.Item = append(c.Item, Item{Name: "new", Request: &Request{Method: "GET", URL: &URL{Raw: "https://n.example"}}})
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Collection
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if back.Info.Name != "Renamed" || back.Item[0].Request.Method != "DELETE" || back.Item[0].Request.URL.Raw != "https://echo.example/get" ||
		back.Item[3].Request.Body.Raw != `{"a":1}` || !back.Item[3].Request.URL.Query[2].Disabled || back.Item[4].Name != "new" {
		t.Errorf("edits lost: %s", out)
	}
	// Unknown keys still travel after edits.
	if back.Extra["unknownTop"] == nil || back.Info.Extra["x-custom"] == nil || back.Item[3].Request.Extra["proxy"] == nil ||
		back.Item[3].Request.Body.Extra != nil && len(back.Item[3].Request.Body.Options) == 0 {
		t.Errorf("extras lost after edit: %s", out)
	}
	if !strings.Contains(string(out), `"options":{"raw":{"language":"json"}}`) {
		t.Errorf("body options lost: %s", out)
	}
	// Edited parts in the flexible forms are written in the list form, which the API treats the same.
	back.Item[3].Request.URL.Host = append(back.Item[3].Request.URL.Host, "eu")
	back.Item[3].Event[0].Script.Exec = append(back.Item[3].Event[0].Script.Exec, "line3")
	out, _ = json.Marshal(back)
	for _, frag := range []string{`"host":["api.example","eu"]`, `"exec":["line1","line2","line3"]`} {
		if !strings.Contains(string(out), frag) {
			t.Errorf("%s not in %s", frag, out)
		}
	}
}

func TestCollectionWalk(t *testing.T) {
	c := Collection{Item: []Item{
		{Name: "A", Item: []Item{
			{Name: "A1", Request: &Request{Method: "GET"}},
			{Name: "B", Item: []Item{{Name: "B1", Request: &Request{Method: "POST"}}}},
			{Name: "Skip", Item: []Item{{Name: "hidden", Request: &Request{}}}},
		}},
		{Name: "top", Request: &Request{Method: "PUT"}},
	}}
	var seen []string
	err := c.Walk(func(parents []string, it *Item) error {
		seen = append(seen, strings.Join(append(parents, it.Name), "/"))
		if it.Name == "Skip" {
			return SkipFolder
		}
		it.Description = NewDescription("visited")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, " "); got != "A A/A1 A/B A/B/B1 A/Skip top" {
		t.Errorf("walk order: %s", got)
	}
	if c.Item[0].Item[1].Item[0].Description.Text() != "visited" {
		t.Error("Walk must hand out items that can be modified in place")
	}
	stop := errors.New("stop")
	n := 0
	if err := c.Walk(func([]string, *Item) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("stop: %v after %d", err, n)
	}
}

func TestEnvVarRoundTrip(t *testing.T) {
	in := `{"enabled":true,"key":"apiKey","secret":true,"source":{"postman":{"secretId":"s","type":"cloud","vaultId":"v"},"provider":"postman"},"type":"default","future":{"x":1}}`
	var v EnvVar
	if err := json.Unmarshal([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	if !v.Secret || !v.Enabled || v.Extra["future"] == nil {
		t.Errorf("got %+v", v)
	}
	out, _ := json.Marshal(v)
	var want, got any
	json.Unmarshal([]byte(in), &want)
	json.Unmarshal(out, &got)
	want.(map[string]any)["value"] = "" // value is always sent
	failDiffs(t, equalJSON(want, got))
}

func TestUIDHelpers(t *testing.T) {
	tests := []struct {
		in        string
		owner, id string
		ok        bool
	}{
		{"12345678-12ece9e1-2abf-4edc-8e34-de66e74114d2", "12345678", "12ece9e1-2abf-4edc-8e34-de66e74114d2", true},
		{"12ece9e1-2abf-4edc-8e34-de66e74114d2", "", "", false},
		{"12345678-1234-1234-1234-123456789012", "", "", false}, // a plain UUID whose first group is digits
		{"87654321-c8142d52-f97d-46a7-bc77-52bb99713o1n", "87654321", "c8142d52-f97d-46a7-bc77-52bb99713o1n", true},
		{"abc-12ece9e1-2abf-4edc-8e34-de66e74114d2", "", "", false},
		{"-12ece9e1-2abf-4edc-8e34-de66e74114d2", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		owner, id, ok := SplitUID(tt.in)
		if owner != tt.owner || id != tt.id || ok != tt.ok {
			t.Errorf("SplitUID(%q) = %q %q %v", tt.in, owner, id, ok)
		}
	}
	const plain = "12ece9e1-2abf-4edc-8e34-de66e74114d2"
	if UID("1", plain) != "1-"+plain || UID("", plain) != plain || UID("2", "1-"+plain) != "1-"+plain {
		t.Error("UID")
	}
	if PlainID("1-"+plain) != plain || PlainID(plain) != plain {
		t.Error("PlainID")
	}
}

// FuzzCollectionRoundTrip feeds arbitrary documents to the Collection decoder: whatever decodes must encode,
// decode again, and encode to the same bytes.
func FuzzCollectionRoundTrip(f *testing.F) {
	f.Add([]byte(oddCollection))
	f.Add([]byte(`{"info":{"name":"x"},"item":[{"request":"u"},{"item":[]}]}`))
	f.Add([]byte(`{"item":[{"request":{"url":{"host":"a.b","path":"x/y","query":null}}}],"Info":{"Name":"case"}}`))
	f.Add([]byte(`{"info":{"description":{"content":"c","version":{"major":1}}},"variable":[{"key":"k","value":[1]}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Collection
		if json.Unmarshal(data, &c) != nil {
			return
		}
		first, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("decoded but cannot encode: %v", err)
		}
		var again Collection
		if err := json.Unmarshal(first, &again); err != nil {
			t.Fatalf("own output does not decode: %v\n%s", err, first)
		}
		second, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if string(first) != string(second) {
			t.Fatalf("not stable:\n%s\n%s", first, second)
		}
	})
}
