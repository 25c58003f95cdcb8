package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// ref is how a listed resource can be named by a person: its name, its ID or its UID.
type ref struct {
	Name string
	ID   string
	UID  string
}

// Mode is how strictly a name given to a tool must match a resource.
//
// The mode is not chosen by the caller: define() records in the call's context whether the tool is read-only,
// and matchFor reads it from there. A tool with readOnlyHint=false therefore cannot resolve forgivingly, whatever
// its code asks for; code without that context (Slack, tests, helpers) gets Exact.
type Mode int

const (
	// Exact accepts an ID, a UID, or the whole name compared case-insensitively (trimmed, Unicode case
	// folding). A partial name, or a name several resources share, is an error with candidates.
	Exact Mode = iota
	// Forgiving also accepts the one name that contains the query. Read-only tools get it, and their result
	// says what the name resolved to (see Resolved).
	Forgiving
)

// ModeOf returns the resolution mode of the tool call ctx belongs to: Forgiving only inside a read-only tool.
func ModeOf(ctx context.Context) Mode {
	if st := stateOf(ctx); st != nil && st.readOnly {
		return Forgiving
	}
	return Exact
}

// Resolved is what a resource name given to a tool resolved to.
type Resolved struct {
	Kind string // "environment", "collection", …
	Name string
	ID   string // the UID where the resource has one, else its ID
}

func (r Resolved) label() string {
	if r.Name == "" {
		return r.ID
	}
	return fmt.Sprintf("%s (%s)", Echo(r.Name), r.ID)
}

// match picks the item a person meant by query in Exact mode, whatever the calling tool; see matchFor.
func match[T any](kind, query string, items []T, refOf func(T) ref) (T, error) {
	return matchMode(nil, Exact, kind, query, items, refOf)
}

// matchFor picks the item a person meant by query, in the mode of the tool call (ModeOf). Exact: an ID or UID,
// else the one whole name equal under case folding. Forgiving adds, when no name is equal, the one name that
// contains the query, and records the resolution so the result can say what it resolved to. Several equally good
// matches are an ambiguity; none is a not-found that lists the closest names (for a write, the partial matches).
func matchFor[T any](ctx context.Context, kind, query string, items []T, refOf func(T) ref) (T, error) {
	return matchMode(ctx, ModeOf(ctx), kind, query, items, refOf)
}

func matchMode[T any](ctx context.Context, mode Mode, kind, query string, items []T, refOf func(T) ref) (T, error) {
	var zero T
	q := strings.TrimSpace(query)
	if q == "" {
		return zero, Invalid(fmt.Sprintf("name or ID of the %s is required", kind))
	}
	for _, it := range items {
		r := refOf(it)
		if strings.EqualFold(q, r.ID) || (r.UID != "" && strings.EqualFold(q, r.UID)) {
			return it, nil
		}
	}
	fq := foldName(q)
	equal := func(r ref) bool { return foldName(r.Name) == fq }
	contains := func(r ref) bool { return strings.Contains(foldName(r.Name), fq) }
	tiers := []func(r ref) bool{func(r ref) bool { return r.Name == q }, equal}
	if mode == Forgiving {
		tiers = append(tiers, contains)
	}
	for i, tier := range tiers {
		var hits []T
		for _, it := range items {
			if tier(refOf(it)) {
				hits = append(hits, it)
			}
		}
		switch {
		case len(hits) == 0:
			continue
		case len(hits) == 1:
			if r := refOf(hits[0]); i > 0 {
				noteResolved(ctx, kind, q, r)
			}
			return hits[0], nil
		case i == 0 && len(tiers) > 1:
			continue // several spellings of one name: let the case-folded tier report them all
		}
		e := &Error{Kind: KindAmbiguous, Message: fmt.Sprintf("%s matches %d %ss", EchoQ(q), len(hits), kind),
			Hint: "pass the ID of the one you mean; nothing was changed"}
		for _, h := range hits {
			r := refOf(h)
			e.Candidates = append(e.Candidates, Candidate{Name: Echo(r.Name), ID: idOf(r)})
		}
		return zero, e
	}
	names := make([]string, 0, len(items))
	byName := map[string]ref{}
	var partial []Candidate
	for _, it := range items {
		r := refOf(it)
		names = append(names, r.Name)
		byName[r.Name] = r
		if mode == Exact && contains(r) {
			partial = append(partial, Candidate{Name: Echo(r.Name), ID: idOf(r)})
		}
	}
	if mode == Exact && len(partial) > 0 {
		return zero, &Error{Kind: KindNotFound, Candidates: partial,
			Message: fmt.Sprintf("no %s is named exactly %s", kind, EchoQ(q)),
			Hint:    "a change needs the whole name, an ID or a UID; nothing was changed"}
	}
	e := &Error{Kind: KindNotFound, Message: fmt.Sprintf("no %s named %s", kind, EchoQ(q))}
	near := closest(q, names, 5)
	if len(near) == 0 && len(names) <= 10 {
		near = names // nothing close, but few enough to show them all
	}
	for _, n := range near {
		e.Candidates = append(e.Candidates, Candidate{Name: Echo(n), ID: idOf(byName[n])})
	}
	switch {
	case len(e.Candidates) > 0:
		e.Hint = fmt.Sprintf("use one of these names, or an ID (list_%ss shows them all)", kind)
	case len(names) == 0:
		e.Hint = fmt.Sprintf("there are no %ss to choose from", kind)
	default:
		e.Hint = fmt.Sprintf("list_%ss shows the %d names", kind, len(names))
	}
	return zero, e
}

// foldName is how names compare: trimmed, in Unicode normal form C, with full Unicode case folding (so
// "STRASSE" equals "Straße" and "ΩMEGA" equals "ωmega").
func foldName(s string) string {
	return cases.Fold().String(norm.NFC.String(strings.TrimSpace(s)))
}

func idOf(r ref) string {
	if r.UID != "" {
		return r.UID
	}
	return r.ID
}

// closest returns up to n of the known names nearest to name, best first, leaving out names too far to be a typo.
func closest(name string, known []string, n int) []string {
	if len(name) > 4*MaxEcho {
		return nil // no name is a typo away from this, and comparing would cost seconds
	}
	type scored struct {
		name string
		dist int
	}
	q := strings.ToLower(name)
	var cands []scored
	for _, k := range known {
		lk := strings.ToLower(k)
		d := levenshtein(q, lk)
		if strings.Contains(lk, q) || strings.Contains(q, lk) {
			d = min(d, 1+abs(len(lk)-len(q))/4)
		}
		if p := commonPrefix(q, lk); p >= 4 {
			d = min(d, 2+abs(len(lk)-len(q))/4)
		}
		if d <= max(2, len(q)/2) {
			cands = append(cands, scored{k, d})
		}
	}
	slices.SortStableFunc(cands, func(a, b scored) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		return strings.Compare(a.name, b.name)
	})
	var out []string
	for _, c := range cands {
		if len(out) == n {
			break
		}
		if !slices.Contains(out, c.name) {
			out = append(out, c.name)
		}
	}
	return out
}

func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// lookupByID finds the resource an ID names in a listing, for its name. A write given an ID resolves through the
// (cached) listing so that its preview and result can name the resource; an ID the listing lacks is passed on as
// it is, and Postman answers for it.
func lookupByID[T any](kind, id string, items []T, refOf func(T) ref) Resolved {
	for _, it := range items {
		r := refOf(it)
		if strings.EqualFold(id, r.ID) || (r.UID != "" && strings.EqualFold(id, r.UID)) {
			return Resolved{Kind: kind, Name: r.Name, ID: idOf(r)}
		}
	}
	return Resolved{Kind: kind, ID: id}
}

// resolveIn resolves query against a listing in the call's mode (matchFor) and returns what it names.
func resolveIn[T any](ctx context.Context, kind, query string, items []T, refOf func(T) ref) (Resolved, error) {
	q := strings.TrimSpace(query)
	if looksLikeID(q) {
		return lookupByID(kind, q, items, refOf), nil
	}
	it, err := matchFor(ctx, kind, q, items, refOf)
	if err != nil {
		return Resolved{}, err
	}
	r := refOf(it)
	return Resolved{Kind: kind, Name: r.Name, ID: idOf(r)}, nil
}
