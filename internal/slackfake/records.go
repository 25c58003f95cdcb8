package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Call is one recorded Web API call.
type Call struct {
	Seq    int
	Method string
	// Args are the parsed arguments: form fields as sent; for JSON bodies, strings as-is and other values as
	// their JSON text. The token is never recorded (see TokenKind).
	Args map[string]string
	// TokenKind is "bot", "app", "invalid" or "none".
	TokenKind   string
	ContentType string
	At          time.Time // fake clock
	Status      int       // HTTP status answered
	OK          bool
	Error       string          // Slack error code when !OK ("ratelimited" for 429s)
	Response    json.RawMessage // body answered (nil for 5xx)
	Injected    bool            // answered by an injected fault
}

// Message is a snapshot of a channel message (top-level, reply or broadcast reply).
type Message struct {
	Channel        string
	TS             string
	ThreadTS       string // parent ts for replies; a parent with replies carries its own ts here
	User           string
	BotID          string
	Text           string
	Blocks         json.RawMessage
	Attachments    json.RawMessage
	Metadata       json.RawMessage
	ReplyBroadcast bool
	ReplyCount     int
	ReplyUsers     []string
	LatestReply    string
	EditedTS       string // ts of the last chat.update / replace_original, "" if never edited
	Deleted        bool
	// Source says how the message got there: "chat.postMessage", "response_url", "socket_ack",
	// "http_response" or "user" (seeded with PostUserMessage).
	Source   string
	PostedAt time.Time
}

// IsReply reports whether the message is a thread reply.
func (m Message) IsReply() bool { return m.ThreadTS != "" && m.ThreadTS != m.TS }

// Ephemeral is a message only one user sees.
type Ephemeral struct {
	Channel  string
	User     string
	TS       string // message_ts answered by chat.postEphemeral
	ThreadTS string
	Text     string
	Blocks   json.RawMessage
	// Source: "chat.postEphemeral", "response_url", "socket_ack" or "http_response".
	Source   string
	PostedAt time.Time
	Replaced bool // later replaced through a response_url (replace_original)
	Deleted  bool // deleted through a response_url (delete_original)
}

// ResponsePost is one POST to a response_url (accepted or not), or an immediate response carried by a
// Socket Mode ack or an HTTP 200 body.
type ResponsePost struct {
	URLID           string // "" for ack/HTTP-body responses
	Source          string // "response_url", "socket_ack" or "http_response"
	Channel, User   string
	ResponseType    string // "ephemeral" (default) or "in_channel"
	Text            string
	Blocks          json.RawMessage
	ReplaceOriginal bool
	DeleteOriginal  bool
	ThreadTS        string
	Use             int    // 1-based use number for accepted response_url posts
	Status          int    // HTTP status answered (200 for accepted ack/body responses)
	Error           string // "" when accepted
	At              time.Time
}

type message struct {
	Message
	replies []*message
}

func (m *message) snapshot() Message {
	out := m.Message
	out.ReplyUsers = slices.Clone(m.ReplyUsers)
	return out
}

// Calls returns every recorded Web API call in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// CallsTo returns the recorded calls to one method ("chat.postMessage").
func (s *Server) CallsTo(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsToLocked(method)
}

func (s *Server) callsToLocked(method string) []Call {
	var out []Call
	for _, c := range s.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitCalls waits until at least n calls to method were recorded ("" counts every method) and returns them.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) ([]Call, error) {
	var out []Call
	err := s.waitFor(ctx, func() bool {
		if method == "" {
			out = slices.Clone(s.calls)
		} else {
			out = s.callsToLocked(method)
		}
		return len(out) >= n
	})
	if err != nil {
		return out, fmt.Errorf("wait for %d calls to %q (have %d): %w", n, method, len(out), err)
	}
	return out, nil
}

// Messages returns what a channel's history shows: top-level messages and broadcast replies, oldest first,
// without deleted ones. channel may be an ID or a name.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messagesLocked(channel)
}

func (s *Server) messagesLocked(channel string) []Message {
	ch := s.lookupChannelLocked(channel)
	if ch == nil {
		return nil
	}
	var out []Message
	for _, m := range ch.messages {
		if m.Deleted || (m.IsReply() && !m.ReplyBroadcast) {
			continue
		}
		out = append(out, m.snapshot())
	}
	return out
}

// WaitMessages waits until a channel's history shows at least n messages and returns them.
func (s *Server) WaitMessages(ctx context.Context, channel string, n int) ([]Message, error) {
	var out []Message
	err := s.waitFor(ctx, func() bool {
		out = s.messagesLocked(channel)
		return len(out) >= n
	})
	if err != nil {
		return out, fmt.Errorf("wait for %d messages in %s (have %d): %w", n, channel, len(out), err)
	}
	return out, nil
}

// Thread returns a thread's parent followed by its replies (broadcast or not), oldest first, without
// deleted replies. It returns nil if ts is not a message of the channel.
func (s *Server) Thread(channel, ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupChannelLocked(channel)
	if ch == nil {
		return nil
	}
	parent := ch.byTS[ts]
	if parent == nil {
		return nil
	}
	if parent.IsReply() {
		parent = ch.byTS[parent.ThreadTS]
	}
	out := []Message{parent.snapshot()}
	for _, r := range parent.replies {
		if !r.Deleted {
			out = append(out, r.snapshot())
		}
	}
	return out
}

// Message returns one message by channel and ts, including deleted ones.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupChannelLocked(channel)
	if ch == nil {
		return Message{}, false
	}
	m := ch.byTS[ts]
	if m == nil {
		return Message{}, false
	}
	return m.snapshot(), true
}

// Ephemerals returns the ephemeral messages shown in channel ("" for all) to user ("" for all).
func (s *Server) Ephemerals(channel, user string) []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	chID := channel
	if ch := s.lookupChannelLocked(channel); ch != nil {
		chID = ch.ID
	}
	var out []Ephemeral
	for _, e := range s.ephemerals {
		if (channel == "" || e.Channel == chID) && (user == "" || e.User == user) {
			out = append(out, *e)
		}
	}
	return out
}

// ResponseURLPosts returns every response_url post (accepted or rejected) and every immediate response
// carried by an ack or HTTP body, for urlID ("" for all).
func (s *Server) ResponseURLPosts(urlID string) []ResponsePost {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ResponsePost
	for _, p := range s.responsePosts {
		if urlID == "" || p.URLID == urlID {
			out = append(out, p)
		}
	}
	return out
}

// WaitResponsePosts waits until at least n response posts were recorded (see ResponseURLPosts).
func (s *Server) WaitResponsePosts(ctx context.Context, n int) ([]ResponsePost, error) {
	var out []ResponsePost
	err := s.waitFor(ctx, func() bool {
		out = slices.Clone(s.responsePosts)
		return len(out) >= n
	})
	if err != nil {
		return out, fmt.Errorf("wait for %d response posts (have %d): %w", n, len(out), err)
	}
	return out, nil
}

// Views returns every view opened or pushed, in order, with its latest content.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, 0, len(s.viewOrder))
	for _, id := range s.viewOrder {
		out = append(out, s.views[id].snapshot())
	}
	return out
}

// PostUserMessage seeds a message written by a human member (not the bot), e.g. to test
// cant_update_message or to start a thread. It returns the message ts.
func (s *Server) PostUserMessage(channel, user, text string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupChannelLocked(channel)
	if ch == nil {
		return "", fmt.Errorf("post user message to %s: channel not found", channel)
	}
	if !ch.members[user] {
		return "", fmt.Errorf("post user message to %s: %s is not a member", channel, user)
	}
	m := &message{Message: Message{Channel: ch.ID, User: user, Text: text, Source: "user"}}
	s.storeMessageLocked(ch, m, "")
	return m.TS, nil
}

// storeMessageLocked issues a ts, attaches the message to its thread (threadTS may name a reply; Slack
// attaches to the parent) and wakes waiters.
func (s *Server) storeMessageLocked(ch *channel, m *message, threadTS string) {
	now := s.clock.Now()
	m.Channel = ch.ID
	m.TS = ch.nextTS(now)
	m.PostedAt = now
	if threadTS != "" {
		parent := ch.byTS[threadTS]
		if parent.IsReply() {
			parent = ch.byTS[parent.ThreadTS]
		}
		m.ThreadTS = parent.TS
		parent.ThreadTS = parent.TS
		parent.replies = append(parent.replies, m)
		parent.ReplyCount++
		parent.LatestReply = m.TS
		if !slices.Contains(parent.ReplyUsers, m.User) {
			parent.ReplyUsers = append(parent.ReplyUsers, m.User)
		}
	}
	ch.messages = append(ch.messages, m)
	ch.byTS[m.TS] = m
	s.notifyLocked()
}

// ResetRecords forgets recorded calls, response posts, acks and deliveries (not the workspace state:
// messages, views, URLs and envelopes stay), e.g. between benchmark phases.
func (s *Server) ResetRecords() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.responsePosts = nil
	s.sock.acks = nil
	s.deliveries = nil
	s.notifyLocked()
}
