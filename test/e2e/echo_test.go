package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pmops/pmops/internal/tools"
)

// TestEchoesAreCapped feeds a 1 MB value to every string argument of every tool (names, keys, cursors, cron…),
// one at a time with the other arguments valid, through MCP and `mcp call`, and bounds the whole answer: text
// and structured content together stay small, and no more than 200 characters of the input come back.
func TestEchoesAreCapped(t *testing.T) {
	t.Parallel()
	const unit = "ünïcødé-"
	huge := strings.Repeat(unit, (1<<20)/len(unit))
	echoed := strings.Repeat(unit, 201/len([]rune(unit))+1) // 208 characters of the input
	for _, ad := range adapters {
		for _, tl := range tools.All() {
			props, _, _ := namingArgs(tl)
			for name, p := range props {
				typ, _ := p["type"].(string)
				if typ != "string" && !(typ == "array" && strings.Contains(string(mustJSON(p["items"])), "string")) {
					continue
				}
				t.Run(ad.name+"/"+tl.Name+"/"+name, func(t *testing.T) {
					w := newWorld(t)
					args := argsFor(tl, w)
					delete(args, "confirm") // a preview is enough to be echoed in
					if typ == "array" {
						args[name] = []any{huge}
					} else {
						args[name] = huge
					}
					got := ad.call(t, w, tl.Name, args)
					if got.size > 32_000 {
						t.Errorf("answer is %d bytes for a 1 MB %s (isError=%v): %.300s", got.size, name, got.isError, got.text)
					}
					if strings.Contains(got.text, echoed) {
						t.Errorf("answer quotes more than 200 characters of the input: %.300s", got.text)
					}
				})
			}
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
