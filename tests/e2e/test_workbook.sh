#!/usr/bin/env bash
# The finance workbook, opened with a real XLSX reader (openpyxl): sheet
# names and order, headers, cell values and types, freeze panes,
# autofilters, number formats, and input text that stays text.
. "$(dirname "$0")/lib.sh"
E=$TMP/env
newenv "$E"
# a check-in whose serial and notes try to be formulas, and a rejected row
# whose raw text does
cat >"$E/fixtures/inbox/receipts/depot_20261120_evil.csv" <<'CSV'
Service Center Check-in Export
Generated 2026-11-20 23:00
Technician,RMA No,Serial No,Checked In,Tracking No,Genuine (Y/N),Battery Returned (Y/N),Notes
Eve,CE2611-000113,"=HYPERLINK(""http://x.invalid"",""click"")",2026-11-20T10:00:00-05:00,EVIL1,Y,Y,+1
Eve,@SUM(A1),-2,not a date,EVIL2,Y,Y,=1+1
CSV
# a pending claim in yen (exponent 0 in the shipped config)
sqlite3 "$E/fixtures/claims.db" "INSERT INTO claims VALUES ('CE2611-009001', 'premium', 'US',
  'Mini 4', 'JPYSN0001', 0, 150000, 'JPY', 5000, 'JPYREF1', 150000, 'visa',
  '2026-11-18T10:00:00-05:00', NULL, '2027-11-18', 1, 'active')"
# and one whose currency is not a three-letter code: bad claim data, not
# decided (a capture or release in "US$" is one the processor cannot take)
sqlite3 "$E/fixtures/claims.db" "INSERT INTO claims VALUES ('CE2611-009002', 'premium', 'US',
  'Mini 4', 'ODDSN0001', 0, 70000, 'US\$', 5000, 'ODDREF1', 70000, 'visa',
  '2026-11-18T10:00:00-05:00', NULL, '2027-11-18', 1, 'active')"
cr run --config "$CFG" --as-of 2026-11-20
W=$E/reports/carerecon_20261120_run1.xlsx
check workbook_written test -s "$W"
check workbook_mode_0640 test "$(stat -c %a "$W")" = 640
check no_temp_left bash -c "! ls '$E/reports' | grep -q tmp"
xlsx sheets_in_order "$W" "sheets=Summary,Captures,Releases,Pending,Exceptions,Fulfillment,Rejected Rows,Refunds"
xlsx headers_captures "$W" "headers:Captures=Claim ID,PSP Reference,Card Brand,Amount,Currency,Reason,Deadline,Arrived At,Received SN,Registered SN"
xlsx headers_releases "$W" "headers:Releases=Claim ID,PSP Reference,Amount,Currency,Arrived At"
xlsx headers_pending "$W" "headers:Pending=Claim ID,State,Deadline,Days Left,Shipped At,Reminder,Hold Expires"
xlsx headers_exceptions "$W" "headers:Exceptions=ID,Code,Severity,Claim ID,Reference,Detail,First Seen"
xlsx headers_fulfillment "$W" "headers:Fulfillment=Claim ID,Region,Product Model,Received SN,Received At"
xlsx headers_rejected "$W" "headers:Rejected Rows=File,Line,Reason,Raw"
xlsx headers_refunds "$W" "headers:Refunds=Claim ID,PSP Reference,Merchant Reference,Amount,Currency,Booked At,Source,Detail"
# (the fixtures' refund, ingested by this run, is booked the next day)
xlsx refund_not_before_booked "$W" "rows:Refunds=0"
for s in Summary Captures Releases Pending Exceptions Fulfillment "Rejected Rows" Refunds; do
    xlsx "frozen_header_${s// /_}" "$W" "freeze:$s=A2"
    xlsx "autofilter_${s// /_}" "$W" "autofilter:$s"
done
# 10 captures of the fixtures plus 113's formula-like serial
xlsx captures_rows "$W" "rows:Captures=11"
xlsx releases_rows "$W" "rows:Releases=5"
xlsx fulfillment_rows "$W" "rows:Fulfillment=1"
xlsx capture_row "$W" "findrow:Captures=CE2611-000104,SN_MISMATCH,8816179120083352"
# amounts carry a currency format with their ISO code (SPEC 6.3), in the
# currency's exponent; a sheet of mixed currencies shows each amount's
xlsx amount_is_number "$W" "type:Captures!D2=n" "numfmt:Captures!D2=[\$USD] #,##0.00"
xlsx amount_in_yen "$W" "fmtof:Pending=CE2611-009001|150000|[\$JPY] #,##0"
xlsx odd_currency_claim_invalid "$W" "findrow:Exceptions=CLAIM_DATA_INVALID,CE2611-009002" \
    "absent:Pending=CE2611-009002" "contains:Exceptions=currency is not a three-letter code"
xlsx summary_amount_in_cad "$W" "fmtof:Summary=CAD|1019|[\$CAD] #,##0.00"
xlsx deadline_is_date "$W" "type:Captures!G2=d"
# a list's cells sit at the top of their row (a wrapped Detail keeps its
# row's values on one line), text one step in, number headers right-aligned
xlsx cells_at_top "$W" "align:Captures!A2=top,left" "align:Captures!D2=top,None" \
    "align:Captures!G2=top,None" "align:Exceptions!F2=top,left"
xlsx number_header_right "$W" "align:Captures!D1=None,right" "align:Captures!A1=None,left"
xlsx capped_amount "$W" "findrow:Captures=CE2611-000110,1599"
xlsx formula_serial_is_text "$W" "find:Captures==HYPERLINK(\"http://x.invalid\",\"click\")" "noformula"
xlsx pending_days_left_number "$W" "type:Pending!D2=n" "type:Pending!C2=d"
xlsx pending_reminder "$W" "findrow:Pending=CE2611-000114,pending"
xlsx exceptions_first_seen_date "$W" "type:Exceptions!G2=d"
xlsx exception_listed "$W" "findrow:Exceptions=SN_NEAR_MATCH,CE2611-000104,medium"
xlsx rejected_rows "$W" "findrow:Rejected Rows=carrier_20261120.csv,28,UNKNOWN_VALUE"
xlsx rejected_whole_file "$W" "findrow:Rejected Rows=depot_20261121_broken.csv,MISSING_COLUMN"
xlsx rejected_raw_text "$W" "contains:Rejected Rows=Eve,@SUM(A1),-2,not a date" "noformula:Rejected Rows"
xlsx fulfillment_row "$W" "findrow:Fulfillment=CE2611-000134,US,Osmo Pocket 3,9GSCJ4M0B20E4D"
xlsx summary_live "$W" "contains:Summary=LIVE" "contains:Summary=America/New_York"
xlsx summary_chart "$W" "charts:Summary=1"
xlsx summary_decisions "$W" "findrow:Summary=capture,USD"
xlsx summary_files "$W" "findrow:Summary=manifest_20261121.csv"
# a Detail wider than its column wraps in a taller row; a short one does not
wrapped=$("$PY" - "$W" <<'PY'
import sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1])["Exceptions"]
col = [c.value for c in ws[1]].index("Detail") + 1
long = [c for c in ws.iter_cols(min_col=col, max_col=col, min_row=2) for c in c if c.value and len(c.value) > 70]
short = [c for c in ws.iter_cols(min_col=col, max_col=col, min_row=2) for c in c if c.value and len(c.value) < 40]
ok = long and short and all(c.alignment.wrap_text and (ws.row_dimensions[c.row].height or 0) > 15 for c in long) \
     and not any(c.alignment.wrap_text for c in short)
print("yes" if ok else "no: %d long, %d short" % (len(long), len(short)))
PY
)
expect_eq long_detail_wraps "$wrapped" yes

cr run --config "$CFG" --as-of 2026-11-21
W2=$E/reports/carerecon_20261121_run2.xlsx
xlsx night2_fulfillment_jpy "$W2" "findrow:Fulfillment=CE2611-000136,JP"
xlsx night2_conflict_listed "$W2" "findrow:Exceptions=ACTION_CONFLICT,CE2611-000122,high"
xlsx summary_says_what_decisions_count "$W2" \
    "contains:Summary=capture, release, ship_replacement: issued by this run; pending: every claim still waiting"
# the money each exception is about, as a number finance can sum: the
# action's amount, the settlement row's, the hold for a release row without
# one; empty where no money is at stake
xlsx exceptions_amount_column "$W2" "headers:Exceptions=ID,Code,Severity,Claim ID,Reference,Detail,First Seen,Source,Amount,Currency" \
    "findrow:Exceptions=ACTION_CONFLICT,CE2611-000122,2199,USD" "fmtof:Exceptions=ACTION_CONFLICT|2199|[\$USD] #,##0.00" \
    "findrow:Exceptions=CURRENCY_MISMATCH,CE2611-000105,499,CAD" "findrow:Exceptions=UNEXPECTED_RELEASE,CE2611-000113,519,USD"
expect_eq exceptions_amount_in_state "$(q "$E" "select amount || ' ' || currency from exceptions where code = 'ACTION_CONFLICT'")" "219900 USD"
expect_eq exceptions_no_amount_awaiting "$(q "$E" "select count(*) from exceptions where code = 'AWAITING_CHECKIN' and (amount is not null or currency is not null)")" 0
xlsx night2_no_new_rejects "$W2" "rows:Rejected Rows=1"
# SPEC 4: a refund row is "listed, no exception": the processor's refund
# of CE2611-000132's fee (69.00 USD), ingested by the night before and
# booked on this one's day; listed once
xlsx refund_listed "$W2" "rows:Refunds=1" "findrow:Refunds=CE2611-000132,8931180842266175,69"
xlsx refund_amount_is_number "$W2" "type:Refunds!D2=n" "type:Refunds!F2=d"

# --report FILE names the workbook of a single run
cr run --config "$CFG" --as-of 2026-11-22 --report "$TMP/mine.xlsx"
check report_flag_path test -s "$TMP/mine.xlsx"
xlsx refund_listed_once "$TMP/mine.xlsx" "rows:Refunds=0"

# the refund of a night whose workbook was never written (its name taken
# by a folder): listed by the next run, saying which run took it in, as
# its actions are (a review: it was never listed anywhere)
RF=$TMP/refund_carried
newenv "$RF"
cr run --config "$RF/config/carerecon.yaml" --as-of 2026-11-20 --quiet
mkdir -p "$RF/reports/carerecon_20261121_run2.xlsx"
RC=0
"$BIN" run --config "$RF/config/carerecon.yaml" --as-of 2026-11-21 --quiet >"$OUT" 2>"$ERR" || RC=$?
check refund_night_without_workbook test "$RC" -ne 0
expect_eq refund_taken_recorded "$(q "$RF" "select run_id from run_refunds")" 2
cr run --config "$RF/config/carerecon.yaml" --as-of 2026-11-22 --quiet
xlsx refund_carried_listed "$RF/reports/carerecon_20261122_run3.xlsx" "rows:Refunds=1" \
    "findrow:Refunds=CE2611-000132,8931180842266175,69" "contains:Refunds=taken in by run 2, whose workbook was not written"
cr run --config "$RF/config/carerecon.yaml" --as-of 2026-11-23 --quiet
xlsx refund_carried_once "$RF/reports/carerecon_20261123_run4.xlsx" "rows:Refunds=0"

# a night whose payment file cannot be written (its name taken by a
# folder) publishes no workbook: its workbook would name a file that never
# appeared.  The next run writes the actions into its own file and lists
# them, and its Summary says some are earlier runs' (a review)
PF=$TMP/payfile_blocked
newenv "$PF"
mkdir -p "$PF/reports/actions/payment_actions_20261120_run1.csv"
RC=0
"$BIN" run --config "$PF/config/carerecon.yaml" --as-of 2026-11-20 --quiet >"$OUT" 2>"$ERR" || RC=$?
check payfile_blocked_fails test "$RC" -ne 0
check payfile_blocked_no_workbook test ! -e "$PF/reports/carerecon_20261120_run1.xlsx"
ncap=$(q "$PF" "select count(*) from actions where run_id = 1 and action = 'capture'")
check payfile_blocked_captures_issued test "$ncap" -gt 0
# a dry run before it lists them too, saying no file holds them yet
cr run --config "$PF/config/carerecon.yaml" --as-of 2026-11-21 --quiet --dry-run
xlsx payfile_carried_dry_run "$PF/reports/carerecon_20261121_dryrun.xlsx" \
    "contains:Captures=issued by run 1, whose workbook was not written; in no action file yet (the next live run writes it)"
cr run --config "$PF/config/carerecon.yaml" --as-of 2026-11-21 --quiet
expect_eq payfile_written_by_next_run "$(grep -c ':capture,' "$PF/reports/actions/payment_actions_20261121_run2.csv")" \
    "$(q "$PF" "select count(*) from actions where action = 'capture'")"
xlsx payfile_carried_listed "$PF/reports/carerecon_20261121_run2.xlsx" \
    "contains:Captures=issued by run 1, whose workbook was not written; in payment_actions_20261121_run2.csv" \
    "contains:Summary=by earlier runs whose workbook was not written" \
    "cell:Summary!B$(/usr/bin/python3 - "$PF/reports/carerecon_20261121_run2.xlsx" <<'PY'
import sys, openpyxl
ws = openpyxl.load_workbook(sys.argv[1])["Summary"]
print(next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Payment file"))
PY
)=payment_actions_20261121_run2.csv"

# more rows than a sheet holds (Excel: 1,048,576; here made 5 through
# CARERECON_TEST_SHEET_ROWS): the sheet lists what fits and says how many
# are left out and where they are; the workbook is written and the night
# ends as it would.  Before, the workbook failed (74), and since the next
# run lists the rows of a run without a workbook, it failed every night.
S=$TMP/sheetcap
newenv "$S"
RC=0
CARERECON_TEST_SHEET_ROWS=5 "$BIN" run --config "$S/config/carerecon.yaml" --as-of 2026-11-20 >"$OUT" 2>"$ERR" || RC=$?
expect_rc sheet_cap_night_ends 65
expect_err sheet_cap_warns "sheet Captures lists 3 of its 10 rows"
xlsx sheet_cap_lists_what_fits "$S/reports/carerecon_20261120_run1.xlsx" "rows:Captures=4" \
    "cell:Captures!A5=7 more rows not shown (a sheet holds 5 rows): every capture is in the payment action files (this run's, and an earlier run's that had no workbook)" \
    "rows:Rejected Rows=4" "contains:Rejected Rows=more rows not shown"
expect_eq sheet_cap_file_has_all "$(grep -c ':capture,' "$S/reports/actions/payment_actions_20261120_run1.csv")" 10
D=$TMP/sheetcap_dry
newenv "$D"
RC=0
CARERECON_TEST_SHEET_ROWS=5 "$BIN" run --config "$D/config/carerecon.yaml" --as-of 2026-11-20 --dry-run >"$OUT" 2>"$ERR" || RC=$?
xlsx sheet_cap_dry_run_says_so "$D/reports/carerecon_20261120_dryrun.xlsx" "rows:Captures=4" \
    "contains:Captures=a dry run records nothing and writes no action file"
