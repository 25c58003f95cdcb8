package tools

import (
	"strings"
	"testing"
)

// TestConventionsAreInTheInstructions: an argument description left out of schemas must be said once in the
// server instructions, whatever the selection; and toolsets not served are named so an assistant can point at them.
func TestConventionsAreInTheInstructions(t *testing.T) {
	sel, err := Select(Selection{Tools: []string{"get_account"}})
	if err != nil {
		t.Fatal(err)
	}
	text := Instructions(sel)
	for _, says := range []string{"name, ID or UID", "name or ID", "next_cursor", "confirm=true", "preview"} {
		if !strings.Contains(text, says) {
			t.Errorf("instructions do not say %q:\n%s", says, text)
		}
	}
	for _, ts := range []string{"runs (", "monitors (", "mocks ("} {
		if !strings.Contains(text, ts) {
			t.Errorf("instructions do not name the unserved toolset %q:\n%s", ts, text)
		}
	}
	all, _ := Select(Selection{Toolsets: []string{"all"}})
	if strings.Contains(Instructions(all), "Not enabled") {
		t.Error("instructions list missing toolsets although every toolset is served")
	}
}
