package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"iter"
	"strconv"
	"strings"
)

// Postman pages three ways: GET /collections by limit/offset with meta.total, GET /workspaces by cursor with
// meta.nextCursor, GET /monitors by cursor with meta.nextCursor that is "" or null at the end. This file hides
// the difference behind one opaque cursor string and one Pager.

// Page is one page of a listing.
type Page[T any] struct {
	Items []T
	// Next is the opaque cursor of the following page; "" when this is the last one.
	Next string
	// Total is the size of the whole listing when the API says so (collections), else nil.
	Total *int
}

// A cursor is base64url("<listing>:<position>"): position is an offset for collections and the vendor's cursor
// for the others. The listing name stops a cursor from one listing being replayed against another.
const (
	listingCollections = "collections"
	listingWorkspaces  = "workspaces"
	listingMonitors    = "monitors"
)

func encodeCursor(listing, position string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(listing + ":" + position))
}

func decodeCursor(listing, cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", fmt.Errorf("cursor %q is not one this client issued; pass the Next cursor of a previous %s page or none", cursor, listing)
	}
	got, pos, ok := strings.Cut(string(raw), ":")
	if !ok || got != listing || pos == "" {
		return "", fmt.Errorf("cursor %q does not belong to the %s listing; pass the Next cursor of a previous %s page or none", cursor, listing, listing)
	}
	return pos, nil
}

func offsetFromCursor(cursor string) (int, error) {
	pos, err := decodeCursor(listingCollections, cursor)
	if err != nil || pos == "" {
		return 0, err
	}
	n, err := strconv.Atoi(pos)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("cursor %q does not hold a valid offset; pass the Next cursor of a previous collections page or none", cursor)
	}
	return n, nil
}

// cursorMeta is the meta block of the cursor-paginated listings. nextCursor is a string, "" or null.
type cursorMeta struct {
	NextCursor *string `json:"nextCursor"`
	Limit      int     `json:"limit,omitempty"`
}

// next turns the vendor's nextCursor into our cursor; sent is the vendor cursor of the page just read, so a
// server repeating it cannot loop a Pager forever.
func (m *cursorMeta) next(listing, sent string) string {
	if m == nil || m.NextCursor == nil || *m.NextCursor == "" || *m.NextCursor == sent {
		return ""
	}
	return encodeCursor(listing, *m.NextCursor)
}

// PageFunc fetches the page at cursor holding at most limit items (0: the endpoint's maximum).
type PageFunc[T any] func(ctx context.Context, cursor string, limit int) (Page[T], error)

// Bound limits how much a Pager reads. Zero fields are unbounded, except that a Bound with neither MaxItems nor
// MaxPages reads at most DefaultMaxPages pages.
type Bound struct {
	// MaxItems stops after this many items; pages are requested no larger than what is still wanted.
	MaxItems int
	// MaxPages stops after this many requests.
	MaxPages int
	// PageSize is the page size to ask for; 0 means the endpoint's maximum.
	PageSize int
}

// DefaultMaxPages bounds a Pager whose Bound sets neither MaxItems nor MaxPages.
const DefaultMaxPages = 100

// Pager walks a listing page by page within a Bound.
type Pager[T any] struct {
	fetch  PageFunc[T]
	bound  Bound
	cursor string
	pages  int
	items  int
	done   bool
	total  *int
}

// NewPager returns a Pager that starts at cursor ("" for the first page).
func NewPager[T any](fetch PageFunc[T], cursor string, b Bound) *Pager[T] {
	if b.MaxItems <= 0 && b.MaxPages <= 0 {
		b.MaxPages = DefaultMaxPages
	}
	return &Pager[T]{fetch: fetch, bound: b, cursor: cursor}
}

// Next returns the next page's items. After Done it returns nil, nil. An error leaves the Pager where it was,
// so Next can be called again.
func (p *Pager[T]) Next(ctx context.Context) ([]T, error) {
	if p.done {
		return nil, nil
	}
	limit := max(p.bound.PageSize, 0)
	remaining := 0
	if p.bound.MaxItems > 0 {
		remaining = p.bound.MaxItems - p.items
		if limit == 0 || limit > remaining {
			limit = remaining
		}
	}
	page, err := p.fetch(ctx, p.cursor, limit)
	if err != nil {
		return nil, err
	}
	items := page.Items
	if p.bound.MaxItems > 0 && len(items) > remaining {
		items = items[:remaining] // the server sent more than asked; the rest is dropped
	}
	p.pages++
	p.items += len(items)
	p.cursor = page.Next
	if page.Total != nil {
		p.total = page.Total
	}
	if page.Next == "" || len(page.Items) == 0 ||
		(p.bound.MaxItems > 0 && p.items >= p.bound.MaxItems) ||
		(p.bound.MaxPages > 0 && p.pages >= p.bound.MaxPages) {
		p.done = true
	}
	if len(page.Items) == 0 {
		p.cursor = ""
	}
	return items, nil
}

// Done reports whether Next has nothing more to return: the listing ended or the Bound was reached.
func (p *Pager[T]) Done() bool { return p.done }

// Cursor is where a later Pager would resume: "" when the listing is exhausted, otherwise the cursor of the
// first page not yet read.
func (p *Pager[T]) Cursor() string { return p.cursor }

// Total is the listing's size when the API reported it.
func (p *Pager[T]) Total() *int { return p.total }

// All yields every item within the Bound. After an error it yields the error once and stops.
func (p *Pager[T]) All(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for !p.done {
			items, err := p.Next(ctx)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}

// Collect reads the rest of the listing within the Bound. On error it returns the items read so far.
func Collect[T any](ctx context.Context, p *Pager[T]) ([]T, error) {
	var out []T
	for !p.done {
		items, err := p.Next(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, items...)
	}
	return out, nil
}
