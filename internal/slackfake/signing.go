package slackfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Sign computes Slack's request signature (docs.slack.dev/authentication/verifying-requests-from-slack):
// X-Slack-Request-Timestamp is the unix time ts, and X-Slack-Signature is
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)).
func Sign(secret string, ts time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return timestamp, "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// SignedRequest builds a request signed with the fake's signing secret at ts. A zero ts means now on the
// real clock: verifiers (slack-go's NewSecretsVerifier) compare against the real clock, ±5 minutes.
func (s *Server) SignedRequest(ctx context.Context, method, target, contentType string, body []byte, ts time.Time) (*http.Request, error) {
	if ts.IsZero() {
		ts = time.Now()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build signed request to %s: %w", target, err)
	}
	timestamp, sig := Sign(s.opts.SigningSecret, ts, body)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Slack-Request-Timestamp", timestamp)
	req.Header.Set("X-Slack-Signature", sig)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	return req, nil
}

// DeliveryKind says what Deliver posts.
type DeliveryKind string

const (
	// DeliverSlashCommand posts a slash command form (payload: SlashCommand, url.Values or map[string]string).
	DeliverSlashCommand DeliveryKind = "slash_command"
	// DeliverInteraction posts payload=<JSON> as a form (payload: BlockActionPayload, ViewSubmissionPayload…).
	DeliverInteraction DeliveryKind = "interaction"
	// DeliverEvent posts a JSON Events API body (payload: EventCallback(…)).
	DeliverEvent DeliveryKind = "event"
)

// Delivery is the bot's answer to one signed HTTP delivery.
type Delivery struct {
	Kind    DeliveryKind
	URL     string
	Status  int
	Header  http.Header
	Body    []byte
	Latency time.Duration // real time
	// TimedOut: no answer within the delivery timeout (Slack's is 3 s); Slack gives up and the user sees operation_timeout.
	TimedOut bool
	// ResponseError is what Slack would report for an unusable 200 body (invalid_blocks, no_text, …).
	ResponseError string
	At            time.Time // fake clock
}

// Deliver POSTs a signed request to the bot's endpoint as Slack does, waits at most Options.DeliveryTimeout
// (default AckDeadline) for the
// answer and, like Slack, gives a 200 body its effect: a slash command's JSON (or plain text) body is
// shown as the immediate response; a view_submission's response_action is applied.
func (s *Server) Deliver(ctx context.Context, target string, kind DeliveryKind, payload any) (Delivery, error) {
	body, contentType, meta, err := s.encodeDelivery(kind, payload)
	if err != nil {
		return Delivery{}, fmt.Errorf("deliver %s to %s: %w", kind, target, err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.DeliveryTimeout)
	defer cancel()
	req, err := s.SignedRequest(ctx, http.MethodPost, target, contentType, body, time.Time{})
	if err != nil {
		return Delivery{}, err
	}
	d := Delivery{Kind: kind, URL: target, At: s.clock.Now()}
	start := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil {
		d.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxRequestBytes))
		_ = resp.Body.Close()
		d.Status, d.Header = resp.StatusCode, resp.Header
	}
	d.Latency = time.Since(start)
	if err != nil {
		var netErr net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
			d.TimedOut = true
			s.recordDelivery(d)
			return d, nil
		}
		return d, fmt.Errorf("deliver %s to %s: %w", kind, target, err)
	}

	s.mu.Lock()
	if d.Status == http.StatusOK && len(bytes.TrimSpace(d.Body)) > 0 {
		switch {
		case kind == DeliverSlashCommand:
			respBody := d.Body
			if mt, _, _ := mime.ParseMediaType(d.Header.Get("Content-Type")); mt != "application/json" {
				respBody, _ = json.Marshal(map[string]string{"text": string(d.Body)})
			}
			d.ResponseError = s.applyImmediateResponseLocked("http_response", meta["channel_id"], meta["user_id"], meta["response_url"], respBody)
		case kind == DeliverInteraction && meta["type"] == "view_submission":
			d.ResponseError = s.applyViewResponseLocked(meta["view_id"], meta["user_id"], d.Body)
		}
	}
	s.mu.Unlock()
	s.recordDelivery(d)
	return d, nil
}

func (s *Server) recordDelivery(d Delivery) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deliveries = append(s.deliveries, d)
	s.notifyLocked()
}

// Deliveries returns every Deliver result in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// encodeDelivery renders the body and extracts what Deliver needs to apply the answer.
func (s *Server) encodeDelivery(kind DeliveryKind, payload any) (body []byte, contentType string, meta map[string]string, err error) {
	meta = map[string]string{}
	switch kind {
	case DeliverSlashCommand:
		var form url.Values
		switch p := payload.(type) {
		case SlashCommand:
			if form, err = s.SlashCommandForm(p); err != nil {
				return nil, "", nil, err
			}
		case url.Values:
			form = p
		case map[string]string:
			form = url.Values{}
			for k, v := range p {
				form.Set(k, v)
			}
		default:
			return nil, "", nil, fmt.Errorf("slash command payload must be SlashCommand, url.Values or map[string]string, not %T", payload)
		}
		for _, k := range []string{"channel_id", "user_id", "response_url"} {
			meta[k] = form.Get(k)
		}
		return []byte(form.Encode()), "application/x-www-form-urlencoded", meta, nil
	case DeliverInteraction:
		raw, err := json.Marshal(payload)
		if err != nil {
			return nil, "", nil, fmt.Errorf("marshal interaction: %w", err)
		}
		var p struct {
			Type string `json:"type"`
			User struct {
				ID string `json:"id"`
			} `json:"user"`
			View struct {
				ID string `json:"id"`
			} `json:"view"`
		}
		_ = json.Unmarshal(raw, &p)
		meta["type"], meta["user_id"], meta["view_id"] = p.Type, p.User.ID, p.View.ID
		return []byte(url.Values{"payload": {string(raw)}}.Encode()), "application/x-www-form-urlencoded", meta, nil
	case DeliverEvent:
		raw, err := json.Marshal(payload)
		if err != nil {
			return nil, "", nil, fmt.Errorf("marshal event: %w", err)
		}
		return raw, "application/json", meta, nil
	default:
		return nil, "", nil, fmt.Errorf("unknown delivery kind %q", kind)
	}
}
