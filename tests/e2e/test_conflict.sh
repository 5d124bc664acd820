#!/usr/bin/env bash
# "Actions are final": a night records its new actions (several a statement,
# cr_store_actions_add) only where the state holds none of the same claim and
# kind.  When another program slips one in while the night runs (here a
# trigger on the decisions table, which the night writes before its
# actions), the night names the claim, records nothing, writes no action
# file, and the next night, without the intruder, writes every action once.
. "$(dirname "$0")/lib.sh"
GEN=$ROOT/build/gen
[ -x "$GEN" ] || { fail generated_business "build/gen is missing (make all)"; exit 0; }

G=$TMP/gen
"$GEN" --claims 3000 --seed 9 --out "$G" --as-of 2026-11-20 >/dev/null 2>&1
cp -r "$G" "$G.ref"
"$BIN" run --config "$G.ref/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
ref_actions=$(q "$G.ref" "select claim_id || ' ' || kind from actions order by action_id")
n=$(echo "$ref_actions" | wc -l)
check reference_has_actions test "$n" -gt 500

# the intruder: an action of KIND for claim C, inserted when C's decision
# is recorded
intrude() { # ENV CLAIM KIND
    local action=release
    [ "$3" = fulfillment ] && action=ship_replacement
    q "$1" "create trigger intruder after insert on decisions when new.claim_id = '$2' begin
              insert into actions(claim_id, kind, action, amount, currency, run_id, issued_at)
              values (new.claim_id, '$3', '$action', 1, 'USD', new.run_id, 0);
            end"
}
# the night's actions are recorded eight a statement, the last n % 8 one by
# one (this data set: 2,603 actions, the last three one by one): one in the
# middle, and the last
check count_not_multiple_of_eight test $((n % 8)) -ne 0
for which in middle last; do
    if [ $which = middle ]; then victim=$(echo "$ref_actions" | sed -n '200p'); else victim=$(echo "$ref_actions" | tail -1); fi
    c=${victim% *}
    kind=${victim#* }
    E=$TMP/$which
    cp -r "$G" "$E"
    # an empty state database of the reference's schema, then the intruder
    mkdir -p "$E/var"
    sqlite3 "$G.ref/var/carerecon.db" .schema | sqlite3 "$E/var/carerecon.db"
    q "$E" "pragma user_version = $(q "$G.ref" "pragma user_version")"
    intrude "$E" "$c" "$kind"
    check "${which}_intruder_set" test "$(q "$E" "select count(*) from sqlite_master where name = 'intruder'")" = 1
    cr run --config "$E/config/carerecon.yaml" --as-of 2026-11-20 --quiet
    check "${which}_night_fails" test "$RC" -ne 0
    expect_err "${which}_names_the_claim" "claim $c: the state database already holds a $kind action"
    expect_eq "${which}_no_action_recorded" "$(q "$E" "select count(*) from actions")" 0
    expect_eq "${which}_no_action_file" "$(ls "$E"/reports/actions/ 2>/dev/null | grep -c '\.csv$')" 0
    q "$E" "drop trigger intruder"
    "$BIN" run --config "$E/config/carerecon.yaml" --as-of 2026-11-20 --quiet 2>/dev/null
    same=$(q "$E" "select claim_id || ' ' || kind from actions order by action_id")
    if [ "$same" = "$ref_actions" ]; then ok "${which}_rerun_records_every_action_once"; else
        fail "${which}_rerun_records_every_action_once" "$(diff <(echo "$ref_actions") <(echo "$same") | head -4 | tr '\n' ' ')"
    fi
    expect_eq "${which}_rerun_action_ids_unique" \
        "$(q "$E" "select count(*) - count(distinct action_id) from actions")" 0
done
