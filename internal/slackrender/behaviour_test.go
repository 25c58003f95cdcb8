package slackrender

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/pmops/pmops/internal/tools"
)

var injections = []string{"<!channel>", "<!here|here>", "<@U123>", "<#C024BE7LR>", "<https://evil.example|click>", "&lt;", "a > b & c", "<!date^1392734382^{date}|x>"}

func TestEscapeRoundTrips(t *testing.T) {
	for _, s := range injections {
		got := escape(s)
		if strings.ContainsAny(got, "<>") {
			t.Errorf("escape(%q) = %q still holds < or >", s, got)
		}
		if unescape(got) != s {
			t.Errorf("escape(%q) does not round-trip: %q → %q", s, got, unescape(got))
		}
	}
	if got := escape("&lt;"); got != "&amp;lt;" {
		t.Errorf(`escape("&lt;") = %q, want "&amp;lt;" so Slack shows the literal text`, got)
	}
	if got := escape(`"quotes" 'and' *stars*`); got != `"quotes" 'and' *stars*` {
		t.Errorf("escape changed more than & < >: %q", got)
	}
}

// Every injection string, put in every place a result carries outside text, comes out as literal text: in mrkdwn
// it is escaped (and unescapes to itself), in plain_text it is as it was, and no message has other markup.
func TestInjectionsStayLiteral(t *testing.T) {
	for _, evil := range injections {
		results := []tools.Result{
			tools.CollectionList{Items: []tools.CollectionRow{{Name: evil, UID: colUID, UpdatedAt: evil, ForkOf: evil}}},
			tools.EnvironmentView{Name: evil, UID: envUID, Variables: []tools.EnvVariable{{Key: evil, Value: evil, Enabled: true}}},
			tools.RunReport{Monitor: evil, UID: monUID, Summary: tools.RunSummary{Status: evil}, Note: evil,
				Failures: []tools.Failure{{Request: evil, Method: evil, URL: evil, Problems: []string{evil}}}},
			tools.MonitorList{Items: []tools.MonitorRow{{Name: evil, UID: evil, LastRun: evil, Failed: evil, Error: evil}}},
			tools.MockRow{Name: evil, UID: evil, URL: evil, Collection: evil},
			tools.Change{Done: true, Action: evil, Name: evil, UID: evil, Details: []string{evil}},
			unknownResult{evil},
		}
		for _, res := range results {
			tk := newTokens()
			m := Render(res, tk.opts())
			checkMessage(t, m)
			mrkdwn, plain := texts(m)
			found := false
			for _, s := range mrkdwn {
				if strings.Contains(unescape(allowedControl.ReplaceAllStringFunc(s, linkLabel)), evil) {
					found = true
				}
			}
			for _, s := range plain {
				if strings.Contains(s, evil) {
					found = true
				}
			}
			if !found {
				t.Errorf("%T with %q: the string is not shown literally anywhere", res, evil)
			}
		}
	}
	m := Text(strings.Join(injections, "\n"))
	checkMessage(t, m)
	if got := unescape(m.Blocks[0].(*slack.SectionBlock).Text.Text); got != strings.Join(injections, "\n") {
		t.Errorf("Text does not round-trip:\n got %q", got)
	}
}

// linkLabel keeps the label of a link the renderer built, which is where a name shows.
func linkLabel(s string) string {
	if _, label, ok := strings.Cut(strings.Trim(s, "<>"), "|"); ok {
		return label
	}
	return s
}

func TestLinks(t *testing.T) {
	tests := []struct {
		url, label, want string
	}{
		{"https://go.postman.co/collection/1-abc", "Orders", "<https://go.postman.co/collection/1-abc|Orders>"},
		{"https://x.example/a?b=1&c=2", "<b>", "<https://x.example/a?b=1&amp;c=2|&lt;b&gt;>"},
		{"javascript:alert(1)", "x", "x"},
		{"https://evil.example|click", "x", "x"},
		{"https://evil.example>", "x", "x"},
		{"https://user:pw@evil.example", "x", "x"},
		{"/relative", "x", "x"},
		{"https://ok.example", "", "<https://ok.example|https://ok.example>"},
	}
	for _, tt := range tests {
		if got := link(tt.url, tt.label); got != tt.want {
			t.Errorf("link(%q, %q) = %q, want %q", tt.url, tt.label, got, tt.want)
		}
	}
	// A bad WebURL means no deep links rather than a broken one.
	m := Render(tools.MonitorView{Name: "M", UID: monUID, Active: true}, Options{WebURL: "javascript:alert(1)"})
	raw, _ := json.Marshal(slack.Blocks{BlockSet: m.Blocks})
	if strings.Contains(string(raw), "javascript") || strings.Contains(string(raw), "View in Postman") {
		t.Errorf("bad WebURL produced a link: %s", raw)
	}
	m = Render(tools.MonitorView{Name: "M", UID: monUID, Active: true}, Options{WebURL: "https://acme.postman.co/"})
	raw, _ = json.Marshal(slack.Blocks{BlockSet: m.Blocks})
	if !strings.Contains(string(raw), `https://acme.postman.co/monitor/`+monUID+`|View in Postman`) {
		t.Errorf("custom WebURL not used: %s", raw)
	}
}

func TestDoneMentionsOnlyUserIDs(t *testing.T) {
	at := time.Date(2025, 3, 6, 14, 3, 7, 0, time.UTC)
	for _, tt := range []struct {
		actor       string
		wantMention bool
	}{{"U024BE7LH", true}, {"W012A3CDE", true}, {"U123", true}, {"<!channel>", false}, {"U024BE7LH>", false},
		{"u024be7lh", false}, {"C024BE7LR", false}, {"U024BE7LH|x", false}, {"", false}, {"Taylor Lee", false}} {
		m := Done(tt.actor, "paused monitor Nightly smoke", at)
		checkMessage(t, m)
		text := m.Blocks[0].(*slack.SectionBlock).Text.Text
		if got := strings.Contains(text, "<@"); got != tt.wantMention {
			t.Errorf("Done(%q): mention = %v, want %v (%q)", tt.actor, got, tt.wantMention, text)
		}
		if !strings.Contains(text, "paused monitor Nightly smoke") || !strings.Contains(m.Text, "paused monitor") {
			t.Errorf("Done(%q) lost what was done: %q / %q", tt.actor, text, m.Text)
		}
	}
}

const secretValue = "PMAK-64a1f0c1e2d3a4b5c6d7e8f9-0123456789abcdef0123456789abcdef01"

func TestSecretsNeverShown(t *testing.T) {
	results := []tools.Result{
		// As reveal=true returns it: Postman type secret, not masked by the tool.
		tools.EnvironmentView{Name: "Prod", UID: envUID, Variables: []tools.EnvVariable{{Key: "x", Value: secretValue, Type: "secret", Enabled: true}}},
		// Masked flag set but the value slipped through.
		tools.EnvironmentView{Name: "Prod", UID: envUID, Variables: []tools.EnvVariable{{Key: "x", Value: secretValue, Masked: true, Enabled: true}}},
		// Key says it is a key.
		tools.EnvironmentView{Name: "Prod", UID: envUID, Variables: []tools.EnvVariable{{Key: "postman_api_key", Value: secretValue, Enabled: true}}},
		tools.EnvDiff{Environment: "Prod", UID: envUID, Changes: []tools.VarChanges{{Key: "apiKey", Action: "change", Old: secretValue, New: secretValue}}},
		tools.CollectionView{Name: "C", UID: colUID, Request: &tools.RequestDetail{Path: "r", Method: "GET", URL: "https://x.example",
			Headers: []string{"X-Api-Key: " + secretValue, "Authorization: Bearer " + secretValue + " (disabled)"}}},
	}
	for _, res := range results {
		m := Render(res, newTokens().opts())
		checkMessage(t, m)
		var all strings.Builder
		for p := &m; p != nil; p = p.More {
			raw, _ := json.Marshal(slack.Blocks{BlockSet: p.Blocks})
			all.Write(raw)
			all.WriteString(p.Text)
		}
		if strings.Contains(all.String(), secretValue) || strings.Contains(all.String(), "PMAK-") {
			t.Errorf("%T: secret value shown: %s", res, all.String())
		}
		if !strings.Contains(all.String(), masked) {
			t.Errorf("%T: no mask shown", res)
		}
	}
	// Harmless values stay visible.
	m := Render(tools.EnvironmentView{Name: "Prod", UID: envUID, Variables: []tools.EnvVariable{{Key: "baseUrl", Value: "https://api.example.com", Enabled: true}}}, Options{})
	if raw, _ := json.Marshal(slack.Blocks{BlockSet: m.Blocks}); !strings.Contains(string(raw), "https://api.example.com") {
		t.Errorf("plain value masked: %s", raw)
	}
	if got := maskHeader("Authorization: Bearer {{token}}"); got != "Authorization: Bearer {{token}}" {
		t.Errorf("template header masked: %q", got)
	}
}

func TestEnforce(t *testing.T) {
	small := func(n int) []slack.Block {
		var out []slack.Block
		for i := range n {
			out = append(out, sectionBlock(fmt.Sprintf("row %d", i)))
		}
		return out
	}
	big := func(n int) []slack.Block {
		var out []slack.Block
		for range n {
			out = append(out, sectionBlock(strings.Repeat("x", MaxSectionText)))
		}
		return out
	}
	tests := []struct {
		name     string
		blocks   []slack.Block
		max      int
		fit      int
		restWant int
	}{
		{"empty", nil, 50, 0, 0},
		{"all fit", small(10), 50, 10, 0},
		{"block cap", small(60), 49, 49, 11},
		{"max out of range means 50", small(60), 0, 50, 10},
		{"char budget", big(5), 50, MaxBlocksChars / MaxSectionText, 5 - MaxBlocksChars/MaxSectionText},
		{"oversized block still goes alone", []slack.Block{fieldsOver()}, 50, 1, 0},
	}
	for _, tt := range tests {
		fit, rest := Enforce(tt.blocks, tt.max)
		if len(fit) != tt.fit || len(rest) != tt.restWant {
			t.Errorf("%s: fit %d rest %d, want %d and %d", tt.name, len(fit), len(rest), tt.fit, tt.restWant)
		}
	}
}

func fieldsOver() slack.Block {
	var f []field
	for range 10 {
		f = append(f, field{"k", strings.Repeat("y", 1900)})
	}
	return fieldBlocks(f)[0]
}

func TestWrapRaw(t *testing.T) {
	inputs := []string{
		"", "short", strings.Repeat("a", 10000), strings.Repeat("é日🚚", 3000), strings.Repeat("<&>", 2000),
		strings.Repeat("line of text\n", 800), "\n\nleading newlines", "trailing\n\n", "\xff\xfe invalid utf-8 \xc3",
	}
	for _, in := range inputs {
		for _, max := range []int{5, 100, MaxSectionText} {
			chunks := wrapRaw(in, max)
			for _, c := range chunks {
				if !utf8.ValidString(c) {
					t.Fatalf("wrapRaw(%.20q, %d): invalid UTF-8 chunk (split mid-rune)", in, max)
				}
				if n := textLen(escape(c)); n > max {
					t.Fatalf("wrapRaw(%.20q, %d): chunk is %d long escaped", in, max, n)
				}
			}
			if got, want := strings.ReplaceAll(strings.Join(chunks, ""), "\n", ""), strings.ReplaceAll(clean(in), "\n", ""); got != want {
				t.Fatalf("wrapRaw(%.20q, %d) lost text", in, max)
			}
		}
	}
}

func TestTruncateMrkdwn(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"abc", "abc"},
		{"ab&amp;cdef", "ab…"},
		{"ab<https://x.example|y>", "ab…"},
		{"abcdefgh", "abcd…"},
	} {
		if got := truncateMrkdwn(tt.in, 5); got != tt.want {
			t.Errorf("truncateMrkdwn(%q, 5) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLongOutlinePaginates(t *testing.T) {
	tk := newTokens()
	v := longOutline()
	m := Render(v, tk.opts())
	checkMessage(t, m)
	pages, all := 0, ""
	for p := &m; p != nil; p = p.More {
		pages++
		mrkdwn, _ := texts(*p)
		all += strings.Join(mrkdwn, "\n")
		if p.More != nil {
			more := findButton(p.Blocks, ActionIDPrefix+"more")
			if more == nil {
				t.Fatalf("page %d has a next page but no More button", pages)
			}
			if a := tk.actions[more.Value]; a.Kind != ActionMore || a.Message != p.More {
				t.Errorf("page %d: More button's action %+v does not point at the next page", pages, a)
			}
		} else if findButton(p.Blocks, ActionIDPrefix+"more") != nil {
			t.Errorf("last page has a More button")
		}
	}
	if pages < 2 {
		t.Fatalf("400 rows fit %d message(s); expected pagination", pages)
	}
	for _, row := range v.Items {
		if !strings.Contains(all, escape(row.Name)) {
			t.Errorf("row %q is on no page", row.Name)
		}
	}
}

func TestHugeBodySplitsIntoClosedCodeBlocks(t *testing.T) {
	body := hugeBody()
	m := Render(tools.CollectionView{Name: "C", UID: colUID, Request: &tools.RequestDetail{Path: "Bulk", Method: "POST", URL: "https://x.example", Body: body}}, Options{})
	checkMessage(t, m)
	var code []string
	for p := &m; p != nil; p = p.More {
		for _, b := range p.Blocks {
			s, ok := b.(*slack.SectionBlock)
			if !ok || s.Text == nil || !strings.Contains(s.Text.Text, "```") {
				continue
			}
			text := strings.TrimPrefix(s.Text.Text, "*Body*\n")
			if !strings.HasPrefix(text, "```\n") || !strings.HasSuffix(text, "\n```") || strings.Count(text, "```") != 2 {
				t.Fatalf("section is not one closed code block: %.80q", text)
			}
			code = append(code, unescape(strings.TrimSuffix(strings.TrimPrefix(text, "```\n"), "\n```")))
		}
	}
	if len(code) < 3 {
		t.Fatalf("a %d-byte body took %d sections", len(body), len(code))
	}
	if got := strings.Join(code, "\n"); got != body {
		t.Errorf("body not reproduced across sections (got %d bytes, want %d)", len(got), len(body))
	}
}

func TestButtons(t *testing.T) {
	res := tools.WorkspaceList{Items: []tools.WorkspaceRow{{ID: wsID, Name: "W", Type: "team"}}}
	// No Token: no interactive buttons at all.
	if b := findButton(Render(res, Options{Shareable: true}).Blocks, ActionIDPrefix+"share"); b != nil {
		t.Error("share button without a Token")
	}
	// A token that is too long drops the button instead of breaking the message.
	long := Options{Shareable: true, Token: func(Action) string { return strings.Repeat("t", MaxButtonValue+1) }}
	m := Render(res, long)
	checkMessage(t, m)
	if b := findButton(m.Blocks, ActionIDPrefix+"share"); b != nil {
		t.Error("button kept with a token over the limit")
	}
	// Not shareable: no share button.
	if b := findButton(Render(res, Options{Token: newTokens().token}).Blocks, ActionIDPrefix+"share"); b != nil {
		t.Error("share button although Shareable is false")
	}
	// Share carries the in-channel version, without its own Share button.
	tk := newTokens()
	m = Render(res, tk.opts())
	b := findButton(m.Blocks, ActionIDPrefix+"share")
	if b == nil {
		t.Fatal("no share button")
	}
	a := tk.actions[b.Value]
	if a.Kind != ActionShare || a.Message == nil || !a.Message.InChannel || m.InChannel {
		t.Fatalf("share action %+v: want an in-channel message behind an ephemeral one", a)
	}
	if findButton(a.Message.Blocks, ActionIDPrefix+"share") != nil {
		t.Error("the shared message offers to share itself again")
	}
	checkMessage(t, *a.Message)
}

func TestErrorPicks(t *testing.T) {
	var cands []tools.Candidate
	for i := range 8 {
		cands = append(cands, tools.Candidate{Name: fmt.Sprintf("<!here> mon %d %s", i, strings.Repeat("x", 100)), ID: fmt.Sprintf("id-%d", i)})
	}
	tk := newTokens()
	m := RenderError(&tools.Error{Kind: tools.KindAmbiguous, Message: "many", Candidates: cands},
		func(c tools.Candidate) Action {
			return Action{Tool: "get_monitor", Args: map[string]any{"monitor": c.ID}}
		}, tk.opts())
	checkMessage(t, m)
	for i := range maxPicks {
		b := findButton(m.Blocks, fmt.Sprintf("%spick:%d", ActionIDPrefix, i))
		if b == nil {
			t.Fatalf("no button for candidate %d", i)
		}
		if a := tk.actions[b.Value]; a.Kind != ActionPick || a.Args["monitor"] != cands[i].ID {
			t.Errorf("candidate %d: action %+v", i, a)
		}
		if b.Text.Type != slack.PlainTextType || !strings.HasPrefix(b.Text.Text, "<!here>") {
			t.Errorf("candidate %d label %q", i, b.Text.Text)
		}
	}
	if findButton(m.Blocks, ActionIDPrefix+"pick:5") != nil {
		t.Error("more than five candidate buttons")
	}
	// Other kinds never offer picks.
	m = RenderError(&tools.Error{Kind: tools.KindInvalid, Message: "bad", Candidates: cands}, func(tools.Candidate) Action { return Action{} }, tk.opts())
	if findButton(m.Blocks, ActionIDPrefix+"pick:0") != nil {
		t.Error("pick buttons on an invalid-argument error")
	}
}

func TestRateLimitedSaysUntil(t *testing.T) {
	m := RenderError(&tools.Error{Kind: tools.KindRateLimited, Message: "x", RetryAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))}, nil, Options{})
	if !strings.Contains(m.Text, "retry after 02:04:05 UTC") {
		t.Errorf("text %q", m.Text)
	}
	if md, _ := texts(m); !strings.Contains(strings.Join(md, "\n"), "retry after <!date^1735783445^{date_short_pretty} {time}|2025-01-02 02:04 UTC>") {
		t.Errorf("blocks %q: want the reset as a Slack date", md)
	}
	m = RenderError(&tools.Error{Kind: tools.KindQuota, Message: "x"}, nil, Options{})
	if !strings.Contains(m.Text, "monthly call quota is used up") {
		t.Errorf("quota text %q", m.Text)
	}
}

func TestConfirmDanger(t *testing.T) {
	tk := newTokens()
	m := Confirm("Delete collection Orders API", strings.Repeat("Deletes everything. ", 40), nil,
		Action{Tool: "delete_collection", Args: map[string]any{"collection": colUID, "confirm": true}, Label: strings.Repeat("Delete ", 20), Danger: true}, tk.opts())
	checkMessage(t, m)
	b := findButton(m.Blocks, ActionIDPrefix+"confirm")
	if b == nil || b.Style != slack.StyleDanger || b.Confirm == nil || b.Confirm.Style != slack.StyleDanger {
		t.Fatalf("danger confirm button %+v", b)
	}
	if c := findButton(m.Blocks, ActionIDPrefix+"cancel"); c == nil || tk.actions[c.Value].Tool != "delete_collection" {
		t.Error("cancel button missing or not tied to the pending write")
	}
	m = Confirm("Set", "", nil, Action{Tool: "set_environment_variables"}, tk.opts())
	if b := findButton(m.Blocks, ActionIDPrefix+"confirm"); b == nil || b.Style != slack.StylePrimary || b.Confirm != nil {
		t.Errorf("primary confirm button %+v", b)
	}
}

func findButton(blocks []slack.Block, actionID string) *slack.ButtonBlockElement {
	for _, b := range blocks {
		a, ok := b.(*slack.ActionBlock)
		if !ok {
			continue
		}
		for _, e := range a.Elements.ElementSet {
			if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID == actionID {
				return btn
			}
		}
	}
	return nil
}

func TestNilAndPointerResults(t *testing.T) {
	var nilList *tools.MonitorList
	for _, res := range []tools.Result{nil, nilList} {
		m := Render(res, Options{})
		checkMessage(t, m)
	}
	a := Render(&tools.Change{Done: true, Action: "paused monitor", Name: "N"}, Options{})
	b := Render(tools.Change{Done: true, Action: "paused monitor", Name: "N"}, Options{})
	ja, _ := json.Marshal(slack.Blocks{BlockSet: a.Blocks})
	jb, _ := json.Marshal(slack.Blocks{BlockSet: b.Blocks})
	if string(ja) != string(jb) {
		t.Error("a pointer result renders differently from its value")
	}
}

func TestValidateCatchesViolations(t *testing.T) {
	bad := []Message{
		{Text: "", Blocks: []slack.Block{sectionBlock("x")}},
		{Text: "<!channel> hi", Blocks: []slack.Block{sectionBlock("x")}},
		{Text: "t", Blocks: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "<!channel>", false, true), nil, nil)}},
		{Text: "t", Blocks: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("x", 3001), false, true), nil, nil)}},
		{Text: "t", Blocks: []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("x", 151), false, false))}},
		{Text: "t", Blocks: append(make([]slack.Block, 0), repeatBlock(51)...)},
		{Text: "t", Blocks: []slack.Block{slack.NewActionBlock("a", slack.NewButtonBlockElement("a", strings.Repeat("v", 2001), slack.NewTextBlockObject(slack.PlainTextType, "b", false, false)))}},
		{Text: "t", Blocks: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "a", false, true), nil, nil, slack.SectionBlockOptionBlockID("x")),
			slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "b", false, true), nil, nil, slack.SectionBlockOptionBlockID("x"))}},
		{Text: "t", Blocks: []slack.Block{sectionBlock("ok")}, More: &Message{Text: "t", Blocks: []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "a & b", false, true), nil, nil)}}},
	}
	for i, m := range bad {
		if Validate(m) == nil {
			t.Errorf("case %d: Validate accepted a message that breaks a rule", i)
		}
	}
}

func repeatBlock(n int) []slack.Block {
	out := make([]slack.Block, n)
	for i := range out {
		out[i] = slack.NewDividerBlock()
	}
	return out
}

// A doc that breaks a rule (as a renderer bug would) is never sent: the fallback goes instead.
func TestGuardFallsBack(t *testing.T) {
	before := guardTrips.Load()
	d := &doc{summary: "Orders <!channel>", title: "Orders"}
	d.add(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "<!channel> raw", false, true), nil, nil))
	m := d.render(Options{}, nil)
	checkMessage(t, m)
	if guardTrips.Load()-before != 1 {
		t.Error("the guard did not trip")
	}
	if got := m.Blocks[0].(*slack.SectionBlock).Text.Text; got != "Orders &lt;!channel&gt;" {
		t.Errorf("fallback = %q", got)
	}
	guardTrips.Add(-1)
}

// An answer longer than maxPages messages is cut with a note, and the last page still keeps every limit.
func TestEndlessAnswerIsCut(t *testing.T) {
	var rows []tools.WorkspaceRow
	for i := range 5000 {
		rows = append(rows, tools.WorkspaceRow{ID: fmt.Sprintf("%08d-8658-4ee8-a2a1-d2567dfa09a9", i), Name: fmt.Sprintf("Workspace number %d with a long name", i), Type: "team"})
	}
	tk := newTokens()
	opts := tk.opts()
	opts.NextPage = func(string) (Action, bool) { return Action{Tool: "list_workspaces"}, true }
	m := Render(tools.WorkspaceList{Items: rows, NextCursor: "x"}, opts)
	checkMessage(t, m)
	pages := 1
	last := m
	for last.More != nil {
		last = *last.More
		pages++
	}
	if pages != maxPages {
		t.Errorf("%d pages, want the cap %d", pages, maxPages)
	}
	mrkdwn, _ := texts(last)
	if !strings.Contains(strings.Join(mrkdwn, "\n"), "too long for Slack") {
		t.Error("the last page does not say the answer was cut")
	}
	if findButton(last.Blocks, ActionIDPrefix+"more") != nil {
		t.Error("a cut answer offers More after its last page")
	}
}

func TestHelpCoversGrammar(t *testing.T) {
	grammar := []string{"help", "login", "logout", "whoami", "workspaces", "collections [workspace]", "collection <name>",
		"envs [workspace]", "env get <env> [key]", "env set <env> <key>=<value> … [--plain]", "env unset <env> <key> …",
		"env set-secret <env> <key>", "monitors [workspace]", "monitor <name>", "monitor why <name>", "monitor run <name>",
		"monitor pause|resume <name>", "mocks [workspace]", "quota", "workspace <name>"}
	for _, examples := range []bool{false, true} {
		m := Help(examples)
		checkMessage(t, m)
		mrkdwn, _ := texts(m)
		all := unescape(strings.Join(mrkdwn, "\n"))
		for _, g := range grammar {
			if !strings.Contains(all, "`/postman "+g+"`") {
				t.Errorf("help(examples=%v) does not show /postman %s", examples, g)
			}
		}
		if got := strings.Contains(all, "e.g. `/postman monitor why Nightly smoke`"); got != examples {
			t.Errorf("help(examples=%v) shows examples: %v", examples, got)
		}
	}
}
