// Package fakeserver is a small, hand-written MCP stdio server used by the
// mcpbench tests. A test binary turns itself into the server: its TestMain
// calls MaybeRun, and tests spawn os.Args[0] with the environment from Env.
// Being hand-written, it can send exactly the bytes, notifications and
// server-to-client requests the tests need to check the client against.
package fakeserver

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

const (
	envMode  = "MCPBENCH_FAKE_MODE"
	envChild = "MCPBENCH_FAKE_CHILD_MB"
)

// InitializeResult is sent verbatim, odd spacing included, so tests can
// check byte-exactness.
const InitializeResult = `{ "protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"fake","version":"0"} }`

// ToolsPage1 and ToolsPage2 are the two tools/list pages, verbatim.
const (
	ToolsPage1 = `{"tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"fail","inputSchema":{"type":"object"}}],"nextCursor":"p2"}`
	ToolsPage2 = `{"tools":[{"name":"slow","inputSchema":{"type":"object"}}]}`
)

// NoRaceExitDelay stops a -race test binary from sleeping a second on exit,
// which would otherwise slow every Close.
const NoRaceExitDelay = "GORACE=atexit_sleep_ms=0"

// Env returns the environment entries that make a test binary act as the
// fake server. childMB > 0 makes it spawn a child process that touches that
// many MiB of memory, to exercise process-tree accounting.
func Env(childMB int) []string {
	return []string{envMode + "=server", envChild + "=" + strconv.Itoa(childMB), NoRaceExitDelay}
}

// MaybeRun runs the fake server (or its child) and exits when the
// environment asks for it; otherwise it returns at once.
func MaybeRun() {
	switch os.Getenv(envMode) {
	case "server":
		if mb, _ := strconv.Atoi(os.Getenv(envChild)); mb > 0 {
			startChild(mb)
		}
		serve(os.Stdin, os.Stdout)
		os.Exit(0)
	case "child":
		mb, _ := strconv.Atoi(os.Getenv(envChild))
		holdMemory(mb)
		os.Exit(0)
	}
}

func startChild(mb int) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envMode+"=child", envChild+"="+strconv.Itoa(mb))
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "fakeserver: start child:", err)
		os.Exit(3)
	}
	// Make sure the child has touched its memory before any request is
	// answered, so a test reading RSS after initialize sees it.
	for !childReady(cmd.Process.Pid, mb) {
		time.Sleep(10 * time.Millisecond)
	}
}

func childReady(pid, mb int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	var kb int
	for _, line := range strings.Split(string(b), "\n") {
		if n, _ := fmt.Sscanf(line, "VmHWM: %d kB", &kb); n == 1 {
			return kb >= mb*1024
		}
	}
	return false
}

var sink []byte

func holdMemory(mb int) {
	sink = make([]byte, mb<<20)
	for i := 0; i < len(sink); i += 4096 {
		sink[i] = 1
	}
	time.Sleep(time.Hour) // killed with the process group
}

type message struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  json.RawMessage `json:"error,omitempty"`
}

func serve(in io.Reader, out io.Writer) {
	r := bufio.NewReader(in)
	send := func(s string) { fmt.Fprintln(out, s) }
	readMsg := func() (message, bool) {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return message{}, false
		}
		var m message
		if err := json.Unmarshal(line, &m); err != nil {
			fmt.Fprintln(os.Stderr, "fakeserver: bad line:", err)
			os.Exit(4)
		}
		return m, true
	}
	for {
		m, ok := readMsg()
		if !ok {
			return
		}
		if m.ID == nil {
			continue // notification
		}
		id := string(m.ID)
		switch m.Method {
		case "initialize":
			// Interleave a notification and a server-to-client request before
			// the response; the client must answer the ping.
			send(`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"hello"}}`)
			send(`{"jsonrpc":"2.0","id":"srv-1","method":"ping"}`)
			reply, ok := readMsg()
			if !ok || string(reply.ID) != `"srv-1"` || string(reply.Result) != `{}` {
				fmt.Fprintf(os.Stderr, "fakeserver: bad ping reply %+v\n", reply)
				os.Exit(5)
			}
			send(`{"jsonrpc":"2.0","id":` + id + `,"result":` + InitializeResult + `}`)
		case "tools/list":
			var p struct {
				Cursor string `json:"cursor"`
			}
			_ = json.Unmarshal(m.Params, &p)
			page := ToolsPage1
			if p.Cursor == "p2" {
				page = ToolsPage2
			}
			send(`{"jsonrpc":"2.0","id":` + id + `,"result":` + page + `}`)
		case "tools/call":
			var p struct {
				Name      string          `json:"name"`
				Arguments json.RawMessage `json:"arguments"`
			}
			_ = json.Unmarshal(m.Params, &p)
			switch p.Name {
			case "echo":
				text, _ := json.Marshal(string(p.Arguments))
				send(`{"jsonrpc":"2.0","id":` + id + `,"result":{"content":[{"type":"text","text":` + string(text) + `}]}}`)
			case "fail":
				send(`{"jsonrpc":"2.0","id":` + id + `,"result":{"content":[{"type":"text","text":"boom"}],"isError":true}}`)
			case "slow":
				time.Sleep(20 * time.Millisecond)
				send(`{"jsonrpc":"2.0","id":` + id + `,"result":{"content":[{"type":"text","text":"done"}]}}`)
			case "garbage":
				send(`this is not JSON`)
			case "exit":
				os.Exit(7)
			default:
				send(`{"jsonrpc":"2.0","id":` + id + `,"error":{"code":-32602,"message":"tool '` + p.Name + `' not found"}}`)
			}
		default:
			send(`{"jsonrpc":"2.0","id":` + id + `,"error":{"code":-32601,"message":"method not found"}}`)
		}
	}
}
