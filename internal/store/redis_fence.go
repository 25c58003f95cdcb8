package store

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrFenced means a leader-only write was refused because the writer no longer holds the lease it was given
// (it expired, or another replica took over). The writer must stop acting as leader; the new leader redoes the
// work from the store.
var ErrFenced = errors.New("write refused: this replica no longer holds the lease (fencing token is stale)")

// Leader tells whether this process holds a lease, with the lease's fencing token (internal/lease implements
// it). The token is unique per acquisition.
type Leader interface {
	IsLeader() (token int64, ok bool)
}

// Fenced returns a view of the notifier store whose leader-only writes (CommitFanout, MarkSending,
// CompleteOutbox, RetryOutbox, DropOutbox, DropChannel) succeed only while the lease called leaseName is held
// by l with the token l reports: each write checks, inside the same Lua script, that the lease key still holds
// that token. A stale leader (its lease expired while it was paused, or it was partitioned away) gets ErrFenced
// and changes nothing. Everything else (webhook intake, subscriptions, history) is open to every replica.
func (n *NotifyRedis) Fenced(leaseName string, l Leader) *NotifyRedis {
	c := *n
	c.fenceKey, c.leader = n.r.LeaseKey(leaseName), l
	return &c
}

// fence returns the lease key and token the scripts check ("" when not fenced), or ErrFenced when this process
// does not believe it leads.
func (n *NotifyRedis) fence(op string) (key, token string, err error) {
	if n.leader == nil {
		return "", "", nil
	}
	tok, ok := n.leader.IsLeader()
	if !ok {
		return "", "", fmt.Errorf("%s: %w", op, ErrFenced)
	}
	return n.fenceKey, strconv.FormatInt(tok, 10), nil
}

func fenceErr(op, res string) error {
	if res == "fenced" {
		return fmt.Errorf("%s: %w", op, ErrFenced)
	}
	return fmt.Errorf("%s: unexpected script answer %q", op, res)
}
