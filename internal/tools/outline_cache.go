package tools

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
	"time"
	"weak"

	"github.com/pmops/pmops/internal/api"
)

// Outline snapshots: the first get_collection page downloads and decodes the collection once; its next_cursor
// names the snapshot (the collection's updatedAt), and later pages are cut from the decoded outline kept here,
// so a 4,000-request collection read 100 rows at a time costs one download, not 41.
const (
	outlineTTL      = 10 * time.Minute
	outlineMaxItems = 60_000 // folders and requests over all cached snapshots
	outlineMaxKeep  = 16     // snapshots
)

// outlineKey names one snapshot as one API key saw it: a snapshot read with one key is never served to another
// (the weak pointer differs per client and never matches a later client at the same address).
type outlineKey struct {
	client  weak.Pointer[api.Client]
	uid     string
	version string
}

type outlineEntry struct {
	key     outlineKey
	outline *api.Outline
	items   int
	expires time.Time
}

type outlineCache struct {
	mu    sync.Mutex
	byKey map[outlineKey]*list.Element
	lru   list.List // front: most recently used
	items int
}

var outlines = &outlineCache{byKey: map[outlineKey]*list.Element{}}

func (c *outlineCache) get(k outlineKey, now time.Time) *api.Outline {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[k]
	if !ok {
		return nil
	}
	e := el.Value.(*outlineEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		return nil
	}
	c.lru.MoveToFront(el)
	return e.outline
}

func (c *outlineCache) put(k outlineKey, o *api.Outline, now time.Time) {
	n := countOutlineItems(o.Item)
	if n > outlineMaxItems {
		return // bigger than the whole cache: later pages download again
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[k]; ok {
		c.remove(el)
	}
	for el := c.lru.Back(); el != nil && (c.items+n > outlineMaxItems || c.lru.Len() >= outlineMaxKeep); el = c.lru.Back() {
		c.remove(el)
	}
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		if !now.Before(el.Value.(*outlineEntry).expires) {
			c.remove(el)
		}
		el = next
	}
	c.byKey[k] = c.lru.PushFront(&outlineEntry{key: k, outline: o, items: n, expires: now.Add(outlineTTL)})
	c.items += n
}

func (c *outlineCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*outlineEntry)
	delete(c.byKey, e.key)
	c.items -= e.items
}

func (c *outlineCache) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byKey = map[outlineKey]*list.Element{}
	c.lru.Init()
	c.items = 0
}

func countOutlineItems(items []api.OutlineItem) int {
	n := len(items)
	for i := range items {
		n += countOutlineItems(items[i].Item)
	}
	return n
}

// outlineSnapshot returns the outline of collection uid. want is the snapshot a cursor was issued for ("" on a
// first page, which always reads the collection afresh). A snapshot still cached costs nothing; an expired one
// is downloaded once more, and if the collection changed meanwhile the caller is told to start over.
func outlineSnapshot(ctx context.Context, env *Env, uid, want string) (*api.Outline, error) {
	key := outlineKey{client: weak.Make(env.Client), uid: uid, version: want}
	if want != "" {
		if o := outlines.get(key, env.now()); o != nil {
			return o, nil
		}
	}
	o, err := env.Client.GetCollectionOutline(ctx, uid)
	if err != nil {
		return nil, fmt.Errorf("get collection %s: %w", uid, err)
	}
	key.version = outlineVersion(o)
	if key.version != "" {
		outlines.put(key, o, env.now())
	}
	if want != "" && key.version != want {
		return nil, &Error{Kind: KindConflict,
			Message: fmt.Sprintf("collection %s changed after this cursor was issued (it was updated at %s)", Echo(o.Info.Name), Echo(o.Info.UpdatedAt)),
			Hint:    "call get_collection without cursor to read the current outline from the start"}
	}
	return o, nil
}

// outlineVersion names the snapshot an outline was read from, compactly (it travels in every next_cursor): a
// short hash of the collection's updatedAt; "" when Postman gave none, and then nothing is cached.
func outlineVersion(o *api.Outline) string {
	if o.Info.UpdatedAt == "" {
		return ""
	}
	h := sha256.Sum256([]byte(o.Info.UpdatedAt))
	return base64.RawURLEncoding.EncodeToString(h[:6])
}
