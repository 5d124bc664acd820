#!/usr/bin/env bash
# tests/run.sh - runs the whole suite and ends with "N passed, N failed".
#
#   tests/run.sh            unit tests, then every tests/e2e/*.sh
#   tests/run.sh e2e        end-to-end tests only
#   tests/run.sh unit       unit tests only
#
# BUILD (build) and CARERECON_BIN (./carerecon) say what to test; make asan
# and make valgrind set them.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export CARERECON_BIN=${CARERECON_BIN:-$PWD/carerecon}
case "$CARERECON_BIN" in /*) ;; *) CARERECON_BIN=$PWD/$CARERECON_BIN ;; esac
what=${1:-all}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
passed=0
failed=0

count() {
    local p f
    p=$(grep -c '^ok ' "$out" || true)
    f=$(grep -c '^FAIL ' "$out" || true)
    passed=$((passed + p))
    failed=$((failed + f))
}

if [ "$what" = all ] || [ "$what" = unit ]; then
    echo "== unit tests ($BUILD/unit_tests)"
    if "$BUILD/unit_tests" >"$out" 2>&1; then :; fi
    grep -E '^(FAIL|  )' "$out" || true
    grep -E '^unit: ' "$out" || echo "FAIL unit tests did not finish" | tee -a "$out"
    count
fi

if [ "$what" = all ] || [ "$what" = e2e ]; then
    for t in tests/e2e/test_*.sh; do
        echo "== $t"
        : >"$out"
        if ! bash "$t" >"$out" 2>&1; then
            grep -q '^FAIL ' "$out" || echo "FAIL $t exited non-zero" >>"$out"
        fi
        grep -E '^(FAIL|  )' "$out" || true
        echo "   $(grep -c '^ok ' "$out" || true) ok"
        count
    done
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
