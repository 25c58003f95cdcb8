package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"

	"github.com/pmops/pmops/internal/api"
)

// maskRun hides what a finished monitor run must not show anywhere it goes next (the tool result, the run log,
// the notifier's history and Slack): the values of its environment's secret variables, and credentials in URLs,
// headers and messages, in its failures and executions. The environment is read (one call) only when the run
// failed and names one; without it, credentials are still masked by their names.
func maskRun(ctx context.Context, env *Env, run api.MonitorRun) api.MonitorRun {
	if len(run.Failures) == 0 && len(run.Executions) == 0 {
		return run
	}
	var secrets []string
	if uid := run.Info.EnvironmentUID; uid != "" && len(run.Failures) > 0 {
		if e, err := env.Client.GetEnvironment(ctx, uid); err == nil {
			for _, v := range e.Values {
				if v.Value != "" && looksSecret(v.Key, v.Type, v.Secret) {
					secrets = append(secrets, v.Value)
				}
			}
		}
	}
	out := run
	out.Failures = make([]json.RawMessage, 0, len(run.Failures))
	for _, raw := range run.Failures {
		if m, ok := maskJSON(raw, secrets); ok {
			out.Failures = append(out.Failures, m)
		} // an undecodable failure is dropped: it cannot be read, so it cannot be masked either
	}
	out.Executions = make([]api.Execution, len(run.Executions))
	for i, x := range run.Executions {
		x.Request.URL = maskText(x.Request.URL, secrets)
		x.Request.Headers = maskHeaders(x.Request.Headers, secrets)
		x.Response.Headers = maskHeaders(x.Response.Headers, secrets)
		x.Errors = append([]api.ExecutionError(nil), x.Errors...)
		for j := range x.Errors {
			x.Errors[j].Message = maskText(x.Errors[j].Message, secrets)
		}
		if m, ok := maskJSON(x.Assertions, secrets); ok {
			x.Assertions = m
		} else {
			x.Assertions = nil
		}
		out.Executions[i] = x
	}
	return out
}

func maskHeaders(h api.HeaderMap, secrets []string) api.HeaderMap {
	if h == nil {
		return nil
	}
	out := maps.Clone(h)
	for k, v := range out {
		if looksSecret(k, "", false) && v != "" {
			out[k] = masked
		} else {
			out[k] = maskText(v, secrets)
		}
	}
	return out
}

// maskJSON masks every string of a JSON document; ok is false when it is not JSON.
func maskJSON(raw json.RawMessage, secrets []string) (json.RawMessage, bool) {
	if len(raw) == 0 {
		return raw, true
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	b, err := json.Marshal(maskValue(v, secrets))
	return b, err == nil
}

func maskValue(v any, secrets []string) any {
	switch x := v.(type) {
	case string:
		return maskText(x, secrets)
	case map[string]any:
		for k, e := range x {
			x[k] = maskValue(e, secrets)
		}
	case []any:
		for i, e := range x {
			x[i] = maskValue(e, secrets)
		}
	}
	return v
}
