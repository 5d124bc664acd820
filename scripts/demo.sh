#!/bin/sh
# The demo: builds the claim database from fixtures/claims.sql and runs the
# nightly job for the two fixture nights (2026-11-20 and 2026-11-21) with
# config/carerecon.yaml.  Run it again and nothing is emitted twice.
set -u
cd "$(dirname "$0")/.."
if [ ! -f fixtures/claims.db ] || [ fixtures/claims.sql -nt fixtures/claims.db ]; then
    rm -f fixtures/claims.db
    sqlite3 fixtures/claims.db <fixtures/claims.sql || exit 1
    echo "carerecon demo: built fixtures/claims.db from fixtures/claims.sql" >&2
fi
rc=0
./carerecon run --config config/carerecon.yaml --from 2026-11-20 --to 2026-11-21 || rc=$?
echo
echo "workbooks:    $(ls -1t reports/carerecon_*.xlsx 2>/dev/null | head -2 | tr '\n' ' ')"
echo "action files: $(ls -1t reports/actions/*.csv 2>/dev/null | head -4 | tr '\n' ' ')"
echo "state:        var/carerecon.db   (one claim: ./carerecon claim CE2611-000104)"
if [ "$rc" -eq 65 ]; then
    echo "exit 65: the fixtures include a file rejected on purpose (depot_20261121_broken.csv)"
    rc=0
fi
exit "$rc"
