package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pmops/pmops/internal/lazyre"
	"github.com/pmops/pmops/internal/ratelimit"
)

// ErrQuotaExhausted is the monthly-quota sentinel of the rate gate; errors.Is(err, ErrQuotaExhausted) holds for a
// quota 429 from the server as well as for the gate's own refusal.
var ErrQuotaExhausted = ratelimit.ErrQuotaExhausted

// Error is a non-2xx answer from the Postman API, whatever dialect its body was in.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Name is the vendor's error name (error.name, the error string, or error.type) or, for problem+json
	// bodies, the last segment of the problem type ("not-found", "instanceNotFoundError").
	Name string
	// Message is the human text: error.message, the problem detail (joined when a list), or the title.
	Message string
	// Details is error.details, or a problem detail that is not a plain string, as sent.
	Details json.RawMessage
	// Type, Title and Instance are set for RFC 7807 problem bodies.
	Type, Title, Instance string
	// RetryAfter is how long the server asked the caller to wait, when its headers said so.
	RetryAfter time.Duration
	// Method and Path identify the call (the path without its query string).
	Method, Path string

	quota bool
}

// QuotaExhausted reports whether this is the monthly-quota 429 (nothing succeeds until the quota resets).
func (e *Error) QuotaExhausted() bool { return e.quota }

// Unwrap exposes ErrQuotaExhausted for a quota 429.
func (e *Error) Unwrap() error {
	if e.quota {
		return ErrQuotaExhausted
	}
	return nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("postman API")
	if e.Method != "" || e.Path != "" {
		b.WriteString(" " + strings.TrimSpace(e.Method+" "+e.Path))
	}
	fmt.Fprintf(&b, ": %d", e.Status)
	if e.Name != "" {
		b.WriteString(" " + e.Name)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	switch {
	case e.quota:
		b.WriteString(" (monthly API quota exhausted; ask a Postman team admin to raise the limit or wait for the monthly reset)")
	case e.Status == http.StatusTooManyRequests && e.RetryAfter > 0:
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	case e.Status == http.StatusTooManyRequests:
		b.WriteString(" (rate limited; retry later)")
	case e.Status == http.StatusUnauthorized:
		b.WriteString(" (check the Postman API key)")
	}
	return b.String()
}

// IsNotFound reports whether err says the resource does not exist: a 404, or one of the not-found bodies the
// vendor files under 400 (instanceNotFoundError "We could not find the collection you are looking for").
func IsNotFound(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Status {
	case http.StatusNotFound:
		return true
	case http.StatusBadRequest:
		return notFoundNames[strings.ToLower(e.Name)]
	}
	return false
}

var notFoundNames = map[string]bool{
	"instancenotfounderror":       true,
	"workspacenotfounderror":      true,
	"mocknotfounderror":           true,
	"notfounderror":               true,
	"serverresponsenotfounderror": true,
	"not-found":                   true,
}

// IsRateLimited reports whether err is a transient rate limit: a 429 that is not the monthly quota, or the rate
// gate's own *ratelimit.RateLimitedError.
func IsRateLimited(err error) bool {
	var rl *ratelimit.RateLimitedError
	if errors.As(err, &rl) {
		return true
	}
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusTooManyRequests && !e.quota
}

// IsConflict reports a 409 (for collections: a deep update is still running).
func IsConflict(err error) bool { return hasStatus(err, http.StatusConflict) }

// IsForbidden reports a 403.
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsUnauthorized reports a 401 (missing or invalid API key).
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

func hasStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// ParseError turns an error answer into an *Error, judging the body by its shape, never its Content-Type:
//
//   - {"error": {"name", "message", "details"?, "statusCode"?}} (also with "type" in place of "name", and with a
//     "statusCode" beside "error")
//   - {"error": "<name>", "message": "..."}
//   - {"name": "...", "message": "..."}
//   - RFC 7807 {"type", "title", "detail" (string, list or object), "status"?, "instance"?}
//   - anything else, including HTML and empty bodies: the text, cut short.
//
// It never returns nil.
func ParseError(status int, header http.Header, body []byte) *Error {
	return parseError(status, header, body, time.Now())
}

func parseError(status int, header http.Header, body []byte, now time.Time) *Error {
	e := &Error{Status: status}
	parseErrorBody(e, body)
	if e.Name == "" && e.Message == "" {
		e.Message = http.StatusText(status)
		if e.Message == "" {
			e.Message = "HTTP " + strconv.Itoa(status)
		}
	}
	e.RetryAfter = retryAfter(status, header, now) // a nil header reads as empty
	if status == http.StatusTooManyRequests {
		e.quota = strings.EqualFold(e.Name, "serviceLimitExhausted") ||
			headerIsZero(header, "X-RateLimit-Remaining-Month") ||
			headerIsZero(header, "RateLimit-Remaining-Month")
	}
	return e
}

// maxMessage bounds the text an error carries from a body.
const maxMessage = 500

func parseErrorBody(e *Error, body []byte) {
	body = bytes.TrimSpace(body)
	var obj map[string]json.RawMessage
	if len(body) == 0 || body[0] != '{' || json.Unmarshal(body, &obj) != nil {
		e.Message = textOf(body)
		return
	}
	str := func(m map[string]json.RawMessage, k string) string {
		var s string
		if json.Unmarshal(m[k], &s) != nil {
			return ""
		}
		return clip(s)
	}
	if raw, ok := obj["error"]; ok {
		var inner map[string]json.RawMessage
		var name string
		switch {
		case json.Unmarshal(raw, &name) == nil:
			e.Name = clip(name)
			e.Message = firstNonEmpty(str(obj, "message"), str(obj, "detail"))
			setDetails(e, obj["details"])
			return
		case json.Unmarshal(raw, &inner) == nil && inner != nil:
			e.Name = firstNonEmpty(str(inner, "name"), str(inner, "type"))
			e.Message = firstNonEmpty(str(inner, "message"), str(inner, "detail"), str(obj, "message"))
			setDetails(e, inner["details"])
			return
		}
	}
	_, hasType := obj["type"]
	_, hasTitle := obj["title"]
	_, hasDetail := obj["detail"]
	if hasType || hasTitle || hasDetail {
		e.Type = str(obj, "type")
		e.Title = str(obj, "title")
		e.Instance = str(obj, "instance")
		e.Name = problemName(e.Type)
		e.Message = problemDetail(e, obj["detail"])
		if e.Message == "" {
			e.Message = e.Title
		}
		return
	}
	e.Name = str(obj, "name")
	e.Message = str(obj, "message")
	setDetails(e, obj["details"])
	if e.Name == "" && e.Message == "" {
		e.Message = textOf(body)
	}
}

func setDetails(e *Error, raw json.RawMessage) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return
	}
	e.Details = append(json.RawMessage(nil), raw...)
}

// problemDetail returns the text of a problem's detail and keeps a non-string detail in Details.
func problemDetail(e *Error, raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return clip(s)
	}
	setDetails(e, raw)
	var list []any
	if json.Unmarshal(raw, &list) == nil {
		parts := make([]string, 0, len(list))
		for _, v := range list {
			if s, ok := v.(string); ok {
				parts = append(parts, s)
			} else if b, err := json.Marshal(v); err == nil {
				parts = append(parts, string(b))
			}
		}
		return clip(strings.Join(parts, "; "))
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		var msg string
		if json.Unmarshal(m["message"], &msg) == nil && msg != "" {
			return clip(msg)
		}
	}
	return clip(string(raw))
}

// problemName is the last segment of a problem type: ".../problems/not-found" → "not-found",
// "urn:error:monitor:instanceNotFoundError" → "instanceNotFoundError".
func problemName(typ string) string {
	typ = strings.TrimRight(typ, "/")
	if i := strings.LastIndexAny(typ, "/:"); i >= 0 {
		return typ[i+1:]
	}
	return typ
}

var (
	htmlTitle = lazyre.New(`(?is)<title[^>]*>(.*?)</title>`)
	htmlTag   = lazyre.New(`(?s)<[^>]*>`)
)

// textOf turns a body that is not a JSON error into a short message: an HTML page's title, or its text.
func textOf(body []byte) string {
	if !utf8.Valid(body) {
		body = bytes.ToValidUTF8(body, []byte("\uFFFD"))
	}
	s := string(body)
	if len(s) > 64<<10 {
		s = s[:64<<10]
	}
	if m := htmlTitle.FindStringSubmatch(s); m != nil && strings.TrimSpace(m[1]) != "" {
		s = m[1]
	} else if strings.Contains(s, "<") {
		s = htmlTag.ReplaceAllString(s, " ")
	}
	return clip(html.UnescapeString(strings.Join(strings.Fields(s), " ")))
}

// clip cuts s to maxMessage bytes on a rune boundary.
func clip(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func headerIsZero(h http.Header, key string) bool {
	v := strings.TrimSpace(h.Get(key))
	if v == "" {
		return false
	}
	n, err := strconv.ParseFloat(v, 64)
	return err == nil && n <= 0
}

// retryAfter reads how long to wait, in the order notes §10.2 gives: Retry-After, X-RateLimit-RetryAfter,
// RetryAfter (any status); then, for a 429, RateLimit-Reset / RateLimit "reset=" (seconds from now) and
// X-RateLimit-Reset (epoch seconds when it looks like one, else seconds from now).
func retryAfter(status int, h http.Header, now time.Time) time.Duration {
	for _, k := range []string{"Retry-After", "X-RateLimit-RetryAfter", "RetryAfter"} {
		if d, ok := parseDelay(h.Get(k), now); ok {
			return d
		}
	}
	if status != http.StatusTooManyRequests {
		return 0
	}
	if d, ok := seconds(h.Get("RateLimit-Reset")); ok {
		return d
	}
	for part := range strings.SplitSeq(h.Get("RateLimit"), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && strings.EqualFold(strings.TrimSpace(k), "reset") {
			if d, ok := seconds(v); ok {
				return d
			}
		}
	}
	if v := strings.TrimSpace(h.Get("X-RateLimit-Reset")); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(n) && !math.IsInf(n, 0) {
			switch {
			case n > 1e12: // epoch milliseconds
				return nonNegative(time.UnixMilli(int64(n)).Sub(now))
			case n > 1e9: // epoch seconds
				return nonNegative(time.Unix(int64(n), 0).Sub(now))
			default:
				return secondsDuration(n)
			}
		}
	}
	return 0
}

func parseDelay(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, ok := seconds(v); ok {
		return d, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return nonNegative(t.Sub(now)), true
	}
	return 0, false
}

func seconds(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(n) || math.IsInf(n, 0) || n < 0 {
		return 0, false
	}
	return secondsDuration(n), true
}

func secondsDuration(n float64) time.Duration {
	if n <= 0 {
		return 0
	}
	if n > 366*24*3600 {
		n = 366 * 24 * 3600
	}
	return time.Duration(n * float64(time.Second))
}

func nonNegative(d time.Duration) time.Duration { return max(d, 0) }

// redact replaces every occurrence of the given secrets in the error's text fields.
func (e *Error) redact(secrets ...string) {
	for _, s := range secrets {
		if len(s) < 4 {
			continue
		}
		r := func(v string) string { return strings.ReplaceAll(v, s, redacted) }
		e.Name, e.Message, e.Type, e.Title, e.Instance, e.Path = r(e.Name), r(e.Message), r(e.Type), r(e.Title), r(e.Instance), r(e.Path)
		if bytes.Contains(e.Details, []byte(s)) {
			e.Details = bytes.ReplaceAll(e.Details, []byte(s), []byte(redacted))
		}
		// A key could also appear JSON-escaped inside Details.
		if esc, err := json.Marshal(s); err == nil {
			inner := esc[1 : len(esc)-1]
			if !bytes.Equal(inner, []byte(s)) && bytes.Contains(e.Details, inner) {
				e.Details = bytes.ReplaceAll(e.Details, inner, []byte(redacted))
			}
		}
	}
}

const redacted = "[REDACTED]"
