package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/emulator"
)

func TestParseFlags(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, c config)
	}{
		{name: "defaults", check: func(t *testing.T, c config) {
			if c.addr != "127.0.0.1:8090" || c.opts.Seed != "demo" || c.opts.Keys[0].Key != emulator.DemoKey || c.opts.PerWindow != 300 ||
				c.opts.Window != time.Minute || len(c.opts.Keys) != 3 {
				t.Fatalf("defaults %+v", c)
			}
		}},
		{name: "everything", args: []string{"-addr", "127.0.0.1:0", "-seed", "empty", "-key", "PMAK-mine", "-webhook-url", "http://127.0.0.1:9/hook",
			"-webhook-style", "snake_case", "-latency", "5ms", "-window", "30s", "-limit", "60", "-month-quota", "1000", "-month-usage", "10",
			"-style429", "problem", "-skew", "-3s", "-generate", "4000", "-generate-name", "Big"},
			check: func(t *testing.T, c config) {
				o := c.opts
				if o.Seed != "empty" || len(o.Keys) != 1 || o.Keys[0].Key != "PMAK-mine" || o.WebhookStyle != "snake_case" || o.Latency != 5*time.Millisecond ||
					o.Window != 30*time.Second || o.PerWindow != 60 || o.MonthlyQuota != 1000 || o.MonthlyUsageStart != 10 || o.Style429 != "problem" ||
					o.ClockSkew != -3*time.Second || c.generate != 4000 || c.generateName != "Big" {
					t.Fatalf("parsed %+v", c)
				}
			}},
		{name: "server clock dialect", args: []string{"-window-offset", "900ms", "-reset-rounding", "down"},
			check: func(t *testing.T, c config) {
				if c.opts.WindowOffset != 900*time.Millisecond || c.opts.WindowFromFirstCall || c.opts.ResetRounding != emulator.ResetRoundDown {
					t.Fatalf("parsed %+v", c.opts)
				}
			}},
		{name: "first-call windows", args: []string{"-window-offset", "first-call", "-reset-rounding", "exact"},
			check: func(t *testing.T, c config) {
				if !c.opts.WindowFromFirstCall || c.opts.WindowOffset != 0 || c.opts.ResetRounding != emulator.ResetExact {
					t.Fatalf("parsed %+v", c.opts)
				}
			}},
		{name: "bad window offset", args: []string{"-window-offset", "later"}, wantErr: "first-call"},
		{name: "window offset beyond the window", args: []string{"-window", "10s", "-window-offset", "10s"}, wantErr: "less than the window"},
		{name: "bad reset rounding", args: []string{"-reset-rounding", "sideways"}, wantErr: "unknown reset rounding"},
		{name: "unknown flag", args: []string{"-nope"}, wantErr: "flag provided but not defined"},
		{name: "bad duration", args: []string{"-window", "soon"}, wantErr: "invalid value"},
		{name: "bad seed", args: []string{"-seed", "prod"}, wantErr: "unknown seed"},
		{name: "bad style", args: []string{"-style429", "html"}, wantErr: "unknown 429 style"},
		{name: "bad webhook style", args: []string{"-webhook-style", "kebab"}, wantErr: "unknown webhook style"},
		{name: "zero limit", args: []string{"-limit", "0"}, wantErr: "at least 1"},
		{name: "short window", args: []string{"-window", "10ms"}, wantErr: "at least 1s"},
		{name: "negative generate", args: []string{"-generate", "-1"}, wantErr: "must not be negative"},
		{name: "empty key", args: []string{"-key", " "}, wantErr: "-key must not be empty"},
		{name: "colliding key", args: []string{"-key", emulator.OtherTeamKey}, wantErr: "collides"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected argument"},
		{name: "bad log level", args: []string{"-log-level", "loud"}, wantErr: "-log-level"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseFlags(c.args, &stderr)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want it to mention %q", err, c.wantErr)
				}
				if strings.Contains(err.Error(), emulator.OtherTeamKey) {
					t.Fatal("the error quotes an API key")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, cfg)
		})
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-limit", "x"}, &stdout, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "postman-emulator:") || stdout.Len() != 0 {
		t.Fatalf("stderr %q stdout %q", stderr.String(), stdout.String())
	}
	if code := run(context.Background(), []string{"-addr", "256.0.0.1:1"}, &stdout, &stderr); code != 1 {
		t.Fatalf("listen failure exit %d, want 1", code)
	}
}

// TestRunServesAndShutsDown is a short real-time wiring test: start on a free port, call /me, cancel.
func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-key", "PMAK-wiring", "-generate", "120", "-log-level", "debug"}, pw, &stderr)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no address printed: %v (stderr %s)", err, stderr.String())
	}
	url := strings.TrimSpace(line)
	go func() { _, _ = io.Copy(io.Discard, pr) }()

	req, _ := http.NewRequest("GET", url+"/collections?name=Generated%20120", nil)
	req.Header.Set("X-Api-Key", "PMAK-wiring")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"name":"Generated 120"`) {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	req.Header.Set("X-Api-Key", emulator.DemoKey) // replaced by -key
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("the default key still works: %d", res.StatusCode)
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not shut down")
	}
	if strings.Contains(stderr.String(), "PMAK-wiring") {
		t.Fatal("the log contains the API key")
	}
}
