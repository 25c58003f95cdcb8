// Package store keeps the state that must survive a restart of the Slack bot and, later, the monitor notifier:
// users' linked (sealed) Postman keys, single-use action tokens that confirm writes, and de-duplication of
// replayed requests. Store is the contract; SQLite (pure Go, no server) is the default backend and Memory is the
// in-process one for tests and console mode. Both behave identically (see the contract tests).
//
// The store never sees plaintext secrets: callers seal API keys with internal/vault before PutLinkedKey.
// Times are passed in by the caller (no hidden clock) and are kept in UTC with nanosecond precision.
package store

import (
	"context"
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
	// ErrExists means PutAction was given a token that is already stored. Tokens are never overwritten: doing so
	// could revive a used token.
	ErrExists = errors.New("action token already exists")
	// ErrInvalid marks arguments the store rejects (empty IDs, empty token, zero expiry, ...).
	ErrInvalid = errors.New("invalid argument")
)

// MaxKeyLen bounds action tokens and de-duplication keys, which are built from outside input.
const MaxKeyLen = 512

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

	// PutAction stores a pending action under a new token (ErrExists if the token is taken).
	PutAction(ctx context.Context, token string, a PendingAction) error
	// TakeAction returns the pending action exactly once. Later calls return ErrUsed; a token whose ExpiresAt is
	// at or before now returns ErrExpired; an unknown (or purged) token returns ErrNotFound. When many callers race,
	// exactly one wins.
	TakeAction(ctx context.Context, token string, now time.Time) (PendingAction, error)
	// PurgeExpired deletes action tokens and de-duplication keys that expired at or before now, and returns how
	// many rows it removed in total.
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
	if err := validateTime("action expiry", a.ExpiresAt, false); err != nil {
		return err
	}
	return validateTime("action creation time", a.CreatedAt, true)
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
