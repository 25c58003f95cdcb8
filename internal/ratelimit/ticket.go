package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Class orders traffic that shares one key's budget.
type Class uint8

const (
	// Interactive is a person or an assistant waiting for the answer: MCP tool calls, Slack commands.
	Interactive Class = iota
	// Background is work nobody is waiting on: monitor polling, fan-outs, cache warming.
	Background
)

func (c Class) String() string {
	switch c {
	case Interactive:
		return "interactive"
	case Background:
		return "background"
	default:
		return fmt.Sprintf("class(%d)", uint8(c))
	}
}

// Ticket says who a request is for. The gate queues, orders and sub-limits by it.
type Ticket struct {
	Class Class
	// User identifies the person or session (Slack user ID, MCP session ID). Empty is one anonymous user.
	User string
	// Cost is how many requests of the window this call spends; 0 means 1.
	Cost int
}

type ticketKey struct{}

// WithTicket attaches t to ctx; requests sent with that context are accounted to it.
func WithTicket(ctx context.Context, t Ticket) context.Context {
	return context.WithValue(ctx, ticketKey{}, t)
}

// TicketFrom returns the ticket attached to ctx, or an interactive ticket for an anonymous user.
func TicketFrom(ctx context.Context) Ticket {
	if t, ok := ctx.Value(ticketKey{}).(Ticket); ok {
		return t
	}
	return Ticket{Class: Interactive}
}

// ErrQuotaExhausted means the key's monthly API quota is spent. It is never retried: nothing will succeed
// until the quota resets or the plan changes.
var ErrQuotaExhausted = errors.New("monthly Postman API quota exhausted; ask your Postman team admin to raise the limit or wait for the monthly reset")

// RateLimitedError means the request was not sent (or was refused) because the key's rate budget is spent and the
// caller's deadline falls before the earliest moment it could go out.
type RateLimitedError struct {
	// RetryAt is the earliest time a retry can succeed.
	RetryAt time.Time
	// Reason says what is spent ("window", "route bucket", "server 429").
	Reason string
}

func (e *RateLimitedError) Error() string {
	reason := e.Reason
	if reason == "" {
		reason = "rate limit"
	}
	return fmt.Sprintf("rate limited (%s) until %s; retry then", reason, e.RetryAt.UTC().Format("15:04:05 UTC"))
}
