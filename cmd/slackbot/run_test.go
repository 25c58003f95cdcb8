package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/newman/newmantest"
)

// TestConsoleDemoRunAsksToConfirm: with Newman wired, /postman run resolves the demo collection and environment
// and asks for confirmation under their names before sending anything.
func TestConsoleDemoRunAsksToConfirm(t *testing.T) {
	clearEnv(t)
	nm := newmantest.Path(t)
	var out, errOut bytes.Buffer
	code := run([]string{"-console", "-demo", "-newman", nm}, strings.NewReader("/postman run Payments API env staging\n"), &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "Run collection Payments API with staging?") || !strings.Contains(out.String(), "real requests") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
}
