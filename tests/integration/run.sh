#!/usr/bin/env bash
# Integration tests against a real Apache Kafka broker (KRaft, from Maven Central jars) that this
# script starts on loopback in a scratch directory and always stops. Needs build/bin/authwatch.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export AUTHWATCH_KAFKA_PORT=${AUTHWATCH_KAFKA_PORT:-19192}
export AUTHWATCH_KAFKA_CONTROLLER_PORT=${AUTHWATCH_KAFKA_CONTROLLER_PORT:-19193}
export AUTHWATCH_IT_KAFKA_DIR="$root/var/kafka/it"
kafka() { deploy/kafka/kafka.sh "$@" --dir "$AUTHWATCH_IT_KAFKA_DIR"; }
kafka stop >/dev/null 2>&1 || true
kafka wipe >/dev/null 2>&1 || rm -rf "$AUTHWATCH_IT_KAFKA_DIR"
trap 'kafka stop >/dev/null 2>&1 || true' EXIT
export AUTHWATCH_IT_BOOTSTRAP=$(kafka start)
# Debian's python3-confluent-kafka is installed for the system interpreter.
/usr/bin/python3 tests/integration/kafka_test.py "$@"
# Scale-out: several instances in one group decide as one replay.
/usr/bin/python3 tests/integration/scale_out_test.py "$@"
