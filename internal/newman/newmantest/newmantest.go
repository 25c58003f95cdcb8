// Package newmantest finds the Newman installation tests run against.
package newmantest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/repo"
)

// Path returns Newman's location for a test (see Find); without one the test fails under CI=true (CI installs
// Newman through scripts/npm-tools.sh) and is skipped elsewhere.
func Path(t testing.TB) string {
	t.Helper()
	p := Find()
	if p == "" {
		msg := "newman not found: run scripts/npm-tools.sh (it installs newman and writes NEWMAN to .cache/npm/env.sh), or set NEWMAN"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// Find returns where a test can find Newman: $NEWMAN or $PMOPS_NEWMAN, `newman` on PATH, or the
// NEWMAN entry of the npm cache's env.sh that scripts/npm-tools.sh writes ($PMOPS_NPM_CACHE, else the
// checkout's .cache/npm). It returns "" when there is none; tests then fail under CI=true and skip otherwise.
func Find() string {
	for _, k := range []string{"NEWMAN", "PMOPS_NEWMAN"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	if p, err := exec.LookPath("newman"); err == nil {
		return p
	}
	var caches []string
	if c := os.Getenv("PMOPS_NPM_CACHE"); c != "" {
		caches = append(caches, c)
	}
	if root, err := repo.Root(); err == nil {
		caches = append(caches, filepath.Join(root, ".cache", "npm"))
	}
	for _, c := range caches {
		// env.sh names it; the install path is the fallback, as an older npm-tools.sh may have rewritten env.sh.
		for _, v := range []string{envFileValue(filepath.Join(c, "env.sh"), "NEWMAN"), filepath.Join(c, "newman", "node_modules", "newman", "bin", "newman.js")} {
			if v == "" {
				continue
			}
			if _, err := os.Stat(v); err == nil {
				return v
			}
		}
	}
	return ""
}

func envFileValue(file, name string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
		if k, v, ok := strings.Cut(line, "="); ok && k == name {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}
