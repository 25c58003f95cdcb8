package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pmops/pmops/internal/clock"
	"github.com/pmops/pmops/internal/ratelimit"
)

// Version goes into the default User-Agent ("pmops/<Version>"); the build may set it with -ldflags -X.
var Version = "dev"

// Base URLs of the two data regions.
const (
	BaseURLUS = "https://api.postman.com"
	BaseURLEU = "https://api.eu.postman.com"
)

// DefaultTimeout bounds one call when Config.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// syncRunTimeout bounds a synchronous monitor run: the API answers 202 "still running" after 300 s.
const syncRunTimeout = 330 * time.Second

// Response bodies larger than these are refused rather than read into memory.
const (
	maxResponseBytes = 256 << 20 // a collection may be up to 100 MB
	maxErrorBytes    = 1 << 20
)

// Config configures a Client. The zero value is not usable: APIKey is required.
//
// Environment variables (POSTMAN_API_KEY, POSTMAN_API_BASE_URL, ...) are read by cmd/*, not here.
//
// Printing a Config with any fmt verb, logging it with slog or encoding it as JSON never shows the key.
type Config struct {
	// APIKey is the Postman API key (PMAK-…). It is sent only in the X-Api-Key header.
	APIKey string
	// BaseURL is the API root, for example https://api.postman.com or a loopback stand-in. Empty means the
	// Region's URL.
	BaseURL string
	// Region is "us" (default) or "eu" (https://api.eu.postman.com, EU-hosted Enterprise teams). Setting both
	// Region and a BaseURL that is not that region's URL is an error: drop one of them.
	Region string
	// Timeout bounds each try of a call (see Retry); zero means DefaultTimeout. A synchronous monitor run gets at
	// least 330 s, because the API only answers "still running" after 300 s. The caller's context bounds the
	// whole call, retries included.
	Timeout time.Duration
	// Transport sends the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// UserAgent defaults to "pmops/<Version>".
	UserAgent string
	// Logger receives one debug record per call (method, path, status, duration). Nil means no logging.
	Logger *slog.Logger
	// Clock is "now" for turning epoch rate-limit headers into waits; nil means the real clock.
	Clock clock.Clock
	// Gate is the rate gate requests go through. Nil means New builds one over Transport with Postman's route
	// buckets and cache rules (RateRoutes, CacheRules); pass one to share a key's budget between clients.
	Gate *ratelimit.Gate
	// NoGate sends requests straight to Transport, without a gate (for measuring the bare client only).
	NoGate bool
	// Retry says how transient failures (502/503/504, connection resets, timeouts) of idempotent requests are
	// retried; the zero value is up to 3 tries with capped, jittered exponential backoff.
	Retry RetryPolicy
}

// Client calls the Postman API. It is safe for concurrent use.
type Client struct {
	// key returns the API key. A func, because fmt prints any other field type it reaches by reflection (an
	// unexported field, a bad verb), pointers included; a func value prints as an address.
	key       func() string
	base      *url.URL
	userAgent string
	timeout   time.Duration
	http      *http.Client
	log       *slog.Logger
	clock     clock.Clock
	gate      *ratelimit.Gate
	retry     RetryPolicy
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("api: no Postman API key configured; create one in Postman under Settings → API keys and pass it as Config.APIKey")
	}
	if strings.TrimSpace(cfg.APIKey) != cfg.APIKey || strings.ContainsFunc(cfg.APIKey, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return nil, errors.New("api: the Postman API key contains spaces or control characters; copy it again without surrounding whitespace")
	}
	base, err := resolveBaseURL(cfg.BaseURL, cfg.Region)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("api: Timeout %s is negative", cfg.Timeout)
	}
	apiKey := cfg.APIKey
	c := &Client{
		key:       func() string { return apiKey },
		base:      base,
		userAgent: cfg.UserAgent,
		timeout:   cfg.Timeout,
		http:      newHTTPClient(gated(cfg)),
		log:       cfg.Logger,
		clock:     clock.Or(cfg.Clock),
		retry:     cfg.Retry.withDefaults(),
	}
	if rt, ok := c.http.Transport.(*ratelimit.Gate); ok {
		c.gate = rt
	}
	if c.userAgent == "" {
		c.userAgent = "pmops/" + Version
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	return c, nil
}

// newHTTPClient is the one place the *http.Client is built.
func newHTTPClient(rt http.RoundTripper) *http.Client {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			// Go forwards custom headers on redirects; the key must not follow one to another host.
			if req.URL.Host != via[0].URL.Host {
				req.Header.Del("X-Api-Key")
			}
			return nil
		},
	}
}

func resolveBaseURL(raw, region string) (*url.URL, error) {
	var regionURL string
	switch strings.ToLower(strings.TrimSpace(region)) {
	case "":
	case "us":
		regionURL = BaseURLUS
	case "eu":
		regionURL = BaseURLEU
	default:
		return nil, fmt.Errorf("api: unknown Postman region %q; use \"us\" or \"eu\"", region)
	}
	if raw == "" {
		raw = regionURL
		if raw == "" {
			raw = BaseURLUS
		}
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("api: base URL %q does not parse: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("api: base URL %q must start with https:// (or http:// for a local stand-in)", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("api: base URL %q has no host", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("api: base URL %q must not carry credentials, a query or a fragment", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if regionURL != "" {
		want, _ := url.Parse(regionURL)
		if !strings.EqualFold(u.Host, want.Host) || u.Scheme != want.Scheme || u.Path != "" {
			return nil, fmt.Errorf("api: base URL %s and region %q disagree (that region is %s); set only one of them", u, region, regionURL)
		}
	}
	return u, nil
}

// BaseURL returns the API root the client calls.
func (c *Client) BaseURL() string { return c.base.String() }

// request describes one call.
type request struct {
	method string
	path   string // already escaped, starting with "/"
	query  url.Values
	body   any // JSON-encoded when non-nil
	header http.Header
	// timeout overrides the client's per-try timeout when larger.
	timeout time.Duration
	// idem overrides the method's idempotency (for example a PATCH that only sets values).
	idem *bool
}

// response is a successful answer.
type response struct {
	status int
	body   []byte
}

// do sends r and returns a 2xx answer, or an *Error for any other status, or a transport error. Transient
// failures of idempotent requests are retried (RetryPolicy); a non-idempotent request that failed after it was
// sent returns an *AmbiguousError.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	var bodyBytes []byte
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode request body: %w", r.method, r.path, err)
		}
		bodyBytes = b
	}
	p := c.retry
	idempotent := r.idempotent()
	var retried string
	for n := 1; ; n++ {
		start := time.Now()
		resp, wrote, err := c.try(ctx, r, bodyBytes)
		if err == nil {
			return resp, nil
		}
		if !idempotent {
			if ambiguousWrite(err, wrote) {
				return nil, &AmbiguousError{Method: r.method, Path: r.path, Err: err}
			}
			return nil, err
		}
		if retried != "" && IsNotFound(err) && r.method == http.MethodDelete {
			return nil, fmt.Errorf("%w (an earlier try %s, so it may have deleted it already)", err, retried)
		}
		if classify(ctx, err) != failRetryable || n >= p.MaxTries {
			if n > 1 {
				return nil, fmt.Errorf("%w (gave up after %d tries)", err, n)
			}
			return nil, err
		}
		wait, again := p.retryWait(n, err)
		if !again || !fitsDeadline(ctx, wait, time.Since(start)) {
			if n > 1 {
				return nil, fmt.Errorf("%w (gave up after %d tries: no time for another before the deadline)", err, n)
			}
			return nil, err
		}
		if c.log != nil {
			c.log.LogAttrs(ctx, slog.LevelDebug, "postman api retry", slog.String("method", r.method),
				slog.String("path", r.path), slog.Int("try", n+1), slog.Duration("wait", wait), slog.String("error", err.Error()))
		}
		if serr := p.Sleep(ctx, wait); serr != nil {
			return nil, err
		}
		retried = "failed (" + shortReason(err) + ")"
	}
}

// shortReason names a failure in a few words for retry notes.
func shortReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	if isTimeout(err) {
		return "timeout"
	}
	return "connection reset"
}

// try sends r once. wrote reports whether the request was written to the connection (so a failure after it may
// have had an effect).
func (c *Client) try(ctx context.Context, r request, bodyBytes []byte) (resp *response, wrote bool, err error) {
	var payload io.Reader
	if bodyBytes != nil {
		payload = bytes.NewReader(bodyBytes) // NewRequest sets ContentLength and GetBody for a *bytes.Reader
	}
	u := *c.base
	u.Path = u.Path + unescapePath(r.path)
	u.RawPath = c.base.EscapedPath() + r.path
	u.RawQuery = r.query.Encode()

	timeout := max(c.timeout, r.timeout)
	tryCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var wroteFlag atomic.Bool
	tryCtx = httptrace.WithClientTrace(tryCtx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wroteFlag.Store(true) },
	})

	req, err := http.NewRequestWithContext(tryCtx, r.method, u.String(), payload)
	if err != nil {
		return nil, false, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	req.Header.Set("X-Api-Key", c.key())
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if bodyBytes != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	start := c.clock.Now()
	hresp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the full URL, query and all
		}
		if tryCtx.Err() != nil && ctx.Err() == nil {
			// This try's own timeout ended it (whatever layer noticed first): a timeout, not the caller leaving.
			err = &tryTimeoutError{timeout: timeout}
		}
		c.logCall(ctx, r, 0, start, err)
		return nil, wroteFlag.Load(), fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	defer hresp.Body.Close()

	ok := hresp.StatusCode >= 200 && hresp.StatusCode < 300
	limit := int64(maxResponseBytes)
	if !ok {
		limit = maxErrorBytes
	}
	data, readErr := io.ReadAll(io.LimitReader(hresp.Body, limit+1))
	if !ok {
		if int64(len(data)) > limit {
			data = data[:limit]
		}
		e := parseError(hresp.StatusCode, hresp.Header, data, c.clock.Now())
		e.Method, e.Path = r.method, r.path
		e.redact(c.key())
		c.logCall(ctx, r, hresp.StatusCode, start, e)
		return nil, true, e
	}
	if readErr != nil {
		c.logCall(ctx, r, hresp.StatusCode, start, readErr)
		return nil, true, fmt.Errorf("%s %s: reading the %d answer: %w: %w", r.method, r.path, hresp.StatusCode, errResetInBody, readErr)
	}
	if int64(len(data)) > limit {
		return nil, true, fmt.Errorf("%s %s: the answer is larger than %d MB", r.method, r.path, limit>>20)
	}
	c.logCall(ctx, r, hresp.StatusCode, start, nil)
	return &response{status: hresp.StatusCode, body: data}, true, nil
}

// unescapePath turns the escaped request path into url.URL.Path form.
func unescapePath(p string) string {
	if s, err := url.PathUnescape(p); err == nil {
		return s
	}
	return p
}

func (c *Client) logCall(ctx context.Context, r request, status int, start time.Time, err error) {
	if c.log == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.method),
		slog.String("path", r.path),
		slog.Int("status", status),
		slog.Duration("duration", c.clock.Now().Sub(start)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "postman api call", attrs...)
}

// decode unmarshals a successful answer into out and names the call on failure.
func decode(r request, resp *response, out any) error {
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fmt.Errorf("%s %s: the %d answer is not the documented JSON: %w", r.method, r.path, resp.status, err)
	}
	return nil
}

// call sends r and decodes a 2xx answer into out.
func (c *Client) call(ctx context.Context, r request, out any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return decode(r, resp, out)
}

// ---- redaction: the key never reaches fmt, slog or JSON output ----

// String describes the config without the key.
func (cfg Config) String() string { return cfg.describe(false) }

// GoString describes the config without the key.
func (cfg Config) GoString() string { return cfg.describe(true) }

// Format prints the config without the key for every verb.
func (cfg Config) Format(f fmt.State, verb rune) {
	io.WriteString(f, cfg.describe(verb == 'v' && f.Flag('#')))
}

// LogValue logs the config without the key.
func (cfg Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("api_key", maskKey(cfg.APIKey)),
		slog.String("base_url", cfg.BaseURL),
		slog.String("region", cfg.Region),
		slog.Duration("timeout", cfg.Timeout),
		slog.String("user_agent", cfg.UserAgent),
	)
}

// MarshalJSON encodes the config without the key.
func (cfg Config) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		APIKey    string        `json:"apiKey"`
		BaseURL   string        `json:"baseURL,omitempty"`
		Region    string        `json:"region,omitempty"`
		Timeout   time.Duration `json:"timeout,omitempty"`
		UserAgent string        `json:"userAgent,omitempty"`
	}{maskKey(cfg.APIKey), cfg.BaseURL, cfg.Region, cfg.Timeout, cfg.UserAgent})
}

func (cfg Config) describe(goSyntax bool) string {
	transport := "default"
	if cfg.Transport != nil {
		transport = fmt.Sprintf("%T", cfg.Transport)
	}
	if goSyntax {
		return fmt.Sprintf("api.Config{APIKey:%q, BaseURL:%q, Region:%q, Timeout:%d, Transport:%s, UserAgent:%q}",
			maskKey(cfg.APIKey), cfg.BaseURL, cfg.Region, int64(cfg.Timeout), transport, cfg.UserAgent)
	}
	return fmt.Sprintf("{APIKey:%s BaseURL:%s Region:%s Timeout:%s Transport:%s UserAgent:%s}",
		maskKey(cfg.APIKey), cfg.BaseURL, cfg.Region, cfg.Timeout, transport, cfg.UserAgent)
}

func maskKey(k string) string {
	if k == "" {
		return ""
	}
	return redacted
}

// String describes the client without the key.
func (c *Client) String() string { return c.describe(false) }

// GoString describes the client without the key.
func (c *Client) GoString() string { return c.describe(true) }

// Format prints the client without the key for every verb.
func (c *Client) Format(f fmt.State, verb rune) {
	io.WriteString(f, c.describe(verb == 'v' && f.Flag('#')))
}

// LogValue logs the client without the key.
func (c *Client) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.String("base_url", c.base.String()), slog.String("user_agent", c.userAgent),
		slog.String("api_key", redacted))
}

// MarshalJSON encodes the client without the key.
func (c *Client) MarshalJSON() ([]byte, error) {
	if c == nil {
		return []byte("null"), nil
	}
	return json.Marshal(map[string]string{"baseURL": c.base.String(), "userAgent": c.userAgent, "apiKey": redacted})
}

func (c *Client) describe(goSyntax bool) string {
	if c == nil {
		return "<nil>"
	}
	if goSyntax {
		return fmt.Sprintf("&api.Client{BaseURL:%q, UserAgent:%q, APIKey:%q}", c.base.String(), c.userAgent, redacted)
	}
	return fmt.Sprintf("api.Client{BaseURL:%s UserAgent:%s APIKey:%s}", c.base, c.userAgent, redacted)
}
