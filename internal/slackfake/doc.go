// Package slackfake is an in-process stand-in for Slack, used by the Slack bot's tests and benchmarks. It is
// an independent implementation of Slack's documented dialects (it imports no other pmops package except
// internal/clock), so a bot bug cannot be cancelled out by a matching fake bug.
//
// Point slack-go at it with slack.New(fake.BotToken(), slack.OptionAPIURL(fake.APIURL()),
// slack.OptionAppLevelToken(fake.AppToken())); its socketmode client then connects to the fake's Socket Mode
// server through apps.connections.open.
//
// What it emulates, and which Slack documentation each behaviour follows:
//
//   - Web API at URL()/api/<method> (docs.slack.dev/apis/web-api): form-encoded, multipart or JSON bodies;
//     token as "Authorization: Bearer" or a "token" form field (JSON bodies: header only); not_authed,
//     invalid_auth, not_allowed_token_type (xapp- vs xoxb-), missing_scope (with needed/provided),
//     unknown_method; X-OAuth-Scopes header; "missing_charset" warning for JSON without charset. Methods:
//     auth.test, chat.postMessage, chat.update, chat.delete, chat.postEphemeral, views.open, views.push,
//     views.update, conversations.info, conversations.join, users.info, apps.connections.open. Error codes
//     are those of each method's reference page (channel_not_found, not_in_channel, is_archived, no_text,
//     msg_too_long, invalid_blocks, invalid_blocks_format, too_many_attachments, message_not_found,
//     cant_update_message, cant_delete_message, user_not_found, user_not_in_channel, invalid_trigger_id,
//     exchanged_trigger_id, expired_trigger_id, view_too_large, duplicate_external_id, hash_conflict,
//     push_limit_reached, method_not_supported_for_channel_type, already_in_channel warning).
//   - Membership: the bot posts only where it is a member, or in public channels with chat:write.public;
//     private conversations it is not in answer channel_not_found; chat.postEphemeral needs both the bot
//     and the target user in the channel.
//   - Timestamps: "<unix sec>.<6-digit micro>" from the injectable clock, strictly increasing per channel
//     even when the clock stands still.
//   - Threads: thread_ts attaches a reply to its parent (a reply's ts resolves to its parent, as Slack
//     does); the parent gets thread_ts, reply_count, reply_users, latest_reply; reply_broadcast replies also
//     show in the channel history (subtype thread_broadcast).
//   - Block Kit (docs.slack.dev/reference/block-kit): ValidateBlocks/ValidateView check block types per
//     surface, 50 blocks per message / 100 per modal, text object types and lengths, section 3000 and
//     fields 10×2000, header 150, context 10, actions 25, buttons (text 75, value 2000, url 3000, style),
//     confirm dialogs, selects/overflow/checkbox/radio options, input blocks, unique block_id (≤255) and
//     action_id (≤255), the 12,000-character markdown cap, modal title/submit/close 24, private_metadata
//     3000, callback_id 255, submit required with inputs, 250 KB views. Failures answer invalid_blocks (or
//     invalid_arguments for views) before anything is accepted, with Slack's
//     "must be less than 3001 characters [json-pointer:/blocks/0/text/text]" errors and "[ERROR] …"
//     response_metadata.messages.
//   - trigger_id: issued by the fake (NewTriggerID, slash commands, interactions), single use, valid 3 s
//     on the fake clock.
//   - response_url (docs.slack.dev/interactivity/handling-user-interaction): 5 uses within 30 minutes on
//     the fake clock; response_type ephemeral (default) or in_channel, replace_original, delete_original,
//     thread_ts. See responseurl.go for the failure answers (Slack does not document the body).
//   - Faults: 429 + Retry-After (body ratelimited), ok:false codes, 5xx, latency, per method; optional
//     per-channel chat.postMessage limit (ChannelRate) on the fake clock.
//   - Signing (docs.slack.dev/authentication/verifying-requests-from-slack): Sign, SignedRequest, realistic
//     slash-command forms and block_actions / view_submission / view_closed payloads, and Deliver, which
//     POSTs them signed to the bot and applies the bot's answer the way Slack does.
//   - Socket Mode (docs.slack.dev/apis/events-api/using-socket-mode; see socket.go): hello, envelopes,
//     acks with latency, double-ack detection, the 20 KB ack limit, re-delivery with retry_attempt+1,
//     disconnect frames, server PINGs; faults: dropped connections (DropSocketConnections) and refused
//     WebSocket connects (RefuseSocketDials); apps.connections.open takes the Web API faults above.
//
// Deliberately not modelled: message history/replies read methods, files, reactions, pins, scheduled
// messages, attachments' inner schema, unfurling, mrkdwn rendering, Slack's undocumented aggregate
// msg_blocks_too_long cap, unknown-property rejection inside blocks, workspace-wide rate caps and tiers
// (inject faults instead), Enterprise Grid, token rotation, the Events API's HTTP retry schedule, Home tabs
// (views.publish). Message text over 40,000 characters is rejected with msg_too_long (the docs also speak
// of truncation; rejecting makes the overflow visible in tests).
package slackfake
