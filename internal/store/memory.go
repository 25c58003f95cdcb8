package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Memory is an in-process Store for tests and console mode. Its state is lost when the process exits.
type Memory struct {
	mu      sync.Mutex
	links   map[UserRef]memLink
	actions map[string]PendingAction // by token
	tombs   map[string]memTomb       // by token: taken or expired, payload gone
	seen    map[string]time.Time     // key -> expires at
}

type memTomb struct {
	used     bool // else expired
	forgetAt time.Time
}

type memLink struct {
	sealed []byte
	meta   LinkMeta
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory Store.
func NewMemory() *Memory {
	return &Memory{
		links:   make(map[UserRef]memLink),
		actions: make(map[string]PendingAction),
		tombs:   make(map[string]memTomb),
		seen:    make(map[string]time.Time),
	}
}

// PutLinkedKey implements Store.
func (m *Memory) PutLinkedKey(ctx context.Context, id UserRef, sealed []byte, meta LinkMeta) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put linked key: %w", err)
	}
	if err := validateLink(id, sealed, meta); err != nil {
		return fmt.Errorf("put linked key: %w", err)
	}
	meta.LinkedAt = normalizeTime(meta.LinkedAt)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.links[id] = memLink{sealed: cloneBytes(sealed), meta: meta}
	return nil
}

// LinkedKey implements Store.
func (m *Memory) LinkedKey(ctx context.Context, id UserRef) ([]byte, LinkMeta, error) {
	if err := ctx.Err(); err != nil {
		return nil, LinkMeta{}, fmt.Errorf("get linked key: %w", err)
	}
	if err := validateUser(id); err != nil {
		return nil, LinkMeta{}, fmt.Errorf("get linked key: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[id]
	if !ok {
		return nil, LinkMeta{}, fmt.Errorf("linked key for %s: %w", id, ErrNotFound)
	}
	return cloneBytes(l.sealed), l.meta, nil
}

// DeleteLinkedKey implements Store.
func (m *Memory) DeleteLinkedKey(ctx context.Context, id UserRef) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("delete linked key: %w", err)
	}
	if err := validateUser(id); err != nil {
		return false, fmt.Errorf("delete linked key: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.links[id]
	delete(m.links, id)
	return ok, nil
}

// PutAction implements Store.
func (m *Memory) PutAction(ctx context.Context, token string, a PendingAction) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("put action: %w", err)
	}
	if err := validateAction(token, a); err != nil {
		return fmt.Errorf("put action: %w", err)
	}
	a.Payload = cloneBytes(a.Payload)
	a.ExpiresAt = normalizeTime(a.ExpiresAt)
	a.CreatedAt = normalizeTime(a.CreatedAt)
	m.mu.Lock()
	defer m.mu.Unlock()
	_, stored := m.actions[token]
	_, remembered := m.tombs[token]
	if stored || remembered {
		return fmt.Errorf("put action: %w", ErrExists)
	}
	m.actions[token] = a
	return nil
}

// TakeAction implements Store.
func (m *Memory) TakeAction(ctx context.Context, token string, by UserRef, now time.Time) (PendingAction, error) {
	if err := ctx.Err(); err != nil {
		return PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	if err := validateTake(token, by, now); err != nil {
		return PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.actions[token]
	if !ok {
		tomb, ok := m.tombs[token]
		switch {
		case !ok:
			return PendingAction{}, fmt.Errorf("take action: %w", ErrNotFound)
		case tomb.used:
			return PendingAction{}, fmt.Errorf("take action: %w", ErrUsed)
		default:
			return PendingAction{}, fmt.Errorf("take action: %w", ErrExpired)
		}
	}
	expired := !a.ExpiresAt.After(now)
	if !expired && !SameUser(a.Owner, by) {
		return PendingAction{}, fmt.Errorf("take action: %w", ErrNotOwner)
	}
	delete(m.actions, token)
	m.tombs[token] = memTomb{used: !expired, forgetAt: forgetAt(a.ExpiresAt)}
	if expired {
		return PendingAction{}, fmt.Errorf("take action: %w", ErrExpired)
	}
	if a.Group != "" {
		for other, o := range m.actions {
			if o.Group == a.Group && o.Owner == a.Owner {
				delete(m.actions, other)
				m.tombs[other] = memTomb{used: true, forgetAt: forgetAt(o.ExpiresAt)}
			}
		}
	}
	a.Payload = cloneBytes(a.Payload)
	a.Group = ""
	return a, nil
}

// PurgeExpired implements Store.
func (m *Memory) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("purge expired: %w", err)
	}
	if err := validateTime("now", now, false); err != nil {
		return 0, fmt.Errorf("purge expired: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for token, a := range m.actions {
		if !a.ExpiresAt.After(now) {
			delete(m.actions, token)
			if _, ok := m.tombs[token]; !ok {
				m.tombs[token] = memTomb{forgetAt: forgetAt(a.ExpiresAt)}
			}
			n++
		}
	}
	for key, exp := range m.seen {
		if !exp.After(now) {
			delete(m.seen, key)
			n++
		}
	}
	for token, tomb := range m.tombs {
		if !tomb.forgetAt.After(now) {
			delete(m.tombs, token)
			n++
		}
	}
	return n, nil
}

// SeenOnce implements Store.
func (m *Memory) SeenOnce(ctx context.Context, key string, ttl time.Duration, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("seen once: %w", err)
	}
	if err := validateSeen(key, ttl, now); err != nil {
		return false, fmt.Errorf("seen once: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp, ok := m.seen[key]; ok && exp.After(now) {
		return false, nil
	}
	m.seen[key] = normalizeTime(now.Add(ttl))
	return true, nil
}

// Close implements Store. A Memory stays usable after Close.
func (m *Memory) Close() error { return nil }
