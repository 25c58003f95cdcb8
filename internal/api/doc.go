// Package api is pmops' typed client for the Postman API (api.postman.com): the in-scope endpoints for the
// user, workspaces, collections (and their async-update tasks, and the requests, folders and saved responses
// inside them), environments, monitors, mocks (with create/update/delete and call logs), a workspace's global
// variables and webhooks.
// It knows the HTTP contract only: no MCP, Slack or tool concepts. Rate limiting lives below it, in the
// http.RoundTripper the caller passes as Config.Transport (the internal/ratelimit gate).
//
// Contract points it follows (shared/postman-api/openapi.yaml 1.45.0 and shared/notes/postman-api.md):
//
//   - Auth: the key goes only in the X-Api-Key header, never in a query string, error, log line or printout;
//     Client and Config redact it for every fmt verb, slog and JSON, and a key echoed in an error body is
//     replaced by [REDACTED]. Redirects to another host drop the header.
//   - Base URL: Config.BaseURL, else Config.Region ("us" → https://api.postman.com, "eu" →
//     https://api.eu.postman.com). A BaseURL that disagrees with an explicit Region is a configuration error
//     rather than a silent pick. Environment variables are read by cmd/*, not here.
//   - Bodies: JSON with Content-Type and Content-Length set (environments answer 411 without it) and GetBody
//     set, so a retrying transport can resend. Success is any 2xx; 202 is meaningful for PUT /collections
//     (Prefer: respond-async → task) and POST /monitors/{id}/run (still running → RunResult.Running).
//   - IDs: every /{resource}/{id} path accepts an ID or a UID ("<owner>-<uuid>"); ids are passed through as
//     given (the client cannot always build a UID), except that ReplaceCollection uses the document's own UID.
//     SplitUID, UID and PlainID convert. Owner is a string on collections, environments and mocks and a number
//     on monitors, as the API sends them.
//   - Creates (collections, environments, monitors, webhooks) always send ?workspace=: the spec marks it
//     required while its prose says the API falls back to the oldest personal workspace; this client refuses
//     an empty workspace instead of creating things somewhere unexpected.
//   - Pagination: three vendor styles (collections limit/offset + meta.total; workspaces cursor +
//     meta.nextCursor, returned only when limit is sent, so limit is always sent; monitors cursor, limit ≤ 25,
//     nextCursor "" or null at the end) behind one opaque cursor string, Page[T] and a bounded Pager[T].
//     A collections name search is not paged by the API, so it is one page.
//   - Errors: every non-2xx is an *Error parsed by the body's shape, never its Content-Type (the vendor labels
//     legacy bodies application/problem+json): {"error":{name,message,details}}, the same with a sibling
//     statusCode, {"error":"name","message"}, bare {name,message}, RFC 7807 problems whose detail is a string,
//     list or object, and non-JSON bodies such as an HTML 502. IsNotFound also accepts the not-found bodies
//     the spec files under 400 (GET /collections/{id}, GET /environments/{id}); clients in the wild see 404.
//     A 429 named serviceLimitExhausted, or one with *-RateLimit-Remaining-Month: 0, is the monthly quota:
//     errors.Is(err, ErrQuotaExhausted). RetryAfter reads Retry-After, X-RateLimit-RetryAfter, RetryAfter,
//     then (429 only) RateLimit-Reset / RateLimit reset= as seconds and X-RateLimit-Reset as epoch seconds
//     when it is one.
//   - Documents: the Collection v2.1 document round-trips losslessly (unknown keys in Extra, untouched known
//     keys re-emitted byte for byte), so GET → edit → PUT drops nothing. Where the format allows a string or
//     an object (request, url, description) both are read. Resource timestamps are time.Time; inside the
//     collection document they stay strings.
//   - Retries (RetryPolicy, retry.go): idempotent requests (GET, PUT, DELETE, the metadata PATCH of a collection;
//     not an async collection PUT) are tried up to 3 times on 502/503/504, connection resets and per-try
//     timeouts, each try through the gate, with capped jittered backoff, Retry-After as a floor, and never a try
//     that could not finish before the caller's deadline. Other writes are never resent: a failure after the
//     request was written, or a 5xx, is an *AmbiguousError (IsAmbiguous) saying it "may have happened; check
//     before retrying". Config.Timeout bounds each try; the caller's context bounds the whole call.
//   - Collection items (items.go) speak Postman's item model in the envelope {model_id, meta, data, revision};
//     the collection segment is sent as the plain ID, as the vendor's PUT notes demand.
//   - Vendor disagreements resolved here: GET /workspaces/{id} is read with or without its "workspace"
//     wrapper (one example lacks it) and with team or teamId; the minimal collection model's "events" and the
//     full model's "event" are both kept; GET /collection-updates-tasks/{id} is read bare or wrapped in
//     "task"; per-execution assertions and run failures stay raw JSON (never documented).
package api
