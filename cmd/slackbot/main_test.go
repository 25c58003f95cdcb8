package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestBadConfigExitsWithAMessage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no bot token", nil, nil, "SLACK_BOT_TOKEN is not set"},
		{"user token", nil, map[string]string{"SLACK_BOT_TOKEN": "xoxp-1"}, "starting with xoxb-"},
		{"bad app token", nil, map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "xapp-"},
		{"no transport secret", nil, map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"},
		{"no Postman access", nil, map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, "no way to reach Postman"},
		{"bad secret key", nil, map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "PMOPS_SECRET_KEY": "sEcRetVaLue7"}, "openssl rand -base64 32"},
		{"bad workers", []string{"-console", "-workers", "0"}, nil, "-workers 0"},
		{"bad job timeout", []string{"-console", "-job-timeout", "0s"}, nil, "-job-timeout 0s"},
		{"bad job timeout env", []string{"-console"}, map[string]string{"PMOPS_SLACK_JOB_TIMEOUT": "soon"}, "PMOPS_SLACK_JOB_TIMEOUT"},
		{"stray argument", []string{"-console", "extra"}, nil, "unexpected arguments"},
		{"bad log level", []string{"-console", "-log-level", "loud"}, nil, "bad -log-level"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "POSTMAN_API_KEY", "PMOPS_SECRET_KEY", "POSTMAN_API_BASE_URL"} {
				t.Setenv(k, "")
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			code := run(tc.args, strings.NewReader(""), &out, &errOut)
			if code == 0 || !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want non-zero and %q", code, errOut.String(), tc.want)
			}
			if strings.Contains(errOut.String(), "sEcRetVaLue7") {
				t.Fatal("the secret key's value was echoed")
			}
		})
	}
}

func TestConsoleDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"-console", "-demo"}, strings.NewReader("/postman monitors\n/postman env get staging\n"), &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "Orders API nightly regression") || !strings.Contains(out.String(), "•••") {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
}
