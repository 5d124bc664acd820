#!/usr/bin/env bash
# Ingestion end to end, on files written for the test: the same content
# under another name, a whole-file rejection (exit 65, the other files
# still ingested), a file matching no feed, input files never touched,
# and a semicolon-delimited layout with a preamble, CRLF and a BOM.
. "$(dirname "$0")/lib.sh"
E=$TMP/env
newenv "$E"
R=$E/fixtures/inbox/receipts
S=$E/fixtures/inbox/settlements
rm -f "$R"/* "$S"/*

cat >"$R/depot_a.csv" <<'CSV'
Service Center Check-in Export
Generated 2026-11-20 23:00
Technician,RMA No,Serial No,Checked In,Tracking No,Genuine (Y/N),Battery Returned (Y/N),Notes
A,CE2611-000101,1581F5BHD2340Q1,2026-11-19T10:00:00-05:00,T1,Y,Y,"note, with comma"
B,CE2611-000102,x,2026-11-19T10:00:00-05:00,T2,maybe,Y,
CSV
cp "$R/depot_a.csv" "$R/depot_copy.csv"
printf 'Service\nGen\nRMA No,Serial No\nCE2611-000101,X\n' >"$R/depot_broken.csv"
echo "hello" >"$R/readme.txt"
printf 'x' >"$R/.depot_partial.csv"
sums_before=$(cd "$R" && sha256sum * .depot_partial.csv; ls -la --time-style=+%s "$R")

cr run --config "$CFG" --as-of 2026-11-20
expect_rc whole_file_reject_exit_65 65
expect_err whole_file_named "depot_broken.csv: file rejected (MISSING_COLUMN): the header has no column"
expect_err duplicate_reported "depot_copy.csv: skipped: same content as depot_a.csv"
expect_err no_feed_reported "readme.txt: matches no receipts feed; left alone"
expect_err bad_row_message "depot_a.csv:5: BAD_BOOLEAN genuine"
expect_eq good_file_ingested "$(q "$E" "select count(*) from events")" 1
expect_eq broken_nothing_ingested "$(q "$E" "select count(*) from files where name='depot_broken.csv' and status='ingested'")" 0
expect_eq copy_not_ingested "$(q "$E" "select count(*) from files where name='depot_copy.csv'")" 0
expect_eq hidden_file_not_read "$(q "$E" "select count(*) from files where name like '.%'")" 0
expect_eq reject_stored "$(q "$E" "select file_name||':'||line||' '||reason||' '||field from rejects where reason<>'MISSING_COLUMN'")" "depot_a.csv:5 BAD_BOOLEAN genuine"
# a file rejected whole names its header's line (after the two preamble
# lines) and the field whose column is missing, in the state and on stderr
expect_eq whole_file_reject_line_field "$(q "$E" "select file_name||':'||line||' '||reason||' '||field from rejects where reason='MISSING_COLUMN'")" "depot_broken.csv:3 MISSING_COLUMN tracking_number"
expect_err whole_file_names_field_line '"Tracking No" (field tracking_number, header at line 3)'
expect_eq reject_raw_kept "$(q "$E" "select raw from rejects where line=5")" "B,CE2611-000102,x,2026-11-19T10:00:00-05:00,T2,maybe,Y,"
sums_after=$(cd "$R" && sha256sum * .depot_partial.csv; ls -la --time-style=+%s "$R")
expect_eq inputs_untouched "$sums_after" "$sums_before"

# the next run: the broken file is offered again (still 65), the rest is
# skipped
cr run --config "$CFG" --as-of 2026-11-21
expect_rc broken_again_65 65
expect_eq nothing_twice "$(q "$E" "select count(*) from events")" 1
rm "$R/depot_broken.csv"
cr run --config "$CFG" --as-of 2026-11-21
expect_rc clean_run_exit_0 0

# another layout: semicolons, BOM, CRLF, a preamble, a quoted field with a
# newline, decimal amounts in one column, a time zone per row
cat >"$E/config/semi.yaml" <<EOF2
timezone: UTC
claims_db: ../fixtures/claims.db
state_db: ../var/semi.db
report_dir: ../reports/semi
actions_dir: ../reports/semi/actions
inbox: {receipts: ../fixtures/inbox/receipts, settlements: ../fixtures/inbox/semi}
feeds:
  - name: psp
    kind: settlements
    files: "*.txt"
    delimiter: ";"
    skip_lines: 1
    datetime_format: "%d.%m.%Y %H:%M"
    timezone_column: Zone
    timezone_abbreviations: {CET: "+01:00"}
    type_column: Kind
    type_values: {CAP: capture, FEE: fee, AUTH: ignore}
    columns: {psp_reference: Ref, merchant_reference: Order, amount: Amount,
              currency: Cur, booked_at: When}
EOF2
mkdir -p "$E/fixtures/inbox/semi"
printf '\xef\xbb\xbfReport 42\r\nRef;Order;Kind;Amount;Cur;When;Zone;Comment\r\n' >"$E/fixtures/inbox/semi/a.txt"
printf 'P1;CE2611-000101;FEE;19.00;USD;21.11.2026 10:00;CET;"two\r\nlines"\r\n' >>"$E/fixtures/inbox/semi/a.txt"
printf 'P2;CE2611-000102;AUTH;1.00;USD;21.11.2026 10:00;CET;\r\n' >>"$E/fixtures/inbox/semi/a.txt"
printf 'P3;CE2611-000103;CAP;1.234;USD;21.11.2026 10:00;CET;\r\n' >>"$E/fixtures/inbox/semi/a.txt"
printf 'P4;CE2611-000104;WHAT;1.00;USD;21.11.2026 10:00;CET;\r\n' >>"$E/fixtures/inbox/semi/a.txt"
printf 'P5;CE2611-000105;FEE;5.00;USD;21.11.2026 10:00;XYZ;' >>"$E/fixtures/inbox/semi/a.txt"
cr run --config "$E/config/semi.yaml" --as-of 2026-11-22
expect_rc semi_runs 0
sq() { sqlite3 -batch -noheader "$E/var/semi.db" "$1"; }
expect_eq semi_row_read "$(sq "select psp_ref||' '||merchant_ref||' '||amount||' '||currency||' '||datetime(booked_at,'unixepoch') from settlements")" \
    "P1 CE2611-000101 1900 USD 2026-11-21 09:00:00"
expect_eq semi_rejects "$(sq "select group_concat(line||' '||reason, '; ') from (select * from rejects order by line)")" \
    "6 BAD_AMOUNT; 7 UNKNOWN_VALUE; 8 BAD_DATETIME"
expect_eq semi_ignored "$(sq "select ignored from files")" 1

# an unreadable inbox file: reported, left for the next run, and the night
# still decides (exit 65, like a file rejected whole)
U=$TMP/unreadable
newenv "$U"
echo x >"$U/fixtures/inbox/receipts/depot_zz.csv"
chmod 000 "$U/fixtures/inbox/receipts/depot_zz.csv"
as_other=()
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null; then
    chmod 755 "$TMP"
    chown -R nobody "$U"
    as_other=(runuser -u nobody --)
fi
RC=0
"${as_other[@]}" "$BIN" run --config "$U/config/carerecon.yaml" --as-of 2026-11-20 >"$OUT" 2>"$ERR" || RC=$?
expect_rc unreadable_file_exit_65 65
expect_err unreadable_file_named "cannot read $U/fixtures/inbox/receipts/depot_zz.csv"
expect_err unreadable_file_counted "skipped, 1 rejected, 1 not read;"
check unreadable_night_still_decided test -s "$U/reports/actions/payment_actions_20261120_run1.csv"

# a claim database in WAL mode in a folder carerecon cannot write, without
# its -shm and -wal files: SQLite cannot read it, and the message says why
# (it said only "attempt to write a readonly database")
if [ ${#as_other[@]} -gt 0 ]; then
    RW=$TMP/ro_wal
    newenv "$RW"
    mkdir "$RW/cdb"
    sqlite3 "$RW/cdb/claims.db" <"$ROOT/fixtures/claims.sql"
    sqlite3 "$RW/cdb/claims.db" "PRAGMA journal_mode=WAL" >/dev/null
    rm -f "$RW"/cdb/claims.db-wal "$RW"/cdb/claims.db-shm
    sed -i 's#claims_db: .*#claims_db: ../cdb/claims.db#' "$RW/config/carerecon.yaml"
    chown -R nobody "$RW"
    chown root "$RW/cdb" "$RW/cdb/claims.db"
    chmod 555 "$RW/cdb"
    RC=0
    "${as_other[@]}" "$BIN" run --config "$RW/config/carerecon.yaml" --as-of 2026-11-20 >"$OUT" 2>"$ERR" || RC=$?
    expect_rc ro_wal_claims_exit_66 66
    expect_err ro_wal_claims_explained "it is in WAL mode, and carerecon cannot create its"
fi   # (needs root, to run as another user: CI runs as root)

# A file seen before and unchanged on disk (inode, size, modification and
# change times) is not read again; one rewritten in place with the same
# size and its old modification time (its change time moves) is read again
# and its new content ingested.  Files changed in the last second or two
# are not remembered.
C=$TMP/seen
newenv "$C"
CR=$C/fixtures/inbox/receipts
touch -d '2026-11-20 12:00' "$CR"/* "$C"/fixtures/inbox/settlements/*
sleep 2 # touch moved the change times: let them settle
cr run --config "$CFG" --as-of 2026-11-20 --quiet
expect_eq seen_remembered "$(q "$C" "select count(*) from inbox_seen")" \
    "$(q "$C" "select count(*) from files where status='ingested'")"
cr run --config "$CFG" --as-of 2026-11-20 --verbose
expect_err seen_not_read_again "depot_20261120.csv: skipped: unchanged on disk since it was ingested; not read again"
# the same inbox named another way (a relative --config from its folder,
# a path through a symbolic link) is the same inbox: not read again
(cd "$C/config" && cr run --config ./carerecon.yaml --as-of 2026-11-20 --verbose)
expect_err seen_relative_config_not_read_again "depot_20261120.csv: skipped: unchanged on disk since it was ingested; not read again"
ln -s "$C" "$TMP/seen-link"
cr run --config "$TMP/seen-link/config/carerecon.yaml" --as-of 2026-11-20 --verbose
expect_err seen_linked_config_not_read_again "depot_20261120.csv: skipped: unchanged on disk since it was ingested; not read again"
expect_eq seen_one_look_per_file "$(q "$C" "select count(*) from inbox_seen")" \
    "$(q "$C" "select count(*) from files where status='ingested'")"
xlsx seen_still_reported_skipped "$(ls -t "$C"/reports/carerecon_*.xlsx | head -1)" \
    "findrow:Summary=depot_20261120.csv,skipped,ingested before; not read again"
events_before=$(q "$C" "select count(*) from events")
# rewritten in place (the same inode and size, a different serial), then
# given back its old modification time
new_content=$(sed 's/3QDSL5R0A2B7C9/3QDSL5R0A2B7C8/' "$CR/depot_20261120.csv")
printf '%s\n' "$new_content" >"$CR/depot_20261120.csv"
touch -d '2026-11-20 12:00' "$CR/depot_20261120.csv"
sleep 2 # the change time is then settled too
cr run --config "$CFG" --as-of 2026-11-20 --verbose
check seen_changed_read_again bash -c "! grep -q 'depot_20261120.csv: unchanged on disk' '$ERR'"
expect_eq seen_changed_ingested "$(q "$C" "select count(*) from events where serial like '%3QDSL5R0A2B7C8%'")" 1
check seen_changed_more_events test "$(q "$C" "select count(*) from events")" -gt "$events_before"
# a file just written is read every time until it settles
echo "fresh" >"$CR/depot_99999999.csv"
cr run --config "$CFG" --as-of 2026-11-20 --quiet
expect_eq seen_fresh_not_remembered "$(q "$C" "select count(*) from inbox_seen where path like '%depot_99999999.csv'")" 0

# a report sent again under its name with other content: read as a new
# file, and said so (stderr and the Files table of the workbook)
RS=$TMP/resent
newenv "$RS"
cr run --config "$RS/config/carerecon.yaml" --as-of 2026-11-20 --quiet
sed -i 's/battery not in box/battery found in box/' "$RS/fixtures/inbox/receipts/depot_20261121.csv"
touch -d '2 minutes ago' "$RS/fixtures/inbox/receipts/depot_20261121.csv"
cr run --config "$RS/config/carerecon.yaml" --as-of 2026-11-21
expect_err resent_said "depot_20261121.csv: sent again with other content (a file of this name was ingested by run 1)"
xlsx resent_in_files_table "$RS/reports/carerecon_20261121_run2.xlsx" \
    "contains:Summary=sent again with other content (a file of this name was ingested by run 1)"

# Text pasted from a web page or a spreadsheet: a no-break space after the
# serial and the claim reference, an ideographic space and en dashes in a
# serial.  They are blanks and hyphens: the units match their claims and
# are released (before, SN_MISMATCH captures and UNMATCHED_RECEIPT).  A
# note with an inch mark (a quote in an unquoted field) is read, not
# rejected as broken quoting (which captured the unit as NOT_RETURNED).
N=$TMP/nbsp
newenv "$N"
rm -f "$N"/fixtures/inbox/receipts/* "$N"/fixtures/inbox/settlements/*
printf '%s\n' 'Service Center Check-in Export' 'Generated 2026-11-20 23:00' \
    'RMA No,Tracking No,Checked In,Serial No,Battery Returned (Y/N),Genuine (Y/N),Notes' \
    $'CE2611-000101\u00a0,T1,2026-11-19T10:00:00-05:00,1581F5BHD23B7M2\u00a0,Y,Y,web portal' \
    $'\u3000CE2611-000123,T2,2026-11-19T10:00:00-05:00,3XSCK6R0B14\u2013V7C\u3000,Y,Y,spreadsheet' \
    'CE2611-000110,T3,2026-11-19T10:00:00-05:00,1581F4XFC22A7Q3,N,Y,6" gimbal arm scuffed' \
    >"$N/fixtures/inbox/receipts/depot_20261120.csv"
cr run --config "$N/config/carerecon.yaml" --as-of 2026-11-20 --quiet
expect_rc nbsp_night_ok 0
expect_eq nbsp_serial_released "$(grep -c '^CE2611-000\(101\|123\|110\):release,release,.*,RETURNED$' \
    "$N/reports/actions/payment_actions_20261120_run1.csv")" 3
expect_eq stray_quote_row_read "$(q "$N" "select count(*) from rejects")" 0
expect_eq nbsp_no_mismatch "$(q "$N" "select count(*) from exceptions where code in
    ('UNMATCHED_RECEIPT','SN_NEAR_MATCH') or claim_id in ('CE2611-000101','CE2611-000123')")" 0

# "was a file of this name ingested before?" is asked for every new file:
# it must find the name through an index, not read every file ever
# ingested (a night of 1,000 small files took 11.5 s with 300,000 before;
# 0.1 s with the index)
RS=$TMP/resent_plan
newenv "$RS"
"$BIN" run --config "$RS/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
plan=$(q "$RS" "EXPLAIN QUERY PLAN SELECT run_id FROM files WHERE name = 'x.csv' AND file_id <> 1 AND status = 'ingested' ORDER BY file_id DESC LIMIT 1")
check resent_lookup_uses_index bash -c "echo '$plan' | grep -q 'USING INDEX files_name'"

# One folder for both kinds (inbox.receipts and inbox.settlements name the
# same one): every file is read by its own kind's pass, and none is also
# said to match "no feed" of the other kind; a file of no feed is said once
SH=$TMP/shared_inbox
newenv "$SH"
mv "$SH"/fixtures/inbox/settlements/* "$SH/fixtures/inbox/receipts/"
printf 'hello\n' >"$SH/fixtures/inbox/receipts/notes.txt"
sed -i 's#settlements: ../fixtures/inbox/settlements#settlements: ../fixtures/inbox/receipts/.#' \
    "$SH/config/carerecon.yaml"
cr run --config "$SH/config/carerecon.yaml" --as-of 2026-11-20
check shared_inbox_ran test "$RC" -eq 0 -o "$RC" -eq 65
expect_eq shared_inbox_no_false_unmatched "$(grep -c 'matches no settlements feed' "$ERR")" 0
expect_eq shared_inbox_other_file_said_once "$(grep -c 'notes.txt: matches no' "$ERR")" 1
SP=$TMP/shared_inbox_apart   # the same files in their own folders
newenv "$SP"
"$BIN" run --config "$SP/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
files_q="select name || ' ' || feed || ' ' || status || ' ' || rows from files order by name"
check shared_inbox_some_files test "$(q "$SH" "$files_q" | wc -l)" -ge 7
expect_eq shared_inbox_same_files_read "$(q "$SH" "$files_q")" "$(q "$SP" "$files_q")"

# A file still being written when the night reads it: its cut-off last row
# may still read as a row (a serial cut short: SN_MISMATCH, a capture; a
# review).  A fresh file that ends in the middle of a line is waited for
# until it stops changing; one that keeps changing is left for the next
# run; one written at once without a last line end is read.
BW=$TMP/being_written
newenv "$BW"
rm "$BW"/fixtures/inbox/receipts/*_broken.csv
BR=$BW/fixtures/inbox/receipts
head_w='Check-in Export\nGenerated\nRMA No,Tracking No,Checked In,Battery Returned (Y/N),Genuine (Y/N),Serial No'
printf "$head_w\nCE2611-000112,1ZWAIT1,2026-11-20T10:00:00-05:00,Y,Y,1581F5BH" >"$BR/depot_w1.csv"
(sleep 0.5; printf 'D2340ZZ\n' >>"$BR/depot_w1.csv") &
printf "$head_w\nCE2611-000112,1ZWAIT3,2026-11-20T10:00:00-05:00,Y,Y,SNATONCE" >"$BR/depot_w3.csv"
# a file whose times are ahead of this clock (a file server's clock): not
# changing while watched, so read
printf "$head_w\nCE2611-000112,1ZWAIT4,2026-11-20T10:00:00-05:00,Y,Y,SNAHEAD" >"$BR/depot_w4.csv"
touch -d '+1 hour' "$BR/depot_w4.csv"
(printf "$head_w\nCE2611-000112,1ZWAIT2,2026-11-20T10:00:00-05:00,Y,Y,SN" >"$BR/depot_w2.csv"
    for i in $(seq 70); do printf 'X' >>"$BR/depot_w2.csv"; sleep 0.1; done) &
writer=$!
sleep 0.2
cr run --config "$BW/config/carerecon.yaml" --as-of 2026-11-20 --quiet
expect_rc being_written_night_0 0
expect_eq being_written_waited_for "$(q "$BW" "select serial from events where tracking = '1ZWAIT1'")" 1581F5BHD2340ZZ
expect_eq being_written_at_once_read "$(q "$BW" "select serial from events where tracking = '1ZWAIT3'")" SNATONCE
expect_eq being_written_clock_ahead_read "$(q "$BW" "select serial from events where tracking = '1ZWAIT4'")" SNAHEAD
# said even with --quiet: the night decides without its rows (a review)
expect_err being_written_left_said "warning: $BR/depot_w2.csv: still being written"
expect_eq being_written_left_for_later "$(q "$BW" "select count(*) from files where name = 'depot_w2.csv'")" 0
wait "$writer"
printf '\n' >>"$BR/depot_w2.csv"
cr run --config "$BW/config/carerecon.yaml" --as-of 2026-11-21 --quiet
expect_eq being_written_read_once_done "$(q "$BW" "select length(serial) from events where tracking = '1ZWAIT2'")" 72

# A file taken as written that changes between its look and its read: a
# writer going on (a review: a row cut off mid-serial was read, a capture
# SN_MISMATCH), a copy written over it in place, an upload that was empty
# when looked at (a read-through: capping the read at the old size cut
# the copy mid-row, and read the upload as empty).  Nothing of it is read
# tonight, it is said even with --quiet, and the next night reads it
# whole.  The reads are held back here (3 s after the inbox is looked at,
# within a second of the start) so that the changes land in between.
AP=$TMP/appended
newenv "$AP"
APR=$AP/fixtures/inbox/receipts
rm "$APR"/*_broken.csv
printf "$head_w\r\nCE2611-000112,1ZAPP1,2026-11-20T10:00:00-05:00,Y,Y,SNAPP1\r\n" >"$APR/depot_a1.csv"
printf "$head_w\r\nCE2611-000114,1ZCP1,2026-11-20T10:00:00-05:00,Y,Y,1581F6Q8D\r\n" >"$APR/depot_a2.csv"
printf "$head_w\r\nCE2611-000115,1ZCP2LONGER,2026-11-20T10:00:00-05:00,Y,Y,1581F6Q8DXYZ\r\n" >"$TMP/a2_fixed.csv"
: >"$APR/depot_a3.csv"
touch -d '-10 seconds' "$APR"/depot_a*.csv
(sleep 1.2; printf 'CE2611-000113,1ZAPP2,2026-11-20T10:00:00-05:00,Y,Y,1581F' >>"$APR/depot_a1.csv"
    cp "$TMP/a2_fixed.csv" "$APR/depot_a2.csv"
    printf "$head_w\r\nCE2611-000116,1ZUP1,2026-11-20T10:00:00-05:00,Y,Y,SNUP1\r\n" >"$APR/depot_a3.csv") &
appender=$!
CARERECON_TEST_READ_DELAY_MS=3000 cr run --config "$AP/config/carerecon.yaml" --as-of 2026-11-20 --quiet
wait "$appender"
expect_rc changed_night_0 0
expect_eq changed_nothing_read "$(q "$AP" "select count(*) from events where tracking in ('1ZAPP1', '1ZAPP2', '1ZCP1',
    '1ZCP2LONGER', '1ZUP1')") $(q "$AP" "select count(*) from rejects where file_name like 'depot_a_.csv'")" "0 0"
expect_err changed_said "warning: $APR/depot_a1.csv: changed while this run read the inbox"
expect_err changed_copy_said "warning: $APR/depot_a2.csv: changed while this run read the inbox"
expect_err changed_upload_said "warning: $APR/depot_a3.csv: changed while this run read the inbox"
printf '6Z9CKGH9XE\r\n' >>"$APR/depot_a1.csv"
touch -d '-10 seconds' "$APR"/depot_a*.csv
cr run --config "$AP/config/carerecon.yaml" --as-of 2026-11-21 --quiet
expect_eq changed_read_whole_next_night \
    "$(q "$AP" "select group_concat(serial, ' ') from (select serial from events where tracking in
        ('1ZAPP1', '1ZAPP2', '1ZCP1', '1ZCP2LONGER', '1ZUP1') order by serial)")" \
    "1581F6Q8DXYZ 1581F6Z9CKGH9XE SNAPP1 SNUP1"

# Inbox entries a file server leaves (a review): a feed's file that is a link
# into a share not mounted tonight, or a folder named like one, cannot be
# read, so the night says so and exits 65 (it was silent, exit 0, and the
# claims whose receipts it held were captured); a dated subfolder is named
# in the Files table; a depot export dropped into the settlements inbox is
# warned about even with --quiet, naming the inbox it belongs in
OD=$TMP/oddities
newenv "$OD"
ODR=$OD/fixtures/inbox/receipts
ln -s /nonexistent/share/depot_20261119.csv "$ODR/depot_20261119.csv"
mkdir "$ODR/2026-11-21" "$ODR/depot_folder.csv"
cp "$ODR/depot_20261120.csv" "$OD/fixtures/inbox/settlements/depot_20261120_moved.csv"
cr run --config "$OD/config/carerecon.yaml" --as-of 2026-11-20 --quiet
expect_rc oddities_exit_65 65
expect_err oddities_dangling_link_said "depot_20261119.csv: a symbolic link to nothing (its target is not there); left for the next run"
expect_err oddities_feed_folder_said "depot_folder.csv: a folder"
expect_err oddities_wrong_inbox_warned "depot_20261120_moved.csv: matches no settlements feed but the receipts feed depot"
xlsx oddities_in_files_table "$(ls "$OD"/reports/carerecon_20261120_run1.xlsx)" \
    "contains:Summary=depot_20261119.csv" "contains:Summary=2026-11-21" \
    "contains:Summary=Is it in the wrong inbox?"
# counted apart from the files rejected, which Rejected Rows lists (a
# review: "Files rejected 3" with one file on that sheet)
xlsx oddities_not_read_on_summary "$(ls "$OD"/reports/carerecon_20261120_run1.xlsx)" \
    "findrow:Summary=Files not read,2" "findrow:Summary=Files rejected,1" \
    "rows:Rejected Rows=$(q "$OD" "select count(*) from rejects")"

# a rejected row's raw text is kept whole up to 16,000 bytes; a longer one
# is cut at a character's start (the 16,000th byte is inside one here) and
# says so (a review: cut silently at 2,000, before the bad value)
RW=$TMP/rawlong
newenv "$RW"
python3 - "$RW/fixtures/inbox/receipts/depot_20261118_notes.csv" <<'PY'
import sys
head = "Service Center Check-in Export\r\nGenerated 2026-11-18 23:00\r\nRMA No,Tracking No,Checked In,Serial No,Battery Returned (Y/N),Genuine (Y/N),Technician,Notes\r\n"
rows = ["CE2611-000101,1Z999,2026-11-19T10:00:00-05:00,SN-A,maybe,Y,T1," + "x" * 5000,
        "CE2611-000102,1Z998,2026-11-19T10:00:00-05:00,SN-B,maybe,Y,T12," + "\u00e9" * 10000]
open(sys.argv[1], "w", encoding="utf-8").write(head + "\r\n".join(rows) + "\r\n")
PY
cr run --config "$RW/config/carerecon.yaml" --as-of 2026-11-20 --quiet
expect_eq raw_whole_under_limit "$(q "$RW" "select length(raw) from rejects where file_name = 'depot_20261118_notes.csv' and line = 4")" \
    5062
expect_eq raw_cut_says_so "$(q "$RW" "select raw like '%[... cut here: the row has 20063 bytes]'
    from rejects where file_name = 'depot_20261118_notes.csv' and line = 5")" 1
expect_eq raw_cut_at_a_character "$(q "$RW" "select substr(raw, 64, 3) = 'ééé' and
    length(cast(raw as blob)) = 15999 + length(' [... cut here: the row has 20063 bytes]') from rejects where file_name = 'depot_20261118_notes.csv' and line = 5")" 1
xlsx raw_cut_in_workbook "$(ls "$RW"/reports/carerecon_20261120_run1.xlsx)" \
    "contains:Rejected Rows=[... cut here: the row has 20063 bytes]"

# the settlements inbox inside the receipts inbox: read by its own pass,
# not named as a folder left alone (a review)
NI=$TMP/nested
newenv "$NI"
mv "$NI/fixtures/inbox/settlements" "$NI/fixtures/inbox/receipts/settlements"
sed -i 's|settlements: ../fixtures/inbox/settlements|settlements: ../fixtures/inbox/receipts/settlements|' \
    "$NI/config/carerecon.yaml"
cr run --config "$NI/config/carerecon.yaml" --as-of 2026-11-20 --verbose
check nested_inbox_not_a_folder bash -c "! grep -q 'settlements: a folder' '$ERR'"
expect_eq nested_inbox_read "$(q "$NI" "select count(*) from files where kind = 'settlements' and status = 'ingested'")" 2

# An export and its re-export saved beside it, arriving the same night: the
# re-export is read after the original whatever its suffix (a review: by the
# whole name, "depot_20261121 (1).csv" and "-fix" sorted before the
# original, whose "battery not returned" then won: a capture for a battery
# that was found)
for corr in "depot_20261121 (1).csv" "depot_20261121-fix.csv" "depot_20261121_v2.csv"; do
    RX=$TMP/reexport
    rm -rf "$RX"
    newenv "$RX"
    RXR=$RX/fixtures/inbox/receipts
    rm "$RXR"/depot_20261121_broken.csv
    sed 's/^\(R\. Diaz,CE2611-000141,[^,]*,[^,]*,[^,]*\),Y,N,battery not in box/\1,Y,Y,battery found/' \
        "$RXR/depot_20261121.csv" >"$RXR/$corr"
    check "reexport_made_${corr//[^a-z0-9]/_}" bash -c "! cmp -s '$RXR/depot_20261121.csv' '$RXR/$corr'"
    "$BIN" run --config "$RX/config/carerecon.yaml" --as-of 2026-11-21 --quiet 2>/dev/null
    expect_eq "reexport_wins_${corr//[^a-z0-9]/_}" "$(grep -h '^CE2611-000141:' "$RX"/reports/actions/payment_actions_*.csv | cut -d, -f2,7)" "release,RETURNED"
done
CFG=$E/config/carerecon.yaml

# two feeds of a kind matching one file: the first listed reads it, and
# the run says so (a review: a second feed meant to read a file's other
# date column read nothing, silently)
T=$TMP/twofeeds
newenv "$T"
cat >>"$T/config/carerecon.yaml" <<'YAML'
  - name: depot_shipped
    kind: receipts
    files: "depot_2026112?.csv"
    datetime_format: "%Y-%m-%dT%H:%M:%S%z"
    event: shipped
    columns: {claim_ref: "RMA No", event_at: "Checked In"}
YAML
cr run --config "$T/config/carerecon.yaml" --as-of 2026-11-20 --quiet
expect_err two_feeds_warned "depot_20261120.csv: matches feed depot_shipped too, which does not read it: feed depot, listed first, does"
check two_feeds_first_reads test "$(sqlite3 "$T/var/carerecon.db" "select count(*) from files where feed='depot_shipped'")" -eq 0

# a placeholder tracking number ("N/A", "0", "WALKIN": no digit but 0)
# matches nothing: a walk-in check-in written with it goes to the claim of
# its serial, not to the claim of another check-in written with it (a
# review: CE2611-000113 was captured SN_MISMATCH with CE2611-000114's unit,
# and CE2611-000114 left to be captured NOT_RETURNED)
W=$TMP/placeholder
newenv "$W"
{ printf 'Service Center Check-in Export\nGenerated 2026-11-20 23:00\n'
  printf 'RMA No,Tracking No,Checked In,Serial No,Battery Returned (Y/N),Genuine (Y/N),Technician,Notes\n'
  printf 'CE2611-000113,N/A,2026-11-20T09:00:00-05:00,9GSCJ4M0B23K1T,Y,Y,J. Ortiz,\n'
  printf ',N/A,2026-11-20T10:00:00-05:00,1581F6Z9C24A2D6,Y,Y,J. Ortiz,walk-in\n'
  printf ',000000,2026-11-20T11:00:00-05:00,NOSUCHSERIAL1,Y,Y,J. Ortiz,walk-in\n'
  printf ',0,2026-11-20T11:30:00-05:00,NOSUCHSERIAL2,Y,Y,J. Ortiz,walk-in\n'
} >"$W/fixtures/inbox/receipts/depot_20261120_walkin.csv"
cr run --config "$W/config/carerecon.yaml" --as-of 2026-11-20
expect_eq placeholder_tracking_stored_as_none "$(q "$W" "select count(*) from events where tracking is null and file_id = (select file_id from files where name = 'depot_20261120_walkin.csv')")" 4
expect_eq placeholder_own_claim_released "$(grep -h '^CE2611-000113:' "$W"/reports/actions/payment_actions_*.csv | cut -d, -f2,7)" "release,RETURNED"
expect_eq placeholder_walkin_by_serial "$(grep -h '^CE2611-000114:' "$W"/reports/actions/payment_actions_*.csv | cut -d, -f2,7)" "release,RETURNED"
expect_eq placeholder_no_multiple_receipts "$(q "$W" "select count(*) from exceptions where code = 'MULTIPLE_RECEIPTS' and claim_id in ('CE2611-000113', 'CE2611-000114')")" 0
# the two unknown serials are two receipts, not one package
expect_eq placeholder_unmatched_each "$(q "$W" "select count(*) from exceptions where code = 'UNMATCHED_RECEIPT' and detail like '%NOSUCHSERIAL%'")" 2

# a long tracking number saved by a spreadsheet in scientific notation
# ("9.40011E+21") has lost its digits, and two packages print the same: it
# matches nothing (a review: CE2611-000114's unit, checked in with no RMA,
# went to CE2611-000113, whose carrier scan printed the same, and was
# captured SN_MISMATCH there while CE2611-000114 waited to be captured
# NOT_RETURNED)
W=$TMP/exponent
newenv "$W"
{ printf 'Tracking Number,Activity Code,Activity Date,Activity Time,Reference Number 1\r\n'
  printf '9.40011E+21,P,20261110,120000,CE2611-000113\r\n'
} >"$W/fixtures/inbox/receipts/carrier_20261110_excel.csv"
{ printf 'Service Center Check-in Export\nGenerated 2026-11-20 23:00\n'
  printf 'RMA No,Tracking No,Checked In,Serial No,Battery Returned (Y/N),Genuine (Y/N),Technician,Notes\n'
  printf ',9.40011E+21,2026-11-20T10:00:00-05:00,1581F6Z9C24A2D6,Y,Y,J. Ortiz,walk-in\n'
} >"$W/fixtures/inbox/receipts/depot_20261120_excel.csv"
cr run --config "$W/config/carerecon.yaml" --as-of 2026-11-20
expect_eq exponent_tracking_stored_as_none "$(q "$W" "select count(*) from events where tracking is null and file_id in (select file_id from files where name like '%excel%')")" 2
expect_eq exponent_walkin_by_serial "$(grep -h '^CE2611-000114:' "$W"/reports/actions/payment_actions_*.csv | cut -d, -f2,7)" "release,RETURNED"
expect_eq exponent_not_another_claims_unit "$(grep -h '^CE2611-000113:' "$W"/reports/actions/payment_actions_*.csv | grep -c SN_MISMATCH)" 0
