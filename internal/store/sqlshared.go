package store

// The SQLite stores (internal/sqlitestore) apply the same validation and derivations as Memory and Redis. They
// live in their own package so that binaries without SQLite (cmd/mcp) do not link modernc.org/sqlite, whose
// package initialisation ran at every start; these are the helpers they share with this package.

import "time"

// MaxTime is the "never expires" time of the stores.
var MaxTime = maxTime

// Cutoff is the time before which runs are forgotten under b (see HistoryBound).
func (b HistoryBound) Cutoff(now time.Time) time.Time { return b.cutoff(now) }

// CloneBytes is cloneBytes, for internal/sqlitestore.
func CloneBytes(b []byte) []byte { return cloneBytes(b) }

// ForgetAt is forgetAt, for internal/sqlitestore.
func ForgetAt(expires time.Time) time.Time { return forgetAt(expires) }

// GroupHash is groupHash, for internal/sqlitestore.
func GroupHash(owner UserRef, group string) []byte { return groupHash(owner, group) }

// OpenState is openState, for internal/sqlitestore.
func OpenState(s OutboxState) bool { return openState(s) }

// RunTime is runTime, for internal/sqlitestore.
func RunTime(r NotifyRun) time.Time { return runTime(r) }

// TokenHash is tokenHash, for internal/sqlitestore.
func TokenHash(token string) []byte { return tokenHash(token) }

// ValidateAction is validateAction, for internal/sqlitestore.
func ValidateAction(token string, a PendingAction) error { return validateAction(token, a) }

// ValidateChannel is validateChannel, for internal/sqlitestore.
func ValidateChannel(id string) error { return validateChannel(id) }

// ValidateKey is validateKey, for internal/sqlitestore.
func ValidateKey(what, key string) error { return validateKey(what, key) }

// ValidateLink is validateLink, for internal/sqlitestore.
func ValidateLink(id UserRef, sealed []byte, meta LinkMeta) error {
	return validateLink(id, sealed, meta)
}

// ValidateMonitorState is validateMonitorState, for internal/sqlitestore.
func ValidateMonitorState(m MonitorState) error { return validateMonitorState(m) }

// ValidateMute is validateMute, for internal/sqlitestore.
func ValidateMute(m Mute) error { return validateMute(m) }

// ValidateOutbox is validateOutbox, for internal/sqlitestore.
func ValidateOutbox(it OutboxItem) error { return validateOutbox(it) }

// ValidateRun is validateRun, for internal/sqlitestore.
func ValidateRun(r NotifyRun) error { return validateRun(r) }

// ValidateSeen is validateSeen, for internal/sqlitestore.
func ValidateSeen(key string, ttl time.Duration, now time.Time) error {
	return validateSeen(key, ttl, now)
}

// ValidateStreak is validateStreak, for internal/sqlitestore.
func ValidateStreak(s Streak) error { return validateStreak(s) }

// ValidateSubscription is validateSubscription, for internal/sqlitestore.
func ValidateSubscription(s Subscription) error { return validateSubscription(s) }

// ValidateTake is validateTake, for internal/sqlitestore.
func ValidateTake(token string, by UserRef, now time.Time) error { return validateTake(token, by, now) }

// ValidateTarget is validateTarget, for internal/sqlitestore.
func ValidateTarget(t Target) error { return validateTarget(t) }

// ValidateTime is validateTime, for internal/sqlitestore.
func ValidateTime(what string, t time.Time, optional bool) error {
	return validateTime(what, t, optional)
}

// ValidateUser is validateUser, for internal/sqlitestore.
func ValidateUser(id UserRef) error { return validateUser(id) }
