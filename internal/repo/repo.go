// Package repo finds the checkout the code runs in, and the vendor reference material (shared/) that sits beside
// it, for the tests and benchmarks that read them.
package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Root is the nearest directory at or above the working directory that holds a go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory; run inside the pmops repository")
		}
		dir = parent
	}
}

// Shared returns the path of <root>/../shared/<parts…>, where CI and developers keep the vendor's reference
// material, or an error when it is not there.
func Shared(parts ...string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	p := filepath.Join(append([]string{root, "..", "shared"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("vendor reference %s not found (expected at <repo>/../shared/): %w", filepath.Join(parts...), err)
	}
	return p, nil
}

// SharedForTest is Shared for a test: a missing file fails the test when CI=true (CI always has shared/ beside
// the clone) and skips it elsewhere.
func SharedForTest(t testing.TB, parts ...string) string {
	t.Helper()
	p, err := Shared(parts...)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err.Error() + "; skipping outside CI")
	}
	return p
}
