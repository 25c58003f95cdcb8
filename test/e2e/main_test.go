package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/repo"
)

// Paths of the binaries TestMain builds, shared by every test.
var (
	repoRoot    string
	mcpBin      string
	emulatorBin string
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode (builds binaries and runs Node clients)")
		os.Exit(0)
	}
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	root, err := repo.Root()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	repoRoot = root
	dir, err := os.MkdirTemp("", "pmops-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	mcpBin = filepath.Join(dir, "mcp")
	emulatorBin = filepath.Join(dir, "postman-emulator")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, b := range []struct{ out, pkg string }{{mcpBin, "./cmd/mcp"}, {emulatorBin, "./cmd/postman-emulator"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b.out, b.pkg)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	return m.Run()
}

// npmTool returns the path of an npm-installed tool wrapper named by an env.sh variable (INSPECTOR, CONFORMANCE).
// The variable comes from the environment (scripts/test.sh sources .cache/npm/env.sh) or, failing that, from
// .cache/npm/env.sh itself. Missing tools fail the test under CI=true and skip it otherwise.
func npmTool(t *testing.T, name string) string {
	t.Helper()
	path := os.Getenv(name)
	if path == "" {
		path = envFileValue(filepath.Join(repoRoot, ".cache", "npm", "env.sh"), name)
	}
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	msg := fmt.Sprintf("%s is not installed (env %s=%q): run scripts/npm-tools.sh, or use scripts/test.sh which does", name, name, path)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// envFileValue reads `export NAME="value"` from a shell env file written by scripts/npm-tools.sh.
func envFileValue(file, name string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		if ok && k == name {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// cleanEnv is the test process's environment without Postman and pmops settings, so an outer
// POSTMAN_API_KEY or PMOPS_* cannot change what a test runs against; extra entries are appended.
func cleanEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "POSTMAN_") || strings.HasPrefix(kv, "PMOPS_") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

// result is a finished command.
type result struct {
	stdout, stderr string
	exitCode       int
}

// runCommand runs argv to completion within timeout, in its own process group so a timeout ends its children
// too (the inspector spawns the server it inspects).
func runCommand(t *testing.T, timeout time.Duration, dir string, env []string, argv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		// Whatever the command left behind in its group goes too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s timed out after %s\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), timeout, tail(res.stdout), tail(res.stderr))
	case errors.As(err, &exitErr):
		res.exitCode = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", strings.Join(argv, " "), err)
	}
	return res
}

// daemon is a long-running child process (an HTTP server) whose output the test watches.
type daemon struct {
	name   string
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan struct{}
}

// startDaemon starts argv in its own process group and ends the group when the test finishes.
func startDaemon(t *testing.T, name string, env []string, argv ...string) *daemon {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = t.TempDir()
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d := &daemon{name: name, cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = d.stdout, d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, tail(d.stderr.String()))
		}
	})
	return d
}

// waitFor waits until re matches the daemon's stdout or stderr and returns the first submatch.
func (d *daemon) waitFor(t *testing.T, re *regexp.Regexp, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, s := range []string{d.stdout.String(), d.stderr.String()} {
			if m := re.FindStringSubmatch(s); m != nil {
				return m[len(m)-1]
			}
		}
		select {
		case <-d.done:
			t.Fatalf("%s exited before printing %s\nstderr:\n%s", d.name, re, tail(d.stderr.String()))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %s within %s\nstderr:\n%s", d.name, re, timeout, tail(d.stderr.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tail(s string) string {
	const max = 4000
	if len(s) > max {
		return "…" + s[len(s)-max:]
	}
	return s
}

// assertNoLeak fails when any of the secrets appears in any of the outputs.
func assertNoLeak(t *testing.T, what string, secrets []string, outputs ...string) {
	t.Helper()
	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s: output contains the secret %q", what, s)
			}
		}
	}
}
