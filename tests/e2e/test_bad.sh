#!/usr/bin/env bash
# The bad-input corpus: every tests/bad/NN-name/ is one case (see
# tests/bad/README.md).  For each, a fresh environment (newenv) with empty
# inboxes gets the known-good files of tests/bad/_good/ and the case's own
# files, then `carerecon run --as-of 2026-11-20` must:
#   - exit with the case's WANT_RC (SPEC section 5),
#   - say WANT_MSG on stderr (the file and line, or the key, at fault),
#   - print no sanitizer report (under make asan),
#   - lose nothing: the known-good rows are in the state database after the
#     run (or, for a case that stops the run, after FIX and a normal rerun,
#     which must exit 0 and hold them exactly once).
#
#   bash tests/e2e/test_bad.sh [PATTERN]    only the cases whose name contains PATTERN
. "$(dirname "$0")/lib.sh"
CORPUS=$ROOT/tests/bad
ONLY=${1:-}
AS_OF=2026-11-20
GOOD_EVENTS="select count(*) from events where tracking = 'GOODTRK0001'"
GOOD_SETTLEMENTS="select count(*) from settlements where psp_ref = 'GOODPSP0001'"

# run_bad - runs carerecon for the current case, with the case's
# LIMIT_FSIZE (KiB, RLIMIT_FSIZE; SIGXFSZ ignored so that writes fail with
# EFBIG instead) and ARGS; sets RC, stdout in $OUT, stderr in $ERR.
run_bad() {
    RC=0
    (
        if [ -n "$LIMIT_FSIZE" ]; then
            trap '' XFSZ
            ulimit -f "$LIMIT_FSIZE" || exit 99
        fi
        # shellcheck disable=SC2086
        exec $WRAP "$BIN" run --config "$CFG" --as-of "$AS_OF" $ARGS
    ) >"$OUT" 2>"$ERR" || RC=$?
    if [ -n "$WRAP" ] && grep -q 'ERROR SUMMARY: [1-9]\|definitely lost: [1-9]' "$ERR"; then
        fail "${NAME}_valgrind" "valgrind reported errors"
        sed -n '1,40p' "$ERR"
    fi
}

# no sanitizer report in the last run's stderr
expect_clean() {
    if grep -qE 'runtime error|ERROR: AddressSanitizer|ERROR: LeakSanitizer|Sanitizer:DEADLYSIGNAL' "$ERR"; then
        fail "$1" "sanitizer report"
        grep -E -m5 'runtime error|ERROR: |SUMMARY' "$ERR" | sed 's/^/    /'
    else
        ok "$1"
    fi
}

# the known-good rows are stored, each exactly once
expect_good() {
    local ev st
    ev=$(q "$E" "$GOOD_EVENTS" 2>/dev/null)
    st=$(q "$E" "$GOOD_SETTLEMENTS" 2>/dev/null)
    if [ "$ev" = 1 ] && [ "$st" = 1 ]; then ok "$1"; else
        fail "$1" "known-good rows: $ev event(s), $st settlement row(s), want 1 and 1"
        sed -n '1,10p' "$ERR" | sed 's/^/    /'
    fi
}

ncases=0
start=$(date +%s)
for dir in "$CORPUS"/[0-9]*/; do
    dir=${dir%/}
    NAME=$(basename "$dir")
    CASE=$dir
    case "$NAME" in *"$ONLY"*) ;; *) continue ;; esac
    ncases=$((ncases + 1))
    # the case's variables, reset for each case
    WANT_RC="" WANT_MSG="" WANT_MSG2="" CONFIG_SED="" SETUP="" FIX="" AFTER="" AFTER_FIX="" ARGS=""
    LIMIT_FSIZE="" GOOD=yes FIX_RC=0
    # shellcheck disable=SC1091
    . "$dir/case"
    if [ -z "$WANT_RC" ] || [ -z "$WANT_MSG" ]; then
        fail "${NAME}_case" "case file lacks WANT_RC or WANT_MSG"
        continue
    fi

    E=$TMP/$NAME
    newenv "$E"
    R=$E/fixtures/inbox/receipts
    S=$E/fixtures/inbox/settlements
    rm -f "$R"/* "$S"/*
    cp "$CORPUS"/_good/receipts/* "$R"/
    cp "$CORPUS"/_good/settlements/* "$S"/
    [ -d "$dir/receipts" ] && cp "$dir"/receipts/* "$R"/
    [ -d "$dir/settlements" ] && cp "$dir"/settlements/* "$S"/
    [ -f "$dir/config.yaml" ] && cp "$dir/config.yaml" "$CFG"
    if [ -n "$CONFIG_SED" ]; then
        sed -i -e "$CONFIG_SED" "$CFG"
    fi
    if [ -n "$SETUP" ]; then
        eval "$SETUP"
    fi

    run_bad
    expect_rc "${NAME}_exit_$WANT_RC" "$WANT_RC"
    expect_err "${NAME}_message" "$WANT_MSG"
    [ -n "$WANT_MSG2" ] && expect_err "${NAME}_message2" "$WANT_MSG2"
    expect_clean "${NAME}_no_sanitizer_report"
    [ "$GOOD" = yes ] && expect_good "${NAME}_good_file_ingested"
    if [ -n "$AFTER" ]; then
        eval "$AFTER"
    fi
    if [ -n "$FIX" ]; then
        eval "$FIX"
        LIMIT_FSIZE="" ARGS=""
        run_bad
        expect_rc "${NAME}_fixed_rerun_exit_$FIX_RC" "$FIX_RC"
        expect_clean "${NAME}_fixed_rerun_no_sanitizer_report"
        expect_good "${NAME}_fixed_rerun_good_file_ingested"
        expect_eq "${NAME}_fixed_rerun_state_sound" "$(q "$E" "pragma integrity_check" 2>&1)" ok
        if [ -n "$AFTER_FIX" ]; then
            eval "$AFTER_FIX"
        fi
    fi
    rm -rf "$E"
done
check corpus_has_30_cases test "$ncases" -ge 30 -o -n "$ONLY"
echo "# $ncases cases in $(($(date +%s) - start)) s"
