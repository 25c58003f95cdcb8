package slackbot

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/tools"
)

// runUsage is the usage line of `/postman run`.
const runUsage = "run <collection> [env <environment>] [folder <folder>]"

// parseRun reads `run <collection> [env <environment>] [folder <folder>]`: the words before the first `env` or
// `folder` keyword are the collection's name; each keyword takes the words up to the next keyword.
func parseRun(rest []string) Command {
	parts := map[string][]string{}
	key := "collection"
	for _, w := range rest {
		switch lw := strings.ToLower(w); lw {
		case "env", "environment", "folder":
			if lw == "environment" {
				lw = "env"
			}
			if _, seen := parts[lw]; seen {
				return usageWhy(runUsage, "Name “"+lw+"” only once.")
			}
			key = lw
			parts[key] = nil
			continue
		}
		parts[key] = append(parts[key], w)
	}
	join := func(k string) string { return strings.TrimSpace(strings.Join(parts[k], " ")) }
	if join("collection") == "" {
		return usage(runUsage)
	}
	args := map[string]any{"collection": join("collection")}
	for k, arg := range map[string]string{"env": "environment", "folder": "folder"} {
		if _, ok := parts[k]; !ok {
			continue
		}
		if join(k) == "" {
			return usageWhy(runUsage, "Say which "+arg+" after “"+k+"”.")
		}
		if k == "folder" {
			args["folders"] = []any{join(k)}
		} else {
			args[arg] = join(k)
		}
	}
	c := tool("run_collection", args)
	c.Write = true // a run sends the collection's real requests to the team's APIs
	return c
}

// Collection runs outlive JobTimeout: Newman may take minutes. The tool's own run timeout (10 min by default)
// ends a run first; this only bounds a run whose Newman never reports.
const collectionRunTimeout = 11 * time.Minute

// A run's progress is updated at most every runProgressEvery. At most maxRunNotes of the updates go through the
// click's response_url, which takes five posts (the working note and the result take two of them); the others
// edit the bot's own message in the channel (run_progress.go).
const (
	runProgressEvery = 5 * time.Second
	maxRunNotes      = 3
)

// proposeRun resolves the collection and environment a run names (exactly: a run sends real requests, so a
// partial name is never run) and asks for confirmation under the resolved names.
func (d *Dispatcher) proposeRun(ctx context.Context, st *jobState, env *tools.Env, cmd Command) {
	req := st.req
	r := d.renderer(req)
	if env.CollectionRuns == nil {
		st.answer(slackrender.Text("Collection runs are not set up in this bot: its admin starts it with -newman (or PMOPS_NEWMAN) pointing at Newman, or installs newman on its PATH."), replace)
		return
	}
	if err := tools.RunsReady(env); err != nil {
		msg := err.Error()
		if te, ok := tools.AsError(err); ok {
			msg = te.Message
		}
		st.answer(slackrender.Text("Collection runs cannot start on this bot: "+slackrender.SlackWords(msg)), replace)
		return
	}
	args := maps.Clone(cmd.Args)
	tctx := ratelimit.WithTicket(ctx, identityTicket(req))
	col, err := tools.ResolveRunCollection(tctx, env, fmt.Sprint(args["collection"]))
	if err != nil {
		st.answer(d.runFailure(ctx, st, env, r, err, cmd, "collection"), replace)
		return
	}
	args["collection"] = firstNonEmpty(col.UID, col.ID)
	subject := col.Name
	var summary string
	if q, ok := args["environment"].(string); ok && q != "" {
		e, err := tools.ResolveWriteTarget(tctx, env, "environment", q)
		if err != nil {
			st.answer(d.runFailure(ctx, st, env, r, err, cmd, "environment"), replace)
			return
		}
		args["environment"] = firstNonEmpty(e.UID, e.ID)
		subject += " with " + e.Name
	}
	folders := anyStrings(args["folders"])
	requests, err := tools.CountRunRequests(tctx, env, fmt.Sprint(args["collection"]), folders)
	if err != nil {
		st.answer(d.runFailure(ctx, st, env, r, err, cmd, "folders"), replace)
		return
	}
	if requests == 0 {
		st.answer(slackrender.Text("Nothing to run: "+col.Name+" has no requests"+map[bool]string{true: " in that folder", false: ""}[len(folders) > 0]+"."), replace)
		return
	}
	summary = fmt.Sprintf("It sends %s to the APIs they name, with Newman on the bot's machine; results stay there.", plural(requests, "real request", "real requests"))
	var details []string
	details = append(details, "Collection: "+col.Name)
	if i := strings.Index(subject, " with "); i >= 0 {
		details = append(details, "Environment: "+subject[i+len(" with "):])
	}
	if len(folders) > 0 {
		details = append(details, "Folder: "+strings.Join(folders, ", "))
	} else {
		details = append(details, "Folders: all")
	}
	confirm := slackrender.Action{Kind: slackrender.ActionConfirm, Tool: cmd.Tool, Args: args, Label: "Run", Subject: subject}
	st.answer(slackrender.Confirm("Run collection "+subject+"?", summary, details, confirm, r.opts()), replace)
}

// runFailure shows a failed resolution of a run: an unknown or ambiguous name offers its candidates as buttons
// that propose the same run with the one picked in place of arg.
func (d *Dispatcher) runFailure(ctx context.Context, st *jobState, env *tools.Env, r *renderer, err error, cmd Command, arg string) slackrender.Message {
	te, ok := tools.AsError(err)
	if !ok || len(te.Candidates) == 0 || ctx.Err() != nil {
		return d.failure(ctx, st, env, r, err, Command{})
	}
	retry := func(c tools.Candidate) slackrender.Action {
		args := maps.Clone(cmd.Args)
		if arg == "folders" {
			args[arg] = []any{firstNonEmpty(c.Name, c.ID)}
		} else {
			args[arg] = firstNonEmpty(c.ID, c.Name)
		}
		return slackrender.Action{Kind: slackrender.ActionPick, Tool: cmd.Tool, Args: args, Label: c.Name}
	}
	return slackrender.RenderError(te, retry, r.opts())
}

// runCollection runs a confirmed collection outside the worker pool and past JobTimeout. Its progress is shown
// for the whole run (see runProgress): on the confirmation first, then, for a long run, in a channel message the
// bot edits; the result then replaces the confirmation with the failures and a Re-run button.
func (d *Dispatcher) runCollection(st *jobState, env *tools.Env, cmd Command, subject string) {
	p := d.newRunProgress(st, subject, d.cfg.Now)
	d.pending.Add(1)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.pending.Done()
		ctx, cancel := context.WithTimeout(d.ctx, collectionRunTimeout)
		defer cancel()
		// Newman's events are not held up by Slack: they are recorded, and updates are shown beside them by one
		// goroutine, on Newman's first event and then on a one-second tick (each update gated by the clock).
		kick := make(chan struct{}, 1)
		stop, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-kick:
				case <-t.C:
				}
				p.step(ctx)
			}
		}()
		callEnv := *env
		callEnv.Progress = func(done, total int, msg string) {
			p.record(done, total, msg)
			select {
			case kick <- struct{}{}:
			default:
			}
		}
		res, err := d.call(ctx, st.req, &callEnv, cmd.Tool, cmd.Args)
		close(stop)
		<-stopped
		p.stop()
		d.answerRun(ctx, st, env, cmd, subject, res, err)
		p.cleanup()
	}()
}

// answerRun replaces the run's message with its result (and a Re-run button), or says why there is none.
func (d *Dispatcher) answerRun(ctx context.Context, st *jobState, env *tools.Env, cmd Command, subject string, res tools.Result, err error) {
	req := st.req
	r := d.renderer(req)
	if err != nil {
		d.audit(req, cmd.Tool, cmd.Args, "error")
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			st.answer(slackrender.Text(fmt.Sprintf("⏹️ The run of %s took longer than %d minutes and was stopped.", subject, int(collectionRunTimeout/time.Minute))), replace)
			return
		}
		st.answer(d.failure(ctx, st, env, r, err, Command{}), replace)
		return
	}
	run, _ := res.(tools.CollectionRun)
	d.audit(req, cmd.Tool, cmd.Args, run.Status)
	rerun := slackrender.Action{Kind: slackrender.ActionPick, Tool: cmd.Tool, Args: cmd.Args, Label: "Re-run"}
	done := slackrender.Done(req.UserID, "ran collection "+firstNonEmpty(subject, run.Collection), d.cfg.Now())
	st.answer(slackrender.Compose(done, slackrender.RunResult(run, &rerun, r.opts())), replace)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
