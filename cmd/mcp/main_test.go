package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/emulator"
)

func TestBadConfigExitsWithAMessage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no key for stdio", nil, map[string]string{"POSTMAN_API_KEY": ""}, "no Postman API key"},
		{"unknown toolset", []string{"-toolsets", "monitorz", "tools"}, nil, `unknown toolset "monitorz"`},
		{"unknown tool", []string{"-tools", "get_acount", "tools"}, nil, `did you mean "get_account"`},
		{"bad log level", []string{"-log-level", "loud"}, nil, "bad -log-level"},
		{"bad base url", []string{"-base-url", "ftp://x", "call", "get_account"}, map[string]string{"POSTMAN_API_KEY": "PMAK-x"}, "base URL"},
		{"bad region", []string{"-region", "mars", "call", "get_account"}, map[string]string{"POSTMAN_API_KEY": "PMAK-x", "POSTMAN_API_BASE_URL": ""}, "region"},
		{"demo with a base url", []string{"-demo", "-base-url", "http://127.0.0.1:1", "tour"}, nil, "drop the base URL"},
		{"unknown command", []string{"-demo", "frob"}, nil, `unknown command "frob"`},
		{"call without a tool", []string{"-demo", "call"}, nil, "call needs a tool name"},
		{"tool hidden by read-only", []string{"-demo", "-read-only", "call", "delete_monitor"}, nil, "not enabled"},
		{"bad flag", []string{"-nope"}, nil, "flag provided but not defined"},
		{"zero max sessions", []string{"-max-sessions", "0", "tools"}, nil, "bad -max-sessions"},
		{"bad session ttl", []string{"-session-ttl", "soon", "tools"}, nil, "bad -session-ttl"},
		{"bad body cap from env", []string{"tools"}, map[string]string{"PMOPS_MAX_BODY_BYTES": "4MB"}, "bad -max-body-bytes"},
		{"bad max wait from env", []string{"tools"}, map[string]string{"PMOPS_MAX_WAIT": "0s"}, "bad -max-wait"},
		{"bad max keys", []string{"-max-keys", "-1", "tools"}, nil, "bad -max-keys"},
		{"bad allowed origin", []string{"-demo", "-allowed-origins", "app.example.com", "-http", "127.0.0.1:0"}, nil, "is not an origin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("POSTMAN_API_KEY", "")
			t.Setenv("POSTMAN_API_BASE_URL", "")
			t.Setenv("POSTMAN_API_REGION", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			code := run(tc.args, strings.NewReader(""), &out, &errOut)
			if code == 0 || !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want non-zero and %q", code, errOut.String(), tc.want)
			}
		})
	}
}

func TestDemoCallAndToolsList(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-demo", "call", "get_environment", "environment=staging"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, s := range emulator.DemoSecretValues() {
		if strings.Contains(out.String()+errOut.String(), s) {
			t.Fatalf("the CLI printed secret %q", s)
		}
	}
	out.Reset()
	if code := run([]string{"-read-only", "tools"}, strings.NewReader(""), &out, &errOut); code != 0 || strings.Contains(out.String(), "delete_") {
		t.Fatalf("read-only tools: exit %d\n%s", code, out.String())
	}
	// A tool error is printed and gives exit 1, not a panic or a protocol dump.
	out.Reset()
	errOut.Reset()
	if code := run([]string{"-demo", "call", "get_monitor", "monitor=nope-nope"}, strings.NewReader(""), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "no monitor named") {
		t.Fatalf("tool error: exit %d, %q", code, errOut.String())
	}
}
