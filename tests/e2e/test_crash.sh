#!/usr/bin/env bash
# Crash safety: the run is killed with SIGKILL at every fault point in
# turn (CARERECON_CRASH_AT=N kills the process at its Nth database step or
# file write), then run again.  Over every kill point, each claim's action
# appears exactly once in the union of the action files, and none is lost.
. "$(dirname "$0")/lib.sh"

# the reference: what a clean run emits, per night
R=$TMP/ref
newenv "$TMP/base1"
cp -r "$TMP/base1" "$R"
CFG=$R/config/carerecon.yaml
"$BIN" run --config "$CFG" --as-of 2026-11-20 --quiet 2>/dev/null
cp -r "$R" "$TMP/after1"           # the state after a clean night 1
"$BIN" run --config "$CFG" --as-of 2026-11-21 --quiet 2>/dev/null
keys() { cat "$1"/reports/actions/payment_actions_*.csv "$1"/reports/actions/fulfillment_*.csv 2>/dev/null |
         grep -v '^idempotency_key\|^claim_id' | cut -d, -f1 | sort; }
want=$(keys "$R")
check reference_has_actions test -n "$want"

# sweep NIGHT BASE: kill night NIGHT at every point, starting from a copy of BASE
sweep() {
    local night=$1 base=$2 n=1 killed=0 bad=0 dup=0
    local step=${CRASH_STEP:-1}
    [ -n "$WRAP" ] && step=${CRASH_STEP:-7}
    while :; do
        local W=$TMP/w
        rm -rf "$W"
        cp -r "$base" "$W"
        local rc=0
        ( CARERECON_CRASH_AT=$n "$BIN" run --config "$W/config/carerecon.yaml" --as-of "$night" --quiet; exit $? ) 2>/dev/null || rc=$?
        [ "$rc" -ne 137 ] && break        # no kill: every point was swept
        killed=$((killed + 1))
        # the rerun after the crash, and the next night, run clean
        "$BIN" run --config "$W/config/carerecon.yaml" --as-of "$night" --quiet 2>/dev/null
        [ "$night" = 2026-11-20 ] &&
            "$BIN" run --config "$W/config/carerecon.yaml" --as-of 2026-11-21 --quiet 2>/dev/null
        local got
        got=$(keys "$W")
        if [ -n "$(echo "$got" | uniq -d)" ]; then
            dup=$((dup + 1)); echo "  kill point $n: an action emitted twice: $(echo "$got" | uniq -d | head -3 | tr '\n' ' ')"
        elif [ "$got" != "$want" ]; then
            bad=$((bad + 1)); echo "  kill point $n: actions differ: $(diff <(echo "$want") <(echo "$got") | head -4 | tr '\n' ' ')"
        fi
        n=$((n + step))
    done
    check "crash_${night}_killed_somewhere" test "$killed" -gt $((10 / step))
    expect_eq "crash_${night}_no_duplicate_over_${killed}_kills" "$dup" 0
    expect_eq "crash_${night}_none_lost_over_${killed}_kills" "$bad" 0
}
sweep 2026-11-20 "$TMP/base1"
sweep 2026-11-21 "$TMP/after1"

# two kills in a row: night 1 killed once its decisions are committed (or
# while writing its files), the rerun killed while writing or after
# renaming its files, then a clean run: still exactly once
points() { # the fault points of a clean run of NIGHT from BASE that write files
    local W=$TMP/p
    rm -rf "$W"; cp -r "$2" "$W"
    CARERECON_CRASH_TRACE=1 "$BIN" run --config "$W/config/carerecon.yaml" --as-of "$1" --quiet 2>&1 |
        grep -E 'after decision commit|action file (written|renamed)' | sed 's/.*point \([0-9]*\):.*/\1/'
}
first=$(points 2026-11-20 "$TMP/base1")
check crash_points_found test -n "$first"
pairs=0 dup2=0 lost2=0
for n1 in $first; do
    W=$TMP/w2
    rm -rf "$W"; cp -r "$TMP/base1" "$W"
    ( CARERECON_CRASH_AT=$n1 "$BIN" run --config "$W/config/carerecon.yaml" --as-of 2026-11-20 --quiet; exit $? ) 2>/dev/null
    cp -r "$W" "$TMP/after_kill1"
    second=$(CARERECON_CRASH_TRACE=1 "$BIN" run --config "$TMP/after_kill1/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>&1 |
             grep -E 'after decision commit|action file (written|renamed)' | sed 's/.*point \([0-9]*\):.*/\1/')
    rm -rf "$TMP/after_kill1"
    for n2 in $second; do
        V=$TMP/w3
        rm -rf "$V"; cp -r "$W" "$V"
        ( CARERECON_CRASH_AT=$n2 "$BIN" run --config "$V/config/carerecon.yaml" --as-of 2026-11-20 --quiet; exit $? ) 2>/dev/null
        "$BIN" run --config "$V/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
        "$BIN" run --config "$V/config/carerecon.yaml" --as-of 2026-11-21 --quiet 2>/dev/null
        got=$(keys "$V")
        pairs=$((pairs + 1))
        [ -n "$(echo "$got" | uniq -d)" ] && { dup2=$((dup2 + 1)); echo "  kills $n1+$n2: emitted twice: $(echo "$got" | uniq -d | head -2 | tr '\n' ' ')"; }
        [ "$got" != "$want" ] && [ -z "$(echo "$got" | uniq -d)" ] && { lost2=$((lost2 + 1)); echo "  kills $n1+$n2: actions differ"; }
    done
done
check crash_two_kills_swept test "$pairs" -gt 3
expect_eq "crash_two_kills_no_duplicate_over_${pairs}_pairs" "$dup2" 0
expect_eq "crash_two_kills_none_lost_over_${pairs}_pairs" "$lost2" 0

# the workbook is written while the decisions are committed: a run killed
# before its commit leaves no workbook under its name, and the next run
# removes the temporary one
W=$TMP/wb
rm -rf "$W"; cp -r "$TMP/base1" "$W"
n=$(CARERECON_CRASH_TRACE=1 "$BIN" run --config "$W/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>&1 |
    grep 'before decision commit' | sed 's/.*point \([0-9]*\):.*/\1/' | head -1)
check crash_commit_point_found test -n "$n"
rm -rf "$W"; cp -r "$TMP/base1" "$W"
( CARERECON_CRASH_AT=$n "$BIN" run --config "$W/config/carerecon.yaml" --as-of 2026-11-20 --quiet; exit $? ) 2>/dev/null
expect_eq crash_before_commit_no_workbook "$(ls "$W/reports" | grep -c '^carerecon_.*\.xlsx$')" 0
# what a kill while the workbook was being written leaves, and a file not ours
mkdir -p "$W/reports"
echo partial >"$W/reports/carerecon_20261120_run1.xlsx.tmp-Ab12Cd"
echo mine >"$W/reports/budget.xlsx.tmp-1"
# libxlsxwriter's temporaries live in a folder of the workbook's (a kill
# between making one and unlinking it leaves it there); a file like theirs
# outside such a folder is not ours
mkdir "$W/reports/carerecon_20261120_run1.xlsx.tmpd-Q1w2E3"
: >"$W/reports/carerecon_20261120_run1.xlsx.tmpd-Q1w2E3/tmp.Ab12Cd34Ef"
: >"$W/reports/tmp.Zz12Cd34Ef"
"$BIN" run --config "$W/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
expect_eq crash_rerun_workbook "$(ls "$W/reports" | grep -c '^carerecon_20261120_run2\.xlsx$')" 1
expect_eq crash_rerun_no_temporary_left "$(ls -a "$W/reports" "$W/reports/actions" | grep -c '^carerecon_.*\.tmp-\|^\..*\.tmp-')" 0
check crash_rerun_leaves_other_files test -f "$W/reports/budget.xlsx.tmp-1"
check crash_rerun_temporary_folder_removed test ! -e "$W/reports/carerecon_20261120_run1.xlsx.tmpd-Q1w2E3"
check crash_rerun_no_temporary_folder_left bash -c "! ls -a '$W/reports' | grep -q 'tmpd-'"
check crash_rerun_leaves_lookalike test -f "$W/reports/tmp.Zz12Cd34Ef"
# the same for a workbook written elsewhere with --report
mkdir -p "$W/elsewhere"
echo partial >"$W/elsewhere/night.xlsx.tmp-Zz98Yx"
echo mine >"$W/elsewhere/night.xlsx.tmp-1"
mkdir "$W/elsewhere/night.xlsx.tmpd-Zz98Yx"
: >"$W/elsewhere/night.xlsx.tmpd-Zz98Yx/tmp.Ab12Cd34Ef"
# ... and of a workbook an earlier run was given there under another name
echo partial >"$W/elsewhere/night_001.xlsx.tmp-Qq11Ww"
mkdir "$W/elsewhere/night_001.xlsx.tmpd-Qq11Ww"
echo mine >"$W/elsewhere/notes.txt.tmp-Qq11Ww"
"$BIN" run --config "$W/config/carerecon.yaml" --as-of 2026-11-21 --quiet --report "$W/elsewhere/night.xlsx" 2>/dev/null
check crash_report_path_other_names_removed bash -c "! ls '$W/elsewhere' | grep -q '^night_001'"
check crash_report_path_non_workbook_kept test -f "$W/elsewhere/notes.txt.tmp-Qq11Ww"
check crash_report_path_workbook test -f "$W/elsewhere/night.xlsx"
check crash_report_path_temporary_removed test ! -e "$W/elsewhere/night.xlsx.tmp-Zz98Yx"
check crash_report_path_other_file_kept test -f "$W/elsewhere/night.xlsx.tmp-1"
check crash_report_path_temporary_folder_removed test ! -e "$W/elsewhere/night.xlsx.tmpd-Zz98Yx"

# the state database restored from an older copy: run numbers repeat, so
# the next run's action files are named as files already there from the
# lost runs; the run stops before anything is decided (a crash after its
# decision commit would otherwise take the old file for its own and mark
# its actions written)
S=$TMP/restored
newenv "$S"
CFG=$S/config/carerecon.yaml
"$BIN" run --config "$CFG" --as-of 2026-11-20 --quiet 2>/dev/null
cp -a "$S/var" "$S/var.copy"
"$BIN" run --config "$CFG" --as-of 2026-11-21 --quiet 2>/dev/null
rm -rf "$S/var" && mv "$S/var.copy" "$S/var"
actions_before=$(q "$S" "select count(*) from actions")
files_before=$(ls "$S"/reports/actions | wc -l)
cr run --config "$CFG" --as-of 2026-11-21
expect_rc restored_state_refused 73
expect_err restored_state_says_why "nothing was issued. Is the state restored from an older copy"
expect_eq restored_state_nothing_recorded "$(q "$S" "select count(*) from actions")" "$actions_before"
expect_eq restored_state_no_file_written "$(ls "$S"/reports/actions | wc -l)" "$files_before"

# a night killed after its decision commit, before its workbook takes its
# name: the next run writes its actions into its own file and lists them
# (and the killed night's rejected rows) in its workbook, once, marked
# with the run that issued them; the run after lists them no more
K=$TMP/killedwb
newenv "$K"
CFG=$K/config/carerecon.yaml
cp -r "$K" "$K.probe"
at=$(CARERECON_CRASH_TRACE=1 "$BIN" run --quiet --config "$K.probe/config/carerecon.yaml" --as-of 2026-11-20 2>&1 |
    sed -n 's/^carerecon: fault point \([0-9]*\): after decision commit$/\1/p')
( CARERECON_CRASH_AT=$at "$BIN" run --quiet --config "$CFG" --as-of 2026-11-20; exit $? ) 2>/dev/null
check killed_left_no_workbook bash -c "! ls '$K/reports/'*.xlsx 2>/dev/null | grep -q ."
cr run --config "$CFG" --as-of 2026-11-20
W=$K/reports/carerecon_20261120_run2.xlsx
paid=$(q "$K" "select count(*) from actions where kind = 'payment' and run_id = 1")
check killed_run_had_actions test "$paid" -gt 0
xlsx killed_run_actions_listed "$W" "rows:Captures=$(q "$K" "select count(*) from actions where action = 'capture'")" \
    "rows:Releases=$(q "$K" "select count(*) from actions where action = 'release'")" \
    "rows:Fulfillment=$(q "$K" "select count(*) from actions where kind = 'fulfillment'")" \
    "contains:Captures=issued by run 1, whose workbook was not written"
# (a file rejected whole is tried, and rejected, again by every run)
xlsx killed_run_rejects_listed "$W" "rows:Rejected Rows=$(q "$K" "select count(*) from rejects where run_id <= 2")"
cr run --config "$CFG" --as-of 2026-11-21
xlsx listed_once "$K/reports/carerecon_20261121_run3.xlsx" \
    "absent:Captures=issued by run 1, whose workbook was not written" \
    "rows:Rejected Rows=$(q "$K" "select count(*) from rejects where run_id = 3")"

# a night killed after its workbook took its name, before it said so: the
# next run finds the workbook where it was to be and lists nothing of that
# night again (before, its actions were listed twice and counted again),
# also when it is started from another folder
P=$TMP/killedafterwb
newenv "$P"
cp -r "$P" "$P.probe"
at=$(CARERECON_CRASH_TRACE=1 "$BIN" run --quiet --config "$P.probe/config/carerecon.yaml" --as-of 2026-11-20 2>&1 |
    sed -n 's/^carerecon: fault point \([0-9]*\): after workbook published$/\1/p')
check published_point_found test -n "$at"
( CARERECON_CRASH_AT=$at "$BIN" run --quiet --config "$P/config/carerecon.yaml" --as-of 2026-11-20; exit $? ) 2>/dev/null
check published_workbook_there test -f "$P/reports/carerecon_20261120_run1.xlsx"
expect_eq published_run_not_done "$(q "$P" "select status from runs where run_id = 1")" decided
(cd "$P/config" && cr run --config ./carerecon.yaml --as-of 2026-11-21 --verbose)
expect_err published_said "1 earlier run stopped after publishing its workbook; its actions are listed there and not repeated in this one"
xlsx published_not_listed_again "$P/reports/carerecon_20261121_run2.xlsx" \
    "absent:Captures=issued by run 1, whose workbook was not written" \
    "absent:Releases=issued by run 1, whose workbook was not written" \
    "rows:Rejected Rows=$(q "$P" "select count(*) from rejects where run_id = 2")"
expect_eq published_marked "$(q "$P" "select published from runs where run_id = 1")" 1
# a night killed after its decision commit, then the next one killed after
# publishing its workbook (which listed the first one's actions): the run
# after lists neither again (before, the first night's actions were listed
# by two workbooks).  The fault points are probed in place, the outputs put
# back: the inbox's quick check depends on where the files are.
crash_in_place() { # ENV POINT ARGS...: runs ENV's next run until fault point POINT
    local env=$1 point=$2 k
    shift 2
    rm -rf "$env.snap" && mkdir "$env.snap" && cp -a "$env/var" "$env/reports" "$env.snap/"
    k=$(CARERECON_CRASH_TRACE=1 "$BIN" run --quiet --config "$env/config/carerecon.yaml" "$@" 2>&1 |
        sed -n "s/^carerecon: fault point \([0-9]*\): $point\$/\1/p" | head -1)
    rm -rf "$env/var" "$env/reports" && cp -a "$env.snap/var" "$env.snap/reports" "$env/"
    ( CARERECON_CRASH_AT=${k:-0} "$BIN" run --quiet --config "$env/config/carerecon.yaml" "$@"; exit $? ) 2>/dev/null
    [ -n "$k" ]
}
Y=$TMP/twokills
newenv "$Y"
cr run --config "$Y/config/carerecon.yaml" --as-of 2026-11-19 --quiet
check twokills_first crash_in_place "$Y" "after decision commit" --as-of 2026-11-20
check twokills_second crash_in_place "$Y" "after workbook published" --as-of 2026-11-21
cr run --config "$Y/config/carerecon.yaml" --as-of 2026-11-22
xlsx twokills_second_listed_first "$Y/reports/carerecon_20261121_run3.xlsx" \
    "contains:Captures=issued by run 2, whose workbook was not written"
xlsx twokills_not_listed_again "$Y/reports/carerecon_20261122_run4.xlsx" \
    "absent:Captures=issued by run 2, whose workbook was not written"

# ... but a workbook gone from where it was published leaves the run
# unlisted, and so does an older file under its name (a --report path given
# every night: the killed night's workbook was never written there)
O=$TMP/killedreport
newenv "$O"
cr run --config "$O/config/carerecon.yaml" --as-of 2026-11-19 --quiet --report "$O/latest.xlsx"
touch -d '1 hour ago' "$O/latest.xlsx"
cp -r "$O" "$O.probe"
sed -i "s|$O/|$O.probe/|g" "$O.probe/config/carerecon.yaml"
at=$(CARERECON_CRASH_TRACE=1 "$BIN" run --quiet --config "$O.probe/config/carerecon.yaml" --as-of 2026-11-20 \
    --report "$O.probe/latest.xlsx" 2>&1 | sed -n 's/^carerecon: fault point \([0-9]*\): after decision commit$/\1/p')
check report_path_point_found test -n "$at"
# the older workbook written in the second the killed run starts, before it
touch -d "@$(date +%s)" "$O/latest.xlsx"
( CARERECON_CRASH_AT=$at "$BIN" run --quiet --config "$O/config/carerecon.yaml" --as-of 2026-11-20 \
    --report "$O/latest.xlsx"; exit $? ) 2>/dev/null
expect_eq report_path_killed_run_not_done "$(q "$O" "select status from runs where run_id = 2")" decided
cr run --config "$O/config/carerecon.yaml" --as-of 2026-11-21 --report "$O/latest.xlsx"
expect_eq report_path_older_file_not_taken "$(q "$O" "select published from runs where run_id = 2")" 0
xlsx report_path_killed_run_listed "$O/latest.xlsx" \
    "contains:Captures=issued by run 2, whose workbook was not written"
# kill_at DIR POINT DATE - runs DIR's night as of DATE killed at its fault
# point named POINT, whose number a probe run on a copy (DIR.probe) finds
kill_at() {
    local d=$1 point=$2 asof=$3 at
    rm -rf "$d.probe"
    cp -r "$d" "$d.probe"
    sed -i "s|$d/|$d.probe/|g" "$d.probe/config/carerecon.yaml"
    at=$(CARERECON_CRASH_TRACE=1 "$BIN" run --quiet --config "$d.probe/config/carerecon.yaml" \
        --as-of "$asof" 2>&1 | sed -n "s/^carerecon: fault point \([0-9]*\): $point\$/\1/p")
    check "${d##*/}_fault_point_found" test -n "$at"
    ( CARERECON_CRASH_AT=$at "$BIN" run --quiet --config "$d/config/carerecon.yaml" --as-of "$asof"
        exit $? ) 2>/dev/null
}

# a night killed before its decision commit, after its ingest committed:
# the refund it ingested, booked before the last committed as-of (a file
# that came a day late), is listed by the next run (a read-through: the
# next run took the dead night's rows for rows already looked at)
RK=$TMP/refundkilled
newenv "$RK"
mv "$RK/fixtures/inbox/settlements/settlement_detail_report_batch_20261121.csv" "$TMP/late_batch.csv"
cr run --config "$RK/config/carerecon.yaml" --as-of 2026-11-22 --quiet
mv "$TMP/late_batch.csv" "$RK/fixtures/inbox/settlements/settlement_detail_report_batch_20261121.csv"
kill_at "$RK" "before decision commit" 2026-11-23
expect_eq refund_killed_ingest_kept "$(q "$RK" "select count(*) from settlements where type = 3")" 1
cr run --config "$RK/config/carerecon.yaml" --as-of 2026-11-23 --quiet
xlsx refund_killed_listed_next "$RK/reports/carerecon_20261123_run3.xlsx" "rows:Refunds=1" \
    "findrow:Refunds=CE2611-000132,8931180842266175,69"

# ... but a workbook gone from where it was published leaves the run unlisted
Q=$TMP/killedafterwb2
newenv "$Q"
# its own fault point: a first night on a fresh state passes more of them
# (the migrations) than the probe's second night above
kill_at "$Q" "after decision commit" 2026-11-20
rm -f "$Q/reports/carerecon_20261120_run1.xlsx"
cr run --config "$Q/config/carerecon.yaml" --as-of 2026-11-21
xlsx unpublished_listed "$Q/reports/carerecon_20261121_run2.xlsx" \
    "contains:Releases=issued by run 1, whose workbook was not written"

# a night whose action file cannot be written (a folder is in the way of
# its name) publishes no workbook, which would name a file that never
# appeared (a review); the next run writes its actions into its own file
# and lists them, marked as another run's
A=$TMP/noactfile
newenv "$A"
mkdir -p "$A/reports/actions/payment_actions_20261120_run1.csv"
cr run --config "$A/config/carerecon.yaml" --as-of 2026-11-20
check no_action_file_fails test "$RC" -ne 0
check no_action_file_no_workbook test ! -e "$A/reports/carerecon_20261120_run1.xlsx"
rmdir "$A/reports/actions/payment_actions_20261120_run1.csv"
cr run --config "$A/config/carerecon.yaml" --as-of 2026-11-20
check no_action_file_next_writes_them grep -q "CE2611-000144:capture" \
    "$A/reports/actions/payment_actions_20261120_run2.csv"
xlsx no_action_file_listed_by_next "$A/reports/carerecon_20261120_run2.xlsx" \
    "rows:Captures=10" "contains:Captures=issued by run 1, whose workbook was not written"
cr run --config "$A/config/carerecon.yaml" --as-of 2026-11-20
xlsx no_action_file_listed_once "$A/reports/carerecon_20261120_run3.xlsx" "rows:Captures=0"

# the payment file goes out, then the fulfillment file cannot be written (a
# folder in the way of its name; a full disk does the same): the payment
# file's actions are written, and when an uploader has taken the file
# before the next run, that run does not issue them again (it looked for
# the file by name and wrote every action it did not find)
A=$TMP/nofulfil
newenv "$A"
mkdir -p "$A/reports/actions/fulfillment_20261120_run1.csv"
cr run --config "$A/config/carerecon.yaml" --as-of 2026-11-20
check nofulfil_fails test "$RC" -ne 0
check nofulfil_payment_out test -s "$A/reports/actions/payment_actions_20261120_run1.csv"
expect_eq nofulfil_payment_marked_written "$(q "$A" "select count(*) from unwritten u join actions a using(action_id) where a.kind = 'payment'")" 0
expect_eq nofulfil_fulfillment_unwritten "$(q "$A" "select count(*) from unwritten u join actions a using(action_id) where a.kind = 'fulfillment'")" \
    "$(q "$A" "select count(*) from actions where kind = 'fulfillment'")"
mkdir -p "$TMP/uploaded"
mv "$A/reports/actions/payment_actions_20261120_run1.csv" "$TMP/uploaded/"
rmdir "$A/reports/actions/fulfillment_20261120_run1.csv"
cr run --config "$A/config/carerecon.yaml" --as-of 2026-11-20
expect_eq nofulfil_payments_not_again "$(grep -c ':capture\|:release' "$A/reports/actions/payment_actions_20261120_run2.csv")" 0
check nofulfil_shipments_written grep -q "^CE2611-000134," "$A/reports/actions/fulfillment_20261120_run2.csv"
# run 1 published no workbook: run 2 lists its actions with the file each is in
xlsx nofulfil_listed_with_files "$A/reports/carerecon_20261120_run2.xlsx" \
    "contains:Captures=issued by run 1, whose workbook was not written; in payment_actions_20261120_run1.csv" \
    "contains:Fulfillment=issued by run 1, whose workbook was not written; in fulfillment_20261120_run2.csv"
expect_eq nofulfil_nothing_unwritten "$(q "$A" "select count(*) from unwritten")" 0
