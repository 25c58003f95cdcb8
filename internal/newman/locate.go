// Package newman runs Postman collections with Newman, Postman's own collection runner (npm `newman`), as a child
// process. No Go library runs Postman's test scripts (pm.test, pm.expect, …), so pmops drives the real thing: a
// small embedded Node script loads Newman as a library, runs one collection from files this package writes into
// a private temporary directory, and reports one JSON line per executed request, which becomes progress and a
// summary here. The package knows nothing of Postman's API or of keys: callers hand it documents, and the child
// gets a minimal environment and no secrets on its command line.
package newman

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// PinnedVersion is the Newman version pmops is tested with (scripts/npm-tools.sh installs it).
const PinnedVersion = "6.2.2"

// InstallHint says how to get Newman; it ends every "not installed" error.
const InstallHint = "install it with `npm install -g newman@" + PinnedVersion + "` (needs Node.js 16 or later), " +
	"or point -newman / PMOPS_NEWMAN at its bin/newman.js"

// Install is a located Newman: its package directory, version and the Node binary that runs it.
type Install struct {
	// Dir is the newman package directory (the one holding its package.json).
	Dir     string
	Version string
	Node    string
}

// NotInstalledError says Newman (or Node) could not be found, why, and how to install it.
type NotInstalledError struct {
	Reason string
}

func (e *NotInstalledError) Error() string {
	return "Newman is not available (" + e.Reason + "): " + InstallHint
}

// IsNotInstalled reports whether err says Newman is missing.
func IsNotInstalled(err error) bool {
	var ni *NotInstalledError
	return errors.As(err, &ni)
}

// Locate finds Newman: at path when given (its bin script, a symlink to it such as node_modules/.bin/newman, or
// the package directory), else as `newman` on PATH. Node is looked up on PATH.
func Locate(path string) (Install, error) {
	from := path
	if from == "" {
		p, err := exec.LookPath("newman")
		if err != nil {
			return Install{}, &NotInstalledError{Reason: "no newman on PATH"}
		}
		from = p
	}
	real, err := filepath.EvalSymlinks(from)
	if err != nil {
		return Install{}, &NotInstalledError{Reason: fmt.Sprintf("%s: %v", from, errors.Unwrap(err))}
	}
	dir, version, ok := packageDir(real)
	if !ok {
		return Install{}, &NotInstalledError{Reason: fmt.Sprintf("%s is not inside a newman npm package", from)}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return Install{}, &NotInstalledError{Reason: "newman found at " + dir + " but no node on PATH"}
	}
	return Install{Dir: dir, Version: version, Node: node}, nil
}

// packageDir walks up from p to the directory whose package.json names the newman package.
func packageDir(p string) (dir, version string, ok bool) {
	dir = p
	if st, err := os.Stat(p); err == nil && !st.IsDir() {
		dir = filepath.Dir(p)
	}
	for range 6 {
		b, err := os.ReadFile(filepath.Join(dir, "package.json"))
		if err == nil {
			var pkg struct{ Name, Version string }
			if json.Unmarshal(b, &pkg) == nil && pkg.Name == "newman" {
				return dir, pkg.Version, true
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", "", false
}
