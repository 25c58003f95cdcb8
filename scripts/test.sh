#!/usr/bin/env bash
# The project's test command (the README's second command): installs the third-party test clients that a fresh
# machine lacks (real MCP clients and Postman's own MCP server, from npm), then runs every Go test with the race
# detector. End-to-end tests that need those clients find them through .cache/npm/env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

if [ -f scripts/npm-tools.sh ]; then
  bash scripts/npm-tools.sh >&2
fi
if [ -f .cache/npm/env.sh ]; then
  # shellcheck disable=SC1091
  set -a; . .cache/npm/env.sh; set +a
fi

go test -race -count=1 "$@" ./...
