package sqlitestore

import (
	"sync"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/store"
)

// Copies of internal/store's test fixtures (its contract suite runs against SQLite from
// internal/store/sqlite_contract_test.go).

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

var (
	alice    = store.UserRef{TeamID: "T1", UserID: "U1"}
	aliceOrg = store.UserRef{EnterpriseID: "E1", TeamID: "T1", UserID: "U1"}
)

func sampleAction() store.PendingAction {
	return store.PendingAction{
		Kind:      "monitor.run",
		Payload:   []byte(`{"monitor":"1234-abcd"}`),
		Owner:     alice,
		ChannelID: "C1",
		CreatedAt: t0,
		ExpiresAt: t0.Add(5 * time.Minute),
	}
}

func mustPutAction(t *testing.T, s store.Store, token string, a store.PendingAction) {
	t.Helper()
	if err := s.PutAction(t.Context(), token, a); err != nil {
		t.Fatalf("PutAction(%q): %v", token, err)
	}
}

const racers = 24

// race runs f from racers goroutines released at once and returns their errors.
func race(f func() error) []error {
	var (
		start = make(chan struct{})
		wg    sync.WaitGroup
		errs  = make([]error, racers)
	)
	for i := range racers {
		wg.Go(func() {
			<-start
			errs[i] = f()
		})
	}
	close(start)
	wg.Wait()
	return errs
}
