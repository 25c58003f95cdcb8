package mcpserver

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/pmops/pmops/internal/clock"
)

const sessionPrefix = "mcp-session-"

// sessionTable is the HTTP server's record of live MCP sessions: mcp-go's session ID manager (stateful: an
// unknown or expired ID gets 404, so the client initializes again), the cap on live sessions, and the idle clock.
// A session pins the key it was opened with, so the key's client outlives it.
type sessionTable struct {
	clk  clock.Clock
	ttl  time.Duration
	max  int
	keys KeyPinner

	mu       sync.Mutex
	sessions map[string]*liveSession
	reserved int
}

type liveSession struct {
	lastActive time.Time
	busy       int // requests in progress on the session, open streams included
	release    func()
}

// reservation is a session slot held by an initialize request until mcp-go generates its ID.
type reservation struct {
	key     string
	adopted string // the session ID, once generated
	done    bool
}

type reservationCtx struct{}

func newSessionTable(clk clock.Clock, ttl time.Duration, max int, keys KeyPinner) *sessionTable {
	return &sessionTable{clk: clk, ttl: ttl, max: max, keys: keys, sessions: map[string]*liveSession{}}
}

func (t *sessionTable) live() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sessions)
}

// inUse counts the sessions with a request in progress or a stream open.
func (t *sessionTable) inUse() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, s := range t.sessions {
		if s.busy > 0 {
			n++
		}
	}
	return n
}

// reserve holds a slot for an initialize, or says how long until one is likely to free up.
func (t *sessionTable) reserve(key string) (*reservation, time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.sessions)+t.reserved >= t.max {
		return nil, t.retryAfterLocked(), false
	}
	t.reserved++
	return &reservation{key: key}, 0, true
}

// retryAfterLocked is the time until the first idle session expires, at least a second.
func (t *sessionTable) retryAfterLocked() time.Duration {
	now := t.clk.Now()
	wait := t.ttl
	for _, s := range t.sessions {
		if s.busy == 0 {
			wait = min(wait, s.lastActive.Add(t.ttl).Sub(now))
		}
	}
	return max(wait.Round(time.Second), time.Second)
}

// adopt turns res into the live session id.
func (t *sessionTable) adopt(res *reservation, id string) {
	var release func()
	if t.keys != nil {
		// The initialize request has the key pinned already, so this cannot be refused.
		release, _ = t.keys.Pin(res.key)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if res.done || res.adopted != "" {
		if release != nil {
			release()
		}
		return
	}
	res.adopted = id
	t.reserved--
	t.sessions[id] = &liveSession{lastActive: t.clk.Now(), busy: 1, release: release}
}

// settle ends an initialize request: its session, if one was made, is now idle; an unused slot is given back.
func (t *sessionTable) settle(res *reservation) {
	t.mu.Lock()
	defer t.mu.Unlock()
	res.done = true
	if res.adopted == "" {
		t.reserved--
		return
	}
	if s := t.sessions[res.adopted]; s != nil {
		s.busy--
		s.lastActive = t.clk.Now()
	}
}

// begin marks a request on session id as in progress, if the session is live.
func (t *sessionTable) begin(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.sessions[id]
	if s == nil {
		return false
	}
	s.busy++
	s.lastActive = t.clk.Now()
	return true
}

func (t *sessionTable) end(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.sessions[id]; s != nil {
		s.busy--
		s.lastActive = t.clk.Now()
	}
}

// expire drops the sessions idle for the TTL or longer and returns their IDs.
func (t *sessionTable) expire() []string {
	now := t.clk.Now()
	var ids []string
	var releases []func()
	t.mu.Lock()
	for id, s := range t.sessions {
		if s.busy == 0 && now.Sub(s.lastActive) >= t.ttl {
			ids = append(ids, id)
			if s.release != nil {
				releases = append(releases, s.release)
			}
			delete(t.sessions, id)
		}
	}
	t.mu.Unlock()
	for _, r := range releases {
		r()
	}
	return ids
}

// remove drops session id (a client's DELETE, or shutdown).
func (t *sessionTable) remove(id string) {
	t.mu.Lock()
	s := t.sessions[id]
	delete(t.sessions, id)
	t.mu.Unlock()
	if s != nil && s.release != nil {
		s.release()
	}
}

// ResolveSessionIdManager gives mcp-go a manager bound to the request, so Generate can adopt its reservation.
func (t *sessionTable) ResolveSessionIdManager(r *http.Request) server.SessionIdManager {
	m := &boundManager{t: t}
	if r != nil {
		m.res, _ = r.Context().Value(reservationCtx{}).(*reservation)
	}
	return m
}

type boundManager struct {
	t   *sessionTable
	res *reservation
}

// Generate mints a session ID. Initialize requests hold a reservation, which the ID takes over; any other path
// to a new ID (serveMCP lets none through) is still recorded, so the idle TTL ends it.
func (m *boundManager) Generate() string {
	id := sessionPrefix + rand.Text()
	if m.res != nil {
		m.t.adopt(m.res, id)
		return id
	}
	m.t.mu.Lock()
	m.t.sessions[id] = &liveSession{lastActive: m.t.clk.Now()}
	m.t.mu.Unlock()
	return id
}

func (m *boundManager) Validate(id string) (isTerminated bool, err error) {
	if !strings.HasPrefix(id, sessionPrefix) {
		return false, fmt.Errorf("invalid session id")
	}
	m.t.mu.Lock()
	defer m.t.mu.Unlock()
	if m.t.sessions[id] == nil {
		return false, fmt.Errorf("session not found or expired; initialize again")
	}
	return false, nil
}

func (m *boundManager) Terminate(id string) (isNotAllowed bool, err error) {
	m.t.remove(id)
	return false, nil
}
