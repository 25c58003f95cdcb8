package notify

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/slackfake"
	"github.com/pmops/pmops/internal/sqlitestore"
	"github.com/pmops/pmops/internal/store"
)

// The crash test runs the notifier in a child process (this test binary, re-executed) on one SQLite file, kills
// it with SIGKILL at one step of the pipeline, restarts it on the same file and checks that every accepted
// result reaches each subscribed channel exactly once.

const (
	crashEnvChild = "PMOPS_NOTIFY_CRASH_CHILD"
	crashEnvDB    = "PMOPS_NOTIFY_CRASH_DB"
	crashEnvSlack = "PMOPS_NOTIFY_CRASH_SLACK"
	crashEnvAt    = "PMOPS_NOTIFY_CRASH_AT"
)

var crashChannels = []string{slackfake.ChannelGeneral, slackfake.ChannelPrivate}

const crashMonitor = "10472311-0000aaaa-bbbb-4ccc-8ddd-eeeeffff0001"

func crashHookBody() []byte {
	return []byte(`{"collection_name":"Orders API","collection_uid":"10472311-c0c0","environment_name":"prod","environment_uid":"10472311-e0e0",` +
		`"metrics":{"errors":0,"failedTests":2,"passedTests":7,"requestCount":5,"totalLatency":812,"warnings":0},` +
		`"monitor_name":"Orders nightly","monitor_uid":"` + crashMonitor + `","user_id":"10472311","user_name":"dana"}`)
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	steps := []string{StepInboxStored, StepRunRecorded, StepFannedOut, StepMarkedSending, StepPosted, StepCompleted}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			fake := slackfake.New(slackfake.Options{Scopes: []string{"chat:write", "channels:read", "groups:read",
				"channels:history", "groups:history", "im:history"}})
			defer fake.Close()
			db := filepath.Join(t.TempDir(), "pmops.db")
			s, err := sqlitestore.OpenSQLite(db)
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range crashChannels {
				if _, err := s.Notify().PutSubscription(context.Background(), store.Subscription{ChannelID: ch,
					Target: store.Target{Kind: store.TargetMonitor, ID: crashMonitor}, Policy: store.PolicyFailures, CreatedBy: slackfake.UserAlice}); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()

			// First life: accept the webhook, die at the step.
			child, addr := startCrashChild(t, db, fake.APIURL(), step)
			status, postErr := postOnce(addr, crashHookBody())
			err = child.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child did not die by SIGKILL at %s: %v", step, err)
			}
			if step == StepInboxStored {
				if postErr == nil {
					t.Fatalf("the webhook was answered (%d) although the process died before answering", status)
				}
			} else if postErr == nil && status != http.StatusAccepted {
				// (The answer may also be lost: the pipeline can reach the step before the handler has written it.)
				t.Fatalf("webhook answered %d before the crash at %s", status, step)
			}

			// Second life: finish whatever was accepted.
			child, _ = startCrashChild(t, db, fake.APIURL(), "")
			if err := child.Wait(); err != nil {
				t.Fatalf("restarted child: %v", err)
			}
			for _, ch := range crashChannels {
				msgs := fake.Messages(ch)
				if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "FAILING: Orders nightly") {
					t.Errorf("%s after a crash at %s: %q, want exactly one FAILING message", ch, step, titles(msgs))
				}
			}
			posts := 0
			for _, c := range fake.CallsTo("chat.postMessage") {
				if c.OK {
					posts++
				}
			}
			if posts != len(crashChannels) {
				t.Errorf("%d successful chat.postMessage calls, want %d", posts, len(crashChannels))
			}
			if step == StepPosted && len(fake.CallsTo("conversations.history")) == 0 {
				t.Error("the restart did not look in Slack for the delivery cut short after posting")
			}
		})
	}
}

func startCrashChild(t *testing.T, db, slackURL, at string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvChild+"=1", crashEnvDB+"="+db, crashEnvSlack+"="+slackURL, crashEnvAt+"="+at)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("child stderr:\n%s", stderr.String())
		}
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "HOOKS "); ok {
			go func() { // keep draining
				for sc.Scan() {
				}
			}()
			return cmd, addr
		}
	}
	_ = cmd.Wait()
	t.Fatalf("child exited before serving: %s", stderr.String())
	return nil, ""
}

func postOnce(addr string, body []byte) (int, error) {
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Post("http://"+addr+HookPathPrefix+testToken, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestCrashChild is the child process of TestCrashSafety; it does nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashEnvChild) == "" {
		t.Skip("child process of TestCrashSafety")
	}
	s, err := sqlitestore.OpenSQLite(os.Getenv(crashEnvDB))
	if err != nil {
		t.Fatal(err)
	}
	at := os.Getenv(crashEnvAt)
	api := slack.New(slackfake.DefaultBotToken, slack.OptionAPIURL(os.Getenv(crashEnvSlack)))
	n, err := New(Config{Store: s.Notify(), Slack: api, HookToken: testToken, ChannelInterval: 10 * time.Millisecond,
		crash: func(step string) {
			if step == at {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: n.HookHandler()}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("HOOKS %s\n", ln.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() { _ = n.Run(ctx) }()
	// The first life waits for the webhook (and dies in it); the second drains what was left and exits.
	if at != "" {
		<-ctx.Done()
		t.Fatal("the crash step was never reached")
	}
	for ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond) // a child process on the real clock, polling its own store
		stats, _ := s.Notify().OutboxStats(ctx)
		inbox, _ := s.Notify().Inbox(ctx, 0, 1)
		pending, _ := s.Notify().PendingRuns(ctx, 1)
		if stats[store.OutboxPending]+stats[store.OutboxSending] == 0 && len(inbox) == 0 && len(pending) == 0 && stats[store.OutboxDone] > 0 {
			return
		}
	}
	t.Fatal("the restarted notifier did not finish delivering")
}
