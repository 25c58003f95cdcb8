package slackfake

import (
	"strconv"
	"strings"
)

// conversations.history and conversations.replies (docs.slack.dev/reference/methods/conversations.history,
// …/conversations.replies): the bot reads a conversation it is a member of, with the history scope of its type
// (channels:history, groups:history, im:history; missing_scope otherwise), newest first for history and parent
// first for replies, between oldest and latest (exclusive unless inclusive=true), limit (default 100, max 999
// here), message metadata only with include_all_metadata=true. Pagination cursors are not modelled: has_more says
// whether the limit cut the answer.
func init() {
	methods["conversations.history"] = methodSpec{handle: (*Server).conversationsHistory}
	methods["conversations.replies"] = methodSpec{handle: (*Server).conversationsReplies}
}

func (s *Server) historyChannelLocked(r *apiRequest) (*channel, *apiResponse) {
	ch := s.visibleChannelLocked(r.args["channel"])
	if ch == nil {
		resp := errResp("channel_not_found")
		return nil, &resp
	}
	scope := "channels:history"
	switch {
	case ch.isIM():
		scope = "im:history"
	case ch.Private:
		scope = "groups:history"
	}
	if !s.hasScope(scope) {
		resp := errResp("missing_scope")
		resp.body["needed"] = scope
		resp.body["provided"] = strings.Join(s.opts.Scopes, ",")
		return nil, &resp
	}
	if !ch.members[s.opts.BotUserID] {
		resp := errResp("not_in_channel")
		return nil, &resp
	}
	return ch, nil
}

func tsMicros(ts string) (int64, bool) {
	if ts == "" {
		return 0, false
	}
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return 0, false
	}
	frac = (frac + "000000")[:6]
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, false
	}
	return s*1_000_000 + f, true
}

// window is the oldest/latest/inclusive filter of both methods.
type window struct {
	oldest, latest       int64
	hasOldest, hasLatest bool
	inclusive            bool
}

func windowOf(args map[string]string) window {
	w := window{inclusive: args["inclusive"] == "true" || args["inclusive"] == "1"}
	w.oldest, w.hasOldest = tsMicros(args["oldest"])
	w.latest, w.hasLatest = tsMicros(args["latest"])
	return w
}

func (w window) has(ts string) bool {
	t, ok := tsMicros(ts)
	if !ok {
		return false
	}
	if w.hasOldest && (t < w.oldest || (t == w.oldest && !w.inclusive)) {
		return false
	}
	if w.hasLatest && (t > w.latest || (t == w.latest && !w.inclusive)) {
		return false
	}
	return true
}

func limitOf(args map[string]string) int {
	n, err := strconv.Atoi(args["limit"])
	if err != nil || n <= 0 {
		return 100
	}
	return min(n, 999)
}

func (s *Server) historyJSON(ch *channel, m *message, withMeta bool) map[string]any {
	out := s.messageJSON(ch, m)
	if !withMeta {
		delete(out, "metadata")
	}
	return out
}

func (s *Server) conversationsHistory(r *apiRequest) apiResponse {
	ch, bad := s.historyChannelLocked(r)
	if bad != nil {
		return *bad
	}
	w, limit := windowOf(r.args), limitOf(r.args)
	meta := r.args["include_all_metadata"] == "true" || r.args["include_all_metadata"] == "1"
	var out []map[string]any
	more := false
	for i := len(ch.messages) - 1; i >= 0; i-- {
		m := ch.messages[i]
		if m.Deleted || (m.IsReply() && !m.ReplyBroadcast) || !w.has(m.TS) {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		out = append(out, s.historyJSON(ch, m, meta))
	}
	if out == nil {
		out = []map[string]any{}
	}
	return okResp(map[string]any{"messages": out, "has_more": more, "pin_count": 0,
		"response_metadata": map[string]any{"next_cursor": ""}})
}

func (s *Server) conversationsReplies(r *apiRequest) apiResponse {
	ch, bad := s.historyChannelLocked(r)
	if bad != nil {
		return *bad
	}
	parent := ch.byTS[r.args["ts"]]
	if parent == nil || parent.Deleted {
		return errResp("thread_not_found")
	}
	if parent.IsReply() {
		parent = ch.byTS[parent.ThreadTS]
	}
	w, limit := windowOf(r.args), limitOf(r.args)
	meta := r.args["include_all_metadata"] == "true" || r.args["include_all_metadata"] == "1"
	out := []map[string]any{s.historyJSON(ch, parent, meta)} // the parent always comes first
	more := false
	for _, m := range parent.replies {
		if m.Deleted || !w.has(m.TS) {
			continue
		}
		if len(out) == limit {
			more = true
			break
		}
		out = append(out, s.historyJSON(ch, m, meta))
	}
	return okResp(map[string]any{"messages": out, "has_more": more, "response_metadata": map[string]any{"next_cursor": ""}})
}
