package api

import (
	"net/http"
	"time"

	"github.com/pmops/pmops/internal/ratelimit"
)

// routeBucket is the one counter Postman's stricter limit shares: "Postman Monitors, as well as the GET
// /collections, GET /workspaces, and GET /workspaces/{id} endpoints have a rate limit of 10 calls in 10 seconds".
// The sentence does not say whether the ten are shared or per endpoint; sharing them is the reading that can
// never be exceeded.
const routeBucket = "postman-10-per-10s"

// RateRoutes are Postman's locally counted route limits, for the gate.
func RateRoutes() []ratelimit.Route {
	r := func(method, pattern string) ratelimit.Route {
		return ratelimit.Route{Method: method, Pattern: pattern, Limit: 10, Window: 10 * time.Second, Bucket: routeBucket}
	}
	return []ratelimit.Route{
		r(http.MethodGet, "/collections"),
		r(http.MethodGet, "/workspaces"),
		r(http.MethodGet, "/workspaces/{id}"),
		r("*", "/monitors*"),
	}
}

// CacheRules are the reads whose answers may be reused for a few seconds: identical concurrent reads share one
// request, and writes through the same client invalidate what they change. A monitor's lastRun can change on
// its schedule without a write from us, so it is kept only briefly.
func CacheRules() []ratelimit.CacheRule {
	return []ratelimit.CacheRule{
		{Pattern: "/monitors/{id}", TTL: 10 * time.Second, Coalesce: true},
		{Pattern: "/me", Coalesce: true},
		{Pattern: "/collections/{id}", Coalesce: true},
		{Pattern: "/environments/{id}", Coalesce: true},
	}
}

// gated returns the transport a Client sends through: the configured gate, a new gate with Postman's routes over
// cfg.Transport, or cfg.Transport itself when the gate is switched off.
func gated(cfg Config) http.RoundTripper {
	if cfg.NoGate {
		return cfg.Transport
	}
	if cfg.Gate != nil {
		return cfg.Gate
	}
	return ratelimit.New(cfg.Transport, ratelimit.Options{Routes: RateRoutes(), Cache: CacheRules(), Logger: cfg.Logger})
}

// RateBudget reports the live budget of the client's gate, at no API cost (zero without a gate).
func (c *Client) RateBudget() ratelimit.Snapshot {
	if c.gate == nil {
		return ratelimit.Snapshot{}
	}
	return c.gate.Snapshot()
}
