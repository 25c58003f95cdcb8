// Package ratelimit is the one gate every request to a rate-limited HTTP API goes through: it mirrors the
// server's fixed-window budget from response headers, queues callers instead of letting them hit 429s, serves
// interactive traffic before background traffic, is fair between users, and fails fast when the monthly quota
// is spent. It knows HTTP headers, not the resources behind them.
package ratelimit
