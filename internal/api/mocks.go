package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
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

// MockInput creates a mock server (POST /mocks).
type MockInput struct {
	// Collection is the mocked collection's UID (required); Environment an environment UID.
	Collection  string `json:"collection"`
	Environment string `json:"environment,omitempty"`
	Name        string `json:"name,omitempty"`
	// Private mocks answer only requests that carry a Postman API key (x-api-key).
	Private bool `json:"private,omitempty"`
}

// CreateMock calls POST /mocks?workspace=. The workspace is required here (see Client's doc).
func (c *Client) CreateMock(ctx context.Context, workspace string, in MockInput) (*Mock, error) {
	if workspace == "" {
		return nil, fmt.Errorf("create mock: no workspace given; pass the workspace ID the mock server belongs in")
	}
	if in.Collection == "" {
		return nil, fmt.Errorf("create mock: no collection given; pass the UID of the collection to mock")
	}
	var env struct {
		Mock *Mock `json:"mock"`
	}
	err := c.call(ctx, request{method: http.MethodPost, path: "/mocks", query: url.Values{"workspace": {workspace}},
		body: map[string]any{"mock": in}}, &env)
	if err != nil {
		return nil, err
	}
	if env.Mock == nil {
		return nil, fmt.Errorf("POST /mocks: the answer has no mock object")
	}
	return env.Mock, nil
}

// MockUpdate changes a mock server (PUT /mocks/{id}); only set fields are sent.
type MockUpdate struct {
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// Collection and Environment are UIDs.
	Collection  string `json:"collection,omitempty"`
	Environment string `json:"environment,omitempty"`
	Private     *bool  `json:"private,omitempty"`
	VersionTag  string `json:"versionTag,omitempty"`
	// Config sets the mock's default server response; a nil ServerResponseID inside clears it.
	Config *MockUpdateConfig `json:"config,omitempty"`
}

// MockUpdateConfig is the settable part of a mock's config.
type MockUpdateConfig struct {
	ServerResponseID *string `json:"serverResponseId"`
}

// UpdateMock calls PUT /mocks/{id}.
func (c *Client) UpdateMock(ctx context.Context, id string, in MockUpdate) (*Mock, error) {
	p, err := pathID("mock", id)
	if err != nil {
		return nil, fmt.Errorf("update mock: %w", err)
	}
	var env struct {
		Mock *Mock `json:"mock"`
	}
	if err := c.call(ctx, request{method: http.MethodPut, path: "/mocks/" + p, body: map[string]any{"mock": in}}, &env); err != nil {
		return nil, err
	}
	if env.Mock == nil {
		return nil, fmt.Errorf("PUT /mocks/%s: the answer has no mock object", p)
	}
	return env.Mock, nil
}

// MockRef is what a mock delete answers with.
type MockRef struct {
	ID  string `json:"id"`
	UID string `json:"uid"`
}

// DeleteMock calls DELETE /mocks/{id}.
func (c *Client) DeleteMock(ctx context.Context, id string) (MockRef, error) {
	p, err := pathID("mock", id)
	if err != nil {
		return MockRef{}, fmt.Errorf("delete mock: %w", err)
	}
	var env struct {
		Mock *MockRef `json:"mock"`
	}
	if err := c.call(ctx, request{method: http.MethodDelete, path: "/mocks/" + p}, &env); err != nil {
		return MockRef{}, err
	}
	if env.Mock == nil {
		return MockRef{}, fmt.Errorf("DELETE /mocks/%s: the answer has no mock object", p)
	}
	return *env.Mock, nil
}

// MockCallLog is one request a mock server served.
type MockCallLog struct {
	ID           string          `json:"id"`
	ResponseName string          `json:"responseName"`
	ServedAt     time.Time       `json:"servedAt,omitzero"`
	Request      MockCallRequest `json:"request"`
	Response     MockCallAnswer  `json:"response"`
}

// MockCallRequest is the served request; headers and body only with CallLogOptions.Include.
type MockCallRequest struct {
	Method  string          `json:"method"`
	Path    string          `json:"path"`
	Headers json.RawMessage `json:"headers,omitempty"`
	Body    json.RawMessage `json:"body,omitempty"`
}

// MockCallAnswer is the mock's answer: Type is "success" (an example matched) or "error".
type MockCallAnswer struct {
	Type       string          `json:"type"`
	StatusCode int             `json:"statusCode"`
	Headers    json.RawMessage `json:"headers,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"`
}

// CallLogOptions filter GET /mocks/{id}/call-logs.
type CallLogOptions struct {
	// Limit is the page size (the API's default and maximum is 100).
	Limit        int
	Since, Until time.Time
	// ResponseStatusCode, ResponseType ("success"/"error"), RequestMethod and RequestPath filter the calls.
	ResponseStatusCode int
	ResponseType       string
	RequestMethod      string
	RequestPath        string
	// Direction is "asc" or "desc" (by servedAt).
	Direction string
	// Include is a comma list of request.headers, request.body, response.headers, response.body.
	Include string
}

const listingMockCalls = "mock-call-logs"

// GetMockCallLogs calls GET /mocks/{id}/call-logs: one page of the calls the mock served, newest first unless
// Direction says otherwise. cursor is the Next of a previous page, or "".
func (c *Client) GetMockCallLogs(ctx context.Context, id string, opts CallLogOptions, cursor string) (Page[MockCallLog], error) {
	p, err := pathID("mock", id)
	if err != nil {
		return Page[MockCallLog]{}, fmt.Errorf("get mock call logs: %w", err)
	}
	vendor, err := decodeCursor(listingMockCalls, cursor)
	if err != nil {
		return Page[MockCallLog]{}, err
	}
	q := url.Values{}
	setIf(q, "cursor", vendor)
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(min(opts.Limit, 100)))
	}
	if !opts.Since.IsZero() {
		q.Set("since", opts.Since.UTC().Format(time.RFC3339))
	}
	if !opts.Until.IsZero() {
		q.Set("until", opts.Until.UTC().Format(time.RFC3339))
	}
	if opts.ResponseStatusCode != 0 {
		q.Set("responseStatusCode", strconv.Itoa(opts.ResponseStatusCode))
	}
	setIf(q, "responseType", opts.ResponseType)
	setIf(q, "requestMethod", opts.RequestMethod)
	setIf(q, "requestPath", opts.RequestPath)
	if opts.Direction != "" {
		q.Set("sort", "servedAt")
		q.Set("direction", opts.Direction)
	}
	setIf(q, "include", opts.Include)
	var env struct {
		CallLogs []MockCallLog `json:"call-logs"`
		Meta     *cursorMeta   `json:"meta"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/mocks/" + p + "/call-logs", query: q}, &env); err != nil {
		return Page[MockCallLog]{}, err
	}
	return Page[MockCallLog]{Items: env.CallLogs, Next: env.Meta.next(listingMockCalls, vendor)}, nil
}
