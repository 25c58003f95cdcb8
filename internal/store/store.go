// Package store keeps the state that must survive a restart of the Slack bot and, later, the monitor notifier:
// users' linked (sealed) Postman keys, single-use action tokens that confirm writes, and de-duplication of
// replayed requests. Store is the contract; SQLite (pure Go, no server; internal/sqlitestore, so that binaries
// without it such as cmd/mcp do not link it) is the default backend and Memory is the in-process one for tests and
// console mode. Both behave identically (see the contract tests).
//
// The store never sees plaintext secrets: callers seal API keys and action payloads with internal/vault before
// handing them over. An action token's row (and its payload) is deleted when the token is taken or expires; what
// remains is a tombstone keyed by the token's SHA-256 (no payload, no owner), so a second click is still told
// "already used". SQLite runs with secure_delete, so deleted rows are overwritten, not just unlinked.
// Times are passed in by the caller (no hidden clock) and are kept in UTC with nanosecond precision.
package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrNotFound means there is no such linked key or action token.
	ErrNotFound = errors.New("not found")
	// ErrUsed means the action token was already taken (double click, replayed interaction, another replica).
	ErrUsed = errors.New("action already used")
	// ErrExpired means the action token expired before it was taken.
	ErrExpired = errors.New("action expired")
	// ErrNotOwner means someone other than the action's owner tried to take it. The token is not consumed: its
	// owner can still use it.
	ErrNotOwner = errors.New("action belongs to another user")
	// ErrExists means PutAction was given a token that is already stored. Tokens are never overwritten: doing so
	// could revive a used token.
	ErrExists = errors.New("action token already exists")
	// ErrInvalid marks arguments the store rejects (empty IDs, empty token, zero expiry, ...).
	ErrInvalid = errors.New("invalid argument")
)

// MaxKeyLen bounds action tokens and de-duplication keys, which are built from outside input.
const MaxKeyLen = 512

// TombstoneTTL is how long past its expiry a taken or expired token is still remembered (by hash only), so that a
// late second click is told "already used" or "expired" rather than "unknown".
const TombstoneTTL = 24 * time.Hour

// UserRef names a Slack user. EnterpriseID is "" outside Enterprise Grid; TeamID and UserID are required.
type UserRef struct {
	EnterpriseID string
	TeamID       string
	UserID       string
}

// String renders the reference for errors and logs (IDs are not secrets).
func (u UserRef) String() string {
	if u.EnterpriseID == "" {
		return u.TeamID + "/" + u.UserID
	}
	return u.EnterpriseID + "/" + u.TeamID + "/" + u.UserID
}

// SameUser reports whether a and b name the same Slack user. Outside Enterprise Grid a user is its team and user
// ID. In Grid, user IDs are org-wide and the team a payload names depends on where the click happened (a shared
// channel), so the enterprise and user IDs decide.
func SameUser(a, b UserRef) bool {
	if a.UserID != b.UserID || a.EnterpriseID != b.EnterpriseID {
		return false
	}
	return a.EnterpriseID != "" || a.TeamID == b.TeamID
}

// LinkMeta describes a linked key without revealing it, from the /me check done at link time.
type LinkMeta struct {
	PostmanUserID   int64
	PostmanUsername string
	LinkedAt        time.Time
}

// PendingAction is a write waiting for the user's confirmation, addressed by a single-use token.
type PendingAction struct {
	Kind      string // what to run, defined by the caller, required
	Payload   []byte // caller-defined (JSON), may be empty
	Owner     UserRef
	ChannelID string // may be empty (for example a modal with no channel)
	ExpiresAt time.Time
	CreatedAt time.Time // optional
	// Group, when set, ties tokens that answer one question (a Confirm and its Cancel): taking one deletes the
	// others, which are then answered as used. Stored hashed; not returned by TakeAction.
	Group string
}

// Store is the persistent state behind the Slack bot. Implementations are safe for concurrent use, and every
// method that changes state is atomic even across processes sharing one backend.
type Store interface {
	// PutLinkedKey stores or replaces the sealed key linked to id.
	PutLinkedKey(ctx context.Context, id UserRef, sealed []byte, meta LinkMeta) error
	// LinkedKey returns the sealed key linked to id, or an error wrapping ErrNotFound.
	LinkedKey(ctx context.Context, id UserRef) (sealed []byte, meta LinkMeta, err error)
	// DeleteLinkedKey removes the key linked to id and reports whether there was one. A missing key is not an error.
	DeleteLinkedKey(ctx context.Context, id UserRef) (existed bool, err error)

	// PutAction stores a pending action under a new token (ErrExists if the token is stored, or was taken or
	// expired and is still remembered). The payload should already be sealed: the store keeps it as given.
	PutAction(ctx context.Context, token string, a PendingAction) error
	// TakeAction returns the pending action exactly once, to its owner (SameUser(a.Owner, by)), and deletes it
	// and the rest of its group, keeping only tombstones. Someone else gets ErrNotOwner and the token stays usable. Later calls return
	// ErrUsed; a token whose ExpiresAt is at or before now returns ErrExpired (and is deleted, remembered as
	// expired); an unknown or forgotten token returns ErrNotFound. When many callers race, exactly one wins.
	TakeAction(ctx context.Context, token string, by UserRef, now time.Time) (PendingAction, error)
	// PurgeExpired deletes action tokens and de-duplication keys that expired at or before now (an expired token
	// is remembered by a tombstone), and tombstones older than TombstoneTTL past their token's expiry. It returns
	// how many rows it removed in total.
	PurgeExpired(ctx context.Context, now time.Time) (int, error)

	// SeenOnce reports whether key is seen for the first time within ttl: true once, then false until now passes
	// the first sighting plus ttl. Atomic: of many concurrent callers exactly one gets true.
	SeenOnce(ctx context.Context, key string, ttl time.Duration, now time.Time) (first bool, err error)

	// Close releases the backend.
	Close() error
}

// Bounds of a time stored as int64 Unix nanoseconds.
var (
	minTime = time.Unix(0, -1<<63).UTC()
	maxTime = time.Unix(0, 1<<63-1).UTC()
)

func validateUser(id UserRef) error {
	switch {
	case id.TeamID == "" && id.UserID == "":
		return fmt.Errorf("%w: user reference needs a team ID and a user ID", ErrInvalid)
	case id.TeamID == "":
		return fmt.Errorf("%w: user reference %q has no team ID", ErrInvalid, id.UserID)
	case id.UserID == "":
		return fmt.Errorf("%w: user reference in team %q has no user ID", ErrInvalid, id.TeamID)
	}
	return nil
}

func validateKey(what, key string) error {
	if key == "" {
		return fmt.Errorf("%w: %s is empty", ErrInvalid, what)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrInvalid, what, len(key), MaxKeyLen)
	}
	return nil
}

// validateTime accepts the zero time only when optional; any other time must fit int64 Unix nanoseconds.
func validateTime(what string, t time.Time, optional bool) error {
	if t.IsZero() {
		if optional {
			return nil
		}
		return fmt.Errorf("%w: %s is not set", ErrInvalid, what)
	}
	if t.Before(minTime) || t.After(maxTime) {
		return fmt.Errorf("%w: %s %s is outside the storable range (years 1678-2262)", ErrInvalid, what, t.UTC().Format(time.RFC3339))
	}
	return nil
}

func validateLink(id UserRef, sealed []byte, meta LinkMeta) error {
	if err := validateUser(id); err != nil {
		return err
	}
	if len(sealed) == 0 {
		return fmt.Errorf("%w: sealed key is empty", ErrInvalid)
	}
	return validateTime("linked-at time", meta.LinkedAt, true)
}

func validateAction(token string, a PendingAction) error {
	if err := validateKey("action token", token); err != nil {
		return err
	}
	if a.Kind == "" {
		return fmt.Errorf("%w: action kind is empty", ErrInvalid)
	}
	if err := validateUser(a.Owner); err != nil {
		return fmt.Errorf("action owner: %w", err)
	}
	if len(a.Group) > MaxKeyLen {
		return fmt.Errorf("%w: action group is %d bytes, limit %d", ErrInvalid, len(a.Group), MaxKeyLen)
	}
	if err := validateTime("action expiry", a.ExpiresAt, false); err != nil {
		return err
	}
	return validateTime("action creation time", a.CreatedAt, true)
}

func validateTake(token string, by UserRef, now time.Time) error {
	if err := validateKey("action token", token); err != nil {
		return err
	}
	if err := validateUser(by); err != nil {
		return fmt.Errorf("action taker: %w", err)
	}
	return validateTime("now", now, false)
}

// tokenHash is what stays of a token once it is taken: enough to recognise a second click, useless as a button.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// groupHash is how a group is stored (NULL for none). It includes the owner, so one person's click can never
// spend another's buttons, whatever group names callers choose.
func groupHash(owner UserRef, group string) []byte {
	if group == "" {
		return nil
	}
	h := sha256.Sum256(joinParts("group", owner.EnterpriseID, owner.TeamID, owner.UserID, group))
	return h[:]
}

// joinParts joins parts unambiguously (length-prefixed).
func joinParts(parts ...string) []byte {
	var b []byte
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}

// forgetAt is when a tombstone of a token expiring at expires may go, clamped to the storable range.
func forgetAt(expires time.Time) time.Time {
	if expires.After(maxTime.Add(-TombstoneTTL)) {
		return maxTime
	}
	return expires.Add(TombstoneTTL)
}

func validateSeen(key string, ttl time.Duration, now time.Time) error {
	if err := validateKey("de-duplication key", key); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("%w: de-duplication ttl must be positive, got %s", ErrInvalid, ttl)
	}
	if err := validateTime("now", now, false); err != nil {
		return err
	}
	return validateTime("de-duplication expiry", now.Add(ttl), false)
}

// normalizeTime gives the form every backend returns: UTC, no monotonic reading, zero stays zero.
func normalizeTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Round(0)
}

// cloneBytes copies b, mapping empty to nil so both backends return the same thing.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
