// Package ratelimit is the one gate every request to a rate-limited HTTP API goes through: it mirrors the
// server's fixed-window budget from response headers, queues callers instead of letting them hit 429s, serves
// interactive traffic before background traffic, is fair between users, and fails fast when the monthly quota
// is spent. It knows HTTP headers, not the resources behind them: stricter route buckets and cache rules are
// configured by path pattern.
//
// # Use
//
// A Gate is an http.RoundTripper (New(next, Options{})); callers say who they are with WithTicket (class, user,
// cost). One Gate mirrors one API key's budget; requests with several keys through one Gate share it, which is
// safe but slow. Snapshot reports the budget at no API cost. Acquire serves callers that send requests some
// other way.
//
// # Accounting
//
// The gate keeps the current window's limit L, its end E (server clock), ours (the requests this process charged
// to the window, in-flight ones included, counted exactly) and foreign, everybody else's use: the maximum over
// this window's answers of (L − Remaining) − ours, where ours leaves out the requests that went out after the
// answered one (they were not counted yet when it arrived). A request may go while
//
//	avail = L − ours − foreign ≥ cost
//
// With a WindowStore the shared count of all replicas takes the place of ours (avail is also bounded by
// L − shared − non-store clients); while the store fails each process keeps to L/StoreReplicas (fail-safe). Every
// header family is read (X-RateLimit-*, RateLimit-*, the combined RateLimit: and RateLimit-Policy, Retry-After in
// all spellings, the *-Month quota headers). Only a sub-second epoch Reset is exact: a whole-second epoch may be
// floored, rounded or ceiled by the server and a whole-second delta is rounded too, so either is read as a window
// ending within a second of it (padded by a second for the probe, a second early for pacing). The roll narrows
// that: the window an answer first shows started no later than the answer left the server, and no earlier than
// the previous window's last counted request arrived, so its end lies within one window of both (with the
// window length from RateLimit-Policy); where the window starts at a key's first call, the probe's round trip
// bounds it. Answers of routes with their own bucket never teach the key's limit or window (they may carry the
// bucket's headers); their budget counts only when they show the key's limit. Until headers say otherwise the
// gate assumes 60 requests per 60 s, and a window that starts when the first answer without a Reset left the
// server; the first Reset an answer reports replaces that guess, charges and all.
//
// # Clock and probe
//
// Date is floored to the second and stamped while the request is at the server, so over the last 16 answers
// max(Date − receipt) is a lower bound of the server-minus-local offset and min(Date + 1 s − send) an upper
// bound. The window ends locally at E − lower + guard: late, never early. At that moment (and at cold start, and
// after a 429 block) exactly one request, the probe, goes; the queue opens when an answer shows the new window.
// Requests still in flight when the window rolls are charged to both windows until their answers say which one
// counted them. Background pacing, below, ends by E − upper − one way, so the last tokens still land in the
// window.
//
// # Priority and fairness
//
// Strict priority alone fails against a fixed window: background traffic drains the window the instant it opens
// and a person asking a second later waits a minute. Interactive requests take any token; background requests
// only tokens above the line
//
//	line(f) = max(L·(1−f) − B, R·(1−f), ⌈R/3⌉)   for f < 1, then 0
//
// where f is the elapsed fraction of the pacing span, B the background burst (5) and R the interactive reserve
// (15 % of L, or 1.5 × the interactive demand of recent windows if more, at most L/2). Background traffic thus
// runs at an even pace, leaves room for people at every moment, and still takes the whole window by its end. The
// floor ⌈R/3⌉ goes to background traffic as early as its queued and in-flight requests need to send it, one round
// trip per turn, before the span ends.
//
// Route buckets (Route: a stricter limit counted locally as a sliding window, such as Postman's 10 per 10 s over
// its monitor and list endpoints) keep a reserve too. A slot is held for the bucket's window; interactive requests
// take any free slot. Background requests leave R slots (Reserve, default ⌈0.3·Limit⌉, 3 of 10; raised to the
// interactive demand of recent windows, at most half the bucket) free for a person arriving within ReserveWithin
// (default min(Window/5, 2 s)): among the sends of the last window − ReserveWithin, every class counted, at most
// Limit − R, at an even pace of Limit − R per that span, two at once. Older slots come free within ReserveWithin,
// so background may borrow them: twenty monitor reads at once go out two at once and then one every 1.2 s; a
// person finds a slot at once or within 2 s, one beyond the reserve about a pace period later, and background
// alone still gets Limit − R per window − ReserveWithin. The reserve is shaped by time, not lent out when nobody
// has asked for a while: the first person after a quiet spell is the one who would wait a whole window.
//
// Within a class users are served round-robin (a 429 retry goes to the front). Round-robin alone does not help
// when tokens arrive in bursts, since a light user is not queued at the instant they appear, so each user also
// has a work-conserving sub-limit: an equal share ⌈L/n⌉ over the n users active in the class (queued, in flight,
// or seen in the last ActiveGap); beyond it a user may take a token only if what is left covers the other active
// users' unused shares, scaled by (1−f). PerUserLimit adds a hard cap.
//
// # 429s, quota, deadlines
//
// A 429 closes the whole gate until Retry-After (X-RateLimit-RetryAfter, RetryAfter; then the Reset; then one
// window), clamped to [1 s, MaxWait] plus the guard, then a probe reopens it. Idempotent requests (GET, HEAD,
// OPTIONS) are retried at the front of their queue up to MaxRetries times; others get *RateLimitedError. A 429 on
// a route-bucketed request closes only that bucket when the evidence says the main window had room (its headers
// describe another limit or show room, or, without headers, our own count does). Remaining-Month 0, or a 429 body
// naming a quota error (QuotaErrorNames), fails every queued and later call with ErrQuotaExhausted without sending;
// one request tests the quota every QuotaProbeInterval. A caller whose deadline falls before the earliest moment
// it could be sent gets *RateLimitedError{RetryAt} at once; a cancelled caller leaves the queue and gives back a
// grant it did not use.
//
// # Waiting, visibly
//
// WithWaitObserver reports a queued request's expected send time (WaitInfo: how many go before it, how long,
// why) when it starts to wait and whenever that changes; WithMaxWait fails a request at once, with
// *RateLimitedError, when its expected wait passes a bound; Gate.Estimate says what a new request would face.
// The estimate counts the queue ahead: interactive before background, round-robin between users, the rest of the
// current window and then whole windows of L less the other clients' share, background tokens on the pace line,
// route buckets (with their reserve for background requests), 429 blocks and the probe after a reset;
// Gate.EstimateRoute adds a path's route buckets to what Gate.Estimate says. Coalesced callers get the MaxWait check on entry but no
// observer calls (the shared request is not theirs alone).
//
// # Cache and coalescing
//
// Opt in per request (WithCache, WithCoalescing) or by path (Options.Cache). Identical concurrent GETs share one
// request that survives the cancellation of the caller who started it, and takes the priority of an interactive
// caller who joins it. Answers are cached for a TTL under the API key's hash, method, full URL and Accept; a
// write to /x/{id}/... drops cached paths under /x/{id} and the list /x.
//
// # Safety
//
// Headers are untrusted: garbage, negative and absurd values are dropped, a Reset in the past is ignored, waits
// are clamped to MaxWait, timers never re-arm closer than 10 ms, and a failed probe backs off.
package ratelimit
