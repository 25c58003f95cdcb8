package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pmops/pmops/internal/api"
)

// Target is the one resource a write will change, resolved before anything is previewed or confirmed.
type Target struct {
	Kind string `json:"kind"` // "monitor" or "environment"
	Name string `json:"name"`
	ID   string `json:"id,omitempty"`
	UID  string `json:"uid"`
	// Active is a monitor's schedule state (monitors only).
	Active bool `json:"active,omitempty"`
	// CollectionUID and EnvironmentUID are what a monitor runs (monitors only).
	CollectionUID  string `json:"collection_uid,omitempty"`
	EnvironmentUID string `json:"environment_uid,omitempty"`
}

// ResolveWriteTarget finds the one monitor or environment a write names, by the exact rule for writes: an ID, a
// UID, or the whole name (case-insensitive, trimmed). A partial name is never enough: it is a not-found (or, when
// several names match exactly, an ambiguity) whose candidates are the names that contain or resemble the query,
// so an adapter can offer them as a choice and nothing changes until one is picked.
func ResolveWriteTarget(ctx context.Context, env *Env, kind, query string) (Target, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return Target{}, Invalid(fmt.Sprintf("the name or ID of the %s is required", kind))
	}
	var all []Target
	switch kind {
	case "monitor":
		list, err := api.Collect(cached(ctx), env.Client.MonitorsPager(api.ListMonitorsOptions{Limit: api.MaxMonitorPage}, "", api.Bound{MaxPages: 20}))
		if err != nil {
			return Target{}, fmt.Errorf("list monitors to find %s: %w", clip(q, 200), err)
		}
		for _, m := range list {
			all = append(all, Target{Kind: kind, Name: m.Name, ID: m.ID, UID: m.UID, Active: m.Active,
				CollectionUID: m.CollectionUID, EnvironmentUID: m.EnvironmentUID})
		}
	case "environment":
		list, err := env.Client.ListEnvironments(cached(ctx), "")
		if err != nil {
			return Target{}, fmt.Errorf("list environments to find %s: %w", clip(q, 200), err)
		}
		for _, e := range list {
			all = append(all, Target{Kind: kind, Name: e.Name, ID: e.ID, UID: e.UID})
		}
	default:
		return Target{}, fmt.Errorf("no write target of kind %q", kind)
	}
	return pickExact(kind, q, all)
}

func pickExact(kind, q string, all []Target) (Target, error) {
	for _, t := range all {
		if q == t.ID || (t.UID != "" && q == t.UID) {
			return t, nil
		}
	}
	var exact []Target
	for _, t := range all {
		if strings.EqualFold(strings.TrimSpace(t.Name), q) {
			exact = append(exact, t)
		}
	}
	switch len(exact) {
	case 1:
		return exact[0], nil
	case 0:
	default:
		e := &Error{Kind: KindAmbiguous, Message: fmt.Sprintf("%d %ss are named %s", len(exact), kind, quoteClip(q)),
			Hint: "pick the one you mean by its ID"}
		for _, t := range exact {
			e.Candidates = append(e.Candidates, Candidate{Name: t.Name, ID: firstNonEmpty(t.UID, t.ID)})
		}
		return Target{}, e
	}
	// Not an exact name: offer the names that contain it, then the ones that look like a typo of it.
	lq := strings.ToLower(q)
	var names []string
	byName := map[string]Target{}
	var containing []string
	for _, t := range all {
		names = append(names, t.Name)
		byName[t.Name] = t
		if strings.Contains(strings.ToLower(t.Name), lq) {
			containing = append(containing, t.Name)
		}
	}
	cands := containing
	for _, n := range closest(q, names, 5) {
		if !slices.Contains(cands, n) {
			cands = append(cands, n)
		}
	}
	if len(cands) == 0 && len(names) <= 10 {
		cands = names
	}
	e := &Error{Kind: KindNotFound, Message: fmt.Sprintf("no %s is named exactly %s", kind, quoteClip(q))}
	switch {
	case len(cands) > 0:
		e.Hint = "changes need the whole name or an ID; pick one of these"
	case len(names) == 0:
		e.Hint = fmt.Sprintf("there are no %ss to choose from", kind)
	default:
		e.Hint = fmt.Sprintf("none of the %d %ss has a similar name", len(names), kind)
	}
	for _, n := range cands {
		t := byName[n]
		e.Candidates = append(e.Candidates, Candidate{Name: n, ID: firstNonEmpty(t.UID, t.ID)})
	}
	return Target{}, e
}

// quoteClip quotes user input for a message, clipped so a huge name cannot make a huge message.
func quoteClip(s string) string {
	if len(s) > 200 {
		return fmt.Sprintf("“%s…” (%d bytes)", clip(s, 200), len(s))
	}
	return "“" + s + "”"
}

// ResourceNames maps the IDs and UIDs of one kind of resource ("collection" or "environment") to their names, from
// one listing the gate may answer from its short cache; adapters use it to show names instead of UIDs.
func ResourceNames(ctx context.Context, env *Env, kind string) (map[string]string, error) {
	out := map[string]string{}
	switch kind {
	case "collection":
		list, err := api.Collect(cached(ctx), env.Client.CollectionsPager(api.ListCollectionsOptions{}, "", api.Bound{MaxPages: 10}))
		for _, c := range list {
			out[c.UID], out[c.ID] = c.Name, c.Name
		}
		if err != nil {
			return out, fmt.Errorf("list collections: %w", err)
		}
	case "environment":
		list, err := env.Client.ListEnvironments(cached(ctx), "")
		if err != nil {
			return out, fmt.Errorf("list environments: %w", err)
		}
		for _, e := range list {
			out[e.UID], out[e.ID] = e.Name, e.Name
		}
	default:
		return out, fmt.Errorf("no names for kind %q", kind)
	}
	delete(out, "")
	return out, nil
}
