package slackbot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

func msgAck(m slackrender.Message) Ack { return Ack{Message: &m} }

func (d *Dispatcher) handleCommand(ctx context.Context, req Request) Ack {
	cmd := ParseCommand(req.Text)
	switch cmd.Verb {
	case "help":
		m := slackrender.Help(true)
		if cmd.Usage != "" {
			m = prepend(cmd.Usage, m)
		}
		return msgAck(m)
	case "login":
		return d.login(ctx, req)
	case "logout":
		return d.logout(ctx, req)
	case "whoami":
		return d.whoami(ctx, req)
	}
	env, who, err := d.envFor(ctx, req)
	if err != nil {
		return msgAck(slackrender.Text(err.Error()))
	}
	ack := d.start(ctx, req, env, who, cmd, ReplyMode{})
	if ack.Message == nil && cmd.Tool == "list_monitors" {
		return msgAck(slackrender.Text("⏳ Working on it…"))
	}
	return ack
}

// start queues a tool call for the person behind req: a write is checked against their permission and
// proposed for confirmation; a read runs and its answer is shown with mode.
func (d *Dispatcher) start(ctx context.Context, req Request, env *tools.Env, w who, cmd Command, mode ReplyMode) Ack {
	if cmd.Write {
		if err := d.mayWrite(ctx, req, w); err != nil {
			return msgAck(slackrender.Text(err.Error()))
		}
		return d.queue(req, func(ctx context.Context) { d.proposeWrite(ctx, req, env, cmd) })
	}
	return d.queue(req, func(ctx context.Context) { d.runRead(ctx, req, env, cmd, mode) })
}

func prepend(line string, m slackrender.Message) slackrender.Message {
	return slackrender.Compose(slackrender.Text(line), m)
}

// call runs one tool for the person behind req.
func (d *Dispatcher) call(ctx context.Context, req Request, env *tools.Env, toolName string, args map[string]any) (tools.Result, error) {
	t, ok := tools.Lookup(toolName)
	if !ok {
		return nil, fmt.Errorf("no tool %s", toolName)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	ctx = ratelimit.WithTicket(ctx, identityTicket(req))
	return t.Call(ctx, env, raw)
}

func (d *Dispatcher) runRead(ctx context.Context, req Request, env *tools.Env, cmd Command, mode ReplyMode) {
	r := d.rendererFor(req, cmd)
	res, err := d.call(ctx, req, env, cmd.Tool, cmd.Args)
	if err != nil {
		d.reply(req, r.failure(err, cmd), mode)
		return
	}
	msg := r.result(res)
	if rep, ok := res.(tools.RunReport); ok && rep.Source == "last_run_stats" && !rep.Passed && !rep.Running {
		// The tool's own hint speaks of its rerun argument; in Slack the way to capture details is a run.
		msg = slackrender.Compose(msg, slackrender.Text(fmt.Sprintf("To see which requests and assertions fail, run it now: /postman monitor run %s", rep.Monitor)))
	}
	d.reply(req, msg, mode)
}

// proposeWrite previews a write and asks for confirmation. Environment changes are previewed with the tool's own
// dry run, so the person sees the exact diff (secrets masked) before anything changes.
func (d *Dispatcher) proposeWrite(ctx context.Context, req Request, env *tools.Env, cmd Command) {
	r := d.renderer(req)
	var details []string
	title, summary := "Confirm", ""
	destructive := false
	switch cmd.Tool {
	case "set_environment_variables", "unset_environment_variables":
		preview := map[string]any{"dry_run": true}
		for k, v := range cmd.Args {
			preview[k] = v
		}
		res, err := d.call(ctx, req, env, cmd.Tool, preview)
		if err != nil {
			d.reply(req, r.failure(err, cmd), ReplyMode{})
			return
		}
		diff, _ := res.(tools.EnvDiff)
		changed := 0
		for _, c := range diff.Changes {
			if c.Action != "unchanged" {
				changed++
			}
		}
		if changed == 0 {
			d.reply(req, slackrender.Text(fmt.Sprintf("Nothing to change in %s: the values are already as asked.", diff.Environment)), ReplyMode{})
			return
		}
		title = "Update environment " + diff.Environment + "?"
		summary = strings.TrimSpace(strings.TrimPrefix(diff.Text(), "DRY RUN, nothing changed in "+diff.Environment+":"))
		cmd.Args["environment"] = diff.UID // confirm exactly what was previewed
		destructive = cmd.Tool == "unset_environment_variables"
	case "run_monitor":
		title = "Run monitor " + fmt.Sprint(cmd.Args["monitor"]) + " now?"
		summary = "It runs the monitor's collection once, outside its schedule."
	case "set_monitor_active":
		verb := "Pause"
		if cmd.Args["active"] == true {
			verb = "Resume"
		}
		title = verb + " monitor " + fmt.Sprint(cmd.Args["monitor"]) + "?"
	}
	confirm := slackrender.Action{Kind: slackrender.ActionConfirm, Tool: cmd.Tool, Args: cmd.Args, Label: "Confirm", Danger: destructive}
	if destructive {
		confirm.Label = "Remove"
	}
	msg := slackrender.Confirm(title, summary, details, confirm, r.opts())
	d.reply(req, msg, ReplyMode{})
}

func (d *Dispatcher) handleAction(ctx context.Context, req Request) Ack {
	if req.ActionValue == "" {
		return Ack{}
	}
	pending, err := d.cfg.Store.TakeAction(ctx, req.ActionValue, req.user(), d.cfg.Now())
	switch {
	case errors.Is(err, store.ErrNotOwner):
		// Refused without spending the token: its owner's click still works.
		return msgAck(slackrender.Text("Only the person who asked can use these buttons."))
	case errors.Is(err, store.ErrUsed):
		return msgAck(slackrender.Text("That button was already used; nothing more to do."))
	case errors.Is(err, store.ErrExpired):
		return msgAck(slackrender.Text("That button has expired; run the command again."))
	case err != nil:
		return msgAck(slackrender.Text("That button is not known to pmops (it may come from an older message); run the command again."))
	}
	plain, err := d.openAction(req.ActionValue, pending)
	if err != nil {
		d.cfg.Logger.Warn("a button's sealed action does not open here: it was made by an earlier or another pmops process; set PMOPS_SECRET_KEY so confirmations survive restarts and work across replicas",
			"user", req.UserID)
		return msgAck(slackrender.Text("That button was made before pmops restarted (or by another pmops instance) and can no longer be used; run the command again."))
	}
	var p pendingPayload
	if err := json.Unmarshal(plain, &p); err != nil {
		return msgAck(slackrender.Text("That button's action could not be read; run the command again."))
	}
	switch p.Kind {
	case slackrender.ActionCancel:
		d.enqueueReply(req, slackrender.Text("Cancelled; nothing changed."), ReplyMode{ReplaceOriginal: true})
		return Ack{}
	case slackrender.ActionMore, slackrender.ActionShare:
		msg, err := unmarshalMessage(p.Message)
		if err != nil {
			return msgAck(slackrender.Text("That page could not be read; run the command again."))
		}
		mode := ReplyMode{}
		if p.Kind == slackrender.ActionShare {
			mode.InChannel = true
		}
		d.enqueueReply(req, msg, mode)
		return Ack{}
	}
	env, who, err := d.envFor(ctx, req)
	if err != nil {
		return msgAck(slackrender.Text(err.Error()))
	}
	cmd := Command{Tool: p.Tool, Args: p.Args}
	if t, ok := tools.Lookup(p.Tool); !ok {
		return msgAck(slackrender.Text("That button names an unknown action; run the command again."))
	} else {
		cmd.Write = !t.Hints.ReadOnly
	}
	switch p.Kind {
	case slackrender.ActionPick:
		return d.start(ctx, req, env, who, cmd, ReplyMode{ReplaceOriginal: true})
	case slackrender.ActionConfirm:
		if err := d.mayWrite(ctx, req, who); err != nil {
			return msgAck(slackrender.Text(err.Error()))
		}
		return d.queue(req, func(ctx context.Context) { d.runWrite(ctx, req, env, cmd) })
	}
	return Ack{}
}

func (d *Dispatcher) enqueueReply(req Request, msg slackrender.Message, mode ReplyMode) {
	if ack := d.queue(req, func(context.Context) { d.reply(req, msg, mode) }); ack.Message != nil {
		d.reply(req, *ack.Message, ReplyMode{})
	}
}

// runWrite performs a confirmed write and replaces the confirmation with who did what, when.
func (d *Dispatcher) runWrite(ctx context.Context, req Request, env *tools.Env, cmd Command) {
	r := d.renderer(req)
	res, err := d.call(ctx, req, env, cmd.Tool, cmd.Args)
	if err != nil {
		d.audit(req, cmd.Tool, cmd.Args, "error")
		d.reply(req, r.failure(err, cmd), ReplyMode{ReplaceOriginal: true})
		return
	}
	d.audit(req, cmd.Tool, cmd.Args, "ok")
	done := slackrender.Done(req.UserID, writeSummary(cmd, res), d.cfg.Now())
	body := stripActions(r.result(res))
	body.More = nil
	d.reply(req, slackrender.Compose(done, body), ReplyMode{ReplaceOriginal: true})
}

func writeSummary(cmd Command, res tools.Result) string {
	switch cmd.Tool {
	case "set_environment_variables":
		keys := keysOf(cmd.Args["set"])
		return fmt.Sprintf("set %s in environment %s", strings.Join(keys, ", "), envName(res, cmd))
	case "unset_environment_variables":
		return fmt.Sprintf("removed %s from environment %s", joinAny(cmd.Args["keys"]), envName(res, cmd))
	case "run_monitor":
		return fmt.Sprintf("ran monitor %v", cmd.Args["monitor"])
	case "set_monitor_active":
		if cmd.Args["active"] == true {
			return fmt.Sprintf("resumed monitor %v", cmd.Args["monitor"])
		}
		return fmt.Sprintf("paused monitor %v", cmd.Args["monitor"])
	}
	return "ran " + cmd.Tool
}

func envName(res tools.Result, cmd Command) string {
	if d, ok := res.(tools.EnvDiff); ok && d.Environment != "" {
		return d.Environment
	}
	return fmt.Sprint(cmd.Args["environment"])
}

func keysOf(v any) []string {
	m, _ := v.(map[string]any)
	return slices.Sorted(maps.Keys(m))
}

func joinAny(v any) string {
	list, _ := v.([]any)
	parts := make([]string, 0, len(list))
	for _, x := range list {
		parts = append(parts, fmt.Sprint(x))
	}
	return strings.Join(parts, ", ")
}
