// Package slackbot puts the shared tool layer into Slack: one `/postman` command, buttons and modals, whichever
// transport (HTTP request URLs, Socket Mode, or the local console) brought them. It acknowledges at once with
// "Working on it…" (or "Queued: N requests ahead of yours, about T s" when the rate gate says the wait passes
// 2 s) and does the Postman work in a bounded worker pool, so Slack's 3-second deadline holds whatever Postman is
// doing; the answer replaces that first message (response_url, replace_original). Reads and writes are bounded by
// the job timeout, and a timeout says whether it was the rate budget (with its reset) or Postman; confirmed
// monitor runs continue past it. Writes name their target exactly (a partial name offers candidates), are
// resolved and previewed under the resolved name before a Confirm, say so when there is nothing to do, and need
// permission and an explicit confirmation through single-use, expiring action tokens. Everything shown speaks
// Slack: commands and buttons, never the tool layer's names or arguments.
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
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/notify"
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
	ActionID                       string // a clicked button's action_id ("pmops:<kind>…")
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
	// Sent, when set, is called by the transport once the ack is on its way: answers to the request wait for it
	// (or Config.AckGrace), so they replace the ack's message instead of arriving before it.
	Sent func()
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
	// JobTimeout bounds one command's reads and writes, counted from when the person asked (default 60 s).
	// Monitor runs outlive it: they continue in the background (bounded by MonitorRunTimeout).
	JobTimeout time.Duration
	// MonitorRunTimeout bounds a confirmed monitor run (default 6 min: Postman answers a synchronous run
	// within 300 s). ProgressEvery is how often its message is updated meanwhile (default 30 s; at most two
	// updates, since a response_url takes five posts).
	MonitorRunTimeout, ProgressEvery time.Duration
	// QueuedAfter is the estimated wait beyond which a command is told it is queued (default 2 s); WaitCheck is
	// how often waiting commands are re-estimated (default 250 ms).
	QueuedAfter, WaitCheck time.Duration
	// AckGrace is how long an answer waits for a transport that does not report its ack as sent (default 1 s).
	AckGrace time.Duration
	// ActionTTL is how long a confirm or pick button stays valid (default 15 min).
	ActionTTL time.Duration
	WebURL    string
	// Notify, when set, serves the notification commands and buttons (notify.go).
	Notify *notify.Notifier
	Logger *slog.Logger
	Now    func() time.Time
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
	stop    chan struct{} // closed by Close: stops the purger and the wait watcher
	actions Sealer        // seals action payloads at rest
	// volatileActions: actions are sealed under a per-process key (no Vault), so they die with the process.
	volatileActions bool

	liveMu sync.Mutex
	live   map[*jobState]struct{} // asked and not yet answered, for the wait watcher
	// gateWaits is the latest wait each key's gate reported (see noteGateWait).
	gateWaits map[*tools.Env]gateWait
	// workers is when the busy workers are expected to free up (refreshWorkers).
	workers atomic.Pointer[workerLoad]
}

type job struct {
	st  *jobState
	run func(ctx context.Context, st *jobState)
	// deadline is counted from when the person asked, not from when a worker got free: time spent queued
	// behind other commands is time the person has already waited.
	deadline time.Time
}

// DefaultJobTimeout bounds a command's reads and writes when Config.JobTimeout is zero.
const DefaultJobTimeout = 60 * time.Second

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
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.MonitorRunTimeout <= 0 {
		cfg.MonitorRunTimeout = 6 * time.Minute
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 30 * time.Second
	}
	if cfg.QueuedAfter <= 0 {
		cfg.QueuedAfter = 2 * time.Second
	}
	if cfg.AckGrace <= 0 {
		cfg.AckGrace = time.Second
	}
	if cfg.WaitCheck <= 0 {
		cfg.WaitCheck = 250 * time.Millisecond
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
		actions: sealer, volatileActions: volatile, live: map[*jobState]struct{}{}}
	for range cfg.Workers {
		d.wg.Add(1)
		go d.worker()
	}
	d.wg.Add(1)
	go d.watchWaits()
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
			st := j.st
			defer d.forget(st)
			defer func() {
				if p := recover(); p != nil {
					d.cfg.Logger.Error("slack job panicked", "panic", fmt.Sprint(p))
					st.answer(slackrender.Text("Something went wrong on pmops's side; the error is logged. Please try again."), replace)
				}
			}()
			st.started.Store(true)
			if !time.Now().Before(j.deadline) {
				// It waited its whole time for a worker, behind commands that wait for the rate budget.
				st.answer(d.timedOut(st), replace)
				return
			}
			ctx, cancel := context.WithDeadline(d.ctx, j.deadline)
			defer cancel()
			j.run(d.observeWaits(ctx, st), st)
		}()
	}
}

// queue hands work to the pool without blocking and returns the immediate answer: "Working on it…", or
// "Queued…" when the wait is estimated beyond QueuedAfter, or, when the queue is full, that pmops is busy. A click
// (clicked) gets no immediate answer (Slack ignores it); its message is replaced by the working note instead.
func (d *Dispatcher) queue(req Request, env *tools.Env, clicked bool, run func(ctx context.Context, st *jobState)) Ack {
	return d.queuePlanned(req, env, clicked, nil, run)
}

// queuePlanned is queue for a job whose Postman calls are known in advance (plan, see readPlan): its wait is
// estimated from all of them, not only from its first request.
func (d *Dispatcher) queuePlanned(req Request, env *tools.Env, clicked bool, plan []tools.Call, run func(ctx context.Context, st *jobState)) Ack {
	st := &jobState{d: d, req: req, env: env, asked: time.Now(), acked: make(chan struct{}), plan: plan}
	d.pending.Add(1)
	d.remember(st)
	var first slackrender.Message
	if w, ok := d.estimate(st); ok && w.Delay > d.cfg.QueuedAfter {
		first = slackrender.Queued(w.Ahead, w.Estimate)
		st.told = true
	} else {
		first = slackrender.Working()
	}
	select {
	case d.jobs <- job{st: st, run: run, deadline: st.asked.Add(d.cfg.JobTimeout)}:
	default:
		d.forget(st)
		d.pending.Done()
		return msgAck(slackrender.Text(fmt.Sprintf("pmops is busy (%d requests waiting); please try again in a minute.", cap(d.jobs))))
	}
	if clicked {
		st.ackOnce.Do(func() { close(st.acked) }) // Slack shows nothing for a click's ack: no need to settle
		d.pending.Add(1)
		go func() {
			defer d.pending.Done()
			st.note(first)
		}()
		return Ack{}
	}
	ack := msgAck(first)
	ack.Sent = st.ackSent
	return ack
}

// Idle waits until no job is queued or running (for the console and tests).
func (d *Dispatcher) Idle() { d.pending.Wait() }

// Handle answers a request at once and queues whatever needs Postman. It never calls Postman itself.
func (d *Dispatcher) Handle(ctx context.Context, req Request) Ack {
	switch req.Kind {
	case KindCommand:
		return d.handleCommand(ctx, req)
	case KindAction:
		if strings.HasPrefix(req.ActionID, notifyActionPrefix) {
			ack := d.handleNotifyButton(ctx, req)
			if ack.Message != nil {
				d.enqueueReply(req, *ack.Message, ReplyMode{InChannel: ack.InChannel})
			}
			if ack.Sent != nil {
				ack.Sent()
			}
			return Ack{}
		}
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
	Subject string                 `json:"subject,omitempty"`
}

// renderer renders for one request: the buttons it makes belong to that request's user and channel.
type renderer struct {
	d     *Dispatcher
	req   Request
	cmd   Command           // the tool call being answered, for "next page" buttons
	names map[string]string // names of resources the result refers to by UID
	group string            // ties the Confirm and Cancel this renderer makes (see groupFor)
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
		p := pendingPayload{Kind: a.Kind, Tool: a.Tool, Args: a.Args, Label: a.Label, Subject: a.Subject}
		if a.Message != nil {
			b, err := marshalMessage(*a.Message)
			if err != nil {
				return ""
			}
			p.Message = b
		}
		return r.d.putToken(r.req, p, "", r.groupFor(a.Kind))
	}, NextPage: r.nextPage, Names: r.names}
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
	return slackrender.Action{Kind: slackrender.ActionMore, Tool: r.cmd.Tool, Args: args, Label: "Next page"}, true
}

func (r *renderer) result(res tools.Result) slackrender.Message {
	return slackrender.Render(res, r.opts())
}

// failure shows a failed tool call: a timeout says whether it waited for the rate budget or for Postman; an
// unknown or ambiguous name offers its candidates as buttons that run the same call with the one picked.
func (d *Dispatcher) failure(ctx context.Context, st *jobState, env *tools.Env, r *renderer, err error, cmd Command) slackrender.Message {
	te, ok := tools.AsError(err)
	if ctx.Err() != nil || (ok && te.Kind == tools.KindTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return d.timedOut(st)
	}
	if !ok {
		d.cfg.Logger.Error("tool failed", "tool", cmd.Tool, "err", err)
		return slackrender.Text("Something went wrong on pmops's side; the error is logged. Please try again.")
	}
	if te.Kind == tools.KindRateLimited && te.RetryAt.IsZero() {
		// Postman's 429 said nothing of when (or the gate refused a wait it could not estimate): say when anyway.
		copied := *te
		copied.RetryAt = d.retryAt(env)
		te = &copied
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
			return slackrender.Action{Kind: slackrender.ActionPick, Tool: cmd.Tool, Args: args, Label: c.Name}
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
