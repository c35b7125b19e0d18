#!/usr/bin/env bash
# Fault injection for `authwatch run` with durable state (issue #8), against a real Kafka broker
# that this script starts on loopback (ports 19292/19293, var/kafka/faults) and always stops.
#
#   tests/faults/run.sh            the short tier (CI): engine kill -9 and crashes at chosen
#                                  points, and a scale-out instance stopped past its session
#                                  timeout; one seed, 30 s of stream each
#   tests/faults/run.sh --full     every fault (none, kill9, broker, crash, network), seeds 7 11 23,
#                                  ~1,000,000 events in 45 s each; results appended to
#                                  bench/results/faults.jsonl
# AUTHWATCH_FAULTS picks faults in either tier, e.g. AUTHWATCH_FAULTS=network tests/faults/run.sh.
# network: latency and connection resets in bursts between engine and broker, through toxiproxy
# (built from the Go module proxy by tests/faults/install-toxiproxy.sh when that fault is selected;
# needs Go). The broker then also gets a PROXIED listener on PORT+2 that advertises the proxy on
# PORT+3; toxiproxy's API is on PORT+4. Everything listens on 127.0.0.1 only.
# Needs build/bin/authwatch. Details of each fault and checker: tests/faults/fault_test.py. The logs
# of each test's last run (engine, proxy, committed offsets over time) are kept in var/faults/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export AUTHWATCH_KAFKA_PORT=${AUTHWATCH_FAULT_KAFKA_PORT:-19292}
export AUTHWATCH_KAFKA_CONTROLLER_PORT=$((AUTHWATCH_KAFKA_PORT + 1))
export AUTHWATCH_IT_KAFKA_DIR="$root/var/kafka/faults"
if [[ ${1:-} == --full ]]; then
  export AUTHWATCH_FAULTS=${AUTHWATCH_FAULTS:-"none kill9 broker crash network"}
  export AUTHWATCH_FAULT_SEEDS=${AUTHWATCH_FAULT_SEEDS:-"7 11 23"}
  export AUTHWATCH_FAULT_SECONDS=${AUTHWATCH_FAULT_SECONDS:-45}
  export AUTHWATCH_FAULT_RESULTS=${AUTHWATCH_FAULT_RESULTS:-$root/bench/results/faults.jsonl}
  # ~1,000,000 events per fault (4,000 accounts over three days)
  export AUTHWATCH_FAULT_ACCOUNTS=${AUTHWATCH_FAULT_ACCOUNTS:-4000} AUTHWATCH_FAULT_DAYS=${AUTHWATCH_FAULT_DAYS:-3}
  shift
else
  export AUTHWATCH_FAULTS=${AUTHWATCH_FAULTS:-"kill9 crash"}
  export AUTHWATCH_FAULT_SEEDS=${AUTHWATCH_FAULT_SEEDS:-7}
  export AUTHWATCH_FAULT_SECONDS=${AUTHWATCH_FAULT_SECONDS:-30}
fi
if [[ " $AUTHWATCH_FAULTS " == *" network "* ]]; then
  AUTHWATCH_TOXIPROXY=$(tests/faults/install-toxiproxy.sh)   # not in `export`, which would hide a failure
  export AUTHWATCH_TOXIPROXY
  export AUTHWATCH_KAFKA_PROXIED=$((AUTHWATCH_KAFKA_PORT + 2)):$((AUTHWATCH_KAFKA_PORT + 3))
  export AUTHWATCH_TOXIPROXY_API=127.0.0.1:$((AUTHWATCH_KAFKA_PORT + 4))
fi
kafka() { deploy/kafka/kafka.sh "$@" --dir "$AUTHWATCH_IT_KAFKA_DIR"; }
kafka stop >/dev/null 2>&1 || true
kafka wipe >/dev/null 2>&1 || rm -rf "$AUTHWATCH_IT_KAFKA_DIR"
trap 'kafka stop >/dev/null 2>&1 || true' EXIT
export AUTHWATCH_IT_BOOTSTRAP=$(kafka start)
# Debian's python3-confluent-kafka is installed for the system interpreter.
/usr/bin/python3 tests/faults/fault_test.py "$@"
# Scale-out: three instances of one group (tests/faults/scale_out_faults.py). The short tier stops
# one past its session timeout (fencing, shards moving both ways); --full adds none, kill9, scale,
# broker and crash. AUTHWATCH_SCALE_FAULTS="" skips them.
if [[ -n ${AUTHWATCH_SCALE_FAULTS-x} ]]; then
  if [[ -n ${AUTHWATCH_FAULT_RESULTS:-} ]]; then  # --full: every fault on ~1,000,000 events
    export AUTHWATCH_SCALE_FAULTS=${AUTHWATCH_SCALE_FAULTS:-"none kill9 stop scale broker crash"}
    export AUTHWATCH_SCALE_FAULT_ACCOUNTS=${AUTHWATCH_SCALE_FAULT_ACCOUNTS:-4000} AUTHWATCH_SCALE_FAULT_DAYS=${AUTHWATCH_SCALE_FAULT_DAYS:-3}
  else
    export AUTHWATCH_SCALE_FAULTS=${AUTHWATCH_SCALE_FAULTS:-stop}
  fi
  /usr/bin/python3 tests/faults/scale_out_faults.py "$@"
fi
