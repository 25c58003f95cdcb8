package compare

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pmops/pmops/bench/mcpbench/mcpproc"
	"github.com/pmops/pmops/bench/mcpbench/measure"
)

// NameArgs maps an argument name to the demo resource name passed for it: every tool argument that accepts a
// resource by name gets a name, never an ID, so name resolution is part of the count.
type NameArgs map[string]string

// DemoNames are names from the emulator's demo seed, as the primary demo user sees them.
var DemoNames = NameArgs{
	"workspace":   "Payments Platform",
	"collection":  "Payments API",
	"environment": "staging",
	"monitor":     "Orders API nightly regression",
	"mock":        "Payments API mock",
	"request":     "Health check",
}

// FanOuts are tools documented to spend one extra call per listed item; their budget is the usual one plus one
// per item in the result.
var FanOuts = map[string]string{
	"list_monitors": "2 + one status fetch per listed monitor",
}

// Extras are calls of tools that are not annotated read-only but read only with these arguments; they are
// counted too, for information.
var Extras = []ToolVariant{
	{Tool: "explain_monitor_failure", Args: map[string]any{"monitor": DemoNames["monitor"], "rerun": false}, Extra: true},
}

// ToolVariant is one way of calling a tool.
type ToolVariant struct {
	Tool  string
	Args  map[string]any
	Extra bool   // not a read-only tool; informational
	Skip  string // why it cannot be called (a required argument nobody knows how to fill)
}

// ArgsString renders the arguments as k=v, sorted.
func (v ToolVariant) ArgsString() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(v.Args)) {
		b, _ := json.Marshal(v.Args[k])
		parts = append(parts, k+"="+string(b))
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, " ")
}

// listedTool is the part of a tools/list entry the count needs.
type listedTool struct {
	Name        string `json:"name"`
	Annotations struct {
		ReadOnlyHint *bool `json:"readOnlyHint"`
	} `json:"annotations"`
	InputSchema struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	} `json:"inputSchema"`
}

// Variants returns how to call a listed tool: with its required arguments only (named from names), and, when it
// has optional arguments that take a resource name, once more with those filled in as well.
func Variants(raw json.RawMessage, names NameArgs) (readOnly bool, vs []ToolVariant, err error) {
	var t listedTool
	if err := json.Unmarshal(raw, &t); err != nil {
		return false, nil, fmt.Errorf("decode tool: %w", err)
	}
	readOnly = t.Annotations.ReadOnlyHint != nil && *t.Annotations.ReadOnlyHint
	base := ToolVariant{Tool: t.Name, Args: map[string]any{}}
	for _, r := range t.InputSchema.Required {
		v, ok := names[r]
		if !ok {
			base.Skip = fmt.Sprintf("required argument %q has no demo value", r)
			return readOnly, []ToolVariant{base}, nil
		}
		base.Args[r] = v
	}
	vs = append(vs, base)
	named := ToolVariant{Tool: t.Name, Args: maps.Clone(base.Args)}
	for _, p := range slices.Sorted(maps.Keys(t.InputSchema.Properties)) {
		if _, done := named.Args[p]; done {
			continue
		}
		if v, ok := names[p]; ok {
			named.Args[p] = v
		}
	}
	if len(named.Args) > len(base.Args) {
		vs = append(vs, named)
	}
	return readOnly, vs, nil
}

// CallCount is what one tool variant cost in Postman API calls.
type CallCount struct {
	ToolVariant
	Cold, Warm []APIRequest // first call in a fresh process; the same call right after
	IsError    bool
	Text       string // the first bytes of an error result
	FanOut     string // FanOuts entry, if any
	Allowed    int    // budget: 2, plus one per listed item for a fan-out
}

// Met reports whether both calls stayed within the budget.
func (c CallCount) Met() bool { return len(c.Cold) <= c.Allowed && len(c.Warm) <= c.Allowed }

// CountCalls calls every read-only tool spec lists (and the Extras) in a fresh process each, cold and then warm,
// counting the Postman API requests each call caused at the proxy spec points to.
func CountCalls(ctx context.Context, spec mcpproc.Spec, proxy *CountingProxy, names NameArgs) ([]CallCount, error) {
	p, _, _, err := mcpproc.StartAndInitialize(ctx, spec, measure.Client)
	if err != nil {
		return nil, err
	}
	list, err := p.ListTools(ctx)
	p.Close()
	if err != nil {
		return nil, err
	}
	var variants []ToolVariant
	for _, t := range list.Tools {
		readOnly, vs, err := Variants(t.Raw, names)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		if readOnly {
			variants = append(variants, vs...)
		}
	}
	for _, x := range Extras {
		if slices.ContainsFunc(list.Tools, func(t mcpproc.Tool) bool { return t.Name == x.Tool }) {
			variants = append(variants, x)
		}
	}
	var out []CallCount
	for _, v := range variants {
		c := CallCount{ToolVariant: v, FanOut: FanOuts[v.Tool], Allowed: TargetCallsPerTool}
		if v.Skip == "" {
			if err := countOne(ctx, spec, proxy, &c); err != nil {
				return out, err
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func countOne(ctx context.Context, spec mcpproc.Spec, proxy *CountingProxy, c *CallCount) error {
	p, _, _, err := mcpproc.StartAndInitialize(ctx, spec, measure.Client)
	if err != nil {
		return err
	}
	defer p.Close()
	for i, into := range []*[]APIRequest{&c.Cold, &c.Warm} {
		mark := proxy.Mark()
		res, err := p.CallTool(ctx, c.Tool, c.Args)
		if err != nil {
			return fmt.Errorf("count %s: %w", c.Tool, err)
		}
		*into = proxy.Since(mark)
		if res.IsError {
			c.IsError = true
			c.Text = truncate(res.Text(), 200)
		}
		if i == 0 && c.FanOut != "" {
			var listed struct {
				Items []json.RawMessage `json:"items"`
			}
			_ = json.Unmarshal(res.StructuredContent, &listed)
			c.Allowed = TargetCallsPerTool + len(listed.Items)
		}
	}
	return nil
}

// Routes summarises requests as "GET /monitors ×1, GET /monitors/{id} ×4".
func Routes(reqs []APIRequest) string {
	if len(reqs) == 0 {
		return "–"
	}
	counts := map[string]int{}
	var order []string
	for _, r := range reqs {
		k := r.Route()
		if r.Status >= 400 {
			k += fmt.Sprintf(" (%d)", r.Status)
		}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = fmt.Sprintf("%s ×%d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
