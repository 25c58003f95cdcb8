package tools

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ToolsetInfo describes a toolset for flags, help and server instructions.
type ToolsetInfo struct {
	ID           Toolset
	Description  string
	Default      bool
	Instructions string
}

var toolsets = []ToolsetInfo{
	{ToolsetAccount, "who the key belongs to, this month's API usage and the live rate budget", true,
		"get_account costs at most one API call and tells how much quota and rate budget is left."},
	{ToolsetWorkspaces, "list workspaces and what each contains", true, ""},
	{ToolsetCollections, "browse, create, update and delete collections and the requests, folders and examples in them", true,
		"get_collection returns an outline; pass request=<name or id> for one request in full, and cursor to continue a long outline. " +
			"edit_collection_item names items by Folder/Name path or ID where names repeat."},
	{ToolsetEnvironments, "read environments and set or unset their variables", true,
		"Secret values are masked unless reveal=true. Use dry_run=true on set_environment_variables to preview a change."},
	{ToolsetMonitors, "monitor status, runs and failure analysis", false,
		"For a failing monitor call explain_monitor_failure; run_monitor runs it now and returns the failing requests and assertions."},
	{ToolsetMocks, "list and inspect mock servers", false, ""},
	{ToolsetRuns, "run collections with Newman (installed separately)", false,
		"run_collection sends the collection's real requests from this machine; async=true returns a handle for get_collection_run."},
}

// Toolsets returns every toolset in catalogue order.
func Toolsets() []ToolsetInfo { return slices.Clone(toolsets) }

var catalog = sync.OnceValue(func() []*Tool {
	var all []*Tool
	all = append(all, accountTools()...)
	all = append(all, workspaceTools()...)
	all = append(all, collectionTools()...)
	all = append(all, environmentTools()...)
	all = append(all, monitorTools()...)
	all = append(all, historyTools()...)
	all = append(all, mockTools()...)
	all = append(all, runTools()...)
	return all
})

// All returns every tool, in catalogue order.
func All() []*Tool {
	all := slices.Clone(catalog())
	for _, t := range all {
		t.withSchemas()
	}
	return all
}

// Lookup finds a tool by name.
func Lookup(name string) (*Tool, bool) {
	if t := find(name); t != nil {
		return t.withSchemas(), true
	}
	return nil, false
}

// find is Lookup without deriving the schemas.
func find(name string) *Tool {
	for _, t := range catalog() {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Selection says which tools an adapter serves. The zero value serves the default toolsets.
type Selection struct {
	// Toolsets to enable; empty means the defaults. "all" enables every toolset, "default" the defaults.
	Toolsets []string
	// Tools adds single tools; given without Toolsets it serves only these tools.
	Tools []string
	// Exclude removes tools, whatever else selects them.
	Exclude []string
	// ReadOnly hides every tool that changes anything.
	ReadOnly bool
}

// Select returns the tools a selection serves, or an error naming any unknown toolset or tool.
func Select(sel Selection) ([]*Tool, error) {
	enabled := map[Toolset]bool{}
	useDefaults := len(sel.Toolsets) == 0 && len(sel.Tools) == 0
	for _, raw := range sel.Toolsets {
		name := strings.TrimSpace(raw)
		switch name {
		case "":
			continue
		case "all":
			for _, ts := range toolsets {
				enabled[ts.ID] = true
			}
		case "default":
			useDefaults = true
		default:
			if !knownToolset(Toolset(name)) {
				return nil, fmt.Errorf("unknown toolset %q; known toolsets: %s", name, strings.Join(toolsetNames(), ", "))
			}
			enabled[Toolset(name)] = true
		}
	}
	if useDefaults {
		for _, ts := range toolsets {
			if ts.Default {
				enabled[ts.ID] = true
			}
		}
	}
	extra := map[string]bool{}
	for _, n := range sel.Tools {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if find(n) == nil {
			return nil, fmt.Errorf("unknown tool %q%s", n, suggest(n, toolNames()))
		}
		extra[n] = true
	}
	excluded := map[string]bool{}
	for _, n := range sel.Exclude {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if find(n) == nil {
			return nil, fmt.Errorf("unknown tool %q in exclude list%s", n, suggest(n, toolNames()))
		}
		excluded[n] = true
	}
	var out []*Tool
	for _, t := range catalog() {
		if excluded[t.Name] || (sel.ReadOnly && !t.Hints.ReadOnly) {
			continue
		}
		if enabled[t.Toolset] || extra[t.Name] {
			out = append(out, t.withSchemas())
		}
	}
	return out, nil
}

// Instructions builds the guidance an assistant reads once, from the toolsets the selected tools belong to.
func Instructions(selected []*Tool) string {
	present := map[Toolset]bool{}
	for _, t := range selected {
		present[t.Toolset] = true
	}
	var b strings.Builder
	b.WriteString("pmops operates Postman (collections, environments, monitors, mocks, workspaces) through one rate-aware client. ")
	b.WriteString("Wherever a resource is named, its name, ID or UID is accepted (workspaces: name or ID); unknown or ambiguous names come back with candidates. ")
	b.WriteString("Lists return {items, next_cursor}; pass next_cursor back unchanged as cursor, with the same filters, to continue. ")
	b.WriteString("Deletes and full replaces need confirm=true; without it they return a preview. ")
	b.WriteString("Changes take only an ID, a UID or a whole name; reads also take part of a name, and their result's resolved field says what it matched.")
	var off []string
	for _, ts := range toolsets {
		if present[ts.ID] && ts.Instructions != "" {
			b.WriteString("\n- ")
			b.WriteString(ts.Instructions)
		}
		if !present[ts.ID] {
			off = append(off, string(ts.ID)+" ("+ts.Description+")")
		}
	}
	if len(off) > 0 {
		// So an assistant can say what is missing instead of "I can't do that" (the peer's issue #39).
		b.WriteString("\nNot enabled in this server (the user can add them with -toolsets): ")
		b.WriteString(strings.Join(off, "; "))
		b.WriteString(".")
	}
	return b.String()
}

func knownToolset(id Toolset) bool {
	return slices.ContainsFunc(toolsets, func(ts ToolsetInfo) bool { return ts.ID == id })
}

func toolsetNames() []string {
	names := []string{"all", "default"}
	for _, ts := range toolsets {
		names = append(names, string(ts.ID))
	}
	return names
}

func toolNames() []string {
	var names []string
	for _, t := range catalog() {
		names = append(names, t.Name)
	}
	return names
}

func suggest(name string, known []string) string {
	best := closest(name, known, 1)
	if len(best) == 0 {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best[0])
}
