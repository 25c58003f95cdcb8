package mcpserver

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/pmops/pmops/internal/tools"
)

// addPrompts offers ready-made workflows for the tools that are served; a prompt whose tools are hidden is not
// offered.
func addPrompts(s *server.MCPServer, selected []*tools.Tool) {
	has := map[string]bool{}
	for _, t := range selected {
		has[t.Name] = true
	}
	if has["explain_monitor_failure"] && has["get_monitor"] {
		s.AddPrompt(mcp.NewPrompt("triage_failing_monitor",
			mcp.WithPromptDescription("Find out why a Postman monitor fails and what to do about it."),
			mcp.WithArgument("monitor", mcp.ArgumentDescription("monitor name, ID or UID"), mcp.RequiredArgument()),
		), func(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			m := req.Params.Arguments["monitor"]
			if m == "" {
				return nil, fmt.Errorf("argument monitor is required")
			}
			text := fmt.Sprintf("The Postman monitor %q is failing. Call explain_monitor_failure with monitor=%q to get the failing "+
				"requests and assertions of its latest run. If the failures point at one environment variable or endpoint, "+
				"call get_environment or get_collection (request=<name>) to inspect it. Then summarise: what fails, since "+
				"when (lastRun), the most likely cause, and the next step. Do not run the monitor again unless asked.", m, m)
			return mcp.NewGetPromptResult("Triage a failing monitor",
				[]mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text))}), nil
		})
	}
}
