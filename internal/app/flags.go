package app

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// EnvOr returns the environment variable name, or def when it is unset: flags fall back to the environment.
func EnvOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// List splits a comma-separated flag value, dropping blanks.
func List(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// AddPostmanFlags registers the Postman flags both binaries share (-base-url, -region), with their environment
// fallbacks. The key is never a flag: it comes from POSTMAN_API_KEY only (see FinishPostman).
func (c *Config) AddPostmanFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.BaseURL, "base-url", os.Getenv("POSTMAN_API_BASE_URL"), "Postman API base URL [POSTMAN_API_BASE_URL]")
	fs.StringVar(&c.Region, "region", os.Getenv("POSTMAN_API_REGION"), "Postman data region us|eu, ignored when a base URL is set explicitly [POSTMAN_API_REGION]")
}

// FinishPostman reads the key from the environment after flag parsing and lets an explicit base URL win over the
// region, saying so on stderr rather than dropping the region silently.
func (c *Config) FinishPostman(stderr io.Writer) {
	c.APIKey = strings.TrimSpace(os.Getenv("POSTMAN_API_KEY"))
	if c.BaseURL != "" && c.Region != "" {
		fmt.Fprintf(stderr, "note: base URL %s is used; region %s is ignored\n", c.BaseURL, c.Region)
		c.Region = ""
	}
}

// NewLogger is the text logger on stderr both binaries use; level is debug, info, warn or error.
func NewLogger(level string, stderr io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad -log-level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: l})), nil
}
