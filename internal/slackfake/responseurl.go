package slackfake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// response_url answers. Slack documents the 5-uses/30-minutes rule but not the exact failure body; the
// fake answers HTTP 404 with {"ok":false,"error":"used_url"|"expired_url"} (the codes Slack's hooks
// return), 404 "no_service" for a URL it never issued, and 400 for a bad payload (invalid_payload,
// no_text, msg_too_long, invalid_blocks with messages). A rejected post does not consume a use.
// slack-go's webhook helpers surface every non-200 as StatusCodeError and drop the body.

type responseURL struct {
	id, channel, user string
	issued            time.Time
	uses              int
	original          *msgRef // message replace_original/delete_original act on
}

// msgRef points at a channel message or an ephemeral message.
type msgRef struct {
	channel, ts string
	ephemeral   *Ephemeral
}

// NewResponseURL issues a response_url for a command or interaction by user in channel, served by the
// fake at URL()+"/response/<id>".
func (s *Server) NewResponseURL(channel, user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newResponseURLLocked(channel, user, nil)
}

func (s *Server) newResponseURLLocked(channel, user string, original *msgRef) string {
	if ch := s.lookupChannelLocked(channel); ch != nil {
		channel = ch.ID
	}
	id := s.nextID("R") + randomHex(8)
	s.responseURLs[id] = &responseURL{id: id, channel: channel, user: user, issued: s.clock.Now(), original: original}
	return s.http.URL + "/response/" + id
}

func (s *Server) responseURLByURLLocked(u string) *responseURL {
	id, ok := strings.CutPrefix(u, s.http.URL+"/response/")
	if !ok {
		return nil
	}
	return s.responseURLs[id]
}

// ResponseURLUses says how many accepted posts a response_url has had.
func (s *Server) ResponseURLUses(u string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.responseURLByURLLocked(u); r != nil {
		return r.uses
	}
	return 0
}

func (s *Server) handleResponseURL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeHookResponse(w, http.StatusMethodNotAllowed, "invalid_method")
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/response/")
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))

	s.mu.Lock()
	fault := s.takeFaultLocked("response_url")
	s.mu.Unlock()
	if fault != nil && fault.Latency > 0 {
		select {
		case <-time.After(fault.Latency):
		case <-r.Context().Done():
			return
		}
	}
	if fault != nil && (fault.Status != 0 || fault.RetryAfter > 0 || fault.Error != "") {
		resp := faultResponse(fault)
		writeAPIResponse(w, *resp, "")
		return
	}

	s.mu.Lock()
	status, code, errs := s.postResponseURLLocked(id, body)
	s.mu.Unlock()
	if code == "" {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"ok":true}`)
		return
	}
	if len(errs) > 0 {
		resp := blockErrResp(code, errs)
		resp.status = status
		writeAPIResponse(w, resp, "")
		return
	}
	writeHookResponse(w, status, code)
}

func writeHookResponse(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code})
}

func (s *Server) postResponseURLLocked(id string, body []byte) (status int, code string, errs []BlockError) {
	ru := s.responseURLs[id]
	now := s.clock.Now()
	post := ResponsePost{URLID: id, Source: "response_url", At: now}
	defer func() {
		post.Status, post.Error = status, code
		s.responsePosts = append(s.responsePosts, post)
		s.notifyLocked()
	}()
	switch {
	case ru == nil:
		return http.StatusNotFound, "no_service", nil
	case now.Sub(ru.issued) > ResponseURLTTL:
		post.Channel, post.User = ru.channel, ru.user
		return http.StatusNotFound, "expired_url", nil
	case ru.uses >= ResponseURLMaxUses:
		post.Channel, post.User = ru.channel, ru.user
		return http.StatusNotFound, "used_url", nil
	}
	code, errs = s.applyResponseLocked(&post, ru.channel, ru.user, &ru.original, body)
	if code != "" {
		return http.StatusBadRequest, code, errs
	}
	ru.uses++
	post.Use = ru.uses
	return http.StatusOK, "", nil
}

// responseBody is what response_url posts, Socket Mode slash-command acks and HTTP 200 bodies carry.
type responseBody struct {
	Text            string          `json:"text"`
	Blocks          json.RawMessage `json:"blocks"`
	Attachments     json.RawMessage `json:"attachments"`
	ResponseType    string          `json:"response_type"`
	ReplaceOriginal flexBool        `json:"replace_original"`
	DeleteOriginal  flexBool        `json:"delete_original"`
	ThreadTS        string          `json:"thread_ts"`
}

// flexBool accepts true/false or "true"/"false" (Slack's own payloads use both).
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(string(data), `"`) {
	case "true", "1":
		*b = true
	default:
		*b = false
	}
	return nil
}

// applyResponseLocked validates and applies an immediate or delayed response for user in channel.
// original is the message replace_original/delete_original act on; when it is nil the first message the
// response creates becomes the original (so later posts to the same response_url can replace it).
func (s *Server) applyResponseLocked(post *ResponsePost, channel, user string, original **msgRef, raw []byte) (string, []BlockError) {
	post.Channel, post.User = channel, user
	var body responseBody
	if err := json.Unmarshal(raw, &body); err != nil {
		return "invalid_payload", nil
	}
	post.ResponseType = body.ResponseType
	if post.ResponseType == "" {
		post.ResponseType = "ephemeral"
	}
	post.Text, post.ThreadTS = body.Text, body.ThreadTS
	post.ReplaceOriginal, post.DeleteOriginal = bool(body.ReplaceOriginal), bool(body.DeleteOriginal)
	if len(body.Blocks) > 0 && !bytes.Equal(bytes.TrimSpace(body.Blocks), []byte("null")) {
		post.Blocks = compactJSON(string(body.Blocks))
	}

	if post.DeleteOriginal {
		if o := *original; o != nil {
			s.deleteRefLocked(o)
		}
		return "", nil
	}
	if post.Blocks != nil {
		if errs := ValidateBlocks(post.Blocks, SurfaceMessage); len(errs) > 0 {
			return "invalid_blocks", errs
		}
		if string(post.Blocks) == "[]" {
			post.Blocks = nil
		}
	}
	hasAttachments := len(body.Attachments) > 0 && string(body.Attachments) != "null" && string(body.Attachments) != "[]"
	if post.Text == "" && post.Blocks == nil && !hasAttachments {
		return "no_text", nil
	}
	if utf8.RuneCountInString(post.Text) > MaxMessageTextChars {
		return "msg_too_long", nil
	}

	now := s.clock.Now()
	if o := *original; o != nil && post.ReplaceOriginal {
		s.replaceRefLocked(o, post, now)
		return "", nil
	}
	ch := s.lookupChannelLocked(channel)
	var created *msgRef
	if post.ResponseType == "in_channel" && ch != nil {
		m := &message{Message: Message{
			User: s.opts.BotUserID, BotID: s.opts.BotID, Text: post.Text, Blocks: post.Blocks, Source: post.Source,
		}}
		thread := post.ThreadTS
		if p := ch.byTS[thread]; p == nil || p.Deleted {
			thread = ""
		}
		s.storeMessageLocked(ch, m, thread)
		created = &msgRef{channel: ch.ID, ts: m.TS}
	} else {
		ts := formatTS(now.UnixMicro())
		if ch != nil {
			ts = ch.nextTS(now)
		}
		e := &Ephemeral{
			Channel: channel, User: user, TS: ts, ThreadTS: post.ThreadTS, Text: post.Text, Blocks: post.Blocks,
			Source: post.Source, PostedAt: now,
		}
		s.ephemerals = append(s.ephemerals, e)
		created = &msgRef{channel: channel, ts: ts, ephemeral: e}
	}
	if *original == nil {
		*original = created
	}
	return "", nil
}

func (s *Server) deleteRefLocked(o *msgRef) {
	if o.ephemeral != nil {
		o.ephemeral.Deleted = true
		return
	}
	if ch := s.channels[o.channel]; ch != nil {
		if m := ch.byTS[o.ts]; m != nil {
			m.Deleted = true
		}
	}
}

// replaceRefLocked replaces the original message. Ephemeral messages can only be edited this way
// (chat.update cannot); the fake records the replacement as a new Ephemeral and marks the old one.
func (s *Server) replaceRefLocked(o *msgRef, post *ResponsePost, now time.Time) {
	if o.ephemeral != nil {
		old := o.ephemeral
		old.Replaced = true
		e := &Ephemeral{
			Channel: old.Channel, User: old.User, TS: old.TS, ThreadTS: old.ThreadTS, Text: post.Text,
			Blocks: post.Blocks, Source: post.Source, PostedAt: now,
		}
		s.ephemerals = append(s.ephemerals, e)
		o.ephemeral = e
		return
	}
	if ch := s.channels[o.channel]; ch != nil {
		if m := ch.byTS[o.ts]; m != nil {
			m.Text, m.Blocks = post.Text, post.Blocks
			m.EditedTS = formatTS(now.UnixMicro())
		}
	}
}
