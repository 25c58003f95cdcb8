package compare

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// APIRequest is one request a server sent to the Postman API.
type APIRequest struct {
	Key    string // X-Api-Key it carried
	Method string
	Path   string // as sent, IDs included
	Status int
}

// Route is the request with IDs replaced: GET /monitors/{id}.
func (r APIRequest) Route() string { return r.Method + " " + RoutePattern(r.Path) }

// RoutePattern replaces the ID segments of a Postman API path with {id}: every second segment
// (/collections/{id}, /monitors/{id}/run), since the in-scope paths alternate resource names and IDs.
func RoutePattern(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := range segs {
		if i%2 == 1 && segs[i] != "" {
			segs[i] = "{id}"
		}
	}
	return "/" + strings.Join(segs, "/")
}

// CountingProxy is a reverse proxy in front of the emulator that records every request, so a benchmark can tell
// how many Postman API calls each tool call spent.
type CountingProxy struct {
	URL string
	srv *http.Server
	mu  sync.Mutex
	log []APIRequest
}

// NewCountingProxy starts a proxy on a loopback port forwarding to target.
func NewCountingProxy(target string) (*CountingProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("proxy target: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listen: %w", err)
	}
	p := &CountingProxy{URL: "http://" + ln.Addr().String()}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		p.record(resp.Request, resp.StatusCode)
		return nil
	}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		p.record(r, http.StatusBadGateway)
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
	p.srv = &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *CountingProxy) record(r *http.Request, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, APIRequest{Key: r.Header.Get("X-Api-Key"), Method: r.Method, Path: r.URL.Path, Status: status})
}

// Mark returns a position in the request log for Since.
func (p *CountingProxy) Mark() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.log)
}

// Since returns the requests recorded after mark.
func (p *CountingProxy) Since(mark int) []APIRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]APIRequest(nil), p.log[mark:]...)
}

// Close stops the proxy.
func (p *CountingProxy) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return p.srv.Shutdown(ctx)
}
