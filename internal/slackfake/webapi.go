package slackfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const maxRequestBytes = 10 << 20

type apiRequest struct {
	method      string
	args        map[string]string
	contentType string
	token       string
	tokenKind   string
	warnings    []string
}

type apiResponse struct {
	status     int
	retryAfter int            // seconds, for 429
	body       map[string]any // JSON body; nil for HTML 5xx
	injected   bool
}

func okResp(fields map[string]any) apiResponse {
	body := map[string]any{"ok": true}
	maps.Copy(body, fields)
	return apiResponse{status: http.StatusOK, body: body}
}

func errResp(code string) apiResponse {
	return apiResponse{status: http.StatusOK, body: map[string]any{"ok": false, "error": code}}
}

// blockErrResp answers the way Slack reports schema failures: the code, an "errors" list of
// "<message> [json-pointer:<ptr>]" strings and the same lines prefixed "[ERROR] " in
// response_metadata.messages.
func blockErrResp(code string, errs []BlockError) apiResponse {
	resp := errResp(code)
	list := make([]string, 0, len(errs))
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		list = append(list, e.String())
		msgs = append(msgs, "[ERROR] "+e.String())
	}
	resp.body["errors"] = list
	resp.body["response_metadata"] = map[string]any{"messages": msgs}
	return resp
}

type methodSpec struct {
	scope  string // bot scope the method needs ("" for none)
	handle func(s *Server, r *apiRequest) apiResponse
}

var methods = map[string]methodSpec{
	"auth.test":             {handle: (*Server).authTest},
	"chat.postMessage":      {scope: "chat:write", handle: (*Server).chatPostMessage},
	"chat.update":           {scope: "chat:write", handle: (*Server).chatUpdate},
	"chat.delete":           {scope: "chat:write", handle: (*Server).chatDelete},
	"chat.postEphemeral":    {scope: "chat:write", handle: (*Server).chatPostEphemeral},
	"views.open":            {handle: (*Server).viewsOpen},
	"views.push":            {handle: (*Server).viewsPush},
	"views.update":          {handle: (*Server).viewsUpdate},
	"conversations.info":    {scope: "channels:read", handle: (*Server).conversationsInfo},
	"conversations.join":    {scope: "channels:join", handle: (*Server).conversationsJoin},
	"users.info":            {scope: "users:read", handle: (*Server).usersInfo},
	"apps.connections.open": {handle: (*Server).appsConnectionsOpen},
}

func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	req, parseErr := parseAPIRequest(r)
	req.tokenKind = s.tokenKind(req.token)

	s.mu.Lock()
	resp, fault := s.preflightLocked(req, parseErr)
	s.mu.Unlock()

	if fault != nil && fault.Latency > 0 {
		select {
		case <-time.After(fault.Latency):
		case <-r.Context().Done():
			return
		}
	}

	s.mu.Lock()
	if resp == nil {
		switch {
		case fault != nil && (fault.Status != 0 || fault.RetryAfter > 0 || fault.Error != ""):
			resp = faultResponse(fault)
		default:
			resp = s.dispatchLocked(req)
		}
	}
	s.recordCallLocked(req, *resp)
	s.mu.Unlock()

	writeAPIResponse(w, *resp, s.scopeHeader(req))
}

// preflightLocked answers what Slack answers before running a method (unknown method, bad request, auth,
// scopes) and picks an injected fault.
func (s *Server) preflightLocked(req *apiRequest, parseErr string) (*apiResponse, *Fault) {
	spec, known := methods[req.method]
	var resp apiResponse
	switch {
	case !known:
		resp = errResp("unknown_method")
		resp.body["req_method"] = req.method
	case parseErr != "":
		resp = errResp(parseErr)
	case req.tokenKind == "none":
		resp = errResp("not_authed")
	case req.tokenKind == "invalid":
		resp = errResp("invalid_auth")
	case (req.method == "apps.connections.open") != (req.tokenKind == "app"):
		resp = errResp("not_allowed_token_type")
	case spec.scope != "" && !s.hasScope(spec.scope):
		resp = errResp("missing_scope")
		resp.body["needed"] = spec.scope
		resp.body["provided"] = strings.Join(s.opts.Scopes, ",")
	default:
		return nil, s.takeFaultLocked(req.method)
	}
	return &resp, nil
}

func (s *Server) dispatchLocked(req *apiRequest) *apiResponse {
	resp := methods[req.method].handle(s, req)
	if len(req.warnings) > 0 && resp.body != nil {
		resp.body["warning"] = strings.Join(req.warnings, ",")
		meta, _ := resp.body["response_metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
		}
		meta["warnings"] = req.warnings
		resp.body["response_metadata"] = meta
	}
	return &resp
}

func faultResponse(f *Fault) *apiResponse {
	switch {
	case f.Status == http.StatusTooManyRequests || (f.Status == 0 && f.RetryAfter > 0):
		r := errResp("ratelimited")
		r.status = http.StatusTooManyRequests
		r.retryAfter = retryAfterSeconds(f.RetryAfter)
		r.injected = true
		return &r
	case f.Status >= 500:
		return &apiResponse{status: f.Status, injected: true}
	default:
		code := f.Error
		if code == "" {
			code = "fatal_error"
		}
		r := errResp(code)
		if f.Status != 0 {
			r.status = f.Status
		}
		r.injected = true
		return &r
	}
}

func (s *Server) scopeHeader(req *apiRequest) string {
	if req.tokenKind != "bot" {
		return ""
	}
	return strings.Join(s.opts.Scopes, ",")
}

func writeAPIResponse(w http.ResponseWriter, resp apiResponse, scopes string) {
	if scopes != "" {
		w.Header().Set("X-OAuth-Scopes", scopes)
	}
	if resp.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(resp.retryAfter))
	}
	if resp.body == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(resp.status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", resp.status, http.StatusText(resp.status))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(resp.status)
	_ = json.NewEncoder(w).Encode(resp.body)
}

func (s *Server) recordCallLocked(req *apiRequest, resp apiResponse) {
	s.callSeq++
	c := Call{
		Seq:         s.callSeq,
		Method:      req.method,
		Args:        req.args,
		TokenKind:   req.tokenKind,
		ContentType: req.contentType,
		At:          s.clock.Now(),
		Status:      resp.status,
		Injected:    resp.injected,
	}
	if resp.body != nil {
		c.OK, _ = resp.body["ok"].(bool)
		c.Error, _ = resp.body["error"].(string)
		c.Response, _ = json.Marshal(resp.body)
	} else {
		c.Error = fmt.Sprintf("http_%d", resp.status)
	}
	s.calls = append(s.calls, c)
	s.notifyLocked()
}

func (s *Server) tokenKind(tok string) string {
	switch {
	case tok == "":
		return "none"
	case slices.Contains(s.opts.BotTokens, tok):
		return "bot"
	case tok == s.opts.AppToken:
		return "app"
	default:
		return "invalid"
	}
}

// parseAPIRequest reads arguments the ways Slack accepts them: query string, form (urlencoded or
// multipart) or a JSON object. JSON bodies must carry the token in the Authorization header; forms may
// also use a "token" field. The second result is a Slack error code for a malformed request.
func parseAPIRequest(r *http.Request) (*apiRequest, string) {
	req := &apiRequest{method: strings.TrimPrefix(r.URL.Path, "/api/"), args: map[string]string{}}
	for k, v := range r.URL.Query() {
		req.args[k] = v[0]
	}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		req.token = strings.TrimSpace(strings.TrimPrefix(auth, "Bearer "))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		return req, "request_timeout"
	}
	ct := r.Header.Get("Content-Type")
	mediaType, params, _ := mime.ParseMediaType(ct)
	req.contentType = mediaType
	switch {
	case len(bytes.TrimSpace(body)) == 0 && mediaType != "application/json":
	case mediaType == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return req, "invalid_form_data"
		}
		for k, v := range vals {
			req.args[k] = v[0]
		}
	case mediaType == "multipart/form-data":
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseMultipartForm(maxRequestBytes); err != nil {
			return req, "invalid_form_data"
		}
		for k, v := range r.MultipartForm.Value {
			req.args[k] = v[0]
		}
	case mediaType == "application/json":
		if params["charset"] == "" {
			req.warnings = append(req.warnings, "missing_charset")
		}
		if len(bytes.TrimSpace(body)) == 0 {
			break
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			return req, "invalid_json"
		}
		for k, raw := range obj {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				req.args[k] = str
			} else if string(raw) != "null" {
				req.args[k] = string(raw)
			}
		}
		// Slack ignores a token inside a JSON body; it must come in the Authorization header.
		delete(req.args, "token")
		return req, ""
	case ct == "":
		return req, "missing_post_type"
	default:
		return req, "invalid_post_type"
	}
	if req.token == "" {
		req.token = req.args["token"]
	}
	delete(req.args, "token")
	return req, ""
}

func truthy(v string) bool { return v == "true" || v == "1" }

// ---- auth / conversations / users ----

func (s *Server) authTest(*apiRequest) apiResponse {
	fields := map[string]any{
		"url":                   "https://" + s.opts.TeamDomain + ".slack.com/",
		"team":                  s.opts.TeamName,
		"user":                  s.opts.BotUserName,
		"team_id":               s.opts.TeamID,
		"user_id":               s.opts.BotUserID,
		"bot_id":                s.opts.BotID,
		"is_enterprise_install": false,
	}
	if s.opts.EnterpriseID != "" {
		fields["enterprise_id"] = s.opts.EnterpriseID
	}
	return okResp(fields)
}

func (s *Server) channelJSON(ch *channel) map[string]any {
	out := map[string]any{
		"id":              ch.ID,
		"created":         ch.created.Unix(),
		"is_archived":     ch.Archived,
		"is_member":       ch.members[s.opts.BotUserID],
		"is_private":      ch.Private,
		"is_im":           ch.isIM(),
		"is_channel":      !ch.isIM() && !ch.Private,
		"is_group":        !ch.isIM() && ch.Private,
		"num_members":     len(ch.members),
		"context_team_id": s.opts.TeamID,
	}
	if ch.isIM() {
		for m := range ch.members {
			if m != s.opts.BotUserID {
				out["user"] = m
			}
		}
	} else {
		out["name"] = ch.Name
		out["name_normalized"] = ch.Name
	}
	return out
}

// visibleChannelLocked resolves a channel the bot can see: private conversations it is not in do not
// exist as far as the bot is concerned (channel_not_found), as in Slack.
func (s *Server) visibleChannelLocked(ref string) *channel {
	ch := s.lookupChannelLocked(ref)
	if ch == nil || ((ch.Private || ch.isIM()) && !ch.members[s.opts.BotUserID]) {
		return nil
	}
	return ch
}

func (s *Server) conversationsInfo(r *apiRequest) apiResponse {
	ch := s.visibleChannelLocked(r.args["channel"])
	if ch == nil {
		return errResp("channel_not_found")
	}
	return okResp(map[string]any{"channel": s.channelJSON(ch)})
}

func (s *Server) conversationsJoin(r *apiRequest) apiResponse {
	ch := s.visibleChannelLocked(r.args["channel"])
	switch {
	case ch == nil:
		return errResp("channel_not_found")
	case ch.Private || ch.isIM():
		return errResp("method_not_supported_for_channel_type")
	case ch.Archived:
		return errResp("is_archived")
	}
	if ch.members[s.opts.BotUserID] {
		resp := okResp(map[string]any{"channel": s.channelJSON(ch), "warning": "already_in_channel"})
		resp.body["response_metadata"] = map[string]any{"warnings": []string{"already_in_channel"}}
		return resp
	}
	ch.members[s.opts.BotUserID] = true
	return okResp(map[string]any{"channel": s.channelJSON(ch)})
}

func (s *Server) usersInfo(r *apiRequest) apiResponse {
	u, ok := s.users[r.args["user"]]
	if !ok {
		return errResp("user_not_found")
	}
	return okResp(map[string]any{"user": map[string]any{
		"id":        u.ID,
		"team_id":   s.opts.TeamID,
		"name":      u.Name,
		"real_name": u.RealName,
		"deleted":   false,
		"is_bot":    u.IsBot,
		"tz":        "Etc/UTC",
		"profile": map[string]any{
			"real_name":    u.RealName,
			"display_name": u.Name,
			"email":        u.Email,
			"team":         s.opts.TeamID,
		},
	}})
}

// ---- chat.* ----

// messageContent is the validated text/blocks/attachments of a message-posting call.
type messageContent struct {
	text                string
	hasText             bool
	blocks, attachments json.RawMessage
	hasBlocks           bool
	metadata            json.RawMessage
}

// parseMessageContent validates message content the way chat.postMessage does, before anything is
// accepted: no_text, msg_too_long, invalid_blocks_format, invalid_blocks (Block Kit limits),
// too_many_attachments.
func parseMessageContent(args map[string]string) (messageContent, *apiResponse) {
	var c messageContent
	c.text, c.hasText = args["text"]
	if raw, ok := args["blocks"]; ok && raw != "" {
		c.hasBlocks = true
		var blocks []json.RawMessage
		if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
			r := errResp("invalid_blocks_format")
			return c, &r
		}
		if errs := ValidateBlocks([]byte(raw), SurfaceMessage); len(errs) > 0 {
			r := blockErrResp("invalid_blocks", errs)
			return c, &r
		}
		c.blocks = compactJSON(raw)
		if len(blocks) == 0 {
			c.blocks = nil
		}
	}
	if raw, ok := args["attachments"]; ok && raw != "" {
		var atts []json.RawMessage
		if err := json.Unmarshal([]byte(raw), &atts); err != nil {
			r := errResp("invalid_attachments")
			return c, &r
		}
		if len(atts) > maxAttachments {
			r := errResp("too_many_attachments")
			return c, &r
		}
		if len(atts) > 0 {
			c.attachments = compactJSON(raw)
		}
	}
	if raw, ok := args["metadata"]; ok && raw != "" && json.Valid([]byte(raw)) {
		c.metadata = compactJSON(raw)
	}
	if c.text == "" && c.blocks == nil && c.attachments == nil {
		r := errResp("no_text")
		return c, &r
	}
	if utf8.RuneCountInString(c.text) > MaxMessageTextChars {
		r := errResp("msg_too_long")
		return c, &r
	}
	return c, nil
}

func compactJSON(raw string) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(raw)); err != nil {
		return json.RawMessage(raw)
	}
	return buf.Bytes()
}

func (s *Server) messageJSON(ch *channel, m *message) map[string]any {
	out := map[string]any{
		"type": "message",
		"text": m.Text,
		"user": m.User,
		"ts":   m.TS,
		"team": s.opts.TeamID,
	}
	if m.BotID != "" {
		out["bot_id"] = m.BotID
		out["app_id"] = s.opts.AppID
		out["bot_profile"] = map[string]any{
			"id": s.opts.BotID, "app_id": s.opts.AppID, "name": s.opts.BotUserName, "team_id": s.opts.TeamID,
			"deleted": false,
		}
	}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	if m.Attachments != nil {
		out["attachments"] = m.Attachments
	}
	if m.Metadata != nil {
		out["metadata"] = m.Metadata
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.IsReply() {
		if p := ch.byTS[m.ThreadTS]; p != nil {
			out["parent_user_id"] = p.User
		}
		if m.ReplyBroadcast {
			out["subtype"] = "thread_broadcast"
		}
	}
	if m.ReplyCount > 0 {
		out["reply_count"] = m.ReplyCount
		out["reply_users"] = m.ReplyUsers
		out["reply_users_count"] = len(m.ReplyUsers)
		out["latest_reply"] = m.LatestReply
	}
	if m.EditedTS != "" {
		out["edited"] = map[string]any{"user": m.User, "ts": m.EditedTS}
	}
	return out
}

func (s *Server) chatPostMessage(r *apiRequest) apiResponse {
	ch := s.visibleChannelLocked(r.args["channel"])
	switch {
	case ch == nil:
		return errResp("channel_not_found")
	case ch.Archived:
		return errResp("is_archived")
	case !s.botCanPost(ch):
		return errResp("not_in_channel")
	}
	content, bad := parseMessageContent(r.args)
	if bad != nil {
		return *bad
	}
	threadTS := r.args["thread_ts"]
	if threadTS != "" {
		if p := ch.byTS[threadTS]; p == nil || p.Deleted {
			return errResp("thread_not_found")
		}
	}
	if ok, wait := s.takeTokenLocked(ch.ID); !ok {
		resp := errResp("ratelimited")
		resp.status = http.StatusTooManyRequests
		resp.retryAfter = retryAfterSeconds(wait)
		return resp
	}
	m := &message{Message: Message{
		User:           s.opts.BotUserID,
		BotID:          s.opts.BotID,
		Text:           content.text,
		Blocks:         content.blocks,
		Attachments:    content.attachments,
		Metadata:       content.metadata,
		ReplyBroadcast: threadTS != "" && truthy(r.args["reply_broadcast"]),
		Source:         "chat.postMessage",
	}}
	s.storeMessageLocked(ch, m, threadTS)
	return okResp(map[string]any{"channel": ch.ID, "ts": m.TS, "message": s.messageJSON(ch, m)})
}

func (s *Server) chatUpdate(r *apiRequest) apiResponse {
	ch := s.visibleChannelLocked(r.args["channel"])
	if ch == nil {
		return errResp("channel_not_found")
	}
	m := ch.byTS[r.args["ts"]]
	switch {
	case m == nil || m.Deleted:
		return errResp("message_not_found")
	case m.User != s.opts.BotUserID:
		return errResp("cant_update_message")
	}
	content, bad := parseMessageContent(r.args)
	if bad != nil {
		return *bad
	}
	// Each field is replaced when sent and kept otherwise; an empty blocks array clears the blocks.
	if content.hasText {
		m.Text = content.text
	}
	if content.hasBlocks {
		m.Blocks = content.blocks
	}
	if _, ok := r.args["attachments"]; ok {
		m.Attachments = content.attachments
	}
	m.EditedTS = formatTS(s.clock.Now().UnixMicro())
	s.notifyLocked()
	return okResp(map[string]any{"channel": ch.ID, "ts": m.TS, "text": m.Text, "message": s.messageJSON(ch, m)})
}

func (s *Server) chatDelete(r *apiRequest) apiResponse {
	ch := s.visibleChannelLocked(r.args["channel"])
	if ch == nil {
		return errResp("channel_not_found")
	}
	m := ch.byTS[r.args["ts"]]
	switch {
	case m == nil || m.Deleted:
		return errResp("message_not_found")
	case m.User != s.opts.BotUserID:
		return errResp("cant_delete_message")
	}
	m.Deleted = true
	if m.IsReply() {
		if p := ch.byTS[m.ThreadTS]; p != nil && p.ReplyCount > 0 {
			p.ReplyCount--
		}
	}
	s.notifyLocked()
	return okResp(map[string]any{"channel": ch.ID, "ts": m.TS})
}

func (s *Server) chatPostEphemeral(r *apiRequest) apiResponse {
	ch := s.visibleChannelLocked(r.args["channel"])
	user := r.args["user"]
	switch {
	case ch == nil:
		return errResp("channel_not_found")
	case ch.Archived:
		return errResp("is_archived")
	case !ch.members[s.opts.BotUserID]:
		return errResp("not_in_channel")
	}
	if _, ok := s.users[user]; !ok {
		return errResp("user_not_found")
	}
	if !ch.members[user] {
		return errResp("user_not_in_channel")
	}
	content, bad := parseMessageContent(r.args)
	if bad != nil {
		return *bad
	}
	now := s.clock.Now()
	e := &Ephemeral{
		Channel: ch.ID, User: user, TS: ch.nextTS(now), ThreadTS: r.args["thread_ts"],
		Text: content.text, Blocks: content.blocks, Source: "chat.postEphemeral", PostedAt: now,
	}
	s.ephemerals = append(s.ephemerals, e)
	s.notifyLocked()
	return okResp(map[string]any{"message_ts": e.TS})
}
