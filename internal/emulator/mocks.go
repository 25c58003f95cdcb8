package emulator

import (
	"fmt"
	"net/http"
)

type mockConfig struct {
	Headers          []string   `json:"headers"`
	MatchBody        bool       `json:"matchBody"`
	MatchQueryParams bool       `json:"matchQueryParams"`
	MatchWildcards   bool       `json:"matchWildcards"`
	Delay            *mockDelay `json:"delay"`
	ServerResponseID string     `json:"serverResponseId"`
}

type mockOut struct {
	ID          string     `json:"id"`
	Owner       string     `json:"owner"`
	UID         string     `json:"uid"`
	Collection  string     `json:"collection"`
	MockURL     string     `json:"mockUrl"`
	Name        string     `json:"name"`
	Config      mockConfig `json:"config"`
	CreatedAt   string     `json:"createdAt"`
	UpdatedAt   string     `json:"updatedAt"`
	IsPublic    bool       `json:"isPublic"`
	Deactivated bool       `json:"deactivated"`
	Environment string     `json:"environment,omitempty"`
}

func (m *mock) out() mockOut {
	headers := m.headers
	if headers == nil {
		headers = []string{}
	}
	return mockOut{ID: m.id, Owner: fmt.Sprint(m.owner), UID: m.uid(), Collection: m.collectionUID,
		MockURL: fmt.Sprintf("https://%s.mock.pstmn.io", m.id), Name: m.name,
		Config: mockConfig{Headers: headers, MatchBody: m.matchBody, MatchQueryParams: m.matchQueryParams,
			MatchWildcards: m.matchWildcards, Delay: m.delay, ServerResponseID: m.serverResponseID},
		CreatedAt: ts(m.createdAt), UpdatedAt: ts(m.updatedAt), IsPublic: m.isPublic, Deactivated: m.deactivated,
		Environment: m.environmentUID}
}

// listMocks follows the documented defaults: without ?workspace= only the caller's own active mocks (or, with
// ?teamId= of the caller's team, the team's); with it, the workspace's active mocks. ?workspace= wins over ?teamId=.
func (c *call) listMocks() reply {
	ws, team := c.query.Get("workspace"), c.query.Get("teamId")
	out := []mockOut{}
	for _, m := range byOrder(c.e.mocks, mockOrder) {
		if m.deactivated || !c.e.canSeeIn(c.user, m.workspaceID) {
			continue
		}
		switch {
		case ws != "":
			if m.workspaceID != ws {
				continue
			}
		case team != "" && c.user.TeamID != 0 && team == fmt.Sprint(c.user.TeamID):
		default:
			if m.owner != c.user.ID {
				continue
			}
		}
		out = append(out, m.out())
	}
	return ok(map[string]any{"mocks": out})
}

func (c *call) getMock() reply {
	m := c.e.findMock(c.user, c.params["mockId"])
	if m == nil {
		return legacyDetails(http.StatusNotFound, "instanceNotFoundError", "The specified mock does not exist.", map[string]any{})
	}
	return ok(map[string]any{"mock": m.out()})
}
