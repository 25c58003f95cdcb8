package slackbot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/slackrender"
	"github.com/pmops/pmops/internal/store"
	"github.com/pmops/pmops/internal/tools"
)

// nullResponder drops answers; the fuzz targets only care that nothing panics or leaks through unverified.
type nullResponder struct{}

func (nullResponder) Reply(context.Context, Request, slackrender.Message, ReplyMode) error {
	return nil
}
func (nullResponder) OpenView(context.Context, string, slack.ModalViewRequest) error { return nil }

// refuseEnvs has no Postman behind it: a fuzzed request that got this far finds no key.
type refuseEnvs struct{}

func (refuseEnvs) Env(string) (*tools.Env, error) { return nil, errors.New("no Postman in fuzz tests") }

// FuzzSignatureCheck sends arbitrary bodies, timestamps and signatures: none may pass without the secret, and
// the handler must answer every one with a client error, never a 5xx or a panic.
func FuzzSignatureCheck(f *testing.F) {
	f.Add([]byte("text=workspaces&user_id=U1&team_id=T1"), "1700000000", "v0=00")
	f.Add([]byte(""), "", "")
	f.Add([]byte("payload=%7B%7D"), "-1", "v0=zz")
	f.Add(bytes.Repeat([]byte("a"), 5000), "99999999999999999999", "v1=abc")
	d, err := New(Config{Envs: &refuseEnvs{}, Store: store.NewMemory(), Responder: nullResponder{}})
	if err != nil {
		f.Fatal(err)
	}
	defer d.Close(context.Background())
	h := (&HTTPHandler{Dispatcher: d, SigningSecret: "s3cret"}).Handler()
	f.Fuzz(func(t *testing.T, body []byte, ts, sig string) {
		for _, path := range []string{"/slack/commands", "/slack/interactions"} {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("X-Slack-Request-Timestamp", ts)
			req.Header.Set("X-Slack-Signature", sig)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("%s: unsigned request answered %d", path, rec.Code)
			}
		}
	})
}

// FuzzInteractionPayload feeds arbitrary (validly signed) interaction payloads through the real handler.
func FuzzInteractionPayload(f *testing.F) {
	f.Add(`{"type":"block_actions","user":{"id":"U1"},"team":{"id":"T1"},"actions":[{"action_id":"pmops:confirm","value":"tok"}]}`)
	f.Add(`{"type":"view_submission","user":{"id":"U1"},"team":{"id":"T1"},"view":{"callback_id":"pmops_login","state":{"values":{"postman_key":{"key":{"type":"plain_text_input","value":"PMAK-x"}}}}}}`)
	f.Add(`{"type":"shortcut"}`)
	f.Add(`[]`)
	f.Add(`{"type":"block_actions","actions":[]}`)
	d, err := New(Config{Envs: &refuseEnvs{}, Store: store.NewMemory(), Responder: nullResponder{}})
	if err != nil {
		f.Fatal(err)
	}
	defer d.Close(context.Background())
	h := (&HTTPHandler{Dispatcher: d, SigningSecret: "s3cret"}).Handler()
	f.Fuzz(func(t *testing.T, payload string) {
		body := []byte(url.Values{"payload": {payload}}.Encode())
		stamp, sig := slackfake.Sign("s3cret", time.Now(), body)
		req := httptest.NewRequest(http.MethodPost, "/slack/interactions", bytes.NewReader(body))
		req.Header.Set("X-Slack-Request-Timestamp", stamp)
		req.Header.Set("X-Slack-Signature", sig)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("payload %q answered %d", payload, rec.Code)
		}
		if rec.Code == 200 && rec.Body.Len() > 0 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("payload %q answered invalid JSON %q", payload, rec.Body.String())
		}
		d.Idle()
	})
}
