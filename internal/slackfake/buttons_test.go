package slackfake

import "testing"

func TestButtonActionID(t *testing.T) {
	blocks := []byte(`[{"type":"section","text":{"type":"mrkdwn","text":"Re-run?"}},{"type":"context","elements":[{"type":"mrkdwn","text":"Only you"}]},{"type":"actions","elements":[` +
		`{"type":"static_select","action_id":"pick","placeholder":{"type":"plain_text","text":"Re-run"}},` +
		`{"type":"button","action_id":"a:cancel","text":{"type":"plain_text","text":"Cancel"}},` +
		`{"type":"button","action_id":"a:rerun","text":{"type":"plain_text","text":"Re-run"}}]}]`)
	for _, tt := range []struct {
		label, want string
		ok          bool
	}{{"Re-run", "a:rerun", true}, {"Cancel", "a:cancel", true}, {"Delete", "", false}} {
		if got, ok := ButtonActionID(blocks, tt.label); got != tt.want || ok != tt.ok {
			t.Errorf("ButtonActionID(%q) = %q, %v; want %q, %v", tt.label, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := ButtonActionID([]byte(`not json`), "x"); ok {
		t.Error("found a button in garbage")
	}
}
