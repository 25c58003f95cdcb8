// Package vault seals secrets at rest, such as the Postman API keys that users link to the Slack bot in personal
// mode. It uses AES-256-GCM under one master key (PMOPS_SECRET_KEY) and binds every sealed value to associated
// data naming its owner, so a ciphertext copied to another user's row does not open.
//
// Sealed format (version 1): 1 version byte (0x01) | 12-byte random nonce | ciphertext | 16-byte GCM tag.
// The version byte leaves room for key rotation: a later version can name a key ID without breaking old rows.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// EnvVar is the environment variable that holds the master key.
const EnvVar = "PMOPS_SECRET_KEY"

// KeySize is the master key length in bytes (AES-256).
const KeySize = 32

const (
	versionV1 byte = 1
	nonceSize      = 12
	tagSize        = 16
	// Overhead is how many bytes Seal adds to the plaintext.
	Overhead = 1 + nonceSize + tagSize
)

const generateHint = "generate one with `openssl rand -base64 32`"

var (
	// ErrNoKey means no master key was configured. Features that store secrets must refuse to run without one.
	ErrNoKey = errors.New(EnvVar + " is not set")
	// ErrOpen means a sealed value could not be opened: it was sealed under another master key, moved to another
	// owner (different associated data), altered, truncated, or is not a sealed value at all.
	ErrOpen = errors.New("sealed value cannot be opened (wrong " + EnvVar + ", or the value was moved or altered)")
)

// Vault seals and opens values under one master key. It is safe for concurrent use. It never prints its key: every
// fmt verb, String, GoString and slog output show a redacted placeholder.
type Vault struct {
	aead cipher.AEAD
}

// New returns a Vault for a master key of exactly KeySize bytes. The caller's slice is not kept.
func New(masterKey []byte) (*Vault, error) {
	if len(masterKey) != KeySize {
		return nil, fmt.Errorf("vault master key must be %d bytes, got %d; %s", KeySize, len(masterKey), generateHint)
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return &Vault{aead: aead}, nil
}

// NewEphemeral returns a Vault under a random key that lives only in this process: what it seals cannot be opened
// after a restart. It suits short-lived secrets (pending confirmations) when no PMOPS_SECRET_KEY is configured.
func NewEphemeral() (*Vault, error) {
	key := make([]byte, KeySize)
	defer clear(key)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("vault: ephemeral key: %w", err)
	}
	return New(key)
}

// FromEnv builds a Vault from the value of PMOPS_SECRET_KEY: 32 bytes encoded as base64 (standard or URL alphabet,
// padded or not) or as 64 hex digits. Surrounding whitespace is ignored. An empty value returns an error wrapping
// ErrNoKey. Errors never contain the value itself.
func FromEnv(value string) (*Vault, error) {
	s := strings.TrimSpace(value)
	if s == "" {
		return nil, fmt.Errorf("%w; %s and set %s to it", ErrNoKey, generateHint, EnvVar)
	}
	key, err := decodeKey(s)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return New(key)
}

func decodeKey(s string) ([]byte, error) {
	if len(s) == 2*KeySize && isHex(s) {
		return hex.DecodeString(s)
	}
	encodings := []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding}
	for _, enc := range encodings {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != KeySize {
			n := len(b)
			clear(b)
			return nil, fmt.Errorf("%s decodes to %d bytes, need exactly %d (44 base64 characters or 64 hex digits); %s",
				EnvVar, n, KeySize, generateHint)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%s is neither base64 nor hex (%d characters); it must encode exactly %d bytes; %s",
		EnvVar, len(s), KeySize, generateHint)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Seal encrypts plaintext and binds it to associatedData (see AssociatedData); Open must be given the same
// associated data. Each call uses a fresh random nonce, so sealing the same plaintext twice gives different output.
func (v *Vault) Seal(plaintext, associatedData []byte) ([]byte, error) {
	if v == nil || v.aead == nil {
		return nil, fmt.Errorf("seal: %w", ErrNoKey)
	}
	out := make([]byte, 1, Overhead+len(plaintext))
	out[0] = versionV1
	return v.aead.Seal(out, nil, plaintext, associatedData), nil
}

// Open decrypts a value produced by Seal with the same master key and associated data. Any failure (wrong key,
// wrong associated data, tampering, truncation, unknown version) returns an error wrapping ErrOpen.
func (v *Vault) Open(sealed, associatedData []byte) ([]byte, error) {
	if v == nil || v.aead == nil {
		return nil, fmt.Errorf("open: %w", ErrNoKey)
	}
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrOpen, len(sealed))
	}
	if sealed[0] != versionV1 {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrOpen, sealed[0])
	}
	plaintext, err := v.aead.Open(nil, nil, sealed[1:], associatedData)
	if err != nil {
		return nil, ErrOpen
	}
	return plaintext, nil
}

// AssociatedData encodes a purpose and the fields that identify a secret's owner, for example
// AssociatedData("linked-key", enterpriseID, teamID, userID). Each part is length-prefixed, so ("a", "bc") and
// ("ab", "c") give different results.
func AssociatedData(purpose string, fields ...string) []byte {
	parts := append([]string{"pmops/vault/v1", purpose}, fields...)
	var b []byte
	for _, p := range parts {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}

const redacted = "vault.Vault{key: [redacted]}"

// String implements fmt.Stringer without revealing the key.
func (Vault) String() string { return redacted }

// GoString implements fmt.GoStringer without revealing the key.
func (Vault) GoString() string { return redacted }

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %x, %s, ...) is redacted.
func (Vault) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer without revealing the key.
func (Vault) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText keeps encoders that honour encoding.TextMarshaler (JSON, YAML) from reaching into the Vault.
func (Vault) MarshalText() ([]byte, error) { return []byte(redacted), nil }
