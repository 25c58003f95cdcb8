package ratelimit

import (
	"net/http"
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

func TestDebugStoreDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFakeServer(fakeConfig{Limit: 30, Window: 10 * time.Second, Latency: 50 * time.Millisecond, Jitter: 10 * time.Millisecond})
		srv.cfg.Body = func(r *http.Request) (int, string) { return 200, "{}" }
		log := &sendLog{next: srv}
		_ = log
		store := &memStore{fail: true}
		runReplicas(t, srv, store, 2*time.Minute)
		for w, n := range srv.perWindow {
			fmt.Println("window", w, n)
		}
		for _, b := range srv.blocks {
			fmt.Println("429 at", b.delivered.Sub(epochPlus(0)))
		}
	})
}
