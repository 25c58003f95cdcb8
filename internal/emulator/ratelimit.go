package emulator

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// limiter keeps, per API key, a fixed window, the stricter route bucket, and a calendar-month usage counter. The
// window lies on the server epoch's grid moved by WindowOffset (window id = floor((serverNow − offset)/Window)),
// or, with WindowFromFirstCall, starts at the key's first call after its previous window ended. A request is
// admitted only when every limit that applies to it has room; an admitted request consumes one unit of each.
// Rejected requests (401, 429) consume nothing, so 429s do not count against the monthly quota.
type limiter struct {
	window, routeWindow time.Duration
	perWindow, routePer int
	quota, usageStart   int64
	offset              time.Duration
	firstCall           bool
	rounding            string
	keys                map[string]*keyLimits
}

type keyLimits struct {
	windowID, routeID int64
	windowEnd         time.Time // end of the key's current main window (zero: none yet)
	count, routeCount int
	month             string
	usage             int64
}

// How X-RateLimit-Reset (epoch seconds) is written when a window does not end on a whole second.
const (
	ResetRoundUp   = "up"    // the next whole second (default)
	ResetRoundDown = "down"  // the whole second before: the header reads up to a second early
	ResetExact     = "exact" // milliseconds as a fraction ("1741771860.250")
)

// verdict is the outcome of admission plus everything the rate headers need.
type verdict struct {
	allowed bool
	reason  string // "", "rateLimited", "routeLimited", "serviceLimitExhausted"

	limit, remaining int
	policyWindow     time.Duration
	resetAt          time.Time // end of the described window, on the server clock
	retryAt          time.Time // when a rejected request may be retried

	monthLimit, monthRemaining int64
	rounding                   string // how the epoch reset is written
}

func newLimiter(o Options) *limiter {
	return &limiter{
		window: o.Window, routeWindow: o.RouteWindow,
		perWindow: o.PerWindow, routePer: o.RoutePerWindow,
		quota: o.MonthlyQuota, usageStart: o.MonthlyUsageStart,
		offset: o.WindowOffset, firstCall: o.WindowFromFirstCall, rounding: o.ResetRounding,
		keys: map[string]*keyLimits{},
	}
}

// gridEnd is the end of the grid window holding now (the grid moved by the window offset).
func (l *limiter) gridEnd(now time.Time) (int64, time.Time) {
	id := windowID(now.Add(-l.offset), l.window)
	return id, windowEnd(id, l.window).Add(l.offset)
}

func windowID(now time.Time, w time.Duration) int64 {
	return floorDiv(now.UnixNano(), int64(w))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func windowEnd(id int64, w time.Duration) time.Time { return time.Unix(0, (id+1)*int64(w)) }

func monthOf(t time.Time) string { return t.UTC().Format("2006-01") }

func nextMonth(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
}

func (l *limiter) state(key string, now time.Time) *keyLimits {
	k := l.keys[key]
	if k == nil {
		k = &keyLimits{month: monthOf(now), usage: l.usageStart}
		l.keys[key] = k
	}
	if l.firstCall {
		if k.windowEnd.IsZero() || !now.Before(k.windowEnd) {
			k.windowEnd, k.count = now.Add(l.window), 0
		}
	} else if id, end := l.gridEnd(now); id != k.windowID || k.windowEnd.IsZero() {
		k.windowID, k.windowEnd, k.count = id, end, 0
	}
	if id := windowID(now, l.routeWindow); id != k.routeID {
		k.routeID, k.routeCount = id, 0
	}
	if m := monthOf(now); m != k.month {
		k.month, k.usage = m, 0
	}
	return k
}

func (l *limiter) monthUsage(key string, now time.Time) int64 {
	return l.state(key, now).usage
}

// admit decides one request for key. routeLimited says whether the route bucket applies.
func (l *limiter) admit(key string, now time.Time, routeLimited bool) verdict {
	k := l.state(key, now)
	v := l.mainVerdict(k)
	switch {
	case k.usage >= l.quota:
		v.reason, v.monthRemaining = "serviceLimitExhausted", 0
		v.retryAt = nextMonth(now)
		return v
	case k.count >= l.perWindow:
		v.reason, v.retryAt = "rateLimited", v.resetAt
		return v
	case routeLimited && k.routeCount >= l.routePer:
		v.reason = "routeLimited"
		v.limit, v.remaining, v.policyWindow = l.routePer, 0, l.routeWindow
		v.resetAt = windowEnd(k.routeID, l.routeWindow)
		v.retryAt = v.resetAt
		return v
	}
	k.count++
	k.usage++
	if routeLimited {
		k.routeCount++
	}
	v = l.mainVerdict(k)
	v.allowed = true
	return v
}

// peek describes key's state without consuming anything (used for 401s, which carry the headers too).
func (l *limiter) peek(key string, now time.Time) verdict {
	if key == "" {
		_, end := l.gridEnd(now)
		if l.firstCall {
			end = now.Add(l.window) // a window would start with this call
		}
		return verdict{limit: l.perWindow, remaining: l.perWindow, policyWindow: l.window,
			resetAt: end, monthLimit: l.quota, monthRemaining: l.quota, rounding: l.rounding}
	}
	return l.mainVerdict(l.state(key, now))
}

func (l *limiter) mainVerdict(k *keyLimits) verdict {
	rem := l.perWindow - k.count
	if rem < 0 {
		rem = 0
	}
	mrem := l.quota - k.usage
	if mrem < 0 {
		mrem = 0
	}
	return verdict{
		limit: l.perWindow, remaining: rem, policyWindow: l.window,
		resetAt:    k.windowEnd,
		monthLimit: l.quota, monthRemaining: mrem, rounding: l.rounding,
	}
}

// epochReset writes the end of a window as epoch seconds in the configured rounding.
func epochReset(t time.Time, rounding string) string {
	switch rounding {
	case ResetExact:
		return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
	case ResetRoundDown:
		return strconv.FormatInt(floorDiv(t.UnixNano(), int64(time.Second)), 10)
	default:
		sec := floorDiv(t.UnixNano(), int64(time.Second))
		if t.Nanosecond() != 0 {
			sec++
		}
		return strconv.FormatInt(sec, 10)
	}
}

// ceilSeconds returns d rounded up to whole seconds, at least 1 when d is positive.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// writeRateHeaders sets every rate header variant of notes §10.2 plus Date from the server clock.
func writeRateHeaders(h http.Header, v verdict, now time.Time) {
	delta := ceilSeconds(v.resetAt.Sub(now))
	limit, rem := strconv.Itoa(v.limit), strconv.Itoa(v.remaining)
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	h.Set("X-RateLimit-Limit", limit)
	h.Set("X-RateLimit-Remaining", rem)
	h.Set("X-RateLimit-Reset", epochReset(v.resetAt, v.rounding))
	h.Set("RateLimit-Limit", limit)
	h.Set("RateLimit-Remaining", rem)
	h.Set("RateLimit-Reset", strconv.FormatInt(delta, 10))
	h.Set("RateLimit", fmt.Sprintf("limit=%d, remaining=%d, reset=%d", v.limit, v.remaining, delta))
	h.Set("RateLimit-Policy", fmt.Sprintf("%d;w=%d", v.limit, ceilSeconds(v.policyWindow)))
	ml, mr := strconv.FormatInt(v.monthLimit, 10), strconv.FormatInt(v.monthRemaining, 10)
	h.Set("RateLimit-Limit-Month", ml)
	h.Set("RateLimit-Remaining-Month", mr)
	h.Set("X-RateLimit-Limit-Month", ml)
	h.Set("X-RateLimit-Remaining-Month", mr)
	if !v.allowed && v.reason != "" {
		ra := strconv.FormatInt(max(ceilSeconds(v.retryAt.Sub(now)), 1), 10)
		h.Set("Retry-After", ra)
		h.Set("X-RateLimit-RetryAfter", ra)
		h.Set("RetryAfter", ra)
	}
}

// tooMany builds the 429 body in the configured style.
func tooMany(style, reason string, retryAt time.Time) reply {
	name := "rateLimited"
	msg := fmt.Sprintf("Rate limit exceeded. Please retry after %d", retryAt.UnixMilli())
	detail := "You have exceeded your request limit"
	if reason == "serviceLimitExhausted" {
		name = "serviceLimitExhausted"
		msg = "Service limit exhausted. Please contact your team admin."
		detail = msg
	}
	switch style {
	case Style429String:
		return reply{status: http.StatusTooManyRequests, ctype: ctJSON, body: struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}{name, msg}}
	case Style429Problem:
		return problemReply(http.StatusTooManyRequests, "too-many-requests", "Too Many Requests", detail, "")
	default:
		return legacy(http.StatusTooManyRequests, name, msg)
	}
}
