package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/slackfake"
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
		{"bad newman", []string{"-console", "-demo", "-newman", "/nonexistent/newman.js"}, nil, "-newman /nonexistent/newman.js"},
		{"bad max runs", []string{"-console", "-demo", "-max-runs", "0"}, nil, "-max-runs 0"},
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

func clearEnv(t *testing.T) {
	for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "POSTMAN_API_KEY", "PMOPS_SECRET_KEY",
		"POSTMAN_API_BASE_URL", "PMOPS_DB", "SLACK_API_URL"} {
		t.Setenv(k, "")
	}
}

// TestRefusedTokenExitsNamingIt: against the Slack fake, a dead app token (Socket Mode) or bot token (either
// mode) stops the process with a non-zero exit and a message naming the variable, never its value. The -demo runs
// also show that no pmops.db lands in the working directory.
func TestRefusedTokenExitsNamingIt(t *testing.T) {
	fake := slackfake.New(slackfake.Options{})
	t.Cleanup(fake.Close)
	const deadApp = "xapp-1-A0FAKEAPP01-000000000001-deaddeaddeaddeaddeaddead"
	const deadBot = "xoxb-000000000001-000000000001-deaddeaddeaddead"
	tests := []struct {
		name       string
		env        map[string]string
		want, not  string
		tokenValue string
	}{
		{"dead app token", map[string]string{"SLACK_BOT_TOKEN": fake.BotToken(), "SLACK_APP_TOKEN": deadApp},
			"Slack refused SLACK_APP_TOKEN (invalid_auth)", "SLACK_BOT_TOKEN (", deadApp},
		{"dead bot token, Socket Mode", map[string]string{"SLACK_BOT_TOKEN": deadBot, "SLACK_APP_TOKEN": fake.AppToken()},
			"Slack refused SLACK_BOT_TOKEN (invalid_auth)", "SLACK_APP_TOKEN (", deadBot},
		{"dead bot token, HTTP", map[string]string{"SLACK_BOT_TOKEN": deadBot, "SLACK_SIGNING_SECRET": "s3cret"},
			"Slack refused SLACK_BOT_TOKEN (invalid_auth)", "SLACK_APP_TOKEN", deadBot},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			dir := t.TempDir()
			t.Chdir(dir)
			var out, errOut bytes.Buffer
			code := run([]string{"-demo", "-slack-api-url", fake.APIURL(), "-http", "127.0.0.1:0"}, strings.NewReader(""), &out, &errOut)
			stderr := errOut.String()
			t.Log(stderr)
			if code == 0 || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, tc.not) {
				t.Fatalf("exit %d, stderr:\n%s\nwant non-zero, %q and not %q", code, stderr, tc.want, tc.not)
			}
			if tc.tokenValue != "" && strings.Contains(stderr, tc.tokenValue) {
				t.Fatal("the token's value was printed")
			}
			if _, err := os.Stat(filepath.Join(dir, "pmops.db")); !os.IsNotExist(err) {
				t.Fatalf("-demo wrote pmops.db into the working directory (%v)", err)
			}
		})
	}
}

func TestDemoAndConsoleKeepStateInMemory(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	in := "/postman env set staging currency=USD\n/postman monitors\n"
	if code := run([]string{"-console", "-demo"}, strings.NewReader(in), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("the console demo left files in the working directory: %v", entries)
	}

	tests := []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"bot", nil, "", "pmops.db"},
		{"demo", []string{"-demo"}, "", ":memory:"},
		{"console", []string{"-console"}, "", ":memory:"},
		{"console demo with -db", []string{"-console", "-demo", "-db", "state.db"}, "", "state.db"},
		{"demo with PMOPS_DB", []string{"-demo"}, "env.db", "env.db"},
		{"bot with PMOPS_DB", nil, "env.db", "env.db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PMOPS_DB", tc.env)
			c, err := parse(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.storePath(); got != tc.want {
				t.Fatalf("store path %q, want %q", got, tc.want)
			}
		})
	}
}
