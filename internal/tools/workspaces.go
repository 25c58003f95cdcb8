package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/pmops/pmops/internal/api"
)

type listWorkspacesArgs struct {
	Type   string `json:"type,omitempty" enum:"personal,team,private,public,partner" desc:"only workspaces of this type"`
	Limit  int    `json:"limit,omitempty" min:"1" max:"100" desc:"page size, default 50"`
	Cursor string `json:"cursor,omitempty" desc:"from next_cursor"`
}

// WorkspaceRow is one listed workspace.
type WorkspaceRow struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Visibility string `json:"visibility,omitempty"`
}

// WorkspaceList is a page of workspaces.
type WorkspaceList Page[WorkspaceRow]

func (l WorkspaceList) Text() string {
	var b strings.Builder
	for _, w := range l.Items {
		fmt.Fprintf(&b, "%s  [%s]  id=%s\n", w.Name, w.Type, w.ID)
	}
	if len(l.Items) == 0 {
		b.WriteString("no workspaces\n")
	}
	b.WriteString(moreLine(Page[WorkspaceRow](l)))
	return b.String()
}

type getWorkspaceArgs struct {
	Workspace string `json:"workspace" desc:"name or ID"`
}

// Element is a named resource inside a workspace.
type Element struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
}

// WorkspaceDetail is a workspace and what it contains.
type WorkspaceDetail struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Type         string    `json:"type"`
	Visibility   string    `json:"visibility,omitempty"`
	Description  string    `json:"description,omitempty"`
	Collections  []Element `json:"collections"`
	Environments []Element `json:"environments"`
	Monitors     []Element `json:"monitors"`
	Mocks        []Element `json:"mocks"`
	Resolved     string    `json:"resolved,omitempty" schema:"-"`
}

func (w WorkspaceDetail) Text() string {
	var b strings.Builder
	b.WriteString(resolvedLine(w.Resolved))
	fmt.Fprintf(&b, "%s [%s] id=%s\n", w.Name, w.Type, w.ID)
	if w.Description != "" {
		fmt.Fprintf(&b, "%s\n", clip(w.Description, 200))
	}
	for _, sec := range []struct {
		title string
		els   []Element
	}{{"Collections", w.Collections}, {"Environments", w.Environments}, {"Monitors", w.Monitors}, {"Mocks", w.Mocks}} {
		fmt.Fprintf(&b, "%s (%d):", sec.title, len(sec.els))
		for i, e := range sec.els {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, " %s", e.Name)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func workspaceTools() []*Tool {
	return []*Tool{
		define(Tool{
			Name: "list_workspaces", Title: "List workspaces", Toolset: ToolsetWorkspaces,
			Description: "List the workspaces the key can see, with type and ID (for get_workspace and the workspace " +
				"filter of list tools).",
			Hints: Hints{ReadOnly: true, Idempotent: true, OpenWorld: true},
		}, listWorkspaces),
		define(Tool{
			Name: "get_workspace", Title: "Show a workspace", Toolset: ToolsetWorkspaces,
			Description: "Show one workspace and everything in it: collections, environments, monitors and mocks by " +
				"name and UID.",
			Hints: Hints{ReadOnly: true, Idempotent: true, OpenWorld: true},
		}, getWorkspace),
	}
}

func listWorkspaces(ctx context.Context, env *Env, args listWorkspacesArgs) (WorkspaceList, error) {
	limit := args.Limit
	if limit == 0 {
		limit = 50
	}
	page, err := env.Client.ListWorkspacesPage(ctx, api.ListWorkspacesOptions{Type: args.Type, Limit: limit}, args.Cursor)
	if err != nil {
		return WorkspaceList{}, fmt.Errorf("list workspaces: %w", err)
	}
	out := WorkspaceList{Items: make([]WorkspaceRow, 0, len(page.Items)), NextCursor: page.Next}
	for _, w := range page.Items {
		out.Items = append(out.Items, WorkspaceRow{ID: w.ID, Name: w.Name, Type: w.Type, Visibility: w.Visibility})
	}
	return out, nil
}

// resolveWorkspace turns a workspace name or ID into its ID; "" stays "" (no workspace filter).
func resolveWorkspace(ctx context.Context, env *Env, query string) (string, error) {
	r, err := resolveWorkspaceRef(ctx, env, query)
	return r.ID, err
}

// resolveWorkspaceRef resolves a workspace in the call's mode (see Mode). A read given an ID costs nothing;
// anything else costs one cached listing.
func resolveWorkspaceRef(ctx context.Context, env *Env, query string) (Resolved, error) {
	q := strings.TrimSpace(query)
	if q == "" || (looksLikeID(q) && ModeOf(ctx) == Forgiving) {
		return Resolved{Kind: "workspace", ID: q}, nil
	}
	all, err := api.Collect(cached(ctx), env.Client.WorkspacesPager(api.ListWorkspacesOptions{Limit: api.MaxWorkspacePage}, "", api.Bound{MaxPages: 10}))
	if err != nil {
		if looksLikeID(q) {
			return Resolved{Kind: "workspace", ID: q}, nil
		}
		return Resolved{}, fmt.Errorf("list workspaces to find %s: %w", EchoQ(q), err)
	}
	return resolveIn(ctx, "workspace", q, all, func(w api.WorkspaceSummary) ref { return ref{Name: w.Name, ID: w.ID} })
}

func getWorkspace(ctx context.Context, env *Env, args getWorkspaceArgs) (WorkspaceDetail, error) {
	id, err := resolveWorkspace(ctx, env, args.Workspace)
	if err != nil {
		return WorkspaceDetail{}, err
	}
	w, err := env.Client.GetWorkspace(ctx, id, api.GetWorkspaceOptions{})
	if err != nil {
		return WorkspaceDetail{}, fmt.Errorf("get workspace %s: %w", id, err)
	}
	return WorkspaceDetail{
		ID: w.ID, Name: w.Name, Type: w.Type, Visibility: w.Visibility, Description: clip(w.Description, 500),
		Collections: elements(w.Collections), Environments: elements(w.Environments),
		Monitors: elements(w.Monitors), Mocks: elements(w.Mocks),
	}, nil
}

func elements(in []api.WorkspaceElement) []Element {
	out := make([]Element, 0, len(in))
	for _, e := range in {
		out = append(out, Element{Name: e.Name, UID: e.UID})
	}
	return out
}
