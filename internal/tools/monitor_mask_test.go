package tools

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/api"
)

func TestMaskRunWithoutEnvironment(t *testing.T) {
	run := api.MonitorRun{
		Failures: []json.RawMessage{
			json.RawMessage(`{"executionId":7,"message":"GET https://x.example/a?token=abc123 failed","item":{"name":"A"}}`),
			json.RawMessage(`not json`),
		},
		Executions: []api.Execution{{ID: 7, Request: api.ExecutionRequest{URL: "https://u:hunter22@x.example/a?token=abc123",
			Headers: api.HeaderMap{"Authorization": "Bearer abc123", "Accept": "*/*"}}}},
	}
	out := maskRun(t.Context(), &Env{}, run)
	b, _ := json.Marshal(out)
	for _, leak := range []string{"abc123", "hunter22"} {
		if strings.Contains(string(b), leak) {
			t.Errorf("%q left in %s", leak, b)
		}
	}
	if len(out.Failures) != 1 || !strings.Contains(string(out.Failures[0]), `"executionId":7`) {
		t.Errorf("failures: %s", b)
	}
	if out.Executions[0].Request.Headers["Accept"] != "*/*" {
		t.Errorf("a plain header was masked: %v", out.Executions[0].Request.Headers)
	}
	if !strings.Contains(string(run.Failures[0]), "abc123") {
		t.Error("maskRun changed the run it was given")
	}
}
