package slackrender

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/slackfake"
)

// tokens is a fake Options.Token: it hands out tok-1, tok-2, … and remembers the action behind each.
type tokens struct {
	n       int
	actions map[string]Action
}

func newTokens() *tokens { return &tokens{actions: map[string]Action{}} }

func (t *tokens) token(a Action) string {
	t.n++
	tok := fmt.Sprintf("tok-%d", t.n)
	t.actions[tok] = a
	return tok
}

func (t *tokens) opts() Options {
	return Options{Token: t.token, Shareable: true}
}

type goldenMessage struct {
	Text      string         `json:"text"`
	InChannel bool           `json:"in_channel,omitempty"`
	Blocks    slack.Blocks   `json:"blocks"`
	More      *goldenMessage `json:"more,omitempty"`
}

type goldenAction struct {
	Kind    ActionKind     `json:"kind"`
	Tool    string         `json:"tool,omitempty"`
	Args    map[string]any `json:"args,omitempty"`
	Label   string         `json:"label,omitempty"`
	Danger  bool           `json:"danger,omitempty"`
	Message string         `json:"message,omitempty"` // the text of the message the action shows
}

func toGolden(m Message) *goldenMessage {
	g := &goldenMessage{Text: m.Text, InChannel: m.InChannel, Blocks: slack.Blocks{BlockSet: m.Blocks}}
	if g.Blocks.BlockSet == nil {
		g.Blocks.BlockSet = []slack.Block{}
	}
	if m.More != nil {
		g.More = toGolden(*m.More)
	}
	return g
}

// goldenJSON is what a golden file holds: the message chain and the actions behind its button tokens.
func goldenJSON(t *testing.T, m Message, tk *tokens) []byte {
	t.Helper()
	out := struct {
		Message *goldenMessage          `json:"message"`
		Tokens  map[string]goldenAction `json:"tokens,omitempty"`
	}{Message: toGolden(m)}
	if tk != nil && len(tk.actions) > 0 {
		out.Tokens = map[string]goldenAction{}
		for tok, a := range tk.actions {
			ga := goldenAction{Kind: a.Kind, Tool: a.Tool, Args: a.Args, Label: a.Label, Danger: a.Danger}
			if a.Message != nil {
				ga.Message = a.Message.Text
				if a.Message.InChannel {
					ga.Message += " [in channel]"
				}
			}
			out.Tokens[tok] = ga
		}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatalf("marshal golden: %v", err)
	}
	// Golden files show <, > and & as they are sent; Go's JSON encoder writes them as \u escapes.
	b = bytes.NewBufferString(strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(b))).Bytes()
	return append(b, '\n')
}

// checkMessage checks a message chain three ways: the package's own Validate, an independent walk over the JSON
// Slack would receive, and the Slack fake's Block Kit validator.
func checkMessage(t testing.TB, m Message) {
	t.Helper()
	if err := Validate(m); err != nil {
		t.Errorf("Validate: %v", err)
	}
	for page := 1; ; page++ {
		raw, err := json.Marshal(slack.Blocks{BlockSet: m.Blocks})
		if err != nil {
			t.Fatalf("page %d: marshal blocks: %v", page, err)
		}
		for _, problem := range independentCheck(m.Text, raw) {
			t.Errorf("page %d: %s", page, problem)
		}
		for _, e := range slackfake.ValidateBlocks(raw, slackfake.SurfaceMessage) {
			t.Errorf("page %d: slackfake: %s", page, e)
		}
		for _, b := range m.Blocks {
			if a, ok := b.(*slack.ActionBlock); ok {
				for _, el := range a.Elements.ElementSet {
					btn := el.(*slack.ButtonBlockElement)
					if btn.ActionID == ActionIDPrefix+string(ActionMore) && m.More == nil && btn.Value == "" {
						t.Errorf("page %d: More button without a page behind it", page)
					}
				}
			}
		}
		if m.More == nil {
			return
		}
		m = *m.More
	}
}

var dateToken = regexp.MustCompile(`<!date\^[0-9]+\^\{date_short_pretty\} \{time\}\|([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC)>`)

// independentCheck re-derives Slack's limits from the JSON alone, without the package's code.
func independentCheck(text string, raw []byte) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	chars := func(s string) int { return utf8.RuneCountInString(s) }
	markupOK := func(where, s string) {
		s = dateToken.ReplaceAllString(s, "$1") // the one <!…> allowed: a date each reader sees in their own zone
		if strings.Contains(s, "<!") {
			bad("%s: contains <!: %q", where, s)
		}
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '<':
				rest := s[i:]
				end := strings.IndexByte(rest, '>')
				if end < 0 {
					bad("%s: unclosed < in %q", where, s)
					continue
				}
				inner := rest[1:end]
				switch {
				case strings.HasPrefix(inner, "@"):
					id := inner[1:]
					if len(id) < 3 || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" || (id[0] != 'U' && id[0] != 'W') {
						bad("%s: mention %q is not a user ID", where, inner)
					}
				case strings.HasPrefix(inner, "https://") || strings.HasPrefix(inner, "http://"):
					target, _, ok := strings.Cut(inner, "|")
					if !ok || strings.ContainsAny(target, " \t\n<") || strings.Contains(inner, "<") {
						bad("%s: link %q", where, inner)
					}
				default:
					bad("%s: control sequence <%s>", where, inner)
				}
				i += end
			case '>':
				bad("%s: stray > in %q", where, s)
			case '&':
				rest := s[i:]
				if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
					bad("%s: bare & in %q", where, s)
				}
			}
		}
	}
	if strings.TrimSpace(text) == "" || chars(text) > 40000 {
		bad("fallback text length %d", chars(text))
	}
	markupOK("fallback text", text)

	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return append(problems, "blocks are not a JSON array of objects: "+err.Error())
	}
	if len(blocks) > 50 {
		bad("%d blocks", len(blocks))
	}
	total := 0
	ids := map[string]bool{}
	var textObj func(where string, v any, max int, plainOnly bool)
	textObj = func(where string, v any, max int, plainOnly bool) {
		o, ok := v.(map[string]any)
		if !ok {
			bad("%s: not a text object", where)
			return
		}
		s, _ := o["text"].(string)
		typ, _ := o["type"].(string)
		total += chars(s)
		if strings.TrimSpace(s) == "" {
			bad("%s: empty text", where)
		}
		if chars(s) > max {
			bad("%s: %d chars > %d", where, chars(s), max)
		}
		switch typ {
		case "plain_text":
		case "mrkdwn":
			if plainOnly {
				bad("%s: must be plain_text", where)
			}
			if v, _ := o["verbatim"].(bool); !v {
				bad("%s: mrkdwn is not verbatim", where)
			}
			markupOK(where, s)
		default:
			bad("%s: text type %q", where, typ)
		}
	}
	for i, b := range blocks {
		where := fmt.Sprintf("block %d", i)
		if id, _ := b["block_id"].(string); id != "" {
			if ids[id] {
				bad("%s: duplicate block_id %q", where, id)
			}
			ids[id] = true
		}
		switch b["type"] {
		case "header":
			textObj(where+" header", b["text"], 150, true)
		case "section":
			if b["text"] != nil {
				textObj(where+" text", b["text"], 3000, false)
			}
			fields, _ := b["fields"].([]any)
			if len(fields) > 10 {
				bad("%s: %d fields", where, len(fields))
			}
			for j, f := range fields {
				textObj(fmt.Sprintf("%s field %d", where, j), f, 2000, false)
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				bad("%s: %d context elements", where, len(els))
			}
			for j, e := range els {
				textObj(fmt.Sprintf("%s element %d", where, j), e, 3000, false)
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 25 {
				bad("%s: %d action elements", where, len(els))
			}
			for j, e := range els {
				btn, _ := e.(map[string]any)
				w := fmt.Sprintf("%s button %d", where, j)
				textObj(w, btn["text"], 75, true)
				if v, _ := btn["value"].(string); v == "" || len(v) > 2000 {
					bad("%s: value length %d", w, len(v))
				}
				if c, ok := btn["confirm"].(map[string]any); ok {
					textObj(w+" confirm title", c["title"], 100, true)
					textObj(w+" confirm text", c["text"], 300, false)
					textObj(w+" confirm confirm", c["confirm"], 30, true)
				}
			}
		case "divider":
		default:
			bad("%s: unexpected type %v", where, b["type"])
		}
	}
	if total > 12000 {
		bad("blocks hold %d characters in all, above Slack's cumulative cap", total)
	}
	return problems
}

// texts lists every text in a message chain: fallback texts and the text of every text object.
func texts(m Message) (mrkdwn, plain []string) {
	for {
		mrkdwn = append(mrkdwn, m.Text)
		raw, _ := json.Marshal(slack.Blocks{BlockSet: m.Blocks})
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				if typ, ok := v["type"].(string); ok {
					if s, ok := v["text"].(string); ok {
						if typ == "mrkdwn" {
							mrkdwn = append(mrkdwn, s)
						} else if typ == "plain_text" {
							plain = append(plain, s)
						}
					}
				}
				keys := make([]string, 0, len(v))
				for k := range v {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					walk(v[k])
				}
			case []any:
				for _, x := range v {
					walk(x)
				}
			}
		}
		var v any
		_ = json.Unmarshal(raw, &v)
		walk(v)
		if m.More == nil {
			return
		}
		m = *m.More
	}
}

func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
