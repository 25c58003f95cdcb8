package tools

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// Cursor is what a next_cursor carries from one call of a tool to the next. Tools rarely build one: define()
// binds every `cursor` argument and every NextCursor result field to the tool and its arguments by itself, and
// hands the handler only Pos (in its cursor argument). A handler that pages a snapshot uses CursorIn and
// KeepInCursor for Version and Ref.
type Cursor struct {
	Pos     string // where the next page starts: an offset (localPage) or the vendor's own cursor
	Version string // the snapshot the pages come from (a collection's updatedAt); "" when none
	Ref     string // the resource the first page resolved its argument to, so later pages skip resolving
}

type cursorWire struct {
	Tool    string `json:"t"`
	Args    string `json:"a"`
	Pos     string `json:"p,omitempty"`
	Version string `json:"v,omitempty"`
	Ref     string `json:"r,omitempty"`
	Sum     string `json:"s"`
}

const cursorPrefix = "pc1."

func (w cursorWire) sum() string {
	h := sha256.Sum256([]byte(strings.Join([]string{"pmops-cursor", w.Tool, w.Args, w.Pos, w.Version, w.Ref}, "\x00")))
	return hex.EncodeToString(h[:6])
}

// bindHash is the fingerprint of the arguments a cursor is bound to.
func bindHash(bind any) string {
	b, err := json.Marshal(bind)
	if err != nil {
		b = []byte(fmt.Sprintf("%#v", bind))
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// EncodeCursor makes the opaque next_cursor tool returns for c, bound to the tool's name and to bind: the
// arguments that must stay the same from page to page (anything JSON-encodable; leave out cursor and limit).
func EncodeCursor(tool string, bind any, c Cursor) string {
	w := cursorWire{Tool: tool, Args: bindHash(bind), Pos: c.Pos, Version: c.Version, Ref: c.Ref}
	w.Sum = w.sum()
	b, _ := json.Marshal(w)
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor a caller passed back to tool with arguments bind (as given to EncodeCursor). ""
// is the first page (a zero Cursor). A cursor that is not pmops's, was issued by another tool, or for other
// arguments is an invalid-argument *Error that names the tool issuing such cursors and says what to do.
func DecodeCursor(tool string, bind any, raw string) (Cursor, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Cursor{}, nil
	}
	var w cursorWire
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(raw, cursorPrefix))
	if err != nil || !strings.HasPrefix(raw, cursorPrefix) || json.Unmarshal(b, &w) != nil || w.Sum != w.sum() {
		return Cursor{}, Invalid(fmt.Sprintf("cursor %s is not a next_cursor from %s; pass the next_cursor of a previous %s call unchanged, or omit cursor to start over",
			EchoQ(raw), tool, tool))
	}
	if w.Tool != tool {
		return Cursor{}, Invalid(fmt.Sprintf("this cursor was issued by %s, not %s; %s takes only the next_cursor of a previous %s call (or no cursor, to start over)",
			Echo(w.Tool), tool, tool, tool))
	}
	if w.Args != bindHash(bind) {
		return Cursor{}, Invalid(fmt.Sprintf("this cursor belongs to a %s call with other arguments; repeat that call's arguments (only limit may change), or omit cursor to start over", tool))
	}
	return Cursor{Pos: w.Pos, Version: w.Version, Ref: w.Ref}, nil
}

// callState is what define() keeps for one tool call in its context.
type callState struct {
	tool     string
	readOnly bool

	mu       sync.Mutex
	resolved []string
	in       Cursor
	keep     Cursor
}

type stateKey struct{}

func stateOf(ctx context.Context) *callState {
	if ctx == nil {
		return nil
	}
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

// CursorIn returns the cursor the current tool call was given, decoded; zero on a first page.
func CursorIn(ctx context.Context) Cursor {
	if st := stateOf(ctx); st != nil {
		return st.in
	}
	return Cursor{}
}

// KeepInCursor records the snapshot version and resolved resource that this call's next_cursor must carry, so
// the next page can be served from the same snapshot without resolving the name again.
func KeepInCursor(ctx context.Context, version, ref string) {
	if st := stateOf(ctx); st != nil {
		st.mu.Lock()
		st.keep.Version, st.keep.Ref = version, ref
		st.mu.Unlock()
	}
}

// noteResolved records, inside a read-only tool, that a name resolved to something other than itself; define()
// puts it in the result's Resolved field.
func noteResolved(ctx context.Context, kind, query string, r ref) {
	st := stateOf(ctx)
	if st == nil || !st.readOnly {
		return
	}
	st.mu.Lock()
	st.resolved = append(st.resolved, fmt.Sprintf("%s %s → %s", kind, EchoQ(query), Resolved{Name: r.Name, ID: idOf(r)}.label()))
	st.mu.Unlock()
}

// pagingOf finds the `cursor` argument of an argument struct, and the arguments a cursor is bound to: all but
// cursor and limit.
func pagingOf(args reflect.Value) (cursor reflect.Value, bind map[string]any, ok bool) {
	if args.Kind() != reflect.Struct {
		return reflect.Value{}, nil, false
	}
	t := args.Type()
	bind = map[string]any{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "cursor":
			if f.Type.Kind() == reflect.String {
				cursor, ok = args.Field(i), true
			}
		case "limit", "-":
		default:
			if f.IsExported() {
				bind[name] = args.Field(i).Interface()
			}
		}
	}
	return cursor, bind, ok
}

// stringField returns the settable string field name of a result struct, if it has one.
func stringField(v reflect.Value, name string) (reflect.Value, bool) {
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	f := v.FieldByName(name)
	if !f.IsValid() || f.Kind() != reflect.String || !f.CanSet() {
		return reflect.Value{}, false
	}
	return f, true
}
