package compare

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Emulator is a running standalone postman-emulator process (cmd/postman-emulator).
type Emulator struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartEmulator runs bin with args (which must include -addr with port 0 or a free port) and waits for the URL it
// prints on its first stdout line. Its stderr goes to ours.
func StartEmulator(ctx context.Context, bin string, args ...string) (*Emulator, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	e := &Emulator{cmd: cmd, done: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				urls <- strings.TrimSpace(sc.Text())
				first = false
			}
		}
		close(urls)
	}()
	go func() { _ = cmd.Wait(); close(e.done) }()
	select {
	case u, ok := <-urls:
		if !ok || !strings.HasPrefix(u, "http://") {
			e.Close()
			return nil, fmt.Errorf("emulator printed %q instead of its URL", u)
		}
		e.URL = u
		return e, nil
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, errors.New("emulator did not print its URL within 30s")
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
}

// Close ends the emulator's process group. It allows a second for a graceful stop: nothing the benchmark needs
// depends on it, and http.Server.Shutdown waits up to 5 s for connections a client opened but never used.
func (e *Emulator) Close() {
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(time.Second):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-e.done
	}
}

// CollectionRef is a collection as GET /collections lists it.
type CollectionRef struct {
	ID   string `json:"id"`
	UID  string `json:"uid"`
	Name string `json:"name"`
}

// FindCollection looks a collection up by exact name through the API (GET /collections), as any client would.
func FindCollection(ctx context.Context, baseURL, key, name string) (CollectionRef, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/collections", nil)
	if err != nil {
		return CollectionRef{}, err
	}
	req.Header.Set("X-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return CollectionRef{}, fmt.Errorf("list collections: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return CollectionRef{}, fmt.Errorf("list collections: HTTP %d", resp.StatusCode)
	}
	var body struct {
		Collections []CollectionRef `json:"collections"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return CollectionRef{}, fmt.Errorf("list collections: %w", err)
	}
	for _, c := range body.Collections {
		if c.Name == name {
			return c, nil
		}
	}
	return CollectionRef{}, fmt.Errorf("no collection named %q among %d", name, len(body.Collections))
}
