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
	actions map[string]memAction
	seen    map[string]time.Time // key -> expires at
}

type memLink struct {
	sealed []byte
	meta   LinkMeta
}

type memAction struct {
	action PendingAction
	used   bool
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory Store.
func NewMemory() *Memory {
	return &Memory{
		links:   make(map[UserRef]memLink),
		actions: make(map[string]memAction),
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
	if _, ok := m.actions[token]; ok {
		return fmt.Errorf("put action: %w", ErrExists)
	}
	m.actions[token] = memAction{action: a}
	return nil
}

// TakeAction implements Store.
func (m *Memory) TakeAction(ctx context.Context, token string, now time.Time) (PendingAction, error) {
	if err := ctx.Err(); err != nil {
		return PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	if err := validateKey("action token", token); err != nil {
		return PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	if err := validateTime("now", now, false); err != nil {
		return PendingAction{}, fmt.Errorf("take action: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.actions[token]
	switch {
	case !ok:
		return PendingAction{}, fmt.Errorf("take action: %w", ErrNotFound)
	case e.used:
		return PendingAction{}, fmt.Errorf("take action: %w", ErrUsed)
	case !e.action.ExpiresAt.After(now):
		return PendingAction{}, fmt.Errorf("take action: %w", ErrExpired)
	}
	e.used = true
	m.actions[token] = e
	a := e.action
	a.Payload = cloneBytes(a.Payload)
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
	for token, e := range m.actions {
		if !e.action.ExpiresAt.After(now) {
			delete(m.actions, token)
			n++
		}
	}
	for key, exp := range m.seen {
		if !exp.After(now) {
			delete(m.seen, key)
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
