package tools

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pmops/pmops/internal/emulator"
)

func TestEcho(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"short", "production", "production"},
		{"exactly 200", strings.Repeat("a", 200), strings.Repeat("a", 200)},
		{"201 ASCII", strings.Repeat("a", 201), strings.Repeat("a", 200) + "…(201 bytes)"},
		{"200 multibyte characters are kept", strings.Repeat("é", 200), strings.Repeat("é", 200)},
		{"201 multibyte characters", strings.Repeat("é", 201), strings.Repeat("é", 200) + "…(402 bytes)"},
		{"1 MB", strings.Repeat("x", 1<<20), strings.Repeat("x", 200) + "…(1048576 bytes)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Echo(tc.in)
			if got != tc.want {
				t.Errorf("Echo = %.80q…, want %.80q…", got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Error("Echo cut a character in half")
			}
		})
	}
}

// TestHugeArgumentName: an argument name is input too.
func TestHugeArgumentName(t *testing.T) {
	f := newFixture(t, emulator.Options{})
	_, err := f.call(t, "get_monitor", map[string]any{"monitor": "x", strings.Repeat("k", 1<<20): 1})
	te, ok := AsError(err)
	if !ok || te.Kind != KindInvalid || len(te.Error()) > 1000 || !strings.Contains(te.Error(), "(1048576 bytes)") {
		t.Fatalf("err = %.300v", err)
	}
}
