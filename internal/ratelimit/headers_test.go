package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// now is 2026-01-15 12:00:00 UTC on the server for every parsing case.
var parseNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestParseHeaders(t *testing.T) {
	epoch := parseNow.Unix()
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	type want struct {
		limit, remaining int
		reset            time.Time
		exact            bool
		window           time.Duration
		retryAfter       time.Duration
		monthLimit       int64
		monthRemaining   int64
	}
	none := want{limit: -1, remaining: -1, retryAfter: -1, monthLimit: -1, monthRemaining: -1}
	with := func(f func(*want)) want { w := none; f(&w); return w }
	tests := []struct {
		name string
		h    http.Header
		want want
	}{
		{"no headers", hdr(), none},
		{"X family, whole-second epoch reset is rounded", hdr("X-RateLimit-Limit", "300", "X-RateLimit-Remaining", "12", "X-RateLimit-Reset", itoa(epoch+34)),
			with(func(w *want) { w.limit, w.remaining, w.reset = 300, 12, at(epoch+34) })},
		{"X family, fractional epoch reset is exact", hdr("X-RateLimit-Reset", itoa(epoch+34)+".250"),
			with(func(w *want) { w.reset, w.exact = at(epoch+34).Add(250*time.Millisecond), true })},
		{"X family, epoch reset with a zero fraction is exact", hdr("X-RateLimit-Reset", itoa(epoch+34)+".000"),
			with(func(w *want) { w.reset, w.exact = at(epoch+34), true })},
		{"X family, small reset is a delta", hdr("X-RateLimit-Reset", "34"),
			with(func(w *want) { w.reset = parseNow.Add(34 * time.Second) })},
		{"X family, reset in epoch milliseconds", hdr("X-RateLimit-Reset", itoa(epoch*1000+34000)),
			with(func(w *want) { w.reset, w.exact = at(epoch+34), true })},
		{"RateLimit- family, reset seconds until", hdr("RateLimit-Limit", "60", "RateLimit-Remaining", "0", "RateLimit-Reset", "7"),
			with(func(w *want) { w.limit, w.remaining, w.reset = 60, 0, parseNow.Add(7*time.Second) })},
		{"combined RateLimit", hdr("RateLimit", "limit=300, remaining=12, reset=34"),
			with(func(w *want) { w.limit, w.remaining, w.reset = 300, 12, parseNow.Add(34*time.Second) })},
		{"combined RateLimit, draft syntax", hdr("RateLimit", `"default";r=50;t=30`, "RateLimit-Policy", `"default";q=100;w=60`),
			with(func(w *want) {
				w.limit, w.remaining, w.reset, w.window = 100, 50, parseNow.Add(30*time.Second), time.Minute
			})},
		{"policy gives window and fallback limit", hdr("RateLimit-Policy", "300;w=60"),
			with(func(w *want) { w.limit, w.window = 300, time.Minute })},
		{"several policies: the one matching the limit", hdr("RateLimit-Limit", "10", "RateLimit-Policy", "300;w=60, 10;w=10"),
			with(func(w *want) { w.limit, w.window = 10, 10*time.Second })},
		{"families disagree: lowest limit and remaining, epoch reset wins", hdr(
			"X-RateLimit-Limit", "300", "X-RateLimit-Remaining", "40", "X-RateLimit-Reset", itoa(epoch+30),
			"RateLimit-Limit", "60", "RateLimit-Remaining", "12", "RateLimit-Reset", "31"),
			with(func(w *want) { w.limit, w.remaining, w.reset = 60, 12, at(epoch+30) })},
		{"remaining above limit is clamped", hdr("X-RateLimit-Limit", "60", "X-RateLimit-Remaining", "900"),
			with(func(w *want) { w.limit, w.remaining = 60, 60 })},
		{"negative remaining means none left", hdr("X-RateLimit-Remaining", "-3"),
			with(func(w *want) { w.remaining = 0 })},
		{"garbage numbers are dropped", hdr("X-RateLimit-Limit", "lots", "X-RateLimit-Remaining", "NaN", "X-RateLimit-Reset", "Inf",
			"RateLimit-Limit", "-5", "RateLimit-Reset", "-10", "RateLimit-Policy", "300;w=abc"), none},
		{"huge numbers are dropped", hdr("X-RateLimit-Limit", "1e30", "X-RateLimit-Remaining", "99999999999", "X-RateLimit-Reset", "9999999999999999"), none},
		{"reset decades away is dropped", hdr("X-RateLimit-Reset", itoa(epoch+40*365*86400)), none},
		{"retry-after seconds", hdr("Retry-After", "17"), with(func(w *want) { w.retryAfter = 17 * time.Second })},
		{"retry-after variants: the longest", hdr("Retry-After", "3", "X-RateLimit-RetryAfter", "9", "RetryAfter", "5"),
			with(func(w *want) { w.retryAfter = 9 * time.Second })},
		{"retry-after HTTP date against Date", hdr("Date", parseNow.Format(http.TimeFormat), "Retry-After", parseNow.Add(42*time.Second).Format(http.TimeFormat)),
			with(func(w *want) { w.retryAfter = 42 * time.Second })},
		{"retry-after epoch", hdr("X-RateLimit-RetryAfter", itoa(epoch+8)), with(func(w *want) { w.retryAfter = 8 * time.Second })},
		{"retry-after in the past is zero", hdr("Retry-After", parseNow.Add(-time.Minute).Format(http.TimeFormat)),
			with(func(w *want) { w.retryAfter = 0 })},
		{"retry-after garbage", hdr("Retry-After", "soon"), none},
		{"month headers: both families, lowest", hdr("RateLimit-Limit-Month", "100000", "RateLimit-Remaining-Month", "250",
			"X-RateLimit-Limit-Month", "100000", "X-RateLimit-Remaining-Month", "249"),
			with(func(w *want) { w.monthLimit, w.monthRemaining = 100000, 249 })},
		{"month remaining overdrawn is zero", hdr("X-RateLimit-Remaining-Month", "-20"), with(func(w *want) { w.monthRemaining = 0 })},
		{"every family at once", hdr(
			"Date", parseNow.Format(http.TimeFormat),
			"X-RateLimit-Limit", "300", "X-RateLimit-Remaining", "12", "X-RateLimit-Reset", itoa(epoch+34),
			"RateLimit-Limit", "300", "RateLimit-Remaining", "12", "RateLimit-Reset", "34",
			"RateLimit", "limit=300, remaining=12, reset=34", "RateLimit-Policy", "300;w=60",
			"RateLimit-Limit-Month", "1000", "RateLimit-Remaining-Month", "10",
			"X-RateLimit-Limit-Month", "1000", "X-RateLimit-Remaining-Month", "10"),
			with(func(w *want) {
				w.limit, w.remaining, w.reset, w.window = 300, 12, at(epoch+34), time.Minute
				w.monthLimit, w.monthRemaining = 1000, 10
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseHeaders(tt.h, parseNow)
			w := tt.want
			if got.Limit != w.limit || got.Remaining != w.remaining || !got.ResetAt.Equal(w.reset) || got.ResetExact != w.exact ||
				got.Window != w.window || got.RetryAfter != w.retryAfter || got.MonthLimit != w.monthLimit || got.MonthRemaining != w.monthRemaining {
				t.Errorf("ParseHeaders =\n limit %d remaining %d reset %v exact %v window %v retryAfter %v month %d/%d\nwant\n limit %d remaining %d reset %v exact %v window %v retryAfter %v month %d/%d",
					got.Limit, got.Remaining, got.ResetAt, got.ResetExact, got.Window, got.RetryAfter, got.MonthLimit, got.MonthRemaining,
					w.limit, w.remaining, w.reset, w.exact, w.window, w.retryAfter, w.monthLimit, w.monthRemaining)
			}
		})
	}
}

func TestParseHeadersDateHoursOff(t *testing.T) {
	// The server's clock is 5 h ahead: its epoch reset is read against its own Date, not ours.
	srv := parseNow.Add(5 * time.Hour)
	h := hdr("Date", srv.Format(http.TimeFormat), "X-RateLimit-Reset", itoa(srv.Unix()+20), "RateLimit-Reset", "20")
	got := ParseHeaders(h, parseNow)
	if !got.Date.Equal(srv) || !got.ResetAt.Equal(srv.Add(20*time.Second)) || got.ResetExact {
		t.Fatalf("Date %v reset %v exact %v; want %v and %v", got.Date, got.ResetAt, got.ResetExact, srv, srv.Add(20*time.Second))
	}
	// A Date years away is garbage, not skew.
	h = hdr("Date", parseNow.AddDate(30, 0, 0).Format(http.TimeFormat), "RateLimit-Reset", "20")
	if got := ParseHeaders(h, parseNow); !got.Date.IsZero() || !got.ResetAt.Equal(parseNow.Add(20*time.Second)) {
		t.Fatalf("absurd Date used: %+v", got)
	}
}

func TestQuotaErrorName(t *testing.T) {
	names := []string{"serviceLimitExhausted"}
	tests := []struct {
		body string
		want bool
	}{
		{`{"error":{"name":"serviceLimitExhausted","message":"Service limit exhausted."}}`, true},
		{`{"error":"serviceLimitExhausted","message":"x"}`, true},
		{`{"type":"https://api.postman.com/problems/serviceLimitExhausted","title":"x","status":429}`, true},
		{`{"error":{"name":"SERVICELIMITEXHAUSTED"}}`, true},
		{`{"error":{"name":"rateLimited","message":"Rate limit exceeded"}}`, false},
		{`{"error":"rateLimited","message":"serviceLimitExhausted in the message does not count"}`, false},
		{`{"type":"https://api.postman.com/problems/too-many-requests","title":"Too Many Requests","status":429}`, false},
		{`<html>429</html>`, false},
		{``, false},
	}
	for _, tt := range tests {
		if got := quotaErrorName([]byte(tt.body), names); got != tt.want {
			t.Errorf("quotaErrorName(%s) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func FuzzParseHeaders(f *testing.F) {
	epoch := itoa(parseNow.Unix())
	seeds := [][2]string{
		{"X-RateLimit-Limit", "300"}, {"X-RateLimit-Remaining", "12"}, {"X-RateLimit-Reset", epoch},
		{"X-RateLimit-Reset", "34"}, {"X-RateLimit-Reset", epoch + "000"},
		{"RateLimit-Limit", "60"}, {"RateLimit-Remaining", "0"}, {"RateLimit-Reset", "34"},
		{"RateLimit", "limit=300, remaining=12, reset=34"}, {"RateLimit", `"default";r=50;t=30`},
		{"RateLimit-Policy", "300;w=60"}, {"RateLimit-Policy", `"default";q=100;w=10, 10;w=1`},
		{"Retry-After", "17"}, {"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"},
		{"X-RateLimit-RetryAfter", "5"}, {"RetryAfter", "2.5"},
		{"RateLimit-Limit-Month", "100000"}, {"RateLimit-Remaining-Month", "0"},
		{"X-RateLimit-Limit-Month", "1000"}, {"X-RateLimit-Remaining-Month", "-1"},
		{"Date", parseNow.Format(http.TimeFormat)}, {"X-RateLimit-Limit", "-1e309"}, {"RateLimit", "limit=;;==,,"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], "RateLimit", "limit=1, remaining=2, reset=3")
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		h := http.Header{}
		h.Add(k1, v1)
		h.Add(k2, v2)
		got := ParseHeaders(h, parseNow)
		if got.Limit != -1 && (got.Limit < 1 || got.Limit > maxSaneLimit) {
			t.Fatalf("limit %d", got.Limit)
		}
		if got.Remaining < -1 || (got.Limit > 0 && got.Remaining > got.Limit) {
			t.Fatalf("remaining %d of %d", got.Remaining, got.Limit)
		}
		if got.RetryAfter < -1 || got.RetryAfter > 400*24*time.Hour {
			t.Fatalf("retry after %v", got.RetryAfter)
		}
		if !got.ResetAt.IsZero() {
			base := parseNow
			if !got.Date.IsZero() {
				base = got.Date
			}
			if d := got.ResetAt.Sub(base); d < -epochNearness || d > epochNearness+maxDeltaSecs*time.Second {
				t.Fatalf("reset %v from now", d)
			}
		}
		if got.MonthRemaining < -1 || got.MonthLimit < -1 || got.Window < 0 || got.Window > 24*time.Hour {
			t.Fatalf("month %d/%d window %v", got.MonthRemaining, got.MonthLimit, got.Window)
		}
		_ = quotaErrorName([]byte(v1), []string{k1, "serviceLimitExhausted"})
	})
}

func FuzzQuotaErrorName(f *testing.F) {
	for _, s := range []string{
		`{"error":{"name":"serviceLimitExhausted"}}`, `{"error":"rateLimited","message":"m"}`,
		`{"type":"https://x/problems/serviceLimitExhausted"}`, `{"error":[1,2]}`, `{"error":{"name":7}}`, `null`, `"x"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got := quotaErrorName([]byte(body), []string{"serviceLimitExhausted"})
		if got && !strings.Contains(strings.ToLower(body), "servicelimitexhausted") && !strings.Contains(body, `\`) {
			t.Fatalf("quota error found in %q", body)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
