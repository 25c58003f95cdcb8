// Command httplimits measures what abandoned MCP sessions cost `mcp -http` and whether the session idle TTL gives
// the memory back: it starts the binary (no default key), reads its resident set (VmRSS) from /proc, sends keyless
// initialize calls (which must all be 401 and open nothing), then keyed initialize calls that are never used
// again, and reads VmRSS until the TTL has ended them.
//
// With -baseline it first runs the same sequence against another build (say, of an older commit) that has no
// HTTP limits, so both columns come from one run on one machine.
//
//	go build -o /tmp/mcp ./cmd/mcp && go run ./bench/httplimits -mcp /tmp/mcp [-baseline /tmp/mcp-old]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"httplimits","version":"1"}}}`

func main() {
	bin := flag.String("mcp", "", "path of the mcp binary (go build -o /tmp/mcp ./cmd/mcp)")
	baseline := flag.String("baseline", "", "path of an mcp binary without -session-ttl/-max-sessions, run first for comparison")
	n := flag.Int("n", 3000, "initialize calls of each kind")
	ttl := flag.Duration("ttl", 5*time.Second, "-session-ttl given to the server")
	serverLog := flag.String("server-log", "", "write the server's stderr to this file")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "httplimits: -mcp is required")
		os.Exit(2)
	}
	logOut := io.Discard
	if *serverLog != "" {
		f, err := os.Create(*serverLog)
		if err != nil {
			fmt.Fprintln(os.Stderr, "httplimits:", err)
			os.Exit(2)
		}
		defer f.Close()
		logOut = f
	}
	var cols [][]string
	var names []string
	if *baseline != "" {
		rows, err := run(*baseline, *n, *ttl, false, logOut)
		if err != nil {
			fmt.Fprintln(os.Stderr, "httplimits: baseline:", err)
			os.Exit(1)
		}
		cols, names = append(cols, rows), append(names, "baseline")
	}
	rows, err := run(*bin, *n, *ttl, true, logOut)
	if err != nil {
		fmt.Fprintln(os.Stderr, "httplimits:", err)
		os.Exit(1)
	}
	cols, names = append(cols, rows), append(names, fmt.Sprintf("mcp -http -session-ttl %s", *ttl))
	fmt.Printf("| step (%d calls each) | %s |\n|---|%s\n", *n, strings.Join(names, " | "), strings.Repeat("---|", len(names)))
	for i, label := range steps {
		fmt.Printf("| %s |", label)
		for _, c := range cols {
			fmt.Printf(" %s |", c[i])
		}
		fmt.Println()
	}
}

var steps = []string{"start", "after keyless initialize", "after abandoned keyed initialize",
	"1.5 × TTL later", "30 s later", "60 s later"}

// run measures one binary and returns a cell per step: VmRSS, with the status counts of the flood steps.
func run(bin string, n int, ttl time.Duration, limits bool, logOut io.Writer) ([]string, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// No Postman call is made: initialize needs none, so the API base URL may point nowhere.
	args := []string{"-base-url", "http://127.0.0.1:9", "-http", "127.0.0.1:0"}
	if limits {
		args = append(args, "-session-ttl", ttl.String(), "-max-sessions", strconv.Itoa(2*n))
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "POSTMAN_") && !strings.HasPrefix(kv, "PMOPS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	url, err := waitURL(stderr)
	if err != nil {
		return nil, err
	}
	go func() { _, _ = io.Copy(logOut, stderr) }()
	pid := cmd.Process.Pid

	time.Sleep(time.Second)
	mib := func() string { return fmt.Sprintf("%.1f MiB", rss(pid)) }
	out := []string{mib()}
	codes := flood(url, n, "")
	out = append(out, mib()+" ("+codes+")")
	codes = flood(url, n, "Bearer PMAK-httplimits")
	out = append(out, mib()+" ("+codes+")")
	fmt.Fprintf(os.Stderr, "%s: flooded; watching RSS for 60 s\n", bin)
	// The sweeper runs every TTL/4 and, after a mass expiry, hands the freed pages back to the OS; RSS is read a
	// few times to show it stays down.
	start := time.Now()
	for _, at := range []time.Duration{ttl + ttl/2, 30 * time.Second, 60 * time.Second} {
		time.Sleep(time.Until(start.Add(at)))
		out = append(out, mib())
	}
	return out, nil
}

var urlLine = regexp.MustCompile(`url=(http://\S+/mcp)`)

func waitURL(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], nil
		}
	}
	return "", fmt.Errorf("the server exited before printing its URL")
}

// flood sends n initialize calls from 8 workers and returns the status counts.
func flood(url string, n int, auth string) string {
	var mu sync.Mutex
	counts := map[int]int{}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(initialize))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", "application/json, text/event-stream")
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				code := 0
				if resp, err := http.DefaultClient.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				counts[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var parts []string
	for code, c := range counts {
		parts = append(parts, fmt.Sprintf("%d×%d", c, code))
	}
	return strings.Join(parts, " ")
}

// rss reads VmRSS of pid in MiB.
func rss(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}
