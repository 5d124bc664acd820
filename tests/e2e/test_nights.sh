#!/usr/bin/env bash
# Two nights over the fixtures, then a third: each night's action files
# equal the expected ones (tests/expected, as fixtures/README.md works
# them out), a rerun emits nothing new, the state reads back right, and a
# --from/--to backfill gives the same actions.
. "$(dirname "$0")/lib.sh"
E=$TMP/env
newenv "$E"
A=$E/reports/actions
X=$ROOT/tests/expected
same_rows() { # FILE EXPECTED: same header, same rows in any order
    [ "$(head -1 "$1")" = "$(head -1 "$2")" ] &&
    [ "$(tail -n +2 "$1" | sort)" = "$(tail -n +2 "$2" | sort)" ]
}

cr run --config "$CFG" --as-of 2026-11-20
expect_rc night1_exit_65_broken_file 65
expect_err night1_names_broken_file "depot_20261121_broken.csv: file rejected (MISSING_COLUMN)"
expect_err night1_reports_no_feed "manifest_20261121.csv: matches no receipts feed"
expect_err night1_names_rejected_row "carrier_20261120.csv:28: UNKNOWN_VALUE event"
expect_err night1_summary_line "run 1 as of 2026-11-20 23:59:59 -05:00 America/New_York"
check night1_payment_file same_rows "$A/payment_actions_20261120_run1.csv" "$X/payment_actions_20261120_run1.csv"
check night1_fulfillment_file same_rows "$A/fulfillment_20261120_run1.csv" "$X/fulfillment_20261120_run1.csv"
check night1_files_mode_0640 test "$(stat -c %a "$A/payment_actions_20261120_run1.csv")" = 640
check state_db_mode_0640 test "$(stat -c %a "$E/var/carerecon.db")" = 640
# every claim's state row and decision row hold that claim's values (rows are
# written several to a statement: a shifted binding would mix claims up)
expect_eq state_rows_match_claims "$(sqlite3 -batch -noheader "$E/var/carerecon.db" \
    "attach '$E/fixtures/claims.db' as c;
     select count(*) from claim_state s join c.claims k using(claim_id)
     where s.key <> lower(trim(k.claim_id)) or s.preauth_ref is not k.preauth_ref
        or s.currency is not upper(k.currency) or s.card_brand is not lower(k.card_brand)
        or s.active <> (k.status = 'active')")" 0
expect_eq state_rows_all_claims "$(q "$E" "select count(*) from claim_state")" \
    "$(sqlite3 -batch -noheader "$E/fixtures/claims.db" "select count(*) from claims")"
expect_eq decision_rows_match_state "$(q "$E" "select count(*) from claim_state s join decisions d
     using(claim_id) where d.run_id = 1 and d.decision <> s.decision")" 0
check decision_rows_many test "$(q "$E" "select count(*) from decisions where run_id = 1")" -gt 16
expect_eq night1_open_exceptions "$(q "$E" "select count(*) from exceptions where status='open'")" 22
expect_eq night1_rejected_rows "$(q "$E" "select count(*) from rejects where run_id=1 and reason<>'MISSING_COLUMN'")" 6
expect_eq night1_rejected_file "$(q "$E" "select reason||' '||file_name||':'||line||' '||field from rejects where reason='MISSING_COLUMN'")" "MISSING_COLUMN depot_20261121_broken.csv:3 event_at"
expect_eq broken_file_nothing_ingested "$(q "$E" "select count(*) from files where name='depot_20261121_broken.csv' and status='ingested'")" 0
expect_eq provenance_kept "$(q "$E" "select f.name||':'||e.line from events e join files f using(file_id) where e.serial like '%3QDSL5R0A2B7C9%'")" "depot_20261120.csv:19"
expect_eq reject_has_raw "$(q "$E" "select count(*) from rejects where reason<>'MISSING_COLUMN' and (raw is null or raw='' or field is null and reason<>'BAD_ROW')")" 0
expect_eq actions_recorded_written "$(q "$E" "select count(*) from actions where action_id not in (select action_id from unwritten)")" 16
check unique_action_per_claim_in_db \
    bash -c "! sqlite3 '$E/var/carerecon.db' \"insert into actions(claim_id,kind,action,run_id,issued_at) values('CE2611-000101','payment','capture',1,0)\""

cr run --config "$CFG" --as-of 2026-11-21
expect_rc night2_exit_65 65
check night2_payment_file same_rows "$A/payment_actions_20261121_run2.csv" "$X/payment_actions_20261121_run2.csv"
check night2_fulfillment_file same_rows "$A/fulfillment_20261121_run2.csv" "$X/fulfillment_20261121_run2.csv"
expect_eq night2_open_exceptions "$(q "$E" "select count(*) from exceptions where status='open'")" 31
expect_eq night2_conflict_122 "$(q "$E" "select claim_id from exceptions where code='ACTION_CONFLICT'")" "CE2611-000122"
expect_eq night2_conflict_122_says_amount "$(q "$E" "select detail like 'capture of 2199.00 USD was issued by run 1 %refund the customer' from exceptions where code='ACTION_CONFLICT'")" 1
expect_eq night2_no_second_action_122 "$(q "$E" "select count(*) from actions where claim_id='CE2611-000122'")" 1
expect_eq night2_resolved_waiting "$(q "$E" "select group_concat(code||' '||claim_id, '; ') from (select * from exceptions where status='resolved' order by code, claim_id)")" \
    "AUTH_EXPIRES_BEFORE_DEADLINE CE2611-000121; AUTH_EXPIRES_BEFORE_DEADLINE CE2611-000138; AWAITING_CHECKIN CE2611-000119"
expect_eq night2_first_seen_kept "$(q "$E" "select datetime(first_seen,'unixepoch') from exceptions where code='SN_NEAR_MATCH'")" "2026-11-21 04:59:59"
expect_eq night2_confirmed_capture "$(q "$E" "select count(*) from actions where confirmed_row is not null")" \
    "$(q "$E" "select count(*) from actions a where a.confirmed_row is not null")"
check night2_confirmations_point_to_rows test "$(q "$E" "select count(*) from actions a join settlements s on s.row_id=a.confirmed_row")" -gt 3

# the same night again: nothing new is emitted
cr run --config "$CFG" --as-of 2026-11-21
check rerun_payment_header_only test "$(wc -l <"$A/payment_actions_20261121_run3.csv")" -eq 1
check rerun_fulfillment_header_only test "$(wc -l <"$A/fulfillment_20261121_run3.csv")" -eq 1
expect_eq rerun_exceptions_unchanged "$(q "$E" "select count(*) from exceptions where status='open'")" 31
expect_err rerun_skips_files "6 skipped"

cr run --config "$CFG" --as-of 2026-11-24
check night3_header_only test "$(wc -l <"$A/payment_actions_20261124_run4.csv")" -eq 1
expect_eq night3_unconfirmed "$(q "$E" "select group_concat(claim_id, ' ') from (select claim_id from exceptions where code='UNCONFIRMED_ACTION' order by claim_id)")" \
    "CE2611-000108 CE2611-000109 CE2611-000111"
expect_eq night3_open_exceptions "$(q "$E" "select count(*) from exceptions where status='open'")" 35

# a backfill gives the same actions, one pair of files and a workbook per day
B=$TMP/backfill
newenv "$B"
cr run --config "$CFG" --from 2026-11-20 --to 2026-11-21
expect_rc backfill_exit_65 65
check backfill_night1 same_rows "$B/reports/actions/payment_actions_20261120_run1.csv" "$X/payment_actions_20261120_run1.csv"
check backfill_night2 same_rows "$B/reports/actions/payment_actions_20261121_run2.csv" "$X/payment_actions_20261121_run2.csv"
check backfill_two_workbooks test -s "$B/reports/carerecon_20261120_run1.xlsx" -a -s "$B/reports/carerecon_20261121_run2.xlsx"
# the same range again (the demo run twice): the replay of 11-20 sees
# again what was resolved on 11-21, as of a time before that: it stays
# resolved, by the run that resolved it
resolved=$(q "$B" "select exc_id || resolved_run from exceptions where status = 'resolved' order by 1")
check backfill_range_resolved_some test -n "$resolved"
cr run --config "$CFG" --from 2026-11-20 --to 2026-11-21
expect_eq replay_keeps_resolved "$(q "$B" "select exc_id || resolved_run from exceptions where status = 'resolved' order by 1")" "$resolved"
# and the replay's workbook of 11-20 lists them: they were open as of 11-20
# (SPEC 4, every exception open as of D)
ids=$(q "$B" "select exc_id from exceptions where status = 'resolved' and resolved_run = 2")
checks=()
for id in $ids; do checks+=("find:Exceptions=$id"); done
check backfill_resolved_some_by_night2 test ${#checks[@]} -gt 0
xlsx backfill_lists_open_then "$B/reports/carerecon_20261120_run3.xlsx" "${checks[@]}"

# --as-of with an instant: the morning of 11-21 sees night 1's world plus
# nothing booked later
I=$TMP/instant
newenv "$I"
cr run --config "$CFG" --as-of 2026-11-21T04:59:59Z
check instant_equals_night1 same_rows "$I/reports/actions/payment_actions_20261120_run1.csv" "$X/payment_actions_20261120_run1.csv"

# A first night writes with a rollback journal (cr_store_bulk) and leaves the
# state database in write-ahead-log mode; with another connection holding
# the database it keeps the log, and decides the same.
expect_eq bulk_night_back_to_wal "$(q "$I" "pragma journal_mode")" wal
K=$TMP/bulk_busy
newenv "$K"
mkdir -p "$K/var"
sqlite3 "$K/var/carerecon.db" "pragma journal_mode=wal" >/dev/null # an empty state database
# a reader holds a read transaction open while the night runs
( printf 'begin;\nselect count(*) from sqlite_master;\n.system sleep 8\ncommit;\n' |
    sqlite3 -batch "$K/var/carerecon.db" >/dev/null 2>&1 ) &
reader=$!
sleep 1
cr run --config "$CFG" --as-of 2026-11-20 --verbose
expect_err bulk_busy_keeps_log "another process has the state database open: written through the write-ahead log"
check bulk_busy_same_actions same_rows "$K/reports/actions/payment_actions_20261120_run1.csv" "$X/payment_actions_20261120_run1.csv"
wait "$reader" 2>/dev/null || true
expect_eq bulk_busy_wal "$(q "$K" "pragma journal_mode")" wal

# a late file brings a capture row booked before the one that confirmed the
# action: the earlier confirms it now (rows are taken in booked_at order),
# and the later is the duplicate
L=$TMP/lateconfirm
newenv "$L"
cr run --config "$L/config/carerecon.yaml" --as-of 2026-11-20 --quiet
cr run --config "$L/config/carerecon.yaml" --as-of 2026-11-21 --quiet
before=$(q "$L" "select f.name || ':' || s.line from actions a join settlements s on s.row_id = a.confirmed_row join files f using(file_id) where a.claim_id = 'CE2611-000104'")
check late_confirm_first_row test "$before" = "settlement_detail_report_batch_20261121.csv:7"
{
    head -1 "$L/fixtures/inbox/settlements/settlement_detail_report_batch_20261121.csv"
    echo "CareExpressCOM,CareExpressUS,8816179120083352,CE2611-000104,mc,2026-11-21 06:00:00,PST,Settled,8890180000079100,USD,,2199.00,1,USD,,2185.69,13.31,414"
} >"$L/fixtures/inbox/settlements/settlement_detail_report_late_20261121.csv"
cr run --config "$L/config/carerecon.yaml" --as-of 2026-11-24 --quiet
expect_eq late_confirm_moves_to_earlier "$(q "$L" "select f.name || ':' || s.line from actions a join settlements s on s.row_id = a.confirmed_row join files f using(file_id) where a.claim_id = 'CE2611-000104'")" \
    "settlement_detail_report_late_20261121.csv:2"
expect_eq late_confirm_duplicate_on_later "$(q "$L" "select count(*) from exceptions where code = 'DUPLICATE_CAPTURE' and claim_id = 'CE2611-000104' and source_file = 'settlement_detail_report_batch_20261121.csv' and source_line = 7")" 1
# the same with a late row of another amount: it is the amount mismatch,
# the row that confirmed is now the duplicate, and nothing confirms the
# action any more
L2=$TMP/lateconfirm2
newenv "$L2"
cr run --config "$L2/config/carerecon.yaml" --as-of 2026-11-20 --quiet
cr run --config "$L2/config/carerecon.yaml" --as-of 2026-11-21 --quiet
check late_mismatch_was_confirmed test -n "$(q "$L2" "select confirmed_row from actions where claim_id = 'CE2611-000104'")"
{
    head -1 "$L2/fixtures/inbox/settlements/settlement_detail_report_batch_20261121.csv"
    echo "CareExpressCOM,CareExpressUS,8816179120083352,CE2611-000104,mc,2026-11-21 06:00:00,PST,Settled,8890180000079100,USD,,2099.00,1,USD,,2085.69,13.31,414"
} >"$L2/fixtures/inbox/settlements/settlement_detail_report_late_20261121.csv"
cr run --config "$L2/config/carerecon.yaml" --as-of 2026-11-24 --quiet
expect_eq late_mismatch_unconfirms "$(q "$L2" "select coalesce(confirmed_row, 'none') from actions where claim_id = 'CE2611-000104'")" none
expect_eq late_mismatch_raised "$(q "$L2" "select count(*) from exceptions where code = 'SETTLEMENT_AMOUNT_MISMATCH' and claim_id = 'CE2611-000104'")" 1
