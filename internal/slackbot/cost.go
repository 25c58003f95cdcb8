package slackbot

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/tools"
)

// readPlan is the Postman calls a read command is expected to make: its tool's plan, then the name lookups
// namesFor makes for the result. nil when the tool declares none (its wait is then estimated as one request).
func readPlan(cmd Command) []tools.Call {
	t, ok := tools.Lookup(cmd.Tool)
	if !ok {
		return nil
	}
	raw, err := json.Marshal(cmd.Args)
	if err != nil {
		return nil
	}
	plan := t.Plan(raw)
	if plan == nil {
		return nil
	}
	switch cmd.Tool {
	case "get_monitor":
		// namesFor names a monitor's collection and environment (a monitor without an environment skips the
		// second lookup; the plan assumes one).
		plan = append(plan, tools.NamesPlan("collection")...)
		plan = append(plan, tools.NamesPlan("environment")...)
	case "list_mocks":
		plan = append(plan, tools.NamesPlan("collection")...)
	}
	return plan
}

// maxSentKept bounds the sends a job remembers for its plan's progress.
const maxSentKept = 64

// noteSend records one of st's requests going to Postman.
func (st *jobState) noteSend(method, path string) {
	st.track.Lock()
	defer st.track.Unlock()
	st.lastSend = time.Now()
	if len(st.sent) < maxSentKept {
		st.sent = append(st.sent, method+" "+path)
	}
}

// remaining is the part of st's plan not sent yet. Steps run one after the other: the last step that matches a
// sent request is the one under way (less what of it was sent), and every step before it is done, including
// those answered from the gate's cache, which send nothing. inFlight says a request of st was sent less than rtt
// ago and is presumably still out.
func (st *jobState) remaining(rtt time.Duration) (rest []tools.Call, inFlight time.Duration) {
	st.track.Lock()
	defer st.track.Unlock()
	rest = st.plan
	for i := len(st.plan) - 1; i >= 0; i-- {
		c, n := st.plan[i], 0
		for _, s := range st.sent {
			if sendMatches(c, s) {
				n++
			}
		}
		if n == 0 {
			continue
		}
		rest = st.plan[i+1:]
		if left := c.Count() - n; left > 0 {
			c.N = left
			rest = append([]tools.Call{c}, rest...)
		}
		break
	}
	if !st.lastSend.IsZero() {
		if since := time.Since(st.lastSend); since < rtt {
			inFlight = rtt - since
		}
	}
	return rest, inFlight
}

// sendMatches says whether a sent "METHOD /path" is a request of step c ("{…}" in c's path is one segment).
func sendMatches(c tools.Call, sent string) bool {
	method, path, _ := strings.Cut(sent, " ")
	return strings.EqualFold(method, c.Method) && ratelimit.PathMatches(c.Path, path)
}

// planWait estimates st's wait from its plan: the calls it has still to make, queued at the gate now behind
// those of the commands for the same key that no worker has taken yet (their whole plans) and behind what the
// gate already holds. A shared call (a cached listing, a read under the gate's cache rules) costs nothing when
// the gate has its answer cached, and is counted once across the commands (they share one request).
//
// Estimate is when the last of st's calls could be sent; Delay is how much later that is than on an idle gate,
// where st's steps follow one another a round trip apart: a command whose calls all fit is not delayed, however
// many steps it has. While a request of st waits at the gate (the gate reported a wait after st's last send),
// that step is in the gate's queue already and counts there, not again in the plan. ok is false when st has no
// plan.
func (d *Dispatcher) planWait(st *jobState) (WaitInfo, bool) {
	if st.plan == nil || st.env == nil || st.env.Client == nil {
		return WaitInfo{}, false
	}
	st.track.Lock()
	waiting := st.lastWait.After(st.lastSend)
	st.track.Unlock()
	c := st.env.Client
	var rtt time.Duration
	if st.env.Budget != nil {
		rtt = st.env.Budget().RTT
	}
	rest, inFlight := st.remaining(rtt)
	pending := time.Duration(0) // the step waiting at the gate still takes a round trip once it is sent
	if waiting && len(rest) > 0 {
		rest, inFlight, pending = rest[1:], 0, rtt
	}
	now := time.Now()
	at := now.Add(inFlight + rtt)
	seen := map[string]bool{}
	var sends []ratelimit.Send
	add := func(calls []tools.Call) (steps int) {
		for _, x := range calls {
			if x.Shared {
				k := x.Method + " " + x.Path
				if _, ok := seen[k]; ok {
					continue
				}
				seen[k] = true
				if c.Cached(x.Path, at) {
					continue
				}
			}
			sends = append(sends, ratelimit.Send{Method: x.Method, Path: x.Path, N: x.Count()})
			steps++
		}
		return steps
	}
	var ahead [][]tools.Call
	d.liveMu.Lock()
	for o := range d.live {
		if o != st && o.env == st.env && !o.started.Load() && o.asked.Before(st.asked) {
			ahead = append(ahead, o.plan)
		}
	}
	d.liveMu.Unlock()
	for _, p := range ahead {
		add(p)
	}
	before := 0
	for _, s := range sends {
		before += s.N
	}
	steps := add(rest)
	var w WaitInfo
	if steps > 0 {
		g := c.EstimateSends(identityTicket(st.req), sends)
		idle := inFlight + pending + time.Duration(steps-1)*rtt
		w = WaitInfo{Ahead: g.Ahead + before, Estimate: g.Estimate, Delay: max(0, g.Estimate-idle), finish: max(g.Estimate, idle) + rtt}
	} else {
		w.finish = inFlight + pending
	}
	if waiting {
		st.track.Lock()
		end := st.waitEnd
		st.track.Unlock()
		w.finish = max(w.finish, time.Until(end)+rtt)
	}
	return w, true
}

// finishIn is how long until a running job is expected to be done: from its plan, or, without one, the end of
// the gate's last reported wait for it (or now) and a round trip.
func (d *Dispatcher) finishIn(st *jobState) time.Duration {
	if w, ok := d.planWait(st); ok {
		return w.finish
	}
	var rtt time.Duration
	if st.env != nil && st.env.Budget != nil {
		rtt = st.env.Budget().RTT
	}
	st.track.Lock()
	end := st.waitEnd
	st.track.Unlock()
	return max(time.Until(end), 0) + rtt
}

// workerLoad is the busy workers' expected finishing times, earliest first, as of the last WaitCheck.
type workerLoad struct {
	busy int
	ends []time.Time
}

// refreshWorkers estimates when each busy worker frees up (every WaitCheck, from watchWaits).
func (d *Dispatcher) refreshWorkers() {
	d.liveMu.Lock()
	var running []*jobState
	for st := range d.live {
		if st.started.Load() {
			running = append(running, st)
		}
	}
	d.liveMu.Unlock()
	now := time.Now()
	load := &workerLoad{busy: len(running), ends: make([]time.Time, 0, len(running))}
	for _, st := range running {
		load.ends = append(load.ends, now.Add(d.finishIn(st)))
	}
	slices.SortFunc(load.ends, func(a, b time.Time) int { return a.Compare(b) })
	d.workers.Store(load)
}

// workerWait is how long st, which no worker has taken yet, waits for one: nothing while a worker is free for it
// and for the jobs queued before it (any key: the workers are shared), else until the busy worker it will get
// is expected to free up, as of the last WaitCheck. Past one round of the busy workers, each further round is
// taken to last as long as the current one (the jobs queued behind busy ones meet the same budget). ahead is
// the jobs queued before it.
func (d *Dispatcher) workerWait(st *jobState) (time.Duration, int) {
	load := d.workers.Load()
	if load == nil {
		return 0, 0
	}
	ahead := 0
	d.liveMu.Lock()
	for o := range d.live {
		if o != st && !o.started.Load() && o.asked.Before(st.asked) {
			ahead++
		}
	}
	d.liveMu.Unlock()
	free := d.cfg.Workers - load.busy
	if ahead < free || len(load.ends) == 0 {
		return 0, ahead
	}
	n := len(load.ends)
	i := ahead - max(free, 0)
	round := max(time.Until(load.ends[n-1]), 0)
	return max(time.Until(load.ends[i%n]), 0) + time.Duration(i/n)*round, ahead
}
