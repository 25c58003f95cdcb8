package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/redistest"
)

// redisNS gives each store a namespace of its own on the shared test server, which also checks that
// installations sharing a database never see each other's keys.
var redisNS atomic.Int64

func openRedisTest(t *testing.T, srv *redistest.Server) *Redis {
	t.Helper()
	ns := fmt.Sprintf("t%d", redisNS.Add(1))
	r, err := OpenRedis(t.Context(), srv.URL(0)+"?namespace="+ns, RedisOptions{})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	return r
}

func TestRedisContract(t *testing.T) {
	srv := redistest.Start(t)
	testStore(t, func(t *testing.T) Store { return openRedisTest(t, srv) })
}

func TestRedisNotifyContract(t *testing.T) {
	srv := redistest.Start(t)
	testNotifyStore(t, func(t *testing.T) NotifyStore { return openRedisTest(t, srv).Notify() })
}

func TestRedisURL(t *testing.T) {
	tests := []struct {
		url, envPass string
		wantAddr     string
		wantDB       int
		wantNS       string
		wantPass     string
		wantTLS      bool
		wantErr      string
	}{
		{url: "redis://127.0.0.1:6379/2", wantAddr: "127.0.0.1:6379", wantDB: 2, wantNS: "pmops"},
		{url: "redis://:s3cret@host:7000/0?namespace=team-a", wantAddr: "host:7000", wantNS: "team-a", wantPass: "s3cret"},
		{url: "redis://host:7000", envPass: "fromenv", wantAddr: "host:7000", wantNS: "pmops", wantPass: "fromenv"},
		{url: "redis://:inurl@host:7000", envPass: "fromenv", wantAddr: "host:7000", wantNS: "pmops", wantPass: "inurl"},
		{url: "rediss://host:6380/1", wantAddr: "host:6380", wantDB: 1, wantNS: "pmops", wantTLS: true},
		{url: "http://host", wantErr: "scheme"},
		{url: "redis:///0", wantErr: "no host"},
		{url: "redis://host/0?namespace=a%20b", wantErr: "namespace"},
		{url: "redis://:topsecret@host/notadb", wantErr: "redis store URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			ro, ns, err := ParseRedisURL(tt.url, RedisOptions{Password: tt.envPass})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "topsecret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ro.Addr != tt.wantAddr || ro.DB != tt.wantDB || ns != tt.wantNS || ro.Password != tt.wantPass || (ro.TLSConfig != nil) != tt.wantTLS {
				t.Errorf("got addr %s db %d ns %s pass %q tls %v", ro.Addr, ro.DB, ns, ro.Password, ro.TLSConfig != nil)
			}
		})
	}
}

func TestRedisPasswordAndUnreachable(t *testing.T) {
	srv := redistest.StartWith(t, redistest.Options{Password: "pw-for-test"})
	r, err := OpenRedis(t.Context(), srv.URL(0), RedisOptions{})
	if err != nil {
		t.Fatalf("with the password in the URL: %v", err)
	}
	r.Close()
	noPass := "redis://" + srv.Addr + "/0"
	if _, err := OpenRedis(t.Context(), noPass, RedisOptions{}); err == nil {
		t.Error("opened a password-protected Redis without the password")
	}
	r, err = OpenRedis(t.Context(), noPass, RedisOptions{Password: "pw-for-test"})
	if err != nil {
		t.Fatalf("with the password from options: %v", err)
	}
	r.Close()
	_, err = OpenRedis(t.Context(), "redis://:pw-for-test@127.0.0.1:1/0", RedisOptions{})
	if err == nil || strings.Contains(err.Error(), "pw-for-test") {
		t.Errorf("unreachable: %v (want an error without the password)", err)
	}
}

// TestRedisNamespaces: two installations on one database share nothing.
func TestRedisNamespaces(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	a := openRedisTest(t, srv)
	b := openRedisTest(t, srv)
	defer a.Close()
	defer b.Close()
	mustPutAction(t, a, "tok", sampleAction())
	if _, err := b.TakeAction(ctx, "tok", alice, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("other namespace took the token: %v", err)
	}
	if first, _ := a.SeenOnce(ctx, "k", 1e9, t0); !first {
		t.Fatal("first sighting")
	}
	if first, _ := b.SeenOnce(ctx, "k", 1e9, t0); !first {
		t.Error("a sighting leaked across namespaces")
	}
	keys, err := a.Client().Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "pmops:{"+a.Namespace()+"}:") && !strings.HasPrefix(k, "pmops:{"+b.Namespace()+"}:") {
			t.Errorf("key outside the namespaces: %q", k)
		}
		if strings.Contains(k, "tok") {
			t.Errorf("a token appears in a key name: %q", k)
		}
	}
}

// TestRedisReplicasOneWinner: replicas with their own connections race for one button and one Slack retry; exactly
// one wins each, whichever replica Slack picked.
func TestRedisReplicasOneWinner(t *testing.T) {
	srv := redistest.Start(t)
	var replicas []*Redis
	for range 3 {
		r, err := OpenRedis(t.Context(), srv.URL(0)+"?namespace=shared", RedisOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		replicas = append(replicas, r)
	}
	mustPutAction(t, replicas[0], "tok", sampleAction())
	var n atomic.Int64
	results := race(func() error {
		i := n.Add(1)
		_, err := replicas[i%3].TakeAction(context.Background(), "tok", alice, t0)
		return err
	})
	wins := 0
	for _, err := range results {
		if err == nil {
			wins++
		} else if !errors.Is(err, ErrUsed) {
			t.Errorf("loser: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d replicas took the token, want 1", wins)
	}
	var firsts atomic.Int64
	race(func() error {
		i := n.Add(1)
		first, err := replicas[i%3].SeenOnce(context.Background(), "slack-retry-1", time.Minute, t0)
		if first {
			firsts.Add(1)
		}
		return err
	})
	if firsts.Load() != 1 {
		t.Errorf("%d replicas saw the retry first, want 1", firsts.Load())
	}
}
