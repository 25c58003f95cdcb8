package emulator

import (
	"crypto/sha1"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pmops/pmops/internal/lazyre"
)

var idNamespace = uuid.MustParse("5f0c1b7e-3c57-4d1a-9a52-6d2f1f0e8b21")

// seedID derives a stable, v4-shaped UUID from the seed name and a path of labels, so demo data has the same IDs
// on every run.
func (e *Emulator) seedID(parts ...string) string {
	return uuid.NewHash(sha1.New(), idNamespace, []byte(e.opts.Seed+"/"+strings.Join(parts, "/")), 4).String()
}

// newID returns the next ID for something created at runtime. It is deterministic too: the n-th created object of
// an emulator with a given seed always gets the same ID.
func (e *Emulator) newID(kind string) string {
	e.seq++
	return e.seedID("runtime", kind, strconv.Itoa(e.seq))
}

func (e *Emulator) nextOrder() int {
	e.order++
	return e.order
}

func uidOf(owner int64, id string) string { return fmt.Sprintf("%d-%s", owner, id) }

var (
	uuidRe = lazyre.New(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	uidRe  = lazyre.New(`^([0-9]+)-([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`)
)

// splitRef accepts a bare ID or a UID. owner is 0 for a bare ID; ok is false when ref is neither.
func splitRef(ref string) (owner int64, id string, ok bool) {
	if uuidRe.MatchString(ref) {
		return 0, strings.ToLower(ref), true
	}
	if m := uidRe.FindStringSubmatch(ref); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return 0, "", false
		}
		return n, strings.ToLower(m[2]), true
	}
	return 0, "", false
}

// ts renders a timestamp the way Postman does: ISO-8601 UTC with milliseconds.
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// hash64 is the deterministic pseudo-random source for run outcomes and timings.
func hash64(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	s := h.Sum64()
	// fnv's low bits are weak for short inputs; mix them (murmur3 finaliser).
	s ^= s >> 33
	s *= 0xff51afd7ed558ccd
	s ^= s >> 33
	return s
}
