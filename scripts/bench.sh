#!/usr/bin/env bash
# The carerecon benchmark (`make bench`; see BENCHMARKS.md).
#
#   BENCH_CLAIMS=N   claims in the generated data set (default 1000000)
#   BENCH_SEED=S     generator seed (default 20261120)
#   BENCH_AS_OF=D    the first night's as-of date (default 2026-11-20)
#   BENCH_INCREMENT=K  new receipt events and settlement rows for the
#                    incremental night (default 10000)
#   BENCH_ACK_BEFORE=D  acknowledge the exceptions first seen before D
#                    (default: the day after the first night; see below)
#   BENCH_KEEP=1     keep build/bench-N afterwards (default: kept; 0 removes)
#
# On one machine, in one run:
#   1. build/gen writes build/bench-N: claims.db, config, ~60 days of inbox files;
#   2. the first night: carerecon run --as-of D, timed (wall clock) with its
#      peak RSS (/usr/bin/time -f %M) and its --verbose phase lines;
#   3. the floor: build/floor over the same inbox, writing as many workbook
#      rows and cells as the first night's workbook holds;
#   4. finance's steady state: `carerecon ack --code C --first-seen-before
#      BENCH_ACK_BEFORE` for every open exception code.  The first night
#      stands for 60 days of history but sees all of it on one as-of date,
#      so "first seen more than 7 days ago" is taken as "first seen by the
#      first night" (with D-7 nothing would be acknowledged);
#   5. build/gen --increment K adds K receipt events and K settlement rows
#      dated D+1, and the incremental night runs --as-of D+1, timed.
# Before each timed step (2, 3, 5) `sync` waits until what the steps before
# wrote is on disk, so that no step pays for the write-back of another.
# The last line is always
#   bench: claims=N night_s=X floor_s=Y ratio=R rss_mb=M incr_s=Z
# Targets (at 1,000,000 claims): ratio <= 2.0, rss_mb <= 300, incr_s <= 1.0.
# They are reported, never enforced: the exit status is 0 when every step ran.
set -euo pipefail

cd "$(dirname "$0")/.."

N=${BENCH_CLAIMS:-1000000}
SEED=${BENCH_SEED:-20261120}
AS_OF=${BENCH_AS_OF:-2026-11-20}
INCR=${BENCH_INCREMENT:-10000}
NEXT=$(date -u -d "$AS_OF + 1 day" +%F)
ACK_BEFORE=${BENCH_ACK_BEFORE:-$NEXT}
DIR=build/bench-$N
BIN=${CARERECON_BIN:-./carerecon}

say() { printf 'bench: %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# --- build ----------------------------------------------------------------
make -s
for t in "$BIN" build/gen build/floor; do
    [ -x "$t" ] || { echo "bench: $t was not built" >&2; exit 1; }
done

# /usr/bin/time gives the peak RSS of a child; install it when missing (root)
TIME=""
if [ -x /usr/bin/time ]; then
    TIME=/usr/bin/time
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    say "installing package time"
    (apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time; }) \
        >/dev/null 2>&1 || true
    [ -x /usr/bin/time ] && TIME=/usr/bin/time
fi
for t in sqlite3 unzip; do
    command -v $t >/dev/null || { echo "bench: needs $t" >&2; exit 1; }
done

# --- machine --------------------------------------------------------------
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)
say "machine: $(nproc) cpus, ${cpu:-unknown cpu}, $mem, $(uname -sr)"
say "libraries: sqlite $(pkg-config --modversion sqlite3 2>/dev/null || echo ?)," \
    "libxlsxwriter $(dpkg-query -W -f='${Version}' libxlsxwriter-dev 2>/dev/null || echo ?)," \
    "libcsv $(dpkg-query -W -f='${Version}' libcsv3 2>/dev/null || echo ?)"
say "claims=$N seed=$SEED as_of=$AS_OF increment=$INCR dir=$DIR"
# Other work on the machine skews every figure: say so.
busy() {
    awk -v when="$1" '{ if ($1 > 0.5) printf "bench: warning: load average %s %s: other processes are running, figures are noisy\n", $1, when }' /proc/loadavg
}
busy "at the start"

# --- data -----------------------------------------------------------------
rm -rf "$DIR"
t0=$(now)
build/gen --claims "$N" --seed "$SEED" --out "$DIR" --as-of "$AS_OF" | sed 's/^/bench: /'
say "generated in $(elapsed "$t0" "$(now)") s; inbox $(du -sm "$DIR/inbox" | cut -f1) MB"
# Inbox files arrive before the nightly job, not in the second it starts:
# carerecon remembers a file's look on disk only once it has settled for a
# second (README, "inbox_seen"), and the generator closes every file at once.
sleep 2
CFG=$DIR/config/carerecon.yaml

# Each measured step starts with nothing of the steps before still being
# written back to disk (the generator's 400 MB, a night's 1 GB of state):
# otherwise a step pays for the one before it.
settle_disk() { sync; }

# Runs one night: run_night NAME AS_OF; sets night_s, night_rss_mb.
run_night() {
    local name=$1 asof=$2 log=$DIR/$1.log rc=0 t1 t2
    settle_disk
    t1=$(now)
    if [ -n "$TIME" ]; then
        $TIME -f %M -o "$DIR/$name.rss" "$BIN" run --config "$CFG" --as-of "$asof" --verbose \
            --report "$DIR/reports/$name.xlsx" 2>"$log" || rc=$?
    else
        "$BIN" run --config "$CFG" --as-of "$asof" --verbose \
            --report "$DIR/reports/$name.xlsx" 2>"$log" || rc=$?
    fi
    t2=$(now)
    night_s=$(elapsed "$t1" "$t2")
    if [ "$rc" -ne 0 ]; then
        echo "bench: $name: carerecon exited $rc; the end of $log:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
    if [ -n "$TIME" ] && [ -s "$DIR/$name.rss" ]; then
        night_rss_mb=$(awk 'END { printf "%d", $1 / 1024 }' "$DIR/$name.rss")
    else # carerecon's own getrusage line
        night_rss_mb=$(sed -n 's/^carerecon: peak rss \([0-9]*\) MB$/\1/p' "$log" | tail -n 1)
        night_rss_mb=${night_rss_mb:-0}
    fi
    local phases
    phases=$(sed -n 's/^carerecon: phase \([a-z]*\) \([0-9.]*\) s$/\1 \2/p' "$log" | tr '\n' ' ' |
        sed 's/ \([0-9.]*\) /=\1 /g; s/ $//')
    say "$name: ${night_s} s wall, peak RSS ${night_rss_mb} MB; phases (s): ${phases:-none printed}"
    grep -E '^carerecon: (run [0-9]+ as of|loaded|ingested:)' "$log" | sed "s/^carerecon: /bench: $name: /" || true
}

# Rows and cells in a workbook, all sheets: "ROWS CELLS".
xlsx_count() {
    unzip -p "$1" 'xl/worksheets/sheet*.xml' | tr '<' '\n' |
        awk '/^row / { r++ } /^c / { c++ } END { printf "%d %d\n", r, c }'
}

# --- the first night ------------------------------------------------------
run_night night1 "$AS_OF"
NIGHT_S=$night_s
RSS=$night_rss_mb
read -r WB_ROWS WB_CELLS < <(xlsx_count "$DIR/reports/night1.xlsx")
say "night1: workbook $(du -m "$DIR/reports/night1.xlsx" | cut -f1) MB, $WB_ROWS rows, $WB_CELLS cells"

# --- the floor ------------------------------------------------------------
settle_disk
build/floor "$DIR" --xlsx-rows "$WB_ROWS" --xlsx-cells "$WB_CELLS" | tee "$DIR/floor.log" | sed 's/^floor: /bench: floor: /; /^floor_s=/d'
FLOOR_S=$(sed -n 's/^floor_s=//p' "$DIR/floor.log")
say "floor: ${FLOOR_S} s"

# --- finance acknowledges ---------------------------------------------------
acked=0
codes=$(sqlite3 "$DIR/var/carerecon.db" "SELECT DISTINCT code FROM exceptions WHERE status = 'open' ORDER BY code")
t0=$(now)
for code in $codes; do
    out=$("$BIN" ack --config "$CFG" --code "$code" --first-seen-before "$ACK_BEFORE" --note bench \
        --by bench 2>&1) || { echo "bench: ack --code $code failed: $out" >&2; exit 1; }
    c=$(printf '%s\n' "$out" | sed -n 's/^acknowledged \([0-9]*\) exception.*/\1/p')
    acked=$((acked + ${c:-0}))
done
open=$(sqlite3 "$DIR/var/carerecon.db" "SELECT count(*) FROM exceptions WHERE status = 'open'")
say "ack: $acked exceptions first seen before $ACK_BEFORE acknowledged ($(echo $codes | wc -w) codes," \
    "$(elapsed "$t0" "$(now)") s); $open still open"

# --- the incremental night --------------------------------------------------
build/gen --claims "$N" --seed "$SEED" --out "$DIR" --as-of "$AS_OF" --increment "$INCR" \
    --increment-tag "${NEXT//-/}" 2>&1 | sed 's/^/bench: /'
sleep 2
run_night night2 "$NEXT"
INCR_S=$night_s
[ "$night_rss_mb" -gt "$RSS" ] && RSS=$night_rss_mb

# --- the verdict ------------------------------------------------------------
busy "at the end"
RATIO=$(awk -v a="$NIGHT_S" -v b="$FLOOR_S" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
verdict() { awk -v v="$2" -v t="$3" 'BEGIN { exit !(v <= t) }' && echo "ok" || echo "MISSED"; }
if [ "$N" = 1000000 ]; then at="at 1,000,000 claims"; else at="set for 1,000,000 claims; this run has $N"; fi
say "targets ($at): ratio $RATIO <= 2.0 $(verdict ratio "$RATIO" 2.0);" \
    "rss ${RSS} MB <= 300 $(verdict rss "$RSS" 300); incremental ${INCR_S} s <= 1.0 $(verdict incr "$INCR_S" 1.0)"
[ "${BENCH_KEEP:-1}" = 0 ] && rm -rf "$DIR"
echo "bench: claims=$N night_s=$NIGHT_S floor_s=$FLOOR_S ratio=$RATIO rss_mb=$RSS incr_s=$INCR_S"
