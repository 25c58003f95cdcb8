package store

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// t0 is an arbitrary instant with sub-millisecond digits, to check that precision survives storage.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

var (
	alice    = UserRef{TeamID: "T1", UserID: "U1"}
	aliceOrg = UserRef{EnterpriseID: "E1", TeamID: "T1", UserID: "U1"}
	bob      = UserRef{TeamID: "T1", UserID: "U2"}
)

func sampleAction() PendingAction {
	return PendingAction{
		Kind:      "monitor.run",
		Payload:   []byte(`{"monitor":"1234-abcd"}`),
		Owner:     alice,
		ChannelID: "C1",
		CreatedAt: t0,
		ExpiresAt: t0.Add(5 * time.Minute),
	}
}

// testStore runs the Store contract against fresh stores from open. Every backend must pass it unchanged.
func testStore(t *testing.T, open func(t *testing.T) Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s Store)
	}{
		{"linked key round trip", testLinkedKeyRoundTrip},
		{"linked key replace", testLinkedKeyReplace},
		{"linked key delete", testLinkedKeyDelete},
		{"linked keys are per enterprise, team and user", testLinkedKeyIdentity},
		{"linked key bytes are copied", testLinkedKeyCopies},
		{"action round trip", testActionRoundTrip},
		{"action single use", testActionSingleUse},
		{"action not found", testActionNotFound},
		{"action expiry boundary", testActionExpiryBoundary},
		{"action used wins over expired", testActionUsedThenExpired},
		{"action token never overwritten", testActionNoOverwrite},
		{"action payloads", testActionPayloads},
		{"action refused to a stranger, not consumed", testActionStranger},
		{"action group spent together", testActionGroup},
		{"action owner wins a race with strangers", testActionStrangerRace},
		{"purge expired", testPurgeExpired},
		{"seen once", testSeenOnce},
		{"invalid arguments", testInvalidArguments},
		{"canceled context", testCanceledContext},
		{"concurrent take action", testConcurrentTake},
		{"concurrent seen once", testConcurrentSeen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.run(t, s)
		})
	}
}

func mustPutAction(t *testing.T, s Store, token string, a PendingAction) {
	t.Helper()
	if err := s.PutAction(t.Context(), token, a); err != nil {
		t.Fatalf("PutAction(%q): %v", token, err)
	}
}

func testLinkedKeyRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	if _, _, err := s.LinkedKey(ctx, alice); !errors.Is(err, ErrNotFound) {
		t.Fatalf("LinkedKey before put: %v, want ErrNotFound", err)
	}
	sealed := []byte{1, 2, 3, 0, 255}
	// A non-UTC location must come back as the same instant in UTC.
	meta := LinkMeta{PostmanUserID: 12345678, PostmanUsername: "alice-pm", LinkedAt: t0.In(time.FixedZone("X", 5*3600))}
	if err := s.PutLinkedKey(ctx, alice, sealed, meta); err != nil {
		t.Fatalf("PutLinkedKey: %v", err)
	}
	got, gotMeta, err := s.LinkedKey(ctx, alice)
	if err != nil {
		t.Fatalf("LinkedKey: %v", err)
	}
	if !bytes.Equal(got, sealed) {
		t.Errorf("sealed = %v, want %v", got, sealed)
	}
	if gotMeta.PostmanUserID != meta.PostmanUserID || gotMeta.PostmanUsername != meta.PostmanUsername {
		t.Errorf("meta = %+v, want %+v", gotMeta, meta)
	}
	if !gotMeta.LinkedAt.Equal(t0) || gotMeta.LinkedAt.Location() != time.UTC {
		t.Errorf("LinkedAt = %v, want %v in UTC", gotMeta.LinkedAt, t0)
	}

	// LinkedAt is optional and comes back as the zero time.
	if err := s.PutLinkedKey(ctx, bob, []byte{9}, LinkMeta{PostmanUserID: 1}); err != nil {
		t.Fatal(err)
	}
	if _, m, err := s.LinkedKey(ctx, bob); err != nil || !m.LinkedAt.IsZero() {
		t.Errorf("bob's LinkedAt = %v (err %v), want zero", m.LinkedAt, err)
	}
}

func testLinkedKeyReplace(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.PutLinkedKey(ctx, alice, []byte("old"), LinkMeta{PostmanUserID: 1, PostmanUsername: "old", LinkedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutLinkedKey(ctx, alice, []byte("new"), LinkMeta{PostmanUserID: 2, PostmanUsername: "new", LinkedAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, meta, err := s.LinkedKey(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new" || meta.PostmanUserID != 2 || meta.PostmanUsername != "new" || !meta.LinkedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("after replace: %q %+v", got, meta)
	}
}

func testLinkedKeyDelete(t *testing.T, s Store) {
	ctx := t.Context()
	if existed, err := s.DeleteLinkedKey(ctx, alice); err != nil || existed {
		t.Fatalf("delete missing: existed=%v err=%v, want false, nil", existed, err)
	}
	if err := s.PutLinkedKey(ctx, alice, []byte("k"), LinkMeta{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutLinkedKey(ctx, bob, []byte("k"), LinkMeta{}); err != nil {
		t.Fatal(err)
	}
	if existed, err := s.DeleteLinkedKey(ctx, alice); err != nil || !existed {
		t.Fatalf("delete present: existed=%v err=%v, want true, nil", existed, err)
	}
	if _, _, err := s.LinkedKey(ctx, alice); !errors.Is(err, ErrNotFound) {
		t.Errorf("LinkedKey after delete: %v, want ErrNotFound", err)
	}
	if existed, err := s.DeleteLinkedKey(ctx, alice); err != nil || existed {
		t.Errorf("second delete: existed=%v err=%v, want false, nil", existed, err)
	}
	if _, _, err := s.LinkedKey(ctx, bob); err != nil {
		t.Errorf("deleting alice removed bob: %v", err)
	}
}

func testLinkedKeyIdentity(t *testing.T, s Store) {
	ctx := t.Context()
	refs := []UserRef{
		alice,
		aliceOrg,
		{EnterpriseID: "E2", TeamID: "T1", UserID: "U1"},
		{TeamID: "T2", UserID: "U1"},
		bob,
	}
	for i, r := range refs {
		if err := s.PutLinkedKey(ctx, r, []byte{byte(i + 1)}, LinkMeta{PostmanUserID: int64(i)}); err != nil {
			t.Fatalf("put %v: %v", r, err)
		}
	}
	for i, r := range refs {
		got, meta, err := s.LinkedKey(ctx, r)
		if err != nil || !bytes.Equal(got, []byte{byte(i + 1)}) || meta.PostmanUserID != int64(i) {
			t.Errorf("LinkedKey(%v) = %v %+v %v, want its own row", r, got, meta, err)
		}
	}
	if _, err := s.DeleteLinkedKey(ctx, aliceOrg); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.LinkedKey(ctx, alice); err != nil {
		t.Errorf("deleting the enterprise row removed the non-enterprise one: %v", err)
	}
}

func testLinkedKeyCopies(t *testing.T, s Store) {
	ctx := t.Context()
	in := []byte("sealed")
	if err := s.PutLinkedKey(ctx, alice, in, LinkMeta{}); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	out, _, _ := s.LinkedKey(ctx, alice)
	out[1] = 'Y'
	again, _, _ := s.LinkedKey(ctx, alice)
	if string(again) != "sealed" {
		t.Errorf("stored bytes changed through a caller's slice: %q", again)
	}
}

func testActionRoundTrip(t *testing.T, s Store) {
	want := sampleAction()
	want.Owner = aliceOrg
	in := want
	in.ExpiresAt = want.ExpiresAt.In(time.FixedZone("Y", -7*3600))
	mustPutAction(t, s, "tok-1", in)
	got, err := s.TakeAction(t.Context(), "tok-1", aliceOrg, t0)
	if err != nil {
		t.Fatalf("TakeAction: %v", err)
	}
	if got.Kind != want.Kind || string(got.Payload) != string(want.Payload) || got.Owner != want.Owner || got.ChannelID != want.ChannelID {
		t.Errorf("took %+v, want %+v", got, want)
	}
	if !got.ExpiresAt.Equal(want.ExpiresAt) || got.ExpiresAt.Location() != time.UTC {
		t.Errorf("ExpiresAt = %v, want %v in UTC", got.ExpiresAt, want.ExpiresAt)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
}

func testActionSingleUse(t *testing.T, s Store) {
	mustPutAction(t, s, "tok", sampleAction())
	if _, err := s.TakeAction(t.Context(), "tok", alice, t0); err != nil {
		t.Fatalf("first take: %v", err)
	}
	for i := range 3 {
		if _, err := s.TakeAction(t.Context(), "tok", alice, t0.Add(time.Duration(i)*time.Second)); !errors.Is(err, ErrUsed) {
			t.Errorf("take #%d: %v, want ErrUsed", i+2, err)
		}
	}
}

func testActionNotFound(t *testing.T, s Store) {
	mustPutAction(t, s, "tok", sampleAction())
	for _, tok := range []string{"other", "TOK", "tok ", "to"} {
		if _, err := s.TakeAction(t.Context(), tok, alice, t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("TakeAction(%q): %v, want ErrNotFound", tok, err)
		}
	}
}

func testActionExpiryBoundary(t *testing.T, s Store) {
	a := sampleAction()
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"well before", a.ExpiresAt.Add(-time.Minute), nil},
		{"one nanosecond before", a.ExpiresAt.Add(-time.Nanosecond), nil},
		{"exactly at expiry", a.ExpiresAt, ErrExpired},
		{"after", a.ExpiresAt.Add(time.Nanosecond), ErrExpired},
		{"long after", a.ExpiresAt.Add(24 * time.Hour), ErrExpired},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := "tok-" + string(rune('a'+i))
			mustPutAction(t, s, tok, a)
			_, err := s.TakeAction(t.Context(), tok, alice, tt.now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("TakeAction at %v: %v, want %v", tt.now, err, tt.want)
			}
			if tt.want != nil {
				// An expired take does not consume the token: it stays expired, not used.
				if _, err := s.TakeAction(t.Context(), tok, alice, tt.now); !errors.Is(err, ErrExpired) {
					t.Errorf("second take: %v, want ErrExpired", err)
				}
			}
		})
	}
}

func testActionUsedThenExpired(t *testing.T, s Store) {
	a := sampleAction()
	mustPutAction(t, s, "tok", a)
	if _, err := s.TakeAction(t.Context(), "tok", alice, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeAction(t.Context(), "tok", alice, a.ExpiresAt.Add(time.Hour)); !errors.Is(err, ErrUsed) {
		t.Errorf("take of a used, now expired token: %v, want ErrUsed", err)
	}
}

func testActionNoOverwrite(t *testing.T, s Store) {
	a := sampleAction()
	mustPutAction(t, s, "tok", a)
	b := a
	b.Kind = "other"
	if err := s.PutAction(t.Context(), "tok", b); !errors.Is(err, ErrExists) {
		t.Errorf("second put: %v, want ErrExists", err)
	}
	if _, err := s.TakeAction(t.Context(), "tok", alice, t0); err != nil {
		t.Fatal(err)
	}
	// Re-putting a used token must not revive it.
	if err := s.PutAction(t.Context(), "tok", a); !errors.Is(err, ErrExists) {
		t.Errorf("put over a used token: %v, want ErrExists", err)
	}
	if _, err := s.TakeAction(t.Context(), "tok", alice, t0); !errors.Is(err, ErrUsed) {
		t.Errorf("take after re-put: %v, want ErrUsed", err)
	}
}

func testActionPayloads(t *testing.T, s Store) {
	big := bytes.Repeat([]byte(`{"k":"0123456789abcdef"},`), 1<<16) // ~1.6 MB
	tests := []struct {
		name    string
		payload []byte
		mutate  func(*PendingAction)
	}{
		{"nil payload", nil, nil},
		{"empty payload", []byte{}, nil},
		{"binary payload", []byte{0, 1, 2, 0, 255}, nil},
		{"large payload", big, nil},
		{"no channel, no creation time", []byte(`{}`), func(a *PendingAction) { a.ChannelID = ""; a.CreatedAt = time.Time{} }},
		{"long token and kind", []byte(`{}`), func(a *PendingAction) { a.Kind = strings.Repeat("k", 1000) }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := sampleAction()
			a.Payload = tt.payload
			if tt.mutate != nil {
				tt.mutate(&a)
			}
			tok := strings.Repeat("t", MaxKeyLen-1) + string(rune('a'+i))
			mustPutAction(t, s, tok, a)
			got, err := s.TakeAction(t.Context(), tok, alice, t0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Payload, a.Payload) {
				t.Errorf("payload mismatch: got %d bytes, want %d", len(got.Payload), len(a.Payload))
			}
			if len(a.Payload) == 0 && got.Payload != nil {
				t.Errorf("empty payload came back as %#v, want nil", got.Payload)
			}
			if got.Kind != a.Kind || got.ChannelID != a.ChannelID || !got.CreatedAt.Equal(a.CreatedAt) || got.CreatedAt.IsZero() != a.CreatedAt.IsZero() {
				t.Errorf("took %+v, want %+v", got, a)
			}
		})
	}
}

func testPurgeExpired(t *testing.T, s Store) {
	ctx := t.Context()
	a := sampleAction() // expires t0+5m
	mustPutAction(t, s, "expired", withExpiry(a, t0.Add(time.Minute)))
	mustPutAction(t, s, "expires-at-now", withExpiry(a, t0.Add(2*time.Minute)))
	mustPutAction(t, s, "live", a)
	mustPutAction(t, s, "used-live", a)
	if _, err := s.TakeAction(ctx, "used-live", alice, t0); err != nil {
		t.Fatal(err)
	}
	if first, err := s.SeenOnce(ctx, "old", time.Minute, t0); err != nil || !first {
		t.Fatal(first, err)
	}
	if first, err := s.SeenOnce(ctx, "fresh", time.Hour, t0); err != nil || !first {
		t.Fatal(first, err)
	}

	now := t0.Add(2 * time.Minute)
	n, err := s.PurgeExpired(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("purged %d rows, want 3 (two tokens, one key)", n)
	}
	// Purged tokens are remembered as expired; the used one is still used.
	for tok, want := range map[string]error{"expired": ErrExpired, "expires-at-now": ErrExpired, "used-live": ErrUsed, "live": nil} {
		if _, err := s.TakeAction(ctx, tok, alice, now.Add(-time.Minute)); want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("after purge, take %q: %v, want %v", tok, err, want)
		}
	}
	if first, _ := s.SeenOnce(ctx, "old", time.Minute, now.Add(-time.Second)); !first {
		t.Error("purged key was still remembered")
	}
	if first, _ := s.SeenOnce(ctx, "fresh", time.Hour, now); first {
		t.Error("purge forgot a key inside its window")
	}
	if n, err := s.PurgeExpired(ctx, now); err != nil || n != 0 {
		t.Errorf("second purge: %d, %v, want 0", n, err)
	}
	// A day past their tokens' expiry the tombstones go too: expired, expires-at-now, used-live and live (taken
	// above), with the two de-duplication keys; the tokens are then unknown.
	later := a.ExpiresAt.Add(TombstoneTTL)
	if n, err := s.PurgeExpired(ctx, later); err != nil || n != 6 {
		t.Errorf("purge at %v: %d, %v, want 4 tombstones + 2 keys", later, n, err)
	}
	for _, tok := range []string{"expired", "used-live", "live"} {
		if _, err := s.TakeAction(ctx, tok, alice, later); !errors.Is(err, ErrNotFound) {
			t.Errorf("after the tombstones went, take %q: %v, want ErrNotFound", tok, err)
		}
	}
}

// testActionStranger: someone else's click is refused and does not consume the token; its owner's still works.
func testActionStranger(t *testing.T, s Store) {
	ctx := t.Context()
	a := sampleAction()
	a.Owner = aliceOrg
	mustPutAction(t, s, "tok", a)
	strangers := []UserRef{
		bob,
		{EnterpriseID: "E1", TeamID: "T1", UserID: "U2"}, // same org and team, other user
		{TeamID: "T1", UserID: "U1"},                     // same IDs outside the org
		{EnterpriseID: "E2", TeamID: "T1", UserID: "U1"}, // another org
	}
	for _, by := range strangers {
		if _, err := s.TakeAction(ctx, "tok", by, t0); !errors.Is(err, ErrNotOwner) {
			t.Errorf("take by %s: %v, want ErrNotOwner", by, err)
		}
	}
	// In Enterprise Grid the team a click names may differ (a shared channel): the user is the same.
	got, err := s.TakeAction(ctx, "tok", UserRef{EnterpriseID: "E1", TeamID: "T9", UserID: "U1"}, t0)
	if err != nil || got.Kind != a.Kind {
		t.Fatalf("owner's take after strangers: %+v %v", got, err)
	}
	if _, err := s.TakeAction(ctx, "tok", bob, t0); !errors.Is(err, ErrUsed) {
		t.Errorf("stranger after use: %v, want ErrUsed", err)
	}

	// Outside Grid, the team must match too.
	mustPutAction(t, s, "tok2", sampleAction())
	if _, err := s.TakeAction(ctx, "tok2", UserRef{TeamID: "T2", UserID: "U1"}, t0); !errors.Is(err, ErrNotOwner) {
		t.Errorf("same user ID in another workspace: %v, want ErrNotOwner", err)
	}
	if _, err := s.TakeAction(ctx, "tok2", alice, t0); err != nil {
		t.Errorf("owner: %v", err)
	}
}

// testActionGroup: taking a Confirm spends its Cancel (same group, same owner) and nothing else.
func testActionGroup(t *testing.T, s Store) {
	ctx := t.Context()
	grouped := func(owner UserRef, group string) PendingAction {
		a := sampleAction()
		a.Owner, a.Group = owner, group
		return a
	}
	mustPutAction(t, s, "confirm", grouped(alice, "g1"))
	mustPutAction(t, s, "cancel", grouped(alice, "g1"))
	mustPutAction(t, s, "other-group", grouped(alice, "g2"))
	mustPutAction(t, s, "bobs-same-name", grouped(bob, "g1"))
	mustPutAction(t, s, "no-group", sampleAction())
	if _, err := s.TakeAction(ctx, "confirm", bob, t0); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("stranger: %v", err)
	}
	got, err := s.TakeAction(ctx, "confirm", alice, t0)
	if err != nil || got.Group != "" {
		t.Fatalf("take confirm: %+v %v", got, err)
	}
	if _, err := s.TakeAction(ctx, "cancel", alice, t0); !errors.Is(err, ErrUsed) {
		t.Errorf("cancel after confirm: %v, want ErrUsed", err)
	}
	if err := s.PutAction(ctx, "cancel", grouped(alice, "g1")); !errors.Is(err, ErrExists) {
		t.Errorf("re-put of a spent group member: %v, want ErrExists", err)
	}
	for tok, by := range map[string]UserRef{"other-group": alice, "bobs-same-name": bob, "no-group": alice} {
		if _, err := s.TakeAction(ctx, tok, by, t0); err != nil {
			t.Errorf("take %q: %v (spent by another group)", tok, err)
		}
	}
}

// testActionStrangerRace: many strangers and one owner race; exactly the owner wins, nobody else consumes it.
func testActionStrangerRace(t *testing.T, s Store) {
	mustPutAction(t, s, "tok", sampleAction())
	var n sync.WaitGroup
	var mu sync.Mutex
	wins, refused := 0, 0
	for i := range racers {
		n.Add(1)
		go func() {
			defer n.Done()
			by := bob
			if i == racers/2 {
				by = alice
			}
			_, err := s.TakeAction(context.Background(), "tok", by, t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && by == alice:
				wins++
			case errors.Is(err, ErrNotOwner) || errors.Is(err, ErrUsed):
				refused++
			default:
				t.Errorf("take by %s: %v", by, err)
			}
		}()
	}
	n.Wait()
	if wins != 1 || refused != racers-1 {
		t.Errorf("wins %d, refused %d; want 1 and %d", wins, refused, racers-1)
	}
}

func withExpiry(a PendingAction, at time.Time) PendingAction {
	a.ExpiresAt = at
	return a
}

func testSeenOnce(t *testing.T, s Store) {
	ctx := t.Context()
	ttl := 10 * time.Minute
	steps := []struct {
		key  string
		now  time.Time
		want bool
	}{
		{"req-1", t0, true},
		{"req-1", t0, false},
		{"req-2", t0, true},
		{"req-1", t0.Add(ttl - time.Nanosecond), false},
		{"req-1", t0.Add(ttl), true}, // window [t0, t0+ttl) ended
		{"req-1", t0.Add(ttl + time.Minute), false},
		{"req-1", t0.Add(2*ttl - time.Nanosecond), false},
		{"req-1", t0.Add(2 * ttl), true},
		{"REQ-1", t0.Add(2 * ttl), true},
	}
	for i, st := range steps {
		got, err := s.SeenOnce(ctx, st.key, ttl, st.now)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != st.want {
			t.Errorf("step %d: SeenOnce(%q, %v) = %v, want %v", i, st.key, st.now.Sub(t0), got, st.want)
		}
	}
}

func testInvalidArguments(t *testing.T, s Store) {
	ctx := t.Context()
	a := sampleAction()
	mod := func(f func(*PendingAction)) PendingAction { b := a; f(&b); return b }
	tests := []struct {
		name    string
		call    func() error
		mention string
	}{
		{"put key no team", func() error { return s.PutLinkedKey(ctx, UserRef{UserID: "U1"}, []byte("k"), LinkMeta{}) }, "team ID"},
		{"put key no user", func() error { return s.PutLinkedKey(ctx, UserRef{TeamID: "T1"}, []byte("k"), LinkMeta{}) }, "user ID"},
		{"put key no ids", func() error { return s.PutLinkedKey(ctx, UserRef{EnterpriseID: "E"}, []byte("k"), LinkMeta{}) }, "team ID"},
		{"put key empty sealed", func() error { return s.PutLinkedKey(ctx, alice, nil, LinkMeta{}) }, "sealed key is empty"},
		{"put key time out of range", func() error {
			return s.PutLinkedKey(ctx, alice, []byte("k"), LinkMeta{LinkedAt: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)})
		}, "range"},
		{"get key no user", func() error { _, _, err := s.LinkedKey(ctx, UserRef{TeamID: "T1"}); return err }, "user ID"},
		{"delete key no team", func() error { _, err := s.DeleteLinkedKey(ctx, UserRef{UserID: "U1"}); return err }, "team ID"},
		{"put action empty token", func() error { return s.PutAction(ctx, "", a) }, "token is empty"},
		{"put action long token", func() error { return s.PutAction(ctx, strings.Repeat("x", MaxKeyLen+1), a) }, "limit"},
		{"put action no kind", func() error { return s.PutAction(ctx, "t", mod(func(p *PendingAction) { p.Kind = "" })) }, "kind"},
		{"put action no owner user", func() error {
			return s.PutAction(ctx, "t", mod(func(p *PendingAction) { p.Owner.UserID = "" }))
		}, "owner"},
		{"put action long group", func() error {
			return s.PutAction(ctx, "t", mod(func(p *PendingAction) { p.Group = strings.Repeat("g", MaxKeyLen+1) }))
		}, "group"},
		{"put action no expiry", func() error {
			return s.PutAction(ctx, "t", mod(func(p *PendingAction) { p.ExpiresAt = time.Time{} }))
		}, "expiry is not set"},
		{"put action expiry out of range", func() error {
			return s.PutAction(ctx, "t", mod(func(p *PendingAction) { p.ExpiresAt = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }))
		}, "range"},
		{"take empty token", func() error { _, err := s.TakeAction(ctx, "", alice, t0); return err }, "token is empty"},
		{"take zero now", func() error { _, err := s.TakeAction(ctx, "t", alice, time.Time{}); return err }, "now"},
		{"take no taker", func() error { _, err := s.TakeAction(ctx, "t", UserRef{TeamID: "T1"}, t0); return err }, "taker"},
		{"purge zero now", func() error { _, err := s.PurgeExpired(ctx, time.Time{}); return err }, "now"},
		{"seen empty key", func() error { _, err := s.SeenOnce(ctx, "", time.Minute, t0); return err }, "key is empty"},
		{"seen long key", func() error { _, err := s.SeenOnce(ctx, strings.Repeat("k", MaxKeyLen+1), time.Minute, t0); return err }, "limit"},
		{"seen zero ttl", func() error { _, err := s.SeenOnce(ctx, "k", 0, t0); return err }, "ttl"},
		{"seen negative ttl", func() error { _, err := s.SeenOnce(ctx, "k", -time.Second, t0); return err }, "ttl"},
		{"seen zero now", func() error { _, err := s.SeenOnce(ctx, "k", time.Minute, time.Time{}); return err }, "now"},
		{"seen expiry overflows", func() error {
			_, err := s.SeenOnce(ctx, "k", 200*365*24*time.Hour, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))
			return err
		}, "range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
		})
	}
	// Nothing invalid was stored.
	if _, err := s.TakeAction(ctx, "t", alice, t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("an invalid action was stored: %v", err)
	}
}

func testCanceledContext(t *testing.T, s Store) {
	mustPutAction(t, s, "tok", sampleAction())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := map[string]func() error{
		"PutLinkedKey": func() error { return s.PutLinkedKey(ctx, alice, []byte("k"), LinkMeta{}) },
		"LinkedKey":    func() error { _, _, err := s.LinkedKey(ctx, alice); return err },
		"Delete":       func() error { _, err := s.DeleteLinkedKey(ctx, alice); return err },
		"PutAction":    func() error { return s.PutAction(ctx, "tok2", sampleAction()) },
		"TakeAction":   func() error { _, err := s.TakeAction(ctx, "tok", alice, t0); return err },
		"Purge":        func() error { _, err := s.PurgeExpired(ctx, t0); return err },
		"SeenOnce":     func() error { _, err := s.SeenOnce(ctx, "k", time.Minute, t0); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v, want context.Canceled", name, err)
		}
	}
	// The canceled take did not consume the token.
	if _, err := s.TakeAction(t.Context(), "tok", alice, t0); err != nil {
		t.Errorf("take after canceled take: %v", err)
	}
}

const racers = 24

func testConcurrentTake(t *testing.T, s Store) {
	for round := range 3 {
		tok := "race-" + string(rune('a'+round))
		mustPutAction(t, s, tok, sampleAction())
		results := race(func() error { _, err := s.TakeAction(context.Background(), tok, alice, t0); return err })
		wins := 0
		for _, err := range results {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, ErrUsed):
				t.Errorf("loser got %v, want ErrUsed", err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d winners, want exactly 1", round, wins)
		}
	}
}

func testConcurrentSeen(t *testing.T, s Store) {
	for round := range 3 {
		key := "evt-" + string(rune('a'+round))
		var mu sync.Mutex
		firsts := 0
		results := race(func() error {
			first, err := s.SeenOnce(context.Background(), key, time.Minute, t0)
			if first {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
			return err
		})
		for _, err := range results {
			if err != nil {
				t.Errorf("SeenOnce: %v", err)
			}
		}
		if firsts != 1 {
			t.Errorf("round %d: %d callers saw the key first, want exactly 1", round, firsts)
		}
	}
}

// race runs f from many goroutines released at once and returns every result.
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
