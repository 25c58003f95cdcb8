// Package cli is the command-line face of the tool layer: it turns `key=value` words into a tool's arguments,
// runs the tool and prints its text rendering (or its structured result as JSON).
package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/tools"
)

// ParseArgs turns words like `monitor="Checkout flow" limit=5 set={"A":"1"}` into a JSON object. A value that
// is valid JSON (number, boolean, object, list, quoted string) is taken as JSON; anything else is a string.
// `key@=FILE` takes the value from a file: a .csv file becomes a list of row objects (its first line names the
// columns, as Newman's data files), any other file is taken as JSON when it is JSON, else as a string.
func ParseArgs(words []string) (json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || k == "@" {
			return nil, fmt.Errorf("argument %s is not key=value", tools.EchoQ(w))
		}
		if name, isFile := strings.CutSuffix(k, "@"); isFile {
			val, err := fileValue(v)
			if err != nil {
				return nil, fmt.Errorf("argument %s: %w", name, err)
			}
			obj[name] = val
			continue
		}
		if json.Valid([]byte(v)) && v != "" {
			obj[k] = json.RawMessage(v)
			continue
		}
		b, _ := json.Marshal(v)
		obj[k] = b
	}
	return json.Marshal(obj)
}

func fileValue(path string) (json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			return nil, fmt.Errorf("%s is not valid CSV: %w", path, err)
		}
		rows := []map[string]string{}
		for i, rec := range recs {
			if i == 0 {
				continue
			}
			row := map[string]string{}
			for j, col := range recs[0] {
				if j < len(rec) {
					row[col] = rec[j]
				}
			}
			rows = append(rows, row)
		}
		return json.Marshal(rows)
	}
	if t := bytes.TrimSpace(b); json.Valid(t) && len(t) > 0 {
		return t, nil
	}
	return json.Marshal(string(b))
}

// Options say how Call prints.
type Options struct {
	// JSON prints the structured result instead of its text.
	JSON bool
	// JUnit, when set, is the file a run tool's JUnit XML report is written to.
	JUnit string
	// Progress, when set, receives one line per progress report of a long call (a collection run's requests).
	Progress io.Writer
}

// Call runs one tool as the CLI user and prints its result to out: text, or JSON when asked. It returns the
// result, and the tool's error after printing nothing (the caller prints it); ExitCode maps both to an exit code.
func Call(ctx context.Context, env *tools.Env, name string, words []string, out io.Writer, opts Options) (tools.Result, error) {
	t, ok := tools.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown tool %s; `tools` lists them", tools.EchoQ(name))
	}
	if opts.JUnit != "" && !tools.ReportsVerdict(name) {
		return nil, fmt.Errorf("-junit applies to the tools that run tests (run_collection, get_collection_run, run_monitor), not %s", name)
	}
	raw, err := ParseArgs(words)
	if err != nil {
		return nil, err
	}
	ctx = ratelimit.WithTicket(ctx, ratelimit.Ticket{Class: ratelimit.Interactive, User: "cli"})
	callEnv := *env
	if opts.Progress != nil {
		callEnv.Progress = func(done, total int, msg string) {
			if total > 0 {
				fmt.Fprintf(opts.Progress, "[%d/%d] %s\n", done, total, msg)
			} else {
				fmt.Fprintf(opts.Progress, "%s\n", msg)
			}
		}
	}
	res, err := t.Call(ctx, &callEnv, raw)
	if opts.JUnit != "" {
		if jerr := writeJUnitFile(opts.JUnit, name, res, err); jerr != nil {
			return res, jerr
		}
	}
	if err != nil {
		return nil, err
	}
	if opts.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return res, enc.Encode(res)
	}
	_, err = io.WriteString(out, res.Text())
	return res, err
}

// Exit codes of `call`. Tools that run tests (see tools.ReportsVerdict) say how the run went: 0 passed,
// 1 an assertion or request failed, 2 the run could not be done. Other tools exit 0, or 1 on an error.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitError  = 2
)

// ExitCode is the exit code of a call of tool name that returned res and err.
func ExitCode(name string, res tools.Result, err error) int {
	verdictTool := tools.ReportsVerdict(name)
	if err != nil {
		if verdictTool {
			return ExitError
		}
		return ExitFailed
	}
	v, ok := res.(tools.Verdict)
	if !verdictTool || !ok {
		return ExitOK
	}
	switch v.Outcome() {
	case tools.OutcomePassed:
		return ExitOK
	case tools.OutcomeFailed:
		return ExitFailed
	}
	return ExitError
}

// ListOptions annotate the tool list.
type ListOptions struct {
	// NewmanErr is why Newman is unavailable, nil when it is installed.
	NewmanErr error
	// OptIn marks the tools an MCP server leaves out unless their toolset is asked for.
	OptIn map[string]bool
}

// ListTools prints one line per tool: name, toolset, hints and title. Tools that need Newman say so (and that it
// is missing), and tools outside the default toolsets say how to enable them.
func ListTools(out io.Writer, list []*tools.Tool, opts ListOptions) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, t := range list {
		kind := "write"
		switch {
		case t.Hints.ReadOnly:
			kind = "read"
		case t.Hints.Destructive:
			kind = "destructive"
		}
		title := t.Title
		if slices.Contains(tools.NeedsNewman, t.Name) {
			if opts.NewmanErr != nil {
				title += " (needs Newman: not installed; npm install -g newman)"
			} else {
				title += " (needs Newman)"
			}
		}
		if opts.OptIn[t.Name] {
			title += " [MCP: -toolsets " + string(t.Toolset) + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Toolset, kind, title)
	}
	return tw.Flush()
}
