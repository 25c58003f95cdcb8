// Package lazyre is a regular expression compiled on first use instead of at package init. A package-level
// regexp.MustCompile runs in every binary that links the package, whether or not the pattern is ever used (the
// stdio MCP server links the emulator, the Slack renderer's helpers and more); each costs tens of microseconds and
// up to hundreds of allocations at start. Regexp offers the methods pmops uses, with regexp's meaning.
package lazyre

import (
	"regexp"
	"sync"
)

// Regexp compiles its pattern the first time a method needs it; safe for concurrent use.
type Regexp struct {
	re func() *regexp.Regexp
}

// New returns a Regexp for pattern. Like regexp.MustCompile it panics on a bad pattern, but on first use; a
// test that uses the expression (or calls Compiled) catches that.
func New(pattern string) *Regexp {
	return &Regexp{re: sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })}
}

// Compiled returns the compiled expression.
func (r *Regexp) Compiled() *regexp.Regexp { return r.re() }

// String returns the source text.
func (r *Regexp) String() string { return r.re().String() }

// MatchString is regexp.Regexp.MatchString.
func (r *Regexp) MatchString(s string) bool { return r.re().MatchString(s) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.re().FindStringSubmatch(s) }

// FindAllString is regexp.Regexp.FindAllString.
func (r *Regexp) FindAllString(s string, n int) []string { return r.re().FindAllString(s, n) }

// FindAllStringSubmatchIndex is regexp.Regexp.FindAllStringSubmatchIndex.
func (r *Regexp) FindAllStringSubmatchIndex(s string, n int) [][]int {
	return r.re().FindAllStringSubmatchIndex(s, n)
}

// ReplaceAllString is regexp.Regexp.ReplaceAllString.
func (r *Regexp) ReplaceAllString(src, repl string) string { return r.re().ReplaceAllString(src, repl) }

// ReplaceAllStringFunc is regexp.Regexp.ReplaceAllStringFunc.
func (r *Regexp) ReplaceAllStringFunc(src string, repl func(string) string) string {
	return r.re().ReplaceAllStringFunc(src, repl)
}
