package emulator

import (
	"fmt"
	"net/http"
	"strings"
)

type environmentSummary struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
	Owner     string `json:"owner"`
	UID       string `json:"uid"`
	IsPublic  bool   `json:"isPublic"`
}

func (c *call) listEnvironments() reply {
	ws := c.query.Get("workspace")
	out := []environmentSummary{}
	for _, v := range byOrder(c.e.environments, envOrder) {
		if !c.e.canSeeIn(c.user, v.workspaceID) || (ws != "" && v.workspaceID != ws) {
			continue
		}
		out = append(out, environmentSummary{ID: v.id, Name: v.name, CreatedAt: ts(v.createdAt), UpdatedAt: ts(v.updatedAt),
			Owner: fmt.Sprint(v.owner), UID: v.uid(), IsPublic: v.isPublic})
	}
	return ok(map[string]any{"environments": out})
}

// valuesOut renders variables as the API shows them: a vault secret (secret: true) has no readable value.
func valuesOut(vals []envValue) []envValue {
	out := make([]envValue, len(vals))
	for i, v := range vals {
		if v.Secret != nil && *v.Secret && (v.Value == nil || *v.Value == "") {
			v.Value = nil
		}
		out[i] = v
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// envValueFrom converts one decoded variable object. It returns the offending field and the JSON type expected when
// a field has the wrong type ("" field means the whole value is not an object).
func envValueFrom(v any) (val envValue, field, expected, got string) {
	m, okM := v.(map[string]any)
	if !okM {
		return envValue{}, "", "object", jsonType(v)
	}
	val = envValue{Value: ptr(""), Enabled: ptr(true), Type: "default"}
	for _, k := range sortedKeys(m) {
		x := m[k]
		switch k {
		case "key":
			s, okS := x.(string)
			if !okS {
				return envValue{}, k, "string", jsonType(x)
			}
			val.Key = s
		case "value":
			s, okS := x.(string)
			if !okS {
				return envValue{}, k, "string", jsonType(x)
			}
			val.Value = &s
		case "enabled":
			b, okB := x.(bool)
			if !okB {
				return envValue{}, k, "boolean", jsonType(x)
			}
			val.Enabled = &b
		case "type":
			s, okS := x.(string)
			if !okS || (s != "default" && s != "secret") {
				return envValue{}, k, `"default" or "secret"`, jsonType(x)
			}
			val.Type = s
		case "description":
			s, okS := x.(string)
			if !okS {
				return envValue{}, k, "string", jsonType(x)
			}
			val.Description = &s
		case "secret":
			b, okB := x.(bool)
			if !okB {
				return envValue{}, k, "boolean", jsonType(x)
			}
			val.Secret = &b
		case "source":
			s, okS := x.(map[string]any)
			if !okS {
				return envValue{}, k, "object", jsonType(x)
			}
			val.Source = s
		}
	}
	if _, has := m["key"]; !has {
		return envValue{}, "key", "string", "undefined"
	}
	return val, "", "", ""
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	default:
		return "number"
	}
}

func malformedEnvironment(msg string) reply {
	return legacy(http.StatusBadRequest, "malformedRequestError", msg)
}

func malformedEnvironmentDetails(details ...string) reply {
	return legacyDetails(http.StatusBadRequest, "malformedRequestError",
		fmt.Sprintf("Found %d errors with the supplied environment.", len(details)), details)
}

// environmentBody parses a POST/PUT body. nameRequired is true for POST.
func environmentBody(body []byte, nameRequired bool) (name *string, values []envValue, valuesSet bool, rep *reply) {
	fail := func(r reply) (*string, []envValue, bool, *reply) { return nil, nil, false, &r }
	v, err := decodeJSON(body)
	if err != nil {
		return fail(malformedEnvironmentDetails("must be valid JSON (" + err.Error() + ")"))
	}
	top, okTop := v.(map[string]any)
	if !okTop {
		return fail(malformedEnvironment(fmt.Sprintf("Invalid type: %s (expected object) at body", jsonType(v))))
	}
	raw, has := top["environment"]
	if !has {
		return fail(malformedEnvironmentDetails("must have required property 'environment'"))
	}
	env, okEnv := raw.(map[string]any)
	if !okEnv {
		return fail(malformedEnvironment(fmt.Sprintf("Invalid type: %s (expected object) at environment", jsonType(raw))))
	}
	if n, has := env["name"]; has {
		s, okS := n.(string)
		if !okS {
			return fail(malformedEnvironment(fmt.Sprintf("Invalid type: %s (expected string) at environment.name", jsonType(n))))
		}
		if strings.TrimSpace(s) == "" {
			return fail(malformedEnvironmentDetails("environment.name: must NOT have fewer than 1 characters"))
		}
		name = &s
	} else if nameRequired {
		return fail(malformedEnvironmentDetails("environment: must have required property 'name'"))
	}
	if rv, has := env["values"]; has {
		arr, okA := rv.([]any)
		if !okA {
			return fail(malformedEnvironment(fmt.Sprintf("Invalid type: %s (expected array) at environment.values", jsonType(rv))))
		}
		values = make([]envValue, 0, len(arr))
		for i, it := range arr {
			val, field, expected, got := envValueFrom(it)
			if expected != "" {
				at := fmt.Sprintf("environment.values.%d", i)
				if field != "" {
					at += "." + field
				}
				if got == "undefined" {
					return fail(malformedEnvironmentDetails(at[:strings.LastIndex(at, ".")] + ": must have required property '" + field + "'"))
				}
				return fail(malformedEnvironment(fmt.Sprintf("Invalid type: %s (expected %s) at %s", got, expected, at)))
			}
			values = append(values, val)
		}
		valuesSet = true
	}
	return name, values, valuesSet, nil
}

func (c *call) createEnvironment() reply {
	name, values, _, rep := environmentBody(c.body, true)
	if rep != nil {
		return *rep
	}
	w, rep := c.targetWorkspace()
	if rep != nil {
		return *rep
	}
	if values == nil {
		values = []envValue{}
	}
	v := &environment{id: c.e.newID("environment"), owner: c.user.ID, workspaceID: w.id, name: *name, values: values,
		createdAt: c.now, updatedAt: c.now, order: c.e.nextOrder()}
	c.e.environments[v.id] = v
	return ok(map[string]any{"environment": elemRef{ID: v.id, Name: v.name, UID: v.uid()}})
}

func environmentNotFoundGet() reply {
	return legacy(http.StatusNotFound, "instanceNotFoundError", "We could not find the environment you are looking for")
}

func environmentNotFound() reply {
	return legacy(http.StatusNotFound, "instanceNotFoundError", "The specified environment does not exist.")
}

type environmentOut struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Owner     string     `json:"owner"`
	CreatedAt string     `json:"createdAt"`
	UpdatedAt string     `json:"updatedAt"`
	Values    []envValue `json:"values"`
	IsPublic  *bool      `json:"isPublic,omitempty"`
	UID       string     `json:"uid,omitempty"`
}

func (c *call) getEnvironment() reply {
	v := c.e.findEnvironment(c.user, c.params["environmentId"])
	if v == nil {
		return environmentNotFoundGet()
	}
	return ok(map[string]any{"environment": environmentOut{ID: v.id, Name: v.name, Owner: fmt.Sprint(v.owner),
		CreatedAt: ts(v.createdAt), UpdatedAt: ts(v.updatedAt), Values: valuesOut(v.values), IsPublic: ptr(v.isPublic)}})
}

func (c *call) putEnvironment() reply {
	v := c.e.findEnvironment(c.user, c.params["environmentId"])
	if v == nil {
		return environmentNotFound()
	}
	name, values, valuesSet, rep := environmentBody(c.body, false)
	if rep != nil {
		return *rep
	}
	if name != nil {
		v.name = *name
	}
	if valuesSet {
		v.values = values
	}
	v.updatedAt = c.now
	return ok(map[string]any{"environment": elemRef{ID: v.id, Name: v.name, UID: v.uid()}})
}

func (c *call) deleteEnvironment() reply {
	v := c.e.findEnvironment(c.user, c.params["environmentId"])
	if v == nil {
		return environmentNotFound()
	}
	delete(c.e.environments, v.id)
	return ok(map[string]any{"environment": map[string]string{"id": v.id, "uid": v.uid()}})
}
