package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// WebhookInput is the body of POST /webhooks.
type WebhookInput struct {
	Name string `json:"name"`
	// Collection and Environment are UIDs.
	Collection  string `json:"collection"`
	Environment string `json:"environment,omitempty"`
}

// Webhook is a created webhook: a trigger-only monitor that runs the collection when WebhookURL is POSTed to.
type Webhook struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Collection  string `json:"collection"`
	Environment string `json:"environment,omitempty"`
	WebhookURL  string `json:"webhookUrl"`
	UID         string `json:"uid"`
}

// CreateWebhook calls POST /webhooks?workspace=… . The workspace is required (see CreateCollection).
func (c *Client) CreateWebhook(ctx context.Context, workspace string, in WebhookInput) (Webhook, error) {
	switch {
	case workspace == "":
		return Webhook{}, errors.New("create webhook: no workspace given; pass the ID of the workspace to create it in")
	case in.Name == "" || in.Collection == "":
		return Webhook{}, errors.New("create webhook: name and collection (a UID) are required")
	}
	var env struct {
		Webhook Webhook `json:"webhook"`
	}
	err := c.call(ctx, request{method: http.MethodPost, path: "/webhooks", query: url.Values{"workspace": {workspace}},
		body: map[string]any{"webhook": in}}, &env)
	return env.Webhook, err
}
