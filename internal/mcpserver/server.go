// Package mcpserver serves the shared tool layer over the Model Context Protocol (mark3labs/mcp-go): stdio for
// local assistants and Streamable HTTP for remote ones. It is an adapter only: it turns MCP arguments into a
// tool call, the caller's identity into a rate-gate ticket, and a tool's typed result into structuredContent plus
// its compact text; every Postman-facing decision lives in internal/tools.
//
// Over HTTP (NewHTTP) every request needs a key (401 otherwise) and an allowed Origin (403), bodies and live
// sessions are capped (413, 503), idle sessions end after a TTL, and each key stays pinned in the caller's client
// registry while its requests and sessions use it. While a call waits for rate budget the client is told why
// (progress notifications), and a wait past MaxWait ends the call at once with the time to retry.
package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/tools"
)

// EnvFunc returns the tool environment (the Postman client and budget) for the caller in ctx.
type EnvFunc func(ctx context.Context) (*tools.Env, error)

// Options configure a server.
type Options struct {
	Name, Version string
	Selection     tools.Selection
	// Env gives each call its Postman client; over HTTP it depends on the request's key.
	Env    EnvFunc
	Logger *slog.Logger
	// MaxResultBytes caps the text of one result; longer text is cut with an explicit marker.
	MaxResultBytes int
	// MaxWait bounds how long one Postman request of a call may wait for rate budget; a longer wait fails the
	// call at once with a rate-limited error naming the time to retry. Zero means DefaultMaxWait.
	MaxWait time.Duration
}

const defaultMaxResultBytes = 60_000

// New builds an MCP server serving the selected tools.
func New(opts Options) (*server.MCPServer, error) {
	selected, err := tools.Select(opts.Selection)
	if err != nil {
		return nil, err
	}
	if opts.Env == nil {
		return nil, fmt.Errorf("mcpserver: Options.Env is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxResultBytes <= 0 {
		opts.MaxResultBytes = defaultMaxResultBytes
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.Name == "" {
		opts.Name = "pmops"
	}
	s := server.NewMCPServer(opts.Name, opts.Version,
		server.WithToolCapabilities(false),
		server.WithLogging(),
		server.WithRecovery(),
		server.WithInstructions(tools.Instructions(selected)),
	)
	for _, t := range selected {
		s.AddTool(toMCPTool(t), handler(s, t, opts))
	}
	addPrompts(s, selected)
	addResources(s, selected, opts)
	return s, nil
}

func toMCPTool(t *tools.Tool) mcp.Tool {
	tool := mcp.NewToolWithRawSchema(t.Name, t.Description, t.InputSchema)
	tool.RawOutputSchema = t.OutputSchema
	tool.Annotations = mcp.ToolAnnotation{
		Title:           t.Title,
		ReadOnlyHint:    mcp.ToBoolPtr(t.Hints.ReadOnly),
		DestructiveHint: mcp.ToBoolPtr(t.Hints.Destructive),
		IdempotentHint:  mcp.ToBoolPtr(t.Hints.Idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(t.Hints.OpenWorld),
	}
	return tool
}

func handler(s *server.MCPServer, t *tools.Tool, opts Options) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		raw, err := json.Marshal(req.GetRawArguments())
		if err != nil {
			return mcp.NewToolResultError("arguments are not a JSON object"), nil
		}
		env, err := opts.Env(ctx)
		if err != nil {
			return mcp.NewToolResultError(err.Error()), nil
		}
		user := "mcp"
		if sess := server.ClientSessionFromContext(ctx); sess != nil && sess.SessionID() != "" {
			user = "mcp:" + sess.SessionID()
		}
		ctx = ratelimit.WithTicket(ctx, ratelimit.Ticket{Class: ratelimit.Interactive, User: user})
		ctx = ratelimit.WithMaxWait(ctx, opts.MaxWait)
		callEnv := *env
		if p := newProgress(ctx, s, req); p != nil {
			callEnv.Progress = p.step
			ctx = ratelimit.WithWaitObserver(ctx, p.wait)
		}

		res, err := t.Call(ctx, &callEnv, raw)
		if err != nil {
			te, ok := tools.AsError(err)
			if !ok {
				opts.Logger.Error("tool failed", "tool", t.Name, "err", err)
				return mcp.NewToolResultError("internal error in " + t.Name + "; the server log has details"), nil
			}
			opts.Logger.Info("tool error result", "tool", t.Name, "kind", te.Kind, "status", te.Status)
			msg := te.Error()
			if te.Kind == tools.KindRateLimited && !te.RetryAt.IsZero() {
				// The model does not know the time of day; say how long.
				msg += fmt.Sprintf(" (retry in about %s)", aboutDuration(time.Until(te.RetryAt)))
			}
			return mcp.NewToolResultError(msg), nil
		}
		return mcp.NewToolResultStructured(res, capText(res.Text(), opts.MaxResultBytes)), nil
	}
}

func capText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n[truncated: %d of %d bytes shown; narrow the request or follow next_cursor]", cut, len(s))
}
