package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// wideCollection is a 1000-request collection in 10 folders, about 300 KB.
func wideCollection() []byte {
	var b strings.Builder
	b.WriteString(`{"info":{"name":"wide","schema":"` + SchemaV21 + `"},"item":[`)
	for f := range 10 {
		if f > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"name":"folder","item":[`)
		for r := range 100 {
			if r > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"name":"r","request":{"method":"GET","url":{"raw":"https://x/y?a=1","host":["x"],"path":["y"],` +
				`"query":[{"key":"a","value":"1"}]},"header":[{"key":"A","value":"b"}],"body":{"mode":"raw","raw":"{\"a\":1}"}},` +
				`"event":[{"listen":"test","script":{"exec":["pm.test(1)"],"type":"text/javascript"}}],"response":[]}`)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkCollectionDecode compares the lossless decoder with decoding the same bytes into `any`.
func BenchmarkCollectionDecode(b *testing.B) {
	doc := wideCollection()
	b.Run("baseline-any", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			var v any
			if err := json.Unmarshal(doc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("collection", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			var c Collection
			if err := json.Unmarshal(doc, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCollectionEncode compares encoding an edited collection with encoding the same document as `any`.
func BenchmarkCollectionEncode(b *testing.B) {
	doc := wideCollection()
	var v any
	var c Collection
	if err := json.Unmarshal(doc, &v); err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(doc, &c); err != nil {
		b.Fatal(err)
	}
	c.Item[5].Item[50].Name = "edited"
	b.Run("baseline-any", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if _, err := json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("collection", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		for b.Loop() {
			if _, err := json.Marshal(c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
