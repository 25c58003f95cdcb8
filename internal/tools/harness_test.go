package tools

import (
	"context"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/ratelimit"
)

var update = flag.Bool("update", false, "rewrite schema snapshots and golden files")

// fixture is a demo-seeded emulator behind a real client, as a tool sees it in production, except that the
// client's gate has no route buckets (the emulator's are raised too) so tests do not wait out 10-second windows.
type fixture struct {
	emu *emulator.Emulator
	srv *httptest.Server
	env *Env
}

func newFixture(t *testing.T, opts emulator.Options) *fixture {
	t.Helper()
	if opts.RoutePerWindow == 0 {
		opts.RoutePerWindow = 10_000
	}
	emu := emulator.New(opts)
	srv := httptest.NewServer(emu)
	t.Cleanup(func() { srv.Close(); _ = emu.Close() })
	gate := ratelimit.New(srv.Client().Transport, ratelimit.Options{Cache: api.CacheRules()})
	c, err := api.New(api.Config{APIKey: emulator.DemoKey, BaseURL: srv.URL, Gate: gate})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{emu: emu, srv: srv, env: &Env{Client: c, Budget: c.RateBudget, Runs: NewRunLog(16)}}
}

func (f *fixture) call(t *testing.T, name string, args map[string]any) (Result, error) {
	t.Helper()
	tool, ok := Lookup(name)
	if !ok {
		t.Fatalf("no tool %s", name)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	return tool.Call(context.Background(), f.env, raw)
}

func (f *fixture) mustCall(t *testing.T, name string, args map[string]any) Result {
	t.Helper()
	res, err := f.call(t, name, args)
	if err != nil {
		t.Fatalf("%s(%v): %v", name, args, err)
	}
	assertNoSecrets(t, res)
	return res
}

// requests returns how many API calls fn made.
func (f *fixture) requests(fn func()) int {
	before := f.emu.Requests(emulator.DemoKey)
	fn()
	return f.emu.Requests(emulator.DemoKey) - before
}

// assertNoSecrets fails when a demo secret value shows in a result's text or structured form.
func assertNoSecrets(t *testing.T, res Result) {
	t.Helper()
	b, _ := json.Marshal(res)
	all := string(b) + "\n" + res.Text()
	for _, s := range emulator.DemoSecretValues() {
		if s != "" && strings.Contains(all, s) {
			t.Errorf("result leaks secret value %q", s)
		}
	}
	if strings.Contains(all, emulator.DemoKey) {
		t.Errorf("result leaks the API key")
	}
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file %s missing: run go test ./internal/tools -run %s -update", path, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from golden (run with -update to accept):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

var dateRE = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC|\d\d:\d\d:\d\d UTC`)
