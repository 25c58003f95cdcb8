// Package tools defines every pmops operation once: name, description, typed arguments, annotations, toolset,
// handler and typed result. The MCP server, the Slack bot and the CLI are thin adapters over this package; it
// imports neither mcp-go nor slack-go, and it talks to Postman only through internal/api.
package tools

import (
	"context"
	"time"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/ratelimit"
)

// Env is what a tool call needs from its adapter: the Postman client for the caller's key and what surrounds it.
type Env struct {
	Client *api.Client
	// Budget reports the live rate budget of the client's gate at no API cost; nil when unknown.
	Budget func() ratelimit.Snapshot
	// Progress reports progress of long calls (monitor runs, fan-outs); nil when the caller did not ask.
	Progress func(done, total int, message string)
	// Runs remembers monitor runs this process has seen, so a failure can be explained without re-running.
	Runs *RunLog
	// History is the notifier's record of past runs (monitor_history, explain_monitor_failure); nil when not kept.
	History RunHistory
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// CollectionRuns runs collections with Newman (run_collection); nil where the adapter offers no runs.
	CollectionRuns *CollectionRuns
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Env) progress(done, total int, msg string) {
	if e.Progress != nil {
		e.Progress(done, total, msg)
	}
}

// cached marks the reads that resolve names, so that a list fetched to find one resource is reused by the
// next call for a short while instead of costing another API call.
func cached(ctx context.Context) context.Context {
	return ratelimit.WithCache(ctx, 30*time.Second)
}
