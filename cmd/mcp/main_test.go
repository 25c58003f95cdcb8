package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/emulator"
	"github.com/pmops/pmops/internal/newman/newmantest"
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

// TestRunExitCodesAndJUnit checks the CI contract: a run that passed exits 0, one with a failing assertion 1, one
// that could not be done 2, and -junit writes the run as JUnit XML.
func TestRunExitCodesAndJUnit(t *testing.T) {
	t.Setenv("POSTMAN_API_KEY", "")
	t.Setenv("POSTMAN_API_BASE_URL", "")
	t.Setenv("POSTMAN_API_REGION", "")
	nm := newmantest.Path(t)
	dir := t.TempDir()
	type junit struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Errors   int `xml:"errors,attr"`
	}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		failures bool
		errors   bool
	}{
		{"monitor passed", []string{"call", "run_monitor", "monitor=Payments API smoke (staging)"}, 0, false, false},
		{"monitor failed", []string{"call", "run_monitor", "monitor=Orders API nightly regression"}, 1, true, false},
		{"monitor unknown", []string{"call", "run_monitor", "monitor=nope-nope"}, 2, false, true},
		{"collection failed", []string{"call", "run_collection", "collection=Orders API", "request_timeout_ms=2000"}, 1, true, true},
		{"collection bad iterations", []string{"call", "run_collection", "collection=Orders API", "iterations=0"}, 2, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".xml")
			var out, errOut bytes.Buffer
			args := append([]string{"-demo", "-newman", nm, "-junit", file}, tc.args...)
			if code := run(args, strings.NewReader(""), &out, &errOut); code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out.String(), errOut.String())
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var j junit
			if err := xml.Unmarshal(b, &j); err != nil {
				t.Fatalf("JUnit report: %v\n%s", err, b)
			}
			if j.Tests == 0 || (j.Failures > 0) != tc.failures || (j.Errors > 0) != tc.errors {
				t.Errorf("JUnit %+v, want failures %v errors %v\n%s", j, tc.failures, tc.errors, b)
			}
		})
	}
}

func TestNewmanFlags(t *testing.T) {
	t.Setenv("POSTMAN_API_KEY", "")
	t.Setenv("PMOPS_NEWMAN", "")
	var out, errOut bytes.Buffer
	if code := run([]string{"-newman", filepath.Join(t.TempDir(), "none"), "tools"}, strings.NewReader(""), &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), "npm install -g newman") {
		t.Errorf("bad -newman: exit %d, %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run([]string{"-max-runs", "0", "tools"}, strings.NewReader(""), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "-max-runs") {
		t.Errorf("-max-runs 0: exit %d, %q", code, errOut.String())
	}
	// Without Newman the tool stays listed and says what it needs.
	out.Reset()
	t.Setenv("PATH", t.TempDir())
	if code := run([]string{"-toolsets", "all", "tools"}, strings.NewReader(""), &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "run_collection") || !strings.Contains(out.String(), "needs Newman: not installed") {
		t.Errorf("tools without Newman: exit %d\n%s", code, out.String())
	}
	errOut.Reset()
	if code := run([]string{"-demo", "call", "run_collection", "collection=Orders API"}, strings.NewReader(""), &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), "npm install -g newman@") {
		t.Errorf("run without Newman: exit %d, %q", code, errOut.String())
	}
}

// TestDemoRunShowsOneFailure runs the demo Payments API against the emulator's mock with real Newman, offline:
// exactly one assertion fails, so the call exits 1.
func TestDemoRunShowsOneFailure(t *testing.T) {
	t.Setenv("POSTMAN_API_KEY", "")
	t.Setenv("POSTMAN_API_BASE_URL", "")
	t.Setenv("POSTMAN_API_REGION", "")
	nm := newmantest.Path(t)
	var out, errOut bytes.Buffer
	code := run([]string{"-demo", "-newman", nm, "-json", "call", "run_collection", "collection=Payments API", "environment=staging"},
		strings.NewReader(""), &out, &errOut)
	var res struct {
		Status string
		Totals struct {
			Requests         int `json:"requests"`
			FailedAssertions int `json:"failed_assertions"`
		}
		Failures []struct{ Request string }
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("exit %d, output not JSON: %v\n%s\n%s", code, err, out.String(), errOut.String())
	}
	if code != 1 || res.Status != "failed" || res.Totals.FailedAssertions != 1 || len(res.Failures) != 1 || res.Totals.Requests == 0 {
		t.Errorf("exit %d, %+v", code, res)
	}
}
