package slackbot

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/tools"
)

const (
	setSecretCallback = "pmops_set_secret"
	secretBlock       = "secret_value"
	secretAction      = "value"
)

// secretTarget is what the set-secret form sets, carried in the modal's private_metadata (no value in it).
type secretTarget struct {
	Environment string `json:"environment"`
	Key         string `json:"key"`
	Channel     string `json:"channel"`
}

// openSetSecret opens a private form for one secret value, so the value never appears in a command (Slack keeps
// commands in the channel's history). Submitting the form is the confirmation: it names the environment and key.
func (d *Dispatcher) openSetSecret(ctx context.Context, req Request, w who, cmd Command) Ack {
	if err := d.mayWrite(ctx, req, w); err != nil {
		return msgAck(slackrender.Text(err.Error()))
	}
	if req.TriggerID == "" {
		return msgAck(slackrender.Text("Run /postman env set-secret from Slack: it opens a private form for the value."))
	}
	t := secretTarget{Environment: strings.TrimSpace(cmd.Args["environment"].(string)), Key: strings.TrimSpace(cmd.Args["key"].(string)), Channel: req.ChannelID}
	view, err := secretView(t)
	if err != nil {
		return msgAck(slackrender.Usage("The environment or key name is too long for the form.", "env set-secret <env> <key>"))
	}
	d.pending.Add(1)
	go func() {
		defer d.pending.Done()
		octx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		defer cancel()
		if err := d.cfg.Responder.OpenView(octx, req.TriggerID, view); err != nil {
			d.cfg.Logger.Warn("open set-secret modal", "err", err)
			d.reply(req, slackrender.Text("The form could not be opened; please run the command again."), ReplyMode{})
		}
	}()
	return Ack{}
}

func secretView(t secretTarget) (slack.ModalViewRequest, error) {
	meta, err := json.Marshal(t)
	if err != nil || len(meta) > 3000 {
		return slack.ModalViewRequest{}, errTooLong
	}
	input := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, "value", false, false), secretAction)
	hint := "Stored in " + clipRunes(t.Environment, 100) + " as a secret-type variable " + clipRunes(t.Key, 100) + " (masked in Postman and in Slack). It is never shown or logged."
	block := slack.NewInputBlock(secretBlock, slack.NewTextBlockObject(slack.PlainTextType, "Secret value for "+clipRunes(t.Key, 100), false, false),
		slack.NewTextBlockObject(slack.PlainTextType, hint, false, false), input)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      setSecretCallback,
		PrivateMetadata: string(meta),
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Set a secret", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Set secret", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		Blocks:          slack.Blocks{BlockSet: []slack.Block{block}},
	}, nil
}

type constErr string

func (e constErr) Error() string { return string(e) }

const errTooLong = constErr("too long")

func clipRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// submitSecret takes the set-secret form. The environment is resolved exactly (a partial name is never written
// to); a name that does not resolve keeps the form open with the candidates. The value goes straight to
// Postman, never into an action token, a log or a message.
func (d *Dispatcher) submitSecret(ctx context.Context, req Request) Ack {
	var t secretTarget
	if err := json.Unmarshal([]byte(req.ViewMetadata), &t); err != nil || t.Environment == "" || t.Key == "" {
		return Ack{ViewErrors: map[string]string{secretBlock: "This form is out of date; close it and run /postman env set-secret again."}}
	}
	value := req.ViewValues[secretAction]
	if value == "" {
		return Ack{ViewErrors: map[string]string{secretBlock: "Enter the value."}}
	}
	req.ChannelID = firstNonEmpty(req.ChannelID, t.Channel)
	env, w, err := d.envFor(ctx, req)
	if err != nil {
		return Ack{ViewErrors: map[string]string{secretBlock: err.Error()}}
	}
	if err := d.mayWrite(ctx, req, w); err != nil {
		return Ack{ViewErrors: map[string]string{secretBlock: err.Error()}}
	}
	// Resolve within Slack's 3 s so a wrong name keeps the form open; a slow Postman resolves in the job.
	rctx, cancel := context.WithTimeout(ratelimit.WithTicket(ctx, identityTicket(req)), 2*time.Second)
	target, err := tools.ResolveWriteTarget(rctx, env, "environment", t.Environment)
	cancel()
	if te, ok := tools.AsError(err); ok && (te.Kind == tools.KindNotFound || te.Kind == tools.KindAmbiguous || te.Kind == tools.KindInvalid) {
		msg := slackrender.SlackWords(te.Message)
		var names []string
		for i, c := range te.Candidates {
			if i == 5 {
				break
			}
			names = append(names, c.Name)
		}
		if len(names) > 0 {
			msg += ". Did you mean: " + strings.Join(names, ", ") + "? Close this form and run the command again with the exact name."
		}
		return Ack{ViewErrors: map[string]string{secretBlock: clipRunes(msg, 280)}}
	}
	envRef := t.Environment
	if err == nil {
		envRef = target.UID
	}
	cmd := Command{Tool: "set_environment_variables", Write: true, Secret: []string{t.Key},
		Args: map[string]any{"environment": envRef, "set": map[string]any{t.Key: value}, "secret": []any{t.Key}}}
	req.ResponseURL = "" // a modal has none: answer in the channel, to the person only
	ack := d.queue(req, env, false, func(ctx context.Context, st *jobState) {
		if err != nil { // not resolved in time: resolve now, exactly, before writing
			tg, rerr := tools.ResolveWriteTarget(ratelimit.WithTicket(ctx, identityTicket(req)), env, "environment", t.Environment)
			if rerr != nil {
				st.answer(d.failure(ctx, st, env, d.renderer(req), rerr, Command{}), ReplyMode{})
				return
			}
			cmd.Args["environment"] = tg.UID
			target = tg
		}
		d.runWrite(ctx, st, env, cmd, target.Name)
	})
	if ack.Message != nil && strings.Contains(ack.Message.Text, "busy") {
		return Ack{ViewErrors: map[string]string{secretBlock: ack.Message.Text}}
	}
	return Ack{}
}
