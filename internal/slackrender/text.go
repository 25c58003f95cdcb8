package slackrender

import (
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// clean makes an outside string safe to carry: invalid UTF-8 becomes U+FFFD, and control characters other than
// newline and tab, and the bidirectional overrides that could disguise text, are dropped.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			return -1
		}
		return r
	}, s)
}

var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape is the one way a Postman or user string enters mrkdwn: only &, < and > become entities, as Slack asks,
// so nothing in it can open a control sequence (<!channel>, <@U…>, <url|label>).
func escape(s string) string { return mrkdwnEscaper.Replace(clean(s)) }

// flat is s on one line, at most max units long; it looks at no more of s than it needs.
func flat(s string, max int) string {
	return clip(oneLine(clip(s, 4*max)), max)
}

// oneLine flattens whitespace runs (newlines included) to single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// textLen measures text as Slack's limits are checked, conservatively: in UTF-16 code units, which is never
// fewer than characters.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xffff {
			n++
		}
	}
	return n
}

func runeLen(r rune) int {
	if r > 0xffff {
		return 2
	}
	return 1
}

// escapedLen is the length a raw rune takes once escaped.
func escapedLen(r rune) int {
	switch r {
	case '&':
		return 5
	case '<', '>':
		return 4
	}
	return runeLen(r)
}

// clip shortens raw (unescaped) text to max units, ending with an ellipsis when cut.
func clip(s string, max int) string {
	if textLen(s) <= max {
		return s
	}
	return headUnits(s, max-1) + "…"
}

// headUnits is the longest prefix of s, in whole runes, that fits in max units.
func headUnits(s string, max int) string {
	n := 0
	for i, r := range s {
		if n+runeLen(r) > max {
			return s[:i]
		}
		n += runeLen(r)
	}
	return s
}

// nonEmpty returns s, or alt when s has no visible characters (Slack rejects empty text objects).
func nonEmpty(s, alt string) string {
	if strings.TrimSpace(s) == "" {
		return alt
	}
	return s
}

// wrapRaw splits raw text into chunks that each take at most max units once escaped, breaking at line ends
// where it can and inside a line (between runes, never inside one) only when a line alone is too long.
func wrapRaw(raw string, max int) []string {
	var chunks []string
	var cur strings.Builder
	curLen, curLines := 0, 0
	flush := func() {
		chunks = append(chunks, cur.String())
		cur.Reset()
		curLen, curLines = 0, 0
	}
	for _, line := range strings.Split(clean(raw), "\n") {
		l := 0
		for _, r := range line {
			l += escapedLen(r)
		}
		sep := min(curLines, 1)
		if curLen+sep+l <= max {
			if sep == 1 {
				cur.WriteByte('\n')
			}
			cur.WriteString(line)
			curLen += sep + l
			curLines++
			continue
		}
		if curLines > 0 {
			flush()
		}
		for _, r := range line {
			w := escapedLen(r)
			if curLen+w > max {
				flush()
			}
			cur.WriteRune(r)
			curLen += w
		}
		curLines = 1
	}
	if curLines > 0 || len(chunks) == 0 {
		flush()
	}
	return chunks
}

// truncateMrkdwn cuts built mrkdwn to max units as a last resort, never inside an entity or a link it built.
func truncateMrkdwn(s string, max int) string {
	if textLen(s) <= max {
		return s
	}
	cut := headUnits(s, max-1)
	if amp := strings.LastIndexByte(cut, '&'); amp >= 0 && !strings.Contains(cut[amp:], ";") {
		cut = cut[:amp]
	}
	if lt := strings.LastIndexByte(cut, '<'); lt >= 0 && !strings.Contains(cut[lt:], ">") {
		cut = cut[:lt]
	}
	return cut + "…"
}

// safeURL says whether u can go inside <u|label>: an absolute http(s) URL with a host and none of the
// characters that would end or split the link.
func safeURL(u string) bool {
	if u == "" || len(u) > maxURL || strings.ContainsAny(u, "<>|\"' \t\n\r") || !utf8.ValidString(u) {
		return false
	}
	for _, r := range u {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
		return false
	}
	return true
}

// link builds <url|label> from a URL it validated and a label it escapes; an unusable URL leaves the label alone.
func link(u, label string) string {
	label = nonEmpty(oneLine(label), u)
	if !safeURL(u) {
		return escape(label)
	}
	return "<" + strings.ReplaceAll(u, "&", "&amp;") + "|" + escape(label) + ">"
}

// code shows s as inline code when backticks cannot break out of it, else as escaped text.
func code(s string) string {
	s = oneLine(s)
	if s == "" {
		return "_(empty)_"
	}
	if strings.Contains(s, "`") {
		return escape(s)
	}
	return "`" + escape(s) + "`"
}

// bold shows s in bold when asterisks cannot unbalance it.
func bold(s string) string {
	s = nonEmpty(oneLine(s), "(unnamed)")
	if strings.Contains(s, "*") {
		return escape(s)
	}
	return "*" + escape(s) + "*"
}

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,20}$`)

// mention is the only mention the renderer emits: <@U…> for an ID that is exactly a Slack user ID.
func mention(actor string) (string, bool) {
	if slackUserID.MatchString(actor) {
		return "<@" + actor + ">", true
	}
	return "", false
}

// allowedControl matches the control sequences the renderer builds itself; Validate rejects any other < or >.
var allowedControl = regexp.MustCompile(`<https?://[^\s<>|]+\|[^<>]*>|<@[UW][A-Z0-9]{2,20}>|<!date\^-?[0-9]{1,12}\^\{date_short_pretty\} \{time\}\|[0-9: UTC-]+>`)
var entity = regexp.MustCompile(`&(amp|lt|gt);`)

// unescapedControl reports the first character in built mrkdwn that Slack would treat as markup the renderer
// did not mean: a < or > outside the sequences it builds, or a bare &.
func unescapedControl(s string) (string, bool) {
	rest := allowedControl.ReplaceAllString(s, "")
	if i := strings.IndexAny(rest, "<>"); i >= 0 {
		return rest[i:min(len(rest), i+20)], true
	}
	rest = entity.ReplaceAllString(rest, "")
	if i := strings.IndexByte(rest, '&'); i >= 0 {
		return rest[i:min(len(rest), i+20)], true
	}
	return "", false
}

var secretKey = regexp.MustCompile(`(?i)(token|secret|passw|pwd|api[-_]?key|apikey|auth|credential|private|session|cookie|signature|bearer)`)

// masked is what a secret value looks like in Slack.
const masked = "••••••"

// looksSecret is the renderer's own secret test (defense in depth over the tool layer's masking): Postman says
// so, the tool layer says so, or the key's name says it holds a secret.
func looksSecret(key, typ string, maskedByTool bool) bool {
	return maskedByTool || strings.EqualFold(typ, "secret") || secretKey.MatchString(key)
}

// isTemplate says whether a value is only a {{variable}} reference, which reveals nothing.
func isTemplate(v string) bool {
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "Bearer "))
	return strings.HasPrefix(v, "{{") && strings.HasSuffix(v, "}}") && !strings.Contains(v[2:len(v)-2], "}}")
}
