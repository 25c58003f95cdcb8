package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/pmops/pmops/internal/api"
)

type listMocksArgs struct {
	Workspace string `json:"workspace,omitempty" desc:"name or ID"`
	Limit     int    `json:"limit,omitempty" min:"1" max:"200" desc:"page size, default 50"`
	Cursor    string `json:"cursor,omitempty" desc:"from next_cursor"`
}

// MockRow is one mock server.
type MockRow struct {
	Name        string `json:"name"`
	UID         string `json:"uid"`
	URL         string `json:"url"`
	Collection  string `json:"collection_uid"`
	Environment string `json:"environment_uid,omitempty"`
	Private     bool   `json:"private"`
	Deactivated bool   `json:"deactivated,omitempty"`
	DelayMs     int    `json:"delay_ms,omitempty"`
	Resolved    string `json:"resolved,omitempty" schema:"-"`
}

func (m MockRow) Text() string {
	s := resolvedLine(m.Resolved) + fmt.Sprintf("%s  %s  uid=%s  collection=%s", m.Name, m.URL, m.UID, m.Collection)
	if m.Environment != "" {
		s += "  environment=" + m.Environment
	}
	if m.Private {
		s += "  [private]"
	}
	if m.Deactivated {
		s += "  [deactivated]"
	}
	if m.DelayMs > 0 {
		s += fmt.Sprintf("  delay %dms", m.DelayMs)
	}
	return s + "\n"
}

// MockList is a page of mock servers.
type MockList Page[MockRow]

func (l MockList) Text() string {
	var b strings.Builder
	b.WriteString(resolvedLine(l.Resolved))
	for _, m := range l.Items {
		b.WriteString(m.Text())
	}
	if len(l.Items) == 0 {
		b.WriteString("no mock servers\n")
	}
	b.WriteString(moreLine(Page[MockRow](l)))
	return b.String()
}

type getMockArgs struct {
	Mock string `json:"mock" desc:"name, ID or UID"`
}

func mockTools() []*Tool {
	return []*Tool{
		define(Tool{
			Name: "list_mocks", Title: "List mock servers", Toolset: ToolsetMocks,
			Description: "List the active mock servers (optionally in one workspace) with their URL and the collection they serve.",
			Hints:       Hints{ReadOnly: true, Idempotent: true, OpenWorld: true},
		}, listMocks),
		define(Tool{
			Name: "get_mock", Title: "Show a mock server", Toolset: ToolsetMocks,
			Description: "Show one mock server: URL, collection, environment, visibility and delay.",
			Hints:       Hints{ReadOnly: true, Idempotent: true, OpenWorld: true},
		}, getMock),
	}
}

func mockRow(m api.Mock) MockRow {
	r := MockRow{Name: m.Name, UID: m.UID, URL: m.MockURL, Collection: m.Collection, Environment: m.Environment,
		Private: !m.IsPublic, Deactivated: m.Deactivated}
	if c := m.Config; c != nil && c.Delay != nil {
		r.DelayMs = int(c.Delay.Duration)
	}
	return r
}

func listMocks(ctx context.Context, env *Env, args listMocksArgs) (MockList, error) {
	ws, err := resolveWorkspace(ctx, env, args.Workspace)
	if err != nil {
		return MockList{}, err
	}
	all, err := env.Client.ListMocks(ctx, api.ListMocksOptions{Workspace: ws})
	if err != nil {
		return MockList{}, fmt.Errorf("list mocks: %w", err)
	}
	rows := make([]MockRow, 0, len(all))
	for _, m := range all {
		rows = append(rows, mockRow(m))
	}
	limit := args.Limit
	if limit == 0 {
		limit = 50
	}
	p, err := localPage(rows, args.Cursor, limit)
	return MockList(p), err
}

func getMock(ctx context.Context, env *Env, args getMockArgs) (MockRow, error) {
	id := strings.TrimSpace(args.Mock)
	if !looksLikeID(id) {
		all, err := env.Client.ListMocks(cached(ctx), api.ListMocksOptions{})
		if err != nil {
			return MockRow{}, fmt.Errorf("list mocks to find %s: %w", EchoQ(id), err)
		}
		m, err := matchFor(ctx, "mock", id, all, func(m api.Mock) ref { return ref{Name: m.Name, ID: m.ID, UID: m.UID} })
		if err != nil {
			return MockRow{}, err
		}
		id = m.UID
	}
	m, err := env.Client.GetMock(ctx, id)
	if err != nil {
		return MockRow{}, fmt.Errorf("get mock %s: %w", id, err)
	}
	return mockRow(*m), nil
}
