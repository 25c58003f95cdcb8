package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// MaxBodyBytes caps a request from Slack; commands are a few hundred bytes, modal submissions a few kilobytes.
const MaxBodyBytes = 1 << 20

// HTTPHandler serves Slack's request URLs: /slack/commands, /slack/interactions and /healthz. Every request is
// verified against the signing secret on its raw body before anything else reads it.
type HTTPHandler struct {
	Dispatcher    *Dispatcher
	SigningSecret string
	// Seen de-duplicates replays of a validly signed request inside Slack's five-minute window.
	Seen   func(ctx context.Context, key string, ttl time.Duration, now time.Time) (bool, error)
	Logger *slog.Logger
	Now    func() time.Time
}

// Handler returns the mux.
func (h *HTTPHandler) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/commands", h.serveCommand)
	mux.HandleFunc("POST /slack/interactions", h.serveInteraction)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

// verified reads and checks the body; it answers the request itself and returns false when it is not Slack's.
func (h *HTTPHandler) verified(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return nil, false
	}
	if isSSLCheck(body) {
		// Slack checks the Request URL's certificate with a bare "ssl_check=1&token=…" POST and wants a 200; it
		// carries no command, so nothing runs, signed or not.
		w.WriteHeader(http.StatusOK)
		return nil, false
	}
	sv, err := slack.NewSecretsVerifier(r.Header, h.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		h.log().Info("rejected unsigned or stale Slack request", "path", r.URL.Path, "reason", err.Error())
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, false
	}
	if h.Seen != nil {
		first, err := h.Seen(r.Context(), "http:"+r.Header.Get("X-Slack-Signature"), 6*time.Minute, h.now())
		if err == nil && !first {
			// A replay of a request already answered: acknowledge, do nothing.
			w.WriteHeader(http.StatusOK)
			return nil, false
		}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form body", http.StatusBadRequest)
		return nil, false
	}
	return form, true
}

func (h *HTTPHandler) serveCommand(w http.ResponseWriter, r *http.Request) {
	form, ok := h.verified(w, r)
	if !ok {
		return
	}
	req := Request{Kind: KindCommand, EnterpriseID: form.Get("enterprise_id"), TeamID: form.Get("team_id"),
		UserID: form.Get("user_id"), UserName: form.Get("user_name"), ChannelID: form.Get("channel_id"),
		Text: form.Get("text"), ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id")}
	if req.UserID == "" || req.TeamID == "" {
		http.Error(w, "missing user_id or team_id", http.StatusBadRequest)
		return
	}
	writeAck(w, h.Dispatcher.Handle(r.Context(), req))
}

func (h *HTTPHandler) serveInteraction(w http.ResponseWriter, r *http.Request) {
	form, ok := h.verified(w, r)
	if !ok {
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	req, ok := RequestFromInteraction(cb)
	if !ok {
		w.WriteHeader(http.StatusOK)
		return
	}
	writeAck(w, h.Dispatcher.Handle(r.Context(), req))
}

// RequestFromInteraction normalises a button click or modal submission; ok is false for kinds the bot ignores.
func RequestFromInteraction(cb slack.InteractionCallback) (Request, bool) {
	req := Request{EnterpriseID: cb.Enterprise.ID, TeamID: cb.Team.ID, UserID: cb.User.ID, UserName: cb.User.Name,
		ChannelID: cb.Channel.ID, ResponseURL: cb.ResponseURL, TriggerID: cb.TriggerID}
	if req.TeamID == "" {
		req.TeamID = cb.User.TeamID
	}
	if req.ChannelID == "" {
		req.ChannelID = cb.Container.ChannelID
	}
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		if len(cb.ActionCallback.BlockActions) == 0 || cb.ActionCallback.BlockActions[0] == nil {
			return req, false
		}
		req.Kind = KindAction
		a := cb.ActionCallback.BlockActions[0]
		req.ActionValue, req.ActionID = a.Value, a.ActionID
		if req.ActionValue == "" && a.SelectedOption.Value != "" {
			req.ActionValue = a.SelectedOption.Value // a select menu: each option's value is a token
		}
		return req, req.ActionValue != ""
	case slack.InteractionTypeViewSubmission:
		req.Kind = KindViewSubmission
		req.ViewCallbackID = cb.View.CallbackID
		req.ViewMetadata = cb.View.PrivateMetadata
		req.ViewValues = map[string]string{}
		if cb.View.State == nil {
			return req, true
		}
		for _, actions := range cb.View.State.Values {
			for actionID, v := range actions {
				req.ViewValues[actionID] = v.Value
			}
		}
		return req, true
	}
	return req, false
}

// AckBody is the JSON Slack takes as an immediate answer (nil means an empty 200).
func AckBody(a Ack) any {
	if len(a.ViewErrors) > 0 {
		return slack.NewErrorsViewSubmissionResponse(a.ViewErrors)
	}
	if a.Message == nil {
		return nil
	}
	rt := slack.ResponseTypeEphemeral
	if a.InChannel {
		rt = slack.ResponseTypeInChannel
	}
	return slack.Msg{ResponseType: rt, Text: a.Message.Text, Blocks: slack.Blocks{BlockSet: a.Message.Blocks}}
}

func writeAck(w http.ResponseWriter, a Ack) {
	if a.Sent != nil {
		defer a.Sent()
	}
	body := AckBody(a)
	if body == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func (h *HTTPHandler) log() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

func (h *HTTPHandler) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

// isSSLCheck says whether body is Slack's certificate check of a slash command's Request URL.
func isSSLCheck(body []byte) bool {
	form, err := url.ParseQuery(string(body))
	return err == nil && form.Get("ssl_check") == "1" && form.Get("command") == "" && form.Get("payload") == "" &&
		form.Get("user_id") == ""
}
