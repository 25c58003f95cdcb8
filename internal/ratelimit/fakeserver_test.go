package ratelimit

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pmops/pmops/internal/clock"
)

// Header families the fake server can send.
const (
	famX = 1 << iota
	famRL
	famCombined
	famPolicy
	famMonth
	famDate
	famRetryAfter
	famAll = famX | famRL | famCombined | famPolicy | famMonth | famDate | famRetryAfter
)

// fakeConfig describes an in-memory fixed-window server (an http.RoundTripper) for tests and the benchmark.
type fakeConfig struct {
	Limit    int
	Window   time.Duration
	Skew     time.Duration // server clock minus local clock
	Latency  time.Duration // one way
	Jitter   time.Duration // extra one-way latency, a deterministic function of the request id
	Month    int           // monthly quota; 0 = unlimited
	Families int           // 0 = famAll
	// Storm answers a request 429 with this Retry-After (seconds) when it returns ok.
	Storm func(id string) (retryAfter int, hit bool)
	// Route is a server-side route bucket (fixed window) on paths with this prefix; its 429s carry only
	// Retry-After.
	RoutePrefix string
	RouteLimit  int
	RouteWindow time.Duration
	// Body answers successful requests; nil answers {"ok":true}.
	Body func(req *http.Request) (int, string)
	// Foreign is how many requests other clients of the key make at the start of every window.
	Foreign int
	// QuotaStyle picks the quota 429 body: "object" (default), "string", "problem".
	QuotaStyle string

	// Server clock dialects. WindowOffset moves the windows off the grid of epoch multiples of Window;
	// FirstCall starts a key's window at its first call after the previous one ended (WindowOffset is then
	// unused). ResetRounding is how the epoch X-RateLimit-Reset is written: "up" (default), "down", "exact"
	// (milliseconds as a fraction).
	WindowOffset  time.Duration
	FirstCall     bool
	ResetRounding string
	// RouteHeaders makes 2xx answers on the route bucket's paths carry the bucket's headers, not the key's.
	RouteHeaders bool
}

// fakeWindow is one window of a FirstCall server.
type fakeWindow struct {
	start, end time.Time
	n          int
}

type fakeBlock struct{ delivered, until time.Time }

type fakeServer struct {
	cfg fakeConfig

	mu        sync.Mutex
	winIdx    int64
	winCount  int
	perWindow map[int64]int
	routeIdx  int64
	routeN    int
	monthUsed int
	inFlight  int

	sends, oks, n429, quota429 int
	exhausted                  bool
	inFlightAtExhaustion       int
	sentAfterExhaustion        int
	blocks                     []fakeBlock
	early                      int
	paths                      []string
	keys                       []string
	windows                    []fakeWindow // FirstCall mode
}

func newFakeServer(cfg fakeConfig) *fakeServer {
	if cfg.Limit == 0 {
		cfg.Limit = 60
	}
	if cfg.Window == 0 {
		cfg.Window = 60 * time.Second
	}
	if cfg.Families == 0 {
		cfg.Families = famAll
	}
	return &fakeServer{cfg: cfg, perWindow: map[int64]int{}, winIdx: -1, routeIdx: -1}
}

func (s *fakeServer) has(f int) bool { return s.cfg.Families&f != 0 }

func hashID(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

func (s *fakeServer) latency(id string, leg int) time.Duration {
	d := s.cfg.Latency
	if s.cfg.Jitter > 0 {
		d += time.Duration(hashID(id+strconv.Itoa(leg)) % uint64(s.cfg.Jitter))
	}
	return d
}

var sleepCtx = clock.Sleep

func (s *fakeServer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	id := req.Header.Get("X-Req-Id")
	now := time.Now()
	s.mu.Lock()
	s.sends++
	s.inFlight++
	s.paths = append(s.paths, req.Method+" "+req.URL.Path)
	s.keys = append(s.keys, req.Header.Get("X-Api-Key"))
	if s.exhausted {
		s.sentAfterExhaustion++
	}
	for _, b := range s.blocks {
		if now.After(b.delivered) && now.Before(b.until) {
			s.early++
			break
		}
	}
	s.mu.Unlock()
	if err := sleepCtx(req.Context(), s.latency(id, 0)); err != nil {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
		return nil, err
	}
	resp, ra := s.serve(req, id)
	_ = sleepCtx(context.Background(), s.latency(id, 1))
	s.mu.Lock()
	s.inFlight--
	if ra > 0 {
		d := time.Now()
		s.blocks = append(s.blocks, fakeBlock{delivered: d, until: d.Add(time.Duration(ra) * time.Second)})
	}
	s.mu.Unlock()
	return resp, nil
}

func (s *fakeServer) serve(req *http.Request, id string) (*http.Response, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	srvNow := time.Now().Add(s.cfg.Skew)
	W := int64(s.cfg.Window)
	var idx int64
	var resetAt time.Time
	if s.cfg.FirstCall {
		if n := len(s.windows); n == 0 || !srvNow.Before(s.windows[n-1].end) {
			s.windows = append(s.windows, fakeWindow{start: srvNow, end: srvNow.Add(s.cfg.Window)})
			s.winCount = min(s.cfg.Foreign, s.cfg.Limit)
		}
		idx = int64(len(s.windows) - 1)
		resetAt = s.windows[idx].end
	} else {
		off := int64(s.cfg.WindowOffset)
		idx = floorDiv(srvNow.UnixNano()-off, W)
		if idx != s.winIdx {
			s.winIdx, s.winCount = idx, min(s.cfg.Foreign, s.cfg.Limit)
		}
		resetAt = time.Unix(0, (idx+1)*W+off)
	}
	h := http.Header{}
	status, body, retryAfter := http.StatusOK, `{"ok":true}`, 0
	routed := s.cfg.RoutePrefix != "" && strings.HasPrefix(req.URL.Path, s.cfg.RoutePrefix)
	if routed {
		if ri := srvNow.UnixNano() / int64(s.cfg.RouteWindow); ri != s.routeIdx {
			s.routeIdx, s.routeN = ri, 0
		}
	}
	quotaOut := s.cfg.Month > 0 && s.monthUsed >= s.cfg.Month
	stormRA, storm := 0, false
	if s.cfg.Storm != nil && !quotaOut {
		stormRA, storm = s.cfg.Storm(id)
	}
	switch {
	case quotaOut:
		status = http.StatusTooManyRequests
		s.quota429++
		switch s.cfg.QuotaStyle {
		case "string":
			body = `{"error":"serviceLimitExhausted","message":"Service limit exhausted. Please contact your team admin."}`
		case "problem":
			body = `{"type":"https://api.postman.com/problems/serviceLimitExhausted","title":"Service limit exhausted","status":429}`
		default:
			body = `{"error":{"name":"serviceLimitExhausted","message":"Service limit exhausted. Please contact your team admin."}}`
		}
	case storm:
		status, retryAfter = http.StatusTooManyRequests, stormRA
		body = `{"error":{"name":"rateLimited","message":"Rate limit exceeded."}}`
	case routed && s.routeN >= s.cfg.RouteLimit:
		status = http.StatusTooManyRequests
		rEnd := time.Unix(0, (s.routeIdx+1)*int64(s.cfg.RouteWindow))
		retryAfter = int(ceilSec(rEnd.Sub(srvNow)))
		body = `{"error":"rateLimited","message":"Rate limit exceeded"}`
	case s.winCount >= s.cfg.Limit:
		status, retryAfter = http.StatusTooManyRequests, int(ceilSec(resetAt.Sub(srvNow)))
		body = `{"error":{"name":"rateLimited","message":"Rate limit exceeded."}}`
	default:
		s.winCount++
		s.perWindow[idx]++
		if s.cfg.FirstCall {
			s.windows[idx].n++
		}
		s.monthUsed++
		s.oks++
		if routed {
			s.routeN++
		}
		if s.cfg.Month > 0 && s.monthUsed == s.cfg.Month {
			s.exhausted = true
			s.inFlightAtExhaustion = s.inFlight - 1
		}
		if s.cfg.Body != nil {
			status, body = s.cfg.Body(req)
		}
	}
	if status == http.StatusTooManyRequests && !quotaOut {
		s.n429++
	}
	bucket429 := routed && status == http.StatusTooManyRequests && !storm && !quotaOut && s.winCount < s.cfg.Limit
	switch {
	case routed && status == http.StatusOK && s.cfg.RouteHeaders:
		rEnd := time.Unix(0, (s.routeIdx+1)*int64(s.cfg.RouteWindow))
		s.writeHeaders(h, srvNow, s.cfg.RouteLimit, s.cfg.RouteLimit-s.routeN, rEnd, s.cfg.RouteWindow, quotaOut)
	case !bucket429:
		s.writeHeaders(h, srvNow, s.cfg.Limit, s.cfg.Limit-s.winCount, resetAt, s.cfg.Window, quotaOut)
	}
	if retryAfter > 0 && s.has(famRetryAfter) {
		ra := strconv.Itoa(retryAfter)
		h.Set("Retry-After", ra)
		h.Set("X-RateLimit-RetryAfter", ra)
		h.Set("RetryAfter", ra)
	}
	h.Set("Content-Type", "application/json")
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(bytes.NewReader([]byte(body))), ContentLength: int64(len(body)), Request: req,
	}, retryAfter
}

func ceilSec(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// epochReset writes an epoch reset in the configured rounding.
func (s *fakeServer) epochReset(resetAt time.Time) string {
	switch s.cfg.ResetRounding {
	case "down":
		return strconv.FormatInt(floorDiv(resetAt.UnixNano(), int64(time.Second)), 10)
	case "exact":
		return strconv.FormatFloat(float64(resetAt.UnixMilli())/1000, 'f', 3, 64)
	default:
		return strconv.FormatInt(ceilSec(time.Duration(resetAt.UnixNano())), 10)
	}
}

func (s *fakeServer) writeHeaders(h http.Header, srvNow time.Time, L, rem int, resetAt time.Time, window time.Duration, quotaOut bool) {
	rem = max(0, rem)
	delta := ceilSec(resetAt.Sub(srvNow))
	if s.has(famDate) {
		h.Set("Date", srvNow.UTC().Format(http.TimeFormat))
	}
	if s.has(famX) {
		h.Set("X-RateLimit-Limit", strconv.Itoa(L))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(rem))
		h.Set("X-RateLimit-Reset", s.epochReset(resetAt))
	}
	if s.has(famRL) {
		h.Set("RateLimit-Limit", strconv.Itoa(L))
		h.Set("RateLimit-Remaining", strconv.Itoa(rem))
		h.Set("RateLimit-Reset", strconv.FormatInt(delta, 10))
	}
	if s.has(famCombined) {
		h.Set("RateLimit", fmt.Sprintf("limit=%d, remaining=%d, reset=%d", L, rem, delta))
	}
	if s.has(famPolicy) {
		h.Set("RateLimit-Policy", fmt.Sprintf("%d;w=%d", L, ceilSec(window)))
	}
	if s.has(famMonth) && s.cfg.Month > 0 {
		mrem := strconv.Itoa(max(0, s.cfg.Month-s.monthUsed))
		if quotaOut {
			mrem = "0"
		}
		h.Set("RateLimit-Limit-Month", strconv.Itoa(s.cfg.Month))
		h.Set("RateLimit-Remaining-Month", mrem)
		h.Set("X-RateLimit-Limit-Month", strconv.Itoa(s.cfg.Month))
		h.Set("X-RateLimit-Remaining-Month", mrem)
	}
}

// fullWindowUse is the successes in windows that lie entirely within [from, to) (server clock), over their
// capacity, and how many such windows there were.
func (s *fakeServer) fullWindowUse(from, to time.Time) (float64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.FirstCall {
		total, n := 0, 0
		for _, w := range s.windows {
			if !w.start.Before(from) && !w.end.After(to) {
				total += w.n
				n++
			}
		}
		if n == 0 {
			return 0, 0
		}
		return float64(total) / float64(n*s.cfg.Limit), n
	}
	W := int64(s.cfg.Window)
	off := int64(s.cfg.WindowOffset)
	first := floorDiv(from.UnixNano()-off+W-1, W)
	last := floorDiv(to.UnixNano()-off, W) - 1
	if last < first {
		return 0, 0
	}
	total := 0
	for i := first; i <= last; i++ {
		total += s.perWindow[i]
	}
	n := int(last - first + 1)
	return float64(total) / float64(n*s.cfg.Limit), n
}

type fakeCounts struct {
	sends, oks, n429, quota429, early, sentAfterExhaustion, inFlightAtExhaustion int
	exhausted                                                                    bool
}

func (s *fakeServer) counts() fakeCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fakeCounts{s.sends, s.oks, s.n429, s.quota429, s.early, s.sentAfterExhaustion, s.inFlightAtExhaustion, s.exhausted}
}
