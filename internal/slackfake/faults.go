package slackfake

import (
	"math"
	"time"
)

// Fault is an injected misbehaviour for a Web API method (or "response_url", or "*" for every Web API
// method). Answers follow Slack's shapes:
//   - Status 429 (or RetryAfter > 0): HTTP 429, header "Retry-After: <whole seconds, at least 1>", body
//     {"ok":false,"error":"ratelimited"} (slack-go turns this into *slack.RateLimitedError).
//   - Status >= 500: that status with a small HTML body, as Slack's edge does.
//   - Error != "" (Status 0): HTTP 200 {"ok":false,"error":Error}.
//   - Latency > 0: the answer (faulty or normal) is delayed; with no Status/Error the call then proceeds
//     normally.
//
// Faults apply after authentication (a bad token still gets invalid_auth).
type Fault struct {
	Status     int
	RetryAfter time.Duration
	Error      string
	Latency    time.Duration
	// Times is how many calls the fault applies to; 0 means until ClearFaults.
	Times int
}

type faultState struct {
	Fault
	left int // remaining uses; -1 = unlimited
}

// InjectFault queues f for method. Several faults for one method apply in the order injected.
func (s *Server) InjectFault(method string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := f.Times
	if left <= 0 {
		left = -1
	}
	s.faults[method] = append(s.faults[method], &faultState{Fault: f, left: left})
}

// ClearFaults removes the faults of method ("" removes all).
func (s *Server) ClearFaults(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if method == "" {
		s.faults = map[string][]*faultState{}
		return
	}
	delete(s.faults, method)
}

// RateLimitNext makes the next n calls to method answer 429 with Retry-After.
func (s *Server) RateLimitNext(method string, n int, retryAfter time.Duration) {
	s.InjectFault(method, Fault{Status: 429, RetryAfter: retryAfter, Times: n})
}

// FailNext makes the next n calls to method answer HTTP 200 {"ok":false,"error":code}.
func (s *Server) FailNext(method string, n int, code string) {
	s.InjectFault(method, Fault{Error: code, Times: n})
}

// takeFaultLocked consumes and returns the fault that applies to method, if any.
func (s *Server) takeFaultLocked(method string) *Fault {
	for _, key := range []string{method, "*"} {
		if key == "*" && method == "response_url" {
			continue
		}
		list := s.faults[key]
		for i, f := range list {
			if f.left == 0 {
				continue
			}
			if f.left > 0 {
				f.left--
			}
			out := f.Fault
			if f.left == 0 {
				s.faults[key] = append(list[:i:i], list[i+1:]...)
			}
			return &out
		}
	}
	return nil
}

func retryAfterSeconds(d time.Duration) int {
	secs := int(math.Ceil(d.Seconds()))
	return max(secs, 1)
}

// ChannelRate models chat.postMessage's per-channel limit: a bucket of Burst messages refilled at one
// message per Interval. Exceeding it answers 429 with Retry-After, as Slack does.
type ChannelRate struct {
	Interval time.Duration // default 1 s
	Burst    int           // default 1
}

type bucket struct {
	tokens float64
	last   time.Time
}

// takeTokenLocked spends one message of channelID's budget, or says how long until one is available.
func (s *Server) takeTokenLocked(channelID string) (ok bool, wait time.Duration) {
	r := s.opts.ChannelRate
	if r == nil {
		return true, 0
	}
	interval := r.Interval
	if interval <= 0 {
		interval = time.Second
	}
	burst := float64(max(r.Burst, 1))
	now := s.clock.Now()
	b := s.buckets[channelID]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		s.buckets[channelID] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(burst, b.tokens+float64(elapsed)/float64(interval))
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(interval))
}
