#!/usr/bin/env bash
# build.sh: the shipped Release build of authwatch, profile-guided (about 12% more events/s in
# replay than a plain Release build on this VM: bench/replay_bench.sh) and link-time optimised
# (a further 3% on JSON, 6% on syslog lines).
#
#   deploy/build.sh [BUILD_DIR]          (default: build; the binary is BUILD_DIR/bin/authwatch)
#
#   1. configure BUILD_DIR with -DAUTHWATCH_PGO=generate and build the authwatch binary
#   2. train: replay a generated JSON scenario and a generated sshd/dovecot/postfix log with the
#      shipped config (seeds of their own, not the benchmarks' inputs), profiles to BUILD_DIR/pgo
#   3. reconfigure with -DAUTHWATCH_PGO=use and build everything
# Needs deploy/setup.sh first (packages, var/geoip). A plain `cmake -S . -B build` build works
# too, without the profile. Extra cmake arguments: CMAKE_ARGS (e.g. "-DAUTHWATCH_WERROR=OFF").
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${1:-build}"
jobs=$(nproc 2>/dev/null || echo 2)
train="$build/pgo-train"
read -r -a extra <<< "${CMAKE_ARGS:-}"
configure() { cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAUTHWATCH_PGO="$1" -DAUTHWATCH_LTO=ON "${extra[@]}" >/dev/null; }

echo "build.sh: instrumented build ($build, profiles in $build/pgo)"
rm -rf "$build/pgo" "$train"
mkdir -p "$train"
configure generate
cmake --build "$build" -j "$jobs" --target authwatch

echo "build.sh: training replays"
python3 tests/scenarios/generate.py --seed 9001 --accounts 1000 --days 2 --instances 3 \
  --out "$train/events.jsonl" --labels "$train/labels.json" >/dev/null
python3 bench/peers/gen_syslog.py --seed 9001 --lines 200000 --out "$train/auth.log" \
  --truth "$train/truth.json" >/dev/null
"$build/bin/authwatch" replay --config deploy/authwatch.yaml --input "$train/events.jsonl" \
  --output /dev/null --no-progress
"$build/bin/authwatch" replay --config deploy/authwatch.yaml --format syslog --syslog-year 2026 \
  --input "$train/auth.log" --output /dev/null --no-progress

echo "build.sh: optimised build"
configure use
cmake --build "$build" -j "$jobs"
rm -rf "$train"
