package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/tools"
)

// collectionTemplate lets a client attach a collection's outline as context (postman://collections/<uid>)
// instead of calling a tool; it reads through get_collection, so it costs what that tool costs.
const collectionTemplate = "postman://collections/{collection}"

func addResources(s *server.MCPServer, selected []*tools.Tool, opts Options) {
	var getCollection *tools.Tool
	for _, t := range selected {
		if t.Name == "get_collection" {
			getCollection = t
		}
	}
	if getCollection == nil {
		return
	}
	s.AddResourceTemplate(mcp.NewResourceTemplate(collectionTemplate, "Postman collection outline",
		mcp.WithTemplateDescription("Folders and requests (method, URL) of a collection, by UID, ID or name; the first 100 rows."),
		mcp.WithTemplateMIMEType("text/plain"),
	), func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		name, _ := req.Params.Arguments["collection"].(string)
		if name == "" {
			// mcp-go passes template variables as strings or string lists.
			if list, ok := req.Params.Arguments["collection"].([]string); ok && len(list) > 0 {
				name = list[0]
			}
		}
		if unescaped, err := url.PathUnescape(name); err == nil {
			name = unescaped
		}
		if name == "" {
			return nil, fmt.Errorf("resource %s names no collection", req.Params.URI)
		}
		env, err := opts.Env(ctx)
		if err != nil {
			return nil, err
		}
		ctx = ratelimit.WithTicket(ctx, ratelimit.Ticket{Class: ratelimit.Interactive, User: "mcp-resource"})
		ctx = ratelimit.WithMaxWait(ctx, opts.MaxWait)
		raw, _ := json.Marshal(map[string]any{"collection": name})
		res, err := getCollection.Call(ctx, env, raw)
		if err != nil {
			return nil, err
		}
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "text/plain", Text: res.Text()}}, nil
	})
}
