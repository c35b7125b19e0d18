#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine: install what is missing, build, start a local
# Kafka broker, stream the shipped sample through `authwatch run` (once it exists: else replay),
# and show the decisions with their reasons.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n=== %s\n' "$*" >&2; }

step "setup (packages, GeoIP databases, Kafka jars)"
deploy/setup.sh

step "build (Release) -> build/bin/authwatch"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"

step "check the config and the shipped rules"
build/bin/authwatch check --config deploy/authwatch.yaml

mkdir -p var/demo
zcat deploy/samples/events.jsonl.gz > var/demo/events.jsonl

step "replay the sample ($(wc -l < var/demo/events.jsonl) events) through the whole pipeline"
build/bin/authwatch replay --config deploy/authwatch.yaml --input var/demo/events.jsonl \
  --output var/demo/decisions.jsonl --dead-letter var/demo/dead-letter.jsonl

step "decisions (subject, action, scope, TTL, rule, first reason)"
python3 - var/demo/decisions.jsonl <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for d in rows:
    if d["action"] == "unblock":
        continue
    s = d["subject"]
    print(f'{d["ts"][:19]}  {d["action"]:<9} {s["type"]:<10} {s["value"]:<46} {d["scope"]:<4} '
          f'{d["ttl_s"] // 60:>5} min  {d["rule"]}\n{"":21}{d["reasons"][0]}')
print(f"\n{len(rows)} decision records ({sum(d['action'] == 'unblock' for d in rows)} unblocks) "
      f"in var/demo/decisions.jsonl")
PY

step "score against the sample's labels"
zcat deploy/samples/labels.json.gz > var/demo/labels.json
python3 tests/scenarios/score.py --labels var/demo/labels.json --decisions var/demo/decisions.jsonl | sed -n '1,40p'
