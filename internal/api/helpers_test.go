package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/repo"
)

const testKey = "PMAK-0123456789abcdef0123456789abcdef-0123456789abcdef"

// newTestClient starts an httptest server with h and returns a client pointed at it.
func newTestClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Config{APIKey: testKey, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sharedFile finds <repo>/../shared/postman-api/<name> (a missing file fails under CI=true, else skips).
func sharedFile(t *testing.T, name string) string {
	t.Helper()
	return repo.SharedForTest(t, "postman-api", name)
}

// toJSONValue normalizes any value to what encoding/json decodes into `any`.
func toJSONValue(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return out
}

// subsetJSON reports every place where want holds a non-null value that got lacks or holds differently.
// null in want matches anything (the API treats null and absent alike); strings that are both RFC 3339 times
// compare as instants, since re-encoding a time.Time drops ".000".
func subsetJSON(want, got any, path string) []string {
	switch w := want.(type) {
	case nil:
		return nil
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want object, got %s", path, brief(got))}
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var diffs []string
		for _, k := range keys {
			if w[k] == nil {
				continue
			}
			gv, ok := g[k]
			if !ok || gv == nil {
				diffs = append(diffs, fmt.Sprintf("%s.%s: missing (want %s)", path, k, brief(w[k])))
				continue
			}
			diffs = append(diffs, subsetJSON(w[k], gv, path+"."+k)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: want list of %d, got %s", path, len(w), brief(got))}
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, subsetJSON(w[i], g[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return diffs
	case string:
		g, ok := got.(string)
		if ok && g == w {
			return nil
		}
		if ok {
			tw, err1 := time.Parse(time.RFC3339Nano, w)
			tg, err2 := time.Parse(time.RFC3339Nano, g)
			if err1 == nil && err2 == nil && tw.Equal(tg) {
				return nil
			}
		}
		return []string{fmt.Sprintf("%s: want %q, got %s", path, w, brief(got))}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) || fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			return []string{fmt.Sprintf("%s: want %s, got %s", path, brief(want), brief(got))}
		}
		return nil
	}
}

// equalJSON is subsetJSON both ways: equal up to null ≡ absent.
func equalJSON(want, got any) []string {
	return append(subsetJSON(want, got, "$"), prefixAll("extra: ", subsetJSON(got, want, "$"))...)
}

func prefixAll(p string, ss []string) []string {
	for i := range ss {
		ss[i] = p + ss[i]
	}
	return ss
}

func brief(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

func failDiffs(t *testing.T, diffs []string) {
	t.Helper()
	if len(diffs) > 0 {
		if len(diffs) > 15 {
			diffs = append(diffs[:15], fmt.Sprintf("… and %d more", len(diffs)-15))
		}
		t.Errorf("JSON differs:\n  %s", strings.Join(diffs, "\n  "))
	}
}
