// Command fidelity checks that our Postman API emulator serves what Postman's
// official MCP server (@postman/postman-mcp-server, run with --full) sends:
// it spawns the peer over stdio with POSTMAN_API_BASE_URL pointing at a
// recording proxy in front of the emulator, calls eleven read tools in an
// order where each takes its arguments from earlier results (a workspace id
// from getWorkspaces, a collection uid from getCollections, ...), then the
// collection-item, mock and global-variable tools (create a folder, a request
// in it and a saved response; read, update and delete them; create, update
// and delete a mock; replace and read globals), and checks every result is a
// real answer, not an error. On failure it prints the HTTP
// exchange the peer had with the emulator.
//
// test/peer/fidelity.sh builds and starts the emulator and runs this.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pmops/pmops/bench/mcpbench/mcpproc"
)

const peerRelPath = ".cache/npm/peer/node_modules/@postman/postman-mcp-server/dist/src/index.js"

func main() {
	peerJS := flag.String("peer-js", os.Getenv("PEER_MCP_JS"), "path to @postman/postman-mcp-server dist/src/index.js (default $PEER_MCP_JS or "+peerRelPath+")")
	node := flag.String("node", "node", "node binary for the peer")
	baseURL := flag.String("base-url", os.Getenv("POSTMAN_API_BASE_URL"), "emulator base URL")
	key := flag.String("key", envOr("POSTMAN_API_KEY", "PMAK-demo"), "API key the emulator accepts")
	timeout := flag.Duration("timeout", 90*time.Second, "overall time limit")
	verbose := flag.Bool("v", false, "print every HTTP exchange and a result excerpt per tool")
	flag.Parse()

	ok, err := run(*peerJS, *node, *baseURL, *key, *timeout, *verbose, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fidelity:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(peerJS, node, baseURL, key string, timeout time.Duration, verbose bool, out io.Writer) (bool, error) {
	if baseURL == "" {
		return false, errors.New("no emulator URL: pass -base-url or set POSTMAN_API_BASE_URL")
	}
	target, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || target.Host == "" {
		return false, fmt.Errorf("emulator URL %q is not an absolute URL", baseURL)
	}
	js, err := findPeer(peerJS)
	if err != nil {
		return false, err
	}
	rec, proxyURL, stopProxy, err := startRecordingProxy(target)
	if err != nil {
		return false, err
	}
	defer stopProxy()

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	spec := mcpproc.Spec{
		Name:    "postman-mcp-server --full",
		Command: []string{node, js, "--full"},
		Env:     []string{"POSTMAN_API_KEY=" + key, "POSTMAN_API_BASE_URL=" + proxyURL},
	}
	p, _, took, err := mcpproc.StartAndInitialize(ctx, spec, mcpproc.ClientInfo{Name: "pmops-fidelity", Version: "1"})
	if err != nil {
		return false, err
	}
	defer p.Close()
	fmt.Fprintf(out, "peer %s initialized in %d ms; emulator %s (via recording proxy %s)\n",
		filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(js)))), took.Milliseconds(), target, proxyURL)

	list, err := p.ListTools(ctx)
	if err != nil {
		return false, err
	}
	listed := map[string]bool{}
	for _, t := range list.Tools {
		listed[t.Name] = true
	}

	s := &session{proc: p, rec: rec, out: out, verbose: verbose, listed: listed}
	for _, step := range append(steps[:len(steps):len(steps)], itemSteps...) {
		s.runStep(ctx, step)
	}
	fmt.Fprintf(out, "%d passed, %d failed\n", s.passed, s.failed)
	return s.failed == 0, nil
}

// findPeer resolves the peer's entry point: the flag, else the npm cache of
// the repo containing the working directory.
func findPeer(flagValue string) (string, error) {
	if flagValue != "" {
		if _, err := os.Stat(flagValue); err != nil {
			return "", fmt.Errorf("peer server: %w", err)
		}
		return flagValue, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(dir, peerRelPath)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("peer server not found: run scripts/npm-tools.sh or pass -peer-js")
		}
		dir = parent
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// startRecordingProxy serves a reverse proxy to target on a loopback port and
// records every exchange. Rewrite (not Director) adds no X-Forwarded-*
// headers, so the emulator sees the peer's request as sent.
func startRecordingProxy(target *url.URL) (*recorder, string, func(), error) {
	rec := &recorder{}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
		},
		Transport: rec.transport(http.DefaultTransport),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, fmt.Errorf("recording proxy: %w", err)
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}
	return rec, "http://" + ln.Addr().String(), stop, nil
}
