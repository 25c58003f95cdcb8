package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
)

type flatItem struct{ path, name, method, url, id string }

func flattenFull(c *api.Collection) []flatItem {
	var out []flatItem
	_ = c.Walk(func(parents []string, it *api.Item) error {
		f := flatItem{path: strings.Join(parents, "/"), name: it.Name, id: it.ID}
		if it.Request != nil {
			f.method, f.url = it.Request.Method, it.Request.URL.String()
		}
		out = append(out, f)
		return nil
	})
	return out
}

func flattenOutline(items []api.OutlineItem, parents []string, out *[]flatItem) {
	for _, it := range items {
		f := flatItem{path: strings.Join(parents, "/"), name: it.Name, id: it.ID}
		if it.Request != nil {
			f.method, f.url = it.Request.Method, it.Request.URL
		}
		*out = append(*out, f)
		flattenOutline(it.Item, append(append([]string{}, parents...), it.Name), out)
	}
}

// TestOutlineAgreesWithFullDocument: the fast outline decoder must see the same tree as the lossless one, on
// every demo collection (nested folders, URL strings and objects, disabled query parameters).
func TestOutlineAgreesWithFullDocument(t *testing.T) {
	emu := emulator.New(emulator.Options{RoutePerWindow: 10_000})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	defer emu.Close()
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: srv.URL, Gate: ratelimit.New(nil, ratelimit.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list, err := c.ListCollectionsPage(ctx, api.ListCollectionsOptions{}, "")
	if err != nil || len(list.Items) < 3 {
		t.Fatalf("collections: %d, %v", len(list.Items), err)
	}
	for _, s := range list.Items {
		full, err := c.GetCollection(ctx, s.UID, api.GetCollectionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.GetCollectionOutline(ctx, s.UID)
		if err != nil {
			t.Fatal(err)
		}
		want := flattenFull(full)
		var got []flatItem
		flattenOutline(out.Item, nil, &got)
		if len(got) != len(want) {
			t.Fatalf("%s: outline has %d items, full document %d", s.Name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s item %d: outline %+v, full %+v", s.Name, i, got[i], want[i])
			}
		}
		if out.Info.Name != full.Info.Name || out.Info.Description.Text() != full.Info.Description.Text() {
			t.Fatalf("%s: info differs", s.Name)
		}
	}
}

func TestOutlineRequestForms(t *testing.T) {
	for _, tc := range []struct{ in, method, url string }{
		{`"https://x.example/a"`, "", "https://x.example/a"},
		{`{"method":"POST","url":"https://x.example/b"}`, "POST", "https://x.example/b"},
		{`{"method":"GET","url":{"raw":"{{base}}/c?d=1","host":["{{base}}"],"path":["c"]}}`, "GET", "{{base}}/c?d=1"},
		{`{"method":"GET","url":{"protocol":"https","host":["api","example","com"],"path":["v1","users"]}}`, "GET", "https://api.example.com/v1/users"},
		{`{"method":"GET","url":{"host":"h.example","path":"p/q"}}`, "GET", "h.example/p/q"},
		{`{"method":"DELETE"}`, "DELETE", ""},
	} {
		var r api.OutlineRequest
		if err := json.Unmarshal([]byte(tc.in), &r); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if r.Method != tc.method || r.URL != tc.url {
			t.Errorf("%s: got %q %q", tc.in, r.Method, r.URL)
		}
	}
}

// BenchmarkCollectionOutlineVsFull decodes the same large document both ways in one run.
func BenchmarkCollectionOutlineVsFull(b *testing.B) {
	emu := emulator.New(emulator.Options{RoutePerWindow: 1 << 30, PerWindow: 1 << 30})
	uid, err := emu.AddGeneratedCollection(emulator.DemoKey, "", "Big", 4000)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	c, _ := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: srv.URL, NoGate: true})
	ctx := context.Background()
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.GetCollection(ctx, uid, api.GetCollectionOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("outline", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.GetCollectionOutline(ctx, uid); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// decodeOutlineStd is the reference: plain encoding/json into the Outline types.
func decodeOutlineStd(body []byte) (*api.Outline, error) {
	var env struct {
		Collection *api.Outline `json:"collection"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, err
	}
	return env.Collection, nil
}

var outlineSeeds = []string{
	`{"collection":{"info":{"name":"A","uid":"1-a","updatedAt":"2026-01-01T00:00:00.000Z","description":"d"},"item":[{"name":"r","id":"i","request":{"method":"POST","url":{"raw":"https://x/y","host":["x"]}}}]}}`,
	`{"collection":{"info":{"name":"A","description":{"content":"c","type":"text/markdown"}},"item":[{"name":"f","item":[]},{"name":"g","item":[{"name":"r","request":"https://bare"}]}]}}`,
	`{"collection":{"info":{"name":"Esc\u00e9 \"q\"\n"},"item":[{"name":"r","request":{"url":{"protocol":"https","host":["api","example","com"],"path":["v1",{"value":"x"}]}}}]}}`,
	`{"collection":{"info":{"NAME":"upper keys"},"ITEM":[{"Name":"n","Request":{"Method":"GET","URL":"u"}}]}}`,
	`{"collection":{"info":{"name":"nulls","description":null},"item":[{"name":"r","request":null,"item":null},{"name":null,"request":{"url":null}}]}}`,
	`{"collection":{"info":{"name":"skip"},"event":[{"listen":"test","script":{"exec":["a","b\\c"]}}],"variable":[{"key":"k","value":1.5e3,"x":[true,false,null,-0.1,{}]}],"item":[{"name":"r","response":[{"body":"{\"a\":1}"}],"request":{"method":"PUT","header":[{"key":"k","value":"v"}],"body":{"mode":"raw","raw":"x"},"url":"u"}}]}}`,
	`{"collection":null}`,
	`{"other":1}`,
	`{"collection":{"info":{"name":"bad utf8 \xff"},"item":[]}}`,
	`{"collection":{"info":{"name":5}}}`,
	`{"collection":{"item":[1]}}`,
	`{"collection":{"item":[{"request":{"url":5}}]}}`,
	`{"collection":{"info":{"name":"trailing"}}} x`,
	`{"collection":{"info":{"name":"bad number"},"x":01}}`,
	`{"collection":{"info":{"name":"bad escape \q"}}}`,
	`[]`,
	``,
}

// FuzzDecodeOutline: on any input the fast scanner's outline equals encoding/json's, and it fails exactly when
// encoding/json fails.
func FuzzDecodeOutline(f *testing.F) {
	for _, s := range outlineSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := decodeOutlineStd(body)
		got, gotErr := api.DecodeOutline(body)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("encoding/json err %v, scanner err %v", wantErr, gotErr)
		}
		if wantErr != nil {
			return
		}
		w, _ := json.Marshal(want)
		g, _ := json.Marshal(got)
		if string(w) != string(g) {
			t.Fatalf("outline differs:\nencoding/json %s\nscanner       %s", w, g)
		}
	})
}
