package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Outline is a collection's structure without its content: names, IDs, methods and URLs. It is decoded with
// plain struct decoding instead of the lossless document types (which keep every unknown key for a faithful
// PUT), so an overview of a collection with thousands of requests costs a fraction of the time and memory.
type Outline struct {
	Info struct {
		Name        string       `json:"name"`
		UID         string       `json:"uid"`
		Description *Description `json:"description"`
		// UpdatedAt is the collection's last change as Postman reports it (info.updatedAt), kept verbatim:
		// it identifies the snapshot an outline was read from.
		UpdatedAt string `json:"updatedAt"`
	} `json:"info"`
	Item []OutlineItem `json:"item"`
}

// OutlineItem is a folder (Item set, Request nil) or a request.
type OutlineItem struct {
	ID      string          `json:"id"`
	UID     string          `json:"uid"`
	Name    string          `json:"name"`
	Item    []OutlineItem   `json:"item"`
	Request *OutlineRequest `json:"request"`
}

// IsFolder reports whether the item is a folder.
func (it *OutlineItem) IsFolder() bool { return it.Request == nil && it.Item != nil }

// OutlineRequest is a request's method and URL.
type OutlineRequest struct {
	Method string
	URL    string
}

// UnmarshalJSON reads a request object, or the bare URL string the format allows in its place.
func (r *OutlineRequest) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '"' {
		return json.Unmarshal(data, &r.URL)
	}
	var raw struct {
		Method string          `json:"method"`
		URL    json.RawMessage `json:"url"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	r.Method = raw.Method
	u := bytes.TrimSpace(raw.URL)
	switch {
	case len(u) == 0 || string(u) == "null":
	case u[0] == '"':
		return json.Unmarshal(u, &r.URL)
	default:
		var parts struct {
			Raw      string     `json:"raw"`
			Protocol string     `json:"protocol"`
			Host     StringList `json:"host"`
			Path     StringList `json:"path"`
		}
		if err := json.Unmarshal(u, &parts); err != nil {
			return fmt.Errorf("request url: %w", err)
		}
		r.URL = parts.Raw
		if r.URL == "" {
			var b strings.Builder
			if parts.Protocol != "" {
				b.WriteString(parts.Protocol + "://")
			}
			b.WriteString(strings.Join(parts.Host, "."))
			if len(parts.Path) > 0 {
				b.WriteString("/" + strings.Join(parts.Path, "/"))
			}
			r.URL = b.String()
		}
	}
	return nil
}

// GetCollectionOutline calls GET /collections/{id} and keeps only the collection's structure (see Outline).
func (c *Client) GetCollectionOutline(ctx context.Context, id string) (*Outline, error) {
	p, err := pathID("collection", id)
	if err != nil {
		return nil, fmt.Errorf("get collection outline: %w", err)
	}
	var env struct {
		Collection *Outline `json:"collection"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/collections/" + p}, &env); err != nil {
		return nil, err
	}
	if env.Collection == nil {
		return nil, fmt.Errorf("GET /collections/%s: the answer has no collection object", p)
	}
	return env.Collection, nil
}
