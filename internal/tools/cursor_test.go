package tools

import (
	"container/list"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/api"
	"github.com/pmops/pmops/internal/clock"
	"github.com/pmops/pmops/internal/emulator"
)

func nextCursor(t *testing.T, res Result) string {
	t.Helper()
	switch r := res.(type) {
	case CollectionList:
		return r.NextCursor
	case EnvironmentList:
		return r.NextCursor
	case MonitorList:
		return r.NextCursor
	case WorkspaceList:
		return r.NextCursor
	case MockList:
		return r.NextCursor
	case CollectionView:
		return r.NextCursor
	}
	t.Fatalf("no cursor in %T", res)
	return ""
}

// TestCursorsAreBound: a cursor works only with the tool that issued it and the same arguments (limit aside);
// anything else is an invalid-argument error naming the tool that issues such cursors, never an internal error.
func TestCursorsAreBound(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	first := func(tool string, args map[string]any) string {
		return nextCursor(t, f.mustCall(t, tool, args))
	}
	envCursor := first("list_environments", map[string]any{"limit": 1})
	colCursor := first("list_collections", map[string]any{"limit": 1})
	wsCursor := first("list_workspaces", map[string]any{"limit": 1})
	monCursor := first("list_monitors", map[string]any{"limit": 1, "status": false})
	outline := first("get_collection", map[string]any{"collection": "Payments API", "limit": 5})
	for _, c := range []string{envCursor, colCursor, wsCursor, monCursor, outline} {
		if !strings.HasPrefix(c, cursorPrefix) {
			t.Fatalf("cursor %q is not an opaque pmops cursor", c)
		}
	}

	bad := []struct {
		name, tool string
		args       map[string]any
		want       []string
	}{
		{"garbage on list_collections", "list_collections", map[string]any{"cursor": "not-a-cursor"}, []string{"list_collections", "next_cursor"}},
		{"garbage on list_workspaces", "list_workspaces", map[string]any{"cursor": "%%%"}, []string{"list_workspaces"}},
		{"garbage on list_monitors", "list_monitors", map[string]any{"cursor": "bz0x"}, []string{"list_monitors"}},
		{"old bare offset", "list_environments", map[string]any{"cursor": "bzoyMA"}, []string{"list_environments"}},
		{"tampered", "list_environments", map[string]any{"cursor": tamper(envCursor)}, []string{"list_environments"}},
		{"foreign: environments cursor to list_collections", "list_collections", map[string]any{"cursor": envCursor}, []string{"issued by list_environments", "list_collections"}},
		{"foreign: collections cursor to list_monitors", "list_monitors", map[string]any{"cursor": colCursor, "status": false}, []string{"issued by list_collections", "list_monitors"}},
		{"foreign: outline cursor to list_mocks", "list_mocks", map[string]any{"cursor": outline}, []string{"issued by get_collection", "list_mocks"}},
		{"other arguments", "list_collections", map[string]any{"cursor": colCursor, "workspace": "Payments Platform"}, []string{"other arguments", "list_collections"}},
		{"outline of another collection", "get_collection", map[string]any{"collection": "Orders API", "cursor": outline}, []string{"other arguments"}},
		{"outline at another depth", "get_collection", map[string]any{"collection": "Payments API", "depth": 2, "cursor": outline}, []string{"other arguments"}},
		{"huge garbage", "list_collections", map[string]any{"cursor": strings.Repeat("x", 1<<20)}, []string{"list_collections", "bytes)"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.call(t, tc.tool, tc.args)
			te, ok := AsError(err)
			if !ok || te.Kind != KindInvalid {
				t.Fatalf("err = %v, want an invalid_argument tools.Error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(te.Error(), w) {
					t.Errorf("error %q lacks %q", te.Error(), w)
				}
			}
			if len(te.Error()) > 1000 {
				t.Errorf("error is %d bytes", len(te.Error()))
			}
		})
	}

	// The same call goes on, and the page size may change between pages.
	for _, tc := range []struct {
		tool   string
		args   map[string]any
		cursor string
	}{
		{"list_environments", map[string]any{"limit": 2}, envCursor},
		{"list_collections", map[string]any{"limit": 3}, colCursor},
		{"list_workspaces", map[string]any{"limit": 1}, wsCursor},
		{"list_monitors", map[string]any{"limit": 2, "status": false}, monCursor},
		{"get_collection", map[string]any{"collection": "Payments API", "limit": 7}, outline},
	} {
		tc.args["cursor"] = tc.cursor
		if _, err := f.call(t, tc.tool, tc.args); err != nil {
			t.Errorf("%s with its own cursor: %v", tc.tool, err)
		}
	}
}

// TestOutlineSnapshotPaging: the pages of a 4,000-request outline come from the snapshot the first page read,
// so reading all of it costs one download; an expired snapshot costs one more; a changed collection is said so.
func TestOutlineSnapshotPaging(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	f := newFixture(t, emulator.Options{Clock: clk})
	f.env.Now = clk.Now
	outlines.reset()
	t.Cleanup(outlines.reset)
	uid, err := f.emu.AddGeneratedCollection(emulator.DemoKey, "", "Generated 4000", 4000)
	if err != nil {
		t.Fatal(err)
	}
	page := func(cursor string, limit int) (CollectionView, error) {
		args := map[string]any{"collection": uid, "limit": limit}
		if cursor != "" {
			args["cursor"] = cursor
		}
		res, err := f.call(t, "get_collection", args)
		if err != nil {
			return CollectionView{}, err
		}
		return res.(CollectionView), nil
	}

	t.Run("all pages, one download", func(t *testing.T) {
		rows, pages := 0, 0
		seen := map[string]bool{}
		calls := f.requests(func() {
			cursor := ""
			for {
				v, err := page(cursor, 100)
				if err != nil {
					t.Fatalf("page %d: %v", pages+1, err)
				}
				pages++
				rows += len(v.Items)
				for _, r := range v.Items {
					seen[r.Path+"/"+r.Name] = true
				}
				if cursor = v.NextCursor; cursor == "" {
					break
				}
			}
		})
		// 8 groups + 80 folders + 4,000 requests, all within the default depth.
		if rows != 4088 || len(seen) != 4088 || pages != 41 {
			t.Errorf("read %d rows (%d distinct) in %d pages, want 4088 in 41", rows, len(seen), pages)
		}
		if calls != 1 {
			t.Errorf("41 pages cost %d API calls, want 1", calls)
		}
	})

	t.Run("one row a page", func(t *testing.T) {
		calls := f.requests(func() {
			cursor := ""
			for i := range 100 {
				v, err := page(cursor, 1)
				if err != nil || v.NextCursor == "" {
					t.Fatalf("page %d: %v", i+1, err)
				}
				cursor = v.NextCursor
			}
		})
		if calls != 1 {
			t.Errorf("100 pages cost %d API calls, want 1", calls)
		}
	})

	t.Run("expired snapshot is read once more", func(t *testing.T) {
		v, _ := page("", 100)
		clk.Advance(outlineTTL + time.Minute)
		var next CollectionView
		var err error
		calls := f.requests(func() {
			next, err = page(v.NextCursor, 100)
			if err == nil {
				_, err = page(next.NextCursor, 100)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Errorf("two pages after expiry cost %d calls, want 1", calls)
		}
		if next.Items[0].Name == v.Items[0].Name {
			t.Errorf("the page after expiry starts over at %q", next.Items[0].Name)
		}
	})

	t.Run("changed collection", func(t *testing.T) {
		v, _ := page("", 100)
		clk.Advance(time.Second)
		f.mustCall(t, "update_collection", map[string]any{"collection": uid, "description": "changed"})
		// While the snapshot is cached, its pages still come from it.
		if _, err := page(v.NextCursor, 100); err != nil {
			t.Fatalf("cached snapshot: %v", err)
		}
		clk.Advance(outlineTTL + time.Minute)
		_, err := page(v.NextCursor, 100)
		te, ok := AsError(err)
		if !ok || te.Kind != KindConflict || !strings.Contains(te.Error(), "changed") || !strings.Contains(te.Error(), "without cursor") {
			t.Fatalf("err = %v, want a conflict saying the collection changed", err)
		}
	})
}

func TestOutlineCacheBounds(t *testing.T) {
	c := &outlineCache{byKey: map[outlineKey]*list.Element{}}
	now := time.Unix(0, 0)
	mk := func(n int) *api.Outline {
		o := &api.Outline{}
		o.Item = make([]api.OutlineItem, n)
		return o
	}
	for i := range outlineMaxKeep + 5 {
		c.put(outlineKey{uid: string(rune('a' + i)), version: "v"}, mk(10), now)
	}
	if c.lru.Len() != outlineMaxKeep {
		t.Errorf("%d snapshots kept, want %d", c.lru.Len(), outlineMaxKeep)
	}
	if c.get(outlineKey{uid: "a", version: "v"}, now) != nil {
		t.Error("the least recently used snapshot was kept")
	}
	c.put(outlineKey{uid: "big", version: "v"}, mk(outlineMaxItems-5), now)
	if c.items > outlineMaxItems {
		t.Errorf("%d items cached, bound %d", c.items, outlineMaxItems)
	}
	if c.get(outlineKey{uid: "big", version: "v"}, now) == nil {
		t.Error("the newest snapshot was evicted")
	}
	c.put(outlineKey{uid: "huge", version: "v"}, mk(outlineMaxItems+1), now)
	if c.get(outlineKey{uid: "huge", version: "v"}, now) != nil {
		t.Error("a snapshot bigger than the cache was kept")
	}
	if c.get(outlineKey{uid: "big", version: "v"}, now.Add(outlineTTL)) != nil {
		t.Error("an expired snapshot was served")
	}
}

// tamper changes one character in the middle of a cursor.
func tamper(c string) string {
	i := len(c) / 2
	r := byte('A')
	if c[i] == 'A' {
		r = 'B'
	}
	return c[:i] + string(r) + c[i+1:]
}

// FuzzDecodeCursor: a cursor is outside input. Decoding never panics, fails only with an invalid-argument error,
// and accepts only what EncodeCursor would have produced for this tool and these arguments.
func FuzzDecodeCursor(f *testing.F) {
	bind := map[string]any{"workspace": "w"}
	f.Add(EncodeCursor("list_collections", bind, Cursor{Pos: "o:50"}))
	f.Add(EncodeCursor("get_collection", bind, Cursor{Pos: "x", Version: "v", Ref: "1-abc"}))
	f.Add(EncodeCursor("list_environments", map[string]any{}, Cursor{}))
	f.Add("pc1.")
	f.Add("pc1.AAAAAAAAAAAAAAAAAAAA")
	f.Add("bzoyMA")
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := DecodeCursor("list_collections", bind, raw)
		if err != nil {
			if te, ok := AsError(err); !ok || te.Kind != KindInvalid || len(te.Error()) > 1000 {
				t.Fatalf("err = %v", err)
			}
			return
		}
		if strings.TrimSpace(raw) == "" {
			return
		}
		if again := EncodeCursor("list_collections", bind, c); again != strings.TrimSpace(raw) {
			t.Fatalf("accepted %q, which encodes as %q", raw, again)
		}
	})
}
