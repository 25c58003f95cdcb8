package slackfake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pmops/pmops/internal/clock"
)

// Slack's documented windows and caps that the fake enforces.
const (
	// TriggerTTL is how long a trigger_id can be exchanged (views.open/push): "expires in 3 seconds".
	TriggerTTL = 3 * time.Second
	// ResponseURLTTL is how long a response_url accepts posts: "up to 5 times within 30 minutes".
	ResponseURLTTL = 30 * time.Minute
	// ResponseURLMaxUses is how many posts a response_url accepts.
	ResponseURLMaxUses = 5
	// AckDeadline is how long Slack waits for an HTTP 200 (or a Socket Mode ack) to a slash command,
	// interaction or event before it gives up ("operation_timeout" for the user).
	AckDeadline = 3 * time.Second
	// MaxSocketResponseBytes is the Socket Mode ack size at which Slack silently drops the ack (20 KB, see
	// slack-go socketmode maxResponseSize).
	MaxSocketResponseBytes = 20 * 1024
)

// Options configure a fake workspace. Zero values get realistic defaults (see New).
type Options struct {
	// Clock drives every Slack window the fake models (ts issue, trigger expiry, response_url expiry, the
	// per-channel rate limit, Socket Mode ack timeouts). Nil means the real clock.
	Clock clock.Clock

	// BotTokens are the accepted xoxb- bot tokens. Default: DefaultBotToken.
	BotTokens []string
	// AppToken is the accepted xapp- app-level token for apps.connections.open. Default: DefaultAppToken.
	AppToken string
	// SigningSecret signs requests the fake delivers to the bot. Default: DefaultSigningSecret.
	SigningSecret string
	// VerificationToken is the deprecated "token" field Slack still puts in slash-command and interaction
	// payloads. Default: "fake-verification-token".
	VerificationToken string
	// Scopes are the bot token's OAuth scopes, answered in X-OAuth-Scopes and checked per method
	// (missing_scope). Default: chat:write, commands, channels:read, groups:read, channels:join, users:read.
	// Add "chat:write.public" to let the bot post to public channels it has not joined.
	Scopes []string

	TeamID, TeamDomain, TeamName, EnterpriseID string
	AppID, BotID, BotUserID, BotUserName       string

	// Channels and Users seed the workspace. When Channels is nil the fake creates DefaultChannels();
	// when Users is nil, DefaultUsers().
	Channels []Channel
	Users    []User

	// ChannelRate, when set, rate-limits chat.postMessage per channel the way Slack's "special" tier does
	// (about one message per second per channel, short bursts allowed). Off by default.
	ChannelRate *ChannelRate

	// SocketAckTimeout, when > 0, makes the fake sweep un-acked Socket Mode envelopes: events_api envelopes
	// are re-delivered with retry_attempt+1 (up to SocketMaxRetries), other envelopes are marked TimedOut.
	// Zero disables automatic sweeping (SweepAcks and Redeliver still work by hand).
	SocketAckTimeout time.Duration
	// SocketMaxRetries caps automatic events_api re-deliveries. Default 3 (Slack retries an event 3 times).
	SocketMaxRetries int
	// SocketPingInterval is how often the fake sends WebSocket PINGs (slack-go's client reconnects when it
	// sees none for 30 s). Default 10 s.
	SocketPingInterval time.Duration

	// DeliveryTimeout is how long Deliver waits for the bot's answer. Default AckDeadline (3 s), Slack's.
	DeliveryTimeout time.Duration
}

// Defaults used when Options leave a field empty.
const (
	DefaultBotToken      = "xoxb-000000000001-000000000001-fakebottoken0000000000"
	DefaultAppToken      = "xapp-1-A0FAKEAPP01-000000000001-fakeapptoken000000000000"
	DefaultSigningSecret = "fake-signing-secret-0123456789abcdef"
)

// Channel is a conversation in the fake workspace.
type Channel struct {
	ID       string
	Name     string
	Private  bool
	Archived bool
	// Members are user IDs. Include the bot user ID to make the bot a member.
	Members []string
}

// User is a workspace member.
type User struct {
	ID       string
	Name     string
	RealName string
	Email    string
	IsBot    bool
}

// Default workspace members and conversations (used when Options.Users / Options.Channels are nil).
const (
	DefaultTeamID    = "T0FAKE0001"
	DefaultBotUserID = "U0FAKEBOT1"
	UserAlice        = "U0ALICE001"
	UserBob          = "U0BOB00001"
	ChannelGeneral   = "C0GENERAL1" // public; bot, alice, bob
	ChannelRandom    = "C0RANDOM01" // public; alice, bob (bot NOT a member)
	ChannelPrivate   = "G0PRIVATE1" // private; bot, alice
)

// DefaultUsers returns the default members: alice and bob.
func DefaultUsers() []User {
	return []User{
		{ID: UserAlice, Name: "alice", RealName: "Alice Example", Email: "alice@example.com"},
		{ID: UserBob, Name: "bob", RealName: "Bob Example", Email: "bob@example.com"},
	}
}

// DefaultChannels returns #general (bot, alice, bob), #random (alice, bob; the bot has not joined) and
// the private #ops (bot, alice).
func DefaultChannels(botUserID string) []Channel {
	return []Channel{
		{ID: ChannelGeneral, Name: "general", Members: []string{botUserID, UserAlice, UserBob}},
		{ID: ChannelRandom, Name: "random", Members: []string{UserAlice, UserBob}},
		{ID: ChannelPrivate, Name: "ops", Private: true, Members: []string{botUserID, UserAlice}},
	}
}

// Server is the fake Slack. All methods are safe for concurrent use.
type Server struct {
	opts  Options
	clock clock.Clock
	http  *httptest.Server

	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever recorded state changes (for Wait*)

	calls         []Call
	callSeq       int
	channels      map[string]*channel // by ID
	users         map[string]User
	ephemerals    []*Ephemeral
	triggers      map[string]*trigger
	views         map[string]*viewState
	viewOrder     []string
	responseURLs  map[string]*responseURL
	responsePosts []ResponsePost
	deliveries    []Delivery
	faults        map[string][]*faultState
	buckets       map[string]*bucket
	seq           int
	sock          socketState

	closeOnce sync.Once
	done      chan struct{}
	bg        sync.WaitGroup
}

// New starts a fake Slack on a loopback port. Close it when done.
func New(opts Options) *Server {
	opts = withDefaults(opts)
	s := &Server{
		opts:         opts,
		clock:        clock.Or(opts.Clock),
		changed:      make(chan struct{}),
		channels:     map[string]*channel{},
		users:        map[string]User{},
		triggers:     map[string]*trigger{},
		views:        map[string]*viewState{},
		responseURLs: map[string]*responseURL{},
		faults:       map[string][]*faultState{},
		buckets:      map[string]*bucket{},
		done:         make(chan struct{}),
	}
	s.sock.init()
	s.users[opts.BotUserID] = User{ID: opts.BotUserID, Name: opts.BotUserName, RealName: opts.BotUserName, IsBot: true}
	for _, u := range opts.Users {
		s.users[u.ID] = u
	}
	for _, c := range opts.Channels {
		s.addChannelLocked(c)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.handleAPI)
	mux.HandleFunc("/response/", s.handleResponseURL)
	mux.HandleFunc("/link/", s.handleSocket)
	s.http = httptest.NewServer(mux)

	if opts.SocketAckTimeout > 0 {
		s.bg.Go(s.sweepLoop)
	}
	return s
}

func withDefaults(o Options) Options {
	if len(o.BotTokens) == 0 {
		o.BotTokens = []string{DefaultBotToken}
	}
	if o.AppToken == "" {
		o.AppToken = DefaultAppToken
	}
	if o.SigningSecret == "" {
		o.SigningSecret = DefaultSigningSecret
	}
	if o.VerificationToken == "" {
		o.VerificationToken = "fake-verification-token"
	}
	if o.Scopes == nil {
		o.Scopes = []string{"chat:write", "commands", "channels:read", "groups:read", "channels:join", "users:read"}
	}
	if o.TeamID == "" {
		o.TeamID = DefaultTeamID
	}
	if o.TeamDomain == "" {
		o.TeamDomain = "fake-workspace"
	}
	if o.TeamName == "" {
		o.TeamName = "Fake Workspace"
	}
	if o.AppID == "" {
		o.AppID = "A0FAKEAPP01"
	}
	if o.BotID == "" {
		o.BotID = "B0FAKEBOT1"
	}
	if o.BotUserID == "" {
		o.BotUserID = DefaultBotUserID
	}
	if o.BotUserName == "" {
		o.BotUserName = "postman"
	}
	if o.Users == nil {
		o.Users = DefaultUsers()
	}
	if o.Channels == nil {
		o.Channels = DefaultChannels(o.BotUserID)
	}
	if o.SocketMaxRetries == 0 {
		o.SocketMaxRetries = 3
	}
	if o.DeliveryTimeout <= 0 {
		o.DeliveryTimeout = AckDeadline
	}
	if o.SocketPingInterval <= 0 {
		o.SocketPingInterval = 10 * time.Second
	}
	return o
}

// URL is the fake's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.http.URL }

// APIURL is the Web API base for slack.OptionAPIURL: URL()+"/api/".
func (s *Server) APIURL() string { return s.http.URL + "/api/" }

// BotToken is the first accepted bot token.
func (s *Server) BotToken() string { return s.opts.BotTokens[0] }

// AppToken is the accepted app-level token.
func (s *Server) AppToken() string { return s.opts.AppToken }

// SigningSecret is the secret the fake signs deliveries with.
func (s *Server) SigningSecret() string { return s.opts.SigningSecret }

// Options returns the effective options (defaults filled in).
func (s *Server) Options() Options { return s.opts }

// Close closes Socket Mode connections and stops the HTTP server.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.closeAllSockets()
		s.http.Close()
		s.bg.Wait()
	})
}

// notifyLocked wakes every Wait*. Callers hold s.mu.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond (evaluated under s.mu) holds or ctx ends.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return fmt.Errorf("slackfake closed")
		}
	}
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%09d", prefix, s.seq)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- workspace ----

type channel struct {
	Channel
	members  map[string]bool
	created  time.Time
	lastTS   int64 // micros of the last issued ts
	messages []*message
	byTS     map[string]*message
}

func (s *Server) addChannelLocked(c Channel) *channel {
	ch := &channel{Channel: c, members: map[string]bool{}, created: s.clock.Now(), byTS: map[string]*message{}}
	for _, m := range c.Members {
		ch.members[m] = true
	}
	ch.Members = nil
	s.channels[c.ID] = ch
	return ch
}

// AddChannel adds (or replaces) a conversation.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addChannelLocked(c)
}

// AddUser adds (or replaces) a workspace member.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// SetMember adds or removes a user (or the bot, by its user ID) from a conversation.
func (s *Server) SetMember(channelID, userID string, member bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupChannelLocked(channelID)
	if ch == nil {
		return fmt.Errorf("set member of %s: channel not found", channelID)
	}
	if member {
		ch.members[userID] = true
	} else {
		delete(ch.members, userID)
	}
	return nil
}

// ChannelMembers lists a conversation's members, sorted.
func (s *Server) ChannelMembers(channelID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.lookupChannelLocked(channelID)
	if ch == nil {
		return nil
	}
	out := make([]string, 0, len(ch.members))
	for m := range ch.members {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// lookupChannelLocked resolves an ID, a name or "#name"; a user ID resolves to (and creates) the bot's
// DM with that user, as chat.postMessage does for channel=U….
func (s *Server) lookupChannelLocked(ref string) *channel {
	if ref == "" {
		return nil
	}
	if ch, ok := s.channels[ref]; ok {
		return ch
	}
	name := strings.TrimPrefix(ref, "#")
	for _, ch := range s.channels {
		if ch.Name == name {
			return ch
		}
	}
	if u, ok := s.users[ref]; ok && !u.IsBot {
		id := "D" + strings.TrimPrefix(u.ID, "U")
		if ch, ok := s.channels[id]; ok {
			return ch
		}
		return s.addChannelLocked(Channel{ID: id, Private: true, Members: []string{s.opts.BotUserID, u.ID}})
	}
	return nil
}

func (ch *channel) isIM() bool { return strings.HasPrefix(ch.ID, "D") }

// nextTS issues the channel's next message timestamp: "<unix sec>.<6-digit micro>", strictly increasing
// per channel even when the clock has not moved (Slack's ts is unique per channel).
func (ch *channel) nextTS(now time.Time) string {
	micros := now.UnixMicro()
	if micros <= ch.lastTS {
		micros = ch.lastTS + 1
	}
	ch.lastTS = micros
	return formatTS(micros)
}

func formatTS(micros int64) string {
	return fmt.Sprintf("%d.%06d", micros/1_000_000, micros%1_000_000)
}

func (s *Server) hasScope(scope string) bool { return slices.Contains(s.opts.Scopes, scope) }

func (s *Server) botCanPost(ch *channel) bool {
	return ch.members[s.opts.BotUserID] || (!ch.Private && !ch.isIM() && s.hasScope("chat:write.public"))
}
