package mcpserver

import (
	"context"
	"net/http"
	"strings"

	"github.com/mark3labs/mcp-go/server"
)

type keyCtx struct{}

// KeyFromContext returns the Postman API key the HTTP request carried ("" over stdio or when none was sent).
func KeyFromContext(ctx context.Context) string {
	k, _ := ctx.Value(keyCtx{}).(string)
	return k
}

// requestKey reads the caller's Postman key from Authorization: Bearer or X-Api-Key.
func requestKey(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		if scheme, token, ok := strings.Cut(auth, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
	}
	return strings.TrimSpace(r.Header.Get("X-Api-Key"))
}

// HTTPHandler serves s over Streamable HTTP at /mcp, and /healthz. Each request's Postman key travels in its
// context; DNS-rebinding protection (mcp-go's default) stays on.
func HTTPHandler(s *server.MCPServer) http.Handler {
	streamable := server.NewStreamableHTTPServer(s,
		server.WithEndpointPath("/mcp"),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			return context.WithValue(ctx, keyCtx{}, requestKey(r))
		}),
	)
	mux := http.NewServeMux()
	mux.Handle("/mcp", streamable)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
