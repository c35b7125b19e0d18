#!/usr/bin/env bash
# replay_bench.sh: end-to-end throughput of `authwatch replay` (read -> decode -> enrich ->
# detect -> decide -> write) on about a million generated events, with the shipped config.
#
# Why: the micro-benchmarks (decode_bench, enrich_bench, detect_bench) price each stage alone;
# this is what an operator sees, including the reader, the GeoIP cache's real hit ratio on a
# realistic population, the decision policy and the JSON sinks.
#
# Scenarios, each run RUNS times (default 5), interleaved so that drift on a shared machine
# hits all of them alike; the median of the "events/s" of replay's stderr summary is reported
# (its timer starts after startup: config, GeoIP open and rule compilation are excluded):
#   decisions            the whole pipeline, decisions to /dev/null
#   enriched             --emit enriched: decode + enrich + enriched-event JSON, no rules
#   ... each also under `taskset -c 0` (pinned to one core: no migrations, one cache).
# The replay/enriched ratio is the time of the whole pipeline over the enrich-only pipeline,
# in the same run; note that enriched mode writes one JSON line per event (decisions mode
# writes only decisions), so the ratio understates detection's share slightly.
#
# Input: tests/scenarios/generate.py --seed 5 --accounts 4000 --days 3 (about 1.0 M events:
# benign population plus every attack campaign), generated once into $WORK (default
# /tmp/authwatch-replay-bench) and reused.
#
#   bench/replay_bench.sh [BUILD_DIR]        (default BUILD_DIR: build; needs BUILD_DIR/bin/authwatch)
#   RUNS=5 SEED=5 ACCOUNTS=4000 DAYS=3 WORK=/tmp/authwatch-replay-bench bench/replay_bench.sh build-bench
#
# Last recorded: see the table in the project's closing note (AMD EPYC, 2 vCPU shared VM,
# Release, GCC 12.2).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-build}"
[[ "$build" = /* ]] || build="$root/$build"
bin="$build/bin/authwatch"
runs="${RUNS:-5}"
seed="${SEED:-5}"
accounts="${ACCOUNTS:-4000}"
days="${DAYS:-3}"
work="${WORK:-/tmp/authwatch-replay-bench}"
config="$root/deploy/authwatch.yaml"

if [[ ! -x "$bin" ]]; then
  echo "replay_bench: $bin not found; build first (cmake --build $build)" >&2
  exit 2
fi
mkdir -p "$work"
events="$work/events-s$seed-a$accounts-d$days.jsonl"
if [[ ! -s "$events" ]]; then
  echo "replay_bench: generating $events ..." >&2
  python3 "$root/tests/scenarios/generate.py" --seed "$seed" --accounts "$accounts" --days "$days" \
    --out "$events.tmp" --labels "$work/labels-s$seed-a$accounts-d$days.json" >&2
  mv "$events.tmp" "$events"
fi
count=$(wc -l < "$events")
bytes=$(stat -c %s "$events")
if (( count < 900000 || count > 1200000 )); then
  echo "replay_bench: warning: $count events, not about 1,000,000 (adjust DAYS/ACCOUNTS)" >&2
fi

# One run: prints "<events/s> <seconds>" from the summary line, keeps the summary in $work.
run_once() {
  local name="$1"; shift
  local log="$work/$name.stderr"
  "$@" "$bin" replay --config "$config" --input "$events" --output /dev/null \
    --dead-letter /dev/null --no-progress "${extra[@]}" 2> "$log"
  sed -n 's/.*time: \([0-9.]*\) s, \([0-9]*\) events\/s.*/\2 \1/p' "$log"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A eps secs
scenarios=(decisions enriched decisions-pinned enriched-pinned)
for ((r = 1; r <= runs; ++r)); do
  for s in "${scenarios[@]}"; do
    extra=()
    [[ "$s" == enriched* ]] && extra=(--emit enriched)
    pin=()
    [[ "$s" == *-pinned ]] && pin=(taskset -c 0)
    read -r e t < <(run_once "$s" "${pin[@]}")
    eps[$s]+="$e "
    secs[$s]+="$t "
    echo "run $r/$runs $s: $e events/s ($t s)" >&2
  done
done

echo
echo "authwatch replay: $count events ($((bytes / count)) bytes each on average) from $(basename "$events")"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $bin; medians of $runs runs"
grep -E 'decisions:|geoip cache' "$work/decisions.stderr" | sed 's/^ */  decisions run: /'
echo
printf '| %-18s | %14s | %10s | %10s | %14s |\n' scenario "events/s (med)" "s (med)" "us/event" "events/s range"
printf '|%s|%s|%s|%s|%s|\n' "--------------------" "----------------" "------------" "------------" "----------------"
declare -A med
for s in "${scenarios[@]}"; do
  m=$(tr ' ' '\n' <<< "${eps[$s]}" | grep . | median)
  t=$(tr ' ' '\n' <<< "${secs[$s]}" | grep . | median)
  lo=$(tr ' ' '\n' <<< "${eps[$s]}" | grep . | sort -g | head -1)
  hi=$(tr ' ' '\n' <<< "${eps[$s]}" | grep . | sort -g | tail -1)
  med[$s]=$m
  printf '| %-18s | %14.0f | %10.3f | %10.3f | %6.0f-%-7.0f |\n' "$s" "$m" "$t" "$(awk -v m="$m" 'BEGIN { print 1e6 / m }')" "$lo" "$hi"
done
echo
awk -v d="${med[decisions]}" -v e="${med[enriched]}" -v dp="${med[decisions-pinned]}" -v ep="${med[enriched-pinned]}" 'BEGIN {
  printf "replay/enriched-only time ratio: %.2f (unpinned), %.2f (pinned); detect+decide adds about %.0f ns/event (unpinned), %.0f (pinned)\n",
         e / d, ep / dp, 1e9 / d - 1e9 / e, 1e9 / dp - 1e9 / ep }'
