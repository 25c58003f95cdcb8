package app

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestFlagHelpers(t *testing.T) {
	if got := List(" a, ,b ,"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("List = %q", got)
	}
	t.Setenv("PMOPS_TEST_SET", "")
	if EnvOr("PMOPS_TEST_SET", "def") != "" || EnvOr("PMOPS_TEST_UNSET_X", "def") != "def" {
		t.Fatal("EnvOr must prefer a set (even empty) variable over the default")
	}
	t.Setenv("POSTMAN_API_KEY", " PMAK-x ")
	var stderr bytes.Buffer
	c := Config{BaseURL: "http://127.0.0.1:1", Region: "eu"}
	c.FinishPostman(&stderr)
	if c.APIKey != "PMAK-x" || c.Region != "" || !strings.Contains(stderr.String(), "region eu is ignored") {
		t.Fatalf("FinishPostman: %+v %q", c, stderr.String())
	}
	if _, err := NewLogger("loud", &stderr); err == nil || !strings.Contains(err.Error(), "bad -log-level") {
		t.Fatalf("NewLogger(loud) = %v", err)
	}
	if l, err := NewLogger("debug", &stderr); err != nil || l == nil {
		t.Fatalf("NewLogger(debug) = %v", err)
	}
}
