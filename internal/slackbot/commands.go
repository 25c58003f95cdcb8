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
		switch {
		case cmd.Usage != "":
			return msgAck(slackrender.Usage(cmd.Problem, cmd.Usage))
		case cmd.Problem != "":
			return msgAck(prepend(cmd.Problem, slackrender.Help(true)))
		}
		return msgAck(slackrender.Help(true))
	case "login":
		return d.login(ctx, req)
	case "logout":
		return d.logout(ctx, req)
	case "whoami":
		return d.whoami(ctx, req)
	case notifyVerb:
		return d.handleNotify(ctx, req, cmd)
	}
	env, who, err := d.envFor(ctx, req)
	if err != nil {
		return msgAck(slackrender.Text(err.Error()))
	}
	if cmd.Verb == "set-secret" {
		return d.openSetSecret(ctx, req, who, cmd)
	}
	return d.start(ctx, req, env, who, cmd, false)
}

// start queues a tool call for the person behind req: a write is checked against their permission, resolved and
// proposed for confirmation; a read runs. Its answer replaces the message it came from: the "Working on it…"
// (or "Queued…") this returns for a command, or the message whose button was clicked.
func (d *Dispatcher) start(ctx context.Context, req Request, env *tools.Env, w who, cmd Command, clicked bool) Ack {
	if cmd.Write {
		if err := d.mayWrite(ctx, req, w); err != nil {
			return msgAck(slackrender.Text(err.Error()))
		}
		return d.queue(req, env, clicked, func(ctx context.Context, st *jobState) { d.proposeWrite(ctx, st, env, cmd) })
	}
	return d.queuePlanned(req, env, clicked, readPlan(cmd), func(ctx context.Context, st *jobState) { d.runRead(ctx, st, env, cmd) })
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

func (d *Dispatcher) runRead(ctx context.Context, st *jobState, env *tools.Env, cmd Command) {
	r := d.rendererFor(st.req, cmd)
	res, err := d.call(ctx, st.req, env, cmd.Tool, cmd.Args)
	if err != nil {
		st.answer(d.failure(ctx, st, env, r, err, cmd), replace)
		return
	}
	r.names = d.namesFor(ctx, st.req, env, res)
	msg := r.result(res)
	if rep, ok := res.(tools.RunReport); ok && rep.Source == "last_run_stats" && !rep.Passed && !rep.Running && rep.UID != "" {
		// Postman keeps only a past run's numbers: running it now shows which requests and assertions fail.
		msg = slackrender.Compose(msg, rerunOffer(r, rep, "Run it now", "To see which requests and assertions fail, run it now (/postman monitor run "+rep.Monitor+")."))
	}
	st.answer(msg, replace)
}

// rerunOffer is a "Run it now" button for a monitor: a click leads to the run's confirmation.
func rerunOffer(r *renderer, rep tools.RunReport, label, text string) slackrender.Message {
	run := slackrender.Action{Kind: slackrender.ActionPick, Tool: "run_monitor", Args: map[string]any{"monitor": rep.UID}, Label: label}
	return slackrender.Offer(text, []slackrender.Action{run}, r.opts())
}

var replace = ReplyMode{ReplaceOriginal: true}

// namesFor looks up the names of resources a result refers to by UID (a monitor's collection and environment,
// a mock's collection), with at most one listing per kind that the gate may answer from its cache.
func (d *Dispatcher) namesFor(ctx context.Context, req Request, env *tools.Env, res tools.Result) map[string]string {
	var kinds []string
	switch r := res.(type) {
	case tools.MonitorView:
		if r.Collection != "" {
			kinds = append(kinds, "collection")
		}
		if r.Environment != "" {
			kinds = append(kinds, "environment")
		}
	case tools.MockList:
		if len(r.Items) > 0 {
			kinds = append(kinds, "collection")
		}
	case tools.MockRow:
		kinds = append(kinds, "collection", "environment")
	case tools.CollectionList:
		for _, c := range r.Items {
			if c.ForkOf != "" {
				kinds = append(kinds, "collection")
				break
			}
		}
	}
	out := map[string]string{}
	ctx = ratelimit.WithTicket(ctx, identityTicket(req))
	for _, k := range kinds {
		names, err := tools.ResourceNames(ctx, env, k)
		if err != nil {
			d.cfg.Logger.Debug("look up names", "kind", k, "err", err)
		}
		maps.Copy(out, names)
	}
	return out
}

// writeTarget is the kind of resource a write changes and the argument that names it.
func writeTarget(toolName string) (kind, arg string) {
	switch toolName {
	case "run_monitor", "set_monitor_active":
		return "monitor", "monitor"
	case "set_environment_variables", "unset_environment_variables":
		return "environment", "environment"
	}
	return "", ""
}

// proposeWrite resolves what a write names (exactly: a partial name is never written to), says when there is
// nothing to do, and otherwise previews the change under the resolved name with Confirm and Cancel.
func (d *Dispatcher) proposeWrite(ctx context.Context, st *jobState, env *tools.Env, cmd Command) {
	if cmd.Tool == "run_collection" {
		d.proposeRun(ctx, st, env, cmd)
		return
	}
	req := st.req
	r := d.renderer(req)
	cmd.Args = maps.Clone(cmd.Args)
	kind, arg := writeTarget(cmd.Tool)
	if kind == "" {
		st.answer(slackrender.Text("That change is not available from Slack."), replace)
		return
	}
	target, err := tools.ResolveWriteTarget(ratelimit.WithTicket(ctx, identityTicket(req)), env, kind, fmt.Sprint(cmd.Args[arg]))
	if err != nil {
		st.answer(d.failure(ctx, st, env, r, err, cmd), replace)
		return
	}
	cmd.Args[arg] = target.UID // confirm exactly what was resolved and previewed
	var details []string
	title, summary := "Confirm", ""
	destructive := false
	switch cmd.Tool {
	case "set_environment_variables", "unset_environment_variables":
		preview := maps.Clone(cmd.Args)
		preview["dry_run"] = true
		res, err := d.call(ctx, req, env, cmd.Tool, preview)
		if err != nil {
			st.answer(d.failure(ctx, st, env, r, err, cmd), replace)
			return
		}
		diff, _ := res.(tools.EnvDiff)
		changed := 0
		for _, c := range diff.Changes {
			if c.Action != "unchanged" {
				changed++
			}
		}
		name := firstNonEmpty(diff.Environment, target.Name)
		if changed == 0 {
			if cmd.Tool == "unset_environment_variables" {
				st.answer(slackrender.Text(fmt.Sprintf("Nothing to remove: %s has none of %s.", name, joinAny(cmd.Args["keys"]))), replace)
			} else {
				st.answer(slackrender.Text(fmt.Sprintf("Nothing to change in %s: the values are already as asked.", name)), replace)
			}
			return
		}
		destructive = cmd.Tool == "unset_environment_variables"
		if destructive {
			title = "Remove variables from " + name + "?"
			cmd.Args["confirm"] = true // the tool only previews a removal without it
		} else {
			title = "Update environment " + name + "?"
		}
		summary, details = slackrender.EnvPreview(diff, cmd.Secret)
	case "run_monitor":
		title = "Run monitor " + target.Name + " now?"
		summary = "It runs the monitor's collection once, outside its schedule." + d.monitorWhat(ctx, req, env, target)
	case "set_monitor_active":
		active := cmd.Args["active"] == true
		if target.Active == active {
			state := map[bool]string{true: "active", false: "paused"}[active]
			st.answer(slackrender.Text(fmt.Sprintf("Monitor %s is already %s; nothing to do.", target.Name, state)), replace)
			return
		}
		if active {
			title = "Resume monitor " + target.Name + "?"
			summary = "It runs again on its schedule."
		} else {
			title = "Pause monitor " + target.Name + "?"
			summary = "It stops running on its schedule until resumed; nothing is deleted."
		}
	}
	confirm := slackrender.Action{Kind: slackrender.ActionConfirm, Tool: cmd.Tool, Args: cmd.Args, Label: "Confirm",
		Danger: destructive, Subject: firstNonEmpty(target.Name, target.UID)}
	if destructive {
		confirm.Label = "Remove"
	}
	st.answer(slackrender.Confirm(title, summary, details, confirm, r.opts()), replace)
}

// monitorWhat names what a monitor runs, from one cached lookup per kind.
func (d *Dispatcher) monitorWhat(ctx context.Context, req Request, env *tools.Env, t tools.Target) string {
	ctx = ratelimit.WithTicket(ctx, identityTicket(req))
	what := ""
	if t.CollectionUID != "" {
		names, _ := tools.ResourceNames(ctx, env, "collection")
		what = " Collection: " + firstNonEmpty(names[t.CollectionUID], "(unknown collection)") + "."
	}
	if t.EnvironmentUID != "" {
		names, _ := tools.ResourceNames(ctx, env, "environment")
		what += " Environment: " + firstNonEmpty(names[t.EnvironmentUID], "(unknown environment)") + "."
	}
	return what
}

// actionHandlers are the button kinds the bot acts on; every action_id the renderer makes must be one of these
// (TestEveryRenderedActionHasAHandler).
var actionHandlers = map[slackrender.ActionKind]bool{
	slackrender.ActionPick: true, slackrender.ActionMore: true, slackrender.ActionShare: true,
	slackrender.ActionConfirm: true, slackrender.ActionCancel: true,
}

// ActionHandled says whether a rendered action_id ("pmops:<kind>[:n]") reaches a handler.
func ActionHandled(actionID string) bool {
	rest, ok := strings.CutPrefix(actionID, slackrender.ActionIDPrefix)
	if !ok {
		return false
	}
	kind, _, _ := strings.Cut(rest, ":")
	return actionHandlers[slackrender.ActionKind(kind)]
}

func (d *Dispatcher) handleAction(ctx context.Context, req Request) Ack {
	if req.ActionValue == "" {
		return Ack{}
	}
	if req.ActionID != "" && !ActionHandled(req.ActionID) {
		d.cfg.Logger.Warn("click on an action the bot does not handle", "action_id", req.ActionID)
		return msgAck(slackrender.Text("That button is not known to pmops; run the command again."))
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
		d.enqueueReply(req, slackrender.Text("Cancelled; nothing changed."), replace)
		return Ack{}
	case slackrender.ActionShare:
		msg, err := unmarshalMessage(p.Message)
		if err != nil {
			return msgAck(slackrender.Text("That answer could not be read; run the command again."))
		}
		d.enqueueReply(req, msg, ReplyMode{InChannel: true})
		return Ack{}
	case slackrender.ActionMore:
		if p.Tool == "" {
			// A continuation page the renderer cut: its blocks are stored behind the token.
			msg, err := unmarshalMessage(p.Message)
			if err != nil {
				return msgAck(slackrender.Text("That page could not be read; run the command again."))
			}
			d.enqueueReply(req, msg, ReplyMode{})
			return Ack{}
		}
		// A list's next page: the same read with the result's cursor.
	}
	env, who, err := d.envFor(ctx, req)
	if err != nil {
		return msgAck(slackrender.Text(err.Error()))
	}
	cmd := Command{Tool: p.Tool, Args: p.Args, Secret: anyStrings(p.Args["secret"])}
	if t, ok := tools.Lookup(p.Tool); !ok {
		return msgAck(slackrender.Text("That button names an unknown action; run the command again."))
	} else {
		cmd.Write = !t.Hints.ReadOnly
	}
	switch p.Kind {
	case slackrender.ActionPick, slackrender.ActionMore:
		return d.start(ctx, req, env, who, cmd, true)
	case slackrender.ActionConfirm:
		if err := d.mayWrite(ctx, req, who); err != nil {
			return msgAck(slackrender.Text(err.Error()))
		}
		if cmd.Tool == "run_collection" {
			return d.queue(req, env, true, func(ctx context.Context, st *jobState) { d.runCollection(st, env, cmd, p.Subject) })
		}
		if cmd.Tool == "run_monitor" {
			return d.queue(req, env, true, func(ctx context.Context, st *jobState) { d.runMonitor(st, env, cmd, p.Subject) })
		}
		return d.queue(req, env, true, func(ctx context.Context, st *jobState) { d.runWrite(ctx, st, env, cmd, p.Subject) })
	}
	return Ack{}
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// enqueueReply shows a stored message (a page, a shared answer, "cancelled") after the ack.
func (d *Dispatcher) enqueueReply(req Request, msg slackrender.Message, mode ReplyMode) {
	d.pending.Add(1)
	go func() {
		defer d.pending.Done()
		d.reply(req, msg, mode)
	}()
}

// runWrite performs a confirmed write and replaces the confirmation with who did what, when.
func (d *Dispatcher) runWrite(ctx context.Context, st *jobState, env *tools.Env, cmd Command, subject string) {
	req := st.req
	r := d.renderer(req)
	res, err := d.call(ctx, req, env, cmd.Tool, cmd.Args)
	if err != nil {
		d.audit(req, cmd.Tool, cmd.Args, "error")
		st.answer(d.failure(ctx, st, env, r, err, cmd), replace)
		return
	}
	d.audit(req, cmd.Tool, cmd.Args, "ok")
	done := slackrender.Done(req.UserID, writeSummary(cmd, res, subject), d.cfg.Now())
	body := stripActions(r.result(res))
	body.More = nil
	parts := []slackrender.Message{done, body}
	if rep, ok := res.(tools.RunReport); ok && !rep.Running && rep.UID != "" {
		parts = append(parts, rerunOffer(r, rep, "Re-run", "To run it again: Re-run, or /postman monitor run "+rep.Monitor+"."))
	}
	st.answer(slackrender.Compose(parts...), replace)
}

// writeSummary says what was done, naming the resource by its resolved name.
func writeSummary(cmd Command, res tools.Result, subject string) string {
	name := func(fallback string) string {
		if c, ok := res.(tools.Change); ok && c.Name != "" && c.Name != c.UID {
			return c.Name
		}
		if subject != "" {
			return subject
		}
		return fallback
	}
	switch cmd.Tool {
	case "set_environment_variables":
		keys := keysOf(cmd.Args["set"])
		what := "set " + strings.Join(keys, ", ")
		if len(keys) > 10 {
			what = fmt.Sprintf("set %s and %d more", strings.Join(keys[:10], ", "), len(keys)-10)
		}
		if len(cmd.Secret) > 0 {
			what += fmt.Sprintf(" (%d as secret)", len(cmd.Secret))
		}
		return fmt.Sprintf("%s in environment %s", what, envName(res, subject))
	case "unset_environment_variables":
		return fmt.Sprintf("removed %s from environment %s", joinAny(cmd.Args["keys"]), envName(res, subject))
	case "run_monitor":
		return fmt.Sprintf("ran monitor %s", name(""))
	case "set_monitor_active":
		if cmd.Args["active"] == true {
			return fmt.Sprintf("resumed monitor %s", name(""))
		}
		return fmt.Sprintf("paused monitor %s", name(""))
	}
	return "made a change"
}

func envName(res tools.Result, subject string) string {
	if d, ok := res.(tools.EnvDiff); ok && d.Environment != "" {
		return d.Environment
	}
	return subject
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
