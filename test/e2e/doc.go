// Package e2e drives the real pmops binaries with real third-party MCP clients: the MCP inspector CLI over stdio,
// the MCP conformance suite and mcp-go's Streamable HTTP client over HTTP, against the Postman emulator. The tests
// build cmd/mcp and cmd/postman-emulator once, find the npm tools through the environment written by
// scripts/npm-tools.sh (.cache/npm/env.sh: INSPECTOR, CONFORMANCE), and skip when those are missing unless CI=true.
package e2e
