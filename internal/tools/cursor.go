package tools

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
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

// A cursor on the wire is "pc1." + base64url(args[6] sum[6] tool NUL pos NUL version NUL ref): args is a hash of
// the bound arguments, sum a checksum over everything else, so a cut, altered or made-up cursor is recognised.
const cursorPrefix = "pc1."

func cursorSum(argsHash []byte, fields ...string) []byte {
	h := sha256.New()
	h.Write([]byte("pmops-cursor\x00"))
	h.Write(argsHash)
	for _, f := range fields {
		h.Write([]byte{0})
		h.Write([]byte(f))
	}
	return h.Sum(nil)[:6]
}

// bindHash is the fingerprint of the arguments a cursor is bound to.
func bindHash(bind any) []byte {
	b, err := json.Marshal(bind)
	if err != nil {
		b = []byte(fmt.Sprintf("%#v", bind))
	}
	h := sha256.Sum256(b)
	return h[:6]
}

// EncodeCursor makes the opaque next_cursor tool returns for c, bound to the tool's name and to bind: the
// arguments that must stay the same from page to page (anything JSON-encodable; leave out cursor and limit).
func EncodeCursor(tool string, bind any, c Cursor) string {
	a := bindHash(bind)
	fields := []string{tool, c.Pos, c.Version, c.Ref}
	buf := append(append(append([]byte{}, a...), cursorSum(a, fields...)...), strings.Join(fields, "\x00")...)
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(buf)
}

// DecodeCursor reads a cursor a caller passed back to tool with arguments bind (as given to EncodeCursor). ""
// is the first page (a zero Cursor). A cursor that is not pmops's, was issued by another tool, or for other
// arguments is an invalid-argument *Error that names the tool issuing such cursors and says what to do.
func DecodeCursor(tool string, bind any, raw string) (Cursor, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Cursor{}, nil
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(strings.TrimPrefix(raw, cursorPrefix))
	var fields []string
	if err == nil && strings.HasPrefix(raw, cursorPrefix) && !strings.ContainsAny(raw, "\r\n") && len(b) > 12 {
		fields = strings.Split(string(b[12:]), "\x00")
	}
	if len(fields) != 4 || !bytes.Equal(b[6:12], cursorSum(b[:6], fields...)) {
		return Cursor{}, Invalid(fmt.Sprintf("cursor %s is not a next_cursor from %s; pass the next_cursor of a previous %s call unchanged, or omit cursor to start over",
			EchoQ(raw), tool, tool))
	}
	if fields[0] != tool {
		return Cursor{}, Invalid(fmt.Sprintf("this cursor was issued by %s, not %s; %s takes only the next_cursor of a previous %s call (or no cursor, to start over)",
			Echo(fields[0]), tool, tool, tool))
	}
	if !bytes.Equal(b[:6], bindHash(bind)) {
		return Cursor{}, Invalid(fmt.Sprintf("this cursor belongs to a %s call with other arguments; repeat that call's arguments (only limit may change), or omit cursor to start over", tool))
	}
	return Cursor{Pos: fields[1], Version: fields[2], Ref: fields[3]}, nil
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
