// Package emulator is an in-memory stand-in for today's Postman API (api.postman.com, OpenAPI 1.45.0), written
// from the vendor's contract and not from our client: it must not import internal/api, so a misreading of the
// contract cannot cancel itself out. Use it in-process (it is an http.Handler; wrap it in httptest.NewServer) or
// through cmd/postman-emulator.
//
// # What it emulates
//
// The 25 in-scope operations of shared/postman-api/relevant-operations.resolved.json (see Operations): /me;
// workspaces (list with cursor pagination and filters, get with element lists); collections (list with
// limit/offset, create, get full or model=minimal, PUT full replace with `Prefer: respond-async` tasks and the
// 409 while one runs, PATCH, DELETE, the update-task poll); environments (CRUD and the JSON-Patch-like PATCH);
// monitors (list with cursor pagination, CRUD, pause/resume, run: synchronous, async=true, and the 202 "taking
// longer than expected"); mocks (list, get); POST /webhooks (a trigger-only monitor). Plus the 18 operations of
// collection-items-and-mocks-operations.resolved.json: requests, folders and saved responses inside a collection
// (items.go: they read and write the stored v2.1 document, so what they create is in GET /collections/{id} and
// vice versa; bodies are Postman's item model; PUTs act like PATCH; ?folderId= — or the ?folder= Postman's own
// MCP server sends — and a folder body's "folder" place new items), mock create/update/delete and call logs, and
// a workspace's global variables (replaced whole by PUT). Bodies mirror the vendor's
// examples: singular/plural envelopes, 200 for create/update/delete, owner as a string on collections and
// environments but an integer on monitors, UIDs "<ownerId>-<uuid>", timestamps "2006-01-02T15:04:05.000Z". Every
// /{resource}/{id} path takes the bare ID or the UID. Errors use the vendor's own two families (legacy
// {"error":{name,message,details?}} and problem+json) with the documented names and messages.
//
// Auth is the X-Api-Key header (any case), else the apikey query parameter. Each key is a User; a key sees only
// its own personal workspaces and its team's workspaces, and everything in them. Other teams' objects answer
// 404, never 403, so their existence does not leak.
//
// Rate limits are per key: a fixed window (default 300 per 60 s) aligned to the server epoch (or WindowOffset off
// it, or starting at the key's first call: WindowFromFirstCall), a stricter bucket
// (10 per 10 s) shared by GET /collections, GET /workspaces, GET /workspaces/{id} and every /monitors* route, and a
// calendar-month quota. Every response, 401/404/429 included, carries X-RateLimit-*, RateLimit-*, RateLimit,
// RateLimit-Policy, the *-Month headers and a Date from the server clock; a 429 adds Retry-After,
// X-RateLimit-RetryAfter and RetryAfter. A route-bucket 429 describes the route bucket in those headers;
// successful responses always describe the main window.
//
// Monitor runs are simulated deterministically (see runs.go): same seed, monitor and run number, same result.
// Active monitors run on their cron schedule as the clock passes nextRun; overdue runs execute lazily when a
// request arrives or Tick is called. After each finished run the documented monitor-result webhook is POSTed to
// Options.WebhookURL in the background.
//
// # Mock servers
//
// A mock answers at /mock/{mockId}/<path> on whatever address serves the emulator (no API key, no rate limit),
// from its collection's saved examples, matched by method and path as Postman's mocks do (mockserve.go lists the
// rules; x-mock-response-name, x-mock-response-id and x-mock-response-code select examples). Private mocks want
// the x-api-key of a user who can see them. Every call is logged for GET /mocks/{id}/call-logs. mockUrl is
// Options.PublicURL + "/mock/{mockId}" when PublicURL is set (the demo and cmd/postman-emulator set it to their
// listener), else the vendor's https://{mockId}.mock.pstmn.io. With PublicURL the demo seed also makes the
// "Payments API mock" public and points the staging environment's baseUrl at it; every request of the demo
// "Payments API" has a saved example, so Newman runs the collection offline with exactly one failing assertion
// (the "Get OAuth token" example is a 401).
//
// # Contract points that had to be guessed (notes/postman-api.md §11 and gaps)
//
//   - Not-found on GET /collections/{id} and GET /environments/{id} answers 404 (the spec files it under 400;
//     clients observe 404).
//   - ?workspace= is optional on creates (the description's word over `required: true`); absent means the
//     caller's oldest personal workspace. An unknown or foreign workspace on a create is a 403 problem "You do not
//     have access to this workspace.".
//   - Path IDs: ID and UID both accepted everywhere.
//   - 429 body: rateLimited / serviceLimitExhausted in the legacy object shape by default; Style429 switches to
//     the string-error shape or problem+json. The rateLimited message gives the retry time in epoch milliseconds,
//     like the only captured sample. X-RateLimit-Reset is epoch seconds, RateLimit-Reset delta seconds.
//   - Rejected requests (401, 429) consume nothing: 429s do not count against the monthly quota or the windows.
//     Faulted requests (see SetFault) were admitted, so they do count.
//   - The route bucket is one bucket shared by its routes (the spec's sentence could also mean one per route).
//   - Webhook metrics are camelCase by default (custom-webhooks doc), snake_case with WebhookSnakeCase.
//     user_name is the monitor owner's username.
//   - GET /workspaces/{id} always has the wrapper and uses `team` (with include=team), not the example's teamId.
//   - model=minimal uses `events` (as its example) while the full model uses `event`.
//   - run.failures[] items are untyped upstream; here {executionId, item{name}, name, message, assertion, at}.
//     async=true answers run.info with status "running" and no finishedAt; the run finishes after its simulated
//     duration. A paused or trigger-only monitor has no schedule.nextRun.
//   - GET /workspaces: meta is present only with ?limit=; at the last page it is {} (no nextCursor). GET /monitors
//     always has meta, with nextCursor "" at the end. Cursors are base64 offsets; undecodable ones are the
//     documented "Invalid cursor query parameter passed.".
//   - GET /monitors?active=false returns only paused monitors (as the vendor example shows); absent returns all.
//     An unknown 36-character ?workspace= is 404 "Workspace not found".
//   - Schedules more frequent than every 5 minutes are cronPatternNotAllowedError (the vendor rejects
//     "* * * * *"); an unknown time zone is invalidParamsError param schedule.timezone.
//   - Environment PATCH allows mixing operation types (the vendor's own "Remove and Add Variable" does); removing
//     /values/<n>/key ("Unshare") empties the value. Operations apply atomically.
//   - Unknown routes and wrong methods answer 404 {"error":{"name":"notFoundError","message":"Requested resource
//     not found"}}; the vendor's body for them is undocumented.
//   - Item endpoints: an unknown collection is 404 instanceNotFoundError; an unknown item 404 "We could not find
//     the <kind> you are looking for" (the request example's "instanceFoundError" name is taken as a typo); an
//     unknown parent folder or request on a create is the documented 400 of the same shape. revision counts all
//     item writes.
//   - Mocks created through the API are public unless private:true (the schema's default); the call-log cursor is
//     a base64 offset.
//   - Run reports mask secret variables ("********") when resolving {{variables}} into URLs and headers. GET
//     /environments/{id} returns secret-typed values as the API does; vault secrets (secret: true) show no value.
//
// # Behaviour that exists only for tests
//
// Options: Clock (a *clock.Fake moves windows, schedules and async work), ClockSkew, Latency, Style429,
// WebhookStyle, AsyncUpdateDelay, LongRunDelay, MaxBodyBytes. Methods: Advance and Tick (run due work), SetFault /
// ClearFault / ClearFaults (latency, 500, 502, 503, 504 with optional Retry-After, a dropped connection
// before or after the operation ran, a hang until the client gives up, 409; per route, per key, N times or until
// cleared), ForceLongRun, Requests / Stats / TotalRequests / MonthlyUsage, WaitWebhooks / WebhookDeliveries /
// SetWebhookURL, AddGeneratedCollection (benchmark-sized collections), UIDByName, DemoSecretValues. The demo
// seed's monitors carry a hidden run plan (which request fails or flakes); monitors created through the API have
// none, so their outcome follows from their collection: a request answers the status its own pm.test expects, or
// the NNN of a "/status/NNN" URL path, else 200.
//
// Not emulated: access_key (PMAT) collection reads, the monitor webhook's own trigger URL, specs, APIs, forks
// beyond the fork info, and the monitor-history endpoints outside the published spec.
package emulator
