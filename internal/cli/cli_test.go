package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		words   []string
		want    string
		wantErr string
	}{
		{[]string{"monitor=Checkout flow"}, `{"monitor":"Checkout flow"}`, ""},
		{[]string{"limit=5", "dry_run=true"}, `{"dry_run":true,"limit":5}`, ""},
		{[]string{`set={"a":"1"}`}, `{"set":{"a":"1"}}`, ""},
		{[]string{`id="123"`}, `{"id":"123"}`, ""},
		{[]string{"empty="}, `{"empty":""}`, ""},
		{[]string{"url=https://x/?a=b"}, `{"url":"https://x/?a=b"}`, ""},
		{[]string{"novalue"}, "", "not key=value"},
		{[]string{"=x"}, "", "not key=value"},
	}
	for _, tc := range tests {
		got, err := ParseArgs(tc.words)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: err = %v, want %q", tc.words, err, tc.wantErr)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%v: got %s, %v; want %s", tc.words, got, err, tc.want)
		}
	}
}

func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{"a=b", "n=1", `o={"x":[1]}`, "bad", "=", "a==b", `s="q"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, word string) {
		got, err := ParseArgs([]string{word})
		if err == nil && !json.Valid(got) {
			t.Fatalf("ParseArgs(%q) produced invalid JSON %s", word, got)
		}
	})
}
