// Package mcpproc runs an MCP server as a child process and talks to it over
// stdio with newline-delimited JSON-RPC 2.0 (one message per line, as the MCP
// stdio transport frames it), keeping every message byte-exact so callers can
// measure what the server really sends.
//
// It is deliberately a hand-written client rather than mcp-go's: benchmarks
// need the raw bytes of each result and the time at which the line arrived,
// and the same code must drive any server (Postman's Node server, our Go
// binary) identically.
package mcpproc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// DefaultProtocolVersion is the protocol version sent in initialize: the
// newest one both mcp-go v1.2.1 and the TypeScript SDK 1.32.x negotiate over
// stdio.
const DefaultProtocolVersion = "2025-11-25"

// Spec says how to start a server.
type Spec struct {
	Name    string   // label for reports
	Command []string // argv; Command[0] is looked up in PATH
	Env     []string // KEY=VALUE pairs added to (and overriding) os.Environ()
	Dir     string   // working directory; empty means the current one
}

// ClientInfo is what the client announces in initialize.
type ClientInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Process is a running MCP server. Its methods are not safe for concurrent
// use: requests are sent one at a time, which is what measurement needs.
type Process struct {
	spec    Spec
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	started time.Time

	lines   chan []byte // stdout, one JSON-RPC message per element
	readErr chan error  // receives the stdout read error (io.EOF on exit) once

	nextID        int
	notifications int

	stderr *tailBuffer

	closeOnce sync.Once
	closed    chan struct{} // closed by Close; stops readLoop
	waitDone  chan struct{}
	waitErr   error
}

// Start spawns the server. The caller must Close it.
func Start(spec Spec) (*Process, error) {
	if len(spec.Command) == 0 {
		return nil, errors.New("start MCP server: empty command")
	}
	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Env = mergeEnv(os.Environ(), spec.Env)
	cmd.Dir = spec.Dir
	// Own process group, so Close can end the server together with any
	// children it spawned (Node wrappers, shells) and nothing else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: stdin pipe: %w", spec.label(), err)
	}
	// A pipe we own rather than cmd.StdoutPipe: Wait closes StdoutPipe's read
	// end as soon as the process exits, which could drop a final response.
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: stdout pipe: %w", spec.label(), err)
	}
	cmd.Stdout = stdoutW
	p := &Process{
		spec:     spec,
		cmd:      cmd,
		stdin:    stdin,
		lines:    make(chan []byte, 64),
		readErr:  make(chan error, 1),
		nextID:   1,
		stderr:   newTailBuffer(32 << 10),
		closed:   make(chan struct{}),
		waitDone: make(chan struct{}),
	}
	cmd.Stderr = p.stderr
	p.started = time.Now()
	err = cmd.Start()
	stdoutW.Close() // the child has its copy
	if err != nil {
		stdout.Close()
		return nil, fmt.Errorf("start %s: %w", spec.label(), err)
	}
	go p.readLoop(stdout)
	go func() {
		p.waitErr = cmd.Wait()
		close(p.waitDone)
	}()
	return p, nil
}

// StartAndInitialize spawns the server, performs the initialize handshake and
// sends notifications/initialized. The duration runs from just before the
// process was spawned to the arrival of the initialize response.
func StartAndInitialize(ctx context.Context, spec Spec, client ClientInfo) (*Process, *Response, time.Duration, error) {
	p, err := Start(spec)
	if err != nil {
		return nil, nil, 0, err
	}
	resp, err := p.Initialize(ctx, client)
	if err != nil {
		p.Close()
		return nil, nil, 0, err
	}
	return p, resp, resp.Received.Sub(p.started), nil
}

// Initialize sends initialize (with DefaultProtocolVersion and no client
// capabilities) and then notifications/initialized.
func (p *Process) Initialize(ctx context.Context, client ClientInfo) (*Response, error) {
	params := map[string]any{
		"protocolVersion": DefaultProtocolVersion,
		"capabilities":    map[string]any{},
		"clientInfo":      client,
	}
	resp, err := p.Request(ctx, "initialize", params)
	if err != nil {
		return nil, err
	}
	if err := resp.Err(); err != nil {
		return nil, fmt.Errorf("initialize %s: %w", p.spec.label(), err)
	}
	if err := p.Notify("notifications/initialized", nil); err != nil {
		return nil, err
	}
	return resp, nil
}

// PID is the server's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Started is when the process was spawned.
func (p *Process) Started() time.Time { return p.started }

// Notifications counts server notifications seen so far.
func (p *Process) Notifications() int { return p.notifications }

// StderrTail returns the last bytes the server wrote to stderr.
func (p *Process) StderrTail() string { return p.stderr.String() }

// Response is one JSON-RPC response, byte-exact.
type Response struct {
	Line     []byte          // the whole message as received, without the newline
	Result   json.RawMessage // the result member exactly as sent; nil on error
	Error    *RPCError
	Sent     time.Time
	Received time.Time
}

// Elapsed is the round-trip time of the request.
func (r *Response) Elapsed() time.Duration { return r.Received.Sub(r.Sent) }

// Err returns the JSON-RPC error, if any, as a Go error.
func (r *Response) Err() error {
	if r.Error == nil {
		return nil
	}
	return r.Error
}

// RPCError is a JSON-RPC error object.
type RPCError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("JSON-RPC error %d: %s", e.Code, e.Message)
}

// Request sends a request and waits for its response. Server-to-client
// requests arriving meanwhile are answered (ping with {}, anything else with
// -32601); notifications are counted and dropped.
func (p *Process) Request(ctx context.Context, method string, params any) (*Response, error) {
	id := p.nextID
	p.nextID++
	msg := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	sent := time.Now()
	if err := p.write(msg); err != nil {
		return nil, fmt.Errorf("%s %s: %w", p.spec.label(), method, err)
	}
	want := strconv.Itoa(id)
	for {
		line, err := p.next(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", p.spec.label(), method, err)
		}
		received := time.Now()
		env, err := parseEnvelope(line)
		if err != nil {
			return nil, fmt.Errorf("%s %s: server wrote a non-JSON-RPC line to stdout (%w): %q",
				p.spec.label(), method, err, truncate(line, 200))
		}
		switch env.kind() {
		case kindNotification:
			p.notifications++
		case kindRequest:
			if err := p.answerServerRequest(env); err != nil {
				return nil, fmt.Errorf("%s %s: answer server request %s: %w", p.spec.label(), method, env.Method, err)
			}
		case kindResponse:
			if string(bytes.TrimSpace(env.ID)) != want {
				// A response to some earlier request we gave up on; skip it.
				continue
			}
			return &Response{Line: line, Result: env.Result, Error: env.Error, Sent: sent, Received: received}, nil
		}
	}
}

// Notify sends a notification.
func (p *Process) Notify(method string, params any) error {
	msg := map[string]any{"jsonrpc": "2.0", "method": method}
	if params != nil {
		msg["params"] = params
	}
	if err := p.write(msg); err != nil {
		return fmt.Errorf("%s %s: %w", p.spec.label(), method, err)
	}
	return nil
}

// Tool is the part of a tools/list entry callers need; Raw keeps the rest.
type Tool struct {
	Name string          `json:"name"`
	Raw  json.RawMessage `json:"-"`
}

// ToolsList is the outcome of listing every tools/list page.
type ToolsList struct {
	Tools        []Tool
	Pages        int
	ResultBytes  int           // sum over pages of the result member's bytes
	MessageBytes int           // sum over pages of the whole response line's bytes
	Elapsed      time.Duration // first request sent to last response received
}

// ListTools calls tools/list, following nextCursor until the last page.
func (p *Process) ListTools(ctx context.Context) (*ToolsList, error) {
	out := &ToolsList{}
	var cursor string
	var first time.Time
	for {
		var params any
		if cursor != "" {
			params = map[string]any{"cursor": cursor}
		}
		resp, err := p.Request(ctx, "tools/list", params)
		if err != nil {
			return nil, err
		}
		if err := resp.Err(); err != nil {
			return nil, fmt.Errorf("tools/list %s: %w", p.spec.label(), err)
		}
		if out.Pages == 0 {
			first = resp.Sent
		}
		out.Pages++
		out.ResultBytes += len(resp.Result)
		out.MessageBytes += len(resp.Line)
		out.Elapsed = resp.Received.Sub(first)
		var page struct {
			Tools      []json.RawMessage `json:"tools"`
			NextCursor string            `json:"nextCursor"`
		}
		if err := json.Unmarshal(resp.Result, &page); err != nil {
			return nil, fmt.Errorf("tools/list %s: decode result: %w", p.spec.label(), err)
		}
		for _, raw := range page.Tools {
			var t Tool
			if err := json.Unmarshal(raw, &t); err != nil {
				return nil, fmt.Errorf("tools/list %s: decode tool: %w", p.spec.label(), err)
			}
			t.Raw = raw
			out.Tools = append(out.Tools, t)
		}
		if page.NextCursor == "" {
			return out, nil
		}
		if page.NextCursor == cursor || out.Pages > 10000 {
			return nil, fmt.Errorf("tools/list %s: pagination does not advance (cursor %q)", p.spec.label(), cursor)
		}
		cursor = page.NextCursor
	}
}

// Content is one content block of a tool result.
type Content struct {
	Type string `json:"type"`
	Text string `json:"text,omitempty"`
}

// ToolResult is a decoded tools/call result.
type ToolResult struct {
	Content           []Content       `json:"content"`
	IsError           bool            `json:"isError"`
	StructuredContent json.RawMessage `json:"structuredContent,omitempty"`
	Response          *Response       `json:"-"`
}

// Text joins the text content blocks.
func (r *ToolResult) Text() string {
	var b bytes.Buffer
	for i, c := range r.Content {
		if c.Type != "text" {
			continue
		}
		if i > 0 && b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(c.Text)
	}
	return b.String()
}

// CallTool calls tools/call. A JSON-RPC error is returned as an error; a tool
// result with isError:true is returned as a result (check IsError).
func (p *Process) CallTool(ctx context.Context, name string, args map[string]any) (*ToolResult, error) {
	if args == nil {
		args = map[string]any{}
	}
	resp, err := p.Request(ctx, "tools/call", map[string]any{"name": name, "arguments": args})
	if err != nil {
		return nil, err
	}
	if err := resp.Err(); err != nil {
		return nil, fmt.Errorf("call tool %s on %s: %w", name, p.spec.label(), err)
	}
	var res ToolResult
	if err := json.Unmarshal(resp.Result, &res); err != nil {
		return nil, fmt.Errorf("call tool %s on %s: decode result: %w", name, p.spec.label(), err)
	}
	res.Response = resp
	return &res, nil
}

// PeakRSS sums VmHWM (peak resident set size) over the server process and all
// its live descendants, and reports which processes were counted.
func (p *Process) PeakRSS() (bytes int64, pids []int, err error) {
	return TreePeakRSS("/proc", p.PID())
}

// Close ends the server: it closes stdin (the stdio transport's shutdown
// signal), waits briefly, then kills the process group.
func (p *Process) Close() error {
	p.closeOnce.Do(func() {
		p.stdin.Close()
		select {
		case <-p.waitDone:
		case <-time.After(2 * time.Second):
		}
		// Kill whatever is left in the group we created (children too).
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		close(p.closed)
		<-p.waitDone
	})
	return nil
}

func (p *Process) write(msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := p.stdin.Write(b); err != nil {
		return fmt.Errorf("write to server stdin: %w%s", err, p.exitHint())
	}
	return nil
}

func (p *Process) next(ctx context.Context) ([]byte, error) {
	select {
	case line, ok := <-p.lines:
		if ok {
			return line, nil
		}
		err := <-p.readErr
		p.readErr <- err
		if errors.Is(err, io.EOF) {
			// Give Wait a moment so the exit status can be reported.
			select {
			case <-p.waitDone:
			case <-time.After(500 * time.Millisecond):
			}
			return nil, fmt.Errorf("server closed stdout%s", p.exitHint())
		}
		return nil, fmt.Errorf("read server stdout: %w", err)
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for server: %w%s", ctx.Err(), p.exitHint())
	}
}

func (p *Process) exitHint() string {
	select {
	case <-p.waitDone:
		tail := p.stderr.String()
		if len(tail) > 1000 {
			tail = tail[len(tail)-1000:]
		}
		return fmt.Sprintf(" (server exited: %v; stderr tail: %q)", p.waitErr, tail)
	default:
		return ""
	}
}

func (p *Process) readLoop(stdout *os.File) {
	defer stdout.Close()
	r := bufio.NewReaderSize(stdout, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if trimmed := bytes.TrimRight(line, "\r\n"); len(bytes.TrimSpace(trimmed)) > 0 {
			select {
			case p.lines <- trimmed:
			case <-p.closed:
				return
			}
		}
		if err != nil {
			p.readErr <- err
			close(p.lines)
			return
		}
	}
}

func (p *Process) answerServerRequest(env *envelope) error {
	reply := map[string]any{"jsonrpc": "2.0", "id": env.ID}
	if env.Method == "ping" {
		reply["result"] = map[string]any{}
	} else {
		reply["error"] = map[string]any{"code": -32601, "message": "method not supported by mcpproc client: " + env.Method}
	}
	return p.write(reply)
}

func (s Spec) label() string {
	if s.Name != "" {
		return s.Name
	}
	if len(s.Command) > 0 {
		return s.Command[0]
	}
	return "server"
}

// mergeEnv returns base with extra applied, later entries winning.
func mergeEnv(base, extra []string) []string {
	out := make([]string, 0, len(base)+len(extra))
	index := map[string]int{}
	for _, kv := range append(append([]string{}, base...), extra...) {
		k, _, _ := bytes.Cut([]byte(kv), []byte("="))
		if i, ok := index[string(k)]; ok {
			out[i] = kv
			continue
		}
		index[string(k)] = len(out)
		out = append(out, kv)
	}
	return out
}

func truncate(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return b[:n]
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
