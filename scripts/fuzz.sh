#!/usr/bin/env bash
# scripts/fuzz.sh - builds the libFuzzer targets of tests/fuzz/ and runs each
# for FUZZ_SECONDS (default 30) on a copy of its seed corpus.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. scripts/fuzz.sh 300 fuzz_feed
#   make fuzz FUZZ_SECONDS=N
#
# SECONDS 0 runs each target once over its corpus, without fuzzing.
#
# The library (src/*.c but main.c) is compiled with clang and
# -fsanitize=fuzzer-no-link,address,undefined into build/fuzz/obj/; each
# tests/fuzz/fuzz_NAME.c is linked with -fsanitize=fuzzer,address,undefined
# into build/fuzz/fuzz_NAME.  Each runs on build/fuzz/corpus-NAME (seeded
# from the committed tests/fuzz/corpus/NAME/, which is never written to),
# with tests/fuzz/NAME.dict when there is one.  A finding is saved as
# build/fuzz/artifacts/NAME-crash-* (or -timeout-, -oom-, -leak-); reproduce
# it with `build/fuzz/fuzz_NAME FILE`.
#
# Prints "ok fuzz_NAME: N execs, cov C" or "FAIL fuzz_NAME: <crash file>"
# per target, then "N passed, N failed"; exits non-zero on a failure.
set -u
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-${FUZZ_SECONDS:-30}}
[ $# -gt 0 ] && shift
case "$SECONDS_EACH" in
'' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 64 ;;
esac
FUZZ_CC=${FUZZ_CC:-clang}
OUTDIR=build/fuzz
OBJDIR=$OUTDIR/obj
ART=$OUTDIR/artifacts
JOBS=${FUZZ_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}

# --- what is needed: the build packages (scripts/deps.sh), clang and the
# libFuzzer runtime; installed only when missing (needs root or sudo) ---
install_missing() {
    local need="" p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need="$need $p"
    done
    [ -z "$need" ] && return 0
    echo "fuzz: installing:$need" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $need >/dev/null
}
if command -v dpkg-query >/dev/null 2>&1; then
    scripts/deps.sh || { echo "FAIL fuzz: scripts/deps.sh could not install the build packages"; echo "0 passed, 1 failed"; exit 1; }
    if ! command -v "$FUZZ_CC" >/dev/null 2>&1 ||
        [ ! -f "$("$FUZZ_CC" -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ]; then
        install_missing clang libclang-rt-14-dev ||
            { echo "FAIL fuzz: cannot install clang and libclang-rt-14-dev"; echo "0 passed, 1 failed"; exit 1; }
    fi
fi
if ! command -v "$FUZZ_CC" >/dev/null 2>&1; then
    echo "FAIL fuzz: $FUZZ_CC not found"
    echo "0 passed, 1 failed"
    exit 1
fi

# --- build ---
PKGS="xlsxwriter yaml-0.1 sqlite3 libcrypto"
PKG_CFLAGS=$(pkg-config --cflags $PKGS 2>/dev/null)
PKG_LIBS=$(pkg-config --libs $PKGS 2>/dev/null)
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS="-std=c17 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -g -O1 -Wall -Wextra -Iinclude $PKG_CFLAGS"
mkdir -p "$OBJDIR" "$ART"

# an object is rebuilt when its source or any header is newer
newest_header=$(ls -t include/*.h | head -1)
build_failed=0
objs=()
tobuild=()
for src in src/*.c; do
    [ "$src" = src/main.c ] && continue
    obj=$OBJDIR/$(basename "${src%.c}").o
    objs+=("$obj")
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_header" -nt "$obj" ]; then
        tobuild+=("$src")
    fi
done
if [ ${#tobuild[@]} -gt 0 ]; then
    echo "fuzz: compiling ${#tobuild[@]} library files with $FUZZ_CC" >&2
    # shellcheck disable=SC2086
    printf '%s\n' "${tobuild[@]}" | xargs -P "$JOBS" -I{} sh -c \
        "$FUZZ_CC $CFLAGS $SAN -fsanitize=fuzzer-no-link -c -o $OBJDIR/\$(basename {} .c).o {} || { rm -f $OBJDIR/\$(basename {} .c).o; exit 1; }" ||
        build_failed=1
fi

targets=()
if [ $# -gt 0 ]; then
    for t in "$@"; do targets+=("${t#fuzz_}"); done
else
    for f in tests/fuzz/fuzz_*.c; do
        n=$(basename "$f" .c)
        targets+=("${n#fuzz_}")
    done
fi

passed=0
failed=0
for name in "${targets[@]}"; do
    src=tests/fuzz/fuzz_$name.c
    bin=$OUTDIR/fuzz_$name
    if [ ! -f "$src" ]; then
        echo "FAIL fuzz_$name: no such target ($src)"
        failed=$((failed + 1))
        continue
    fi
    if [ "$build_failed" -ne 0 ]; then
        echo "FAIL fuzz_$name: the library did not compile"
        failed=$((failed + 1))
        continue
    fi
    newest=$(ls -t "$src" "${objs[@]}" | head -1)
    if [ ! -x "$bin" ] || [ "$newest" -nt "$bin" ] || [ "$newest_header" -nt "$bin" ]; then
        # shellcheck disable=SC2086
        if ! $FUZZ_CC $CFLAGS -Werror $SAN -fsanitize=fuzzer -o "$bin" "$src" "${objs[@]}" \
            $PKG_LIBS -lcsv -lm; then
            echo "FAIL fuzz_$name: does not build"
            failed=$((failed + 1))
            continue
        fi
    fi

    corpus=$OUTDIR/corpus-$name
    mkdir -p "$corpus"
    if [ -d "tests/fuzz/corpus/$name" ]; then
        cp -n tests/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null || true
    fi
    case $name in
    feed | tz) maxlen=65536 ;;
    config) maxlen=4096 ;;
    datetime) maxlen=256 ;;
    amount) maxlen=128 ;;
    *) maxlen=4096 ;;
    esac
    dict=()
    [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
    # 0 seconds: run the corpus once, no fuzzing (a quick regression check)
    if [ "$SECONDS_EACH" -eq 0 ]; then limit=(-runs=0); else limit=(-max_total_time="$SECONDS_EACH"); fi
    log=$OUTDIR/fuzz_$name.log
    start=$(date +%s)
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$bin" "${dict[@]}" "${limit[@]}" -max_len="$maxlen" -timeout=20 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$ART/$name-" \
        "$corpus" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -Eo '(DONE|pulse|NEW|REDUCE|INITED) +cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+$')
    crash=$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/^Test unit written to //')
    if [ "$rc" -eq 0 ] && [ -z "$crash" ]; then
        echo "ok fuzz_$name: ${execs:-0} execs, cov ${cov:-0} (${took} s, corpus $(ls "$corpus" | wc -l))"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz_$name: ${crash:-exit $rc, see $log}"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|fuzz_[a-z]+:|.*runtime error)' "$log" | head -5 | sed 's/^/    /'
        failed=$((failed + 1))
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
