#!/usr/bin/env bash
# Schema migrations on a state database an older carerecon left.
# (Migration 3: the `unwritten` list and CHECKs without IN lists; 4: the
# rows dated after the last as-of in events_later / settlements_later; 5:
# the claim_state lookup indexes rebuilt covering by the next night; 6:
# claim_state.action_match, filled in by the next night; 7: action_alias;
# 8: lookup keys made again with Unicode blanks trimmed; 9: runs.workbook and
# runs.published; 12: tracking numbers stored as they are matched.)
#
# data/state_v2_killed.sql: the state at schema 2 (before the `unwritten`
# list) of the fixture night 2026-11-20, killed right after its decision
# commit: 16 actions recorded with written = 0 and no action file.
# Migration 3 must carry them over as still to be written, and the next
# run must write each of them exactly once.
. "$(dirname "$0")/lib.sh"

E=$TMP/m
newenv "$E"
mkdir -p "$E/var"
sqlite3 "$E/var/carerecon.db" <"$ROOT/tests/e2e/data/state_v2_killed.sql"
# the lookup indexes a v2 state had once a night finished (this one was killed before)
sqlite3 "$E/var/carerecon.db" "create index events_at on events(at); create index settlements_booked on settlements(booked_at);
    create index claim_state_key on claim_state(key); create index claim_state_sn on claim_state(norm_sn) where norm_sn is not null;
    insert or replace into meta values('indexed', 1)"
expect_eq v2_fixture_version "$(q "$E" "pragma user_version")" 2
expect_eq v2_fixture_unwritten "$(q "$E" "select count(*) from actions where written = 0")" 16

nexc=$(q "$E" "select count(*) || ' ' || sum(status = 'open') from exceptions")
nact=$(q "$E" "select count(*) || ' ' || sum(confirmed_row is not null) from actions")

# a lookup opens the state and migrates it; the action is still unwritten
cr claim --config "$CFG" CE2611-000101
expect_rc lookup_after_migration 0
expect_eq migrated_to_18 "$(q "$E" "pragma user_version")" 18
expect_eq m13_run_refunds_made "$(q "$E" "select count(*) from run_refunds")" 0
expect_eq exception_amount_added "$(q "$E" "select count(*) from pragma_table_info('exceptions') where name in ('amount', 'currency')")" 2
expect_eq action_match_added "$(q "$E" "select count(*) from pragma_table_info('claim_state') where name = 'action_match'")" 1
# migration 4: rows dated after the last as-of are listed, the date indexes gone
expect_eq events_later_listed "$(q "$E" "select count(*) from events_later")" \
    "$(q "$E" "select count(*) from events where at > (select value from meta where key = 'last_as_of')")"
check events_later_not_empty test "$(q "$E" "select count(*) from events_later")" -gt 0
expect_eq settlements_later_listed "$(q "$E" "select count(*) from settlements_later")" \
    "$(q "$E" "select count(*) from settlements where booked_at > (select value from meta where key = 'last_as_of')")"
# migration 5: the claim_state indexes are dropped, to be built covering by
# the next night, which reads everything
expect_eq old_state_indexes_dropped \
    "$(q "$E" "select count(*) from sqlite_master where name in ('claim_state_key', 'claim_state_sn')")" 0
expect_eq next_night_not_incremental "$(q "$E" "select value from meta where key = 'indexed'")" 0
expect_eq date_indexes_dropped \
    "$(q "$E" "select count(*) from sqlite_master where name in ('events_at', 'settlements_booked')")" 0
expect_eq unwritten_carried_over "$(q "$E" "select count(*) from unwritten")" 16
expect_eq unwritten_same_actions \
    "$(q "$E" "select count(*) from unwritten u join actions a using(action_id) where a.run_id = 1")" 16
expect_eq written_column_dropped \
    "$(q "$E" "select count(*) from pragma_table_info('actions') where name = 'written'")" 0
expect_eq old_index_dropped "$(q "$E" "select count(*) from sqlite_master where name = 'actions_unwritten'")" 0
expect_eq actions_carried_over "$(q "$E" "select count(*) || ' ' || sum(confirmed_row is not null) from actions")" "$nact"
expect_eq exceptions_carried_over "$(q "$E" "select count(*) || ' ' || sum(status = 'open') from exceptions")" "$nexc"
check exceptions_were_there test "${nexc%% *}" -gt 0
check exception_indexes_kept test "$(q "$E" "select count(*) from sqlite_master where name in ('exceptions_status', 'exceptions_claim')")" = 2
# the CHECKs, rewritten without IN lists, still refuse what they refused
check actions_check_kept bash -c "! sqlite3 '$E/var/carerecon.db' \"insert into actions(claim_id,kind,action,run_id,issued_at) values('X','payment','refund',1,0)\""
check actions_kind_check_kept bash -c "! sqlite3 '$E/var/carerecon.db' \"insert into actions(claim_id,kind,action,run_id,issued_at) values('X','other','release',1,0)\""
check exceptions_check_kept bash -c "! sqlite3 '$E/var/carerecon.db' \"update exceptions set status = 'closed'\""
check unwritten_needs_an_action bash -c "! sqlite3 '$E/var/carerecon.db' \"pragma foreign_keys=on; insert into unwritten values(999999)\""
if grep -q "release RETURNED 2199.00 USD (file not written yet)" "$OUT"; then
    ok lookup_says_not_written
else
    fail lookup_says_not_written "$(grep action "$OUT")"
fi

# the next run writes run 1's actions into its own files, once
cr run --config "$CFG" --as-of 2026-11-21
expect_err next_run_writes_them "16 actions recorded by run 1 were never written to a file (15 payment, 1 fulfillment); writing them now into payment_actions_20261121_run2.csv and fulfillment_20261121_run2.csv"
expect_eq nothing_left_unwritten "$(q "$E" "select count(*) from unwritten")" 0
expect_eq state_indexes_rebuilt_covering \
    "$(q "$E" "select sql like '%(key, norm_sn)%' from sqlite_master where name = 'claim_state_key'")" 1
expect_eq next_nights_incremental "$(q "$E" "select value from meta where key = 'indexed'")" 1
# migration 6: the night over everything counted the claims whose decision
# is one of their actions, or contradicts one
expect_eq action_match_counted "$(q "$E" "select (select value from meta where key = 'matched_total') || ' ' ||
    (select value from meta where key = 'conflicts_total')")" \
    "$(q "$E" "select sum(action_match = 1) || ' ' || sum(action_match = 2) from claim_state")"
check action_match_filled test "$(q "$E" "select count(*) from claim_state where action_match = 1")" -gt 0
A=$E/reports/actions
expect_eq run1_actions_in_run2_file \
    "$(q "$E" "select count(*) from actions where run_id = 1 and file_name in ('payment_actions_20261121_run2.csv', 'fulfillment_20261121_run2.csv')")" 16
got=$(cat "$A"/payment_actions_*.csv "$A"/fulfillment_*.csv | grep -v '^idempotency_key\|^claim_id' |
      cut -d, -f1 | sort | uniq -d | wc -l)
expect_eq no_action_twice "$got" 0
expect_eq run1_release_in_file "$(grep -c 'CE2611-000101' "$A/payment_actions_20261121_run2.csv")" 1
cr claim --config "$CFG" CE2611-000101
if grep -q "release RETURNED 2199.00 USD in payment_actions_20261121_run2.csv" "$OUT"; then
    ok lookup_names_the_file
else
    fail lookup_names_the_file "$(grep action "$OUT")"
fi

# migration 8: keys a state at schema 7 made with no-break spaces and dashes
# kept (claim reference, serial, merchant reference, claim id, hold) are made
# again as new rows get them; plain ASCII rows are left as they were
U=$TMP/m8
newenv "$U"
cr run --config "$U/config/carerecon.yaml" --as-of 2026-11-20 --quiet
sqlite3 "$U/var/carerecon.db" "pragma user_version = 7;
    alter table runs drop column workbook; alter table runs drop column workbook_after;
    alter table runs drop column published;
    update actions set psp_ref = psp_ref || char(160) where claim_id = 'CE2611-000101';
    update events set claim_ref = claim_ref || char(160), claim_key = claim_key || char(160),
        serial = serial || char(8211) || 'X', serial_norm = serial_norm || char(8211) || 'X',
        tracking = tracking || char(160)
        where event_id = (select min(event_id) from events where serial_norm is not null);
    update settlements set merchant_ref = char(12288) || merchant_ref, merchant_key = char(12288) || merchant_key,
        psp_ref = psp_ref || char(65279) where row_id = (select min(row_id) from settlements);
    update claim_state set norm_sn = norm_sn || char(160), preauth_ref = preauth_ref || char(160)
        where claim_id = 'CE2611-000101'"
ev=$(q "$U" "select event_id from events where claim_ref like '%' || char(160)")
cr claim --config "$U/config/carerecon.yaml" CE2611-000101
expect_eq migrated_8 "$(q "$U" "pragma user_version")" 9
expect_eq m8_event_keys "$(q "$U" "select claim_key = lower(trim(claim_ref, char(160))) and
    serial_norm = upper(replace(replace(trim(serial, char(8211) || 'X'), '-', ''), ' ', '')) || 'X' and
    tracking not like '%' || char(160) from events where event_id = $ev")" 1
expect_eq m8_settlement_keys "$(q "$U" "select merchant_key = lower(trim(merchant_ref, char(12288))) and
    psp_ref not like '%' || char(65279) from settlements where row_id = (select min(row_id) from settlements)")" 1
expect_eq m8_claim_state "$(q "$U" "select norm_sn || ' ' || preauth_ref from claim_state where claim_id = 'CE2611-000101'")" \
    "$(sqlite3 "$U/fixtures/claims.db" "select registered_sn || ' ' || preauth_ref from claims where claim_id = 'CE2611-000101'")"
expect_eq m8_action_hold "$(q "$U" "select psp_ref from actions where claim_id = 'CE2611-000101'")" \
    "$(sqlite3 "$U/fixtures/claims.db" "select preauth_ref from claims where claim_id = 'CE2611-000101'")"
expect_eq m8_ascii_rows_unchanged "$(q "$U" "select count(*) from events where event_id <> $ev and claim_key is not lower(trim(claim_ref))")" 0

# migration 12: tracking numbers a state at schema 11 kept as written
# (lower case, blanks, hyphens) are stored as events are matched by them
# now, so that the next file's scan of the same package finds them
T=$TMP/m12
newenv "$T"
cr run --config "$T/config/carerecon.yaml" --as-of 2026-11-20 --quiet
ev=$(q "$T" "select min(event_id) from events where tracking is not null")
trk=$(q "$T" "select tracking from events where event_id = $ev")
sqlite3 "$T/var/carerecon.db" "pragma user_version = 11; drop table run_refunds;
    drop index rejects_serial; alter table rejects drop column serial_norm;
    drop index rejects_claim; alter table rejects drop column claim_key;
    drop index if exists actions_claim_key; alter table actions drop column claim_key;
    update events set tracking = ' ' || lower(substr(tracking, 1, 2)) || ' ' || substr(tracking, 3, 3) || '-' ||
        substr(tracking, 6) where event_id = $ev;
    update events set tracking = ' - ' where event_id = $ev + 1 and claim_ref is not null;
    update events set tracking = 'N/A' where event_id = $ev + 2;
    update events set tracking = '9.40011E+21' where event_id = $ev + 3"
cr claim --config "$T/config/carerecon.yaml" CE2611-000101
expect_rc migrated_12_lookup 0
expect_eq migrated_12 "$(q "$T" "pragma user_version")" 18
# migration 14: the rows rejected before name no claim (the column is new)
expect_eq m14_old_rejects_no_claim "$(q "$T" "select count(*) from rejects where claim_key is not null")" 0
expect_eq m14_index "$(q "$T" "select count(*) from sqlite_master where name = 'rejects_claim'")" 1
# migration 15: every action keyed by its claim's key (case and blanks aside)
expect_eq m15_actions_keyed "$(q "$T" "select count(*) from actions where claim_key is not lower(trim(claim_id))")" 0
check m15_actions_there test "$(q "$T" "select count(*) from actions")" -gt 0
# migration 16: the rows rejected before have no serial kept (the column is new)
expect_eq m16_old_rejects_no_serial "$(q "$T" "select count(*) from rejects where serial_norm is not null")" 0
expect_eq m16_index "$(q "$T" "select count(*) from sqlite_master where name = 'rejects_serial'")" 1
# migration 17: a placeholder tracking number is stored as none
expect_eq m17_placeholder_none "$(q "$T" "select coalesce(tracking, 'none') from events where event_id = $ev + 2")" none
# migration 18: so is a number a spreadsheet wrote in scientific notation
expect_eq m18_exponent_none "$(q "$T" "select coalesce(tracking, 'none') from events where event_id = $ev + 3")" none
expect_eq m12_tracking_as_matched "$(q "$T" "select tracking from events where event_id = $ev")" "$trk"
expect_eq m12_blank_tracking_none "$(q "$T" "select count(*) from events where tracking = ' - ' or tracking = ''")" 0
