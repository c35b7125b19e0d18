#!/usr/bin/env bash
# Installs toxiproxy's server (the TCP proxy of the `network` fault, tests/faults/fault_test.py) from
# the Go module proxy, built from source with `go install` at a pinned version, as
# var/tools/bin/toxiproxy-server. Idempotent: does nothing when that binary is already this version
# (its module version, embedded by the Go toolchain, is checked after the build and recorded next to
# it in toxiproxy-server.version). Prints the binary's path on stdout.
# Needs Go (PATH or /usr/local/go/bin). Environment: AUTHWATCH_TOXIPROXY_VERSION (v2.12.0).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
version=${AUTHWATCH_TOXIPROXY_VERSION:-v2.12.0}
module=github.com/Shopify/toxiproxy/v2
bin=$root/var/tools/bin/toxiproxy-server
stamp=$bin.version
log() { printf '[toxiproxy] %s\n' "$*" >&2; }

go=$(command -v go || true)
[[ -n $go ]] || { [[ -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go; }

if [[ -x $bin && -f $stamp && $(<"$stamp") == "$module@$version" ]]; then
  printf '%s\n' "$bin"
  exit 0
fi
[[ -n $go ]] || { log "error: Go is needed to build toxiproxy $version (not in PATH nor /usr/local/go/bin)"; exit 1; }
log "building $module/cmd/server@$version with $("$go" env GOVERSION)"
mkdir -p "$root/var/tools/bin"
tmp=$(mktemp -d "$root/var/tools/.toxiproxy.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The command's directory is cmd/server, so go install names the binary `server`: build it aside and
# rename it. Low priority: the machine is shared with the engine and a broker.
GOBIN=$tmp GOFLAGS=-buildvcs=false nice -n 10 "$go" install "$module/cmd/server@$version"
"$go" version -m "$tmp/server" |
  awk -v m="$module" -v v="$version" '$1 == "mod" && $2 == m && $3 == v { ok = 1 } END { exit !ok }' ||
  { log "error: the built binary does not report $module $version"; exit 1; }
rm -f "$stamp"
mv -f "$tmp/server" "$bin"
printf '%s@%s\n' "$module" "$version" >"$stamp"
log "installed $bin ($version)"
printf '%s\n' "$bin"
