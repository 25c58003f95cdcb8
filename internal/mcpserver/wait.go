package mcpserver

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/pmops/pmops/internal/ratelimit"
)

// DefaultMaxWait bounds how long one call waits for rate budget: under the 60 s after which common MCP clients
// give up on a request, so a call that would wait longer says when to retry instead of timing out.
const DefaultMaxWait = 45 * time.Second

// waitNoticeEvery throttles wait notices to one a second per call.
const waitNoticeEvery = time.Second

// progress sends one tool call's progress notifications: the tool's own steps and, while the call waits for rate
// budget, why and for how long. The progress value only grows, as the spec requires, whichever kind is sent.
type progress struct {
	ctx   context.Context
	s     *server.MCPServer
	token mcp.ProgressToken

	mu       sync.Mutex
	value    float64
	total    int
	lastWait time.Time
}

// newProgress returns nil when the request carries no progress token.
func newProgress(ctx context.Context, s *server.MCPServer, req mcp.CallToolRequest) *progress {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	return &progress{ctx: ctx, s: s, token: req.Params.Meta.ProgressToken}
}

// step reports the tool's own progress (done of total, total ≤ 0 when unknown).
func (p *progress) step(done, total int, msg string) {
	p.mu.Lock()
	if total > 0 {
		p.total = total
	}
	v := math.Max(float64(done), p.value+0.001)
	p.value = v
	params := p.paramsLocked(v, msg)
	p.mu.Unlock()
	_ = p.s.SendNotificationToClient(p.ctx, "notifications/progress", params)
}

// wait reports a wait for rate budget, at most once a second.
func (p *progress) wait(info ratelimit.WaitInfo) {
	now := time.Now()
	p.mu.Lock()
	if !p.lastWait.IsZero() && now.Sub(p.lastWait) < waitNoticeEvery {
		p.mu.Unlock()
		return
	}
	p.lastWait = now
	p.value += 0.001
	params := p.paramsLocked(p.value, WaitMessage(info))
	p.mu.Unlock()
	_ = p.s.SendNotificationToClient(p.ctx, "notifications/progress", params)
}

func (p *progress) paramsLocked(v float64, msg string) map[string]any {
	params := map[string]any{"progressToken": p.token, "progress": v, "message": msg}
	if p.total > 0 && v <= float64(p.total) {
		params["total"] = p.total
	}
	return params
}

// WaitMessage says how long a call waits for rate budget and why, for people.
func WaitMessage(info ratelimit.WaitInfo) string {
	ahead := "next in line"
	switch {
	case info.Ahead == 1:
		ahead = "1 request ahead"
	case info.Ahead > 1:
		ahead = fmt.Sprintf("%d requests ahead", info.Ahead)
	}
	return fmt.Sprintf("waiting for Postman rate budget: %s, about %s (%s; expected to go at %s)",
		ahead, aboutDuration(info.Estimate), reasonWords(info.Reason), info.Until.UTC().Format("15:04:05 UTC"))
}

func aboutDuration(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	if s < 120 {
		return fmt.Sprintf("%d s", max(s, 1))
	}
	return fmt.Sprintf("%d min %d s", s/60, s%60)
}

func reasonWords(reason string) string {
	switch reason {
	case "window", "":
		return "rate window spent"
	case "route bucket":
		return "this endpoint's own limit spent"
	case "server 429":
		return "Postman answered 429"
	case "probe":
		return "learning the rate window"
	case "quota probe":
		return "checking the monthly quota"
	default:
		return reason
	}
}
