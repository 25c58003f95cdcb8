package tools

import (
	"context"
	"encoding/json"
	"fmt"
)

// workspaceGlobals returns a workspace's enabled global variables as a Newman globals document (nil when there are
// none), and the values to mask in the run's output.
func workspaceGlobals(ctx context.Context, env *Env, wsID string) (json.RawMessage, []string, error) {
	vars, err := env.Client.GetGlobalVariables(ctx, wsID)
	if err != nil {
		return nil, nil, fmt.Errorf("get the global variables of workspace %s: %w", wsID, err)
	}
	var values []map[string]any
	var secrets []string
	for _, v := range vars {
		if !v.Enabled {
			continue
		}
		values = append(values, map[string]any{"key": v.Key, "value": v.Value, "enabled": true, "type": firstNonEmpty(v.Type, "default")})
		if looksSecret(v.Key, v.Type, false) {
			secrets = append(secrets, v.Value)
		}
	}
	if len(values) == 0 {
		return nil, nil, nil
	}
	doc, err := json.Marshal(map[string]any{"name": "globals", "values": values})
	return doc, secrets, err
}
