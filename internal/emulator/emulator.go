package emulator

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/pmops/pmops/internal/clock"
)

// Demo identities. The demo seed gives each of these keys its own user; the first two share a team, the third is
// in another team and must never see the first team's data.
const (
	DemoKey         = "PMAK-demo"
	DemoTeammateKey = "PMAK-demo-teammate"
	OtherTeamKey    = "PMAK-other-team"

	DemoUserID      int64 = 10472311
	DemoTeammateID  int64 = 10472312
	OtherTeamUserID int64 = 20981734

	DemoTeamID  int64 = 4821
	OtherTeamID int64 = 7730
)

// Seeds.
const (
	SeedDemo  = "demo"
	SeedEmpty = "empty"
)

// 429 body styles (notes §10.3).
const (
	Style429Object  = "object"  // {"error":{"name":"rateLimited","message":"…"}}
	Style429String  = "string"  // {"error":"rateLimited","message":"…"}
	Style429Problem = "problem" // application/problem+json too-many-requests
)

// Monitor-result webhook metric name styles (notes §8.3).
const (
	WebhookCamelCase = "camelCase"
	WebhookSnakeCase = "snake_case"
)

// Defaults applied by New when the corresponding Options field is zero.
const (
	DefaultWindow           = 60 * time.Second
	DefaultPerWindow        = 300
	DefaultRouteWindow      = 10 * time.Second
	DefaultRoutePerWindow   = 10
	DefaultMonthlyQuota     = 1_000_000
	DefaultAsyncUpdateDelay = 2 * time.Second
	DefaultLongRunDelay     = 6 * time.Minute
	DefaultWebhookTimeout   = 5 * time.Second
	DefaultMaxBodyBytes     = 100 << 20
	environmentBodyLimit    = 30 << 20
)

// User is one API key and the Postman user it authenticates as.
type User struct {
	Key        string
	ID         int64
	Username   string
	Email      string
	FullName   string
	TeamID     int64 // 0 means the user is in no team
	TeamName   string
	TeamDomain string
	Roles      []string
}

// Options configures an Emulator. The zero value is a demo-seeded emulator on the real clock with Postman's
// documented limits.
type Options struct {
	Clock clock.Clock // nil: the real clock
	Seed  string      // SeedDemo (default) or SeedEmpty
	Keys  []User      // nil: the seed's users (DemoUsers for the demo seed, one DemoKey user for the empty seed)

	Window            time.Duration // the per-key fixed window (default 60 s)
	PerWindow         int           // requests per Window per key (default 300)
	RouteWindow       time.Duration // the window of the stricter route bucket (default 10 s)
	RoutePerWindow    int           // requests per RouteWindow for GET /collections, GET /workspaces[/{id}], /monitors* (default 10)
	MonthlyQuota      int64         // API calls per calendar month per key (default 1,000,000)
	MonthlyUsageStart int64         // usage already spent this month when the emulator starts

	// Server clock dialects. WindowOffset moves every key's window that far off the epoch grid of Window (a
	// window ends at k·Window + WindowOffset); WindowFromFirstCall instead starts a key's window at its first call
	// after the previous one ended (WindowOffset is then unused). ResetRounding says how X-RateLimit-Reset (epoch
	// seconds) is written when a window ends between seconds: ResetRoundUp (default), ResetRoundDown or
	// ResetExact. RateLimit-Reset (a delta) is always rounded up.
	WindowOffset        time.Duration
	WindowFromFirstCall bool
	ResetRounding       string

	Style429  string        // Style429Object (default), Style429String or Style429Problem
	ClockSkew time.Duration // the server's clock minus the injected clock: moves Date, X-RateLimit-Reset and windows
	Latency   time.Duration // added to every response (slept on the real clock, or virtual time inside synctest)

	WebhookURL     string        // monitor-result webhook receiver; "" disables
	WebhookStyle   string        // WebhookCamelCase (default) or WebhookSnakeCase
	WebhookTimeout time.Duration // per delivery (default 5 s)
	WebhookClient  *http.Client  // nil: a plain client

	AsyncUpdateDelay time.Duration // how long a `Prefer: respond-async` collection PUT stays in progress (default 2 s)
	LongRunDelay     time.Duration // how long a ForceLongRun run keeps running after its 202 (default 6 min)
	MaxBodyBytes     int64         // request body cap (default 100 MiB; environments are capped at 30 MiB as documented)

	// PublicURL is the address clients reach this emulator at (for example http://127.0.0.1:8080). When set,
	// mock servers report mockUrl PublicURL/mock/{mockId}, and the demo seed points the staging environment's
	// baseUrl at the Payments API mock (made public, so a collection runner needs no Postman key). Mocks are
	// served at /mock/{mockId}/… on any address either way.
	PublicURL string

	Logger *slog.Logger // nil: discard
}

// Validate reports the first invalid option, in words a flag parser can show.
func (o Options) Validate() error {
	switch o.Seed {
	case "", SeedDemo, SeedEmpty:
	default:
		return fmt.Errorf("unknown seed %q: use %q or %q", o.Seed, SeedDemo, SeedEmpty)
	}
	switch o.Style429 {
	case "", Style429Object, Style429String, Style429Problem:
	default:
		return fmt.Errorf("unknown 429 style %q: use %q, %q or %q", o.Style429, Style429Object, Style429String, Style429Problem)
	}
	switch o.ResetRounding {
	case "", ResetRoundUp, ResetRoundDown, ResetExact:
	default:
		return fmt.Errorf("unknown reset rounding %q: use %q, %q or %q", o.ResetRounding, ResetRoundUp, ResetRoundDown, ResetExact)
	}
	if w := o.Window; o.WindowOffset < 0 || (w == 0 && o.WindowOffset >= DefaultWindow) || (w > 0 && o.WindowOffset >= w) {
		return fmt.Errorf("window offset %v must be at least 0 and less than the window", o.WindowOffset)
	}
	switch o.WebhookStyle {
	case "", WebhookCamelCase, WebhookSnakeCase:
	default:
		return fmt.Errorf("unknown webhook style %q: use %q or %q", o.WebhookStyle, WebhookCamelCase, WebhookSnakeCase)
	}
	if o.Window < 0 || o.RouteWindow < 0 || (o.Window > 0 && o.Window < time.Second) || (o.RouteWindow > 0 && o.RouteWindow < time.Second) {
		return fmt.Errorf("rate windows must be at least 1s")
	}
	if o.PerWindow < 0 || o.RoutePerWindow < 0 || o.MonthlyQuota < 0 || o.MonthlyUsageStart < 0 {
		return fmt.Errorf("limits and quotas must not be negative")
	}
	if o.Latency < 0 || o.AsyncUpdateDelay < 0 || o.LongRunDelay < 0 || o.WebhookTimeout < 0 || o.MaxBodyBytes < 0 {
		return fmt.Errorf("durations and sizes must not be negative")
	}
	if o.PublicURL != "" {
		u, err := url.Parse(o.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("public URL %q must be an http(s) URL with a host and no query, like http://127.0.0.1:8080", o.PublicURL)
		}
	}
	seen := map[string]bool{}
	ids := map[int64]bool{}
	for _, u := range o.Keys {
		if u.Key == "" {
			return fmt.Errorf("user %d has an empty key", u.ID)
		}
		if u.ID <= 0 {
			return fmt.Errorf("a user needs a positive numeric id")
		}
		if seen[u.Key] {
			return fmt.Errorf("two users share one key")
		}
		if ids[u.ID] {
			return fmt.Errorf("two keys share user id %d", u.ID)
		}
		seen[u.Key], ids[u.ID] = true, true
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Seed == "" {
		o.Seed = SeedDemo
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.PerWindow == 0 {
		o.PerWindow = DefaultPerWindow
	}
	if o.RouteWindow == 0 {
		o.RouteWindow = DefaultRouteWindow
	}
	if o.RoutePerWindow == 0 {
		o.RoutePerWindow = DefaultRoutePerWindow
	}
	if o.MonthlyQuota == 0 {
		o.MonthlyQuota = DefaultMonthlyQuota
	}
	if o.Style429 == "" {
		o.Style429 = Style429Object
	}
	if o.ResetRounding == "" {
		o.ResetRounding = ResetRoundUp
	}
	if o.WebhookStyle == "" {
		o.WebhookStyle = WebhookCamelCase
	}
	if o.WebhookTimeout == 0 {
		o.WebhookTimeout = DefaultWebhookTimeout
	}
	if o.AsyncUpdateDelay == 0 {
		o.AsyncUpdateDelay = DefaultAsyncUpdateDelay
	}
	if o.LongRunDelay == 0 {
		o.LongRunDelay = DefaultLongRunDelay
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Keys == nil {
		if o.Seed == SeedDemo {
			o.Keys = DemoUsers()
		} else {
			o.Keys = DemoUsers()[:1]
		}
	}
	return o
}

// DemoUsers returns the demo seed's users: two in the "Acme Payments" team and one in "Globex". Callers may change
// keys (for example the standalone -key flag) before passing them as Options.Keys.
func DemoUsers() []User {
	return []User{
		{Key: DemoKey, ID: DemoUserID, Username: "dana-okafor", Email: "dana.okafor@acme-pay.example", FullName: "Dana Okafor",
			TeamID: DemoTeamID, TeamName: "Acme Payments", TeamDomain: "acme-payments", Roles: []string{"user", "admin"}},
		{Key: DemoTeammateKey, ID: DemoTeammateID, Username: "sam-reyes", Email: "sam.reyes@acme-pay.example", FullName: "Sam Reyes",
			TeamID: DemoTeamID, TeamName: "Acme Payments", TeamDomain: "acme-payments", Roles: []string{"user"}},
		{Key: OtherTeamKey, ID: OtherTeamUserID, Username: "lee-park", Email: "lee.park@globex.example", FullName: "Lee Park",
			TeamID: OtherTeamID, TeamName: "Globex", TeamDomain: "globex", Roles: []string{"user"}},
	}
}

// Emulator is an in-memory Postman API. It is an http.Handler; all state sits behind one mutex.
type Emulator struct {
	opts Options
	clk  clock.Clock
	log  *slog.Logger

	mu       sync.Mutex
	revision int64 // collection revision counter (collection-item writes)
	seq      int   // deterministic ID counter
	order    int   // insertion order for lists
	users    map[string]*User
	userByID map[int64]*User
	subs     map[int64]string

	workspaces   map[string]*workspace
	collections  map[string]*collection
	environments map[string]*environment
	monitors     map[string]*monitor
	mocks        map[string]*mock
	tasks        map[string]*updateTask

	limits    *limiter
	faults    []*faultEntry
	faultSeq  int
	forceLong map[string]bool
	stats     map[string]*KeyStats
	total     int
	pending   []runRecord // runs whose outcome is known but whose finish time is still ahead
	hookQueue []WebhookPayload
	testCache map[string][]testCase

	hooks *webhookSender
}

// New builds an emulator. It panics on Options that Validate rejects: check them first when they come from users.
func New(opts Options) *Emulator {
	if err := opts.Validate(); err != nil {
		panic("emulator: " + err.Error())
	}
	o := opts.withDefaults()
	e := &Emulator{
		opts:         o,
		clk:          clock.Or(o.Clock),
		log:          o.Logger,
		users:        map[string]*User{},
		userByID:     map[int64]*User{},
		subs:         map[int64]string{},
		workspaces:   map[string]*workspace{},
		collections:  map[string]*collection{},
		environments: map[string]*environment{},
		monitors:     map[string]*monitor{},
		mocks:        map[string]*mock{},
		tasks:        map[string]*updateTask{},
		forceLong:    map[string]bool{},
		stats:        map[string]*KeyStats{},
		testCache:    map[string][]testCase{},
		revision:     32_000_000_000,
	}
	e.limits = newLimiter(o)
	e.hooks = newWebhookSender(o)
	for i := range o.Keys {
		u := o.Keys[i]
		u.Roles = append([]string(nil), u.Roles...)
		if u.Username == "" {
			u.Username = fmt.Sprintf("user-%d", u.ID)
		}
		if u.FullName == "" {
			u.FullName = u.Username
		}
		if u.Email == "" {
			u.Email = u.Username + "@example.com"
		}
		if len(u.Roles) == 0 {
			u.Roles = []string{"user"}
		}
		e.users[u.Key] = &u
		e.userByID[u.ID] = &u
		e.subs[u.ID] = e.seedID("sub", fmt.Sprint(u.ID))
	}
	start := e.now()
	if o.Seed == SeedDemo {
		e.seedDemo(start)
	}
	e.ensurePersonalWorkspaces(start)
	return e
}

// now is the server's clock: the injected clock plus the configured skew.
func (e *Emulator) now() time.Time { return e.clk.Now().Add(e.opts.ClockSkew) }

// Now returns the emulator's server time (the injected clock plus ClockSkew).
func (e *Emulator) Now() time.Time { return e.now() }

// KeyStats counts what happened to requests that carried one API key.
type KeyStats struct {
	Requests       int // every request that carried the key, whatever its outcome
	Admitted       int // requests that passed auth and the rate limits
	RateLimited    int // 429 rateLimited (per-minute window or route bucket)
	QuotaExhausted int // 429 serviceLimitExhausted
	Unauthorized   int // 401 for this (unknown) key
}

func (e *Emulator) statsFor(key string) *KeyStats {
	s := e.stats[key]
	if s == nil {
		s = &KeyStats{}
		e.stats[key] = s
	}
	return s
}

// Requests returns how many requests carried key (any outcome).
func (e *Emulator) Requests(key string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.stats[key]; s != nil {
		return s.Requests
	}
	return 0
}

// Stats returns the counters for key.
func (e *Emulator) Stats(key string) KeyStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.stats[key]; s != nil {
		return *s
	}
	return KeyStats{}
}

// TotalRequests returns how many requests reached the emulator, with or without a key.
func (e *Emulator) TotalRequests() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.total
}

// MonthlyUsage returns the API calls key has spent this month, as /me reports them.
func (e *Emulator) MonthlyUsage(key string) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.limits.monthUsage(key, e.now())
}

// ForceLongRun makes the next synchronous run of the monitor (ID or UID) answer 202 "taking longer than expected";
// the run then completes LongRunDelay later on the emulator's clock.
func (e *Emulator) ForceLongRun(monitorID string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m := e.findMonitorAny(monitorID); m != nil {
		e.forceLong[m.id] = true
	}
}

// Tick runs whatever is due on the emulator's clock (scheduled monitor runs, async runs and collection update
// tasks finishing) and sends the resulting webhooks. It returns how many monitor runs finished. Requests do the
// same lazily, so Tick is only needed when nothing else is calling.
func (e *Emulator) Tick() int {
	e.mu.Lock()
	n := e.settleLocked(e.now())
	hooks := e.drainHooksLocked()
	e.mu.Unlock()
	e.hooks.dispatch(hooks)
	return n
}

// Advance moves a *clock.Fake forward by d and then calls Tick. It panics when the emulator is not on a fake clock.
func (e *Emulator) Advance(d time.Duration) int {
	f, ok := e.clk.(*clock.Fake)
	if !ok {
		panic("emulator: Advance needs Options.Clock to be a *clock.Fake")
	}
	f.Advance(d)
	return e.Tick()
}

// WaitWebhooks blocks until every webhook delivery started so far has finished (or timed out).
func (e *Emulator) WaitWebhooks() { e.hooks.wait() }

// WebhookDeliveries returns the outcome of every webhook delivery attempted so far, oldest first.
func (e *Emulator) WebhookDeliveries() []WebhookDelivery { return e.hooks.deliveries() }

// Close waits for in-flight webhook deliveries. The emulator keeps serving; Close exists so tests and the
// standalone command can shut down cleanly.
func (e *Emulator) Close() error {
	e.hooks.wait()
	return nil
}
