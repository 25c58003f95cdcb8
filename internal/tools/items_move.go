package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pmops/pmops/internal/api"
)

// Postman's item endpoints cannot move anything (a request's PUT ignores folder), so a move is a copy into the
// new place followed by a delete of the original. The order is what makes it safe: the copy is complete before
// the original goes, so a failure half-way leaves the original untouched and says what was copied.

func (s *itemScope) move(ctx context.Context, env *Env, a editItemArgs) (ItemChange, error) {
	n, err := s.find(ctx, a.Kind, a.Item)
	if err != nil {
		return ItemChange{}, err
	}
	out := ItemChange{Action: "move " + a.Kind, Collection: s.colRef(), Item: n.ref()}
	from := "(root)"
	if len(n.path) > 0 {
		from = strings.Join(n.path, "/")
	}
	var to NamedRef
	var copyTo func() (string, error)
	calls := 0
	switch a.Kind {
	case "example":
		r, err := s.find(ctx, "request", a.Parent)
		if err != nil {
			return ItemChange{}, err
		}
		if r.id == n.parent {
			return ItemChange{}, Invalid(fmt.Sprintf("example %s already belongs to request %s", n.ref().label(), r.ref().label()))
		}
		to = NamedRef{Name: Echo(r.fullPath()), ID: r.id}
		calls = 3
		copyTo = func() (string, error) { return copyExample(ctx, env, s.col.ID, n.id, r.id) }
	default:
		f, err := s.placement(ctx, a.Parent)
		if err != nil {
			return ItemChange{}, err
		}
		target := ""
		if f != nil {
			target = f.id
		}
		if target == n.parent {
			return ItemChange{}, Invalid(fmt.Sprintf("%s %s is already in %s", a.Kind, n.ref().label(), placeRef(f).label()))
		}
		if a.Kind == "folder" && f != nil && (f.id == n.id || slices.Contains(f.folders, n.id)) {
			return ItemChange{}, Invalid(fmt.Sprintf("cannot move folder %s into itself or one of its sub-folders", n.ref().label()))
		}
		to = *placeRef(f)
		if a.Kind == "request" {
			calls = 3 + 2*len(n.item.Response)
			copyTo = func() (string, error) { return copyRequest(ctx, env, s.col.ID, n.id, target) }
		} else {
			reqs, folders, examples := s.contents(n.id)
			calls = 3 + 2*(reqs+folders+examples)
			copyTo = func() (string, error) { return copyFolder(ctx, env, s.col.ID, n.item, target) }
		}
	}
	out.Folder = &to
	out.Diff = []string{"~ place: " + Echo(from) + " → " + to.Name}
	out.Notes = []string{fmt.Sprintf("Postman cannot move items: this copies the %s (with everything in it) to the new place, then deletes the original, so it gets a new ID; about %d API calls", a.Kind, calls)}
	if !a.Confirm {
		out.Notes = append(out.Notes, "call again with confirm=true to move")
		return out, nil
	}
	newID, err := copyTo()
	if err != nil {
		return ItemChange{}, err
	}
	if err := deleteItem(ctx, env, a.Kind, s.col.ID, n.id); err != nil {
		return ItemChange{}, halfDone(err, fmt.Sprintf("copied %s %s to %s as %s, but deleting the original failed", a.Kind, n.ref().label(), to.Name, newID),
			fmt.Sprintf("both exist now: delete the original with action=delete item=%s", n.id))
	}
	out.Done, out.Action = true, "moved "+a.Kind
	out.Item.ID = newID
	out.Notes = []string{fmt.Sprintf("new ID %s (was %s)", newID, n.id)}
	return out, nil
}

func deleteItem(ctx context.Context, env *Env, kind, colID, id string) error {
	var err error
	switch kind {
	case "request":
		_, err = env.Client.DeleteCollectionRequest(ctx, colID, id)
	case "folder":
		_, err = env.Client.DeleteCollectionFolder(ctx, colID, id)
	default:
		_, err = env.Client.DeleteCollectionResponse(ctx, colID, id)
	}
	return err
}

// partial says what a copy left behind when it failed half-way.
func partial(kind, newID string, err error) error {
	if te, inner := AsError(err); inner {
		// A copy inside this one failed; this copy holds whatever it left, so deleting this one cleans up.
		if newID != "" {
			te.Hint = fmt.Sprintf("the original is unchanged; an incomplete copy %s exists, delete it with action=delete item=%s", newID, newID)
		}
		return te
	}
	if newID == "" {
		return halfDone(err, "copy "+kind+" failed", "nothing was moved; the original is unchanged")
	}
	return halfDone(err, "copy "+kind+" stopped half-way",
		fmt.Sprintf("the original is unchanged; an incomplete copy %s exists, delete it with action=delete item=%s", newID, newID))
}

// halfDone keeps the vendor's error kind and status but says what a move did before it failed and what to do.
func halfDone(err error, what, next string) error {
	e := &Error{Kind: KindUpstream, Err: err}
	if c, ok := AsError(classify(err)); ok {
		e.Kind, e.Status, e.Name = c.Kind, c.Status, c.Name
		e.Message = what + ": " + c.Message
	} else {
		e.Message = what + ": " + err.Error()
	}
	e.Hint = next
	return e
}

// keepExtra are the unmodelled item-model keys a copy carries over.
var keepExtra = []string{"pathVariableData", "protocolProfileBehavior", "dataDisabled"}

func copyRequest(ctx context.Context, env *Env, colID, reqID, folderID string) (string, error) {
	cur, err := env.Client.GetCollectionRequest(ctx, colID, reqID, api.GetItemOptions{})
	if err != nil {
		return "", partial("request", "", err)
	}
	r := cur.Data
	in := api.CollectionRequest{Name: r.Name, Description: r.Description, Method: r.Method, URL: r.URL,
		HeaderData: r.HeaderData, QueryParams: r.QueryParams, DataMode: r.DataMode, Data: r.Data, RawModeData: r.RawModeData,
		GraphQLModeData: r.GraphQLModeData, DataOptions: r.DataOptions, Auth: r.Auth, Events: r.Events}
	for _, k := range keepExtra {
		if v, ok := r.Extra[k]; ok && string(v) != "null" {
			if in.Extra == nil {
				in.Extra = map[string]json.RawMessage{}
			}
			in.Extra[k] = v
		}
	}
	created, err := env.Client.CreateCollectionRequest(ctx, colID, in, api.CreateRequestOptions{FolderID: folderID})
	if err != nil {
		return "", partial("request", "", err)
	}
	newID := firstNonEmpty(created.Data.ID, created.ModelID)
	examples := r.ResponsesOrder
	if len(examples) == 0 {
		examples = r.Responses
	}
	for _, ex := range examples {
		if _, err := copyExample(ctx, env, colID, ex, newID); err != nil {
			return "", partial("request", newID, err)
		}
	}
	return newID, nil
}

func copyExample(ctx context.Context, env *Env, colID, exID, reqID string) (string, error) {
	cur, err := env.Client.GetCollectionResponse(ctx, colID, exID, api.GetItemOptions{})
	if err != nil {
		return "", fmt.Errorf("get example %s: %w", exID, err)
	}
	r := cur.Data
	in := api.CollectionResponse{Name: r.Name, Description: r.Description, ResponseCode: r.ResponseCode, Status: r.Status,
		Time: r.Time, Headers: r.Headers, Cookies: r.Cookies, Mime: r.Mime, Text: r.Text, Language: r.Language,
		RawDataType: r.RawDataType, RequestObject: r.RequestObject}
	created, err := env.Client.CreateCollectionResponse(ctx, colID, reqID, in)
	if err != nil {
		return "", fmt.Errorf("copy example %s: %w", exID, err)
	}
	return firstNonEmpty(created.Data.ID, created.ModelID), nil
}

func copyFolder(ctx context.Context, env *Env, colID string, folder *api.Item, parentID string) (string, error) {
	cur, err := env.Client.GetCollectionFolder(ctx, colID, folder.ID, api.GetItemOptions{})
	if err != nil {
		return "", partial("folder", "", err)
	}
	f := cur.Data
	in := api.CollectionFolder{Name: f.Name, Description: f.Description, Auth: f.Auth, Events: f.Events, Variables: f.Variables}
	if parentID != "" {
		in.Folder = &parentID
	}
	created, err := env.Client.CreateCollectionFolder(ctx, colID, in)
	if err != nil {
		return "", partial("folder", "", err)
	}
	newID := firstNonEmpty(created.Data.ID, created.ModelID)
	for i := range folder.Item {
		child := &folder.Item[i]
		if child.IsFolder() {
			_, err = copyFolder(ctx, env, colID, child, newID)
		} else {
			_, err = copyRequest(ctx, env, colID, child.ID, newID)
		}
		if err != nil {
			return "", partial("folder", newID, err)
		}
	}
	return newID, nil
}
