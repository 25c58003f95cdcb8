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
// # Telling a webhook replay from the next run, without making anyone wait
//
// The documented webhook body carries no run ID and no time. Each stored webhook is first planned from the store
// alone (AcceptHooks, no Postman call):
//
//   - It arrives more than the replay horizon after the monitor's newest recorded run (half the schedule period,
//     at least two minutes): no scheduled run comes that soon, so this is the next run. It is recorded at once under
//     a provisional key (monitor + arrival minute + a hash of its metrics, so replays within the minute collapse)
//     and posted. One background-class read of the monitor's lastRun afterwards binds it: lastRun with the same
//     numbers, finished at most two minutes before the webhook arrived, is recorded as an alias of the provisional
//     run (kept for the history and its key, never posted). If Postman does not show it within ten minutes, the
//     run keeps its provisional key.
//   - It arrives within the horizon of the newest run, and a run of the last 15 minutes had the same numbers: it
//     may repeat that run (a replay, even of a run before the newest), or be a run started by hand. Nothing is
//     posted until a fresh lastRun read (made after the webhook arrived) says which: a run not recorded yet is new
//     and posted; a run already recorded is a replay once a second look 30 s later still shows it (Postman may not
//     show a run started by hand at once). While lastRun shows other numbers the webhook waits, re-checked every
//     30 s for up to ten minutes; then, if a recorded run has its numbers, it is dropped as a replay, else recorded
//     under its provisional key.
//
// Run correlates webhooks and polls in its own loop, apart from accepting, fanning out and delivering, so a gate
// wait in Postman's 10-per-10 s monitor bucket (20 monitors finishing at once) never holds a message back.
//
// A run key (from lastRun, polling or a pmops run) recorded after its webhook was posted is not posted again: at
// fan-out, a provisional run of the same monitor with the same numbers that arrived between a minute before and
// two minutes after the run finished, and is not bound to another run, stands for it (reportedBy). The history
// folds such pairs into one run (dedupeRuns). When that run key is a pmops run's report, its failing requests and
// assertions (which the webhook lacks) are added to the failure messages already posted, by chat.update.
//
// Known limits: a replay arriving later than the replay horizon after the monitor's newest run is posted as a new
// run (Postman's own retries come within seconds); two runs of one monitor finishing within two minutes with
// identical numbers, one known only by its webhook and the other only by lastRun, may count as one.
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
