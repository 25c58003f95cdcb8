package emulator

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func header(t *testing.T, r *resp, name string) string {
	t.Helper()
	v := r.Header.Get(name)
	if v == "" {
		t.Fatalf("missing header %s (have %v)", name, r.Header)
	}
	return v
}

func headerInt(t *testing.T, r *resp, name string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(header(t, r, name), 10, 64)
	if err != nil {
		t.Fatalf("header %s=%q is not an integer", name, r.Header.Get(name))
	}
	return n
}

var rateHeaders = []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit-Limit", "RateLimit-Remaining",
	"RateLimit-Reset", "RateLimit", "RateLimit-Policy", "RateLimit-Limit-Month", "RateLimit-Remaining-Month", "X-RateLimit-Limit-Month",
	"X-RateLimit-Remaining-Month", "Date"}

func TestEveryResponseCarriesRateHeaders(t *testing.T) {
	f := newFixture(t, Options{PerWindow: 2})
	cases := []struct {
		name string
		key  string
		path string
		code int
	}{
		{"ok", DemoKey, "/me", 200},
		{"not found", DemoKey, "/nope", 404},
		{"missing key", "", "/me", 401},
		{"invalid key", "PMAK-x", "/me", 401},
		{"rate limited", DemoKey, "/me", 429},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do("GET", c.path, c.key, nil)
			wantStatus(t, r, c.code)
			for _, h := range rateHeaders {
				header(t, r, h)
			}
			if c.code == 429 {
				for _, h := range []string{"Retry-After", "X-RateLimit-RetryAfter", "RetryAfter"} {
					header(t, r, h)
				}
			} else if r.Header.Get("Retry-After") != "" {
				t.Fatalf("Retry-After on a %d", c.code)
			}
		})
	}
}

func TestFixedWindowCountsAndResets(t *testing.T) {
	f := newFixture(t, Options{PerWindow: 3})
	windowEnd := time.Date(2026, 3, 12, 9, 31, 0, 0, time.UTC) // testStart is 20 s into the window
	for i := 1; i <= 3; i++ {
		r := f.do("GET", "/me", DemoKey, nil)
		wantStatus(t, r, 200)
		if got := headerInt(t, r, "X-RateLimit-Remaining"); got != int64(3-i) {
			t.Fatalf("request %d: remaining %d, want %d", i, got, 3-i)
		}
		if got := headerInt(t, r, "X-RateLimit-Reset"); got != windowEnd.Unix() {
			t.Fatalf("X-RateLimit-Reset %d, want epoch %d", got, windowEnd.Unix())
		}
		if got := headerInt(t, r, "RateLimit-Reset"); got != 40 {
			t.Fatalf("RateLimit-Reset %d, want 40 s", got)
		}
	}
	r := f.do("GET", "/me", DemoKey, nil)
	wantError(t, r, 429, "rateLimited")
	if got := header(t, r, "Retry-After"); got != "40" {
		t.Fatalf("Retry-After %s, want 40", got)
	}
	if got, want := header(t, r, "RateLimit"), "limit=3, remaining=0, reset=40"; got != want {
		t.Fatalf("RateLimit %q, want %q", got, want)
	}
	if got := header(t, r, "RateLimit-Policy"); got != "3;w=60" {
		t.Fatalf("RateLimit-Policy %q", got)
	}
	if msg := r.str("error", "message"); msg != "Rate limit exceeded. Please retry after "+strconv.FormatInt(windowEnd.UnixMilli(), 10) {
		t.Fatalf("message %q", msg)
	}
	// Other keys have their own window.
	wantStatus(t, f.do("GET", "/me", DemoTeammateKey, nil), 200)

	f.clk.Advance(39 * time.Second)
	wantStatus(t, f.do("GET", "/me", DemoKey, nil), 429)
	f.clk.Advance(time.Second) // exactly the window boundary
	r = f.do("GET", "/me", DemoKey, nil)
	wantStatus(t, r, 200)
	if got := headerInt(t, r, "X-RateLimit-Remaining"); got != 2 {
		t.Fatalf("new window remaining %d, want 2", got)
	}
	if got := headerInt(t, r, "RateLimit-Reset"); got != 60 {
		t.Fatalf("new window RateLimit-Reset %d, want 60", got)
	}
	st := f.e.Stats(DemoKey)
	if st.Requests != 6 || st.Admitted != 4 || st.RateLimited != 2 || f.e.Requests(DemoKey) != 6 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRouteBucket(t *testing.T) {
	f := newFixture(t, Options{})
	for i := range 10 {
		r := f.do("GET", "/collections", DemoKey, nil)
		wantStatus(t, r, 200)
		if got := headerInt(t, r, "X-RateLimit-Limit"); got != 300 {
			t.Fatalf("request %d: success describes limit %d, want the main 300", i, got)
		}
	}
	for _, path := range []string{"/collections", "/workspaces", "/monitors", "/monitors/" + f.uid("monitor", DemoMonitorPassing)} {
		r := f.do("GET", path, DemoKey, nil)
		wantError(t, r, 429, "rateLimited")
		if headerInt(t, r, "X-RateLimit-Limit") != 10 || headerInt(t, r, "X-RateLimit-Remaining") != 0 {
			t.Fatalf("%s: the 429 must describe the route bucket: %v", path, r.Header)
		}
		if got := header(t, r, "RateLimit-Policy"); got != "10;w=10" {
			t.Fatalf("policy %q", got)
		}
		bucketEnd := time.Date(2026, 3, 12, 9, 30, 30, 0, time.UTC)
		if headerInt(t, r, "X-RateLimit-Reset") != bucketEnd.Unix() || header(t, r, "Retry-After") != "10" {
			t.Fatalf("%s: reset/retry describe the wrong window: %v", path, r.Header)
		}
	}
	// Routes outside the bucket still work; so does the bucket after its window.
	wantStatus(t, f.do("GET", "/environments", DemoKey, nil), 200)
	wantStatus(t, f.do("GET", "/collections", DemoTeammateKey, nil), 200)
	f.clk.Advance(10 * time.Second)
	wantStatus(t, f.do("GET", "/collections", DemoKey, nil), 200)
}

func TestClockSkewMovesDateAndReset(t *testing.T) {
	for _, skew := range []time.Duration{3 * time.Second, -3 * time.Second, 700 * time.Millisecond} {
		t.Run(skew.String(), func(t *testing.T) {
			f := newFixture(t, Options{ClockSkew: skew})
			r := f.do("GET", "/me", DemoKey, nil)
			server := testStart.Add(skew)
			date, err := http.ParseTime(header(t, r, "Date"))
			if err != nil || !date.Equal(server.Truncate(time.Second)) {
				t.Fatalf("Date %v, want the server clock %v", date, server)
			}
			end := server.Truncate(time.Minute).Add(time.Minute)
			if headerInt(t, r, "X-RateLimit-Reset") != end.Unix() {
				t.Fatalf("reset %d, want %d", headerInt(t, r, "X-RateLimit-Reset"), end.Unix())
			}
			want := int64((end.Sub(server) + time.Second - 1) / time.Second)
			if headerInt(t, r, "RateLimit-Reset") != want {
				t.Fatalf("RateLimit-Reset %d, want %d", headerInt(t, r, "RateLimit-Reset"), want)
			}
		})
	}
}

func TestWindowsAlignToTheSkewedServerClock(t *testing.T) {
	// The injected clock is 1 s before a window boundary, but the server runs 2 s ahead: its window has rolled.
	f := newFixture(t, Options{PerWindow: 1, ClockSkew: 2 * time.Second})
	f.clk.Set(time.Date(2026, 3, 12, 9, 30, 58, 0, time.UTC))
	wantStatus(t, f.do("GET", "/me", DemoKey, nil), 200)
	f.clk.Advance(time.Second)
	wantStatus(t, f.do("GET", "/me", DemoKey, nil), 429) // server 09:31:01, same window as the first
	f.clk.Advance(59 * time.Second)
	wantStatus(t, f.do("GET", "/me", DemoKey, nil), 200)
}

func TestMonthlyQuota(t *testing.T) {
	f := newFixture(t, Options{MonthlyQuota: 5, MonthlyUsageStart: 3})
	for i := range 2 {
		r := f.do("GET", "/me", DemoKey, nil)
		wantStatus(t, r, 200)
		if got := headerInt(t, r, "RateLimit-Remaining-Month"); got != int64(1-i) {
			t.Fatalf("remaining-month %d, want %d", got, 1-i)
		}
		if i == 1 {
			var usage map[string]any
			for _, op := range r.arr("operations") {
				if m := op.(map[string]any); m["name"] == "api_usage" {
					usage = m
				}
			}
			if usage == nil || dig(usage, "limit").(interface{ String() string }).String() != "5" || dig(usage, "usage").(interface{ String() string }).String() != "5" {
				t.Fatalf("api_usage %v, want limit 5 usage 5", usage)
			}
		}
	}
	for range 3 {
		r := f.do("GET", "/collections", DemoKey, nil)
		wantError(t, r, 429, "serviceLimitExhausted")
		if r.str("error", "message") != "Service limit exhausted. Please contact your team admin." {
			t.Fatalf("message %q", r.str("error", "message"))
		}
		if header(t, r, "RateLimit-Remaining-Month") != "0" || header(t, r, "X-RateLimit-Remaining-Month") != "0" ||
			header(t, r, "X-RateLimit-Limit-Month") != "5" {
			t.Fatalf("month headers %v", r.Header)
		}
	}
	if got := f.e.MonthlyUsage(DemoKey); got != 5 {
		t.Fatalf("429s counted against the quota: usage %d", got)
	}
	if st := f.e.Stats(DemoKey); st.QuotaExhausted != 3 {
		t.Fatalf("stats %+v", st)
	}
	// Another key has its own quota; a new month resets this one.
	wantStatus(t, f.do("GET", "/me", DemoTeammateKey, nil), 200)
	f.clk.Set(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	r := f.do("GET", "/me", DemoKey, nil)
	wantStatus(t, r, 200)
	if got := headerInt(t, r, "RateLimit-Remaining-Month"); got != 4 {
		t.Fatalf("new month remaining %d, want 4", got)
	}
}

func Test429Styles(t *testing.T) {
	cases := []struct {
		style string
		check func(t *testing.T, r *resp)
	}{
		{Style429Object, func(t *testing.T, r *resp) { wantError(t, r, 429, "rateLimited") }},
		{Style429String, func(t *testing.T, r *resp) {
			if r.str("error") != "rateLimited" || r.str("message") == "" {
				t.Fatalf("string style body %s", r.Raw)
			}
		}},
		{Style429Problem, func(t *testing.T, r *resp) {
			wantProblem(t, r, 429, "You have exceeded your request limit")
			if r.str("type") != "https://api.postman.com/problems/too-many-requests" || r.num("status") != 429 {
				t.Fatalf("problem body %s", r.Raw)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.style, func(t *testing.T) {
			f := newFixture(t, Options{PerWindow: 1, Style429: c.style})
			f.do("GET", "/me", DemoKey, nil)
			r := f.do("GET", "/me", DemoKey, nil)
			wantStatus(t, r, 429)
			c.check(t, r)
		})
	}
	t.Run("string quota", func(t *testing.T) {
		f := newFixture(t, Options{MonthlyQuota: 1, MonthlyUsageStart: 1, Style429: Style429String})
		r := f.do("GET", "/me", DemoKey, nil)
		if r.Code != 429 || r.str("error") != "serviceLimitExhausted" {
			t.Fatalf("body %s", r.Raw)
		}
	})
}

func TestRejectedRequestsDoNotConsume(t *testing.T) {
	f := newFixture(t, Options{PerWindow: 2})
	f.do("GET", "/me", "", nil)
	f.do("GET", "/me", "PMAK-unknown", nil)
	for range 2 {
		wantStatus(t, f.do("GET", "/me", DemoKey, nil), 200)
	}
	wantStatus(t, f.do("GET", "/me", DemoKey, nil), 429)
	if got := f.e.Stats("PMAK-unknown"); got.Unauthorized != 1 || got.Admitted != 0 {
		t.Fatalf("unknown key stats %+v", got)
	}
	if f.e.TotalRequests() != 5 {
		t.Fatalf("total %d", f.e.TotalRequests())
	}
}

// Server clock dialects: windows off the second grid, windows that start at a key's first call, and the epoch
// reset written rounded up, floored or exact.
func TestWindowDialects(t *testing.T) {
	minute := time.Date(2026, 3, 12, 9, 31, 0, 0, time.UTC) // testStart is 09:30:20
	cases := []struct {
		name      string
		opts      Options
		reset     string        // X-RateLimit-Reset of the first answer
		delta     int64         // RateLimit-Reset of the first answer
		stillFull time.Duration // after testStart: the window is still the first call's (429 with PerWindow 1)
		fresh     time.Duration // after testStart: a new window
	}{
		{"offset 0.9 s, floored", Options{WindowOffset: 900 * time.Millisecond, ResetRounding: ResetRoundDown},
			strconv.FormatInt(minute.Unix(), 10), 41, 40*time.Second + 850*time.Millisecond, 40*time.Second + 900*time.Millisecond},
		{"offset 0.9 s, rounded up", Options{WindowOffset: 900 * time.Millisecond},
			strconv.FormatInt(minute.Unix()+1, 10), 41, 40*time.Second + 850*time.Millisecond, 40*time.Second + 900*time.Millisecond},
		{"offset 0.9 s, exact", Options{WindowOffset: 900 * time.Millisecond, ResetRounding: ResetExact},
			strconv.FormatInt(minute.Unix(), 10) + ".900", 41, 40*time.Second + 850*time.Millisecond, 40*time.Second + 900*time.Millisecond},
		{"on the grid, exact", Options{ResetRounding: ResetExact},
			strconv.FormatInt(minute.Unix(), 10) + ".000", 40, 39*time.Second + 999*time.Millisecond, 40 * time.Second},
		{"first call", Options{WindowFromFirstCall: true, ResetRounding: ResetRoundDown},
			strconv.FormatInt(minute.Unix()+20, 10), 60, 60*time.Second + 249*time.Millisecond, 60*time.Second + 250*time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.PerWindow = 1
			f := newFixture(t, c.opts)
			f.clk.Advance(250 * time.Millisecond)
			r := f.do("GET", "/me", DemoKey, nil)
			wantStatus(t, r, 200)
			if got := header(t, r, "X-RateLimit-Reset"); got != c.reset {
				t.Fatalf("X-RateLimit-Reset %s, want %s", got, c.reset)
			}
			if got := headerInt(t, r, "RateLimit-Reset"); got != c.delta {
				t.Fatalf("RateLimit-Reset %d, want %d", got, c.delta)
			}
			f.clk.Advance(c.stillFull - 250*time.Millisecond)
			wantError(t, f.do("GET", "/me", DemoKey, nil), 429, "rateLimited")
			f.clk.Advance(c.fresh - c.stillFull)
			wantStatus(t, f.do("GET", "/me", DemoKey, nil), 200)
		})
	}
}

func TestFirstCallWindowStartsAfterAnIdleGap(t *testing.T) {
	f := newFixture(t, Options{PerWindow: 2, WindowFromFirstCall: true})
	wantStatus(t, f.do("GET", "/me", DemoKey, nil), 200)
	f.clk.Advance(200 * time.Second) // the first window ended long ago: nothing runs until the next call
	r := f.do("GET", "/me", DemoKey, nil)
	wantStatus(t, r, 200)
	if got, want := headerInt(t, r, "X-RateLimit-Reset"), testStart.Add(260*time.Second).Unix(); got != want {
		t.Fatalf("reset %d, want %d: the window starts at the call", got, want)
	}
	if got := headerInt(t, r, "X-RateLimit-Remaining"); got != 1 {
		t.Fatalf("remaining %d, want 1", got)
	}
	// Another key's window is its own.
	r = f.do("GET", "/me", DemoTeammateKey, nil)
	if got, want := headerInt(t, r, "X-RateLimit-Reset"), testStart.Add(260*time.Second).Unix(); got != want {
		t.Fatalf("teammate reset %d, want %d", got, want)
	}
}

func TestWindowDialectOptionsValidate(t *testing.T) {
	for _, o := range []Options{
		{ResetRounding: "sideways"},
		{WindowOffset: -time.Second},
		{WindowOffset: time.Minute},
		{Window: 10 * time.Second, WindowOffset: 10 * time.Second},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v validated", o)
		}
	}
	if err := (Options{Window: 10 * time.Second, WindowOffset: 9 * time.Second, ResetRounding: ResetExact}).Validate(); err != nil {
		t.Fatal(err)
	}
}
