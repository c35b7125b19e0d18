#!/usr/bin/env bash
# Load test of `authwatch policyd` from a second process on loopback: a broker, 100,000 block
# decisions on the decisions topic, policyd serving them, and authwatch_policy_load sending
# requests over persistent connections (as Postfix does). Prints requests/s and latency.
#   bench/policyd/run.sh [CONNECTIONS] [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
connections=${1:-4}
seconds=${2:-10}
export AUTHWATCH_KAFKA_PORT=19592 AUTHWATCH_KAFKA_CONTROLLER_PORT=19593
kafka() { deploy/kafka/kafka.sh "$@" --dir var/kafka/policyd-bench; }
tmp=$(mktemp -d)
cleanup() { [[ -n "${pd:-}" ]] && kill "$pd" 2>/dev/null; wait 2>/dev/null; kafka stop >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
kafka wipe >/dev/null 2>&1 || true
bootstrap=$(kafka start)
kafka create-topics bench.decisions:2 >/dev/null
/usr/bin/python3 - "$bootstrap" <<'PY'
import json, sys, time
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "linger.ms": 20, "queue.buffering.max.messages": 1000000})
expires = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 3600))
for i in range(100000):
    d = {"decision_id": f"{i:024x}", "ts": "2026-11-27T09:00:00.000Z",
         "subject": {"type": "account", "value": f"blocked{i}@mail.example"}, "action": "block", "scope": "smtp",
         "ttl_s": 3600, "expires": expires, "rule": "bench", "dry_run": False, "reasons": [], "evidence": {}}
    p.produce("bench.decisions", json.dumps(d).encode(), key=d["subject"]["value"])
    p.poll(0)
p.flush(60)
PY
sed -e "s|bootstrap.servers: .*|bootstrap.servers: $bootstrap|" -e "s|decisions_topic: .*|decisions_topic: bench.decisions|" \
    -e "s|  listen: 127.0.0.1:10040.*|  listen: 127.0.0.1:10140|" -e "s|  metrics_listen: .*|  metrics_listen: 127.0.0.1:19565|" \
    -e "s|\.\./var/|$root/var/|g" -e "s|\[\.\./rules\]|[$root/rules]|" deploy/authwatch.yaml > "$tmp/authwatch.yaml"
"$build/bin/authwatch" policyd --config "$tmp/authwatch.yaml" 2> "$tmp/policyd.log" &
pd=$!
for _ in $(seq 1 60); do
  curl -sf 127.0.0.1:19565/readyz >/dev/null && break
  sleep 0.5
done
grep "decisions loaded" "$tmp/policyd.log"
"$build/bin/authwatch_policy_load" --target 127.0.0.1:10140 --connections "$connections" --seconds "$seconds" \
  --accounts 100000 --blocked-share 0.1
ps -o rss=,cputime= -p "$pd" | awk '{printf "policyd RSS %.1f MiB, CPU %s\n", $1/1024, $2}'
