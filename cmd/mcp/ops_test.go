package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/redistest"
)

// TestStoreFlag: -store takes a Redis URL (the call then counts its window in Redis) and refuses anything else, or
// an unreachable Redis, with exit 2 and a message that names the flag but not the password.
func TestStoreFlag(t *testing.T) {
	srv := redistest.Start(t)
	var out, errOut bytes.Buffer
	if code := run([]string{"-demo", "-store", srv.URL(0), "-metrics-addr", "127.0.0.1:0", "call", "get_environment", "environment=staging"},
		strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("with Redis: exit %d: %s", code, errOut.String())
	}
	for _, tc := range []struct{ store, want string }{
		{"postgres://db/x", "want redis://"},
		{"redis://:hunter2hunter2@127.0.0.1:1/0", "-store"},
	} {
		out.Reset()
		errOut.Reset()
		code := run([]string{"-demo", "-store", tc.store, "call", "get_account"}, strings.NewReader(""), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), tc.want) || strings.Contains(errOut.String(), "hunter2") {
			t.Errorf("-store %s: exit %d, stderr %q", tc.store, code, errOut.String())
		}
	}
}
