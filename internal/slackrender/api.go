// Package slackrender turns the tool layer's typed results into Slack Block Kit messages: status with emoji, key
// fields, "View in Postman" links, buttons, and Slack's limits enforced before anything is sent. Everything that
// came from Postman or from users is escaped, so no text can become a mention or a link.
//
// Rules every message obeys (Validate checks them, the tests check them against golden files and a fuzzer):
//   - Postman and user strings enter mrkdwn only through one escape (& < > → entities) and every mrkdwn object is
//     verbatim, so Slack neither parses nor auto-links them; plain_text objects carry them as they are. The only
//     control sequences in any message are links the renderer built (<https://…|label>, URL validated, label
//     escaped) and, in Done, one <@U…> mention of a validated Slack user ID.
//   - Message.Text, the notification fallback, is already escaped: send it with slack.MsgOptionText(m.Text, false).
//   - Secret environment values are masked again here, whatever the tool layer returned.
//   - Limits (see limits.go) hold for every message; what does not fit one message goes to Message.More behind a
//     "More" button.
//   - Answers are ephemeral by default (Message.InChannel false); Options.Shareable adds an explicit "Share to
//     channel" button whose Action carries the in-channel version of the message.
//
// "View in Postman" links are best-effort deep links built from UIDs: <web>/collection/<uid>,
// <web>/environment/<uid>, <web>/monitor/<uid> and <web>/workspace/<id>, with <web> = Options.WebURL
// (default https://go.postman.co). Postman's web app redirects these today; it documents no stable scheme.
package slackrender

import (
	"github.com/slack-go/slack"
)

// Message is what the bot sends: blocks plus the fallback text Slack shows in notifications.
type Message struct {
	Text   string
	Blocks []slack.Block
	// More is set when the result did not fit one message: the bot offers it behind a "more" button.
	More *Message
	// InChannel asks for a message everyone in the channel sees; false (the default) means ephemeral.
	InChannel bool
}

// ActionKind says what a button does when clicked.
type ActionKind string

const (
	// ActionPick runs Tool with Args: a candidate chosen after an ambiguous or unknown name.
	ActionPick ActionKind = "pick"
	// ActionMore shows the next page of a long answer (Message.More, or a tool call with a cursor).
	ActionMore ActionKind = "more"
	// ActionShare posts the answer to the channel for everyone.
	ActionShare ActionKind = "share"
	// ActionConfirm runs a write (Tool with Args) after the user confirmed it.
	ActionConfirm ActionKind = "confirm"
	// ActionCancel drops a pending write.
	ActionCancel ActionKind = "cancel"
)

// ActionIDPrefix starts every button's action_id: "pmops:<kind>" ("pmops:pick:<n>" for the n-th candidate).
// The button's value is the token Options.Token returned, which is what the bot acts on.
const ActionIDPrefix = "pmops:"

// Action is a button's meaning. The renderer never puts Args in a button: it asks Options.Token for an opaque,
// single-use token the bot stores, so a button value can neither be forged nor exceed Slack's limits.
type Action struct {
	Kind ActionKind
	Tool string
	Args map[string]any
	// Label is the button text.
	Label string
	// Message is what the button shows without calling a tool: the next page for ActionMore (when the renderer
	// paginated), or the in-channel version of the answer for ActionShare.
	Message *Message
	// Danger marks a destructive ActionConfirm: a red button behind a Block Kit confirmation dialog.
	Danger bool
	// Subject is the resolved name of what the action changes, for the "done" line (the renderer ignores it).
	Subject string
}

// Options carry what rendering needs from the bot.
type Options struct {
	// Token returns the opaque value for a button (≤ 2000 chars; the bot stores the Action behind it). A button
	// whose token is empty or too long is left out; with a nil Token no interactive button is rendered.
	Token func(Action) string
	// WebURL is the Postman web app root for "View in Postman" links (default https://go.postman.co).
	WebURL string
	// Shareable adds a "Share to channel" button to ephemeral answers.
	Shareable bool
	// NextPage, when set, returns the action that fetches the page after a list result's next_cursor (only the
	// bot knows the tool and arguments that produced the result); ok=false or a nil NextPage shows a note instead.
	NextPage func(cursor string) (next Action, ok bool)
	// Names maps IDs and UIDs the bot could name (a monitor's collection and environment, a fork's source) to
	// their names; a UID without a name here is shown as "(unknown …)" with its link, never as a bare UID.
	Names map[string]string
	// ConfirmNote, when set, is one more line under a confirmation (for example that it does not survive a
	// restart of the bot). Plain text, escaped here.
	ConfirmNote string
}
