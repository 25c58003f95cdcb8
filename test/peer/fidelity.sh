#!/usr/bin/env bash
# fidelity.sh — peer fidelity check: Postman's official MCP server
# (@postman/postman-mcp-server, --full) must get non-error results from our
# emulator for getAuthenticatedUser, getWorkspaces, getWorkspace,
# getCollections, getCollection, getEnvironments, getEnvironment, getMonitors,
# getMonitor, runMonitor and getMocks, then the collection-item, mock and
# global-variable tools (createCollectionFolder, createCollectionRequest,
# createCollectionResponse, their get/update/delete, createMock, updateMock,
# deleteMock, updateWorkspaceGlobalVariables, getWorkspaceGlobalVariables).
#
# Builds the emulator and the Go driver (test/peer/fidelity), starts the
# emulator on a free loopback port, runs the driver (which spawns the peer
# over stdio), prints one PASS/FAIL line per tool and "N passed, N failed",
# and stops the emulator on exit. Exit status: 0 all passed, 1 a tool failed,
# 2 setup failed.
#
#   test/peer/fidelity.sh          # extra arguments go to the driver, e.g. -v
#
# Env: PMOPS_EMULATOR_BIN  use this emulator binary instead of building one.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"

KEY=PMAK-demo
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pmops-fidelity.XXXXXX")
EMU_PID=
cleanup() {
	if [[ -n $EMU_PID ]] && kill -0 "$EMU_PID" 2>/dev/null; then
		kill "$EMU_PID" 2>/dev/null || true
		wait "$EMU_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "fidelity: $*" >&2
	exit 2
}

# A loopback port nothing listens on (probed with bash's /dev/tcp).
free_port() {
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

scripts/npm-tools.sh >/dev/null || die "npm tools could not be installed"
# shellcheck source=/dev/null
. "${PMOPS_NPM_CACHE:-.cache/npm}/env.sh"

EMU=${PMOPS_EMULATOR_BIN:-}
if [[ -z $EMU ]]; then
	EMU=$TMP/postman-emulator
	go build -o "$EMU" ./cmd/postman-emulator || die "emulator does not build"
fi
go build -o "$TMP/fidelity" ./test/peer/fidelity || die "driver does not build"

PORT=$(free_port) || die "no free loopback port"
BASE=http://127.0.0.1:$PORT
"$EMU" -addr "127.0.0.1:$PORT" -seed demo -key "$KEY" >"$TMP/emulator.log" 2>&1 &
EMU_PID=$!

# Ready once it answers HTTP at all (any status; /me needs the key).
for i in $(seq 1 150); do
	if curl -s -o /dev/null -m 1 "$BASE/me"; then
		break
	fi
	kill -0 "$EMU_PID" 2>/dev/null || {
		cat "$TMP/emulator.log" >&2
		die "emulator exited during startup"
	}
	[[ $i == 150 ]] && {
		cat "$TMP/emulator.log" >&2
		die "emulator did not answer on $BASE within 30 s"
	}
	sleep 0.2
done

rc=0
POSTMAN_API_BASE_URL=$BASE POSTMAN_API_KEY=$KEY \
	"$TMP/fidelity" -peer-js "$PEER_MCP_JS" -node "$NODE" "$@" || rc=$?
if [[ $rc != 0 ]]; then
	echo "--- emulator log (tail) ---" >&2
	tail -n 40 "$TMP/emulator.log" >&2
fi
exit "$rc"
