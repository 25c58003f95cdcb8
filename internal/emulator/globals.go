package emulator

import (
	"fmt"
	"net/http"
	"unicode/utf8"
)

// globalVar is one of a workspace's global variables.
type globalVar struct {
	Key         string `json:"key"`
	Type        string `json:"type"`
	Value       string `json:"value"`
	Enabled     bool   `json:"enabled"`
	Description string `json:"description,omitempty"`
}

func (c *call) globalsWorkspace() (*workspace, *reply) {
	w := c.e.visibleWorkspace(c.user, c.params["workspaceId"])
	if w == nil {
		rep := reply{status: http.StatusNotFound, ctype: ctJSON, body: legacyError{Error: legacyErrorBody{Name: "workspaceNotFoundError",
			Message: "Workspace not found", StatusCode: http.StatusNotFound}}}
		return nil, &rep
	}
	return w, nil
}

func (c *call) getGlobals() reply {
	w, rep := c.globalsWorkspace()
	if rep != nil {
		return *rep
	}
	vals := w.globals
	if vals == nil {
		vals = []globalVar{}
	}
	return ok(map[string]any{"values": vals})
}

// putGlobals replaces every global variable of the workspace.
func (c *call) putGlobals() reply {
	w, rep := c.globalsWorkspace()
	if rep != nil {
		return *rep
	}
	v, err := decodeJSON(c.body)
	top, _ := v.(map[string]any)
	raw, has := top["values"]
	list, okList := raw.([]any)
	if err != nil || !has || !okList {
		return legacyDetails(http.StatusBadRequest, "paramMissingError", "Parameter is missing in the request.", map[string]any{"param": []string{"values"}})
	}
	vals := make([]globalVar, 0, len(list))
	for i, x := range list {
		m, okM := x.(map[string]any)
		key, okK := m["key"].(string)
		if !okM || !okK || key == "" {
			return invalidParams(fmt.Sprintf("values[%d]", i), "key")
		}
		gv := globalVar{Key: key, Type: "default", Enabled: true}
		if t, has := m["type"]; has {
			s, _ := t.(string)
			if s != "default" && s != "secret" {
				return invalidParams(fmt.Sprintf("values[%d].type", i), fmt.Sprint(t))
			}
			gv.Type = s
		}
		if val, has := m["value"]; has && val != nil {
			s, okS := val.(string)
			if !okS {
				return invalidParams(fmt.Sprintf("values[%d].value", i), fmt.Sprint(val))
			}
			gv.Value = s
		}
		if en, has := m["enabled"]; has {
			b, okB := en.(bool)
			if !okB {
				return invalidParams(fmt.Sprintf("values[%d].enabled", i), fmt.Sprint(en))
			}
			gv.Enabled = b
		}
		if d, has := m["description"]; has && d != nil {
			s, okS := d.(string)
			if !okS || utf8.RuneCountInString(s) > 512 {
				return invalidParams(fmt.Sprintf("values[%d].description", i), "description")
			}
			gv.Description = s
		}
		vals = append(vals, gv)
	}
	w.globals = vals
	w.updatedAt = c.now
	return ok(map[string]any{"values": vals})
}
