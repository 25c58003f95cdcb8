package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/ratelimit"
)

// Kind is the one error vocabulary every adapter maps once.
type Kind string

const (
	KindInvalid      Kind = "invalid_argument"
	KindNotFound     Kind = "not_found"
	KindAmbiguous    Kind = "ambiguous"
	KindRateLimited  Kind = "rate_limited"
	KindQuota        Kind = "quota_exhausted"
	KindUnauthorized Kind = "unauthorized"
	KindForbidden    Kind = "forbidden"
	KindConflict     Kind = "conflict"
	KindUpstream     Kind = "upstream_error"
	KindTimeout      Kind = "timeout"
)

// Candidate is a resource a name might have meant.
type Candidate struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// Error is a failure a person or a model can act on: it says what went wrong and what to do next.
type Error struct {
	Kind    Kind
	Message string
	Hint    string
	// Candidates lists what an unknown or ambiguous name may have meant, closest first.
	Candidates []Candidate
	// RetryAt is when a rate-limited call can succeed.
	RetryAt time.Time
	// Status and Name keep the vendor's HTTP status and error name when Postman answered.
	Status int
	Name   string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if len(e.Candidates) > 0 {
		b.WriteString(" (did you mean ")
		for i, c := range e.Candidates {
			if i > 0 {
				b.WriteString(", ")
			}
			if i == 5 {
				fmt.Fprintf(&b, "… %d more", len(e.Candidates)-5)
				break
			}
			b.WriteString(EchoQ(c.Name))
		}
		b.WriteString("?)")
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// AsError returns err as an *Error when it is one.
func AsError(err error) (*Error, bool) {
	var te *Error
	ok := errors.As(err, &te)
	return te, ok
}

// Invalid is an argument error.
func Invalid(msg string) *Error { return &Error{Kind: KindInvalid, Message: msg} }

// classify turns any error from a handler into an *Error with a next step, keeping the vendor's words.
func classify(err error) error {
	if te, ok := AsError(err); ok {
		return te
	}
	var rl *ratelimit.RateLimitedError
	if errors.As(err, &rl) {
		return &Error{Kind: KindRateLimited, Err: err, RetryAt: rl.RetryAt,
			Message: fmt.Sprintf("Postman API rate limit reached until %s", rl.RetryAt.UTC().Format("15:04:05 UTC")),
			Hint:    "retry then; pmops queues calls so this only happens when the wait would outlast the request"}
	}
	if errors.Is(err, api.ErrQuotaExhausted) {
		return &Error{Kind: KindQuota, Err: err, Status: 429, Name: "serviceLimitExhausted",
			Message: "the Postman API key's monthly call quota is used up",
			Hint:    "no call will succeed until the quota resets at the start of next month or a Postman team admin raises the plan's limit"}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindTimeout, Err: err, Message: "Postman did not answer in time", Hint: "try again; for monitor runs use async=true and check get_monitor later"}
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		e := &Error{Err: err, Status: ae.Status, Name: ae.Name, Message: fmt.Sprintf("Postman API %d %s: %s", ae.Status, Echo(ae.Name), Echo(ae.Message))}
		switch {
		case api.IsNotFound(err):
			e.Kind, e.Hint = KindNotFound, "check the name or ID with the matching list_* tool"
		case api.IsRateLimited(err):
			e.Kind, e.Hint = KindRateLimited, "wait for the rate window to reset and retry"
			if ae.RetryAfter > 0 {
				e.RetryAt = time.Now().Add(ae.RetryAfter)
				e.Hint = fmt.Sprintf("retry after %s", e.RetryAt.UTC().Format("15:04:05 UTC"))
			}
		case ae.Status == 401:
			e.Kind, e.Hint = KindUnauthorized, "the API key is missing or invalid; generate a key in Postman (Settings → API keys) and configure it"
		case ae.Status == 403:
			e.Kind, e.Hint = KindForbidden, "the key's user lacks permission for this; ask a workspace admin or use a key with access"
		case ae.Status == 409:
			e.Kind, e.Hint = KindConflict, "another update to this collection is still running; retry in a few seconds"
		case ae.Status >= 400 && ae.Status < 500:
			e.Kind, e.Hint = KindInvalid, "fix the arguments as the message says and retry"
		default:
			e.Kind, e.Hint = KindUpstream, "Postman is having trouble; retry in a minute"
		}
		return e
	}
	return err
}
