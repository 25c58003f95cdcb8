package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/pmops/pmops/internal/clock"
	"github.com/pmops/pmops/internal/ratelimit"
)

// Retry defaults (RetryPolicy zero values).
const (
	DefaultMaxTries      = 3
	DefaultRetryBase     = 250 * time.Millisecond
	DefaultRetryMaxDelay = 4 * time.Second
	DefaultMaxRetryAfter = 30 * time.Second
)

// RetryPolicy says how the client retries a request that failed transiently. Idempotent requests (GET, HEAD, PUT,
// DELETE, and the PATCH of a collection's metadata, which sets values) are tried again after a 502, 503 or 504,
// a connection reset or a timeout; every try goes through the rate gate again. Other writes (POST, a JSON-Patch
// PATCH) are never retried: when one fails after it was sent, the error is an *AmbiguousError (IsAmbiguous).
//
// The wait before try n+1 is Base·2^(n-1), capped at MaxDelay, with equal jitter (half fixed, half random); a
// Retry-After sent with the failure is a floor. No try starts that could not finish before the caller's deadline
// (judged by the duration of the try before it): the last error is returned instead.
type RetryPolicy struct {
	// MaxTries counts the first try; 0 means DefaultMaxTries, 1 switches retries off.
	MaxTries int
	// Base and MaxDelay shape the backoff; zero means DefaultRetryBase and DefaultRetryMaxDelay.
	Base, MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After the client waits out; a longer one ends the retries at once (the
	// error carries RetryAfter). Zero means DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// Sleep waits d or until ctx ends; nil means a real timer. Tests inject one that does not sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) for the jitter; nil means math/rand/v2.
	Rand func() float64
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxTries <= 0 {
		p.MaxTries = DefaultMaxTries
	}
	if p.Base <= 0 {
		p.Base = DefaultRetryBase
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultRetryMaxDelay
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if p.Sleep == nil {
		p.Sleep = clock.Sleep
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return p
}

// backoff is the wait before try n+1 (n ≥ 1), before Retry-After.
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + time.Duration(p.Rand()*float64(d-half))
}

// AmbiguousError is a write that failed after it was sent: a connection reset or timeout once the request was
// written, or a 5xx answer. The server may or may not have carried it out, so the client does not send it again;
// the caller should look (list or get the resource) before trying again.
type AmbiguousError struct {
	Method, Path string
	// Err is the failure: an *Error for a 5xx answer, else the transport error.
	Err error
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%s %s may have happened; check before retrying (the request was sent, then: %v)", e.Method, e.Path, e.Err)
}

func (e *AmbiguousError) Unwrap() error { return e.Err }

// IsAmbiguous reports whether err is a write whose outcome is unknown (*AmbiguousError): check the resource
// before sending it again.
func IsAmbiguous(err error) bool {
	var a *AmbiguousError
	return errors.As(err, &a)
}

// idempotent reports whether r may be sent again after a transient failure.
func (r request) idempotent() bool {
	if r.idem != nil {
		return *r.idem
	}
	switch r.method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// failure classifies one try's error.
type failure int

const (
	failFinal     failure = iota // not transient: return it
	failRetryable                // transient: an idempotent request may try again
)

// classify tells whether err (from one try; tryCtx is that try's context, parent the caller's) is transient.
func classify(parent context.Context, err error) failure {
	if parent.Err() != nil {
		return failFinal // the caller gave up
	}
	var e *Error
	if errors.As(err, &e) {
		switch e.Status {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return failRetryable
		}
		return failFinal
	}
	var te *tryTimeoutError
	if errors.As(err, &te) {
		return failRetryable
	}
	var rl *ratelimit.RateLimitedError
	if errors.As(err, &rl) || errors.Is(err, ErrQuotaExhausted) {
		return failFinal // the gate owns 429s and the quota
	}
	if isTimeout(err) || isReset(err) {
		return failRetryable
	}
	return failFinal
}

// tryTimeoutError is one try that got no answer within the client's per-try timeout.
type tryTimeoutError struct{ timeout time.Duration }

func (e *tryTimeoutError) Error() string {
	return fmt.Sprintf("no answer within %s: %v", e.timeout, context.DeadlineExceeded)
}
func (e *tryTimeoutError) Unwrap() error { return context.DeadlineExceeded }
func (e *tryTimeoutError) Timeout() bool { return true }

func isTimeout(err error) bool {
	var te *tryTimeoutError
	if errors.As(err, &te) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errResetInBody)
}

// errResetInBody marks a body that broke off while it was read.
var errResetInBody = errors.New("the connection broke while the answer was read")

// ambiguousWrite reports whether a failed non-idempotent try may have had an effect: a 5xx answer, or a transport
// failure after the request was written.
func ambiguousWrite(err error, wrote bool) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status >= 500
	}
	var rl *ratelimit.RateLimitedError
	if errors.As(err, &rl) || errors.Is(err, ErrQuotaExhausted) {
		return false
	}
	return wrote
}

// retryWait is how long to wait before the next try, and whether to try at all.
func (p RetryPolicy) retryWait(n int, err error) (time.Duration, bool) {
	d := p.backoff(n)
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		if e.RetryAfter > p.MaxRetryAfter {
			return 0, false
		}
		d = max(d, e.RetryAfter)
	}
	return d, true
}

// fitsDeadline reports whether a try that starts after wait and lasts about as long as the last one ends before
// ctx's deadline.
func fitsDeadline(ctx context.Context, wait, lastTry time.Duration) bool {
	dl, ok := ctx.Deadline()
	if !ok {
		return true
	}
	return time.Now().Add(wait + lastTry).Before(dl)
}

func ptrTo[T any](v T) *T { return &v }
