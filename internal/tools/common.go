package tools

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pmops/pmops/internal/lazyre"
)

// Page is every list result: one uniform cursor whatever pagination style Postman uses underneath.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
	Total      int    `json:"total,omitempty"`
	// Resolved says what a forgivingly matched name (a workspace filter) resolved to; see Mode.
	Resolved string `json:"resolved,omitempty" schema:"-"`
}

// localPage cuts one page out of a list Postman returns whole; the cursor is an opaque offset.
func localPage[T any](all []T, cursor string, limit int) (Page[T], error) {
	off, err := decodeOffset(cursor)
	if err != nil {
		return Page[T]{}, err
	}
	if off > len(all) {
		off = len(all)
	}
	end := min(off+limit, len(all))
	p := Page[T]{Items: all[off:end], Total: len(all)}
	if p.Items == nil {
		p.Items = []T{}
	}
	if end < len(all) {
		p.NextCursor = encodeOffset(end)
	}
	return p, nil
}

func encodeOffset(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(n)))
}

func decodeOffset(cursor string) (int, error) {
	if cursor == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil && strings.HasPrefix(string(b), "o:") {
		if n, err := strconv.Atoi(string(b[2:])); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, Invalid("cursor is not one this tool returned; pass next_cursor unchanged, or omit it to start over")
}

// resolvedLine is the text rendering of a Resolved field: what a read resolved a name to.
func resolvedLine(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")\n"
}

// moreLine is the text rendering's continuation marker.
func moreLine[T any](p Page[T]) string {
	if p.NextCursor == "" {
		return ""
	}
	if p.Total > 0 {
		return fmt.Sprintf("… %d of %d shown; more with cursor=%s\n", len(p.Items), p.Total, p.NextCursor)
	}
	return fmt.Sprintf("… more with cursor=%s\n", p.NextCursor)
}

const masked = "••••••"

var secretish = lazyre.New(`(?i)(token|secret|passw|pwd|api[-_]?key|apikey|auth|credential|private|session|cookie|signature|bearer)`)

// looksSecret says whether a variable should be masked: Postman marks it secret, or its name says it holds one.
func looksSecret(key, typ string, secret bool) bool {
	return secret || typ == "secret" || secretish.MatchString(key)
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// clip shortens s to n runes with an ellipsis, and flattens newlines, for one-line renderings.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// looksLikeID says whether s is a Postman ID or UID rather than a name (so no list call is needed to resolve it).
var idPattern = lazyre.New(`^(\d+-)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func looksLikeID(s string) bool { return idPattern.MatchString(strings.TrimSpace(s)) }
