package tools

import (
	"encoding/json"
	"strings"
	"testing"
)

type sampleArgs struct {
	Name   string            `json:"name"`
	Limit  int               `json:"limit,omitempty" min:"1" max:"25"`
	Kind   string            `json:"kind,omitempty" enum:"a,b"`
	Flag   bool              `json:"flag,omitempty"`
	Keys   []string          `json:"keys,omitempty"`
	Set    map[string]string `json:"set,omitempty"`
	Ratio  float64           `json:"ratio,omitempty"`
	Remark *string           `json:"remark,omitempty"`
}

func TestDecodeArgs(t *testing.T) {
	tests := []struct {
		in      string
		want    sampleArgs
		wantErr string
	}{
		{`{"name":"x"}`, sampleArgs{Name: "x"}, ""},
		{`{"name":"x","limit":"5","flag":"true","ratio":"0.5"}`, sampleArgs{Name: "x", Limit: 5, Flag: true, Ratio: 0.5}, ""},
		{`{"name":"x","keys":"a, b"}`, sampleArgs{Name: "x", Keys: []string{"a", "b"}}, ""},
		{`{"name":123}`, sampleArgs{Name: "123"}, ""},
		{`{"name":"x","set":{"k":"v"},"remark":null}`, sampleArgs{Name: "x", Set: map[string]string{"k": "v"}}, ""},
		{``, sampleArgs{}, `"name" is required`},
		{`{"name":"  "}`, sampleArgs{}, `"name" is required`},
		{`{"name":"x","limit":0}`, sampleArgs{}, "at least 1"},
		{`{"name":"x","limit":26}`, sampleArgs{}, "at most 25"},
		{`{"name":"x","limit":2.5}`, sampleArgs{}, "whole number"},
		{`{"name":"x","kind":"c"}`, sampleArgs{}, "one of a, b"},
		{`{"name":"x","flag":"maybe"}`, sampleArgs{}, "true or false"},
		{`{"name":"x","set":{"k":[1]}}`, sampleArgs{}, `key "k"`},
		{`{"name":"x","bogus":1}`, sampleArgs{}, `unknown argument "bogus"; valid arguments: flag, keys, kind, limit, name, ratio, remark, set`},
		{`[1,2]`, sampleArgs{}, "JSON object"},
		{`{"name":`, sampleArgs{}, "JSON object"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := decodeArgs[sampleArgs](json.RawMessage(tc.in))
			if tc.wantErr != "" {
				te, ok := AsError(err)
				if !ok || te.Kind != KindInvalid || !strings.Contains(te.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want invalid argument containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(tc.want)
			if string(gb) != string(wb) {
				t.Fatalf("got %s, want %s", gb, wb)
			}
		})
	}
}

// FuzzDecodeArgs feeds arbitrary client input to every tool's argument decoder: it may refuse it, with an
// invalid-argument error, but never panic or fail any other way.
func FuzzDecodeArgs(f *testing.F) {
	for _, s := range []string{`{}`, `{"monitor":"x"}`, `{"limit":"5"}`, `{"set":{"a":"b"},"secret":"a"}`, `{"requests":[{"name":"a","url":"b","headers":{"x":"y"}}]}`, `null`, `[]`, `{"depth":1e99}`, `{"keys":["a",1,true]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, tool := range All() {
			err := tool.decode(json.RawMessage(in))
			if err == nil {
				continue
			}
			if te, ok := AsError(err); !ok || te.Kind != KindInvalid {
				t.Fatalf("%s: decoding %q failed with %v, want an invalid-argument error", tool.Name, in, err)
			}
		}
	})
}

func TestClosest(t *testing.T) {
	known := []string{"staging", "production", "local", "Orders staging"}
	tests := []struct {
		q    string
		want string
	}{
		{"stage", "staging"},
		{"prodution", "production"},
		{"LOCAL", "local"},
		{"orders", "Orders staging"},
	}
	for _, tc := range tests {
		got := closest(tc.q, known, 3)
		if len(got) == 0 || got[0] != tc.want {
			t.Errorf("closest(%q) = %v, want %q first", tc.q, got, tc.want)
		}
	}
	if got := closest("zzzzzzzz", known, 3); len(got) != 0 {
		t.Errorf("unrelated name got candidates %v", got)
	}
}
