package api

import (
	"context"
	"fmt"
	"net/http"
)

// GlobalVariable is one of a workspace's global variables. Type is "default" or "secret".
type GlobalVariable struct {
	Key         string `json:"key"`
	Type        string `json:"type,omitempty"`
	Value       string `json:"value"`
	Enabled     bool   `json:"enabled"`
	Description string `json:"description,omitempty"`
}

// GetGlobalVariables calls GET /workspaces/{workspaceId}/global-variables.
func (c *Client) GetGlobalVariables(ctx context.Context, workspaceID string) ([]GlobalVariable, error) {
	p, err := pathID("workspace", workspaceID)
	if err != nil {
		return nil, fmt.Errorf("get global variables: %w", err)
	}
	var env struct {
		Values []GlobalVariable `json:"values"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/workspaces/" + p + "/global-variables"}, &env); err != nil {
		return nil, err
	}
	return env.Values, nil
}

// ReplaceGlobalVariables calls PUT /workspaces/{workspaceId}/global-variables: values replace every existing
// global variable of the workspace (an empty list removes them all).
func (c *Client) ReplaceGlobalVariables(ctx context.Context, workspaceID string, values []GlobalVariable) ([]GlobalVariable, error) {
	p, err := pathID("workspace", workspaceID)
	if err != nil {
		return nil, fmt.Errorf("replace global variables: %w", err)
	}
	if values == nil {
		values = []GlobalVariable{}
	}
	var env struct {
		Values []GlobalVariable `json:"values"`
	}
	err = c.call(ctx, request{method: http.MethodPut, path: "/workspaces/" + p + "/global-variables",
		body: map[string]any{"values": values}}, &env)
	if err != nil {
		return nil, err
	}
	return env.Values, nil
}
