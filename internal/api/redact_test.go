package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestKeyNeverPrinted prints Client and Config every way a program might and checks the key never shows.
func TestKeyNeverPrinted(t *testing.T) {
	cfg := Config{APIKey: testKey, BaseURL: "http://127.0.0.1:1"}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// (An unexported Config field of some other struct would print raw: fmt cannot call methods there. The
	// Client keeps its key behind a pointer, so even that case shows only an address.)
	type holder struct {
		Cfg    Config
		Client *Client
		val    Client
	}
	h := holder{Cfg: cfg, Client: c, val: *c}
	values := map[string]any{"Config": cfg, "*Config": &cfg, "*Client": c, "Client": *c, "holder": h, "*holder": &h}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%T", "%d", "%10.3v"}
	for name, v := range values {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, v)
			if leaks(out) {
				t.Errorf("fmt %s of %s shows the key: %s", verb, name, out)
			}
		}
		if b, err := json.Marshal(v); err == nil && leaks(string(b)) {
			t.Errorf("json of %s shows the key: %s", name, b)
		}
	}
	if s := fmt.Sprint(cfg); !strings.Contains(s, redacted) || !strings.Contains(s, "127.0.0.1") {
		t.Errorf("Config prints as %q; want the base URL and a redaction marker", s)
	}

	for _, handler := range []func(*bytes.Buffer) slog.Handler{
		func(b *bytes.Buffer) slog.Handler {
			return slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})
		},
		func(b *bytes.Buffer) slog.Handler {
			return slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})
		},
	} {
		var buf bytes.Buffer
		log := slog.New(handler(&buf))
		log.Info("config", "cfg", cfg, "cfgptr", &cfg, "client", c, "holder", h)
		log.Info("group", slog.Group("g", slog.Any("cfg", cfg)))
		if leaks(buf.String()) {
			t.Errorf("slog output shows the key: %s", buf.String())
		}
	}
}

func leaks(s string) bool {
	return strings.Contains(s, testKey) || strings.Contains(s, fmt.Sprintf("%x", testKey)) ||
		strings.Contains(strings.ToUpper(s), fmt.Sprintf("%X", testKey)) || strings.Contains(s, testKey[5:25])
}

// TestKeyNeverInErrorsOrLogs makes the server echo the key back in error bodies and checks the error and the
// client's debug log.
func TestKeyNeverInErrorsOrLogs(t *testing.T) {
	bodies := []string{
		`{"error":{"name":"AuthenticationError","message":"Invalid API Key ` + testKey + `","details":{"key":"` + testKey + `"}}}`,
		`{"type":"https://api.postman.com/problems/unauthorized","title":"bad key ` + testKey + `","detail":["key ` + testKey + `"],"instance":"/me?apikey=` + testKey + `"}`,
		`{"error":"` + testKey + `","message":"` + testKey + `"}`,
		`<html><title>` + testKey + `</title></html>`,
	}
	for _, body := range bodies {
		var logs bytes.Buffer
		echo := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, body)
		})
		c, err := New(Config{APIKey: testKey, BaseURL: echo.BaseURL(), Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetMe(t.Context())
		var e *Error
		if !errors.As(err, &e) || e.Status != 401 || !IsUnauthorized(err) {
			t.Fatalf("err = %v", err)
		}
		for _, out := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", e), string(e.Details), logs.String()} {
			if leaks(out) {
				t.Errorf("key shown: %s", out)
			}
		}
		if !strings.Contains(logs.String(), `"status":401`) {
			t.Errorf("the call was not logged: %s", logs.String())
		}
	}
}

func TestAccessKeyRedactedFromErrors(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"name":"badRequest","message":"bad access_key %s"}}`, r.URL.Query().Get("access_key"))
	})
	_, err := c.GetCollection(t.Context(), "c1", GetCollectionOptions{AccessKey: "PMAT-01234567890"})
	if err == nil || strings.Contains(err.Error(), "PMAT-01234567890") {
		t.Errorf("err = %v", err)
	}
}
