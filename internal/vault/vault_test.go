package vault

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func testKey(fill byte) []byte { return bytes.Repeat([]byte{fill}, KeySize) }

func mustNew(t *testing.T, key []byte) *Vault {
	t.Helper()
	v, err := New(key)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func TestSealOpenRoundTrip(t *testing.T) {
	v := mustNew(t, testKey(7))
	ad := AssociatedData("linked-key", "E1", "T1", "U1")
	for _, plain := range [][]byte{nil, []byte("PMAK-0123456789abcdef-0123456789abcdef"), bytes.Repeat([]byte("x"), 1<<16)} {
		sealed, err := v.Seal(plain, ad)
		if err != nil {
			t.Fatalf("Seal: %v", err)
		}
		if len(sealed) != len(plain)+Overhead {
			t.Errorf("sealed length %d, want %d", len(sealed), len(plain)+Overhead)
		}
		if sealed[0] != versionV1 {
			t.Errorf("version byte %d, want %d", sealed[0], versionV1)
		}
		if len(plain) > 8 && bytes.Contains(sealed, plain[:8]) {
			t.Error("sealed output contains plaintext")
		}
		got, err := v.Open(sealed, ad)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Errorf("round trip mismatch")
		}
	}
}

func TestSealUsesFreshNonce(t *testing.T) {
	v := mustNew(t, testKey(1))
	a, _ := v.Seal([]byte("same"), nil)
	b, _ := v.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical; nonce is not random")
	}
}

func TestOpenFailures(t *testing.T) {
	v := mustNew(t, testKey(2))
	other := mustNew(t, testKey(3))
	ad := AssociatedData("linked-key", "", "T1", "U1")
	sealed, err := v.Seal([]byte("PMAK-secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 0x01
		return c
	}
	tests := []struct {
		name   string
		vault  *Vault
		sealed []byte
		ad     []byte
	}{
		{"wrong user", v, sealed, AssociatedData("linked-key", "", "T1", "U2")},
		{"wrong team", v, sealed, AssociatedData("linked-key", "", "T2", "U1")},
		{"wrong enterprise", v, sealed, AssociatedData("linked-key", "E1", "T1", "U1")},
		{"wrong purpose", v, sealed, AssociatedData("other", "", "T1", "U1")},
		{"no associated data", v, sealed, nil},
		{"wrong key", other, sealed, ad},
		{"tampered version", v, flip(0), ad},
		{"tampered nonce", v, flip(1), ad},
		{"tampered ciphertext", v, flip(1 + nonceSize), ad},
		{"tampered tag", v, flip(len(sealed) - 1), ad},
		{"truncated", v, sealed[:len(sealed)-1], ad},
		{"too short", v, sealed[:Overhead-1], ad},
		{"empty", v, nil, ad},
		{"extended", v, append(bytes.Clone(sealed), 0), ad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.vault.Open(tt.sealed, tt.ad)
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open error = %v, want ErrOpen", err)
			}
			if got != nil {
				t.Errorf("Open returned plaintext %q on failure", got)
			}
		})
	}
}

func TestAssociatedDataIsUnambiguous(t *testing.T) {
	pairs := [][2][]byte{
		{AssociatedData("p", "a", "bc"), AssociatedData("p", "ab", "c")},
		{AssociatedData("p", "", "T", "U"), AssociatedData("p", "T", "U")},
		{AssociatedData("pa", "b"), AssociatedData("p", "ab")},
	}
	for i, p := range pairs {
		if bytes.Equal(p[0], p[1]) {
			t.Errorf("pair %d encodes identically", i)
		}
	}
	if !bytes.Equal(AssociatedData("p", "x"), AssociatedData("p", "x")) {
		t.Error("AssociatedData is not deterministic")
	}
}

func TestNewRejectsWrongLength(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New(%d bytes) succeeded", n)
		}
	}
}

func TestNewDoesNotKeepCallerSlice(t *testing.T) {
	key := testKey(9)
	v := mustNew(t, key)
	sealed, _ := v.Seal([]byte("k"), nil)
	clear(key)
	if _, err := v.Open(sealed, nil); err != nil {
		t.Fatalf("Open after caller cleared its key slice: %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	reference := mustNew(t, raw)
	sealed, _ := reference.Seal([]byte("PMAK-x"), []byte("ad"))

	good := []struct{ name, value string }{
		{"std padded", base64.StdEncoding.EncodeToString(raw)},
		{"std raw", base64.RawStdEncoding.EncodeToString(raw)},
		{"url padded", base64.URLEncoding.EncodeToString(raw)},
		{"url raw", base64.RawURLEncoding.EncodeToString(raw)},
		{"hex lower", hex.EncodeToString(raw)},
		{"hex upper", strings.ToUpper(hex.EncodeToString(raw))},
		{"trailing newline", base64.StdEncoding.EncodeToString(raw) + "\n"},
		{"surrounding spaces", "  " + hex.EncodeToString(raw) + " "},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			v, err := FromEnv(tt.value)
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			if _, err := v.Open(sealed, []byte("ad")); err != nil {
				t.Fatalf("decoded a different key: %v", err)
			}
		})
	}

	bad := []struct {
		name, value string
		noKey       bool
	}{
		{"empty", "", true},
		{"whitespace only", " \n\t", true},
		{"short base64", base64.StdEncoding.EncodeToString(raw[:16]), false},
		{"long base64", base64.StdEncoding.EncodeToString(append(bytes.Clone(raw), raw...)), false},
		{"31 bytes", base64.StdEncoding.EncodeToString(raw[:31]), false},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(bytes.Clone(raw), 1)), false},
		{"short hex", hex.EncodeToString(raw[:16]), false},
		{"long hex", hex.EncodeToString(append(bytes.Clone(raw), raw...)), false},
		{"not an encoding", "correct horse battery staple!!", false},
		{"passphrase", "hunter2-my-secret-password-is-long-enough", false},
		{"hex with junk", strings.Repeat("zz", KeySize), false},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			v, err := FromEnv(tt.value)
			if err == nil {
				t.Fatalf("FromEnv succeeded, vault %v", v)
			}
			msg := err.Error()
			if !strings.Contains(msg, "openssl rand -base64 32") {
				t.Errorf("error does not say how to generate a key: %q", msg)
			}
			if !strings.Contains(msg, EnvVar) {
				t.Errorf("error does not name %s: %q", EnvVar, msg)
			}
			if v := strings.TrimSpace(tt.value); v != "" && strings.Contains(msg, v) {
				t.Errorf("error leaks the value: %q", msg)
			}
			if got := errors.Is(err, ErrNoKey); got != tt.noKey {
				t.Errorf("errors.Is(err, ErrNoKey) = %v, want %v", got, tt.noKey)
			}
		})
	}
}

func TestRedaction(t *testing.T) {
	key := []byte("0123456789abcdef0123456789ABCDEF")
	v := mustNew(t, key)
	type holder struct {
		V      *Vault
		Inline Vault
	}
	h := holder{V: v, Inline: *v}

	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		out = append(out, fmt.Sprintf(verb, v), fmt.Sprintf(verb, *v), fmt.Sprintf(verb, h))
	}
	out = append(out, v.String(), v.GoString(), fmt.Sprint(v), fmt.Sprintln(*v))

	var logBuf bytes.Buffer
	for _, handler := range []slog.Handler{slog.NewTextHandler(&logBuf, nil), slog.NewJSONHandler(&logBuf, nil)} {
		slog.New(handler).Info("vault", "vault", v, "value", *v, "holder", h)
	}
	out = append(out, logBuf.String())
	j, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j))

	forbidden := []string{string(key), hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), "0123456789abcdef", "30313233"}
	for _, s := range out {
		for _, f := range forbidden {
			if strings.Contains(s, f) {
				t.Errorf("output %q contains key material %q", s, f)
			}
		}
	}
	if got := fmt.Sprintf("%v", v); !strings.Contains(got, "redacted") {
		t.Errorf("%%v = %q, want a redacted placeholder", got)
	}
	if got := logBuf.String(); !strings.Contains(got, "redacted") {
		t.Errorf("slog output %q, want a redacted placeholder", got)
	}
}

func TestNilVault(t *testing.T) {
	var v *Vault
	if _, err := v.Seal([]byte("x"), nil); !errors.Is(err, ErrNoKey) {
		t.Errorf("Seal on nil vault: %v, want ErrNoKey", err)
	}
	if _, err := v.Open(make([]byte, 64), nil); !errors.Is(err, ErrNoKey) {
		t.Errorf("Open on nil vault: %v, want ErrNoKey", err)
	}
}

func FuzzOpen(f *testing.F) {
	v, err := New(testKey(5))
	if err != nil {
		f.Fatal(err)
	}
	ad := AssociatedData("linked-key", "E", "T", "U")
	valid, _ := v.Seal([]byte("PMAK-seed"), ad)
	f.Add(valid, ad)
	f.Add(valid, []byte{})
	f.Add([]byte{}, []byte{})
	f.Add([]byte{versionV1}, ad)
	f.Add(make([]byte, Overhead), ad)
	f.Add(append([]byte{2}, valid[1:]...), ad)
	f.Add(valid[:Overhead], ad)
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		plain, err := v.Open(sealed, ad)
		if err != nil {
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open error %v does not wrap ErrOpen", err)
			}
			if plain != nil {
				t.Fatal("plaintext returned with an error")
			}
			return
		}
		// Only a genuine seal opens; re-sealing must round-trip.
		again, err := v.Seal(plain, ad)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := v.Open(again, ad); err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("re-seal round trip failed: %v", err)
		}
	})
}

func FuzzFromEnv(f *testing.F) {
	raw := testKey(0x42)
	for _, s := range []string{
		"", " ", base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw),
		hex.EncodeToString(raw), hex.EncodeToString(raw)[:63], "====", "not a key", strings.Repeat("A", 44),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		v, err := FromEnv(value)
		if (v == nil) == (err == nil) {
			t.Fatalf("FromEnv returned vault %v and error %v", v, err)
		}
		if err == nil {
			sealed, err := v.Seal([]byte("k"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Open(sealed, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestEphemeralVaultsDoNotShareKeys(t *testing.T) {
	a, err := NewEphemeral()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewEphemeral()
	if err != nil {
		t.Fatal(err)
	}
	ad := AssociatedData("action", "tok")
	sealed, err := a.Seal([]byte("payload"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.Open(sealed, ad); err != nil || string(got) != "payload" {
		t.Fatalf("same process: %q %v", got, err)
	}
	// Another process (another ephemeral key) cannot open it.
	if _, err := b.Open(sealed, ad); !errors.Is(err, ErrOpen) {
		t.Fatalf("other key: %v, want ErrOpen", err)
	}
}
