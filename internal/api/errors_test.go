package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmops/pmops/internal/ratelimit"
)

var errorFamilies = []struct {
	name                                                            string
	status                                                          int
	header                                                          http.Header
	body                                                            string
	want                                                            Error // Status, Name, Message, Type, Title, Instance; Details checked for presence
	details                                                         bool
	notFound, rateLimited, quota, conflict, forbidden, unauthorized bool
}{
	{
		name: "legacy envelope", status: 404,
		body: `{"error":{"name":"instanceNotFoundError","message":"The specified item does not exist.","details":{"item":"collection","id":"1-x"}}}`,
		want: Error{Name: "instanceNotFoundError", Message: "The specified item does not exist."}, details: true, notFound: true,
	},
	{
		name: "legacy envelope with statusCode inside", status: 404,
		body: `{"error":{"name":"workspaceNotFoundError","message":"Workspace not found","statusCode":404}}`,
		want: Error{Name: "workspaceNotFoundError", Message: "Workspace not found"}, notFound: true,
	},
	{
		name: "statusCode beside error", status: 400,
		body: `{"error":{"name":"invalidParamError","message":"visibilityStatus must be one of personal/private/team/public/partner"},"statusCode":400}`,
		want: Error{Name: "invalidParamError", Message: "visibilityStatus must be one of personal/private/team/public/partner"},
	},
	{
		name: "error as a string", status: 429, header: http.Header{"Retry-After": {"7"}},
		body:        `{"error":"rateLimited","message":"Rate limit exceeded. Please retry after 1700000000"}`,
		want:        Error{Name: "rateLimited", Message: "Rate limit exceeded. Please retry after 1700000000", RetryAfter: 7 * time.Second},
		rateLimited: true,
	},
	{
		name: "unwrapped name and message", status: 400,
		body: `{"name":"badRequest","message":"elementId is required when elementType is provided"}`,
		want: Error{Name: "badRequest", Message: "elementId is required when elementType is provided"},
	},
	{
		name: "error object with type instead of name", status: 500,
		body: `{"error":{"type":"serverError","message":"Something went wrong with the server"}}`,
		want: Error{Name: "serverError", Message: "Something went wrong with the server"},
	},
	{
		name: "problem with string detail", status: 409, header: http.Header{"Content-Type": {"application/problem+json"}},
		body: `{"type":"https://api.postman.com/problems/conflict","status":409,"title":"Conflict","detail":"Deep update operation is already in progress for this collection."}`,
		want: Error{Name: "conflict", Message: "Deep update operation is already in progress for this collection.",
			Type: "https://api.postman.com/problems/conflict", Title: "Conflict"},
		conflict: true,
	},
	{
		name: "problem with list detail", status: 400,
		body: `{"type":"https://api.postman.com/problems/bad-request","status":400,"title":"Bad Request","detail":["/values/1/value: must be a string","/values/2/key: required"]}`,
		want: Error{Name: "bad-request", Message: "/values/1/value: must be a string; /values/2/key: required",
			Type: "https://api.postman.com/problems/bad-request", Title: "Bad Request"},
		details: true,
	},
	{
		name: "problem with object detail", status: 422,
		body:    `{"type":"https://api.postman.com/problems/unprocessable-entity","title":"Unprocessable","detail":{"message":"bad field","field":"name"}}`,
		want:    Error{Name: "unprocessable-entity", Message: "bad field", Type: "https://api.postman.com/problems/unprocessable-entity", Title: "Unprocessable"},
		details: true,
	},
	{
		name: "problem without detail uses title", status: 500,
		body: `{"type":"https://api.postman.com/problems/internal-server-error","title":"Internal Server Error"}`,
		want: Error{Name: "internal-server-error", Message: "Internal Server Error", Type: "https://api.postman.com/problems/internal-server-error", Title: "Internal Server Error"},
	},
	{
		name: "problem with instance", status: 404,
		body:     `{"type":"https://api.postman.com/problems/not-found","status":404,"title":"Not Found","detail":"Not Found","instance":"/environments/5daabc50"}`,
		want:     Error{Name: "not-found", Message: "Not Found", Type: "https://api.postman.com/problems/not-found", Title: "Not Found", Instance: "/environments/5daabc50"},
		notFound: true,
	},
	{
		name: "urn problem type", status: 404,
		body:     `{"type":"urn:error:monitor:instanceNotFoundError","title":"Not found","detail":"Runner not found"}`,
		want:     Error{Name: "instanceNotFoundError", Message: "Runner not found", Type: "urn:error:monitor:instanceNotFoundError", Title: "Not found"},
		notFound: true,
	},
	{
		name: "not-found filed under 400", status: 400,
		body: `{"error":{"name":"instanceNotFoundError","message":"We could not find the collection you are looking for"}}`,
		want: Error{Name: "instanceNotFoundError", Message: "We could not find the collection you are looking for"}, notFound: true,
	},
	{
		name: "quota by name", status: 429,
		body: `{"error":{"name":"serviceLimitExhausted","message":"Service limit exhausted. Please contact your team admin."}}`,
		want: Error{Name: "serviceLimitExhausted", Message: "Service limit exhausted. Please contact your team admin."}, quota: true,
	},
	{
		name: "quota by month header", status: 429, header: http.Header{"X-Ratelimit-Remaining-Month": {"0"}},
		body: `{"error":{"name":"rateLimited","message":"Rate limit exceeded."}}`,
		want: Error{Name: "rateLimited", Message: "Rate limit exceeded."}, quota: true,
	},
	{
		name: "quota by unprefixed month header", status: 429, header: http.Header{"Ratelimit-Remaining-Month": {"0"}},
		body:  `{"type":"https://api.postman.com/problems/too-many-requests","title":"Too Many Requests","detail":"You have exceeded your request limit","status":429}`,
		want:  Error{Name: "too-many-requests", Message: "You have exceeded your request limit", Type: "https://api.postman.com/problems/too-many-requests", Title: "Too Many Requests"},
		quota: true,
	},
	{
		name: "legacy rateLimitError with reset header", status: 429,
		header:      http.Header{"X-Ratelimit-Reset": {"1700000030"}, "X-Ratelimit-Remaining-Month": {"120"}},
		body:        `{"error":{"name":"rateLimitError","message":"Rate Limit exceeded. Please retry at 1465452702843"}}`,
		want:        Error{Name: "rateLimitError", Message: "Rate Limit exceeded. Please retry at 1465452702843", RetryAfter: 30 * time.Second},
		rateLimited: true,
	},
	{
		name: "RateLimit structured header", status: 429, header: http.Header{"Ratelimit": {"limit=300, remaining=0, reset=12"}},
		body: `{"error":{"name":"rateLimited","message":"x"}}`,
		want: Error{Name: "rateLimited", Message: "x", RetryAfter: 12 * time.Second}, rateLimited: true,
	},
	{
		name: "html 502", status: 502, header: http.Header{"Content-Type": {"text/html"}},
		body: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>",
		want: Error{Message: "502 Bad Gateway"},
	},
	{
		name: "plain text", status: 503, body: "upstream connect error",
		want: Error{Message: "upstream connect error"},
	},
	{
		name: "empty body", status: 500, body: "",
		want: Error{Message: "Internal Server Error"},
	},
	{
		name: "json that is no error shape", status: 500, body: `{"foo":1}`,
		want: Error{Message: `{"foo":1}`},
	},
	{
		name: "legacy 503", status: 503,
		body: `{"error":{"name":"503 service unavailable","message":"The server is currently not available."}}`,
		want: Error{Name: "503 service unavailable", Message: "The server is currently not available."},
	},
	{
		name: "401 legacy", status: 401,
		body: `{"error":{"name":"AuthenticationError","message":"Invalid API Key. Every request requires a valid API Key to be sent."}}`,
		want: Error{Name: "AuthenticationError", Message: "Invalid API Key. Every request requires a valid API Key to be sent."}, unauthorized: true,
	},
	{
		name: "403 problem", status: 403,
		body:      `{"type":"https://api.postman.com/problems/forbidden","title":"Forbidden","status":403,"detail":"This feature isn't available in your region."}`,
		want:      Error{Name: "forbidden", Message: "This feature isn't available in your region.", Type: "https://api.postman.com/problems/forbidden", Title: "Forbidden"},
		forbidden: true,
	},
}

func TestParseErrorFamilies(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, tt := range errorFamilies {
		t.Run(tt.name, func(t *testing.T) {
			e := parseError(tt.status, tt.header, []byte(tt.body), now)
			if e.Status != tt.status || e.Name != tt.want.Name || e.Message != tt.want.Message || e.Type != tt.want.Type ||
				e.Title != tt.want.Title || e.Instance != tt.want.Instance || e.RetryAfter != tt.want.RetryAfter {
				t.Errorf("got  %+v\nwant %+v", *e, tt.want)
			}
			if (len(e.Details) > 0) != tt.details {
				t.Errorf("details = %s, want present=%v", e.Details, tt.details)
			}
			var err error = fmt.Errorf("wrapped: %w", e)
			checks := []struct {
				name string
				got  bool
				want bool
			}{
				{"IsNotFound", IsNotFound(err), tt.notFound},
				{"IsRateLimited", IsRateLimited(err), tt.rateLimited},
				{"ErrQuotaExhausted", errors.Is(err, ErrQuotaExhausted), tt.quota},
				{"QuotaExhausted", e.QuotaExhausted(), tt.quota},
				{"IsConflict", IsConflict(err), tt.conflict},
				{"IsForbidden", IsForbidden(err), tt.forbidden},
				{"IsUnauthorized", IsUnauthorized(err), tt.unauthorized},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
				}
			}
			if !strings.Contains(e.Error(), fmt.Sprint(tt.status)) {
				t.Errorf("Error() = %q", e.Error())
			}
		})
	}
}

func TestHelpersOnOtherErrors(t *testing.T) {
	rl := fmt.Errorf("get: %w", &ratelimit.RateLimitedError{RetryAt: time.Now(), Reason: "window"})
	if !IsRateLimited(rl) || IsNotFound(rl) {
		t.Error("RateLimitedError must count as rate limited")
	}
	quota := fmt.Errorf("get: %w", ratelimit.ErrQuotaExhausted)
	if !errors.Is(quota, ErrQuotaExhausted) || IsRateLimited(quota) {
		t.Error("the gate's quota error must match ErrQuotaExhausted and not IsRateLimited")
	}
	plain := errors.New("x")
	if IsNotFound(plain) || IsRateLimited(plain) || IsConflict(plain) || IsForbidden(plain) || IsUnauthorized(plain) || IsNotFound(nil) {
		t.Error("helpers must be false for other errors")
	}
	// A 400 that is not a not-found body is not IsNotFound.
	if IsNotFound(parseError(400, nil, []byte(`{"error":{"name":"badRequest","message":"x"}}`), time.Now())) {
		t.Error("badRequest is not not-found")
	}
}

func TestRetryAfterPrecedence(t *testing.T) {
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name   string
		status int
		h      http.Header
		want   time.Duration
	}{
		{"Retry-After first", 429, http.Header{"Retry-After": {"3"}, "X-Ratelimit-Retryafter": {"9"}, "Ratelimit-Reset": {"20"}}, 3 * time.Second},
		{"X-RateLimit-RetryAfter next", 429, http.Header{"X-Ratelimit-Retryafter": {"9"}, "Ratelimit-Reset": {"20"}}, 9 * time.Second},
		{"RetryAfter without hyphen", 429, http.Header{"Retryafter": {"4"}}, 4 * time.Second},
		{"HTTP date", 429, http.Header{"Retry-After": {now.Add(90 * time.Second).UTC().Format(http.TimeFormat)}}, 90 * time.Second},
		{"RateLimit-Reset delta", 429, http.Header{"Ratelimit-Reset": {"20"}, "X-Ratelimit-Reset": {"1700000090"}}, 20 * time.Second},
		{"X-RateLimit-Reset epoch", 429, http.Header{"X-Ratelimit-Reset": {"1700000045"}}, 45 * time.Second},
		{"X-RateLimit-Reset epoch ms", 429, http.Header{"X-Ratelimit-Reset": {"1700000005000"}}, 5 * time.Second},
		{"X-RateLimit-Reset delta", 429, http.Header{"X-Ratelimit-Reset": {"15"}}, 15 * time.Second},
		{"epoch in the past", 429, http.Header{"X-Ratelimit-Reset": {"1600000000"}}, 0},
		{"garbage", 429, http.Header{"Retry-After": {"soon"}}, 0},
		{"reset headers ignored off 429", 404, http.Header{"Ratelimit-Reset": {"20"}}, 0},
		{"Retry-After honoured on 503", 503, http.Header{"Retry-After": {"120"}}, 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.status, tt.h, now); got != tt.want {
				t.Errorf("retryAfter = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestErrorMessageIsBounded(t *testing.T) {
	body := `{"error":{"name":"x","message":"` + strings.Repeat("é", 2000) + `"}}`
	e := ParseError(500, nil, []byte(body))
	if len(e.Message) > maxMessage+len("…") || !strings.HasSuffix(e.Message, "…") {
		t.Errorf("message of %d bytes", len(e.Message))
	}
	html := "<html>" + strings.Repeat("<p>x</p>", 10000) + "</html>"
	if e := ParseError(502, nil, []byte(html)); len(e.Message) > maxMessage+len("…") {
		t.Errorf("html message of %d bytes", len(e.Message))
	}
}

func FuzzParseError(f *testing.F) {
	for _, tt := range errorFamilies {
		f.Add(tt.status, []byte(tt.body), "7", "0")
	}
	f.Add(400, []byte(`{"error":null}`), "", "")
	f.Add(400, []byte(`{"error":[1,2]}`), "", "")
	f.Add(400, []byte(`{"error":{"name":7,"message":{"a":1}}}`), "", "")
	f.Add(400, []byte(`{"detail":null,"type":5}`), "", "")
	f.Add(429, []byte(`[]`), "Wed, 21 Oct 2015 07:28:00 GMT", "x")
	f.Add(599, []byte("\xff\xfe<title>\x00</title>"), "1e308", "-1")
	f.Fuzz(func(t *testing.T, status int, body []byte, retry, month string) {
		h := http.Header{"Retry-After": {retry}, "X-Ratelimit-Remaining-Month": {month}, "X-Ratelimit-Reset": {retry}}
		e := ParseError(status, h, body)
		if status < 400 {
			return
		}
		if e == nil {
			t.Fatal("nil *Error")
		}
		if e.Status != status {
			t.Fatalf("Status = %d, want %d", e.Status, status)
		}
		if e.Name == "" && e.Message == "" {
			t.Fatalf("no name or message for %q", body)
		}
		if e.RetryAfter < 0 {
			t.Fatalf("negative RetryAfter %s", e.RetryAfter)
		}
		if len(e.Message) > 4*maxMessage {
			t.Fatalf("message of %d bytes", len(e.Message))
		}
		_ = e.Error()
	})
}
