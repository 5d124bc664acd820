#!/usr/bin/env bash
# A claim pending again after its capture: night 1 captures C1 for
# NOT_RETURNED (nothing arrived by the deadline); a late carrier file then
# shows a timely delivery, and night 2 decides it pending (awaiting
# check-in).  The capture is final (no second action, no conflict until a
# check-in says otherwise), and there is no hold left to re-authorize: no
# AUTH_EXPIRES_BEFORE_DEADLINE ("re-authorize in time"), which would send
# finance to put a second hold on the customer's card.  The same claim
# without the capture (a fresh state) still raises it.
. "$(dirname "$0")/lib.sh"

mkenv() { # DIR [CLAIM ROWS]: the claim rows default to C1's
    local d=$1
    local rows=${2:-"('C1','premium','US','M','SN1',0,100000,'USD',5000,'R1',100000,'visa',
        '2026-11-01T00:00:00Z',NULL,'2027-01-01',1,'active')"}
    mkdir -p "$d/config" "$d/inbox/receipts" "$d/inbox/settlements"
    cat >"$d/config/carerecon.yaml" <<'YAML'
timezone: UTC
claims_db: ../claims.db
state_db: ../var/carerecon.db
report_dir: ../reports
actions_dir: ../reports/actions
inbox:
  receipts: ../inbox/receipts
  settlements: ../inbox/settlements
policy:
  return_days: 14
  transit_grace_days: 7
  ship_reminder_days: 3
  checkin_sla_days: 2
  late_return: capture
  settlement_confirm_days: 3
  premium_regions: [US]
  card_brands: [visa, mastercard, amex]
  auth_validity_days: {visa: 10, mastercard: 30, amex: 7}
feeds:
  - name: carrier
    kind: receipts
    files: "carrier_*.csv"
    datetime_format: "%Y-%m-%dT%H:%M:%S%z"
    event_column: "Code"
    event_values: {P: shipped, D: delivered}
    columns: {tracking_number: "Tracking", claim_ref: "Ref", event_at: "At"}
YAML
    sqlite3 "$d/claims.db" "CREATE TABLE claims (claim_id TEXT PRIMARY KEY, plan TEXT, region TEXT,
        product_model TEXT, registered_sn TEXT, battery_registered INTEGER, product_value INTEGER,
        currency TEXT, service_fee INTEGER, preauth_ref TEXT, preauth_amount INTEGER, card_brand TEXT,
        paid_at TEXT, return_days INTEGER, refresh_expires_on TEXT, replacements_left INTEGER,
        status TEXT);
      INSERT INTO claims VALUES $rows;"
}
late_file() { # DIR
    printf 'Tracking,Code,At,Ref\nT1,P,2026-11-10T00:00:00Z,C1\nT1,D,2026-11-14T00:00:00Z,C1\n' \
        >"$1/inbox/receipts/carrier_late.csv"
}
auth_exc() { q "$1" "select count(*) from exceptions where code = 'AUTH_EXPIRES_BEFORE_DEADLINE' and status = 'open'"; }

E=$TMP/again
mkenv "$E"
cr run --config "$E/config/carerecon.yaml" --as-of 2026-11-16 --quiet
expect_rc night1_exit 0
expect_eq night1_capture "$(q "$E" "select action || ' ' || reason from actions")" "capture NOT_RETURNED"
late_file "$E"
cr run --config "$E/config/carerecon.yaml" --as-of 2026-11-20 --quiet
expect_rc night2_exit 0
expect_eq night2_pending_again "$(q "$E" "select decision || ' ' || state from claim_state where claim_id = 'C1'")" \
    "pending awaiting_checkin"
expect_eq night2_capture_stays_final "$(q "$E" "select count(*) from actions")" 1
expect_eq night2_no_reauthorize "$(auth_exc "$E")" 0
expect_eq night2_awaiting_checkin_raised "$(q "$E" "select count(*) from exceptions where code = 'AWAITING_CHECKIN' and status = 'open'")" 1
# a backfill of a date before the capture was issued: the hold was still
# there then, so that date's workbook asks for it to be re-authorized
cr run --config "$E/config/carerecon.yaml" --as-of 2026-11-15 --quiet
expect_rc backfill_exit 0
xlsx backfill_before_capture_reauthorize "$E/reports/carerecon_20261115_run3.xlsx" \
    "findrow:Exceptions=AUTH_EXPIRES_BEFORE_DEADLINE,C1"
expect_eq backfill_capture_not_repeated "$(q "$E" "select count(*) from actions")" 1
xlsx night2_workbook_no_reauthorize "$E/reports/carerecon_20261120_run2.xlsx" \
    "find:Exceptions=AWAITING_CHECKIN" "absent:Exceptions=AUTH_EXPIRES_BEFORE_DEADLINE" "findrow:Pending=C1,awaiting_checkin"

# without the capture the same pending claim needs its hold re-authorized
F=$TMP/fresh
mkenv "$F"
late_file "$F"
cr run --config "$F/config/carerecon.yaml" --as-of 2026-11-20 --quiet
expect_eq fresh_pending "$(q "$F" "select decision from claim_state where claim_id = 'C1'")" pending
expect_eq fresh_reauthorize_raised "$(auth_exc "$F")" 1

# Two claims on one hold: C1 (sorts first) pending, its hold expiring before
# its deadline; C2 captured NOT_RETURNED on 2026-11-03.  The capture takes
# the hold of C1 too: no "re-authorize" for C1 that night, though C1 is
# decided before C2's capture is made, and the same on incremental and full
# nights (once, C1's stayed open on incremental nights until C1 came due).
shared="('C1','premium','US','M','SN1',0,100000,'USD',5000,'R1',100000,'visa','2026-11-01T12:00:00Z',30,'2027-01-01',1,'active'),
        ('C2','premium','US','M','SN2',0,100000,'USD',5000,'R1',100000,'visa','2026-11-01T12:00:00Z',1,'2027-01-01',1,'active')"
for kind in incr full; do
    mkenv "$TMP/shared_$kind" "$shared"
    flag=; [ $kind = full ] && flag=--full
    for night in 2026-11-01 2026-11-03 2026-11-04; do
        "$BIN" run --config "$TMP/shared_$kind/config/carerecon.yaml" --as-of $night --quiet $flag 2>/dev/null
        [ $night = 2026-11-01 ] && expect_eq shared_${kind}_reauthorize_before_capture "$(auth_exc "$TMP/shared_$kind")" 1
        [ $night = 2026-11-03 ] && expect_eq shared_${kind}_c2_captured \
            "$(q "$TMP/shared_$kind" "select claim_id || ' ' || action from actions")" "C2 capture"
        [ $night = 2026-11-03 ] && expect_eq shared_${kind}_no_reauthorize_that_night "$(auth_exc "$TMP/shared_$kind")" 0
    done
    expect_eq shared_${kind}_no_reauthorize_after "$(auth_exc "$TMP/shared_$kind")" 0
done
