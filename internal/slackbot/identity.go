package slackbot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
	"github.com/pmops/pmops/internal/vault"
)

// who says whose Postman key a request acts with.
type who struct {
	personal bool // the user's own linked key; false means the team key
}

// envFor picks the key a request acts with: the user's own linked key when there is one, else the team key.
func (d *Dispatcher) envFor(ctx context.Context, req Request) (*tools.Env, who, error) {
	if d.cfg.Vault != nil {
		sealed, _, err := d.cfg.Store.LinkedKey(ctx, req.user())
		switch {
		case err == nil:
			key, err := d.cfg.Vault.Open(sealed, associatedData(req.user()))
			if err != nil {
				d.cfg.Logger.Error("linked key does not open; was PMOPS_SECRET_KEY changed?", "user", req.UserID)
				return nil, who{}, errors.New("Your linked Postman key can no longer be read (the bot's secret key changed). Run /postman login again.")
			}
			env, err := d.cfg.Envs.Env(string(key))
			return env, who{personal: true}, err
		case !errors.Is(err, store.ErrNotFound):
			d.cfg.Logger.Error("read linked key", "err", err)
		}
	}
	if d.cfg.TeamKey == "" {
		if d.cfg.Vault == nil {
			return nil, who{}, errors.New("This bot has no Postman key configured. Ask its admin to set POSTMAN_API_KEY, or PMOPS_SECRET_KEY to let people link their own keys.")
		}
		return nil, who{}, errors.New("Link your Postman account first: run /postman login (your key is stored encrypted and used only for your commands).")
	}
	env, err := d.cfg.Envs.Env(d.cfg.TeamKey)
	return env, who{}, err
}

// mayWrite says whether the user may change Postman: anyone acting with their own key, and in team mode the
// users and user groups on the writers allowlist.
func (d *Dispatcher) mayWrite(ctx context.Context, req Request, w who) error {
	if w.personal {
		return nil
	}
	if slices.Contains(d.cfg.Writers, req.UserID) {
		return nil
	}
	for _, entry := range d.cfg.Writers {
		if !strings.HasPrefix(entry, "S") || d.cfg.Groups == nil {
			continue
		}
		members, err := d.groups.members(ctx, entry, d.cfg.Groups, d.cfg.Now())
		if err != nil {
			d.cfg.Logger.Warn("resolve user group", "group", entry, "err", err)
			continue
		}
		if slices.Contains(members, req.UserID) {
			return nil
		}
	}
	msg := "You can read, but changes through the team's Postman key are limited to the bot's allowlist. Ask an admin to add you, or run /postman login to act with your own key."
	if d.cfg.Vault == nil {
		msg = "You can read, but changes through the team's Postman key are limited to the bot's allowlist. Ask an admin to add you."
	}
	return errors.New(msg)
}

// groupCache keeps user group members for a few minutes, so a write check is not a Slack call each time.
type groupCache struct {
	mu      sync.Mutex
	entries map[string]groupEntry
}

type groupEntry struct {
	members []string
	at      time.Time
}

func (g *groupCache) members(ctx context.Context, id string, resolve GroupResolver, now time.Time) ([]string, error) {
	g.mu.Lock()
	e, ok := g.entries[id]
	g.mu.Unlock()
	if ok && now.Sub(e.at) < 5*time.Minute {
		return e.members, nil
	}
	m, err := resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	if g.entries == nil {
		g.entries = map[string]groupEntry{}
	}
	g.entries[id] = groupEntry{members: m, at: now}
	g.mu.Unlock()
	return m, nil
}

func associatedData(u store.UserRef) []byte {
	return vault.AssociatedData("linked-key", u.EnterpriseID, u.TeamID, u.UserID)
}

const (
	loginCallback = "pmops_login"
	loginBlock    = "postman_key"
	loginAction   = "key"
)

func (d *Dispatcher) login(ctx context.Context, req Request) Ack {
	if d.cfg.Vault == nil {
		return msgAck(slackrender.Text("Personal keys are off on this bot: it has no PMOPS_SECRET_KEY to encrypt them with. Ask its admin."))
	}
	if req.TriggerID == "" {
		return msgAck(slackrender.Text("Run /postman login from Slack: it opens a private form for your key (never type a key into a command)."))
	}
	view := loginView(req.ChannelID)
	// The trigger expires 3 s after the command: open the modal now, off the queue that Postman work waits in.
	go func() {
		octx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
		defer cancel()
		if err := d.cfg.Responder.OpenView(octx, req.TriggerID, view); err != nil {
			d.cfg.Logger.Warn("open login modal", "err", err)
			d.reply(req, slackrender.Text("The login form could not be opened ("+err.Error()+"); please run /postman login again."), ReplyMode{})
		}
	}()
	return Ack{}
}

func loginView(channelID string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(slack.NewTextBlockObject(slack.PlainTextType, "PMAK-…", false, false), loginAction)
	block := slack.NewInputBlock(loginBlock, slack.NewTextBlockObject(slack.PlainTextType, "Postman API key", false, false),
		slack.NewTextBlockObject(slack.PlainTextType, "Create one in Postman under Settings → API keys. It is stored encrypted and used only for your commands.", false, false),
		input)
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      loginCallback,
		PrivateMetadata: channelID,
		Title:           slack.NewTextBlockObject(slack.PlainTextType, "Link Postman", false, false),
		Submit:          slack.NewTextBlockObject(slack.PlainTextType, "Link", false, false),
		Close:           slack.NewTextBlockObject(slack.PlainTextType, "Cancel", false, false),
		Blocks:          slack.Blocks{BlockSet: []slack.Block{block}},
	}
}

// handleView takes the login form: the key is checked with Postman before it is stored. Slack wants the answer
// within 3 s, so the check gets 2 s; a slower Postman finishes in the background and reports by message.
func (d *Dispatcher) handleView(ctx context.Context, req Request) Ack {
	if req.ViewCallbackID == setSecretCallback {
		return d.submitSecret(ctx, req)
	}
	if req.ViewCallbackID != loginCallback {
		return Ack{}
	}
	key := strings.TrimSpace(req.ViewValues[loginAction])
	if key == "" || strings.ContainsAny(key, " \t\n") {
		return Ack{ViewErrors: map[string]string{loginBlock: "Paste the API key alone (it starts with PMAK-)."}}
	}
	if d.cfg.Vault == nil {
		return Ack{ViewErrors: map[string]string{loginBlock: "Personal keys are off on this bot (no PMOPS_SECRET_KEY)."}}
	}
	req.ChannelID = firstNonEmpty(req.ChannelID, req.ViewMetadata)
	result := make(chan string, 1)
	go func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		result <- d.link(cctx, req, key)
	}()
	select {
	case problem := <-result:
		if problem != "" {
			return Ack{ViewErrors: map[string]string{loginBlock: problem}}
		}
		return Ack{}
	case <-time.After(2 * time.Second):
		go func() {
			if problem := <-result; problem != "" {
				d.reply(req, slackrender.Text("Your Postman key was not linked: "+problem), ReplyMode{})
			}
		}()
		return Ack{}
	}
}

// link checks key with Postman, then seals and stores it. It returns what was wrong, or "" on success.
func (d *Dispatcher) link(ctx context.Context, req Request, key string) string {
	env, err := d.cfg.Envs.Env(key)
	if err != nil {
		return "That does not look like a Postman API key."
	}
	res, err := d.call(ctx, req, env, "get_account", nil)
	if err != nil {
		if te, ok := tools.AsError(err); ok && te.Kind == tools.KindUnauthorized {
			return "Postman did not accept that key. Check it and paste it again."
		}
		return "Postman could not check the key right now; please try again in a minute."
	}
	acct, _ := res.(tools.Account)
	sealed, err := d.cfg.Vault.Seal([]byte(key), associatedData(req.user()))
	if err != nil {
		d.cfg.Logger.Error("seal linked key", "err", err)
		return "The key could not be stored; the error is logged."
	}
	if err := d.cfg.Store.PutLinkedKey(ctx, req.user(), sealed, store.LinkMeta{
		PostmanUserID: acct.UserID, PostmanUsername: acct.Username, LinkedAt: d.cfg.Now()}); err != nil {
		d.cfg.Logger.Error("store linked key", "err", err)
		return "The key could not be stored; the error is logged."
	}
	d.cfg.Logger.Info("audit", "team", req.TeamID, "user", req.UserID, "action", "login", "postman_user", acct.UserID)
	d.reply(req, slackrender.Text(fmt.Sprintf("Linked: your commands now act as Postman user %s (@%s).", acct.FullName, acct.Username)), ReplyMode{})
	return ""
}

func (d *Dispatcher) logout(ctx context.Context, req Request) Ack {
	existed, err := d.cfg.Store.DeleteLinkedKey(ctx, req.user())
	if err != nil {
		d.cfg.Logger.Error("delete linked key", "err", err)
		return msgAck(slackrender.Text("Your key could not be removed; the error is logged. Please try again."))
	}
	if !existed {
		return msgAck(slackrender.Text("You had no linked Postman key."))
	}
	d.cfg.Logger.Info("audit", "team", req.TeamID, "user", req.UserID, "action", "logout")
	return msgAck(slackrender.Text("Unlinked: your Postman key is deleted from pmops."))
}

func (d *Dispatcher) whoami(ctx context.Context, req Request) Ack {
	_, meta, err := d.cfg.Store.LinkedKey(ctx, req.user())
	switch {
	case err == nil:
		return msgAck(slackrender.Text(fmt.Sprintf("You act as Postman user @%s (id %d), linked %s.", meta.PostmanUsername, meta.PostmanUserID, meta.LinkedAt.UTC().Format("2006-01-02 15:04 UTC")) + d.quotaNote(ctx, req)))
	case !errors.Is(err, store.ErrNotFound):
		d.cfg.Logger.Error("read linked key", "err", err)
	}
	if d.cfg.TeamKey != "" {
		role := "read only"
		if d.mayWrite(ctx, req, who{}) == nil {
			role = "read and write"
		}
		return msgAck(slackrender.Text("You act through the team's shared Postman key (" + role + "). Run /postman login to use your own." + d.quotaNote(ctx, req)))
	}
	return msgAck(slackrender.Text("You have no linked Postman key. Run /postman login."))
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
