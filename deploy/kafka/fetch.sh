#!/usr/bin/env bash
# Resolves the Kafka 4.1 broker and CLI jars from Maven Central (via mvn, never a Kafka tarball)
# into var/kafka/libs, which kafka.sh puts on the classpath as libs/*.
# Idempotent: mvn runs only when libs/ is missing or pom.xml is newer than the stamp of the last copy.
#   AUTHWATCH_KAFKA_LIBS=DIR   copy somewhere else (default <root>/var/kafka/libs)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
libs=${AUTHWATCH_KAFKA_LIBS:-$root/var/kafka/libs}
stamp=$libs/.fetched   # inside libs/, so deleting libs/ also invalidates it

log() { printf '[kafka-fetch] %s\n' "$*" >&2; }

if [[ -d $libs && -f $stamp && ! $here/pom.xml -nt $stamp ]]; then
  log "up to date: $libs ($(find "$libs" -maxdepth 1 -name '*.jar' | wc -l) jars)"
  exit 0
fi
command -v mvn >/dev/null || { log "mvn not found (deploy/setup.sh installs maven)"; exit 1; }

# Copy into a scratch dir and swap it in: copy-dependencies never deletes, so copying over an old
# libs/ would keep jars a previous pom resolved (e.g. a second slf4j) on the libs/* classpath.
mkdir -p "$(dirname "$libs")"
tmp=$libs.tmp.$$
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
log "resolving $(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:kafka \1:p' "$here/pom.xml") from Maven Central"
# Debian's mvn 3.8.7 prints bare ANSI resets (stdout and stderr) even with -B when not on a tty: strip them;
# -q leaves only errors, which belong on stderr. pipefail keeps mvn's exit status.
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
  -DoutputDirectory="$tmp" -DincludeScope=runtime 2>&1 | sed 's/\x1b\[[0-9;]*m//g; /^$/d' >&2
touch "$tmp/.fetched"
rm -rf "$libs"
mv "$tmp" "$libs"
log "copied $(find "$libs" -maxdepth 1 -name '*.jar' | wc -l) jars to $libs"
