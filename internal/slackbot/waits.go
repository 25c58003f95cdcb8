package slackbot

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/tools"
)

// jobState follows one command or click from its ack to its answer. Everything shown for it in between (the
// working note, "Queued…", a monitor run's progress) replaces the same message, and never lands after the answer:
// notes and the answer are posted under one lock, and a note is dropped once the answer is out.
type jobState struct {
	d       *Dispatcher
	req     Request
	env     *tools.Env
	asked   time.Time
	started atomic.Bool // a worker took it
	// acked is closed once the transport has sent the ack: an answer posted to response_url before the ack's own
	// message exists would not replace it, and the ack would then linger as a second message.
	acked   chan struct{}
	ackOnce sync.Once
	ackTime atomic.Pointer[time.Time]

	mu       sync.Mutex // held while a note or the answer is posted
	told     bool       // a "Queued…" note was shown
	answered bool

	// plan is the Postman calls the job is expected to make (nil: unknown).
	plan []tools.Call
	// track guards what the gate reports of the job's requests. The gate reports on the request's own goroutine,
	// between granting it and sending it, so track is never held while posting to Slack: a request held up
	// there would reach Postman later than the gate counted it, and a route bucket could overflow.
	track    sync.Mutex
	waited   bool      // the gate held one of its requests back for the rate budget
	sent     []string  // its requests sent, "METHOD /path" (planWait's progress)
	lastSend time.Time // when the last of them was sent
	lastWait time.Time // when the gate last reported a wait of one of its requests
	waitEnd  time.Time // and when that wait was to end
}

// ackSent marks the ack as sent (Ack.Sent).
func (st *jobState) ackSent() {
	st.ackOnce.Do(func() {
		now := time.Now()
		st.ackTime.Store(&now)
		close(st.acked)
	})
}

// ackSettle is how long after the ack is sent an answer may follow: the ack must reach Slack first.
const ackSettle = 100 * time.Millisecond

// waitAck waits until the ack is sent (and has had ackSettle to arrive), or AckGrace for a transport that does
// not say.
func (st *jobState) waitAck() {
	t := time.NewTimer(st.d.cfg.AckGrace)
	defer t.Stop()
	select {
	case <-st.acked:
		if wait := ackSettle - time.Since(st.ackedAt()); wait > 0 {
			time.Sleep(wait)
		}
	case <-t.C:
	}
}

func (st *jobState) ackedAt() time.Time {
	if p := st.ackTime.Load(); p != nil {
		return *p
	}
	return time.Time{}
}

// note replaces the job's message with msg unless the answer is already out.
func (st *jobState) note(msg slackrender.Message) {
	st.waitAck()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.answered {
		return
	}
	st.d.reply(st.req, msg, replace)
}

// tellQueued shows "Queued…" once, unless the answer is already out.
func (st *jobState) tellQueued(w WaitInfo) {
	st.waitAck()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.answered || st.told {
		return
	}
	st.told = true
	st.d.reply(st.req, slackrender.Queued(w.Ahead, w.Estimate), replace)
}

// answer shows the job's answer; later notes are dropped.
func (st *jobState) answer(msg slackrender.Message, mode ReplyMode) {
	st.waitAck()
	st.mu.Lock()
	defer st.mu.Unlock()
	st.answered = true
	st.d.reply(st.req, msg, mode)
}

func (st *jobState) isTold() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.told || st.answered
}

func (d *Dispatcher) remember(st *jobState) {
	d.liveMu.Lock()
	d.live[st] = struct{}{}
	d.liveMu.Unlock()
}

func (d *Dispatcher) forget(st *jobState) {
	d.liveMu.Lock()
	delete(d.live, st)
	d.liveMu.Unlock()
}

// WaitInfo is an estimate of how long a command waits before Postman is asked: Ahead requests are ahead of it
// (the bot's own queue and the gate's), Estimate is the time until its turn. Delay is how much of that is waiting
// for the rate budget: the time its requests would take on an idle gate is not (a command of several calls one
// after the other takes a round trip for each); "Queued…" is said when Delay passes QueuedAfter.
type WaitInfo struct {
	Ahead    int
	Estimate time.Duration
	Delay    time.Duration
	// finish is, from a plan, how long until the job is done (its last call sent and answered).
	finish time.Duration
}

// estimate says how long st will wait: the gate's own estimate for a request of this person (which counts the
// waiters queued at the gate ahead of it), plus the commands queued before it for the same key that no worker has
// taken yet, each at least one request. ok is false when the key's gate is unknown.
func (d *Dispatcher) estimate(st *jobState) (WaitInfo, bool) {
	if st.env == nil || st.env.Client == nil {
		return WaitInfo{}, false
	}
	botAhead := 0
	d.liveMu.Lock()
	for o := range d.live {
		if o != st && o.env == st.env && !o.started.Load() && o.asked.Before(st.asked) {
			botAhead++
		}
	}
	d.liveMu.Unlock()
	g := st.env.Client.EstimateWait(identityTicket(st.req))
	w := WaitInfo{Ahead: g.Ahead + botAhead, Estimate: g.Estimate}
	if st.started.Load() && time.Since(st.asked) >= startedGrace {
		// Requests that join an identical one in flight, or wait for a route bucket, are not in the gate's
		// estimate for a new request; the waits the gate last reported for this key are.
		if gw, ok := d.gateWaitFor(st.env); ok {
			if e := time.Until(gw.until); e > w.Estimate {
				w.Estimate, w.Ahead = e, max(w.Ahead, gw.ahead)
			}
		}
	}
	if st.started.Load() && time.Since(st.asked) >= startedGrace && st.env.Budget != nil {
		// A started command still running is waiting somewhere the gate's estimate for a new request does not
		// see (behind an identical request it joined, or queued before the gate learnt the key's limit): count
		// everything queued at the gate ahead of it.
		snap := st.env.Budget()
		if ahead := snap.QueuedInteractive + snap.QueuedBackground; ahead > 0 {
			if e := estimateWait(snap, ahead-1, time.Now()); e > w.Estimate {
				w.Estimate, w.Ahead = e, max(w.Ahead, ahead-1)
			}
		}
	}
	if botAhead > 0 && st.env.Budget != nil {
		// The gate does not know the commands still waiting for a worker: add their requests to its queue.
		if e := estimateWait(st.env.Budget(), w.Ahead, time.Now()); e > w.Estimate {
			w.Estimate = e
		}
	}
	w.Delay = w.Estimate
	if !st.started.Load() {
		// The workers may all be busy with commands that wait for the rate budget themselves.
		if wk, ahead := d.workerWait(st); wk > w.Delay {
			w.Delay, w.Estimate, w.Ahead = wk, max(w.Estimate, wk), max(w.Ahead, ahead)
		}
	}
	// A command whose plan is known may wait later than its first request: a later call can meet a route bucket
	// that other commands will have spent by then.
	if p, ok := d.planWait(st); ok && p.Delay > w.Delay {
		w = WaitInfo{Ahead: max(w.Ahead, p.Ahead), Estimate: p.Estimate, Delay: p.Delay}
	}
	return w, true
}

// estimateWait turns a gate snapshot and the number of requests ahead into a wait: nothing while the window has
// room for them and this one, else the time to the window's reset plus a window for each further Limit requests.
func estimateWait(s ratelimit.Snapshot, ahead int, now time.Time) time.Duration {
	limit := max(s.Limit, 1)
	window := s.Window
	if window <= 0 {
		window = time.Minute
	}
	base, avail := time.Duration(0), s.Remaining
	if s.BlockedUntil.After(now) {
		base, avail = s.BlockedUntil.Sub(now), 0
	}
	need := ahead + 1
	if need <= avail && base == 0 {
		return 0
	}
	over := need - avail
	toReset := base
	if s.ResetAt.After(now) && s.ResetAt.Sub(now) > toReset {
		toReset = s.ResetAt.Sub(now)
	}
	return toReset + time.Duration((over-1)/limit)*window
}

// watchWaits re-estimates every command that has not been told yet and is not answered a second after it was
// asked, so that one whose wait grows past QueuedAfter (the gate learnt a lower limit, commands piled up behind the
// workers) hears about it within a second or so, not when its answer finally comes. For a command a worker has
// started, the gate's own reports (observeWaits) come first; but a request queued before the gate learnt the
// key's real limit may never be re-reported, so a started command still running after a second is told when the
// gate says its next request would wait more than QueuedAfter.
func (d *Dispatcher) watchWaits() {
	defer d.wg.Done()
	t := time.NewTicker(d.cfg.WaitCheck)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		d.refreshWorkers()
		d.liveMu.Lock()
		var waiting []*jobState
		for st := range d.live {
			if age := time.Since(st.asked); age >= d.cfg.WaitCheck && (!st.started.Load() || age >= startedGrace) {
				waiting = append(waiting, st)
			}
		}
		d.liveMu.Unlock()
		for _, st := range waiting {
			if st.isTold() {
				continue
			}
			if w, ok := d.estimate(st); ok && d.waitsLong(st, w.Delay) {
				d.pending.Add(1)
				go func() {
					defer d.pending.Done()
					st.tellQueued(w)
				}()
			}
		}
	}
}

// gateWait is the latest wait the gate reported for any request of a key: until when, and how many were ahead.
type gateWait struct {
	until time.Time
	ahead int
}

func (d *Dispatcher) noteGateWait(env *tools.Env, w ratelimit.WaitInfo) {
	if env == nil || w.Estimate <= 0 {
		return
	}
	until := time.Now().Add(w.Estimate)
	d.liveMu.Lock()
	defer d.liveMu.Unlock()
	if d.gateWaits == nil {
		d.gateWaits = map[*tools.Env]gateWait{}
	}
	if prev, ok := d.gateWaits[env]; !ok || until.After(prev.until) || time.Now().After(prev.until) {
		d.gateWaits[env] = gateWait{until: until, ahead: w.Ahead}
	}
}

func (d *Dispatcher) gateWaitFor(env *tools.Env) (gateWait, bool) {
	d.liveMu.Lock()
	defer d.liveMu.Unlock()
	gw, ok := d.gateWaits[env]
	return gw, ok && gw.until.After(time.Now())
}

// startedGrace is how long a started command runs before watchWaits estimates it itself.
const startedGrace = 500 * time.Millisecond

// waitsLong says whether a command that still has delay to wait (for the rate budget) will have waited more than
// QueuedAfter in all, counting the time since it was asked; a wait under half a second left is not worth a note.
func (d *Dispatcher) waitsLong(st *jobState, delay time.Duration) bool {
	return delay >= 500*time.Millisecond && time.Since(st.asked)+delay > d.cfg.QueuedAfter
}

// observeWaits asks the gate to report waits of st's requests, so "Queued…" follows the gate's own estimate (the
// position counts the waiters ahead at the gate), and to fail at once, with the time to retry, a request whose
// wait would outlast the job's deadline.
func (d *Dispatcher) observeWaits(ctx context.Context, st *jobState) context.Context {
	ctx = ratelimit.WithWaitObserver(ctx, func(w ratelimit.WaitInfo) {
		st.track.Lock()
		st.waited = true
		st.lastWait, st.waitEnd = time.Now(), w.Until
		st.track.Unlock()
		d.noteGateWait(st.env, w)
		if !d.waitsLong(st, w.Estimate) {
			return
		}
		// tellQueued says nothing when a note or the answer is out already; asking here would wait for st.mu,
		// which a post to Slack may hold.
		d.pending.Add(1)
		go func() {
			defer d.pending.Done()
			st.tellQueued(WaitInfo{Ahead: w.Ahead, Estimate: w.Estimate})
		}()
	})
	if dl, ok := ctx.Deadline(); ok {
		ctx = ratelimit.WithMaxWait(ctx, time.Until(dl))
	}
	if st.plan != nil {
		ctx = ratelimit.WithSendObserver(ctx, st.noteSend)
	}
	return ctx
}

// timedOut explains a command that ran out of JobTimeout: waiting for the key's rate budget (with when to retry) or
// for Postman.
func (d *Dispatcher) timedOut(st *jobState) slackrender.Message {
	rate := st.told || !st.started.Load()
	if st.env != nil && st.env.Budget != nil {
		s := st.env.Budget()
		if s.QueuedInteractive+s.QueuedBackground > 0 || s.Remaining <= 0 || s.BlockedUntil.After(time.Now()) {
			rate = true
		}
	}
	st.track.Lock()
	rate = rate || st.waited
	st.track.Unlock()
	var retry time.Time
	if rate {
		retry = d.retryAt(st.env)
	}
	return slackrender.TimedOut(d.cfg.JobTimeout, rate, retry)
}

// retryAt is when a request of env's key is expected to find room in its rate budget: the latest of the window's
// reset or the gate's 429 block while they lie ahead, the latest wait the gate reported for the key, and the wait
// of the requests queued now. A person told "rate limited" is always told when to retry (a wait on one of
// Postman's route buckets leaves no reset in the key's snapshot); with nothing known, one window from now.
func (d *Dispatcher) retryAt(env *tools.Env) time.Time {
	now := time.Now()
	if env == nil || env.Budget == nil {
		return now.Add(time.Minute)
	}
	s := env.Budget()
	at := now.Add(estimateWait(s, s.QueuedInteractive+s.QueuedBackground, now))
	for _, t := range []time.Time{s.ResetAt, s.BlockedUntil} {
		if t.After(at) {
			at = t
		}
	}
	if gw, ok := d.gateWaitFor(env); ok && gw.until.After(at) {
		at = gw.until
	}
	if !at.After(now) {
		window := s.Window
		if window <= 0 {
			window = time.Minute
		}
		at = now.Add(window)
	}
	return at
}

// maxProgressNotes bounds a monitor run's progress updates: a click's response_url takes five posts, and the
// working note, the running note and the result need three of them.
const maxProgressNotes = 2

// runMonitor runs a confirmed monitor outside the worker pool and past JobTimeout: Postman may take minutes.
// The confirmation is replaced by a running note, updated every ProgressEvery (at most maxProgressNotes times,
// so the click's response_url keeps a post for the result), then by the result.
func (d *Dispatcher) runMonitor(st *jobState, env *tools.Env, cmd Command, subject string) {
	name := firstNonEmpty(subject, "the monitor")
	st.note(slackrender.Text("⏳ Running monitor " + name + "… the result will replace this message."))
	d.pending.Add(1)
	d.wg.Add(1)
	done := make(chan struct{})
	go func() {
		defer d.wg.Done()
		defer d.pending.Done()
		defer close(done)
		ctx, cancel := context.WithTimeout(d.ctx, d.cfg.MonitorRunTimeout)
		defer cancel()
		d.runWrite(ctx, st, env, cmd, subject)
	}()
	d.pending.Add(1)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.pending.Done()
		start := time.Now()
		t := time.NewTicker(d.cfg.ProgressEvery)
		defer t.Stop()
		for updates := 0; updates < maxProgressNotes; {
			select {
			case <-done:
				return
			case <-d.stop:
				return
			case <-t.C:
				updates++
				secs := int(time.Since(start).Round(time.Second) / time.Second)
				st.note(slackrender.Text("⏳ Monitor " + name + " is still running (" + strconv.Itoa(secs) + " s so far); the result will replace this message."))
			}
		}
	}()
}
