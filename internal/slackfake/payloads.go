package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// SlashCommand is a user typing "/command text" in a channel.
type SlashCommand struct {
	Command   string // default "/postman"
	Text      string
	ChannelID string // ID or name
	UserID    string
}

// SlashCommandFields builds the fields Slack sends for a slash command (HTTP form body or Socket Mode
// payload), issuing a fresh response_url and trigger_id. The user must be a member of the channel, as
// only members can type there; the bot need not be.
func (s *Server) SlashCommandFields(cmd SlashCommand) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupChannelLocked(cmd.ChannelID)
	if ch == nil {
		return nil, fmt.Errorf("slash command in %q: channel not found", cmd.ChannelID)
	}
	u, ok := s.users[cmd.UserID]
	if !ok {
		return nil, fmt.Errorf("slash command by %q: user not found", cmd.UserID)
	}
	if !ch.members[u.ID] {
		return nil, fmt.Errorf("slash command by %s in %s: user is not a member of the channel", u.ID, ch.ID)
	}
	if cmd.Command == "" {
		cmd.Command = "/postman"
	}
	name := ch.Name
	if ch.isIM() {
		name = "directmessage"
	}
	fields := map[string]string{
		"token":                 s.opts.VerificationToken,
		"team_id":               s.opts.TeamID,
		"team_domain":           s.opts.TeamDomain,
		"channel_id":            ch.ID,
		"channel_name":          name,
		"user_id":               u.ID,
		"user_name":             u.Name,
		"command":               cmd.Command,
		"text":                  cmd.Text,
		"api_app_id":            s.opts.AppID,
		"is_enterprise_install": "false",
		"response_url":          s.newResponseURLLocked(ch.ID, u.ID, nil),
		"trigger_id":            s.newTriggerLocked(u.ID),
	}
	if s.opts.EnterpriseID != "" {
		fields["enterprise_id"] = s.opts.EnterpriseID
	}
	return fields, nil
}

// SlashCommandForm is SlashCommandFields as the application/x-www-form-urlencoded body Slack POSTs.
func (s *Server) SlashCommandForm(cmd SlashCommand) (url.Values, error) {
	fields, err := s.SlashCommandFields(cmd)
	if err != nil {
		return nil, err
	}
	form := url.Values{}
	for k, v := range fields {
		form.Set(k, v)
	}
	return form, nil
}

// PushSlashCommand delivers a slash command over Socket Mode (accepts_response_payload: true).
func (s *Server) PushSlashCommand(ctx context.Context, cmd SlashCommand) (Envelope, error) {
	fields, err := s.SlashCommandFields(cmd)
	if err != nil {
		return Envelope{}, err
	}
	return s.PushEnvelope(ctx, EnvelopeSlashCommands, fields, true)
}

// PushInteractive delivers an interaction payload (BlockActionPayload, ViewSubmissionPayload, …) over
// Socket Mode. As in Slack, only view_submission envelopes accept a response payload.
func (s *Server) PushInteractive(ctx context.Context, payload map[string]any) (Envelope, error) {
	return s.PushEnvelope(ctx, EnvelopeInteractive, payload, payload["type"] == "view_submission")
}

// PushEvent wraps an Events API event (e.g. {"type":"app_mention",…}) in an event_callback and delivers
// it over Socket Mode.
func (s *Server) PushEvent(ctx context.Context, event map[string]any) (Envelope, error) {
	return s.PushEnvelope(ctx, EnvelopeEventsAPI, s.EventCallback(event), false)
}

// EventCallback wraps an event the way the Events API delivers it.
func (s *Server) EventCallback(event map[string]any) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	return map[string]any{
		"token":      s.opts.VerificationToken,
		"team_id":    s.opts.TeamID,
		"api_app_id": s.opts.AppID,
		"event":      event,
		"type":       "event_callback",
		"event_id":   s.nextID("Ev"),
		"event_time": now.Unix(),
		"authorizations": []any{map[string]any{
			"enterprise_id": nil, "team_id": s.opts.TeamID, "user_id": s.opts.BotUserID, "is_bot": true,
			"is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
	}
}

func (s *Server) userJSON(u User) map[string]any {
	return map[string]any{"id": u.ID, "username": u.Name, "name": u.Name, "team_id": s.opts.TeamID}
}

func (s *Server) interactionBase(kind string, u User) map[string]any {
	return map[string]any{
		"type":                  kind,
		"user":                  s.userJSON(u),
		"api_app_id":            s.opts.AppID,
		"token":                 s.opts.VerificationToken,
		"team":                  map[string]any{"id": s.opts.TeamID, "domain": s.opts.TeamDomain},
		"enterprise":            nil,
		"is_enterprise_install": false,
	}
}

// Click is a user using an interactive element of a message the bot posted (channel or ephemeral).
type Click struct {
	Channel   string
	MessageTS string
	User      string
	ActionID  string
	// Value picks the option (by value) of a select, overflow, radio or checkbox element, the user or
	// conversation of a *_select, the date/time of a picker. Ignored for buttons (their own value is sent).
	Value string
}

// BlockActionPayload builds the block_actions payload Slack sends when c.User clicks the element with
// c.ActionID in a message the fake recorded: the element must exist in the message's blocks; the payload
// carries its block_id/value, a fresh trigger_id and a response_url whose original is that message.
func (s *Server) BlockActionPayload(c Click) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupChannelLocked(c.Channel)
	if ch == nil {
		return nil, fmt.Errorf("block action in %q: channel not found", c.Channel)
	}
	u, ok := s.users[c.User]
	if !ok {
		return nil, fmt.Errorf("block action by %q: user not found", c.User)
	}
	var (
		blocks   json.RawMessage
		orig     *msgRef
		msg      *message
		threadTS string
	)
	if m := ch.byTS[c.MessageTS]; m != nil && !m.Deleted {
		if !ch.members[u.ID] && (ch.Private || ch.isIM()) {
			return nil, fmt.Errorf("block action by %s: cannot see %s", u.ID, ch.ID)
		}
		blocks, orig, msg = m.Blocks, &msgRef{channel: ch.ID, ts: m.TS}, m
		if m.IsReply() {
			threadTS = m.ThreadTS
		}
	} else {
		for i := len(s.ephemerals) - 1; i >= 0; i-- {
			e := s.ephemerals[i]
			if e.Channel == ch.ID && e.TS == c.MessageTS && !e.Replaced && !e.Deleted {
				if e.User != u.ID {
					return nil, fmt.Errorf("block action by %s: ephemeral %s is shown to %s only", u.ID, e.TS, e.User)
				}
				blocks, orig = e.Blocks, &msgRef{channel: ch.ID, ts: e.TS, ephemeral: e}
				break
			}
		}
	}
	if orig == nil {
		return nil, fmt.Errorf("block action in %s: no message %s", ch.ID, c.MessageTS)
	}
	blockID, el, err := findElement(blocks, c.ActionID)
	if err != nil {
		return nil, fmt.Errorf("block action on message %s: %w", c.MessageTS, err)
	}
	action, err := actionFor(el, blockID, c.Value)
	if err != nil {
		return nil, fmt.Errorf("block action %s: %w", c.ActionID, err)
	}
	action["action_ts"] = formatTS(s.clock.Now().UnixMicro())

	p := s.interactionBase("block_actions", u)
	container := map[string]any{
		"type": "message", "message_ts": c.MessageTS, "channel_id": ch.ID, "is_ephemeral": orig.ephemeral != nil,
	}
	if threadTS != "" {
		container["thread_ts"] = threadTS
	}
	p["container"] = container
	p["channel"] = map[string]any{"id": ch.ID, "name": ch.Name}
	if msg != nil {
		p["message"] = s.messageJSON(ch, msg)
	}
	p["state"] = map[string]any{"values": map[string]any{}}
	p["trigger_id"] = s.newTriggerLocked(u.ID)
	p["response_url"] = s.newResponseURLLocked(ch.ID, u.ID, orig)
	p["actions"] = []any{action}
	return p, nil
}

// findElement finds the interactive element with actionID in actions/section/input blocks.
func findElement(blocks json.RawMessage, actionID string) (string, map[string]any, error) {
	var list []map[string]any
	if len(blocks) == 0 || json.Unmarshal(blocks, &list) != nil {
		return "", nil, fmt.Errorf("message has no blocks")
	}
	for _, b := range list {
		blockID, _ := b["block_id"].(string)
		var candidates []any
		if els, ok := b["elements"].([]any); ok && b["type"] == "actions" {
			candidates = els
		}
		if acc, ok := b["accessory"]; ok {
			candidates = append(candidates, acc)
		}
		if el, ok := b["element"]; ok {
			candidates = append(candidates, el)
		}
		for _, c := range candidates {
			if m, ok := c.(map[string]any); ok && m["action_id"] == actionID {
				return blockID, m, nil
			}
		}
	}
	return "", nil, fmt.Errorf("no element with action_id %q", actionID)
}

func findOption(el map[string]any, value string) (map[string]any, bool) {
	var opts []any
	if o, ok := el["options"].([]any); ok {
		opts = o
	}
	if groups, ok := el["option_groups"].([]any); ok {
		for _, g := range groups {
			if gm, ok := g.(map[string]any); ok {
				if o, ok := gm["options"].([]any); ok {
					opts = append(opts, o...)
				}
			}
		}
	}
	for _, o := range opts {
		if om, ok := o.(map[string]any); ok && om["value"] == value {
			return om, true
		}
	}
	return nil, false
}

// stateValue builds the value object Slack reports for an element (in actions and in view state).
func stateValue(el map[string]any, value string) (map[string]any, error) {
	typ, _ := el["type"].(string)
	out := map[string]any{"type": typ}
	pick := func() (map[string]any, error) {
		o, ok := findOption(el, value)
		if !ok {
			return nil, fmt.Errorf("%s has no option with value %q", typ, value)
		}
		return o, nil
	}
	switch typ {
	case "static_select", "radio_buttons", "overflow", "external_select":
		if typ == "external_select" {
			out["selected_option"] = map[string]any{"text": map[string]any{"type": "plain_text", "text": value}, "value": value}
			break
		}
		o, err := pick()
		if err != nil {
			return nil, err
		}
		out["selected_option"] = o
	case "checkboxes", "multi_static_select":
		var sel []any
		for v := range strings.SplitSeq(value, ",") {
			if v == "" {
				continue
			}
			o, ok := findOption(el, v)
			if !ok {
				return nil, fmt.Errorf("%s has no option with value %q", typ, v)
			}
			sel = append(sel, o)
		}
		out["selected_options"] = sel
	case "users_select":
		out["selected_user"] = value
	case "conversations_select":
		out["selected_conversation"] = value
	case "channels_select":
		out["selected_channel"] = value
	case "multi_users_select":
		out["selected_users"] = splitNonEmpty(value)
	case "multi_conversations_select":
		out["selected_conversations"] = splitNonEmpty(value)
	case "multi_channels_select":
		out["selected_channels"] = splitNonEmpty(value)
	case "datepicker":
		out["selected_date"] = value
	case "timepicker":
		out["selected_time"] = value
	default: // plain_text_input, email/url/number inputs, …
		out["value"] = value
	}
	return out, nil
}

func splitNonEmpty(s string) []string {
	return slices.DeleteFunc(strings.Split(s, ","), func(v string) bool { return v == "" })
}

func actionFor(el map[string]any, blockID, value string) (map[string]any, error) {
	typ, _ := el["type"].(string)
	var action map[string]any
	if typ == "button" || typ == "workflow_button" {
		action = map[string]any{"type": typ}
		for _, k := range []string{"text", "value", "style", "url"} {
			if v, ok := el[k]; ok {
				action[k] = v
			}
		}
	} else {
		var err error
		if action, err = stateValue(el, value); err != nil {
			return nil, err
		}
	}
	action["action_id"] = el["action_id"]
	action["block_id"] = blockID
	return action, nil
}

// ViewSubmissionPayload builds the view_submission payload for user submitting view viewID with values
// (block_id → action_id → value; comma-separated for multi-selects and checkboxes). Every value must
// name an input element of the view, and every non-optional input must be filled, as the Slack client
// enforces.
func (s *Server) ViewSubmissionPayload(viewID, user string, values map[string]map[string]string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, u, err := s.viewForUserLocked(viewID, user)
	if err != nil {
		return nil, fmt.Errorf("view submission: %w", err)
	}
	var blocks []map[string]any
	_ = json.Unmarshal(v.Blocks, &blocks)
	state := map[string]any{}
	used := 0
	for _, b := range blocks {
		if b["type"] != "input" {
			continue
		}
		blockID, _ := b["block_id"].(string)
		el, _ := b["element"].(map[string]any)
		actionID, _ := el["action_id"].(string)
		val, given := values[blockID][actionID]
		optional, _ := b["optional"].(bool)
		if !given || val == "" {
			if !optional {
				return nil, fmt.Errorf("view submission: required input %s/%s is empty", blockID, actionID)
			}
			state[blockID] = map[string]any{actionID: map[string]any{"type": el["type"], "value": nil}}
			continue
		}
		used++
		sv, err := stateValue(el, val)
		if err != nil {
			return nil, fmt.Errorf("view submission %s/%s: %w", blockID, actionID, err)
		}
		state[blockID] = map[string]any{actionID: sv}
	}
	given := 0
	for _, acts := range values {
		given += len(acts)
	}
	if used != given {
		return nil, fmt.Errorf("view submission: values name inputs that are not in view %s", viewID)
	}
	view := map[string]any{}
	for k, val := range v.obj {
		view[k] = val
	}
	view["state"] = map[string]any{"values": state}
	p := s.interactionBase("view_submission", u)
	p["trigger_id"] = s.newTriggerLocked(u.ID)
	p["view"] = view
	p["response_urls"] = []any{}
	return p, nil
}

// ViewClosedPayload builds the view_closed payload. Slack sends it only for views opened with
// notify_on_close: true, so the fake refuses otherwise.
func (s *Server) ViewClosedPayload(viewID, user string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, u, err := s.viewForUserLocked(viewID, user)
	if err != nil {
		return nil, fmt.Errorf("view closed: %w", err)
	}
	if notify, _ := v.obj["notify_on_close"].(bool); !notify {
		return nil, fmt.Errorf("view closed: view %s was not opened with notify_on_close, Slack sends no view_closed", viewID)
	}
	p := s.interactionBase("view_closed", u)
	p["view"] = v.obj
	p["is_cleared"] = false
	return p, nil
}

func (s *Server) viewForUserLocked(viewID, user string) (*viewState, User, error) {
	v := s.views[viewID]
	if v == nil {
		return nil, User{}, fmt.Errorf("no view %s", viewID)
	}
	u, ok := s.users[user]
	if !ok {
		return nil, User{}, fmt.Errorf("user %q not found", user)
	}
	if v.User != user {
		return nil, User{}, fmt.Errorf("view %s belongs to %s, not %s", viewID, v.User, user)
	}
	return v, u, nil
}
