// Package cli is the command-line face of the tool layer: it turns `key=value` words into a tool's arguments,
// runs the tool and prints its text rendering (or its structured result as JSON).
package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/tools"
)

// ParseArgs turns words like `monitor="Checkout flow" limit=5 set={"A":"1"}` into a JSON object. A value that
// is valid JSON (number, boolean, object, list, quoted string) is taken as JSON; anything else is a string.
func ParseArgs(words []string) (json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("argument %s is not key=value", tools.EchoQ(w))
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

// Call runs one tool as the CLI user and prints its result to out: text, or JSON when asJSON.
// A tool error is printed too and returned, so the process can exit non-zero.
func Call(ctx context.Context, env *tools.Env, name string, words []string, out io.Writer, asJSON bool) error {
	t, ok := tools.Lookup(name)
	if !ok {
		return fmt.Errorf("unknown tool %s; `tools` lists them", tools.EchoQ(name))
	}
	raw, err := ParseArgs(words)
	if err != nil {
		return err
	}
	ctx = ratelimit.WithTicket(ctx, ratelimit.Ticket{Class: ratelimit.Interactive, User: "cli"})
	res, err := t.Call(ctx, env, raw)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	_, err = io.WriteString(out, res.Text())
	return err
}

// ListTools prints one line per tool: name, toolset, hints and title.
func ListTools(out io.Writer, list []*tools.Tool) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, t := range list {
		kind := "write"
		switch {
		case t.Hints.ReadOnly:
			kind = "read"
		case t.Hints.Destructive:
			kind = "destructive"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Toolset, kind, t.Title)
	}
	return tw.Flush()
}
