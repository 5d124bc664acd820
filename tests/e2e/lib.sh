# tests/e2e/lib.sh - helpers for the end-to-end tests, sourced by each
# tests/e2e/test_*.sh.  Every check prints "ok NAME" or "FAIL NAME: why".
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${CARERECON_BIN:-$ROOT/carerecon}
# every state-database call checks that its thread holds the connection
# (cr_store_own): a use from the wrong thread aborts the run and fails a test
export CARERECON_CHECK_THREADS=1
WRAP=${CARERECON_WRAP:-}
PY=/usr/bin/python3
TMP=$(mktemp -d "${TMPDIR:-/tmp}/carerecon-e2e.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# cr ARGS... - runs carerecon (under $CARERECON_WRAP, e.g. valgrind);
# stdout to $OUT, stderr to $ERR, exit status to $RC.
OUT=$TMP/out
ERR=$TMP/err
RC=0
cr() {
    RC=0
    $WRAP "$BIN" "$@" >"$OUT" 2>"$ERR" || RC=$?
    if [ -n "$WRAP" ] && grep -q 'ERROR SUMMARY: [1-9]\|definitely lost: [1-9]' "$ERR"; then
        echo "FAIL valgrind reported errors for: carerecon $*"
        sed -n '1,40p' "$ERR"
    fi
    return 0
}

ok() { echo "ok $1"; }
fail() { echo "FAIL $1${2:+: $2}"; }

# check NAME COMMAND... - ok when the command succeeds
check() {
    local name=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$name"; else fail "$name" "$*"; fi
}

# expect_rc NAME WANT - the last cr's exit status
expect_rc() {
    if [ "$RC" -eq "$2" ]; then ok "$1"; else
        fail "$1" "exit $RC, want $2"
        sed -n '1,15p' "$ERR" | sed 's/^/    /'
    fi
}

# expect_err NAME TEXT - the last cr's stderr contains TEXT
expect_err() {
    if grep -qF -- "$2" "$ERR"; then ok "$1"; else
        fail "$1" "stderr lacks '$2'"
        sed -n '1,15p' "$ERR" | sed 's/^/    /'
    fi
}

# expect_eq NAME GOT WANT
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

# newenv DIR - a working copy of config/ and fixtures/ with its claim
# database built; the config is DIR/config/carerecon.yaml.
newenv() {
    local d=$1
    mkdir -p "$d"
    cp -r "$ROOT/config" "$ROOT/fixtures" "$d/"
    rm -f "$d/fixtures/claims.db"
    sqlite3 "$d/fixtures/claims.db" <"$ROOT/fixtures/claims.sql"
    CFG=$d/config/carerecon.yaml
}

# q DIR SQL - one query against the state database of env DIR
q() { sqlite3 -batch -noheader "$1/var/carerecon.db" "$2"; }

# xlsx FILE CHECKS... - checks cells of a workbook with openpyxl
xlsx() {
    local name=$1
    shift
    local res
    if res=$("$PY" "$ROOT/tests/xlsx_check.py" "$@" 2>&1); then ok "$name"; else
        fail "$name" "$(echo "$res" | grep -v '^ok ' | head -5 | tr '\n' ' ')"
    fi
}

# cells_of WORKBOOK - every cell of every sheet, a line per row, but the
# time it was generated
cells_of() {
    "$PY" -c '
import openpyxl, sys
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
for ws in wb.worksheets:
    for row in ws.iter_rows(values_only=True):
        if row and row[0] == "Generated at":
            continue
        print(ws.title, row)
' "$1"
}

# diff_seeds PREFIX SEEDS [ARGS...] - tests/diff/difftest.py for each seed
# of SEEDS ("318 578:wild": a seed and its mode), ARGS passed on; each one
# passes when every night agreed and some were incremental
diff_seeds() {
    local prefix=$1 seeds=$2 s seed mode res
    shift 2
    for s in $seeds; do
        seed=${s%%:*}
        mode=; [ "$s" != "$seed" ] && mode=${s#*:}
        res=$(DIFFTEST_WORK=$TMP/diff CARERECON_BIN=$BIN "$PY" "$ROOT/tests/diff/difftest.py" --seed "$seed" \
            ${mode:+--mode "$mode"} "$@" 2>&1 | tail -1)
        if echo "$res" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d["diverged_at"] is None and d["agreed"] == d["nights"] and d["incremental"] > 0 else 1)' 2>/dev/null; then
            ok "${prefix}_${seed}${mode:+_$mode}"
        else
            fail "${prefix}_${seed}${mode:+_$mode}" "$(echo "$res" | cut -c1-300)"
        fi
    done
}
