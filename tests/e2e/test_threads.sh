#!/usr/bin/env bash
# carerecon works on up to four threads (the claim database read while the
# inbox is ingested or, on an incremental night, while the subset's rows are
# loaded, a full night's settlement rows loaded through a second connection
# while its events are, half an incremental night's subset found on a second
# connection, the inbox read ahead, decisions written while they are
# made, the workbook written while the night goes on); each falls back to
# doing the work in line when its thread cannot be started.
# CARERECON_THREADS=0 makes every start fail: the nights must then write the
# same state, action files and workbooks as with the threads.
. "$(dirname "$0")/lib.sh"
GEN=$ROOT/build/gen

state_of() { # ENV: action rows, exceptions, decisions, claim states, rejects, files
    cat "$1"/reports/actions/payment_actions_*.csv "$1"/reports/actions/fulfillment_*.csv
    sqlite3 -batch -noheader "$1/var/carerecon.db" \
        "select exc_id, code, status, first_seen, last_seen, coalesce(claim_id,'') from exceptions order by exc_id;
         select claim_id, run_id, decision, coalesce(reason,''), coalesce(state,''), coalesce(detail,'') from decisions order by 1, 2;
         select claim_id, decision, coalesce(state,''), coalesce(wake_at,''), hash, row_hash from claim_state order by claim_id;
         select action_id, claim_id, kind, action, amount, coalesce(confirmed_row,''), file_name from actions order by action_id;
         select count(*) from unwritten;
         select file_name, line, reason, coalesce(field,''), coalesce(detail,'') from rejects order by reject_id;
         select name, status, rows, accepted, rejected from files order by file_id;
         select event_id, file_id, line, coalesce(claim_key,''), at from events order by event_id;
         select row_id, file_id, line, coalesce(merchant_key,''), amount, booked_at from settlements order by row_id;"
}
same() { # NAME A B
    if [ "$2" = "$3" ]; then ok "$1"; else
        fail "$1" "$(diff <(echo "$2") <(echo "$3") | head -6 | tr '\n' ' ')"
    fi
}

T=$TMP/threads
S=$TMP/single
newenv "$T"
cp -r "$T" "$S"
for night in 2026-11-20 2026-11-21 2026-11-22; do
    "$BIN" run --config "$T/config/carerecon.yaml" --as-of $night --quiet 2>/dev/null
    CARERECON_THREADS=0 "$BIN" run --config "$S/config/carerecon.yaml" --as-of $night --quiet 2>/dev/null
    expect_eq "single_thread_night_${night}_exit" "$?" 65
done
st=$(state_of "$T")
check fixtures_state_not_empty test "$(echo "$st" | wc -l)" -gt 200
same fixtures_single_thread_same_state "$st" "$(state_of "$S")"
for n in 1 2 3; do
    a=$(ls "$T"/reports/carerecon_*_run$n.xlsx)
    b=$(ls "$S"/reports/carerecon_*_run$n.xlsx)
    same "fixtures_single_thread_same_workbook_run$n" "$(cells_of "$a")" "$(cells_of "$b")"
done

# a generated business of 3,000 claims (many files, rows enough for
# several batches of each hand-over), then a night of new rows
if [ -x "$GEN" ]; then
    G=$TMP/gen
    "$GEN" --claims 3000 --seed 11 --out "$G" --as-of 2026-11-20 >/dev/null 2>&1
    cp -r "$G" "$G.single"
    "$BIN" run --config "$G/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
    CARERECON_THREADS=0 "$BIN" run --config "$G.single/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
    for e in "$G" "$G.single"; do
        "$GEN" --claims 3000 --seed 11 --out "$e" --as-of 2026-11-20 --increment 300 --increment-tag 20261121 >/dev/null 2>&1
    done
    # the incremental night's closure: half its seeds on a second connection
    "$BIN" run --config "$G/config/carerecon.yaml" --as-of 2026-11-21 --verbose 2>"$G.log"
    CARERECON_THREADS=0 "$BIN" run --config "$G.single/config/carerecon.yaml" --as-of 2026-11-21 \
        --verbose 2>"$G.single.log"
    check generated_closure_on_two_connections grep -q "subset closed over on 2 connections" "$G.log"
    check generated_closure_single_without_threads \
        grep -q "subset closed over on 1 connection$" "$G.single.log"
    st=$(state_of "$G")
    check generated_state_not_empty test "$(echo "$st" | wc -l)" -gt 10000
    same generated_single_thread_same_state "$st" "$(state_of "$G.single")"
    same generated_single_thread_same_workbook \
        "$(cells_of "$(ls "$G"/reports/carerecon_*_run2.xlsx)")" \
        "$(cells_of "$(ls "$G.single"/reports/carerecon_*_run2.xlsx)")"
else
    fail generated_business "build/gen is missing (make all)"
fi
