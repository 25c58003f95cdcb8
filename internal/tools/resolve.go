package tools

import (
	"fmt"
	"slices"
	"strings"
)

// ref is how a listed resource can be named by a person: its name, its ID or its UID.
type ref struct {
	Name string
	ID   string
	UID  string
}

// match picks the item a person meant by query: an exact ID or UID, else a unique exact name, else a unique
// case-insensitive name, else a unique name that contains the query. Several equally good matches are an
// ambiguity; none is a not-found that lists the closest names.
func match[T any](kind, query string, items []T, refOf func(T) ref) (T, error) {
	var zero T
	q := strings.TrimSpace(query)
	if q == "" {
		return zero, Invalid(fmt.Sprintf("name or ID of the %s is required", kind))
	}
	for _, it := range items {
		r := refOf(it)
		if q == r.ID || (r.UID != "" && q == r.UID) {
			return it, nil
		}
	}
	tiers := []func(r ref) bool{
		func(r ref) bool { return r.Name == q },
		func(r ref) bool { return strings.EqualFold(r.Name, q) },
		func(r ref) bool { return strings.Contains(strings.ToLower(r.Name), strings.ToLower(q)) },
	}
	for _, tier := range tiers {
		var hits []T
		for _, it := range items {
			if tier(refOf(it)) {
				hits = append(hits, it)
			}
		}
		switch len(hits) {
		case 0:
			continue
		case 1:
			return hits[0], nil
		default:
			e := &Error{Kind: KindAmbiguous, Message: fmt.Sprintf("%q matches %d %ss", q, len(hits), kind),
				Hint: "pass the ID of the one you mean"}
			for _, h := range hits {
				r := refOf(h)
				e.Candidates = append(e.Candidates, Candidate{Name: r.Name, ID: idOf(r)})
			}
			return zero, e
		}
	}
	names := make([]string, 0, len(items))
	byName := map[string]ref{}
	for _, it := range items {
		r := refOf(it)
		names = append(names, r.Name)
		byName[r.Name] = r
	}
	e := &Error{Kind: KindNotFound, Message: fmt.Sprintf("no %s named %q", kind, q)}
	near := closest(q, names, 5)
	if len(near) == 0 && len(names) <= 10 {
		near = names // nothing close, but few enough to show them all
	}
	for _, n := range near {
		e.Candidates = append(e.Candidates, Candidate{Name: n, ID: idOf(byName[n])})
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

func idOf(r ref) string {
	if r.UID != "" {
		return r.UID
	}
	return r.ID
}

// closest returns up to n of the known names nearest to name, best first, leaving out names too far to be a typo.
func closest(name string, known []string, n int) []string {
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
