// Package notify posts Postman monitor results into the Slack channels that subscribed to them: every run once,
// never lost, never a flood, within the API quota. It also keeps each monitor's run history, which Postman's API
// does not (a monitor shows only its lastRun).
//
// # Where results come from
//
//   - Postman's monitor-result webhook, POSTed to HookPathPrefix+<token> (HookHandler). The token is a long
//     random secret compared in constant time (as SHA-256 digests, so its length does not leak either); bodies are
//     capped at MaxHookBody and validated against the documented schema (schema/, copied from
//     shared/postman-api), with camelCase and snake_case metrics both accepted. A monitor no subscription covers
//     is refused with 404 and a sentence saying what to do. An accepted body is stored (the inbox) before the 202
//     is written.
//   - The poller (Poll), for subscribed monitors without a working webhook (none within two schedule periods):
//     one GET /monitors/{id} per monitor when its next scheduled run is due, through the gate as background
//     traffic, fanned out through a bounded conc pool. The Planner spreads what is left of the month's quota (less
//     a reserve for people) over the rest of the month; when polling every schedule would cost more, every
//     interval is stretched by the same factor and each channel is told once. Postman's public API has no endpoint
//     for a past run's details (the executions endpoints are outside the published contract), so lastRun's numbers
//     are what polling knows.
//   - Runs pmops starts itself (run_monitor, explain_monitor_failure with rerun): tools.RunLog's observer hands
//     them to ObserveRun, with their failing requests and assertions.
//
// All three become one Event keyed by RunKey (monitor UID + the run's start time to the millisecond: what lastRun,
// a run report and the run's webhook share). The store records each key once.
//
// # Telling a webhook replay from the next run
//
// The documented webhook body carries no run ID and no time. We correlate each webhook with the monitor's lastRun
// rather than with its schedule: the schedule says when a run should have started, not whether this body is that
// run or a repeat of an earlier one, and manual runs fall outside it; lastRun names the run (its start time) and
// carries the same numbers as the webhook. The cost is one background-class call per webhook, served from the
// gate's 30-second cache when the run finished just before (a burst of replays costs one call per monitor and
// pass). The rules:
//
//   - lastRun's numbers (failed and total assertions, requests) equal the webhook's and it did not finish after
//     the webhook arrived: it is that run. From the cache this also requires that the run finished at most two
//     minutes before the webhook; otherwise the monitor is read again, fresh.
//   - A fresh read whose numbers differ: Postman may not show the run yet, or the webhook repeats an older run.
//     The webhook waits and is re-checked every 30 s for up to ten minutes; then, if a recorded run of the monitor
//     has the same numbers, it is a replay and is dropped, else it is recorded under a key made of its arrival
//     minute and its numbers.
//   - Known limit: when a webhook arrives after the following run has finished and both runs have identical
//     numbers, the two cannot be told apart; the webhook counts as the newer run (which is then not posted twice,
//     but the older run is missing from the history).
//
// # From a run to Slack
//
// A recorded run is fanned out (FanOut) in one store step per run: for every channel whose subscription covers the
// monitor (directly or through its workspace) the noise policy (all, failures, recoveries = Postman's "three
// failures then the first success") and the channel's mute decide, against the channel's streak, what to say;
// the new streak states and the outbox rows are committed together with the "fanned out" mark. The first failure
// of a streak is a new message (the thread parent); later failures reply in its thread; the recovery replies with
// reply_broadcast and the parent is rewritten to RECOVERED. Mutes suppress messages, never state.
//
// Delivery (Deliver) sends each channel's oldest open outbox row, at most one per ChannelInterval per channel.
// Every message carries its delivery key as Slack message metadata. An attempt is marked in the store before the
// call and closed with the message ts after it (a parent's ts is kept as its thread's); a row found still marked
// after a crash, or after an answer that may have come after Slack accepted the message (timeout, 5xx), is first
// looked up in the channel history (conversations.history / conversations.replies with include_all_metadata)
// by its key and only sent if absent. That needs the history scopes (channels:history, groups:history); without
// them the lookup fails and the message is sent again (logged). Slack's 429 holds the channel for Retry-After;
// 5xx and network errors back off exponentially (2 s to 10 min) while the row stays in the outbox;
// not_in_channel, channel_not_found and is_archived pause the channel's subscriptions, drop its queued rows and
// tell each subscriber once by DM.
//
// The crash test (crash_test.go) runs the notifier in a child process on a SQLite file and kills it with SIGKILL
// after each step (stored, recorded, fanned out, marked, posted, closed); a restart on the same file delivers each
// result exactly once per channel.
package notify
