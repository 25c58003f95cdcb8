// Package redistest starts a private redis-server for tests: on a free loopback port, in the test's temp dir,
// with no persistence, stopped when the test ends. Tests never rely on a system Redis service.
//
// When redis-server is not installed the test is skipped, except under CI=true, where a missing server fails
// the run (CI installs the Debian package redis-server).
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a running redis-server owned by one test.
type Server struct {
	// Addr is host:port on loopback.
	Addr string
	// Password is required by the server when not empty (see Options).
	Password string
	dir      string
	cmd      *exec.Cmd
	port     int
	t        testing.TB
	exited   chan struct{}
}

// Options tune a server. The zero value is an open server.
type Options struct {
	// Password, when set, is configured as requirepass.
	Password string
}

// Binary finds redis-server, failing the test under CI=true and skipping it otherwise when it is missing.
func Binary(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		for _, p := range []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server"} {
			if _, serr := os.Stat(p); serr == nil {
				return p
			}
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is not installed (CI=true): install the Debian package redis-server (apt-get install -y redis-server)")
		}
		t.Skip("redis-server not installed; apt-get install -y redis-server to run the Redis tests")
	}
	return path
}

// Start runs a fresh redis-server and stops it when the test ends.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith runs a fresh redis-server with opts.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := Binary(t)
	s := &Server{Password: opts.Password, dir: t.TempDir(), t: t}
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s.port = port
		if lastErr = s.start(bin); lastErr == nil {
			t.Cleanup(s.stop)
			return s
		}
	}
	t.Fatalf("redistest: redis-server did not start: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(bin string) error {
	conf := []string{
		"bind 127.0.0.1",
		"port " + strconv.Itoa(s.port),
		"dir " + s.dir,
		`save ""`,
		"appendonly no",
		"daemonize no",
		"protected-mode yes",
		"loglevel warning",
		"logfile " + filepath.Join(s.dir, "redis.log"),
	}
	if s.Password != "" {
		conf = append(conf, "requirepass "+s.Password)
	}
	cf := filepath.Join(s.dir, "redis.conf")
	if err := os.WriteFile(cf, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(bin, cf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
			return fmt.Errorf("redis-server exited: %s", strings.TrimSpace(string(log)))
		default:
		}
		if s.ping() == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.kill()
	return fmt.Errorf("redis-server on %s did not answer PING within 10 s", s.Addr)
}

// ping speaks RESP directly, so the helper needs no client library.
func (s *Server) ping() error {
	c, err := net.DialTimeout("tcp", s.Addr, 500*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	cmd := "PING\r\n"
	if s.Password != "" {
		cmd = fmt.Sprintf("AUTH %s\r\nPING\r\n", s.Password)
	}
	if _, err := c.Write([]byte(cmd)); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "+PONG") {
			return nil
		}
		if strings.HasPrefix(line, "-") && !strings.Contains(line, "LOADING") {
			return fmt.Errorf("redis: %s", strings.TrimSpace(line))
		}
		if strings.HasPrefix(line, "-") {
			return fmt.Errorf("loading")
		}
	}
}

// URL is the redis:// URL of the server (database db), with the password when one is set.
func (s *Server) URL(db int) string {
	if s.Password != "" {
		return fmt.Sprintf("redis://:%s@%s/%d", s.Password, s.Addr, db)
	}
	return fmt.Sprintf("redis://%s/%d", s.Addr, db)
}

// Stop stops the server (SIGTERM, then SIGKILL); Restart starts it again on the same port, empty.
func (s *Server) Stop() { s.kill() }

// Restart starts a stopped server again on the same address. Its data is gone (no persistence).
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(Binary(s.t)); err != nil {
		s.t.Fatalf("redistest: restart on %s: %v", s.Addr, err)
	}
}

// Pause stops the server process (SIGSTOP): connections hang rather than fail, like a stalled network.
// Resume continues it.
func (s *Server) Pause()  { _ = s.cmd.Process.Signal(syscall.SIGSTOP) }
func (s *Server) Resume() { _ = s.cmd.Process.Signal(syscall.SIGCONT) }

func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(3 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func (s *Server) stop() { s.kill() }
