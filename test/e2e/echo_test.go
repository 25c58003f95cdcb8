package e2e

import (
	"context"
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

// TestCursorErrors: every tool that takes a cursor answers a garbage cursor, or another tool's, with an
// invalid-argument isError naming the tool that issues such cursors; never an internal error.
func TestCursorErrors(t *testing.T) {
	t.Parallel()
	for _, ad := range adapters {
		for _, tl := range tools.All() {
			props, _, _ := namingArgs(tl)
			if _, ok := props["cursor"]; !ok {
				continue
			}
			t.Run(ad.name+"/"+tl.Name, func(t *testing.T) {
				w := newWorld(t)
				var sc struct {
					NextCursor string `json:"next_cursor"`
				}
				res, err := tools.Lookup("list_environments")
				if !err {
					t.Fatal("no list_environments")
				}
				r, cerr := res.Call(context.Background(), w.env, []byte(`{"limit":1}`))
				if cerr != nil {
					t.Fatal(cerr)
				}
				b, _ := json.Marshal(r)
				_ = json.Unmarshal(b, &sc)
				foreign := sc.NextCursor
				for _, c := range []struct{ cursor, want string }{
					{"garbage", tl.Name},
					{foreign, "list_environments"},
				} {
					if tl.Name == "list_environments" && c.cursor == foreign {
						continue
					}
					args := argsFor(tl, w)
					args["cursor"] = c.cursor
					got := ad.call(t, w, tl.Name, args)
					if !got.isError || !strings.Contains(got.text, c.want) || strings.Contains(got.text, "internal error") {
						t.Errorf("cursor %q: isError=%v %s", c.cursor, got.isError, got.text)
					}
				}
			})
		}
	}
}
