package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// exchange is one HTTP request the peer made and the emulator's answer.
type exchange struct {
	Method, URI string
	Header      http.Header
	ReqBody     []byte
	Status      int
	RespHeader  http.Header
	RespBody    []byte
	Err         error
}

type recorder struct {
	mu        sync.Mutex
	exchanges []exchange
}

// mark returns a position; since returns the exchanges recorded after it.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.exchanges)
}

func (r *recorder) since(mark int) []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.exchanges[mark:]...)
}

func (r *recorder) transport(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		ex := exchange{Method: req.Method, URI: req.URL.RequestURI(), Header: req.Header.Clone()}
		if req.Body != nil {
			body, err := io.ReadAll(req.Body)
			req.Body.Close()
			if err != nil {
				return nil, err
			}
			ex.ReqBody = body
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		resp, err := next.RoundTrip(req)
		if err != nil {
			ex.Err = err
			r.add(ex)
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			ex.Err = err
			r.add(ex)
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		ex.Status, ex.RespHeader, ex.RespBody = resp.StatusCode, resp.Header.Clone(), body
		r.add(ex)
		return resp, nil
	})
}

func (r *recorder) add(ex exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exchanges = append(r.exchanges, ex)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// describe renders an exchange for the report. The API key is masked: it is
// a secret even when it is the emulator's demo key.
func (ex exchange) describe(bodyLimit int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    → %s %s\n", ex.Method, ex.URI)
	names := make([]string, 0, len(ex.Header))
	for k := range ex.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := strings.Join(ex.Header[k], ", ")
		if strings.EqualFold(k, "X-Api-Key") {
			v = mask(v)
		}
		fmt.Fprintf(&b, "      %s: %s\n", k, v)
	}
	if len(ex.ReqBody) > 0 {
		fmt.Fprintf(&b, "      body: %s\n", clip(ex.ReqBody, bodyLimit))
	}
	if ex.Err != nil {
		fmt.Fprintf(&b, "    ← transport error: %v\n", ex.Err)
		return b.String()
	}
	fmt.Fprintf(&b, "    ← %d content-type=%q: %s\n", ex.Status, ex.RespHeader.Get("Content-Type"), clip(ex.RespBody, bodyLimit))
	return b.String()
}

func mask(s string) string {
	if len(s) <= 5 {
		return "****"
	}
	return s[:5] + "****"
}

func clip(b []byte, n int) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > n {
		return s[:n] + fmt.Sprintf("… (%d bytes)", len(b))
	}
	return s
}
