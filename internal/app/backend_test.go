package app

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/pmops/pmops/internal/api"
)

// countingBackend opens a Backend whose clients are counted per key; no test here sends a request.
func countingBackend(t *testing.T, maxKeys int) (*Backend, func(key string) int) {
	t.Helper()
	var mu sync.Mutex
	made := map[string]int{}
	b, err := Open(Config{BaseURL: "http://127.0.0.1:9", MaxKeys: maxKeys, NewClient: func(c api.Config) (*api.Client, error) {
		mu.Lock()
		made[c.APIKey]++
		mu.Unlock()
		return api.New(c)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b, func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		return made[key]
	}
}

func TestRegistryNeverEvictsAPinnedKey(t *testing.T) {
	b, made := countingBackend(t, 4)
	const real = "PMAK-real"
	env, release, err := b.Acquire(real)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		junk := fmt.Sprintf("PMAK-junk-%d", i)
		if _, err := b.Env(junk); err != nil {
			t.Fatalf("junk key %d: %v", i, err)
		}
		if i%100 == 0 {
			again, err := b.Env(real)
			if err != nil || again != env {
				t.Fatalf("after %d junk keys the pinned key has another environment (err %v)", i, err)
			}
		}
	}
	if n := made(real); n != 1 {
		t.Fatalf("the pinned key got %d clients (gates), want 1", n)
	}
	st := b.Stats()
	if st.Keys > 4 || st.Evicted < 990 || st.Pinned != 1 {
		t.Fatalf("stats %+v: want ≤ 4 keys, ~996 evictions, 1 pinned", st)
	}
	release()
	release() // idempotent
	if st := b.Stats(); st.Pinned != 0 {
		t.Fatalf("after release: %+v", st)
	}
}

func TestRegistryRefusesNewKeysWhenEveryEntryIsPinned(t *testing.T) {
	b, made := countingBackend(t, 3)
	var releases []func()
	for i := range 3 {
		r, err := b.Pin(fmt.Sprintf("PMAK-busy-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	if _, err := b.Pin("PMAK-new"); !errors.Is(err, ErrKeysBusy) {
		t.Fatalf("a fourth key while three are pinned: err = %v, want ErrKeysBusy", err)
	}
	if _, err := b.Env("PMAK-new"); !errors.Is(err, ErrKeysBusy) {
		t.Fatalf("Env: err = %v, want ErrKeysBusy", err)
	}
	// A pinned key is still served, and pinning builds no client until the first Env.
	if made("PMAK-busy-0") != 0 {
		t.Fatal("Pin built a client")
	}
	if _, err := b.Env("PMAK-busy-0"); err != nil {
		t.Fatal(err)
	}
	releases[1]()
	if _, err := b.Pin("PMAK-new"); err != nil {
		t.Fatalf("after one key went idle: %v", err)
	}
	st := b.Stats()
	if st.Refused != 2 || st.Evicted != 1 || st.Keys != 3 {
		t.Fatalf("stats %+v", st)
	}
	if _, err := b.Pin("PMAK-busy-1"); !errors.Is(err, ErrKeysBusy) {
		t.Fatalf("the evicted idle key should need a free slot again: %v", err)
	}
}

func TestRegistryEvictsLeastRecentlyUsedIdleKey(t *testing.T) {
	b, made := countingBackend(t, 2)
	for _, k := range []string{"PMAK-a", "PMAK-b", "PMAK-a", "PMAK-c", "PMAK-a"} {
		if _, err := b.Env(k); err != nil {
			t.Fatal(err)
		}
	}
	// b was the least recently used when c arrived, so a kept its one client.
	if made("PMAK-a") != 1 || made("PMAK-b") != 1 || made("PMAK-c") != 1 {
		t.Fatalf("clients: a=%d b=%d c=%d", made("PMAK-a"), made("PMAK-b"), made("PMAK-c"))
	}
}

func TestConfiguredKeyIsPinnedForever(t *testing.T) {
	b, err := Open(Config{APIKey: "PMAK-team", BaseURL: "http://127.0.0.1:9", MaxKeys: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Env("PMAK-other"); !errors.Is(err, ErrKeysBusy) {
		t.Fatalf("with MaxKeys 1 the configured key must keep its slot: %v", err)
	}
	if _, err := b.Env("  "); !errors.Is(err, ErrNoKey) {
		t.Fatalf("blank key: %v", err)
	}
}
