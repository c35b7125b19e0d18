#!/usr/bin/env bash
# The observability proof: a real Kafka broker (started here on its own ports and directory, and
# always stopped), `authwatch run`, and a real Prometheus with deploy/prometheus/ scraping it;
# checks the metrics, the alert rules (promtool) and every query of the Grafana dashboard.
# Needs build/bin/authwatch and Debian's prometheus (promtool) and python3-confluent-kafka
# (deploy/setup.sh installs both). Closes with 'N passed, M failed'; exit status 1 on a failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export AUTHWATCH_KAFKA_PORT=${AUTHWATCH_KAFKA_PORT:-19292}
export AUTHWATCH_KAFKA_CONTROLLER_PORT=${AUTHWATCH_KAFKA_CONTROLLER_PORT:-19293}
kafka_dir="$root/var/kafka/obs"
kafka() { deploy/kafka/kafka.sh "$@" --dir "$kafka_dir"; }

for tool in prometheus promtool; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (deploy/setup.sh installs it)"; echo "0 passed, 1 failed"; exit 1; }
done
[[ -x build/bin/authwatch ]] || { echo "build/bin/authwatch is missing (build first)"; echo "0 passed, 1 failed"; exit 1; }

kafka stop >/dev/null 2>&1 || true
kafka wipe >/dev/null 2>&1 || rm -rf "$kafka_dir"
py=
cleanup() {
  set +e   # a failing step here must not skip stopping the broker
  if [[ -n $py ]]; then kill -TERM "$py" 2>/dev/null; wait "$py" 2>/dev/null; fi
  kafka stop >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

export AUTHWATCH_OBS_STARTED=$EPOCHREALTIME   # the test reports the time from here
if ! AUTHWATCH_OBS_BOOTSTRAP=$(kafka start); then
  echo "the Kafka broker did not start (see $kafka_dir/node1/logs/server.log)"
  echo "0 passed, 1 failed"
  exit 1
fi
export AUTHWATCH_OBS_BOOTSTRAP
# Debian's python3-confluent-kafka is installed for the system interpreter. In the background so
# that a TERM to this script reaches it (its children are stopped by it).
/usr/bin/python3 tests/observability/prometheus_test.py "$@" &
py=$!
rc=0
wait "$py" || rc=$?
py=
exit "$rc"
