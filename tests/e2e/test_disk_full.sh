#!/usr/bin/env bash
# A full disk under the action files, the workbook or the state database:
# the run says which file and why, leaves no partial file, and the run
# after space is freed issues every action exactly once, the same actions
# as a night on a disk with room.  The full disk is a small tmpfs filled
# up; where one cannot be mounted (not root, or no permission to mount in
# this container) these checks are not run, and the note says so.
. "$(dirname "$0")/lib.sh"
M=$TMP/small
mkdir -p "$M"
if ! mount -t tmpfs -o size=2m tmpfs "$M" 2>/dev/null; then
    echo "note: test_disk_full.sh not run: cannot mount a tmpfs here (needs root)"
    exit 0
fi
trap 'umount "$M" 2>/dev/null; rm -rf "$TMP"' EXIT

# night_on_full_disk NAME KEY DIR ROOM - a fresh env $TMP/NAME (E, CFG) whose
# config KEY (a folder, or state_db) is moved to the small disk's folder DIR,
# and its night as of 2026-11-20 run with ROOM KB left on that disk; the
# disk is freed again afterwards
night_on_full_disk() {
    E=$TMP/$1
    newenv "$E"
    rm -rf "${M:?}/$3"
    mkdir -p "$M/$3"
    local to=$M/$3
    [ "$2" = state_db ] && to=$to/carerecon.db
    sed -i "s#^$2: .*#$2: $to#" "$CFG"
    dd if=/dev/zero of="$M/fill" bs=4k 2>/dev/null || true
    truncate -s -"$4"K "$M/fill"
    cr run --config "$CFG" --as-of 2026-11-20
    rm -f "$M/fill"
}
# the sorted data rows of every action file of KIND (payment_actions,
# fulfillment) in DIR: what the processor and the warehouse were sent
rows_of() { awk 'FNR > 1' "$1"/"$2"_*.csv 2>/dev/null | sort; }

# the reference: the same nights on a disk with room
R=$TMP/ref
newenv "$R"
cr run --config "$CFG" --as-of 2026-11-20
WANT_RC=$RC
REF_PAY=$(rows_of "$R/reports/actions" payment_actions)
REF_FUL=$(rows_of "$R/reports/actions" fulfillment)
check reference_issued_actions test -n "$REF_PAY"

# 1. the action files' folder is full
night_on_full_disk actions_full actions_dir actions 0
expect_rc actions_full_exit_74 74
expect_err actions_full_names_file "cannot write $M/actions/payment_actions_20261120_run1.csv: No space left on device"
check actions_full_no_partial_file test -z "$(ls -A "$M/actions")"
expect_eq actions_full_recorded_unwritten "$(q "$E" "select count(*) from unwritten")" \
    "$(q "$E" "select count(*) from actions")"
cr run --config "$CFG" --as-of 2026-11-20
expect_rc actions_freed_exit_as_reference "$WANT_RC"
expect_err actions_freed_says_so "recorded by run 1 were never written to a file"
expect_eq actions_freed_payment_once "$(rows_of "$M/actions" payment_actions)" \
    "$REF_PAY"
expect_eq actions_freed_fulfillment_once "$(rows_of "$M/actions" fulfillment)" \
    "$REF_FUL"
expect_eq actions_freed_nothing_unwritten "$(q "$E" "select count(*) from unwritten")" 0

# 2. the workbook's folder is full: the action files still go out, and the
# next run's workbook lists them
night_on_full_disk report_full report_dir rep 0
expect_rc report_full_exit_74 74
expect_err report_full_names_file "workbook $M/rep/carerecon_20261120_run1.xlsx"
expect_err report_full_says_why "No space left on device"
check report_full_no_partial_file test -z "$(ls -A "$M/rep")"
expect_eq report_full_actions_still_issued "$(rows_of "$E/reports/actions" payment_actions)" \
    "$REF_PAY"
cr run --config "$CFG" --as-of 2026-11-20
expect_rc report_freed_exit_as_reference "$WANT_RC"
expect_eq report_freed_no_action_again "$(rows_of "$E/reports/actions" payment_actions)" \
    "$REF_PAY"
W=$M/rep/carerecon_20261120_run2.xlsx
check report_freed_workbook_written test -s "$W"
xlsx report_freed_lists_run1_actions "$W" \
    "contains:Releases=whose workbook was not written; in payment_actions_20261120_run1.csv"

# 3. the state database's disk is full: nothing is issued, and the run after
# space is freed issues what the reference did
night_on_full_disk state_full state_db var 0
expect_rc state_full_exit_74 74
expect_err state_full_says_why "database or disk is full"
expect_err state_full_says_what_to_do "free space on the disk of $M/var and run again"
expect_eq state_full_nothing_issued "$(rows_of "$E/reports/actions" payment_actions)" ""
cr run --config "$CFG" --as-of 2026-11-20
expect_rc state_freed_exit_as_reference "$WANT_RC"
expect_eq state_freed_payment_once "$(rows_of "$E/reports/actions" payment_actions)" \
    "$REF_PAY"
expect_eq state_freed_fulfillment_once "$(rows_of "$E/reports/actions" fulfillment)" \
    "$REF_FUL"
# the next night finds the disk of its existing state database full (SQLite
# says "disk I/O error" then, not "full": a review)
cr run --config "$R/config/carerecon.yaml" --as-of 2026-11-21
dd if=/dev/zero of="$M/fill" bs=4k 2>/dev/null || true
cr run --config "$CFG" --as-of 2026-11-21
rm -f "$M/fill"
expect_rc state_existing_full_exit_74 74
expect_err state_existing_full_says_what_to_do "free space on the disk of $M/var and run again"
cr run --config "$CFG" --as-of 2026-11-21
expect_eq state_existing_freed_payment_once "$(rows_of "$E/reports/actions" payment_actions)" \
    "$(rows_of "$R/reports/actions" payment_actions)"

# fill_sweep NAME: the state database's disk fills as the night runs, with
# 64 KB more room each time until the night fits; every run that fails
# says what to do, and the run after space is freed completes it: each
# action once, the reference's actions.  Sets FAILED, and SPOOLS: the
# failures a night in parts met writing its temporary files.
fill_sweep() {
    FAILED=0 SPOOLS=0
    local room
    for room in $(seq 64 64 2048); do
        night_on_full_disk "$1_$room" state_db var "$room"
        if [ "$RC" -ne 74 ]; then
            expect_rc "$1_fits_in_${room}k" "$WANT_RC"
            break
        fi
        FAILED=$((FAILED + 1))
        grep -q "temporary file beside the state database" "$ERR" && SPOOLS=$((SPOOLS + 1))
        expect_err "$1_${room}k_says_what_to_do" "free space on the disk of $M/var and run again"
        cr run --config "$CFG" --as-of 2026-11-20
        expect_rc "$1_${room}k_freed_exit_as_reference" "$WANT_RC"
        expect_eq "$1_${room}k_freed_payment_once" "$(rows_of "$E/reports/actions" payment_actions)" \
            "$REF_PAY"
        expect_eq "$1_${room}k_freed_fulfillment_once" "$(rows_of "$E/reports/actions" fulfillment)" \
            "$REF_FUL"
        rm -rf "$E"
    done
}

# 4. room for the state database's schema but not for the night: the disk
# fills as the run starts, while the inbox is ingested, as the decisions
# commit or after
fill_sweep state_fills
check state_fills_at_several_points test "$FAILED" -ge 3

# 5. a night in parts (three claims a part) keeps its claims, events and
# rows in temporary files beside the state database: the disk fills while
# they are written too
export CARERECON_PART_CLAIMS=3
fill_sweep parts_fills
unset CARERECON_PART_CLAIMS
check parts_fills_at_several_points test "$FAILED" -ge 3
check parts_fills_while_spooling test "$SPOOLS" -ge 1
