package slackbot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/notify"
	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

// The notification commands: subscribe, unsubscribe, subscriptions, mute, unmute (monitor history is the
// monitor_history tool). Subscribing and unsubscribing are writes (the allowlist in team mode, anyone with their
// own linked key); muting is a channel matter anyone in it may change.

const notifyVerb = "notify"

// notifyActionPrefix starts the action_id of the buttons on monitor result messages.
const notifyActionPrefix = slackrender.ActionIDPrefix + "notify:"

// parseNotify reads `subscribe <monitor|workspace> [all|failures|recoveries]`, `unsubscribe <…>`,
// `subscriptions`, `mute <monitor> <1h|4h|1d|duration>` and `unmute <monitor>`.
func parseNotify(head string, rest []string) Command {
	c := Command{Verb: notifyVerb, Args: map[string]any{"op": head}}
	switch head {
	case "subscriptions":
		return c
	case "subscribe":
		if len(rest) > 1 && store.Policy(strings.ToLower(rest[len(rest)-1])).Valid() {
			c.Args["policy"] = strings.ToLower(rest[len(rest)-1])
			rest = rest[:len(rest)-1]
		}
		if len(rest) == 0 {
			return usage("subscribe <monitor|workspace> [all|failures|recoveries]")
		}
	case "unsubscribe", "unmute":
		if len(rest) == 0 {
			return usage(head + " <monitor|workspace>")
		}
	case "mute":
		if len(rest) < 2 {
			return usage("mute <monitor> <1h|4h|1d|duration>")
		}
		c.Args["duration"] = rest[len(rest)-1]
		rest = rest[:len(rest)-1]
	}
	c.Args["target"] = strings.Join(rest, " ")
	return c
}

func (d *Dispatcher) handleNotify(ctx context.Context, req Request, cmd Command) Ack {
	n := d.cfg.Notify
	if n == nil {
		return msgAck(slackrender.Text("Monitor notifications are not enabled on this pmops."))
	}
	op, _ := cmd.Args["op"].(string)
	target, _ := cmd.Args["target"].(string)
	switch op {
	case "subscriptions":
		return d.listSubscriptions(ctx, req)
	case "mute", "unmute":
		sub, ok, err := n.FindSubscription(ctx, req.ChannelID, target)
		if err != nil {
			return msgAck(slackrender.Text(err.Error()))
		}
		if !ok || sub.Target.Kind != store.TargetMonitor {
			return msgAck(slackrender.Text(fmt.Sprintf("No monitor %q is subscribed in this channel; see /postman subscriptions.", target)))
		}
		if op == "unmute" {
			was, err := n.Unmute(ctx, req.ChannelID, sub.Target.ID)
			if err != nil {
				return d.notifyFailed(err)
			}
			if !was {
				return msgAck(slackrender.Text(fmt.Sprintf("%s was not muted here.", nameOf(sub))))
			}
			return d.inChannel(req, fmt.Sprintf("🔔 <@%s> unmuted %s here.", req.UserID, nameOf(sub)))
		}
		dur, err := notify.ParseMuteDuration(fmt.Sprint(cmd.Args["duration"]))
		if err != nil {
			return msgAck(slackrender.Text(err.Error()))
		}
		return d.mute(ctx, req, sub, dur)
	}
	env, w, err := d.envFor(ctx, req)
	if err != nil {
		return msgAck(slackrender.Text(err.Error()))
	}
	if err := d.mayWrite(ctx, req, w); err != nil {
		return msgAck(slackrender.Text(err.Error()))
	}
	switch op {
	case "unsubscribe":
		sub, ok, err := n.Unsubscribe(ctx, req.ChannelID, target)
		if err != nil {
			return msgAck(slackrender.Text(err.Error()))
		}
		if !ok {
			return msgAck(slackrender.Text(fmt.Sprintf("This channel is not subscribed to %q; see /postman subscriptions.", target)))
		}
		d.cfg.Logger.Info("audit", "user", req.UserID, "channel", req.ChannelID, "action", "unsubscribe", "target", sub.Target.ID)
		return d.inChannel(req, fmt.Sprintf("🔕 <@%s> unsubscribed this channel from %s.", req.UserID, nameOf(sub)))
	case "subscribe":
		policy := store.PolicyFailures
		if p, ok := cmd.Args["policy"].(string); ok {
			policy = store.Policy(p)
		}
		return d.queue(req, env, false, func(ctx context.Context, st *jobState) { d.subscribe(ctx, st, env, target, policy) })
	}
	return msgAck(slackrender.Text("Unknown notification command; see /postman help."))
}

func (d *Dispatcher) notifyFailed(err error) Ack {
	d.cfg.Logger.Error("notification state", "err", err)
	return msgAck(slackrender.Text("The notification state could not be read or saved; try again in a minute."))
}

// inChannel answers for everyone in the channel: the change is the channel's.
func (d *Dispatcher) inChannel(req Request, mrkdwn string) Ack {
	m := notifyText(mrkdwn)
	m.InChannel = true
	return Ack{Message: &m, InChannel: true}
}

// notifyText is a message of mrkdwn built here (every outside string in it escaped).
func notifyText(mrkdwn string) slackrender.Message {
	return slackrender.Notice(mrkdwn)
}

func nameOf(s store.Subscription) string {
	kind := "monitor"
	if s.Target.Kind == store.TargetWorkspace {
		kind = "workspace"
	}
	return fmt.Sprintf("%s *%s*", kind, escapeMrkdwn(firstNonEmpty(s.TargetName, s.Target.ID)))
}

var mrkdwnReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escapeMrkdwn(s string) string { return mrkdwnReplacer.Replace(s) }

func (d *Dispatcher) mute(ctx context.Context, req Request, sub store.Subscription, dur time.Duration) Ack {
	until, err := d.cfg.Notify.Mute(ctx, req.ChannelID, sub.Target.ID, req.UserID, dur)
	if err != nil {
		return msgAck(slackrender.Text(err.Error()))
	}
	return d.inChannel(req, fmt.Sprintf("🔇 <@%s> muted %s here until %s. Runs are still recorded; `/postman unmute %s` ends it early.",
		req.UserID, nameOf(sub), until.UTC().Format("2006-01-02 15:04 UTC"), escapeMrkdwn(firstNonEmpty(sub.TargetName, sub.Target.ID))))
}

func (d *Dispatcher) listSubscriptions(ctx context.Context, req Request) Ack {
	subs, mutes, err := d.cfg.Notify.Subscriptions(ctx, req.ChannelID)
	if err != nil {
		return d.notifyFailed(err)
	}
	if len(subs) == 0 {
		return msgAck(slackrender.Text("This channel has no monitor subscriptions. Add one with /postman subscribe <monitor|workspace> [all|failures|recoveries]."))
	}
	muted := map[string]time.Time{}
	for _, m := range mutes {
		muted[m.MonitorUID] = m.Until
	}
	var b strings.Builder
	b.WriteString("*Monitor subscriptions in this channel*")
	for _, s := range subs {
		fmt.Fprintf(&b, "\n• %s: %s", nameOf(s), s.Policy)
		if until, ok := muted[s.Target.ID]; ok {
			fmt.Fprintf(&b, " · 🔇 muted until %s", until.UTC().Format("2006-01-02 15:04 UTC"))
		}
		if s.Paused {
			fmt.Fprintf(&b, " · ⏸️ paused (%s)", escapeMrkdwn(s.PauseNote))
		}
	}
	m := notifyText(b.String())
	return msgAck(m)
}

// subscribe resolves the target exactly (a monitor first, then a workspace) and subscribes the channel.
func (d *Dispatcher) subscribe(ctx context.Context, st *jobState, env *tools.Env, target string, policy store.Policy) {
	req := st.req
	ctx = withTicket(ctx, req)
	r := d.renderer(req)
	var (
		tgt    store.Target
		name   string
		status *tools.MonitorStatus
	)
	ms, err := tools.ResolveMonitor(ctx, env, target)
	if err == nil {
		tgt, name, status = store.Target{Kind: store.TargetMonitor, ID: ms.UID}, ms.Name, &ms
	} else {
		var te *tools.Error
		if !errors.As(err, &te) || te.Kind != tools.KindNotFound || len(te.Candidates) > 0 {
			st.answer(d.failure(ctx, st, env, r, err, Command{Tool: "get_monitor", Args: map[string]any{"monitor": target}}), replace)
			return
		}
		ws, werr := tools.ResolveWorkspace(ctx, env, target)
		if werr != nil {
			st.answer(d.failure(ctx, st, env, r, err, Command{Tool: "get_monitor", Args: map[string]any{"monitor": target}}), replace)
			return
		}
		tgt, name = store.Target{Kind: store.TargetWorkspace, ID: ws.ID}, ws.Name
	}
	created, err := d.cfg.Notify.Subscribe(ctx, req.ChannelID, req.UserID, tgt, name, policy, status)
	if err != nil {
		d.cfg.Logger.Error("subscribe", "err", err)
		st.answer(slackrender.Text("The subscription could not be saved; try again in a minute."), replace)
		return
	}
	d.cfg.Logger.Info("audit", "user", req.UserID, "channel", req.ChannelID, "action", "subscribe", "target", tgt.ID, "policy", policy)
	sub := store.Subscription{Target: tgt, TargetName: name}
	verb := "subscribed this channel to"
	if !created {
		verb = "changed this channel's subscription to"
	}
	what := map[store.Policy]string{store.PolicyAll: "every run", store.PolicyFailures: "failures and recoveries",
		store.PolicyRecoveries: "the first three failures, then the recovery"}[policy]
	private := "Subscribed. pmops polls Postman after each scheduled run, within the API quota."
	if u := d.cfg.Notify.HookURL(); u != "" {
		private = "Subscribed. For results within seconds, add a *Custom webhook* integration in Postman (Integrations → " +
			"Custom webhook → Post monitoring results) for this monitor with this URL; keep it secret:\n`" + escapeMrkdwn(u) + "`\n" +
			"Without it, pmops polls Postman after each scheduled run, within the API quota."
	}
	// The private answer (it may carry the webhook secret) replaces the working note first; the announcement for
	// the channel is a new message after it, so no replace_original can ever land on it.
	st.answer(notifyText(private), replace)
	d.reply(req, notifyText(fmt.Sprintf("📡 <@%s> %s %s: %s.", req.UserID, verb, nameOf(sub), what)), ReplyMode{InChannel: true})
}

// handleNotifyButton answers the buttons of a monitor result message: Re-run (confirmed in Slack), Mute 1 h,
// Unsubscribe. The value is the monitor UID.
func (d *Dispatcher) handleNotifyButton(ctx context.Context, req Request) Ack {
	n := d.cfg.Notify
	if n == nil || req.ActionValue == "" {
		return Ack{}
	}
	uid := req.ActionValue
	sub, ok, err := n.FindSubscription(ctx, req.ChannelID, uid)
	if err != nil {
		return d.notifyFailed(err)
	}
	if !ok {
		sub = store.Subscription{Target: store.Target{Kind: store.TargetMonitor, ID: uid}}
	}
	switch req.ActionID {
	case slackrender.ActionMonitorMute:
		if !ok {
			return msgAck(slackrender.Text("This channel is no longer subscribed to that monitor."))
		}
		ack := d.mute(ctx, req, sub, time.Hour)
		return ack
	case slackrender.ActionMonitorUnsubscribe, slackrender.ActionMonitorRerun:
		env, w, err := d.envFor(ctx, req)
		if err != nil {
			return msgAck(slackrender.Text(err.Error()))
		}
		if err := d.mayWrite(ctx, req, w); err != nil {
			return msgAck(slackrender.Text(err.Error()))
		}
		if req.ActionID == slackrender.ActionMonitorUnsubscribe {
			if !ok {
				return msgAck(slackrender.Text("This channel is no longer subscribed to that monitor."))
			}
			if _, _, err := n.Unsubscribe(ctx, req.ChannelID, uid); err != nil {
				return d.notifyFailed(err)
			}
			return d.inChannel(req, fmt.Sprintf("🔕 <@%s> unsubscribed this channel from %s.", req.UserID, nameOf(sub)))
		}
		d.cfg.Logger.Info("audit", "user", req.UserID, "channel", req.ChannelID, "action", "rerun", "monitor", uid)
		// Not a "click" for queue: that would replace the result message the button sits on with the working note.
		return d.queue(req, env, false, func(ctx context.Context, st *jobState) {
			cmd := Command{Tool: "run_monitor", Args: map[string]any{"monitor": uid}}
			res, err := d.call(ctx, req, env, cmd.Tool, cmd.Args)
			r := d.renderer(req)
			if err != nil {
				st.answer(d.failure(ctx, st, env, r, err, cmd), ReplyMode{})
				return
			}
			// The run's result also reaches the channel as a notification (it is a result like any other).
			st.answer(r.result(res), ReplyMode{})
		})
	}
	return Ack{}
}

func withTicket(ctx context.Context, req Request) context.Context {
	return ratelimit.WithTicket(ctx, identityTicket(req))
}
