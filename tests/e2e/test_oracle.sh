#!/usr/bin/env bash
# An independent reference implementation of SPEC section 4
# (tests/oracle/oracle.py, written from SPEC alone, without reading
# carerecon's rules) against the real binary: random businesses of 6-20
# claims over 2-5 nights in nine time zones (nights on DST change days,
# as-of instants exactly on deadlines, grace ends, hold expiries and
# reminders), run night by night, --full, as a --from/--to range, or with
# a backfill; after each night the action files, the claims' decisions
# and states and every exception (code, subject, status) must be what the
# oracle computed.  tests/oracle/scenarios.py A B runs more seeds by hand.
. "$(dirname "$0")/lib.sh"
first=1500 last=1700
[ -n "${CARERECON_SANITIZED:-}" ] && last=1530
res=$TMP/oracle.out
ORACLE_WORK=$TMP/oracle CARERECON_BIN=$BIN "$PY" "$ROOT/tests/oracle/scenarios.py" "$first" "$last" --suite \
    >"$res" 2>&1
grep -E '^(ok|FAIL) |^    ' "$res" | head -400
# every seed said ok or FAIL: a crash of the runner itself is a failure
expect_eq oracle_every_seed_ran "$(grep -cE '^(ok|FAIL) oracle_seed_' "$res")" $((last - first))
