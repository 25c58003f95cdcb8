package tools

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pmops/pmops/internal/api"
)

type listEnvironmentsArgs struct {
	Workspace string `json:"workspace,omitempty" desc:"name or ID"`
	Limit     int    `json:"limit,omitempty" min:"1" max:"200" desc:"page size, default 50"`
	Cursor    string `json:"cursor,omitempty" desc:"from next_cursor"`
}

// EnvironmentRow is one listed environment.
type EnvironmentRow struct {
	Name      string `json:"name"`
	UID       string `json:"uid"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// EnvironmentList is a page of environments.
type EnvironmentList Page[EnvironmentRow]

func (l EnvironmentList) Text() string {
	var b strings.Builder
	b.WriteString(resolvedLine(l.Resolved))
	for _, e := range l.Items {
		fmt.Fprintf(&b, "%s  uid=%s  updated %s\n", e.Name, e.UID, e.UpdatedAt)
	}
	if len(l.Items) == 0 {
		b.WriteString("no environments\n")
	}
	b.WriteString(moreLine(Page[EnvironmentRow](l)))
	return b.String()
}

type getEnvironmentArgs struct {
	Environment string `json:"environment" desc:"name, ID or UID"`
	Key         string `json:"key,omitempty" desc:"show only this variable"`
	Reveal      bool   `json:"reveal,omitempty" desc:"show secret values in clear"`
}

// EnvVariable is one environment variable as shown; Value is masked for secrets unless revealed.
type EnvVariable struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Enabled bool   `json:"enabled"`
	Masked  bool   `json:"masked,omitempty"`
}

// EnvironmentView is an environment and its variables.
type EnvironmentView struct {
	Name      string        `json:"name"`
	UID       string        `json:"uid"`
	UpdatedAt string        `json:"updated_at,omitempty"`
	Variables []EnvVariable `json:"variables"`
	Truncated int           `json:"truncated,omitempty"`
	Resolved  string        `json:"resolved,omitempty" schema:"-"`
}

func (v EnvironmentView) Text() string {
	var b strings.Builder
	b.WriteString(resolvedLine(v.Resolved))
	fmt.Fprintf(&b, "%s  uid=%s  (%s)\n", v.Name, v.UID, plural(len(v.Variables)+v.Truncated, "variable", "variables"))
	for _, x := range v.Variables {
		fmt.Fprintf(&b, "  %s = %s", x.Key, x.Value)
		if x.Type == "secret" {
			b.WriteString("  [secret]")
		}
		if !x.Enabled {
			b.WriteString("  (disabled)")
		}
		b.WriteByte('\n')
	}
	if v.Truncated > 0 {
		fmt.Fprintf(&b, "… %d more variables; pass key=<name> to see one\n", v.Truncated)
	}
	return b.String()
}

type setEnvVarsArgs struct {
	Environment string            `json:"environment" desc:"name, ID or UID"`
	Set         map[string]string `json:"set" desc:"key: value"`
	Secret      []string          `json:"secret,omitempty" desc:"keys stored as secret"`
	DryRun      bool              `json:"dry_run,omitempty" desc:"preview only"`
}

type unsetEnvVarsArgs struct {
	Environment string   `json:"environment" desc:"name, ID or UID"`
	Keys        []string `json:"keys"`
	Confirm     bool     `json:"confirm,omitempty" desc:"true removes; else preview"`
	DryRun      bool     `json:"dry_run,omitempty"`
}

// EnvDiff is a change of environment variables: applied, or a preview with dry_run.
type EnvDiff struct {
	Environment string       `json:"environment"`
	UID         string       `json:"uid"`
	Applied     bool         `json:"applied"`
	Changes     []VarChanges `json:"changes"`
}

// VarChanges is one variable's change; secret values are masked.
type VarChanges struct {
	Key    string `json:"key"`
	Action string `json:"action" enum:"add,change,remove,unchanged"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
}

func (d EnvDiff) Text() string {
	var b strings.Builder
	if d.Applied {
		fmt.Fprintf(&b, "updated %s:\n", d.Environment)
	} else {
		fmt.Fprintf(&b, "DRY RUN, nothing changed in %s:\n", d.Environment)
	}
	for _, c := range d.Changes {
		switch c.Action {
		case "add":
			fmt.Fprintf(&b, "  + %s = %s\n", c.Key, c.New)
		case "change":
			fmt.Fprintf(&b, "  ~ %s: %s → %s\n", c.Key, c.Old, c.New)
		case "remove":
			fmt.Fprintf(&b, "  - %s (was %s)\n", c.Key, c.Old)
		default:
			fmt.Fprintf(&b, "  = %s unchanged\n", c.Key)
		}
	}
	if d.UID != "" {
		fmt.Fprintf(&b, "  (environment uid=%s)\n", d.UID)
	}
	return b.String()
}

type createEnvironmentArgs struct {
	Workspace string            `json:"workspace" desc:"name or ID"`
	Name      string            `json:"name"`
	Variables map[string]string `json:"variables,omitempty"`
	Secret    []string          `json:"secret,omitempty" desc:"keys stored as secret"`
}

type deleteEnvironmentArgs struct {
	Environment string `json:"environment" desc:"name, ID or UID"`
	Confirm     bool   `json:"confirm,omitempty" desc:"true deletes; else preview"`
}

func environmentTools() []*Tool {
	return []*Tool{
		define(Tool{
			Name: "list_environments", Title: "List environments", Toolset: ToolsetEnvironments,
			Description: "List environments, optionally in one workspace (name or ID), with name and UID.",
			Hints:       Hints{ReadOnly: true, Idempotent: true, OpenWorld: true},
		}, listEnvironments),
		define(Tool{
			Name: "get_environment", Title: "Show an environment", Toolset: ToolsetEnvironments,
			Description: "Show an environment's variables. Secret values (and values whose key looks like a token or " +
				"password) are masked unless reveal=true. Pass key to show one variable.",
			Hints: Hints{ReadOnly: true, Idempotent: true, OpenWorld: true},
		}, getEnvironment),
		define(Tool{
			Name: "set_environment_variables", Title: "Set environment variables", Toolset: ToolsetEnvironments,
			Description: "Set variables of an environment by key (adds missing keys, changes existing values, leaves " +
				"the rest alone); dry_run=true previews the diff.",
			Hints: Hints{Idempotent: true, OpenWorld: true},
		}, setEnvironmentVariables),
		define(Tool{
			Name: "unset_environment_variables", Title: "Remove environment variables", Toolset: ToolsetEnvironments,
			Description: "Remove variables from an environment by key; without confirm=true it only previews the diff.",
			Hints:       Hints{Destructive: true, Idempotent: true, OpenWorld: true},
		}, unsetEnvironmentVariables),
		define(Tool{
			Name: "create_environment", Title: "Create an environment", Toolset: ToolsetEnvironments,
			Description: "Create an environment with the given variables; keys listed in secret are stored as secrets.",
			Hints:       Hints{OpenWorld: true},
		}, createEnvironment),
		define(Tool{
			Name: "delete_environment", Title: "Delete an environment", Toolset: ToolsetEnvironments,
			Description: "Delete an environment for good; without confirm=true it only previews.",
			Hints:       Hints{Destructive: true, Idempotent: true, OpenWorld: true},
		}, deleteEnvironment),
	}
}

func listEnvironments(ctx context.Context, env *Env, args listEnvironmentsArgs) (EnvironmentList, error) {
	ws, err := resolveWorkspace(ctx, env, args.Workspace)
	if err != nil {
		return EnvironmentList{}, err
	}
	all, err := env.Client.ListEnvironments(ctx, ws)
	if err != nil {
		return EnvironmentList{}, fmt.Errorf("list environments: %w", err)
	}
	rows := make([]EnvironmentRow, 0, len(all))
	for _, e := range all {
		rows = append(rows, EnvironmentRow{Name: e.Name, UID: e.UID, UpdatedAt: ts(e.UpdatedAt)})
	}
	limit := args.Limit
	if limit == 0 {
		limit = 50
	}
	p, err := localPage(rows, args.Cursor, limit)
	return EnvironmentList(p), err
}

// resolveEnvironment turns an environment name, ID or UID into its UID (see resolveEnvironmentRef).
func resolveEnvironment(ctx context.Context, env *Env, query string) (string, error) {
	r, err := resolveEnvironmentRef(ctx, env, query)
	return r.ID, err
}

// resolveEnvironmentRef resolves an environment in the call's mode (see Mode). A read given an ID costs
// nothing; anything else costs one cached listing.
func resolveEnvironmentRef(ctx context.Context, env *Env, query string) (Resolved, error) {
	q := strings.TrimSpace(query)
	if looksLikeID(q) && ModeOf(ctx) == Forgiving {
		return Resolved{Kind: "environment", ID: q}, nil
	}
	if q == "" {
		return Resolved{}, Invalid("argument \"environment\" is required")
	}
	all, err := env.Client.ListEnvironments(cached(ctx), "")
	if err != nil {
		if looksLikeID(q) {
			return Resolved{Kind: "environment", ID: q}, nil
		}
		return Resolved{}, fmt.Errorf("list environments to find %s: %w", EchoQ(q), err)
	}
	return resolveIn(ctx, "environment", q, all, func(e api.EnvironmentSummary) ref { return ref{Name: e.Name, ID: e.ID, UID: e.UID} })
}

const maxVarsShown = 200

func showValue(v api.EnvVar, reveal bool) (string, bool) {
	if !reveal && looksSecret(v.Key, v.Type, v.Secret) {
		return masked, true
	}
	return clip(v.Value, 500), false
}

func getEnvironment(ctx context.Context, env *Env, args getEnvironmentArgs) (EnvironmentView, error) {
	id, err := resolveEnvironment(ctx, env, args.Environment)
	if err != nil {
		return EnvironmentView{}, err
	}
	e, err := env.Client.GetEnvironment(ctx, id)
	if err != nil {
		return EnvironmentView{}, fmt.Errorf("get environment %s: %w", id, err)
	}
	view := EnvironmentView{Name: e.Name, UID: e.UIDOf(), UpdatedAt: ts(e.UpdatedAt), Variables: []EnvVariable{}}
	vals := e.Values
	if args.Key != "" {
		i := slices.IndexFunc(vals, func(v api.EnvVar) bool { return v.Key == args.Key })
		if i < 0 {
			return EnvironmentView{}, &Error{Kind: KindNotFound, Message: fmt.Sprintf("environment %s has no variable %s", Echo(e.Name), EchoQ(args.Key)),
				Candidates: envVarCandidates(vals, args.Key), Hint: "omit key to list them all"}
		}
		vals = vals[i : i+1]
	}
	for i, v := range vals {
		if i == maxVarsShown {
			view.Truncated = len(vals) - maxVarsShown
			break
		}
		val, m := showValue(v, args.Reveal)
		view.Variables = append(view.Variables, EnvVariable{Key: v.Key, Value: val, Type: v.Type, Enabled: v.Enabled, Masked: m})
	}
	return view, nil
}

func envVarCandidates(vals []api.EnvVar, key string) []Candidate {
	keys := make([]string, 0, len(vals))
	for _, v := range vals {
		keys = append(keys, v.Key)
	}
	var out []Candidate
	for _, k := range closest(key, keys, 3) {
		out = append(out, Candidate{Name: k})
	}
	return out
}

func setEnvironmentVariables(ctx context.Context, env *Env, args setEnvVarsArgs) (EnvDiff, error) {
	for k := range args.Set {
		if strings.TrimSpace(k) == "" {
			return EnvDiff{}, Invalid("variable keys must not be empty")
		}
	}
	for _, k := range args.Secret {
		if _, ok := args.Set[k]; !ok {
			return EnvDiff{}, Invalid(fmt.Sprintf("secret lists %s, which is not in set", EchoQ(k)))
		}
	}
	return changeEnvironment(ctx, env, args.Environment, args.DryRun, func(vals []api.EnvVar) ([]VarChanges, []api.PatchOp, []api.PatchOp) {
		var changes []VarChanges
		var replace, add []api.PatchOp
		next := len(vals)
		for _, k := range sortedKeys(args.Set) {
			nv := args.Set[k]
			secret := slices.Contains(args.Secret, k)
			i := slices.IndexFunc(vals, func(v api.EnvVar) bool { return v.Key == k })
			if i < 0 {
				typ := api.EnvVarDefault
				if secret {
					typ = "secret"
				}
				shown, _ := showValue(api.EnvVar{Key: k, Value: nv, Type: typ}, false)
				changes = append(changes, VarChanges{Key: Echo(k), Action: "add", New: Echo(shown)})
				add = append(add, api.PatchOp{Op: "add", Path: "/values/" + strconv.Itoa(next),
					Value: map[string]any{"key": k, "value": nv, "enabled": true, "type": typ}})
				next++
				continue
			}
			old := vals[i]
			oldShown, _ := showValue(old, false)
			probe := old
			probe.Value = nv
			newShown, _ := showValue(probe, false)
			if old.Value == nv && (!secret || old.Type == "secret") {
				changes = append(changes, VarChanges{Key: Echo(k), Action: "unchanged"})
				continue
			}
			changes = append(changes, VarChanges{Key: Echo(k), Action: "change", Old: Echo(oldShown), New: Echo(newShown)})
			if old.Value != nv {
				replace = append(replace, api.PatchOp{Op: "replace", Path: fmt.Sprintf("/values/%d/value", i), Value: nv})
			}
			if secret && old.Type != "secret" {
				replace = append(replace, api.PatchOp{Op: "replace", Path: fmt.Sprintf("/values/%d/type", i), Value: "secret"})
			}
		}
		return changes, replace, add
	})
}

func unsetEnvironmentVariables(ctx context.Context, env *Env, args unsetEnvVarsArgs) (EnvDiff, error) {
	return changeEnvironment(ctx, env, args.Environment, args.DryRun || !args.Confirm, func(vals []api.EnvVar) ([]VarChanges, []api.PatchOp, []api.PatchOp) {
		var changes []VarChanges
		var idx []int
		for _, k := range args.Keys {
			i := slices.IndexFunc(vals, func(v api.EnvVar) bool { return v.Key == k })
			if i < 0 {
				changes = append(changes, VarChanges{Key: Echo(k), Action: "unchanged"})
				continue
			}
			old, _ := showValue(vals[i], false)
			changes = append(changes, VarChanges{Key: Echo(k), Action: "remove", Old: Echo(old)})
			idx = append(idx, i)
		}
		// Remove from the highest index down so each index still points at the variable it was computed for.
		slices.Sort(idx)
		idx = slices.Compact(idx)
		var remove []api.PatchOp
		for j := len(idx) - 1; j >= 0; j-- {
			remove = append(remove, api.PatchOp{Op: "remove", Path: fmt.Sprintf("/values/%d", idx[j])})
		}
		return changes, remove, nil
	})
}

// changeEnvironment reads the environment, computes the JSON-Patch with plan, and applies it unless dryRun.
// Postman allows one operation type per PATCH call, so each group is sent as its own call, in the order given
// (replacements and removals first, additions last, which keeps every computed index valid).
func changeEnvironment(ctx context.Context, env *Env, query string, dryRun bool,
	plan func([]api.EnvVar) ([]VarChanges, []api.PatchOp, []api.PatchOp)) (EnvDiff, error) {
	id, err := resolveEnvironment(ctx, env, query)
	if err != nil {
		return EnvDiff{}, err
	}
	e, err := env.Client.GetEnvironment(ctx, id)
	if err != nil {
		return EnvDiff{}, fmt.Errorf("get environment %s: %w", id, err)
	}
	changes, first, second := plan(e.Values)
	diff := EnvDiff{Environment: Echo(e.Name), UID: e.UIDOf(), Changes: changes}
	if dryRun || (len(first) == 0 && len(second) == 0) {
		diff.Applied = !dryRun
		return diff, nil
	}
	for _, ops := range [][]api.PatchOp{first, second} {
		if len(ops) == 0 {
			continue
		}
		if _, err := env.Client.PatchEnvironment(ctx, diff.UID, ops); err != nil {
			return EnvDiff{}, fmt.Errorf("update environment %s: %w", Echo(e.Name), err)
		}
	}
	diff.Applied = true
	return diff, nil
}

func createEnvironment(ctx context.Context, env *Env, args createEnvironmentArgs) (Change, error) {
	wr, err := resolveWorkspaceRef(ctx, env, args.Workspace)
	if err != nil {
		return Change{}, err
	}
	ws := wr.ID
	in := api.EnvironmentInput{Name: args.Name, Values: []api.EnvVar{}}
	for _, k := range sortedKeys(args.Variables) {
		typ := api.EnvVarDefault
		if slices.Contains(args.Secret, k) {
			typ = "secret"
		}
		in.Values = append(in.Values, api.EnvVar{Key: k, Value: args.Variables[k], Enabled: true, Type: typ})
	}
	ref, err := env.Client.CreateEnvironment(ctx, ws, in)
	if err != nil {
		return Change{}, fmt.Errorf("create environment %s: %w", EchoQ(args.Name), err)
	}
	return Change{Done: true, Action: "created environment", Name: Echo(firstNonEmpty(ref.Name, args.Name)), UID: ref.UID,
		Details: []string{"in workspace " + wr.label(), plural(len(in.Values), "variable", "variables")}}, nil
}

func deleteEnvironment(ctx context.Context, env *Env, args deleteEnvironmentArgs) (Change, error) {
	r, err := resolveEnvironmentRef(ctx, env, args.Environment)
	if err != nil {
		return Change{}, err
	}
	if !args.Confirm {
		e, err := env.Client.GetEnvironment(ctx, r.ID)
		if err != nil {
			return Change{}, fmt.Errorf("get environment %s: %w", r.ID, err)
		}
		return Change{Action: "delete environment", Name: Echo(e.Name), UID: firstNonEmpty(e.UIDOf(), r.ID),
			Details: []string{fmt.Sprintf("would delete %s; this cannot be undone", plural(len(e.Values), "variable", "variables")), "call again with confirm=true to delete"}}, nil
	}
	ref, err := env.Client.DeleteEnvironment(ctx, r.ID)
	if err != nil {
		return Change{}, fmt.Errorf("delete environment %s: %w", r.ID, err)
	}
	return Change{Done: true, Action: "deleted environment", Name: Echo(firstNonEmpty(r.Name, r.ID)), UID: firstNonEmpty(ref.UID, r.ID)}, nil
}
