package repo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRootFindsTheModule(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(string(mod), "module github.com/pmops/pmops") {
		t.Fatalf("root %s: go.mod %q, %v", root, mod, err)
	}
}

func TestSharedReportsMissingFiles(t *testing.T) {
	if _, err := Shared("no-such-dir", "no-such-file.json"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v, want not found", err)
	}
}
