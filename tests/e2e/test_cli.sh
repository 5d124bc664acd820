#!/usr/bin/env bash
# The command line: help, version, usage errors (64), configuration errors
# (78), missing inputs (66), outputs that cannot be created (73).
. "$(dirname "$0")/lib.sh"
E=$TMP/env
newenv "$E"

cr --help;                 expect_rc help_exits_0 0
check help_lists_commands grep -q 'check-config' "$OUT"
# every subcommand's --help gives the whole help: ack's options, exit 70
for sub in run claim ack check-config; do
    cr $sub --help
    check "help_${sub//-/_}_whole" grep -q -- '--first-seen-before DATE   with --code' "$OUT"
    check "help_${sub//-/_}_exit_70" grep -q '70 internal error' "$OUT"
done
cr --version;              expect_rc version_exits_0 0
check version_prints grep -q '^carerecon [0-9]' "$OUT"
cr;                        expect_rc no_command_64 64
cr frobnicate;             expect_rc unknown_command_64 64
expect_err unknown_command_named "unknown command 'frobnicate'"
cr run --config "$CFG" --bogus;               expect_rc bad_flag_64 64
expect_err bad_flag_usage_hint "usage: carerecon run"
cr run --config "$CFG" --as-of 2026-02-30;    expect_rc bad_date_64 64
cr run --config "$CFG" --as-of yesterday;     expect_rc bad_word_date_64 64
cr run --config "$CFG" --from 2026-11-20;     expect_rc from_without_to_64 64
cr run --config "$CFG" --from 2026-11-21 --to 2026-11-20; expect_rc from_after_to_64 64
cr run --config "$CFG" --quiet --verbose;     expect_rc quiet_verbose_64 64
cr ack --config "$CFG" EX-1;                  expect_rc ack_without_note_64 64
cr ack --config "$CFG" --code NOPE --note x;  expect_rc ack_unknown_code_64 64
cr claim --config "$CFG";                     expect_rc claim_without_id_64 64
# an option given twice is a slip, not "the last one counts" (a review)
cr run --config "$CFG" --as-of 2026-11-20 --as-of 2026-11-21 --dry-run; expect_rc as_of_twice_64 64
expect_err as_of_twice_said "run: --as-of is given twice"
cr run --config "$CFG" --from 2026-11-20 --from 2026-11-19 --to 2026-11-21; expect_rc from_twice_64 64
cr ack --config "$CFG" --code SN_NEAR_MATCH --code AWAITING_CHECKIN --note x; expect_rc ack_code_twice_64 64
cr claim --config "$CFG" --config "$CFG" CE2611-000104; expect_rc claim_config_twice_64 64
cr check-config --config "$CFG" --config "$CFG"; expect_rc check_config_config_twice_64 64

cr run --config "$CFG" --as-of 2030-01-01 --dry-run --quiet
expect_err future_as_of_warned "the as-of instant is in the future"
# an instant without seconds, local in the configured zone; the summary
# line gives the offset (two instants of a repeated hour read apart)
cr run --config "$CFG" --as-of 2026-11-20T18:00 --dry-run
check as_of_without_seconds_accepted test "$RC" -ne 64
expect_err as_of_without_seconds_read "as of 2026-11-20 18:00:00 -05:00 America/New_York"
cr run --config "$CFG" --as-of 2026-11-01T01:30:00-04:00 --dry-run
expect_err as_of_repeated_hour_first "as of 2026-11-01 01:30:00 -04:00"
cr run --config "$CFG" --as-of 2026-11-01T01:30:00-05:00 --dry-run
expect_err as_of_repeated_hour_second "as of 2026-11-01 01:30:00 -05:00"

# configuration
cr check-config --config "$CFG";              expect_rc check_config_ok 0
check check_config_prints_feeds grep -q 'processor: settlements' "$OUT"
check check_config_paths_resolved grep -q "$E/fixtures/claims.db" "$OUT"
cr check-config --config "$E/nope.yaml";      expect_rc missing_config_78 78
CARERECON_CONFIG=$CFG cr check-config;        expect_rc config_from_env 0

badcfg() { # NAME SED-EXPRESSION EXPECTED-TEXT
    sed "$2" "$CFG" >"$E/config/bad.yaml"
    cr check-config --config "$E/config/bad.yaml"
    expect_rc "config_$1_78" 78
    expect_err "config_$1_named" "$3"
}
badcfg unknown_key 's/^timezone:/timezoen:/' "timezoen: unknown key"
badcfg late_return 's/late_return: capture/late_return: sometimes/' "policy.late_return"
badcfg negative_days 's/transit_grace_days: 7/transit_grace_days: -1/' "policy.transit_grace_days"
badcfg wrong_type 's/return_days: 14 /return_days: [14] /' "policy.return_days"
badcfg bad_zone 's#^timezone: America/New_York#timezone: Mars/Olympus#' "unknown time zone"
badcfg feed_zone 's#timezone: America/Los_Angeles#timezone: Nowhere/Town#' "feeds[1].timezone"
badcfg feed_column 's/event_at: "Checked In"/checkd_in: "Checked In"/' "feeds[0].columns.checkd_in"
badcfg feed_needs_serial '/serial: "Serial No"/d' "must map serial"
badcfg line_number 's/late_return: capture/late_return: sometimes/' ":22:"
# the state in the claim database (another spelling of its path): it would
# be written into, and carerecon only reads it (SPEC 2.1)
# two spellings of one card network: which hold validity holds would be
# the order of the keys (a read-through)
badcfg brand_twice 's/auth_validity_days: {visa: 10, mastercard: 30, amex: 7}/auth_validity_days: {visa: 10, mastercard: 30, amex: 7, MC: 3}/' "names card brand mastercard twice"
badcfg state_is_claims_db "s#^state_db: .*#state_db: ../fixtures/./claims.db#" "state_db: names the same file as claims_db"
printf 'just a string\n' >"$E/config/scalar.yaml"
cr check-config --config "$E/config/scalar.yaml";  expect_rc config_scalar_78 78
printf -- '- a\n- b\n' >"$E/config/list.yaml"
cr check-config --config "$E/config/list.yaml";    expect_rc config_list_78 78
: >"$E/config/empty.yaml"
cr check-config --config "$E/config/empty.yaml";   expect_rc config_empty_78 78
printf 'timezone: UTC\nfeeds:\n\t- name: x\n' >"$E/config/tabs.yaml"
cr check-config --config "$E/config/tabs.yaml";    expect_rc config_tabs_78 78
expect_err config_tabs_line "tabs.yaml:3"

# missing claim database: 66
sed 's#claims_db: ../fixtures/claims.db#claims_db: ../fixtures/none.db#' "$CFG" >"$E/config/nodb.yaml"
cr run --config "$E/config/nodb.yaml" --as-of 2026-11-20;  expect_rc missing_claims_db_66 66
expect_err missing_claims_db_named "none.db"
echo "not a database at all, just text" >"$E/fixtures/text.db"
sed 's#claims_db: ../fixtures/claims.db#claims_db: ../fixtures/text.db#' "$CFG" >"$E/config/textdb.yaml"
cr run --config "$E/config/textdb.yaml" --as-of 2026-11-20;  expect_rc not_a_database_66 66
sqlite3 "$E/fixtures/cols.db" 'CREATE TABLE claims(claim_id TEXT PRIMARY KEY, plan TEXT)'
sed 's#claims_db: ../fixtures/claims.db#claims_db: ../fixtures/cols.db#' "$CFG" >"$E/config/cols.yaml"
cr run --config "$E/config/cols.yaml" --as-of 2026-11-20;  expect_rc claims_missing_columns_66 66
expect_err claims_missing_column_named "no column 'region'"
check claims_db_untouched test ! -e "$E/var/carerecon.db"

# a missing inbox: 66
sed 's#receipts: ../fixtures/inbox/receipts#receipts: ../fixtures/inbox/nothere#' "$CFG" >"$E/config/noinbox.yaml"
cr run --config "$E/config/noinbox.yaml" --as-of 2026-11-20; expect_rc missing_inbox_66 66
expect_err missing_inbox_named "inbox.receipts"
touch "$E/fixtures/inbox/afile"
sed 's#receipts: ../fixtures/inbox/receipts#receipts: ../fixtures/inbox/afile#' "$CFG" >"$E/config/fileinbox.yaml"
cr run --config "$E/config/fileinbox.yaml" --as-of 2026-11-20; expect_rc inbox_is_a_file_66 66
# a run refused for a missing inbox records nothing: the next run is run 1
# (its action files are named so), not run 3
check missing_inbox_no_state test ! -e "$E/var/carerecon.db"
cr run --config "$CFG" --as-of 2026-11-20 --quiet
check after_missing_inbox_run1 test -e "$E/reports/actions/payment_actions_20261120_run1.csv"
check after_missing_inbox_one_run test "$(sqlite3 "$E/var/carerecon.db" 'SELECT count(*) FROM runs')" = 1
rm -rf "$E/var" "$E/reports"

# a report folder that cannot be created: 73
touch "$E/blocker"
sed 's#report_dir: ../reports#report_dir: ../blocker/reports#' "$CFG" >"$E/config/noreport.yaml"
cr run --config "$E/config/noreport.yaml" --as-of 2026-11-20; expect_rc report_dir_blocked_73 73
# found before anything is decided: nothing issued, nothing recorded
check report_dir_blocked_nothing_issued bash -c "! ls \"$E\"/reports/actions/payment_actions_20261120_run*.csv 2>/dev/null"
expect_eq report_dir_blocked_no_action "$(q "$E" "select count(*) from actions" 2>/dev/null || echo 0)" 0
# report_dir or actions_dir there but not writable for the user: 73 before
# anything is decided (a review: the night issued its actions, then failed)
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null; then
    for which in reports reports/actions; do
        NW=$TMP/nowrite_${which//\//_}
        newenv "$NW"
        mkdir -p "$NW/reports/actions" "$NW/var"
        chmod 755 "$TMP"
        chown -R nobody "$NW"
        chown root "$NW/$which"
        chmod 555 "$NW/$which"
        RC=0
        runuser -u nobody -- "$BIN" run --config "$NW/config/carerecon.yaml" --as-of 2026-11-20 \
            >"$OUT" 2>"$ERR" || RC=$?
        expect_rc "nowrite_${which//\//_}_73" 73
        expect_err "nowrite_${which//\//_}_said" "cannot write in it"
        expect_eq "nowrite_${which//\//_}_nothing_recorded" \
            "$(q "$NW" "select count(*) from actions" 2>/dev/null || echo 0)" 0
    done
    CFG=$E/config/carerecon.yaml   # newenv pointed it at the last env
fi   # (needs root, to run as another user: CI runs as root)
# --report naming a folder (or ending in /): 73 at once, nothing issued (a
# review: the night issued its actions, then failed to take the name)
mkdir -p "$E/wbdir"
for r in "$E/wbdir" "$E/wbdir/"; do
    cr run --config "$CFG" --as-of 2026-11-20 --report "$r"; expect_rc report_is_folder_73 73
    expect_err report_is_folder_said "a folder, not a workbook's file name"
    check report_is_folder_nothing_issued bash -c "! ls \"$E\"/reports/actions/payment_actions_20261120_run*.csv 2>/dev/null"
done
# a state folder this user cannot write (a volume remounted read-only,
# another account's files): 74, as README says, not 73; an inbox it cannot
# list: 66 before the run is recorded
if [ "$(id -u)" -eq 0 ] && command -v runuser >/dev/null; then
    RO=$TMP/rostate
    newenv "$RO"
    "$BIN" run --config "$RO/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
    chmod 755 "$TMP"
    chown -R nobody "$RO"
    chown -R root "$RO/var"
    runs_before=$(q "$RO" "select count(*) from runs")
    RC=0
    runuser -u nobody -- "$BIN" run --config "$RO/config/carerecon.yaml" --as-of 2026-11-21 \
        >"$OUT" 2>"$ERR" || RC=$?
    expect_rc state_not_writable_74 74
    expect_err state_not_writable_said "is not writable"
    # the database writable, only the lock file another account's: said so
    chown nobody "$RO/var" "$RO/var/carerecon.db"
    RC=0
    runuser -u nobody -- "$BIN" run --config "$RO/config/carerecon.yaml" --as-of 2026-11-21 \
        >"$OUT" 2>"$ERR" || RC=$?
    expect_rc lock_file_foreign_74 74
    expect_err lock_file_foreign_said "cannot open the lock file"
    chown -R nobody "$RO/var"
    chmod 300 "$RO/fixtures/inbox/settlements"
    RC=0
    runuser -u nobody -- "$BIN" run --config "$RO/config/carerecon.yaml" --as-of 2026-11-21 \
        >"$OUT" 2>"$ERR" || RC=$?
    expect_rc inbox_not_listable_66 66
    expect_err inbox_not_listable_said "inbox.settlements"
    expect_eq inbox_not_listable_no_run "$(q "$RO" "select count(*) from runs")" "$runs_before"
    # a claim database this user cannot read: 66, said as the system says it
    chmod 755 "$RO/fixtures/inbox/settlements"
    chmod 600 "$RO/fixtures/claims.db"
    chown root "$RO/fixtures/claims.db"
    RC=0
    runuser -u nobody -- "$BIN" run --config "$RO/config/carerecon.yaml" --as-of 2026-11-21 \
        >"$OUT" 2>"$ERR" || RC=$?
    expect_rc claims_db_unreadable_66 66
    expect_err claims_db_unreadable_said "claims.db: cannot read it: Permission denied"
    CFG=$E/config/carerecon.yaml   # newenv pointed it at the new env
fi   # (needs root, to run as another user: CI runs as root)
# --report into a folder that is not there: 73 at once, nothing issued
cr run --config "$CFG" --as-of 2026-11-20 --report "$E/nothere/x.xlsx"; expect_rc report_file_no_folder_73 73
expect_err report_file_no_folder_says "there is no folder $E/nothere; nothing was done"
check report_file_no_folder_nothing_issued bash -c "! ls \"$E\"/reports/actions/payment_actions_20261120_run*.csv 2>/dev/null"
# --report naming a file that is not a workbook (the claim database, the
# configuration): 73 at once, the file untouched, nothing issued; an empty
# file (a name made with mktemp) and an earlier workbook are replaced
for target in "$E/fixtures/claims.db" "$CFG" "$E/fixtures/inbox/receipts/depot_20261120.csv"; do
    sum=$(sha256sum "$target")
    cr run --config "$CFG" --as-of 2026-11-20 --report "$target"; expect_rc report_not_workbook_73 73
    expect_err report_not_workbook_said "name another file; nothing was done"
    expect_eq report_not_workbook_untouched "$(sha256sum "$target")" "$sum"
    check report_not_workbook_nothing_issued bash -c "! ls \"$E\"/reports/actions/payment_actions_20261120_run*.csv 2>/dev/null"
done
: >"$E/empty.xlsx"
cr run --config "$CFG" --as-of 2026-11-20 --dry-run --report "$E/empty.xlsx"
check report_empty_file_replaced test "$(head -c 2 "$E/empty.xlsx")" = PK
cr run --config "$CFG" --as-of 2026-11-20 --report "$E/fixtures/inbox/receipts/depot_20261121.csv"
expect_err report_inbox_file_said "a file that is not a workbook is there"
cr run --config "$CFG" --as-of 2026-11-20 --dry-run --report "$E/empty.xlsx"; expect_rc report_workbook_replaced 65
check report_workbook_replaced_is_one test "$(head -c 2 "$E/empty.xlsx")" = PK
# the run lock and the state database's log are empty files too: replaced,
# a second run would take the lock beside this one (a read-through); an
# empty file not named .xlsx is not taken for a workbook's name either
L=$TMP/lockrep; newenv "$L"
"$BIN" run --config "$L/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
lock_ino=$(stat -c %i "$L/var/carerecon.db.lock")
for target in "$L/var/carerecon.db.lock" "$L/var/carerecon.db"; do
    cr run --config "$L/config/carerecon.yaml" --as-of 2026-11-21 --report "$target"
    expect_rc report_own_file_73 73
    expect_err report_own_file_said "that file is one carerecon itself uses"
done
expect_eq report_lock_untouched "$(stat -c %i "$L/var/carerecon.db.lock")" "$lock_ino"
: >"$L/empty.csv"
cr run --config "$L/config/carerecon.yaml" --as-of 2026-11-21 --report "$L/empty.csv"; expect_rc report_empty_not_xlsx_73 73
# refused before anything is made: on a fresh machine no state database
F=$TMP/freshrep; newenv "$F"
cr run --config "$F/config/carerecon.yaml" --as-of 2026-11-20 --report "$F/config/carerecon.yaml"
expect_rc report_refused_fresh_73 73
check report_refused_fresh_nothing_made test ! -e "$F/var"
CFG=$E/config/carerecon.yaml   # newenv pointed it at the new env

# a log reader that goes away early (`2>&1 | head -1`): the night goes on
# and ends as it would (65: the fixtures hold a file rejected whole), its
# actions recorded; before, SIGPIPE killed it mid-ingest (141, nothing done)
P=$TMP/pipe
newenv "$P"
"$BIN" run --config "$P/config/carerecon.yaml" --as-of 2026-11-20 --verbose 2>&1 | head -1 >/dev/null
expect_eq pipe_closed_night_ends "${PIPESTATUS[0]}" 65
check pipe_closed_actions_recorded test "$(q "$P" "select count(*) from actions")" -gt 0
expect_eq pipe_closed_run_done "$(q "$P" "select status from runs")" done

# the claim database's writer died mid-transaction and left a hot journal:
# carerecon (read-only) cannot roll it back; it says so and what to do (74),
# instead of "attempt to write a readonly database" and 66 ("missing")
H=$TMP/hot
newenv "$H"
"$PY" - "$H/fixtures/claims.db" <<'PYEOF'
import os, sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("pragma cache_size=1")
c.execute("begin")
c.execute("update claims set registered_sn = registered_sn || 'X'")
c.execute("create table big as with recursive r(x) as (select 1 union all select x+1 from r"
          " where x < 20000) select x, randomblob(100) b from r")
os._exit(0)
PYEOF
check hot_journal_left test -s "$H/fixtures/claims.db-journal"
cr run --config "$H/config/carerecon.yaml" --as-of 2026-11-20
expect_rc hot_journal_74 74
expect_err hot_journal_says_what "stopped in the middle of a transaction"
check hot_journal_nothing_issued test ! -e "$H/reports/actions/payment_actions_20261120_run1.csv"
