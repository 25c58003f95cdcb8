package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Socket Mode, as described in Slack's "Using Socket Mode" docs and as slack-go's socketmode client
// speaks it:
//   - apps.connections.open (app-level xapp- token, Authorization: Bearer) answers {"ok":true,"url":"ws://…/link/?ticket=…"}.
//     The ticket is single-use.
//   - On connect the server sends {"type":"hello","num_connections":n,"debug_info":{…},"connection_info":{"app_id":…}}.
//   - Envelopes: {"envelope_id","type":"slash_commands"|"interactive"|"events_api","payload":{…},
//     "accepts_response_payload":bool,"retry_attempt":n,"retry_reason":"…"}.
//   - The app acks with {"envelope_id":…,"payload":{…}?}. Acks of 20 KB or more are silently dropped.
//   - {"type":"disconnect","reason":"warning"|"refresh_requested"|…} asks the client to reconnect.
//   - The server PINGs; slack-go's client reconnects when it sees no PING for 30 s.

// Envelope types.
const (
	EnvelopeSlashCommands = "slash_commands"
	EnvelopeInteractive   = "interactive"
	EnvelopeEventsAPI     = "events_api"
)

// Envelope is a pushed Socket Mode envelope and its delivery state.
type Envelope struct {
	ID                     string
	Type                   string
	Payload                json.RawMessage
	AcceptsResponsePayload bool
	RetryAttempt           int    // of the latest delivery
	RetryReason            string // of the latest delivery
	Deliveries             int
	SentAt                 time.Time // fake clock, latest delivery
	Acked                  bool
	// TimedOut is set by SweepAcks when an envelope Slack would not retry (slash command, interaction, or an
	// event out of retries) went un-acked past the ack timeout: the user saw an error.
	TimedOut bool
}

// Ack is one frame the app sent back for an envelope.
type Ack struct {
	EnvelopeID   string
	Payload      json.RawMessage
	Size         int // bytes on the wire
	ReceivedAt   time.Time
	Latency      time.Duration // real time since the acked delivery was written
	RetryAttempt int           // retry_attempt of the delivery being acked
	Duplicate    bool          // the envelope was already acked (double ack)
	Unknown      bool          // no such envelope
	Dropped      bool          // ≥ MaxSocketResponseBytes: Slack drops it, the envelope stays un-acked
	// ResponseError is the error Slack would show for an unusable ack payload (e.g. invalid_blocks in a
	// slash-command response, invalid_arguments in a view_submission response_action).
	ResponseError string
}

type envelopeState struct {
	Envelope
	sentReal time.Time
}

type socketConn struct {
	id        int
	ws        *websocket.Conn
	wmu       sync.Mutex
	closed    chan struct{}
	closeOnce sync.Once
}

func (c *socketConn) writeJSON(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteJSON(v)
}

func (c *socketConn) close() {
	c.closeOnce.Do(func() {
		close(c.closed)
		_ = c.ws.Close()
	})
}

type socketState struct {
	tickets   map[string]time.Time
	conns     []*socketConn
	connects  int
	lastID    int
	envelopes map[string]*envelopeState
	order     []string
	acks      []Ack
	// refuseDials is how many WebSocket upgrades still answer 503 (RefuseSocketDials).
	refuseDials int
	refused     int
}

func (st *socketState) init() {
	st.tickets = map[string]time.Time{}
	st.envelopes = map[string]*envelopeState{}
}

func (s *Server) appsConnectionsOpen(*apiRequest) apiResponse {
	ticket := randomHex(16)
	s.sock.tickets[ticket] = s.clock.Now()
	u := "ws" + strings.TrimPrefix(s.http.URL, "http") + "/link/?ticket=" + ticket + "&app_id=" + s.opts.AppID
	return okResp(map[string]any{"url": u})
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) handleSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	_, ok := s.sock.tickets[ticket]
	delete(s.sock.tickets, ticket)
	refuse := ok && s.sock.refuseDials > 0
	if refuse {
		s.sock.refuseDials--
		s.sock.refused++
		s.notifyLocked()
	}
	s.mu.Unlock()
	if refuse {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	if !ok {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.sock.lastID++
	conn := &socketConn{id: s.sock.lastID, ws: ws, closed: make(chan struct{})}
	n := len(s.sock.conns) + 1
	s.mu.Unlock()

	hello := map[string]any{
		"type":            "hello",
		"num_connections": n,
		"debug_info": map[string]any{
			"host": fmt.Sprintf("applink-fake-%d", conn.id), "build_number": 1, "approximate_connection_time": 18060,
		},
		"connection_info": map[string]any{"app_id": s.opts.AppID},
	}
	if err := conn.writeJSON(hello); err == nil {
		// The connection becomes usable for pushes only once hello is out, so an envelope never overtakes it.
		s.mu.Lock()
		s.sock.conns = append(s.sock.conns, conn)
		s.sock.connects++
		s.notifyLocked()
		s.mu.Unlock()
		select {
		case <-s.done:
			conn.close()
		default:
		}
		go s.pingLoop(conn)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				break
			}
			s.handleSocketFrame(data)
		}
	}
	conn.close()
	s.mu.Lock()
	s.sock.conns = slices.DeleteFunc(s.sock.conns, func(c *socketConn) bool { return c == conn })
	s.notifyLocked()
	s.mu.Unlock()
}

func (s *Server) pingLoop(c *socketConn) {
	t := time.NewTicker(s.opts.SocketPingInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second)); err != nil {
				return
			}
		case <-c.closed:
			return
		}
	}
}

func (s *Server) handleSocketFrame(data []byte) {
	var frame struct {
		EnvelopeID string          `json:"envelope_id"`
		Payload    json.RawMessage `json:"payload"`
	}
	ack := Ack{Size: len(data)}
	if err := json.Unmarshal(data, &frame); err != nil {
		ack.Unknown, ack.ResponseError = true, "invalid_json"
	}
	ack.EnvelopeID, ack.Payload = frame.EnvelopeID, frame.Payload

	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	ack.ReceivedAt = s.clock.Now()
	env := s.sock.envelopes[frame.EnvelopeID]
	switch {
	case ack.ResponseError != "":
	case len(data) >= MaxSocketResponseBytes:
		ack.Dropped = true
	case env == nil:
		ack.Unknown = true
	default:
		ack.RetryAttempt = env.RetryAttempt
		ack.Latency = time.Since(env.sentReal)
		if env.Acked {
			ack.Duplicate = true
			break
		}
		env.Acked = true
		ack.ResponseError = s.applyAckPayloadLocked(env, frame.Payload)
	}
	s.sock.acks = append(s.sock.acks, ack)
}

// applyAckPayloadLocked gives an ack payload the effect Slack gives it: a slash command's immediate
// response is shown (ephemeral or in_channel); a view_submission response_action updates, pushes,
// clears or shows errors. It returns the error Slack would report for an unusable payload.
func (s *Server) applyAckPayloadLocked(env *envelopeState, payload json.RawMessage) string {
	if len(payload) == 0 || string(payload) == "null" || !env.AcceptsResponsePayload {
		return ""
	}
	var p struct {
		Type        string `json:"type"`
		ChannelID   string `json:"channel_id"`
		UserID      string `json:"user_id"`
		ResponseURL string `json:"response_url"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
		View struct {
			ID string `json:"id"`
		} `json:"view"`
	}
	_ = json.Unmarshal(env.Payload, &p)
	switch {
	case env.Type == EnvelopeSlashCommands:
		if string(payload) == "{}" {
			return ""
		}
		return s.applyImmediateResponseLocked("socket_ack", p.ChannelID, p.UserID, p.ResponseURL, payload)
	case env.Type == EnvelopeInteractive && p.Type == "view_submission":
		return s.applyViewResponseLocked(p.View.ID, p.User.ID, payload)
	}
	return ""
}

// applyImmediateResponseLocked shows a slash command's immediate response (ack payload or HTTP 200 body)
// and makes the message it creates the "original" of the command's response_url.
func (s *Server) applyImmediateResponseLocked(source, channel, user, responseURL string, payload []byte) string {
	post := ResponsePost{Source: source, At: s.clock.Now()}
	var local *msgRef
	original := &local
	if ru := s.responseURLByURLLocked(responseURL); ru != nil {
		original = &ru.original
	}
	code, _ := s.applyResponseLocked(&post, channel, user, original, payload)
	post.Status, post.Error = http.StatusOK, code
	if code != "" {
		post.Status = http.StatusBadRequest
	}
	s.responsePosts = append(s.responsePosts, post)
	return code
}

// applyViewResponseLocked applies a view_submission response_action.
func (s *Server) applyViewResponseLocked(viewID, user string, payload []byte) string {
	var resp struct {
		ResponseAction string          `json:"response_action"`
		View           json.RawMessage `json:"view"`
		Errors         json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(payload, &resp); err != nil {
		return "invalid_payload"
	}
	switch resp.ResponseAction {
	case "", "clear":
		return ""
	case "errors":
		var errs map[string]string
		if json.Unmarshal(resp.Errors, &errs) != nil || len(errs) == 0 {
			return "invalid_arguments"
		}
		return ""
	case "update", "push":
		obj, bad := parseViewArg(string(resp.View))
		if bad != nil {
			code, _ := bad.body["error"].(string)
			return code
		}
		v := s.views[viewID]
		if v == nil {
			return "not_found"
		}
		if resp.ResponseAction == "update" {
			s.applyViewLocked(v, obj)
			v.Updates++
		} else {
			s.newViewLocked(obj, user, "response_action", v.RootViewID, v.ID)
		}
		return ""
	default:
		return "invalid_arguments"
	}
}

func envelopeID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// PushEnvelope delivers an envelope over the most recent Socket Mode connection, waiting (until ctx ends)
// for one to exist. payload is marshalled as JSON.
func (s *Server) PushEnvelope(ctx context.Context, kind string, payload any, acceptsResponsePayload bool) (Envelope, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return Envelope{}, fmt.Errorf("push %s envelope: marshal payload: %w", kind, err)
	}
	if err := s.waitFor(ctx, func() bool { return len(s.sock.conns) > 0 }); err != nil {
		return Envelope{}, fmt.Errorf("push %s envelope: no Socket Mode connection: %w", kind, err)
	}
	s.mu.Lock()
	env := &envelopeState{Envelope: Envelope{ID: envelopeID(), Type: kind, Payload: raw, AcceptsResponsePayload: acceptsResponsePayload}}
	s.sock.envelopes[env.ID] = env
	s.sock.order = append(s.sock.order, env.ID)
	s.mu.Unlock()
	if err := s.deliverEnvelope(env); err != nil {
		return Envelope{}, fmt.Errorf("push %s envelope: %w", kind, err)
	}
	return s.envelopeSnapshot(env.ID), nil
}

func (s *Server) envelopeSnapshot(id string) Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sock.envelopes[id].Envelope
}

func (s *Server) deliverEnvelope(env *envelopeState) error {
	s.mu.Lock()
	if len(s.sock.conns) == 0 {
		s.mu.Unlock()
		return errors.New("no Socket Mode connection")
	}
	conn := s.sock.conns[len(s.sock.conns)-1]
	env.Deliveries++
	env.SentAt = s.clock.Now()
	env.sentReal = time.Now()
	frame := map[string]any{
		"envelope_id":              env.ID,
		"type":                     env.Type,
		"payload":                  env.Payload,
		"accepts_response_payload": env.AcceptsResponsePayload,
		"retry_attempt":            env.RetryAttempt,
		"retry_reason":             env.RetryReason,
	}
	s.notifyLocked()
	s.mu.Unlock()
	return conn.writeJSON(frame)
}

// Redeliver re-sends an un-acked envelope with retry_attempt+1 and retry_reason (Slack uses "timeout").
func (s *Server) Redeliver(envelopeID, reason string) error {
	s.mu.Lock()
	env := s.sock.envelopes[envelopeID]
	switch {
	case env == nil:
		s.mu.Unlock()
		return fmt.Errorf("redeliver %s: no such envelope", envelopeID)
	case env.Acked:
		s.mu.Unlock()
		return fmt.Errorf("redeliver %s: already acked", envelopeID)
	}
	env.RetryAttempt++
	env.RetryReason = reason
	s.mu.Unlock()
	if err := s.deliverEnvelope(env); err != nil {
		return fmt.Errorf("redeliver %s: %w", envelopeID, err)
	}
	return nil
}

// SweepAcks handles envelopes un-acked for longer than the ack timeout (Options.SocketAckTimeout, or
// AckDeadline when unset) on the fake clock: events_api envelopes are re-delivered with retry_attempt+1
// and retry_reason "timeout" up to Options.SocketMaxRetries times; everything else is marked TimedOut.
// It runs automatically when SocketAckTimeout > 0; tests on a fake clock call it after Advance.
func (s *Server) SweepAcks() (redelivered, timedOut int) {
	timeout := s.opts.SocketAckTimeout
	if timeout <= 0 {
		timeout = AckDeadline
	}
	var retry []string
	s.mu.Lock()
	now := s.clock.Now()
	for _, id := range s.sock.order {
		env := s.sock.envelopes[id]
		if env.Acked || env.TimedOut || now.Sub(env.SentAt) < timeout {
			continue
		}
		if env.Type == EnvelopeEventsAPI && env.RetryAttempt < s.opts.SocketMaxRetries {
			retry = append(retry, id)
			continue
		}
		env.TimedOut = true
		timedOut++
	}
	if timedOut > 0 {
		s.notifyLocked()
	}
	s.mu.Unlock()
	for _, id := range retry {
		if s.Redeliver(id, "timeout") == nil {
			redelivered++
		}
	}
	return redelivered, timedOut
}

func (s *Server) sweepLoop() {
	period := max(s.opts.SocketAckTimeout/4, 10*time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.SweepAcks()
		case <-s.done:
			return
		}
	}
}

// Disconnect sends {"type":"disconnect","reason":reason} on every connection ("refresh_requested",
// "warning", "link_disabled", "too_many_websockets"). slack-go's client reconnects through
// apps.connections.open. It returns the number of connections notified.
func (s *Server) Disconnect(reason string) int {
	s.mu.Lock()
	conns := slices.Clone(s.sock.conns)
	s.mu.Unlock()
	n := 0
	for _, c := range conns {
		frame := map[string]any{
			"type": "disconnect", "reason": reason,
			"debug_info": map[string]any{"host": fmt.Sprintf("applink-fake-%d", c.id)},
		}
		if c.writeJSON(frame) == nil {
			n++
		}
	}
	return n
}

// RefuseSocketDials makes the next n WebSocket connects (with a valid ticket) fail with HTTP 503, as when
// Slack's link servers are unavailable: apps.connections.open still succeeds, the dial fails, and the ticket is
// spent. SocketDialsRefused counts them.
func (s *Server) RefuseSocketDials(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sock.refuseDials = n
}

// SocketDialsRefused reports how many WebSocket connects RefuseSocketDials has refused so far.
func (s *Server) SocketDialsRefused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sock.refused
}

// DropSocketConnections closes every Socket Mode connection abruptly (no disconnect frame).
func (s *Server) DropSocketConnections() { s.closeAllSockets() }

func (s *Server) closeAllSockets() {
	s.mu.Lock()
	conns := slices.Clone(s.sock.conns)
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// SocketConnections reports the open Socket Mode connections and how many were ever opened.
func (s *Server) SocketConnections() (open, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sock.conns), s.sock.connects
}

// WaitSocketConnected waits until at least total connections were ever opened and one is open.
func (s *Server) WaitSocketConnected(ctx context.Context, total int) error {
	err := s.waitFor(ctx, func() bool { return s.sock.connects >= total && len(s.sock.conns) > 0 })
	if err != nil {
		return fmt.Errorf("wait for Socket Mode connection #%d: %w", total, err)
	}
	return nil
}

// Envelopes returns every pushed envelope in order.
func (s *Server) Envelopes() []Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Envelope, 0, len(s.sock.order))
	for _, id := range s.sock.order {
		out = append(out, s.sock.envelopes[id].Envelope)
	}
	return out
}

// Acks returns every frame the app sent back, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.sock.acks)
}

// DoubleAcks returns the acks for envelopes that were already acked.
func (s *Server) DoubleAcks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Ack
	for _, a := range s.sock.acks {
		if a.Duplicate {
			out = append(out, a)
		}
	}
	return out
}

// WaitAck waits for the accepted (first, not dropped) ack of an envelope.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var out Ack
	err := s.waitFor(ctx, func() bool {
		for _, a := range s.sock.acks {
			if a.EnvelopeID == envelopeID && !a.Dropped && !a.Duplicate && !a.Unknown {
				out = a
				return true
			}
		}
		return false
	})
	if err != nil {
		return out, fmt.Errorf("wait for ack of envelope %s: %w", envelopeID, err)
	}
	return out, nil
}
