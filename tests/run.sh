#!/usr/bin/env bash
# The test command (README, and .ci/run calls it). On a fresh Debian 12 machine it installs
# what is missing, builds twice and runs every suite:
#   1. deploy/setup.sh                   packages, GeoIP data, Kafka jars (idempotent)
#   2. build-asan/ (ASan + UBSan, -O1)   unit tests with ctest
#   3. build/ (Release, deploy/build.sh) the shipped binary and the benchmarks (not the unit
#                                        tests again): rule check, contract checks,
#                                        end-to-end replay tests
#   4. integration tests against a real Kafka broker started by tests/integration/run.sh, and
#      the short tier of the fault-injection suite (tests/faults/run.sh; --full for all faults)
# Environment: AUTHWATCH_SKIP_INTEGRATION=1 skips step 4 (e.g. for a quick local loop).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
step() { printf '\n=== %s\n' "$*"; }

step "setup"
deploy/setup.sh

step "build with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTHWATCH_SANITIZE=ON \
  -DAUTHWATCH_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j "$jobs"

step "unit tests (sanitized)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j "$jobs"

step "release build, profile-guided (build/: deploy/build.sh)"
# The unit tests ran above under the sanitizers; building them again here would only cost time.
CMAKE_ARGS="${CMAKE_ARGS:-} -DAUTHWATCH_BUILD_TESTS=OFF" deploy/build.sh build

step "shipped rules and config"
build/bin/authwatch check --config deploy/authwatch.yaml

step "end-to-end replay tests"
python3 tests/e2e/replay_test.py

if [[ -x ../shared/tools/check-contracts ]]; then
  step "contract checks"
  ../shared/tools/check-contracts
fi

if [[ "${AUTHWATCH_SKIP_INTEGRATION:-0}" != 1 ]]; then
  step "integration tests (real Kafka broker)"
  tests/integration/run.sh
  step "fault injection, short tier (kill -9 and crashes at chosen points, durable state on)"
  tests/faults/run.sh
  step "Postfix proof (real Postfix, Dovecot SASL and swaks against authwatch policyd)"
  tests/postfix/run.sh
  if [[ -x tests/observability/run.sh ]]; then
    step "observability tests (real Prometheus scraping authwatch run)"
    tests/observability/run.sh
  fi
fi
echo
echo "all test suites passed"
