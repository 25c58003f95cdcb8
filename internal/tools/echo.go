package tools

import (
	"strconv"
	"unicode/utf8"
)

// MaxEcho is how many characters of a caller's input an error or a result may quote.
const MaxEcho = 200

// Echo is the one way to quote a caller's input (a name, a key, a cursor, an argument name) in an error or a
// result, text and structured parts alike: input of at most MaxEcho characters comes back unchanged; longer input
// is cut to MaxEcho characters followed by "…(N bytes)", N being the input's full size. A 1 MB name therefore costs
// about 200 bytes wherever it is echoed.
func Echo(s string) string {
	if len(s) <= MaxEcho {
		return s // MaxEcho bytes are at most MaxEcho characters
	}
	n, cut := 0, 0
	for cut < len(s) && n < MaxEcho {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
		n++
	}
	if cut == len(s) {
		return s
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// EchoQ is Echo in Go-quoted form, for messages that put the input in quotes: EchoQ(s) == strconv.Quote(Echo(s)).
func EchoQ(s string) string { return strconv.Quote(Echo(s)) }
