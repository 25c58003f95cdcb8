package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// PATCH /environments/{id} takes a JSON-Patch-like array of add/replace/remove operations on /name and
// /values/<n>[/<field>]. The operations apply in order to a copy; any error leaves the environment untouched.
// The vendor says one operation type per call, yet its own "Remove and Add Variable" example mixes two, so mixing
// is allowed here.

var patchFields = map[string]bool{"key": true, "value": true, "enabled": true, "type": true, "description": true, "secret": true, "source": true}

type patchError struct{ rep reply }

func patchBad(detail any, instance string) *patchError {
	return &patchError{problemReply(http.StatusBadRequest, "bad-request", "Bad Request", detail, instance)}
}

func (c *call) patchEnvironment() reply {
	ref := c.params["environmentId"]
	instance := "/environments/" + ref
	if _, _, okRef := splitRef(ref); !okRef {
		return problemReply(http.StatusBadRequest, "bad-request", "Bad Request", "Invalid Environment ID", instance)
	}
	v := c.e.findEnvironment(c.user, ref)
	if v == nil {
		return environmentNotFound()
	}
	parsed, err := decodeJSON(c.body)
	ops, isArray := parsed.([]any)
	if err != nil || !isArray {
		return patchBad("Patch sequence must be an array", "").rep
	}
	name := v.name
	values := slices.Clone(v.values)
	for i, raw := range ops {
		if perr := applyEnvPatchOp(i, raw, &name, &values, instance); perr != nil {
			return perr.rep
		}
	}
	v.name, v.values, v.updatedAt = name, values, c.now
	return ok(map[string]any{"environment": environmentOut{ID: v.id, Name: v.name, Owner: fmt.Sprint(v.owner),
		CreatedAt: ts(v.createdAt), UpdatedAt: ts(v.updatedAt), Values: valuesOut(v.values), UID: v.uid()}})
}

func applyEnvPatchOp(i int, raw any, name *string, values *[]envValue, instance string) *patchError {
	m, okM := raw.(map[string]any)
	if !okM {
		return patchBad([]string{fmt.Sprintf("/%d: must be an object", i)}, "")
	}
	op, _ := m["op"].(string)
	if op != "add" && op != "replace" && op != "remove" {
		return patchBad([]string{fmt.Sprintf("/%d/op: must be equal to one of the allowed values", i)}, "")
	}
	path, okPath := m["path"].(string)
	if !okPath || !strings.HasPrefix(path, "/") {
		return patchBad("Invalid path in JSON Patch operation", instance)
	}
	value, hasValue := m["value"]
	if op != "remove" && (!hasValue || value == nil) {
		return patchBad("Patch operations with empty value are not supported", "")
	}
	segs := strings.Split(path[1:], "/")
	for j, s := range segs {
		segs[j] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	invalidPath := patchBad("Invalid path in JSON Patch operation", instance)
	missing := patchBad("Cannot perform the operation at a path that does not exist", instance)

	if len(segs) == 1 && segs[0] == "name" {
		if op == "remove" {
			return invalidPath
		}
		s, okS := value.(string)
		if !okS || strings.TrimSpace(s) == "" {
			return patchBad([]string{path + ": must be a non-empty string"}, "")
		}
		*name = s
		return nil
	}
	if len(segs) < 2 || len(segs) > 3 || segs[0] != "values" {
		return invalidPath
	}
	vals := *values
	var idx int
	if segs[1] == "-" && op == "add" && len(segs) == 2 {
		idx = len(vals)
	} else {
		n, err := strconv.Atoi(segs[1])
		if err != nil || n < 0 || segs[1] != strconv.Itoa(n) {
			return invalidPath
		}
		idx = n
	}
	if len(segs) == 2 {
		switch op {
		case "add":
			if idx > len(vals) {
				return missing
			}
			val, perr := patchValue(path, value)
			if perr != nil {
				return perr
			}
			*values = slices.Insert(vals, idx, val)
		case "replace":
			if idx >= len(vals) {
				return missing
			}
			val, perr := patchValue(path, value)
			if perr != nil {
				return perr
			}
			vals[idx] = val
		case "remove":
			if idx >= len(vals) {
				return missing
			}
			*values = slices.Delete(vals, idx, idx+1)
		}
		return nil
	}
	field := segs[2]
	if !patchFields[field] {
		return invalidPath
	}
	if idx >= len(vals) {
		return missing
	}
	target := vals[idx]
	if op == "remove" {
		switch field {
		case "key", "value": // "Unshare Variable": the shared value is no longer synced
			target.Value = ptr("")
		case "description":
			target.Description = nil
		case "secret", "source":
			target.Secret, target.Source = nil, nil
		default:
			return invalidPath
		}
		vals[idx] = target
		return nil
	}
	bad := func(what string) *patchError { return patchBad([]string{path + ": must be " + what}, "") }
	switch field {
	case "key":
		s, okS := value.(string)
		if !okS || s == "" {
			return bad("a non-empty string")
		}
		target.Key = s
	case "value":
		s, okS := value.(string)
		if !okS {
			return bad("a string")
		}
		target.Value = &s
	case "description":
		s, okS := value.(string)
		if !okS {
			return bad("a string")
		}
		target.Description = &s
	case "enabled", "secret":
		b, okB := value.(bool)
		if !okB {
			return bad("a boolean")
		}
		if field == "enabled" {
			target.Enabled = &b
		} else {
			target.Secret = &b
		}
	case "type":
		s, okS := value.(string)
		if !okS || (s != "default" && s != "secret") {
			return bad("equal to one of the allowed values")
		}
		target.Type = s
	case "source":
		s, okS := value.(map[string]any)
		if !okS {
			return bad("an object")
		}
		target.Source = s
	}
	vals[idx] = target
	return nil
}

func patchValue(path string, value any) (envValue, *patchError) {
	val, field, expected, got := envValueFrom(value)
	if expected == "" {
		return val, nil
	}
	if field == "" {
		return envValue{}, patchBad([]string{path + ": must be an object"}, "")
	}
	if got == "undefined" {
		return envValue{}, patchBad([]string{path + ": must have required property '" + field + "'"}, "")
	}
	article := "a "
	if strings.HasPrefix(expected, `"`) {
		article = "one of "
	}
	return envValue{}, patchBad([]string{path + "/" + field + ": must be " + article + expected}, "")
}
