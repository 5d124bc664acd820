#!/usr/bin/env bash
# A state database that lost its history while the action files of its runs
# stay in actions_dir: cut to zero bytes, restored from an older copy, or a
# state_db pointing somewhere new.  Without a check, the next night became
# "run 1" (or "run 2" again), issued every action of the lost runs again
# (same idempotency keys, in a file of another name) and, for a claim decided
# otherwise since (CE2611-000122: captured, then a timely return found), the
# opposite action on the same hold.  A live run now refuses (73) before
# deciding anything and names the files; a dry run is not stopped.
. "$(dirname "$0")/lib.sh"
E=$TMP/env
newenv "$E"
A=$E/reports/actions
cr run --config "$CFG" --as-of 2026-11-20 --quiet
cp "$E/var/carerecon.db" "$TMP/after_night1.db"
cr run --config "$CFG" --as-of 2026-11-21 --quiet
files_before=$(ls "$A" | sort)
keys_before=$(cat "$A"/payment_actions_*.csv | grep -v '^idempotency_key' | cut -d, -f1 | sort)

# A: cut to zero bytes
cp "$E/var/carerecon.db" "$TMP/latest.db"
: >"$E/var/carerecon.db"
rm -f "$E"/var/carerecon.db-wal "$E"/var/carerecon.db-shm
cr run --config "$CFG" --as-of 2026-11-24 --quiet
expect_rc zero_byte_state_refused 73
expect_err zero_byte_names_files "holds 4 action file(s) of runs the state database"
expect_eq zero_byte_no_new_file "$(ls "$A" | sort)" "$files_before"
cr run --config "$CFG" --as-of 2026-11-24 --dry-run --quiet
check zero_byte_dry_run_not_stopped test "$RC" -eq 0 -o "$RC" -eq 65

# B: restored from the copy taken after night 1
cp "$TMP/after_night1.db" "$E/var/carerecon.db"
rm -f "$E"/var/carerecon.db-wal "$E"/var/carerecon.db-shm
cr run --config "$CFG" --as-of 2026-11-24 --quiet
expect_rc older_copy_refused 73
expect_err older_copy_names_run2 "(fulfillment_20261121_run2.csv, ...)"
expect_eq older_copy_no_new_file "$(ls "$A" | sort)" "$files_before"
# a refused run is not recorded: the next attempt (the next cron night) is
# refused too, and the one after (once, a refused run took the unknown
# run's number, and the attempt after it issued that run's actions again)
for k in 2 3; do
    cr run --config "$CFG" --as-of 2026-11-2$((3 + k)) --quiet
    expect_rc older_copy_refused_again_$k 73
done
expect_eq older_copy_still_no_new_file "$(ls "$A" | sort)" "$files_before"
expect_eq older_copy_refusals_not_recorded "$(q "$E" "select count(*) from runs")" 1

# C: another state_db (a relative path resolving elsewhere, a typo)
sed "s|^state_db:.*|state_db: $TMP/elsewhere/state.db|" "$CFG" >"$E/config/other.yaml"
cr run --config "$E/config/other.yaml" --as-of 2026-11-24 --quiet
expect_rc new_state_refused 73
expect_eq new_state_no_new_file "$(ls "$A" | sort)" "$files_before"

# the latest state back: the night runs, and no key is issued twice
cp "$TMP/latest.db" "$E/var/carerecon.db"
rm -f "$E"/var/carerecon.db-wal "$E"/var/carerecon.db-shm
cr run --config "$CFG" --as-of 2026-11-24 --quiet
check latest_state_runs test "$RC" -eq 0 -o "$RC" -eq 65
expect_eq latest_state_no_key_twice \
    "$(cat "$A"/payment_actions_*.csv | grep -v '^idempotency_key' | cut -d, -f1 | sort | uniq -d)" ""
expect_eq latest_state_earlier_keys_kept "$(cat "$A"/payment_actions_2026112[01]_*.csv | grep -v '^idempotency_key' | cut -d, -f1 | sort)" "$keys_before"
