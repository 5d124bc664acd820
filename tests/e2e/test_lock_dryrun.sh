#!/usr/bin/env bash
# One run at a time (75, nothing changed), and --dry-run changes nothing.
. "$(dirname "$0")/lib.sh"
E=$TMP/env
newenv "$E"
mkdir -p "$E/var"

# another process holds the lock: exit 75 at once, nothing created
( exec 9>>"$E/var/carerecon.db.lock"; flock -n 9 || exit 1; exec sleep 5 ) &
holder=$!
sleep 0.3
start=$(date +%s)
cr run --config "$CFG" --as-of 2026-11-20
expect_rc locked_exits_75 75
expect_err locked_message "another run holds the lock"
check locked_at_once test $(( $(date +%s) - start )) -le 2
check locked_no_state test ! -e "$E/var/carerecon.db"
check locked_no_actions test ! -e "$E/reports/actions"
cr ack --config "$CFG" --code SN_NEAR_MATCH --note x
expect_rc ack_locked_75 75
# the same state database named through a symbolic link (another folder's
# configuration): the same lock
mkdir -p "$TMP/linked"
ln -s "$E/var/carerecon.db" "$TMP/linked/state.db"
sed "s|^state_db:.*|state_db: $TMP/linked/state.db|" "$CFG" >"$E/config/linked.yaml"
cr run --config "$E/config/linked.yaml" --as-of 2026-11-20
expect_rc locked_through_link_75 75
check locked_through_link_no_state test ! -e "$E/var/carerecon.db"
ln -s state.db "$TMP/linked/two.db"     # a link to the link, relative
sed "s|^state_db:.*|state_db: $TMP/linked/two.db|" "$CFG" >"$E/config/linked2.yaml"
cr run --config "$E/config/linked2.yaml" --as-of 2026-11-20
expect_rc locked_through_two_links_75 75
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# two carerecon processes at once: exactly one run per night is recorded
# and no action is emitted twice
( "$BIN" run --config "$CFG" --as-of 2026-11-20 --quiet 2>/dev/null; echo "a $?" >"$TMP/rc_a" ) &
( "$BIN" run --config "$CFG" --as-of 2026-11-20 --quiet 2>/dev/null; echo "b $?" >"$TMP/rc_b" ) &
wait
codes=$(cat "$TMP/rc_a" "$TMP/rc_b" | awk '{print $2}' | sort | tr '\n' ' ')
case "$codes" in
"0 75 "|"65 75 ") ok two_processes_one_locked ;;
"0 0 "|"65 65 ") ok two_processes_serialized ;;
*) fail two_processes "exit codes $codes" ;;
esac
keys=$(cat "$E"/reports/actions/payment_actions_*.csv | grep -v '^idempotency_key' | cut -d, -f1 | sort)
check two_processes_no_duplicate_action test "$(echo "$keys" | uniq -d | wc -l)" -eq 0

# dry run: the state database's content is unchanged, no action file,
# the workbook is the dryrun one
before=$(sqlite3 "$E/var/carerecon.db" .dump | md5sum)
nfiles=$(ls "$E/reports/actions" | wc -l)
cr run --config "$CFG" --as-of 2026-11-21 --dry-run
check dry_run_finishes test "$RC" -eq 0 -o "$RC" -eq 65
after=$(sqlite3 "$E/var/carerecon.db" .dump | md5sum)
expect_eq dry_run_state_unchanged "$after" "$before"
expect_eq dry_run_no_action_files "$(ls "$E/reports/actions" | wc -l)" "$nfiles"
check dry_run_workbook test -s "$E/reports/carerecon_20261121_dryrun.xlsx"
expect_err dry_run_summary "DRY RUN"
xlsx dry_run_marked "$E/reports/carerecon_20261121_dryrun.xlsx" "contains:Summary=DRY RUN"
# and every list sheet prints it in its page header
xlsx dry_run_every_sheet "$E/reports/carerecon_20261121_dryrun.xlsx" \
    "pageheader:Captures=DRY RUN: nothing was recorded or sent" \
    "pageheader:Exceptions=DRY RUN: nothing was recorded or sent" \
    "pageheader:Rejected Rows=DRY RUN: nothing was recorded or sent"

# a dry run on a fresh place creates no state database
F=$TMP/fresh
newenv "$F"
cr run --config "$CFG" --as-of 2026-11-20 --dry-run
check dry_run_fresh_no_state test ! -e "$F/var/carerecon.db"
check dry_run_fresh_no_actions test ! -e "$F/reports/actions"
check dry_run_fresh_workbook test -s "$F/reports/carerecon_20261120_dryrun.xlsx"
check dry_run_fresh_no_var_folder test ! -e "$F/var"

# a dry backfill sees its own earlier days: day 2 does not repeat day 1's
# actions (the same counts as two live nights)
G=$TMP/drybf
newenv "$G"
cr run --config "$CFG" --from 2026-11-20 --to 2026-11-21 --dry-run
expect_err dry_backfill_day1 "DRY RUN (would be run 1) as of 2026-11-20 23:59:59"
expect_err dry_backfill_day2_new_only "3 captures, 4 releases, 1 shipment,"
check dry_backfill_no_state test ! -e "$G/var/carerecon.db"
check dry_backfill_two_workbooks test -s "$G/reports/carerecon_20261121_dryrun.xlsx"
# and its workbook lists only what day 2 would issue: day 1's workbook was
# written, so day 1's would-be actions are not listed again
xlsx dry_backfill_day2_lists_its_own "$G/reports/carerecon_20261121_dryrun.xlsx" \
    "rows:Captures=3" "rows:Releases=4" "rows:Fulfillment=1" \
    "absent:Captures=issued by run 1, whose workbook was not written"

# a dry run over everything (--full) on a state database, with settlement
# files new to it: the rows it reads in (kept only inside its transaction)
# are the ones it decides from, as a live night's would be (a second
# connection that loads rows on a thread would not see them: it is used
# only outside a transaction)
D=$TMP/dryfull
newenv "$D"
mv "$D/fixtures/inbox/settlements" "$D/settlements.later"
mkdir "$D/fixtures/inbox/settlements"
"$BIN" run --config "$D/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
rmdir "$D/fixtures/inbox/settlements"
mv "$D/settlements.later" "$D/fixtures/inbox/settlements"
cp -r "$D" "$D.live"
cr run --config "$D/config/carerecon.yaml" --as-of 2026-11-20 --full --dry-run
dry=$(grep -o 'rows [0-9]* accepted.*exceptions [0-9]* open' "$ERR")
cr run --config "$D.live/config/carerecon.yaml" --as-of 2026-11-20 --full
live=$(grep -o 'rows [0-9]* accepted.*exceptions [0-9]* open' "$ERR")
check dry_full_reads_new_settlements test -n "$dry" -a "$(q "$D.live" "select count(*) from settlements")" -gt 0
expect_eq dry_full_decides_as_live "$dry" "$live"

# the temporaries a killed dry run left (its workbook's file and
# libxlsxwriter's folder) are removed by the next dry run, which leaves a
# live run's to the next live run (a review: only live runs swept, and a
# report folder of dry runs alone kept them for ever)
K=$TMP/drytemp
newenv "$K"
"$BIN" run --config "$K/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
mkdir -p "$K/reports/carerecon_20261121_dryrun.xlsx.tmpd-AbC123"
: >"$K/reports/carerecon_20261121_dryrun.xlsx.tmp-XyZ789"
: >"$K/reports/carerecon_20261121_run9.xlsx.tmp-QwE456"
cr run --config "$K/config/carerecon.yaml" --as-of 2026-11-21 --dry-run
check dry_temp_file_swept test ! -e "$K/reports/carerecon_20261121_dryrun.xlsx.tmp-XyZ789"
check dry_temp_folder_swept test ! -e "$K/reports/carerecon_20261121_dryrun.xlsx.tmpd-AbC123"
check dry_leaves_live_temp test -e "$K/reports/carerecon_20261121_run9.xlsx.tmp-QwE456"
check dry_workbook_written test -s "$K/reports/carerecon_20261121_dryrun.xlsx"
cr run --config "$K/config/carerecon.yaml" --as-of 2026-11-21
check live_sweeps_live_temp test ! -e "$K/reports/carerecon_20261121_run9.xlsx.tmp-QwE456"

# a run killed before recording its decisions is said once by the next run
# and marked failed (a review: "did not finish; their recorded actions are
# completed now" counted runs that had recorded nothing, night after night)
U=$TMP/unfinished
newenv "$U"
cp -r "$U" "$U.probe"   # the fault points of the same run, counted on a copy
at=$(CARERECON_CRASH_TRACE=1 "$BIN" run --config "$U.probe/config/carerecon.yaml" --as-of 2026-11-20 2>&1 |
    sed -n 's/^carerecon: fault point \([0-9]*\): run recorded$/\1/p' | head -1)
check unfinished_fault_point_found test -n "$at"
( CARERECON_CRASH_AT=$at "$BIN" run --config "$U/config/carerecon.yaml" --as-of 2026-11-20 --quiet; exit $? ) 2>/dev/null
expect_eq unfinished_left_running "$(q "$U" "select status from runs where run_id = 1")" running
cr run --config "$U/config/carerecon.yaml" --as-of 2026-11-20
expect_err unfinished_said "1 earlier run stopped before recording its decisions (killed, or failed where it could not record why: a full disk); what it ingested is kept, and this run decides on it"
expect_eq unfinished_marked_failed "$(q "$U" "select status from runs where run_id = 1")" failed
cr run --config "$U/config/carerecon.yaml" --as-of 2026-11-21
check unfinished_said_once bash -c "! grep -q 'stopped before recording' '$ERR'"
