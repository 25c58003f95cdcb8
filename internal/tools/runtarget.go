package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/pmops/pmops/internal/api"
)

// ResolveRunCollection finds the one collection a run names, by the exact rule for writes (a run sends real
// requests): an ID, a UID or the whole name. A partial name is a not-found whose candidates are the names that
// contain or resemble it; several exact matches are an ambiguity with each as a candidate.
func ResolveRunCollection(ctx context.Context, env *Env, query string) (Target, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return Target{}, Invalid("the name or ID of the collection is required")
	}
	list, err := api.Collect(cached(ctx), env.Client.CollectionsPager(api.ListCollectionsOptions{}, "", api.Bound{PageSize: api.DefaultCollectionPage, MaxPages: 20}))
	if err != nil {
		return Target{}, fmt.Errorf("list collections to find %s: %w", clip(q, 200), err)
	}
	all := make([]Target, 0, len(list))
	for _, c := range list {
		all = append(all, Target{Kind: "collection", Name: c.Name, ID: c.ID, UID: c.UID})
	}
	return pickExact("collection", q, all)
}

// CountRunRequests checks the folders a run names against the collection (exact names or IDs; an unknown one is
// a not-found with the closest folder names as candidates) and counts the requests one iteration sends, so an
// adapter can say what a run will do before it is confirmed.
func CountRunRequests(ctx context.Context, env *Env, collection string, folders []string) (int, error) {
	col, err := env.Client.GetCollection(cached(ctx), collection, api.GetCollectionOptions{})
	if err != nil {
		return 0, fmt.Errorf("get collection %s: %w", clip(collection, 200), err)
	}
	_, n, err := selectFolders(col, folders)
	return n, err
}

// RunsReady says whether env can run collections: nil, or an error that says what is missing (no collection
// runs in this adapter, or no working Newman and how to install it).
func RunsReady(env *Env) error {
	_, err := runsOf(env)
	return err
}
