package slackbot

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/slackrender"
)

// runProgress keeps a collection run's progress in sight for the whole run, within Slack's rules.
//
// The click's response_url takes five posts in all, and the working note and the result need two, so it cannot
// follow a run of minutes. A run therefore shows its progress in two places:
//   - the first update replaces the confirmation through the response_url, as every answer does, so a short run
//     never touches the channel;
//   - a run still going runProgressEvery later is a long one: the bot posts its progress in the channel
//     (chat.postMessage) and edits that message (chat.update, which has no post budget) every runProgressEvery
//     until the run ends; the confirmation is replaced once more to say where the live progress is. When the
//     run ends, the result replaces the confirmation, with its Re-run button, as before, and the channel
//     message is deleted. The channel message says who runs what and how far it is, never which requests
//     failed: the result stays with the person who ran it (who may share it).
//
// When the bot cannot post in the channel (not_in_channel, channel_not_found, a transport with no Web API) the
// progress stays on the response_url: at most maxRunNotes notes, the last saying how to get live progress.
//
// Updates are at least runProgressEvery apart (chat.update is Tier 3, about 50 a minute per workspace, which
// the responder also enforces); a 429 pauses them for its Retry-After.
type runProgress struct {
	d       *Dispatcher
	st      *jobState
	subject string
	now     func() time.Time
	start   time.Time
	msgr    ChannelMessenger // nil: the response_url only

	mu          sync.Mutex
	done, total int
	latest      string
	events      int

	stepMu    sync.Mutex // one update at a time; the fields below are the updates' state
	shown     bool       // an update has been shown
	last      time.Time  // when the last update was shown
	notBefore time.Time  // a 429's Retry-After
	urlNotes  int        // progress notes posted to the response_url
	noChannel string     // why the channel cannot be used ("" while it may be)
	ts        string     // the channel message
	closed    bool
}

func (d *Dispatcher) newRunProgress(st *jobState, subject string, now func() time.Time) *runProgress {
	p := &runProgress{d: d, st: st, subject: subject, now: now, start: now()}
	if m, ok := d.cfg.Responder.(ChannelMessenger); ok && st.req.ChannelID != "" {
		p.msgr = m
	} else {
		p.noChannel = "no channel"
	}
	return p
}

// record keeps Newman's latest report (done of total requests, the latest event); it never waits for Slack.
func (p *runProgress) record(done, total int, latest string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done, p.total, p.latest = done, total, latest
	p.events++
}

// started says whether Newman has reported anything yet.
func (p *runProgress) started() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.events > 0
}

func (p *runProgress) status(now time.Time, by string) slackrender.RunStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	elapsed := now.Sub(p.start)
	return slackrender.RunStatus{Collection: p.subject, Done: p.done, Total: p.total, Latest: p.latest, By: by,
		Elapsed: elapsed, Left: slackrender.RunLeft(p.done, p.total, elapsed)}
}

// Footers of the progress notes on the confirmation.
const (
	footerLive    = "This message is updated as the run goes on and replaced by the result."
	footerChannel = "Live progress is in the bot's message in this channel; the result will replace this message."
	footerLast    = "The result will replace this message."
	footerInvite  = "The result will replace this message. To follow long runs live, invite the bot to this channel (/invite @postman)."
)

// step shows an update if one is due: on Newman's first report (or runProgressEvery into a run it has not
// reported on yet), then never closer than runProgressEvery to the previous one, never before a 429's
// Retry-After.
func (p *runProgress) step(ctx context.Context) {
	p.stepMu.Lock()
	defer p.stepMu.Unlock()
	now := p.now()
	waiting := !p.started() && now.Sub(p.start) < runProgressEvery // Newman starting: a run of seconds says nothing
	if p.closed || waiting || now.Before(p.notBefore) || (p.shown && now.Sub(p.last) < runProgressEvery) {
		return
	}
	if !p.shown {
		p.shown, p.last = true, now
		p.urlNote(now, footerLive)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	channel := p.st.req.ChannelID
	if p.noChannel == "" {
		msg := slackrender.RunLive(withFooter(p.status(now, p.st.req.UserID), "Updated every few seconds until the run ends; the result goes to the person who ran it."))
		var err error
		if p.ts == "" {
			var ts string
			if ts, err = p.msgr.PostChannel(cctx, channel, msg); err == nil {
				p.ts = ts
				p.shown, p.last = true, now
				p.urlNote(now, footerChannel)
				return
			}
		} else if err = p.msgr.UpdateChannel(cctx, channel, p.ts, msg); err == nil {
			p.last = now
			return
		}
		if p.backOff(now, err) {
			return
		}
		// The channel is out of reach (the bot is not in it, the message was deleted…): the response_url's
		// remaining posts carry the progress.
		p.noChannel = slackCode(err)
		p.d.cfg.Logger.Info("run progress stays on the response_url", "channel", channel, "why", p.noChannel)
		if p.ts != "" {
			_ = p.msgr.DeleteChannel(cctx, channel, p.ts)
			p.ts = ""
		}
	}
	if p.urlNotes >= maxRunNotes {
		return
	}
	p.last = now
	footer := footerLive
	if p.urlNotes == maxRunNotes-1 {
		footer = footerLast
		if p.noChannel == "not_in_channel" || p.noChannel == "channel_not_found" {
			footer = footerInvite
		}
	}
	p.urlNote(now, footer)
}

func withFooter(s slackrender.RunStatus, footer string) slackrender.RunStatus {
	s.Footer = footer
	return s
}

// urlNote replaces the confirmation with the progress (with the latest request, for the person who ran it).
func (p *runProgress) urlNote(now time.Time, footer string) {
	p.urlNotes++
	p.st.note(slackrender.RunLive(withFooter(p.status(now, ""), footer)))
}

// backOff says whether err is one to wait out: a 429 (for its Retry-After, at least runProgressEvery) or the
// responder's own chat.update budget (until the next tick).
func (p *runProgress) backOff(now time.Time, err error) bool {
	var rl *slack.RateLimitedError
	switch {
	case errors.As(err, &rl):
		p.notBefore = now.Add(max(rl.RetryAfter, runProgressEvery))
		return true
	case errors.Is(err, errUpdateBudget):
		return true
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return true
	}
	var sc slack.StatusCodeError
	return errors.As(err, &sc) && (sc.Code == 429 || sc.Code >= 500)
}

func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return "error"
}

// stop ends the updates: once it returns, nothing more is shown for the run's progress.
func (p *runProgress) stop() {
	p.stepMu.Lock()
	defer p.stepMu.Unlock()
	p.closed = true
}

// cleanup removes the channel message once the result is out.
func (p *runProgress) cleanup() {
	p.stepMu.Lock()
	defer p.stepMu.Unlock()
	p.closed = true
	if p.ts == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	channel := p.st.req.ChannelID
	if err := p.msgr.DeleteChannel(ctx, channel, p.ts); err != nil {
		// A progress message left behind must not say the run is still going.
		done := slackrender.Text("Run of " + p.subject + " finished; the result went to the person who ran it.")
		if uerr := p.msgr.UpdateChannel(ctx, channel, p.ts, done); uerr != nil {
			p.d.cfg.Logger.Warn("run progress message left in the channel", "channel", channel, "err", err)
		}
	}
	p.ts = ""
}
