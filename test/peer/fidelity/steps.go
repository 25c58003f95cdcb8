package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pmops/pmops/bench/mcpbench/mcpproc"
)

// session carries ids from one step to the next.
type session struct {
	proc    *mcpproc.Process
	rec     *recorder
	out     io.Writer
	verbose bool
	listed  map[string]bool

	passed, failed int

	userID         float64
	workspaceIDs   []string
	workspaceID    string
	collectionUID  string
	environmentID  string
	monitorID      string
	workspaceItems map[string]int // kind → count, from getWorkspace

	folderID, requestID, responseID, mockID string // created by itemSteps
}

// step is one tool under test: args builds its arguments from earlier
// results, check validates the result text and records ids for later steps.
type step struct {
	tool  string
	args  func(*session) (map[string]any, error)
	check func(*session, string) (string, error) // returns a short note on success
}

var errNoInput = errors.New("no input from an earlier step")

var steps = []step{
	{
		tool: "getAuthenticatedUser",
		args: noArgs,
		check: func(s *session, text string) (string, error) {
			var v struct {
				User struct {
					ID       *float64 `json:"id"`
					Username string   `json:"username"`
				} `json:"user"`
			}
			if err := decodePretty(text, &v); err != nil {
				return "", err
			}
			if v.User.ID == nil {
				return "", errors.New(`no numeric "user.id" in the result`)
			}
			s.userID = *v.User.ID
			return fmt.Sprintf("user %.0f (%s)", s.userID, v.User.Username), nil
		},
	},
	{
		tool: "getWorkspaces",
		args: noArgs,
		check: func(s *session, text string) (string, error) {
			// The peer renders this tool through views/getWorkspaces.njk.
			rows, err := markdownTable(text, "# Workspaces")
			if err != nil {
				return "", err
			}
			for _, r := range rows {
				if r["id"] != "" {
					s.workspaceIDs = append(s.workspaceIDs, r["id"])
				}
			}
			if len(s.workspaceIDs) == 0 {
				return "", errors.New("the table lists no workspace with an id")
			}
			return fmt.Sprintf("%d workspaces", len(s.workspaceIDs)), nil
		},
	},
	{
		tool: "getWorkspace",
		args: func(s *session) (map[string]any, error) {
			if len(s.workspaceIDs) == 0 {
				return nil, errNoInput
			}
			return map[string]any{"workspaceId": s.workspaceIDs[0]}, nil
		},
		check: func(s *session, text string) (string, error) {
			items, id, err := parseWorkspace(text)
			if err != nil {
				return "", err
			}
			if id != s.workspaceIDs[0] {
				return "", fmt.Errorf("asked for workspace %s, got %s", s.workspaceIDs[0], id)
			}
			s.workspaceID, s.workspaceItems = id, items
			return fmt.Sprintf("workspace %s: %d collections, %d environments, %d monitors, %d mocks",
				id, items["collections"], items["environments"], items["monitors"], items["mocks"]), nil
		},
	},
	{
		tool: "getCollections",
		args: workspaceArg(true),
		check: func(s *session, text string) (string, error) {
			rows, err := markdownTable(text, "# Collections")
			if err != nil {
				return "", err
			}
			for _, r := range rows {
				if r["uid"] != "" {
					s.collectionUID = r["uid"]
					return fmt.Sprintf("%d collections; using uid %s", len(rows), s.collectionUID), nil
				}
			}
			return "", fmt.Errorf("no collection with a uid in workspace %s (%d rows)", s.workspaceID, len(rows))
		},
	},
	{
		tool: "getCollection",
		args: func(s *session) (map[string]any, error) {
			if s.collectionUID == "" {
				return nil, errNoInput
			}
			// Default model: the peer's "collection map".
			return map[string]any{"collectionId": s.collectionUID}, nil
		},
		check: func(s *session, text string) (string, error) {
			var v struct {
				Collection *struct {
					Info *struct {
						Name string `json:"name"`
					} `json:"info"`
					ItemRefs []json.RawMessage `json:"itemRefs"`
				} `json:"collection"`
			}
			if err := decodePretty(text, &v); err != nil {
				return "", err
			}
			if v.Collection == nil || v.Collection.Info == nil {
				return "", errors.New(`no "collection.info" in the result`)
			}
			return fmt.Sprintf("%q, %d top-level items", v.Collection.Info.Name, len(v.Collection.ItemRefs)), nil
		},
	},
	{
		tool: "getEnvironments",
		args: workspaceArg(false),
		check: func(s *session, text string) (string, error) {
			id, n, err := firstOfList(text, "environments")
			if err != nil {
				return "", err
			}
			s.environmentID = id
			return fmt.Sprintf("%d environments; using id %s", n, id), nil
		},
	},
	{
		tool: "getEnvironment",
		args: func(s *session) (map[string]any, error) {
			if s.environmentID == "" {
				return nil, errNoInput
			}
			return map[string]any{"environmentId": s.environmentID}, nil
		},
		check: singleResource("environment", func(s *session) string { return s.environmentID }),
	},
	{
		tool: "getMonitors",
		args: workspaceArg(false),
		check: func(s *session, text string) (string, error) {
			id, n, err := firstOfList(text, "monitors")
			if err != nil {
				return "", err
			}
			s.monitorID = id
			return fmt.Sprintf("%d monitors; using id %s", n, id), nil
		},
	},
	{
		tool:  "getMonitor",
		args:  monitorArg,
		check: singleResource("monitor", func(s *session) string { return s.monitorID }),
	},
	{
		tool: "runMonitor",
		args: monitorArg,
		check: func(s *session, text string) (string, error) {
			var v struct {
				Run *struct {
					Info *struct {
						Status string `json:"status"`
					} `json:"info"`
					Executions []json.RawMessage `json:"executions"`
				} `json:"run"`
			}
			if err := decodePretty(text, &v); err != nil {
				return "", err
			}
			if v.Run == nil || v.Run.Info == nil {
				return "", errors.New(`no "run.info" in the result`)
			}
			return fmt.Sprintf("status %q, %d executions", v.Run.Info.Status, len(v.Run.Executions)), nil
		},
	},
	{
		tool: "getMocks",
		args: workspaceArg(false),
		check: func(s *session, text string) (string, error) {
			var v map[string]json.RawMessage
			if err := decodePretty(text, &v); err != nil {
				return "", err
			}
			var mocks []json.RawMessage
			raw, ok := v["mocks"]
			if !ok || json.Unmarshal(raw, &mocks) != nil {
				return "", errors.New(`no "mocks" array in the result`)
			}
			if len(mocks) == 0 && s.workspaceItems["mocks"] > 0 {
				return "", fmt.Errorf("getWorkspace lists %d mocks but getMocks returned none", s.workspaceItems["mocks"])
			}
			return fmt.Sprintf("%d mocks", len(mocks)), nil
		},
	},
}

func (s *session) runStep(ctx context.Context, st step) {
	if !s.listed[st.tool] {
		s.fail(st.tool, "the peer does not list this tool (is --full passed?)", nil)
		return
	}
	args, err := st.args(s)
	if err != nil {
		s.fail(st.tool, err.Error(), nil)
		return
	}
	mark := s.rec.mark()
	start := time.Now()
	res, err := s.proc.CallTool(ctx, st.tool, args)
	took := time.Since(start)
	exchanges := s.rec.since(mark)
	if err != nil {
		s.fail(st.tool, fmt.Sprintf("args %s: %v", mustJSON(args), err), exchanges)
		return
	}
	text := res.Text()
	if res.IsError {
		s.fail(st.tool, fmt.Sprintf("args %s: isError result: %s", mustJSON(args), clip([]byte(text), 400)), exchanges)
		return
	}
	if msg := errorText(text); msg != "" {
		s.fail(st.tool, fmt.Sprintf("args %s: result reads as an error: %s", mustJSON(args), msg), exchanges)
		return
	}
	note, err := st.check(s, text)
	if err != nil {
		s.fail(st.tool, fmt.Sprintf("args %s: %v; result: %s", mustJSON(args), err, clip([]byte(text), 300)), exchanges)
		return
	}
	s.passed++
	fmt.Fprintf(s.out, "PASS %-22s %5d ms  %s\n", st.tool, took.Milliseconds(), note)
	if s.verbose {
		fmt.Fprintf(s.out, "    args %s\n", mustJSON(args))
		for _, ex := range exchanges {
			fmt.Fprint(s.out, ex.describe(300))
		}
	}
}

func (s *session) fail(tool, why string, exchanges []exchange) {
	s.failed++
	fmt.Fprintf(s.out, "FAIL %-22s %s\n", tool, why)
	for _, ex := range exchanges {
		fmt.Fprint(s.out, ex.describe(600))
	}
}

func noArgs(*session) (map[string]any, error) { return map[string]any{}, nil }

func workspaceArg(required bool) func(*session) (map[string]any, error) {
	return func(s *session) (map[string]any, error) {
		if s.workspaceID == "" {
			if required {
				return nil, errNoInput
			}
			return map[string]any{}, nil
		}
		return map[string]any{"workspace": s.workspaceID}, nil
	}
}

func monitorArg(s *session) (map[string]any, error) {
	if s.monitorID == "" {
		return nil, errNoInput
	}
	return map[string]any{"monitorId": s.monitorID}, nil
}

// singleResource checks {"<key>": {"id": <want>, ...}}; the id may also come
// back as a uid ending in the id.
func singleResource(key string, want func(*session) string) func(*session, string) (string, error) {
	return func(s *session, text string) (string, error) {
		var v map[string]json.RawMessage
		if err := decodePretty(text, &v); err != nil {
			return "", err
		}
		var r struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		raw, ok := v[key]
		if !ok || json.Unmarshal(raw, &r) != nil || r.ID == "" {
			return "", fmt.Errorf("no %q object with a string id in the result", key)
		}
		if w := want(s); r.ID != w && !strings.HasSuffix(w, "-"+r.ID) {
			return "", fmt.Errorf("asked for %s %s, got id %s", key, w, r.ID)
		}
		return fmt.Sprintf("%s %q", r.ID, r.Name), nil
	}
}

// firstOfList decodes {"<key>": [{"id": ...}, ...]} and returns the first id
// and the list length.
func firstOfList(text, key string) (string, int, error) {
	var v map[string]json.RawMessage
	if err := decodePretty(text, &v); err != nil {
		return "", 0, err
	}
	var items []struct {
		ID string `json:"id"`
	}
	raw, ok := v[key]
	if !ok || json.Unmarshal(raw, &items) != nil {
		return "", 0, fmt.Errorf("no %q array of objects with string ids in the result", key)
	}
	if len(items) == 0 || items[0].ID == "" {
		return "", len(items), fmt.Errorf("%q is empty or its first item has no id; later steps need one", key)
	}
	return items[0].ID, len(items), nil
}

func parseWorkspace(text string) (map[string]int, string, error) {
	var v struct {
		Workspace *struct {
			ID           string            `json:"id"`
			Collections  []json.RawMessage `json:"collections"`
			Environments []json.RawMessage `json:"environments"`
			Monitors     []json.RawMessage `json:"monitors"`
			Mocks        []json.RawMessage `json:"mocks"`
		} `json:"workspace"`
	}
	if err := decodePretty(text, &v); err != nil {
		return nil, "", err
	}
	if v.Workspace == nil || v.Workspace.ID == "" {
		return nil, "", errors.New(`no "workspace.id" in the result`)
	}
	w := v.Workspace
	return map[string]int{
		"collections": len(w.Collections), "environments": len(w.Environments),
		"monitors": len(w.Monitors), "mocks": len(w.Mocks),
	}, w.ID, nil
}

// decodePretty decodes a JSON tool result. The peer pretty-prints
// (JSON.stringify(x, null, 2)) only bodies it parsed as JSON, which it does
// only when the response's Content-Type contains application/json; any other
// body is passed through verbatim. So a compact body here means the emulator
// sent the wrong Content-Type.
func decodePretty(text string, v any) error {
	if err := json.Unmarshal([]byte(text), v); err != nil {
		return fmt.Errorf("result is not JSON: %v", err)
	}
	t := strings.TrimSpace(text)
	if len(t) > 2 && (t[0] == '{' || t[0] == '[') && !strings.HasPrefix(t[1:], "\n") {
		return errors.New("result is compact, not pretty-printed: the peer did not parse the body as JSON, so the emulator's Content-Type lacks application/json")
	}
	return nil
}

// errorText reports results that are error messages although isError is
// false (the peer's error paths all produce these prefixes).
func errorText(text string) string {
	t := strings.TrimSpace(text)
	for _, prefix := range []string{"MCP error", "API request failed", "API error:", "Input validation error", "Error:"} {
		if strings.HasPrefix(t, prefix) {
			return clip([]byte(t), 300)
		}
	}
	if strings.Contains(t, " not found: ") && strings.Contains(t, "Verify the") {
		return clip([]byte(t), 300) // a views/errors/*.404.njk rendering
	}
	return ""
}

// markdownTable parses the first pipe table after a heading line into rows
// keyed by the header cells.
func markdownTable(text, heading string) ([]map[string]string, error) {
	lines := strings.Split(text, "\n")
	i := 0
	for ; i < len(lines) && strings.TrimSpace(lines[i]) != heading; i++ {
	}
	if i == len(lines) {
		return nil, fmt.Errorf("no %q heading: not the peer's markdown rendering", heading)
	}
	var header []string
	var rows []map[string]string
	for _, line := range lines[i+1:] {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if header != nil {
				break // end of the table
			}
			continue
		}
		cells := splitRow(line)
		switch {
		case header == nil:
			header = cells
		case isSeparator(cells):
		default:
			row := map[string]string{}
			for j, h := range header {
				if j < len(cells) {
					row[h] = cells[j]
				}
			}
			rows = append(rows, row)
		}
	}
	if header == nil {
		return nil, errors.New("no table under the heading")
	}
	return rows, nil
}

func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	cells := strings.Split(line, "|")
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	return cells
}

func isSeparator(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, "-: ") != "" {
			return false
		}
	}
	return true
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
