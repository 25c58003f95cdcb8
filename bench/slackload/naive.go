package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/ratelimit"
	"github.com/pmops/pmops/internal/slackbot"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/tools"
)

// naiveBot is the baseline: the obvious slash-command handler that verifies the request, calls the tool and
// answers in the HTTP body. Same parser, tools, gate and renderer as the real bot; only the ack path differs.
type naiveBot struct {
	SigningSecret string
	Envs          slackbot.Envs
	Key           string
}

func (n *naiveBot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, slackbot.MaxBodyBytes))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	sv, err := slack.NewSecretsVerifier(r.Header, n.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form body", http.StatusBadRequest)
		return
	}
	ctx := ratelimit.WithTicket(r.Context(), ratelimit.Ticket{Class: ratelimit.Interactive,
		User: "slack:" + form.Get("team_id") + ":" + form.Get("user_id")})
	// The request's context is all the deadline a naive handler has: it ends when Slack hangs up.
	msg := n.answer(ctx, form.Get("text"))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(slackbot.AckBody(slackbot.Ack{Message: &msg}))
}

// answer runs one command's tool and renders its result or error.
func (n *naiveBot) answer(ctx context.Context, text string) slackrender.Message {
	cmd := slackbot.ParseCommand(text)
	t, ok := tools.Lookup(cmd.Tool)
	if cmd.Tool == "" || !ok {
		return slackrender.Help(false)
	}
	env, err := n.Envs.Env(n.Key)
	if err != nil {
		return slackrender.Text("no Postman key: " + err.Error())
	}
	raw, err := json.Marshal(cmd.Args)
	if err != nil {
		return slackrender.Text(err.Error())
	}
	res, err := t.Call(ctx, env, raw)
	if err != nil {
		if te, ok := tools.AsError(err); ok {
			return slackrender.RenderError(te, nil, slackrender.Options{})
		}
		return slackrender.Text("Something went wrong: " + err.Error())
	}
	return slackrender.Render(res, slackrender.Options{})
}

// ackAnswer reads an HTTP ack body (a slack.Msg) as an answer.
func ackAnswer(body []byte) answer {
	var m struct {
		Text   string          `json:"text"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return answer{text: string(body)}
	}
	return answer{text: m.Text, blocks: m.Blocks}
}
