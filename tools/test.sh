#!/usr/bin/env bash
# Builds and runs every test of pooldns on Debian 12, installing what is missing:
#   1. a -Werror build and its ctest suite (unit, system, fuzz-corpus replay);
#   2. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the libFuzzer targets (clang), each run for $POOLDNS_FUZZ_SECONDS (default 30);
#   4. the server's threaded tests (system.dns) under ThreadSanitizer: a race
#      makes the server exit non-zero, which fails the test.
# Ends with one line "N passed, N failed" over all suites; exits non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source tools/deps.sh
pooldns_install_missing test

jobs="$(nproc)"
fuzz_seconds="${POOLDNS_FUZZ_SECONDS:-30}"
passed=0
failed=0

run_suite() {  # name build-dir cmake-args...
  local name="$1" dir="$2"
  shift 2
  echo "=== $name: configure and build ($dir)"
  cmake -S . -B "$dir" -DPOOLDNS_WERROR=ON "$@" >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  if ! cmake --build "$dir" -j "$jobs" >"$dir.build.log" 2>&1; then
    grep -E 'error|Error' "$dir.build.log" | head -n 40
    echo "$name: build failed (full log: $dir.build.log)" >&2
    return 1
  fi
  echo "=== $name: ctest"
  local log="$dir/ctest.log"
  set +e
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600 ${POOLDNS_CTEST_FILTER:+-R "$POOLDNS_CTEST_FILTER"}) | tee "$log"
  set -e
  local total fails
  total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log" | tail -n1)
  fails=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n1)
  if [ -z "$total" ]; then
    echo "$name: ctest printed no summary" >&2
    failed=$((failed + 1))
    return 0
  fi
  passed=$((passed + total - fails))
  failed=$((failed + fails))
}

mkdir -p build
run_suite "werror" build/test -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_suite "asan+ubsan" build/sanitize -DCMAKE_BUILD_TYPE=Debug -DPOOLDNS_SANITIZE=ON
POOLDNS_FUZZ_SECONDS="$fuzz_seconds" run_suite "fuzz" build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DPOOLDNS_FUZZ=ON \
  -DPOOLDNS_FUZZ_SECONDS="$fuzz_seconds"
TSAN_OPTIONS="halt_on_error=1 exitcode=66" POOLDNS_CTEST_FILTER="^system\.(dns|health_failover|vip\.proxy|vip\.persist)$" run_suite "tsan" build/tsan \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DPOOLDNS_TSAN=ON

echo
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
