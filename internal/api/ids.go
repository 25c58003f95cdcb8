package api

import (
	"fmt"
	"net/url"
	"strings"
)

// A Postman ID is a UUID ("ec29121c-5203-409f-9e84-e83ffc10f226"); a UID is the owner's numeric user ID, a dash
// and the ID ("12345678-ec29121c-5203-409f-9e84-e83ffc10f226"). Every /{resource}/{id} path in scope accepts
// either. The monitor-history routes (out of scope) want the plain ID.

// SplitUID splits a UID into the owner's user ID and the plain ID. ok is false when s is not a UID (for example
// a plain UUID, whose first group can also be all digits).
func SplitUID(s string) (owner, id string, ok bool) {
	owner, id, found := strings.Cut(s, "-")
	if !found || owner == "" || !allDigits(owner) || !uuidShaped(id) {
		return "", "", false
	}
	return owner, id, true
}

// UID joins an owner's user ID and a plain ID. When id already is a UID, or owner is empty, id is returned
// unchanged.
func UID(owner, id string) string {
	if owner == "" {
		return id
	}
	if _, _, ok := SplitUID(id); ok {
		return id
	}
	return owner + "-" + id
}

// PlainID returns the plain ID of a UID, or s itself when it is not one.
func PlainID(s string) string {
	if _, id, ok := SplitUID(s); ok {
		return id
	}
	return s
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// uuidShaped checks the 8-4-4-4-12 layout of letters and digits. It does not insist on hex: the vendor's own
// examples carry fork sources like "c8142d52-f97d-46a7-bc77-52bb99713o1n".
func uuidShaped(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

// pathID checks an ID or UID given for a path segment and escapes it.
func pathID(kind, id string) (string, error) {
	id = strings.TrimSpace(id)
	switch {
	case id == "":
		return "", fmt.Errorf("%s ID is empty; pass the ID or UID from the list call", kind)
	case id == "." || id == "..":
		return "", fmt.Errorf("%s ID %q is not an ID", kind, id)
	case strings.ContainsAny(id, "/?#\x00\r\n"):
		return "", fmt.Errorf("%s ID %q contains a character IDs never have", kind, id)
	}
	return url.PathEscape(id), nil
}
