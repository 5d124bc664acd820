#!/usr/bin/env bash
# carerecon claim (one claim's history) and carerecon ack (exceptions'
# life: open, persisting, resolved, acknowledged), read back from the state
# and the workbook.
. "$(dirname "$0")/lib.sh"
E=$TMP/env
newenv "$E"

cr claim --config "$CFG" CE2611-000104
expect_rc claim_before_any_run 0
check claim_before_run_says_so grep -q "no run has been made yet" "$OUT"
check claim_before_run_no_error bash -c "! grep -q 'error' '$ERR'"
cr ack --config "$CFG" --code SN_NEAR_MATCH --note x
expect_rc ack_before_any_run 66
expect_err ack_before_run_says_so "no run has been made yet, so there is nothing to acknowledge"
check ack_before_run_makes_nothing test ! -e "$E/var"
# a state database that records no run (the first run stopped at action
# files of runs it does not know, 73): still nothing to acknowledge, 66
NR=$TMP/norun; newenv "$NR"; CFG=$E/config/carerecon.yaml   # (newenv pointed it at NR)
mkdir -p "$NR/reports/actions"
printf 'idempotency_key,action,psp_reference,claim_id,amount,currency,reason\n' \
    >"$NR/reports/actions/payment_actions_20261101_run7.csv"
cr run --config "$NR/config/carerecon.yaml" --as-of 2026-11-20 --quiet
expect_rc ack_norun_setup_73 73
cr ack --config "$NR/config/carerecon.yaml" --code SN_NEAR_MATCH --note x
expect_rc ack_state_without_runs_66 66
expect_err ack_state_without_runs_says "none recorded in the state database"
# a note of blanks says nothing, an empty --by names no one (64); a code
# typed with blanks around it is the code
cr ack --config "$CFG" --code SN_NEAR_MATCH --note "   ";  expect_rc ack_blank_note_64 64
cr ack --config "$CFG" --code SN_NEAR_MATCH --note x --by ""; expect_rc ack_empty_by_64 64
expect_err ack_empty_by_said "--by is empty"
cr ack --config "$CFG" --code " sn_near_match " --note x;  expect_rc ack_code_trimmed 66

cr run --config "$CFG" --as-of 2026-11-20 --quiet
cr run --config "$CFG" --as-of 2026-11-21 --quiet

# while a night over everything commits, it holds the state database to
# itself (rollback journal): a lookup waits for it (up to 5 s)
cp "$E/var/carerecon.db" "$TMP/held.db"
( sqlite3 "$TMP/held.db" "PRAGMA journal_mode = DELETE; BEGIN EXCLUSIVE; UPDATE meta SET value = value;" \
    ".shell sleep 2" "COMMIT;" >/dev/null 2>&1 ) &
sleep 0.5
sed "s|^state_db:.*|state_db: $TMP/held.db|" "$CFG" >"$E/config/held.yaml"
cr claim --config "$E/config/held.yaml" CE2611-000104
wait
expect_rc claim_waits_for_a_commit 0
cr claim --config "$CFG" CE2611-000104
expect_rc claim_exit_0 0
check claim_header grep -q "^claim CE2611-000104  premium active" "$OUT"
# where it stands before the history (a review: a decision contradicted
# later read as the current one), with its deadline and hold expiry
check claim_decision_now grep -qE "^  decision now       capture SN_MISMATCH, since run 1 \(as of 2026-11-20 23:59:59 -05:00\)$" "$OUT"
check claim_deadline_now grep -qE "^  deadline           2026-[0-9-]+ 23:59:59 -05:00;  hold expires 2026-" "$OUT"
check claim_event_with_source grep -qE "event +received .*\(depot_2026112[01]\.csv:[0-9]+\)" "$OUT"
check claim_decision grep -qE "decision +capture SN_MISMATCH: received " "$OUT"
check claim_reason_said_once bash -c "! grep -q 'SN_MISMATCH: SN_MISMATCH' '$OUT'"
# times with their offset: the two 01:30 of a repeated hour read apart
check claim_times_with_offset grep -qE "^2026-11-20 23:59:59 -05:00  decision" "$OUT"
check claim_action_file grep -qE "action +capture SN_MISMATCH 2199.00 USD in payment_actions_20261120_run1.csv - confirmed by settlement_detail_report_batch_20261121.csv:[0-9]+" "$OUT"
check claim_settlement_rows test "$(grep -c "settlement " "$OUT")" -ge 2
check claim_exception_status grep -qE "exception +SN_NEAR_MATCH EX-[0-9A-F]{16} \[open\]" "$OUT"
check claim_time_order bash -c "awk '{print \$1\" \"\$2}' '$OUT' | grep -E '^[0-9]{4}-' | sort -c"
check claim_plain_when_piped bash -c "! grep -q $'\033' '$OUT'"
cr claim CE2611-000126 --config "$CFG"
expect_rc claim_options_after_id 0
check claim_event_matched_by_serial grep -qE "event +received .*\(depot_20261121\.csv:8\)" "$OUT"
cr claim --config "$CFG" ce2611-000104
check claim_id_case_insensitive grep -q "^claim CE2611-000104" "$OUT"
# a check-in rejected for a bad field (depot_20261121.csv:10, battery
# "unsure") is in no decision: the lookup shows it, with its row (a review:
# the claim was later captured NOT_RETURNED, and nothing led back to it)
cr claim --config "$CFG" CE2611-000120
check claim_rejected_row_listed grep -qE "^  depot_20261121\.csv:10  BAD_BOOLEAN battery_returned: .*\(run 1\)" "$OUT"
check claim_rejected_row_raw grep -qE "^      row: R\. Diaz,CE2611-000120,1581F6Q8D24EK92," "$OUT"
check claim_rejected_heading grep -q "^rejected rows naming this claim (by its id or serial; a rejected row is used in no decision)$" "$OUT"
check claim_rejected_only_its_own test "$(grep -c '^  [a-z_0-9]*\.csv:[0-9]*  ' "$OUT")" -eq 1
# a claim named by no rejected row lists none; then a row naming only its
# serial, typed with hyphens and in lower case, and a row of a claim whose
# id merely begins with its id, in a later file
cr claim --config "$CFG" CE2611-000110
check claim_no_rejected_rows bash -c "! grep -q 'rejected rows naming this claim' '$OUT'"
# ... and the claim's capture says so where finance collects: CE2611-000120's
# check-in (depot_20261121.csv:10, battery "unsure") was rejected, and the
# claim is captured NOT_RETURNED once its time is up (a review: nothing led
# back to the check-in; the rejected row was listed once, nights before)
CN=$TMP/capnote; newenv "$CN"
# a second rejected check-in of the claim, in a later file: the note names
# the newest and counts the others
{ printf 'Service Center Check-in Export\nGenerated 2026-11-22 23:00\n'
  printf 'Technician,RMA No,Serial No,Checked In,Tracking No,Genuine (Y/N),Battery Returned (Y/N),Notes\n'
  printf 'R. Diaz,CE2611-000120,1581F6Q8D24EK92,2026-11-22T09:00:00-05:00,1Z9R4E819037411200,Y,unsure,\n'
  # a walk-in check-in of CE2611-000138's unit, its serial typed in lower
  # case with a hyphen: no RMA and no tracking number, so rejected
  # (MISSING_FIELD: SPEC 2.2 needs one of them)
  printf 'R. Diaz,,1581f6z9c2-3n6g4,2026-11-20T09:00:00-05:00,,?,Y,walk-in\n'
} >"$CN/fixtures/inbox/receipts/depot_20261122.csv"
"$BIN" run --config "$CN/config/carerecon.yaml" --from 2026-11-20 --to 2026-11-28 --quiet 2>/dev/null
expect_eq capture_note_claim_key "$(sqlite3 "$CN/var/carerecon.db" "select claim_key from rejects where file_name = 'depot_20261121.csv' and line = 10")" ce2611-000120
# receipt rows only: a settlement row's fault is not a missing check-in
expect_eq capture_note_receipts_only "$(sqlite3 "$CN/var/carerecon.db" "select count(*) from rejects r join files f using(file_id) where f.kind = 'settlements' and r.claim_key is not null")" 0
check capture_note_captured grep -q '^CE2611-000120:capture,capture,.*,NOT_RETURNED$' "$CN/reports/actions/payment_actions_20261128_run9.csv"
# the Detail of CE2611-000120's row, and how many Captures rows carry a note
capnotes() {
    "$PY" -c 'import openpyxl, sys
ws = openpyxl.load_workbook(sys.argv[1], read_only=True)["Captures"]
rows = list(ws.iter_rows(values_only=True))
col = rows[0].index("Detail")
print(sum(1 for r in rows[1:] if "naming this claim was rejected" in str(r[col] or "")),
      [r[col] for r in rows[1:] if r[0] == "CE2611-000120"])' "$1"
}
expect_eq capture_note_in_detail "$(capnotes "$CN/reports/carerecon_20261128_run9.xlsx")" \
    "1 ['a receipt row naming this claim was rejected (depot_20261122.csv:4, BAD_BOOLEAN; and 1 more) and not used: check it before collecting']"
# a capture no rejected row names says nothing of it
expect_eq capture_note_only_there "$(capnotes "$CN/reports/carerecon_20261120_run1.xlsx")" "0 []"
# the walk-in's row names no claim: the capture of the claim of its serial
# says so (a review: a unit in the depot was collected for in silence)
expect_eq capture_note_serial_kept "$(sqlite3 "$CN/var/carerecon.db" "select coalesce(claim_key, '-') || ' ' || serial_norm from rejects where file_name = 'depot_20261122.csv' and line = 5")" "- 1581F6Z9C23N6G4"
detail_of() { # WORKBOOK CLAIM: the Detail of CLAIM's Captures row
    "$PY" -c 'import openpyxl, sys
ws = openpyxl.load_workbook(sys.argv[1], read_only=True)["Captures"]
rows = list(ws.iter_rows(values_only=True))
col = rows[0].index("Detail")
print([r[col] for r in rows[1:] if r[0] == sys.argv[2]])' "$1" "$2"
}
expect_eq capture_note_by_serial "$(detail_of "$CN/reports/carerecon_20261121_run2.xlsx" CE2611-000138)" \
    "[\"a receipt row with this claim's serial and no claim reference that could be read was rejected (depot_20261122.csv:5, MISSING_FIELD) and not used: check it before collecting\"]"
# ... but not on a claim of that serial paid after the run that took the
# row in: the row was another claim's unit (a read-through)
SG=$TMP/serialnote; newenv "$SG"
cp "$CN/fixtures/inbox/receipts/depot_20261122.csv" "$SG/fixtures/inbox/receipts/"
sqlite3 "$SG/fixtures/claims.db" "INSERT INTO claims VALUES ('CE2611-009138', 'premium', 'US',
  'Mini 4 Pro', '1581F6Z9C23N6G4', 0, 75900, 'USD', 4900, 'LATERREF1', 75900, 'visa',
  '2026-11-21T10:00:00-05:00', 1, '2027-11-21', 1, 'active')"
"$BIN" run --config "$SG/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
"$BIN" run --config "$SG/config/carerecon.yaml" --as-of 2026-11-23 --quiet 2>/dev/null
check serial_note_later_claim_captured grep -q '^CE2611-009138:capture,capture,.*,NOT_RETURNED$' "$SG/reports/actions/payment_actions_20261123_run2.csv"
expect_eq serial_note_not_on_later_claim "$(detail_of "$SG/reports/carerecon_20261123_run2.xlsx" CE2611-009138)" "[None]"
d138=$(detail_of "$SG/reports/carerecon_20261123_run2.xlsx" CE2611-000138)
case "$d138" in
*"with this claim's serial and no claim reference"*) ok serial_note_still_on_its_claim ;;
*) fail serial_note_still_on_its_claim "$d138" ;;
esac
CFG=$E/config/carerecon.yaml   # newenv pointed it at the new env
RJ=$TMP/rejected; cp -r "$E" "$RJ"   # (a copy: the runs below keep their numbers)
# a row or event dated after the latest as-of a run decided is marked: no
# run has looked at it (a review: a settled capture read as one missed)
LA=$TMP/lastasof; newenv "$LA"
"$BIN" run --config "$LA/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
cr claim --config "$LA/config/carerecon.yaml" CE2611-000104
check claim_after_as_of_marked grep -qE "settlement Settled \(capture\) .*batch_20261121\.csv:7\)  \[dated after the latest run's as-of: no run has used it yet\]$" "$OUT"
check claim_before_as_of_unmarked bash -c "! grep -E 'depot_20261120.*no run has used it yet' '$OUT'"
# a claim pending, then cancelled: no decision row is written for it (it is
# not decided any more), and "decision now" must not say pending (a
# read-through: it read the last decision row)
"$BIN" run --config "$LA/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
cr claim --config "$LA/config/carerecon.yaml" CE2611-000112
check claim_pending_before_cancel grep -qE "^  decision now       pending \(pending\), since run 1 " "$OUT"
sqlite3 "$LA/fixtures/claims.db" "update claims set status = 'cancelled' where claim_id = 'CE2611-000112'"
"$BIN" run --config "$LA/config/carerecon.yaml" --as-of 2026-11-21 --quiet 2>/dev/null
cr claim --config "$LA/config/carerecon.yaml" CE2611-000112
check claim_cancelled_not_pending grep -qE "^  decision now       none: not decided" "$OUT"
CFG=$E/config/carerecon.yaml   # newenv pointed it at the new env
{ printf 'Service Center Check-in Export\nGenerated 2026-11-22 23:00\n'
  printf 'Technician,RMA No,Serial No,Checked In,Tracking No,Genuine (Y/N),Battery Returned (Y/N),Notes\n'
  printf 'R. Diaz,,1581f4-xfc22a7q3,2026-11-22T09:00:00-05:00,1Z9R4E8190374119,Y,maybe,\n'
  printf 'R. Diaz,CE2611-0001109,1581F5BHD2340O9,2026-11-22T09:05:00-05:00,1Z9R4E8190374118,Y,maybe,\n'
  printf 'R. Diaz,,]C11581F4XFC22A7Q3,2026-11-22T09:10:00-05:00,1Z9R4E8190374117,Y,maybe,\n'
  printf 'R. Diaz,CE2611-000110,1581F4XFC22A7Q3,2026-11-22T09:15:00-05:00,1Z9R4E8190374116,Y,\033[2J,\n'
} >"$RJ/fixtures/inbox/receipts/depot_20261122.csv"
cr run --config "$RJ/config/carerecon.yaml" --as-of 2026-11-22 --quiet
cr claim --config "$RJ/config/carerecon.yaml" CE2611-000110
check claim_rejected_by_serial grep -qE "^  depot_20261122\.csv:4  BAD_BOOLEAN" "$OUT"
check claim_rejected_by_scanned_serial grep -qE "^  depot_20261122\.csv:6  BAD_BOOLEAN" "$OUT"
# text from the sender's file reaches no terminal as an escape sequence:
# not in the row, not in the detail that quotes the value
check claim_rejected_no_escape bash -c "grep -q 'depot_20261122.csv:7' '$OUT' && ! grep -q $'\033' '$OUT'"
check claim_rejected_not_longer_id bash -c "! grep -q 'depot_20261122.csv:5' '$OUT'"
# a claim archived out of the claim database: its recorded history still
# (a review: "no such claim", exit 65, though the state holds its capture)
cp "$E/fixtures/claims.db" "$TMP/archived.db"
sqlite3 "$TMP/archived.db" "DELETE FROM claims WHERE claim_id = 'CE2611-000104'"
sed "s|^claims_db:.*|claims_db: $TMP/archived.db|" "$CFG" >"$E/config/archived.yaml"
cr claim --config "$E/config/archived.yaml" ce2611-000104
expect_rc claim_archived_exit_0 0
check claim_archived_said grep -q "^claim CE2611-000104  not in the claim database .* (archived or deleted)" "$OUT"
check claim_archived_action grep -qE "action +capture SN_MISMATCH 2199.00 USD in payment_actions_20261120_run1.csv" "$OUT"
check claim_archived_settlement test "$(grep -c "settlement " "$OUT")" -ge 2
# ... also once a night over everything forgot its state row, for a basic
# claim (a shipment, no payment action) and in another case (a review)
AR=$TMP/archived_forgotten
newenv "$AR"
"$BIN" run --config "$AR/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
sqlite3 "$AR/fixtures/claims.db" "DELETE FROM claims WHERE claim_id = 'CE2611-000134'"
"$BIN" run --config "$AR/config/carerecon.yaml" --as-of 2026-11-21 --quiet --full 2>/dev/null
expect_eq claim_forgotten_state_gone "$(q "$AR" "select count(*) from claim_state where claim_id = 'CE2611-000134'")" 0
cr claim --config "$AR/config/carerecon.yaml" ce2611-000134
expect_rc claim_forgotten_exit_0 0
check claim_forgotten_shipment grep -qE "action +ship_replacement RETURNED in fulfillment_20261120_run1.csv" "$OUT"
CFG=$E/config/carerecon.yaml   # newenv pointed it at the new env
cr claim --config "$E/config/archived.yaml" CE2611-999999
expect_rc claim_archived_unknown_65 65
expect_err claim_archived_unknown_said "no such claim"
# a twin whose id differs only in case: the exact id shows the exact claim,
# and a lookup that matches both says so
cp "$E/fixtures/claims.db" "$TMP/twins.db"
sqlite3 "$TMP/twins.db" "INSERT INTO claims SELECT 'ce2611-000104', plan, region, product_model,
  registered_sn, battery_registered, product_value, currency, service_fee, 'TWINREF', preauth_amount,
  card_brand, paid_at, return_days, refresh_expires_on, replacements_left, status FROM claims
  WHERE claim_id = 'CE2611-000104'"
sed "s|^claims_db:.*|claims_db: $TMP/twins.db|" "$CFG" >"$E/config/twins.yaml"
cr claim --config "$E/config/twins.yaml" ce2611-000104
check claim_twin_exact grep -q "^claim ce2611-000104" "$OUT"
expect_err claim_twin_warned "1 other claim(s) have an id that differs from ce2611-000104 only in case"
cr claim --config "$E/config/twins.yaml" CE2611-000104
check claim_twin_exact_other grep -q "^claim CE2611-000104" "$OUT"
cr claim --config "$CFG" "  "
expect_rc claim_empty_id_64 64
cr claim --config "$CFG" CE2611-999999
expect_rc claim_unknown_65 65
expect_err claim_unknown_message "claim CE2611-999999: no such claim"

# ack by ID
id=$(q "$E" "select exc_id from exceptions where code='SN_NEAR_MATCH'")
cr ack --config "$CFG" "$id" --note "serial checked by hand: O vs 0" --by alice
expect_rc ack_id_exit_0 0
check ack_id_prints_count grep -q "acknowledged 1 exception" "$OUT"
expect_eq ack_id_state "$(q "$E" "select status||'|'||ack_by||'|'||ack_note from exceptions where exc_id='$id'")" \
    "acknowledged|alice|serial checked by hand: O vs 0"
cr ack --config "$CFG" "$(echo "$id" | tr A-F a-f)" --note again
check ack_again_says_before grep -q "acknowledged before" "$OUT"
# without --by: the person behind sudo, else the login name, else the
# account carerecon runs as, never "unknown" for a real account
oid=$(q "$E" "select exc_id from exceptions where code='MULTIPLE_RECEIPTS'")
SUDO_USER=bob cr ack --config "$CFG" "$oid" --note "by bob"
expect_eq ack_by_sudo_user "$(q "$E" "select ack_by from exceptions where exc_id='$oid'")" bob
q "$E" "update exceptions set status = 'open', ack_by = NULL where exc_id = '$oid'" >/dev/null
env -u SUDO_USER -u LOGNAME -u USER "$BIN" ack --config "$CFG" "$oid" --note "by account" >/dev/null 2>&1
expect_eq ack_by_account "$(q "$E" "select ack_by from exceptions where exc_id='$oid'")" "$(id -un)"
q "$E" "update exceptions set status = 'open', ack_by = NULL, ack_note = NULL, ack_at = NULL
    where exc_id = '$oid'" >/dev/null

# unknown ID: clear message, non-zero, nothing acknowledged
other=$(q "$E" "select exc_id from exceptions where code='MULTIPLE_RECEIPTS'")
cr ack --config "$CFG" "$other" EX-0000000000000000 --note x
expect_rc ack_unknown_65 65
expect_err ack_unknown_named "no exception with ID EX-0000000000000000"
expect_eq ack_unknown_all_or_nothing "$(q "$E" "select status from exceptions where exc_id='$other'")" open
# one ID named twice, once with blanks around it: acknowledged once, counted once
cr ack --config "$CFG" "$other" " $other " --note "named twice"
expect_rc ack_twice_named_0 0
check ack_twice_named_counted_once grep -qx "acknowledged 1 exception(s)" "$OUT"
check ack_twice_named_not_before bash -c "! grep -q 'acknowledged before' '$OUT'"
expect_eq ack_twice_named_done "$(q "$E" "select status from exceptions where exc_id='$other'")" acknowledged
q "$E" "update exceptions set status = 'open', ack_by = NULL, ack_note = NULL, ack_at = NULL
    where exc_id = '$other'" >/dev/null

# ack in bulk by code, and by code first seen before a date
cr ack --config "$CFG" --code SERIAL_REUSED --note "known reseller batch"
check ack_code_count grep -q "acknowledged 2 exception" "$OUT"
cr ack --config "$CFG" --code AUTH_EXPIRED --first-seen-before 2026-11-21 --note "old"
check ack_before_count grep -q "acknowledged 1 exception" "$OUT"
expect_eq ack_before_left_newer "$(q "$E" "select claim_id from exceptions where code='AUTH_EXPIRED' and status='open'")" "CE2611-000138"

# the next night: acknowledged ones stay acknowledged and leave the list,
# waiting ones resolve, others persist with their first-seen date
cr run --config "$CFG" --as-of 2026-11-24 --quiet
expect_eq acked_stays_acked "$(q "$E" "select status from exceptions where exc_id='$id'")" acknowledged
expect_eq open_after_acks "$(q "$E" "select count(*) from exceptions where status='open'")" 31
W=$E/reports/carerecon_20261124_run3.xlsx
xlsx workbook_exceptions_rows "$W" "rows:Exceptions=31"
xlsx workbook_exception_listed "$W" "findrow:Exceptions=UNCONFIRMED_ACTION,CE2611-000108"
xlsx workbook_acked_not_listed "$W" "absent:Exceptions=$id"
xlsx workbook_first_seen_kept "$W" "findrow:Exceptions=ACTION_CONFLICT,CE2611-000122"

# a resolved exception is not acknowledged (its condition is gone; once
# acknowledged it could never open again), and a code may be typed in
# lower case
rid=$(q "$E" "select exc_id from exceptions where status = 'resolved' limit 1")
check ack_has_resolved test -n "$rid"
cr ack --config "$CFG" "$rid" --note "looked at it"
expect_rc ack_resolved_exit_0 0
check ack_resolved_says grep -q "1 exception(s) are resolved (their condition is gone): not acknowledged" "$OUT"
check ack_resolved_counts_none grep -q "acknowledged 0 exception" "$OUT"
expect_eq ack_resolved_stays "$(q "$E" "select status from exceptions where exc_id='$rid'")" resolved
n_open=$(q "$E" "select count(*) from exceptions where status='open' and code='UNCONFIRMED_ACTION'")
cr ack --config "$CFG" --code unconfirmed_action --note "in bulk"
expect_rc ack_code_lower_case_exit_0 0
check ack_code_lower_case_count grep -q "acknowledged $n_open exception" "$OUT"

# A claim's history lists the events SPEC 4 gives it: a check-in that names
# another claim is that claim's, even with this claim's serial; a serial
# that only ends with this one's is another serial.  An event listed through
# its serial or tracking number that names another claim says so.
H=$TMP/history
newenv "$H"
rm -f "$H"/fixtures/inbox/receipts/* "$H"/fixtures/inbox/settlements/*
printf '%s\n' 'Service Center Check-in Export' 'Generated 2026-11-20 23:00' \
    'RMA No,Tracking No,Checked In,Serial No,Battery Returned (Y/N),Genuine (Y/N),Notes' \
    'CE2611-000101,T1,2026-11-19T10:00:00-05:00,3XSCK6R0B14V7C,Y,Y,wrong unit in the box' \
    'CE9999-000001,T2,2026-11-19T11:00:00-05:00,RMA-3XSCK6R0B14V7C,Y,Y,suffix only' \
    'CE9999-000002,T3,2026-11-19T12:00:00-05:00,3XSCK6R0B14V7C,Y,Y,unknown ref: by serial' \
    >"$H/fixtures/inbox/receipts/depot_20261120.csv"
cr run --config "$H/config/carerecon.yaml" --as-of 2026-11-20 --quiet
cr claim --config "$H/config/carerecon.yaml" CE2611-000123
expect_rc history_claim_ok 0
check history_other_claims_checkin_left_out bash -c "! grep -q 'tracking T1 ' '$OUT'"
check history_suffix_serial_left_out bash -c "! grep -q 'tracking T2 ' '$OUT'"
check history_serial_match_listed grep -q "tracking T3 serial 3XSCK6R0B14V7C .*(claim ref CE9999-000002)" "$OUT"
cr claim --config "$H/config/carerecon.yaml" CE2611-000101
check history_own_checkin_listed grep -q "tracking T1 serial 3XSCK6R0B14V7C battery returned genuine yes  (depot" "$OUT"

# A premium claim with no registered serial is not decided (a checked-in
# unit cannot be compared: before, it was captured SN_MISMATCH) and says
# so; once the claim database is fixed, the next night (incremental)
# decides it and the exception resolves.
V=$TMP/invalid
newenv "$V"
sqlite3 "$V/fixtures/claims.db" "update claims set registered_sn = NULL where claim_id = 'CE2611-000104'"
cr run --config "$V/config/carerecon.yaml" --as-of 2026-11-20 --quiet
expect_eq invalid_not_decided "$(grep -c '^CE2611-000104:' "$V/reports/actions/payment_actions_20261120_run1.csv")" 0
expect_eq invalid_said "$(q "$V" "select status || ' ' || detail from exceptions where code = 'CLAIM_DATA_INVALID' and claim_id = 'CE2611-000104'")" \
    "open registered_sn is empty: a returned unit's serial cannot be compared with it"
# `claim` says which values cannot be read instead of showing 0.00 or nothing
sqlite3 "$V/fixtures/claims.db" "update claims set paid_at = 'yesterday', product_value = 'abc' where claim_id = 'CE2611-000104'"
cr claim --config "$V/config/carerecon.yaml" CE2611-000104
check invalid_claim_paid_unreadable grep -q "^  paid               (unreadable), return period" "$OUT"
check invalid_claim_value_unreadable grep -q "^  product value      (unreadable) USD" "$OUT"
# ... the hold and the return period too (they read "none" and "0 days"),
# and each reason quotes the value that cannot be read
sqlite3 "$V/fixtures/claims.db" "update claims set preauth_amount = 'n/a', return_days = 'two weeks' where claim_id = 'CE2611-000104'"
cr claim --config "$V/config/carerecon.yaml" CE2611-000104
check invalid_claim_hold_unreadable grep -q "^  pre-authorization  (unreadable) USD" "$OUT"
check invalid_claim_days_unreadable grep -q "return period (unreadable)$" "$OUT"
check invalid_claim_value_quoted grep -q 'paid_at is not an ISO 8601 time with an offset: "yesterday"' "$OUT"
check invalid_claim_every_reason grep -q "INVALID DATA .*registered_sn is empty.*product_value.*paid_at" "$OUT"
sqlite3 "$V/fixtures/claims.db" "update claims set paid_at = '2026-11-08T15:02:19-05:00', product_value = 219900,
    preauth_amount = 219900, return_days = NULL where claim_id = 'CE2611-000104'"
sqlite3 "$V/fixtures/claims.db" "update claims set registered_sn = '1581F5BHD2340O1' where claim_id = 'CE2611-000104'"
cr run --config "$V/config/carerecon.yaml" --as-of 2026-11-21 --verbose
check invalid_next_night_incremental grep -q "incremental night" "$ERR"
expect_eq invalid_resolved "$(q "$V" "select status from exceptions where code = 'CLAIM_DATA_INVALID' and claim_id = 'CE2611-000104'")" resolved
expect_eq invalid_fixed_decided "$(grep -c '^CE2611-000104:capture' "$V/reports/actions/payment_actions_20261121_run2.csv")" 1
# a claims row without an id cannot be named by anything: said, not skipped in silence
sqlite3 "$V/fixtures/claims.db" "insert into claims(claim_id, plan, status) values(NULL, 'premium', 'active')"
cr run --config "$V/config/carerecon.yaml" --as-of 2026-11-22 --quiet
expect_err null_id_said "1 row without a claim_id: nothing can name it, so it is not decided; give it an id"
# ... and on the workbook's Summary, for finance (a review: only stderr,
# which a cron job run --quiet mails nobody); not on a night that did not
# read it
xlsx null_id_on_summary "$V/reports/carerecon_20261122_run3.xlsx" "findrow:Summary=Claim rows without a claim_id,1"
cr run --config "$V/config/carerecon.yaml" --as-of 2026-11-23 --quiet
xlsx null_id_once "$V/reports/carerecon_20261123_run4.xlsx" "absent:Summary=Claim rows without a claim_id"
# a night that meets a new id-less row and then reads every claim (one is
# gone) counts each row once (a read-through: the new one twice)
sqlite3 "$V/fixtures/claims.db" "insert into claims(claim_id, plan, status) values(NULL, 'basic', 'active');
    delete from claims where claim_id = 'CE2611-000101'"
cr run --config "$V/config/carerecon.yaml" --as-of 2026-11-24 --verbose
check null_id_full_fallback grep -q "this night looks at every claim" "$ERR"
xlsx null_id_counted_once "$V/reports/carerecon_20261124_run5.xlsx" "findrow:Summary=Claim rows without a claim_id,2"
