#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine: install what is missing, build, start a local
# Kafka broker, stream the shipped sample through `authwatch run`, show the decisions with their
# reasons, check that replay decides the same, and score them against the sample's labels.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n=== %s\n' "$*" >&2; }

step "setup (packages, GeoIP databases, Kafka jars)"
deploy/setup.sh

step "build (Release, profile-guided) -> build/bin/authwatch"
deploy/build.sh build

step "check the config and the shipped rules"
build/bin/authwatch check --config deploy/authwatch.yaml

mkdir -p var/demo
zcat deploy/samples/events.jsonl.gz > var/demo/events.jsonl

step "start a local Kafka broker (KRaft) and create the topics"
export AUTHWATCH_KAFKA_PORT=${AUTHWATCH_KAFKA_PORT:-19092}
kafka() { deploy/kafka/kafka.sh "$@" --dir var/kafka/demo; }
trap 'kafka stop >/dev/null 2>&1 || true' EXIT
kafka wipe >/dev/null 2>&1 || true
bootstrap=$(kafka start)
kafka create-topics authwatch.events:1 authwatch.decisions:2 authwatch.dead-letter:1 >/dev/null
sed -e "s|bootstrap.servers: .*|bootstrap.servers: $bootstrap|" deploy/authwatch.yaml > deploy/.demo.yaml

step "produce the sample ($(wc -l < var/demo/events.jsonl) events) to authwatch.events (one partition: replay order), keyed by account"
python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)["account"] + "\t" + l.rstrip("\n"))' var/demo/events.jsonl \
  | kafka produce authwatch.events --property parse.key=true --property "key.separator=	"

step "authwatch run: consume, detect, decide (metrics on http://127.0.0.1:9464/metrics)"
build/bin/authwatch run --config deploy/.demo.yaml 2> var/demo/run.log &
engine=$!
for _ in $(seq 1 120); do
  sleep 1
  if curl -s 127.0.0.1:9464/metrics | awk '/^authwatch_events_(total|rejected_total|skipped_total)/ {n += $2} END {exit !(n >= '"$(wc -l < var/demo/events.jsonl)"')}'; then break; fi
done
sleep 2
kill -TERM "$engine"; wait "$engine"
tail -n 2 var/demo/run.log
kafka consume authwatch.decisions --timeout-ms 5000 > var/demo/decisions.jsonl 2>/dev/null || true
rm -f deploy/.demo.yaml

step "decisions from the authwatch.decisions topic (subject, action, scope, TTL, rule, first reason)"
python3 - var/demo/decisions.jsonl <<'PY'
import json, sys
rows = sorted((json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")), key=lambda d: d["ts"])
for d in rows:
    if d["action"] == "unblock":
        continue
    s = d["subject"]
    print(f'{d["ts"][:19]}  {d["action"]:<9} {s["type"]:<10} {s["value"]:<46} {d["scope"]:<4} '
          f'{d["ttl_s"] // 60:>5} min  {d["rule"]}\n{"":21}{d["reasons"][0]}')
print(f"\n{len(rows)} decision records ({sum(d['action'] == 'unblock' for d in rows)} unblocks) in var/demo/decisions.jsonl")
PY

step "replay the same sample offline: the same decisions?"
build/bin/authwatch replay --config deploy/authwatch.yaml --input var/demo/events.jsonl \
  --output var/demo/replay-decisions.jsonl --dead-letter var/demo/dead-letter.jsonl
python3 - var/demo/decisions.jsonl var/demo/replay-decisions.jsonl <<'PY'
import json, sys
ids = [sorted(json.loads(l)["decision_id"] for l in open(f) if l.startswith("{")) for f in sys.argv[1:]]
print("same decisions from run and replay:", ids[0] == ids[1], f"({len(ids[0])} and {len(ids[1])})")
PY

step "score against the sample's labels"
zcat deploy/samples/labels.json.gz > var/demo/labels.json
python3 tests/scenarios/score.py --labels var/demo/labels.json --decisions var/demo/decisions.jsonl | sed -n '1,40p'
