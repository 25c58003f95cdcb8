package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Mock is a mock server, as GET /mocks lists it and GET /mocks/{id} returns it.
type Mock struct {
	ID string `json:"id"`
	// Owner is the owner's user ID, as a string.
	Owner string `json:"owner"`
	UID   string `json:"uid"`
	// Collection and Environment are UIDs.
	Collection  string      `json:"collection"`
	Environment string      `json:"environment,omitempty"`
	MockURL     string      `json:"mockUrl"`
	Name        string      `json:"name"`
	Config      *MockConfig `json:"config,omitempty"`
	IsPublic    bool        `json:"isPublic"`
	Deactivated bool        `json:"deactivated"`
	CreatedAt   time.Time   `json:"createdAt,omitzero"`
	UpdatedAt   time.Time   `json:"updatedAt,omitzero"`
}

// MockConfig is how a mock server matches and answers.
type MockConfig struct {
	// Delay is nil when the mock answers at once.
	Delay            *MockDelay `json:"delay"`
	Headers          []string   `json:"headers"`
	MatchBody        bool       `json:"matchBody"`
	MatchQueryParams bool       `json:"matchQueryParams"`
	MatchWildcards   bool       `json:"matchWildcards"`
	// MatchHeader appears in some answers only.
	MatchHeader      *bool  `json:"matchHeader,omitempty"`
	ServerResponseID string `json:"serverResponseId"`
}

// MockDelay is a simulated network delay.
type MockDelay struct {
	Type string `json:"type"`
	// Preset is "1" (2G) or "2" (3G) when a preset is used.
	Preset string `json:"preset,omitempty"`
	// Duration is in milliseconds.
	Duration int64 `json:"duration"`
}

// ListMocksOptions filters GET /mocks. With both set, the API uses only Workspace.
type ListMocksOptions struct {
	TeamID    string
	Workspace string
}

// ListMocks calls GET /mocks: by default the active mock servers the key's user created. Not paged.
func (c *Client) ListMocks(ctx context.Context, opts ListMocksOptions) ([]Mock, error) {
	q := url.Values{}
	setIf(q, "teamId", opts.TeamID)
	setIf(q, "workspace", opts.Workspace)
	var env struct {
		Mocks []Mock `json:"mocks"`
	}
	err := c.call(ctx, request{method: http.MethodGet, path: "/mocks", query: q}, &env)
	return env.Mocks, err
}

// GetMock calls GET /mocks/{id}; id may be an ID or a UID.
func (c *Client) GetMock(ctx context.Context, id string) (*Mock, error) {
	p, err := pathID("mock", id)
	if err != nil {
		return nil, fmt.Errorf("get mock: %w", err)
	}
	var env struct {
		Mock *Mock `json:"mock"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/mocks/" + p}, &env); err != nil {
		return nil, err
	}
	if env.Mock == nil {
		return nil, fmt.Errorf("GET /mocks/%s: the answer has no mock object", p)
	}
	return env.Mock, nil
}
