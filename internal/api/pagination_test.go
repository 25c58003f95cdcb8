package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeCollections serves GET /collections over n collections in the limit/offset style.
func fakeCollections(t *testing.T, n int, log *[]string) *Client {
	var mu sync.Mutex
	return newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		*log = append(*log, q.Encode())
		mu.Unlock()
		limit, _ := strconv.Atoi(q.Get("limit"))
		offset, _ := strconv.Atoi(q.Get("offset"))
		var items []string
		for i := offset; i < n && i < offset+limit; i++ {
			items = append(items, fmt.Sprintf(`{"id":"c%d","name":"C%d","owner":"1","uid":"1-c%d","isPublic":false}`, i, i, i))
		}
		fmt.Fprintf(w, `{"collections":[%s],"meta":{"total":%d,"offset":%d,"limit":%d}}`, strings.Join(items, ","), n, offset, limit)
	})
}

func ids[T any](items []T, id func(T) string) string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = id(it)
	}
	return strings.Join(out, ",")
}

func collectionIDs(items []CollectionSummary) string {
	return ids(items, func(c CollectionSummary) string { return c.ID })
}

func TestCollectionsOffsetPaging(t *testing.T) {
	var log []string
	c := fakeCollections(t, 23, &log)
	ctx := t.Context()

	p := c.CollectionsPager(ListCollectionsOptions{}, "", Bound{PageSize: 10, MaxPages: 10})
	all, err := Collect(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 23 || all[22].ID != "c22" || !p.Done() || p.Cursor() != "" || p.Total() == nil || *p.Total() != 23 {
		t.Fatalf("got %d items, done=%v cursor=%q total=%v", len(all), p.Done(), p.Cursor(), p.Total())
	}
	if got := strings.Join(log, " "); got != "limit=10&offset=0 limit=10&offset=10 limit=10&offset=20" {
		t.Errorf("requests: %s", got)
	}

	// MaxItems asks for no more than it needs and leaves an exact resume cursor.
	log = nil
	p = c.CollectionsPager(ListCollectionsOptions{}, "", Bound{PageSize: 10, MaxItems: 15})
	first, err := Collect(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if collectionIDs(first) != "c0,c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,c14" || p.Cursor() == "" {
		t.Fatalf("first = %s cursor %q", collectionIDs(first), p.Cursor())
	}
	if got := strings.Join(log, " "); got != "limit=10&offset=0 limit=5&offset=10" {
		t.Errorf("requests: %s", got)
	}
	rest, err := Collect(ctx, c.CollectionsPager(ListCollectionsOptions{}, p.Cursor(), Bound{MaxItems: 100}))
	if err != nil {
		t.Fatal(err)
	}
	if collectionIDs(rest) != "c15,c16,c17,c18,c19,c20,c21,c22" {
		t.Errorf("resumed = %s", collectionIDs(rest))
	}

	// MaxPages stops after that many requests.
	p = c.CollectionsPager(ListCollectionsOptions{}, "", Bound{PageSize: 5, MaxPages: 2})
	two, _ := Collect(ctx, p)
	if len(two) != 10 || !p.Done() {
		t.Errorf("got %d items", len(two))
	}
	if off, _ := offsetFromCursor(p.Cursor()); off != 10 {
		t.Errorf("resume offset %d, want 10", off)
	}
}

func TestCollectionsWithoutMetaIsOnePage(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"collections":[{"id":"a","name":"A","owner":"1","uid":"1-a","isPublic":true}]}`)
	})
	page, err := c.ListCollectionsPage(t.Context(), ListCollectionsOptions{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Next != "" || page.Total != nil {
		t.Errorf("got %+v", page)
	}
}

// fakeCursorListing serves a cursor-paginated listing: pages[i] is reached with cursor "p<i>" ("" for p0).
// end decides how the last page says it is the last.
func fakeCursorListing(t *testing.T, key string, pages [][]string, end string, log *[]string) *Client {
	return newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		*log = append(*log, q.Encode())
		i := 0
		if cur := q.Get("cursor"); cur != "" {
			i, _ = strconv.Atoi(strings.TrimPrefix(cur, "p"))
		}
		var items []string
		for _, id := range pages[i] {
			items = append(items, fmt.Sprintf(`{"id":%q,"name":%q,"type":"team","active":true,"uid":"1-%s","owner":1}`, id, id, id))
		}
		meta := fmt.Sprintf(`,"meta":{"nextCursor":"p%d","limit":25}`, i+1)
		if i == len(pages)-1 {
			switch end {
			case "empty":
				meta = `,"meta":{"nextCursor":"","limit":25}`
			case "null":
				meta = `,"meta":{"nextCursor":null,"limit":25}`
			case "absent":
				meta = ""
			case "repeat":
				meta = fmt.Sprintf(`,"meta":{"nextCursor":"p%d"}`, i)
			}
		}
		fmt.Fprintf(w, `{%q:[%s]%s}`, key, strings.Join(items, ","), meta)
	})
}

func TestMonitorsCursorEnds(t *testing.T) {
	pages := [][]string{{"a", "b"}, {"c", "d"}, {"e"}}
	for _, end := range []string{"empty", "null", "absent", "repeat"} {
		t.Run(end, func(t *testing.T) {
			var log []string
			c := fakeCursorListing(t, "monitors", pages, end, &log)
			p := c.MonitorsPager(ListMonitorsOptions{Workspace: "w"}, "", Bound{MaxPages: 10})
			all, err := Collect(t.Context(), p)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(all, func(m MonitorSummary) string { return m.ID }); got != "a,b,c,d,e" {
				t.Errorf("items %s", got)
			}
			if !p.Done() || p.Cursor() != "" {
				t.Errorf("done=%v cursor=%q", p.Done(), p.Cursor())
			}
			want := "limit=25&workspace=w cursor=p1&limit=25&workspace=w cursor=p2&limit=25&workspace=w"
			if got := strings.Join(log, " "); got != want {
				t.Errorf("requests:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestWorkspacesCursorAndBound(t *testing.T) {
	var log []string
	c := fakeCursorListing(t, "workspaces", [][]string{{"a", "b"}, {"c", "d"}, {"e", "f"}}, "absent", &log)
	p := c.WorkspacesPager(ListWorkspacesOptions{}, "", Bound{MaxItems: 3, PageSize: 2})
	got, err := Collect(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if ids(got, func(w WorkspaceSummary) string { return w.ID }) != "a,b,c" || !p.Done() {
		t.Fatalf("got %v", got)
	}
	// The second request asked for only the one item still wanted.
	if strings.Join(log, " ") != "limit=2 cursor=p1&limit=1" {
		t.Errorf("requests: %v", log)
	}
	// The fake ignores limit and sent two; the pager kept one and resumes at the page after.
	if cur, _ := decodeCursor(listingWorkspaces, p.Cursor()); cur != "p2" {
		t.Errorf("resume cursor %q", cur)
	}
}

func TestPagerBounds(t *testing.T) {
	calls := 0
	endless := func(_ context.Context, cursor string, limit int) (Page[int], error) {
		calls++
		n, _ := strconv.Atoi(cursor)
		return Page[int]{Items: []int{n}, Next: strconv.Itoa(n + 1)}, nil
	}
	p := NewPager(endless, "", Bound{})
	all, _ := Collect(context.Background(), p)
	if len(all) != DefaultMaxPages || calls != DefaultMaxPages || p.Cursor() != strconv.Itoa(DefaultMaxPages) {
		t.Errorf("unbounded pager read %d items in %d calls, cursor %q", len(all), calls, p.Cursor())
	}

	// All stops when the consumer stops.
	calls = 0
	p = NewPager(endless, "", Bound{MaxItems: 50})
	n := 0
	for v, err := range p.All(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; v == 4 {
			break
		}
	}
	if n != 5 || calls != 5 {
		t.Errorf("consumed %d in %d calls", n, calls)
	}

	// An error is yielded once and the pager stays where it was, so it can be retried.
	fail := true
	flaky := func(ctx context.Context, cursor string, limit int) (Page[int], error) {
		if cursor == "1" && fail {
			fail = false
			return Page[int]{}, errors.New("transient")
		}
		return endless(ctx, cursor, limit)
	}
	p = NewPager(flaky, "", Bound{MaxItems: 3})
	var errs int
	var got []int
	for v, err := range p.All(context.Background()) {
		if err != nil {
			errs++
			continue
		}
		got = append(got, v)
	}
	if errs != 1 || len(got) != 1 || p.Done() || p.Cursor() != "1" {
		t.Fatalf("errs=%d got=%v done=%v cursor=%q", errs, got, p.Done(), p.Cursor())
	}
	rest, err := Collect(context.Background(), p)
	if err != nil || len(rest) != 2 || rest[0] != 1 {
		t.Errorf("retry got %v, %v", rest, err)
	}

	// An empty page ends the listing even if the server offers a next cursor.
	p = NewPager(func(context.Context, string, int) (Page[int], error) { return Page[int]{Next: "x"}, nil }, "", Bound{MaxPages: 5})
	if _, err := Collect(context.Background(), p); err != nil || !p.Done() || p.Cursor() != "" {
		t.Errorf("empty page: done=%v cursor=%q", p.Done(), p.Cursor())
	}
}

func TestCursorEncoding(t *testing.T) {
	c := encodeCursor(listingMonitors, "abc:def==")
	if pos, err := decodeCursor(listingMonitors, c); err != nil || pos != "abc:def==" {
		t.Errorf("round trip: %q %v", pos, err)
	}
	if _, err := decodeCursor(listingWorkspaces, c); err == nil {
		t.Error("a monitors cursor must not be accepted for workspaces")
	}
	if _, err := offsetFromCursor(encodeCursor(listingCollections, "-3")); err == nil {
		t.Error("negative offset accepted")
	}
	if pos, err := decodeCursor(listingMonitors, ""); err != nil || pos != "" {
		t.Error("empty cursor is the first page")
	}
}
