package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// EnvironmentSummary is an entry of GET /environments.
type EnvironmentSummary struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	// Owner is the owner's user ID, as a string.
	Owner    string `json:"owner"`
	UID      string `json:"uid"`
	IsPublic bool   `json:"isPublic"`
}

// Environment is the answer of GET /environments/{id} (and of PATCH, which returns the whole environment).
// GET sends no uid; UIDOf builds it.
type Environment struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Owner     string    `json:"owner"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
	Values    []EnvVar  `json:"values"`
	IsPublic  bool      `json:"isPublic"`
	UID       string    `json:"uid,omitempty"`
}

// UIDOf returns the environment's UID: the one sent, or owner-id.
func (e *Environment) UIDOf() string {
	if e.UID != "" {
		return e.UID
	}
	return UID(e.Owner, e.ID)
}

// EnvVar is one environment variable. A vault/cloud secret has Secret set, Source describing where the value
// lives, and an empty Value. Keys this package does not model are kept in Extra, so GET → PUT loses nothing.
type EnvVar struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	// Enabled is always sent: a PUT without it would enable the variable.
	Enabled bool `json:"enabled"`
	// Type is "default" (plain text) or "secret" (masked); the vendor warns the list may grow.
	Type        string          `json:"type,omitempty"`
	Description string          `json:"description,omitempty"`
	Secret      bool            `json:"secret,omitempty"`
	Source      json.RawMessage `json:"source,omitempty"`

	docMeta
}

// Environment variable types.
const (
	EnvVarDefault = "default"
	EnvVarSecret  = "secret"
)

// UnmarshalJSON decodes the variable and remembers what it does not model.
func (v *EnvVar) UnmarshalJSON(data []byte) error {
	type plain EnvVar
	return decodeDoc(data, (*plain)(v))
}

// MarshalJSON encodes the variable with the keys it does not model.
func (v EnvVar) MarshalJSON() ([]byte, error) {
	type plain EnvVar
	return encodeDoc(plain(v))
}

// EnvironmentRef is what create, replace and delete answer.
type EnvironmentRef struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// EnvironmentInput is the body of POST and PUT /environments. For PUT both parts are optional: a nil Values
// leaves the variables alone, an empty non-nil Values removes them all.
type EnvironmentInput struct {
	Name   string   `json:"name,omitempty"`
	Values []EnvVar `json:"values,omitzero"`
}

// PatchOp is one operation of PATCH /environments/{id}: op is "add", "replace" or "remove", path a JSON
// pointer such as "/name", "/values/0" or "/values/0/value". Value is omitted when nil (remove).
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// ListEnvironments calls GET /environments, optionally for one workspace. The listing is not paged. An unknown
// workspace lists nothing.
func (c *Client) ListEnvironments(ctx context.Context, workspace string) ([]EnvironmentSummary, error) {
	q := url.Values{}
	setIf(q, "workspace", workspace)
	var env struct {
		Environments []EnvironmentSummary `json:"environments"`
	}
	err := c.call(ctx, request{method: http.MethodGet, path: "/environments", query: q}, &env)
	return env.Environments, err
}

// GetEnvironment calls GET /environments/{id}; id may be an ID or a UID.
func (c *Client) GetEnvironment(ctx context.Context, id string) (*Environment, error) {
	p, err := pathID("environment", id)
	if err != nil {
		return nil, fmt.Errorf("get environment: %w", err)
	}
	var env struct {
		Environment *Environment `json:"environment"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/environments/" + p}, &env); err != nil {
		return nil, err
	}
	if env.Environment == nil {
		return nil, fmt.Errorf("GET /environments/%s: the answer has no environment object", p)
	}
	return env.Environment, nil
}

// CreateEnvironment calls POST /environments?workspace=… . The workspace is required (see CreateCollection).
func (c *Client) CreateEnvironment(ctx context.Context, workspace string, in EnvironmentInput) (EnvironmentRef, error) {
	if workspace == "" {
		return EnvironmentRef{}, errors.New("create environment: no workspace given; pass the ID of the workspace to create it in")
	}
	if in.Name == "" {
		return EnvironmentRef{}, errors.New("create environment: the environment needs a name")
	}
	var env struct {
		Environment EnvironmentRef `json:"environment"`
	}
	err := c.call(ctx, request{method: http.MethodPost, path: "/environments", query: url.Values{"workspace": {workspace}},
		body: map[string]any{"environment": in}}, &env)
	return env.Environment, err
}

// ReplaceEnvironment calls PUT /environments/{id}.
func (c *Client) ReplaceEnvironment(ctx context.Context, id string, in EnvironmentInput) (EnvironmentRef, error) {
	p, err := pathID("environment", id)
	if err != nil {
		return EnvironmentRef{}, fmt.Errorf("replace environment: %w", err)
	}
	var env struct {
		Environment EnvironmentRef `json:"environment"`
	}
	err = c.call(ctx, request{method: http.MethodPut, path: "/environments/" + p, body: map[string]any{"environment": in}}, &env)
	return env.Environment, err
}

// PatchEnvironment calls PATCH /environments/{id} with a JSON-Patch-like operation list and returns the whole
// environment as it is afterwards. The vendor says one call should use one op type; its own examples mix
// remove and add, so this client does not enforce it.
func (c *Client) PatchEnvironment(ctx context.Context, id string, ops []PatchOp) (*Environment, error) {
	if len(ops) == 0 {
		return nil, errors.New("patch environment: no operations given")
	}
	p, err := pathID("environment", id)
	if err != nil {
		return nil, fmt.Errorf("patch environment: %w", err)
	}
	var env struct {
		Environment *Environment `json:"environment"`
	}
	if err := c.call(ctx, request{method: http.MethodPatch, path: "/environments/" + p, body: ops}, &env); err != nil {
		return nil, err
	}
	if env.Environment == nil {
		return nil, fmt.Errorf("PATCH /environments/%s: the answer has no environment object", p)
	}
	return env.Environment, nil
}

// DeleteEnvironment calls DELETE /environments/{id}.
func (c *Client) DeleteEnvironment(ctx context.Context, id string) (EnvironmentRef, error) {
	p, err := pathID("environment", id)
	if err != nil {
		return EnvironmentRef{}, fmt.Errorf("delete environment: %w", err)
	}
	var env struct {
		Environment EnvironmentRef `json:"environment"`
	}
	err = c.call(ctx, request{method: http.MethodDelete, path: "/environments/" + p}, &env)
	return env.Environment, err
}
