package ratelimit

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers is what one response says about the key's budget, merged over every header family the server used.
// Absent numbers are -1; absent times are zero. Values that cannot be right (negative limits, NaN, resets decades
// away) are dropped here; the gate clamps what is left.
type Headers struct {
	// Limit is the requests allowed per window (X-RateLimit-Limit, RateLimit-Limit, RateLimit limit=, the policy).
	Limit int
	// Remaining is what is left of the current window.
	Remaining int
	// ResetAt is the end of the window the response was counted in, on the server's clock.
	ResetAt time.Time
	// ResetExact says ResetAt came from an epoch timestamp with sub-second precision (a fraction, or
	// milliseconds). A whole-second epoch may have been floored, rounded or ceiled by the server, and a
	// whole-second delta is rounded too: both can be a second off either way.
	ResetExact bool
	// Window is the window length from RateLimit-Policy (w=); 0 if absent.
	Window time.Duration
	// RetryAfter is the longest of Retry-After, X-RateLimit-RetryAfter and RetryAfter; -1 if none.
	RetryAfter time.Duration
	// MonthLimit and MonthRemaining are the monthly quota headers (RateLimit-*-Month, X-RateLimit-*-Month).
	MonthLimit, MonthRemaining int64
	// Date is the server's Date header; zero if absent or unparseable.
	Date time.Time
}

// HasWindowInfo reports whether any header described the per-window budget.
func (h Headers) HasWindowInfo() bool {
	return h.Limit >= 0 || h.Remaining >= 0 || !h.ResetAt.IsZero()
}

const (
	maxSaneLimit = 10_000_000
	maxSaneMonth = 1_000_000_000_000
	// A Reset (or Retry-After) value within this distance of the server's "now" is an epoch timestamp; small
	// values are deltas. This works for real clocks (1.7e9) and for testing/synctest's year 2000 (9.5e8), where a
	// fixed "< 1e9 means delta" rule would misread every epoch.
	epochNearness = 400 * 24 * time.Hour
	maxDeltaSecs  = 1e7
	// A Date more than this far from the local clock is garbage, not skew.
	maxSaneSkew = 7 * 24 * time.Hour
)

// ParseHeaders reads the rate headers of one response. now is the caller's best estimate of the server's clock at
// receipt; a Date header, when present and sane, takes its place for resolving deltas and dates.
//
// Families: X-RateLimit-{Limit,Remaining,Reset} (Reset: epoch seconds, or a delta when small),
// RateLimit-{Limit,Remaining,Reset} (Reset: seconds until), RateLimit: limit=, remaining=, reset= (also the newer
// draft's r= and t=), RateLimit-Policy: 300;w=60 (also q=), Retry-After (seconds or HTTP date),
// X-RateLimit-RetryAfter, RetryAfter, and the *-Month quota headers.
func ParseHeaders(h http.Header, now time.Time) Headers {
	out := Headers{Limit: -1, Remaining: -1, RetryAfter: -1, MonthLimit: -1, MonthRemaining: -1}
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		if off := d.Sub(now); off > -maxSaneSkew && off < maxSaneSkew {
			out.Date = d
			now = d
		}
	}
	minInt := func(cur int, v float64, ok bool) int {
		if !ok {
			return cur
		}
		n := int(v)
		if cur < 0 || n < cur {
			return n
		}
		return cur
	}

	limits := func(v float64, ok bool) {
		if ok && v >= 1 && v <= maxSaneLimit {
			out.Limit = minInt(out.Limit, v, true)
		}
	}
	remainings := func(v float64, ok bool) {
		if !ok || v > maxSaneLimit {
			return
		}
		out.Remaining = minInt(out.Remaining, math.Max(v, 0), true)
	}
	var exact, whole, deltas []time.Time
	resets := func(raw string) {
		v, ok := number(raw)
		t, kind, good := resolveInstant(v, ok, now)
		switch {
		case !good:
		case kind == instantDelta:
			deltas = append(deltas, t)
		case kind == instantEpochMillis || strings.Contains(raw, "."):
			exact = append(exact, t)
		default:
			whole = append(whole, t)
		}
	}

	limits(number(h.Get("X-RateLimit-Limit")))
	limits(number(h.Get("RateLimit-Limit")))
	remainings(number(h.Get("X-RateLimit-Remaining")))
	remainings(number(h.Get("RateLimit-Remaining")))
	resets(h.Get("X-RateLimit-Reset"))
	resets(h.Get("RateLimit-Reset"))

	for _, item := range splitList(h.Values("RateLimit")) {
		for k, v := range params(item) {
			switch k {
			case "limit", "q":
				limits(number(v))
			case "remaining", "r":
				remainings(number(v))
			case "reset", "t":
				resets(v)
			}
		}
	}

	policyLimit, policyWindow := -1, time.Duration(0)
	for _, item := range splitList(h.Values("RateLimit-Policy")) {
		var l float64
		var lok bool
		var w time.Duration
		for i, part := range strings.Split(item, ";") {
			part = strings.TrimSpace(part)
			if i == 0 && !strings.Contains(part, "=") {
				l, lok = number(part)
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "q":
				l, lok = number(v)
			case "w":
				if s, ok := number(v); ok && s >= 1 && s <= 86400 {
					w = time.Duration(s * float64(time.Second))
				}
			}
		}
		if w == 0 {
			continue
		}
		// With several policies, prefer the one that describes the advertised limit.
		if policyWindow == 0 || (lok && out.Limit >= 0 && int(l) == out.Limit) {
			policyWindow = w
			if lok && l >= 1 && l <= maxSaneLimit {
				policyLimit = int(l)
			}
		}
	}
	out.Window = policyWindow
	if out.Limit < 0 && policyLimit > 0 {
		out.Limit = policyLimit
	}
	if out.Limit >= 0 && out.Remaining > out.Limit {
		out.Remaining = out.Limit
	}

	// A sub-second epoch is exact. A whole-second epoch is rounded, but unlike a delta it does not depend on
	// when the server stamped the answer, so it comes next.
	switch {
	case len(exact) > 0:
		out.ResetAt, out.ResetExact = latest(exact), true
	case len(whole) > 0:
		out.ResetAt = latest(whole)
	case len(deltas) > 0:
		out.ResetAt = latest(deltas)
	}

	var retryAt []time.Time
	for _, name := range []string{"Retry-After", "X-RateLimit-RetryAfter", "RetryAfter"} {
		raw := strings.TrimSpace(h.Get(name))
		if raw == "" {
			continue
		}
		if v, ok := number(raw); ok {
			if t, _, good := resolveInstant(v, true, now); good {
				retryAt = append(retryAt, t)
			}
			continue
		}
		if t, err := http.ParseTime(raw); err == nil && t.Sub(now) < 366*24*time.Hour && now.Sub(t) < maxSaneSkew {
			retryAt = append(retryAt, t)
		}
	}
	if len(retryAt) > 0 {
		out.RetryAfter = max(latest(retryAt).Sub(now), 0)
	}

	month := func(cur int64, v float64, ok bool) int64 {
		if !ok || v < 0 || v > maxSaneMonth {
			return cur
		}
		if cur < 0 || int64(v) < cur {
			return int64(v)
		}
		return cur
	}
	for _, name := range []string{"RateLimit-Limit-Month", "X-RateLimit-Limit-Month"} {
		v, ok := number(h.Get(name))
		out.MonthLimit = month(out.MonthLimit, v, ok)
	}
	for _, name := range []string{"RateLimit-Remaining-Month", "X-RateLimit-Remaining-Month"} {
		v, ok := number(h.Get(name))
		if ok && v < 0 {
			v = 0 // an overdrawn quota is spent
		}
		out.MonthRemaining = month(out.MonthRemaining, v, ok)
	}
	return out
}

type instantKind uint8

const (
	instantDelta instantKind = iota
	instantEpoch
	instantEpochMillis
)

// resolveInstant turns a Reset or Retry-After number into a server-clock instant: an epoch (seconds, or
// milliseconds when that is what lands near now) or a delta in seconds. It rejects what is neither.
func resolveInstant(v float64, ok bool, now time.Time) (t time.Time, kind instantKind, good bool) {
	if !ok || v < 0 {
		return time.Time{}, 0, false
	}
	nowSec := float64(now.UnixNano()) / 1e9
	if math.Abs(v-nowSec) < epochNearness.Seconds() {
		return time.UnixMicro(int64(math.Round(v * 1e6))), instantEpoch, true
	}
	if ms := v / 1000; math.Abs(ms-nowSec) < epochNearness.Seconds() {
		return time.UnixMicro(int64(math.Round(v * 1e3))), instantEpochMillis, true
	}
	if v < maxDeltaSecs {
		return now.Add(time.Duration(v * float64(time.Second))), instantDelta, true
	}
	return time.Time{}, 0, false
}

func latest(ts []time.Time) time.Time {
	out := ts[0]
	for _, t := range ts[1:] {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// number parses one header number, tolerating spaces and quotes; NaN and infinities are not numbers.
func number(s string) (float64, bool) {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	if s == "" || len(s) > 32 {
		return 0, false
	}
	if i := strings.IndexAny(s, ",;"); i >= 0 { // "300, 60": the first of a repeated header
		s = strings.TrimSpace(s[:i])
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// splitList splits comma-separated header values into items.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}

// params reads "k=v" pairs of one RateLimit item ("limit=300", or the draft's `"default";r=50;t=30`).
func params(item string) map[string]string {
	out := map[string]string{}
	for part := range strings.SplitSeq(item, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		out[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return out
}

// maxPeekBody bounds how much of a 429 body the gate reads to look for a quota error name.
const maxPeekBody = 64 << 10

// quotaErrorName reports whether a 429 body names one of the quota errors (case-insensitive), in any of the
// shapes seen: {"error":{"name":...}}, {"error":"name"}, {"name":...}, problem+json "type" (last path segment)
// or "title".
func quotaErrorName(body []byte, names []string) bool {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return false
	}
	var candidates []string
	add := func(v any) {
		if s, ok := v.(string); ok && s != "" {
			candidates = append(candidates, s, s[strings.LastIndexByte(s, '/')+1:])
		}
	}
	switch e := doc["error"].(type) {
	case string:
		add(e)
	case map[string]any:
		add(e["name"])
		add(e["type"])
		add(e["code"])
	}
	add(doc["name"])
	add(doc["type"])
	add(doc["code"])
	add(doc["title"])
	for _, c := range candidates {
		for _, n := range names {
			if strings.EqualFold(c, n) {
				return true
			}
		}
	}
	return false
}
