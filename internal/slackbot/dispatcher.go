// Package slackbot puts the shared tool layer into Slack: one `/postman` command, buttons and modals, whichever
// transport (HTTP request URLs, Socket Mode, or the local console) brought them. It acknowledges at once and does
// the Postman work in a bounded worker pool, so Slack's 3-second deadline holds whatever Postman is doing;
// answers go back through response_url or the Web API. Writes need permission and an explicit confirmation
// through single-use, expiring action tokens.
package slackbot

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

// RequestKind says what a person did.
type RequestKind int

const (
	KindCommand RequestKind = iota + 1
	KindAction
	KindViewSubmission
)

// Request is one slash command, button click or modal submission, normalised from any transport.
type Request struct {
	Kind                           RequestKind
	EnterpriseID, TeamID           string
	UserID, UserName, ChannelID    string
	Text                           string // the command's text after /postman
	ResponseURL, TriggerID         string
	ActionValue                    string // a clicked button's value: an action token
	ViewCallbackID, ViewMetadata   string
	ViewValues                     map[string]string // modal inputs by action_id
	IsEphemeralContainer, Threaded bool
}

func (r Request) user() store.UserRef {
	return store.UserRef{EnterpriseID: r.EnterpriseID, TeamID: r.TeamID, UserID: r.UserID}
}

// Ack is the immediate answer to a request (the HTTP response body or the Socket Mode ack payload).
type Ack struct {
	// Message, when set, is shown at once (ephemeral unless InChannel).
	Message   *slackrender.Message
	InChannel bool
	// ViewErrors answers a modal submission with errors by block ID (the modal stays open).
	ViewErrors map[string]string
}

// ReplyMode says how an asynchronous answer is shown.
type ReplyMode struct {
	InChannel       bool
	ReplaceOriginal bool
}

// Responder delivers asynchronous answers and opens modals.
type Responder interface {
	Reply(ctx context.Context, req Request, msg slackrender.Message, mode ReplyMode) error
	OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error
}

// Envs hands out a tool environment per Postman key (each key has its own client and rate gate).
type Envs interface {
	Env(key string) (*tools.Env, error)
}

// Store is the state that must survive a restart.
type Store interface {
	PutLinkedKey(ctx context.Context, id store.UserRef, sealed []byte, meta store.LinkMeta) error
	LinkedKey(ctx context.Context, id store.UserRef) ([]byte, store.LinkMeta, error)
	DeleteLinkedKey(ctx context.Context, id store.UserRef) (bool, error)
	PutAction(ctx context.Context, token string, a store.PendingAction) error
	TakeAction(ctx context.Context, token string, by store.UserRef, now time.Time) (store.PendingAction, error)
	SeenOnce(ctx context.Context, key string, ttl time.Duration, now time.Time) (bool, error)
}

// Sealer encrypts linked keys (the vault).
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Open(ciphertext, associatedData []byte) ([]byte, error)
}

// GroupResolver lists the members of a Slack user group, for group entries in the writers allowlist.
type GroupResolver func(ctx context.Context, groupID string) ([]string, error)

// Config configures a Dispatcher.
type Config struct {
	Envs Envs
	// TeamKey is the shared Postman key of team mode; empty means every user must /postman login.
	TeamKey string
	// Writers may change Postman in team mode: Slack user IDs (U…, W…) or user group IDs (S…).
	Writers []string
	Groups  GroupResolver
	Store   Store
	// Vault seals linked keys; nil disables /postman login. It also seals pending actions; without it they are
	// sealed under a per-process key and do not survive a restart.
	Vault     Sealer
	Responder Responder
	// Workers bounds concurrent Postman work; Queue bounds what waits for a worker.
	Workers, Queue int
	// JobTimeout bounds one command's Postman work (default 5 min: a synchronous monitor run may take minutes).
	JobTimeout time.Duration
	// ActionTTL is how long a confirm or pick button stays valid (default 15 min).
	ActionTTL time.Duration
	WebURL    string
	Logger    *slog.Logger
	Now       func() time.Time
}

// Dispatcher turns requests into tool calls and answers.
type Dispatcher struct {
	cfg     Config
	pending sync.WaitGroup // queued or running jobs, for Idle
	jobs    chan job
	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
	groups  groupCache
	closing sync.Once
	stop    chan struct{} // closed by Close: stops the purger
	actions Sealer        // seals action payloads at rest
	// volatileActions: actions are sealed under a per-process key (no Vault), so they die with the process.
	volatileActions bool
}

type job struct {
	req Request
	run func(ctx context.Context)
	// deadline is counted from when the person asked, not from when a worker got free: time spent queued
	// behind other commands is time the person has already waited.
	deadline time.Time
}

// New starts a dispatcher and its workers.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Envs == nil || cfg.Store == nil || cfg.Responder == nil {
		return nil, errors.New("slackbot: Envs, Store and Responder are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 512
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = 5 * time.Minute
	}
	if cfg.ActionTTL <= 0 {
		cfg.ActionTTL = 15 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	sealer, volatile, err := actionSealer(cfg.Vault)
	if err != nil {
		return nil, fmt.Errorf("slackbot: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{cfg: cfg, jobs: make(chan job, cfg.Queue), stop: make(chan struct{}), ctx: ctx, cancel: cancel,
		actions: sealer, volatileActions: volatile}
	for range cfg.Workers {
		d.wg.Add(1)
		go d.worker()
	}
	if p, ok := cfg.Store.(purger); ok {
		d.wg.Add(1)
		go d.purge(p)
	}
	return d, nil
}

// purger is a store that can forget spent action tokens and old de-duplication keys.
type purger interface {
	PurgeExpired(ctx context.Context, now time.Time) (int, error)
}

// purge drops expired tokens (and their sealed payloads) every minute, so the store neither keeps them past
// their expiry for long nor grows with every button ever shown.
func (d *Dispatcher) purge(p purger) {
	defer d.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			if n, err := p.PurgeExpired(d.ctx, d.cfg.Now()); err != nil {
				d.cfg.Logger.Warn("purge expired action tokens", "err", err)
			} else if n > 0 {
				d.cfg.Logger.Debug("purged expired action tokens", "rows", n)
			}
		}
	}
}

// Close stops taking work and waits for running jobs to finish (or ctx to end).
func (d *Dispatcher) Close(ctx context.Context) {
	d.closing.Do(func() { close(d.jobs); close(d.stop) })
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		d.cancel()
		<-done
	}
	d.cancel()
}

func (d *Dispatcher) worker() {
	defer d.wg.Done()
	for j := range d.jobs {
		func() {
			defer d.pending.Done()
			defer func() {
				if p := recover(); p != nil {
					d.cfg.Logger.Error("slack job panicked", "panic", fmt.Sprint(p))
					d.reply(j.req, slackrender.Text("Something went wrong on pmops's side; the error is logged. Please try again."), ReplyMode{})
				}
			}()
			ctx, cancel := context.WithDeadline(d.ctx, j.deadline)
			defer cancel()
			j.run(ctx)
		}()
	}
}

// queue hands work to the pool without blocking and returns the immediate answer: none, or, when the queue is
// full, that pmops is busy.
func (d *Dispatcher) queue(req Request, run func(ctx context.Context)) Ack {
	d.pending.Add(1)
	select {
	case d.jobs <- job{req: req, run: run, deadline: time.Now().Add(d.cfg.JobTimeout)}:
		return Ack{}
	default:
		d.pending.Done()
		return msgAck(slackrender.Text(fmt.Sprintf("pmops is busy (%d requests waiting); please try again in a minute.", cap(d.jobs))))
	}
}

// Idle waits until no job is queued or running (for the console and tests).
func (d *Dispatcher) Idle() { d.pending.Wait() }

// Handle answers a request at once and queues whatever needs Postman. It never calls Postman itself.
func (d *Dispatcher) Handle(ctx context.Context, req Request) Ack {
	switch req.Kind {
	case KindCommand:
		return d.handleCommand(ctx, req)
	case KindAction:
		// Slack ignores an ack body for button clicks: whatever the click says goes back as a reply.
		if ack := d.handleAction(ctx, req); ack.Message != nil {
			d.enqueueReply(req, *ack.Message, ReplyMode{})
		}
		return Ack{}
	case KindViewSubmission:
		return d.handleView(ctx, req)
	}
	return Ack{}
}

func (d *Dispatcher) reply(req Request, msg slackrender.Message, mode ReplyMode) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.cfg.Responder.Reply(ctx, req, msg, mode); err != nil {
		d.cfg.Logger.Warn("slack reply failed", "user", req.UserID, "channel", req.ChannelID, "err", err)
	}
}

// pendingPayload is what an action token stands for.
type pendingPayload struct {
	Kind    slackrender.ActionKind `json:"kind"`
	Tool    string                 `json:"tool,omitempty"`
	Args    map[string]any         `json:"args,omitempty"`
	Message json.RawMessage        `json:"message,omitempty"`
	Label   string                 `json:"label,omitempty"`
}

// renderer renders for one request: the buttons it makes belong to that request's user and channel.
type renderer struct {
	d     *Dispatcher
	req   Request
	cmd   Command // the tool call being answered, for "next page" buttons
	group string  // ties the Confirm and Cancel this renderer makes (see groupFor)
}

func (d *Dispatcher) renderer(req Request) *renderer { return &renderer{d: d, req: req} }

func (d *Dispatcher) rendererFor(req Request, cmd Command) *renderer {
	return &renderer{d: d, req: req, cmd: cmd}
}

func (r *renderer) opts() slackrender.Options {
	note := ""
	if r.d.volatileActions {
		note = volatileNote
	}
	return slackrender.Options{WebURL: r.d.cfg.WebURL, Shareable: true, ConfirmNote: note, Token: func(a slackrender.Action) string {
		p := pendingPayload{Kind: a.Kind, Tool: a.Tool, Args: a.Args, Label: a.Label}
		if a.Message != nil {
			b, err := marshalMessage(*a.Message)
			if err != nil {
				return ""
			}
			p.Message = b
		}
		return r.d.putToken(r.req, p, "", r.groupFor(a.Kind))
	}, NextPage: r.nextPage}
}

// nextPage continues the list being answered: the same tool and arguments with the result's cursor.
func (r *renderer) nextPage(cursor string) (slackrender.Action, bool) {
	if r.cmd.Tool == "" || cursor == "" {
		return slackrender.Action{}, false
	}
	args := map[string]any{}
	for k, v := range r.cmd.Args {
		args[k] = v
	}
	args["cursor"] = cursor
	return slackrender.Action{Kind: slackrender.ActionPick, Tool: r.cmd.Tool, Args: args, Label: "Next page"}, true
}

func (r *renderer) result(res tools.Result) slackrender.Message {
	return slackrender.Render(res, r.opts())
}

func (r *renderer) failure(err error, cmd Command) slackrender.Message {
	te, ok := tools.AsError(err)
	if !ok {
		r.d.cfg.Logger.Error("tool failed", "tool", cmd.Tool, "err", err)
		return slackrender.Text("Something went wrong on pmops's side; the error is logged. Please try again.")
	}
	var retry func(tools.Candidate) slackrender.Action
	if arg := nameArg(cmd); arg != "" && len(te.Candidates) > 0 && cmd.Tool != "" {
		retry = func(c tools.Candidate) slackrender.Action {
			args := map[string]any{}
			for k, v := range cmd.Args {
				args[k] = v
			}
			if c.ID != "" {
				args[arg] = c.ID
			} else {
				args[arg] = c.Name
			}
			kind := slackrender.ActionPick
			return slackrender.Action{Kind: kind, Tool: cmd.Tool, Args: args, Label: c.Name}
		}
	}
	return slackrender.RenderError(te, retry, r.opts())
}

// nameArg is the argument of a command that names the resource a candidate replaces.
func nameArg(cmd Command) string {
	for _, k := range []string{"monitor", "environment", "collection", "workspace", "mock"} {
		if _, ok := cmd.Args[k]; ok {
			return k
		}
	}
	return ""
}

func (d *Dispatcher) putToken(req Request, p pendingPayload, tok, group string) string {
	if tok == "" {
		tok = newToken()
	}
	payload, err := json.Marshal(p)
	if err != nil {
		d.cfg.Logger.Error("encode action token", "err", err)
		return ""
	}
	sealed, err := d.sealAction(tok, req.user(), payload)
	if err != nil {
		d.cfg.Logger.Error("seal action token", "err", err)
		return ""
	}
	now := d.cfg.Now()
	err = d.cfg.Store.PutAction(context.Background(), tok, store.PendingAction{
		Kind: string(p.Kind), Payload: sealed, Owner: req.user(), ChannelID: req.ChannelID,
		CreatedAt: now, ExpiresAt: now.Add(d.cfg.ActionTTL), Group: group})
	if err != nil {
		d.cfg.Logger.Error("store action token", "err", err)
		return ""
	}
	return tok
}

func newToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func identityTicket(req Request) ratelimit.Ticket {
	return ratelimit.Ticket{Class: ratelimit.Interactive, User: "slack:" + req.TeamID + ":" + req.UserID}
}

func (d *Dispatcher) audit(req Request, toolName string, args map[string]any, outcome string) {
	// Values are never logged: only which keys changed, so a secret typed into a command stays out of logs.
	safe := map[string]any{}
	for k, v := range args {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for kk := range x {
				keys = append(keys, kk)
			}
			safe[k+"_keys"] = strings.Join(keys, ",")
		case string:
			if k == "environment" || k == "monitor" || k == "collection" {
				safe[k] = x
			}
		case []any:
			safe[k+"_count"] = len(x)
		case bool:
			safe[k] = x
		}
	}
	d.cfg.Logger.Info("audit", "team", req.TeamID, "user", req.UserID, "channel", req.ChannelID, "tool", toolName, "target", safe, "outcome", outcome)
}
