#!/usr/bin/env bash
# Crash safety: concurrent appenders, SIGKILL at a random moment, restart.
# Every acknowledged entry must be present with the same leaf hash, and the
# new checkpoint must be consistent with the last one seen before the crash
# (checked by loopctl's auditor and by Go's sumdb/tlog). Between the kill
# and the restart, `loopledgerd verify` audits the data directory offline:
# every leaf, signature and tree node, and the persisted signed checkpoint.
#   ROUNDS (default 3: the short form in ./ops/test; ops/soak runs 20),
#   WRITERS (default 4)
source "$(dirname "$0")/lib.sh"
GOVERIFY=${GOVERIFY:-$LL_BIN/tests/e2e/goverify}
ROUNDS=${ROUNDS:-3}
WRITERS=${WRITERS:-4}
lc() { "$LOOPCTL" "$@"; }

writer() { # writer ID ROUND: appends until the server goes away
    local id=$1 round=$2 n=0 out
    while out=$(lc --timeout 5000 --json append --key "$T/admin.key" --author admin \
        --note "writer $id round $round n $n" 2>/dev/null); do
        # bash, not python: a fast loop makes the kill land mid-commit more often
        [[ $out =~ \"seq\":([0-9]+).*\"leaf_hash\":\"([0-9a-f]{64})\" ]] ||
            fail "unexpected append output: $out"
        echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}" >>"$T/acks.$id"
        n=$((n + 1))
    done
}

start_server
acked_total=0
for round in $(seq 1 "$ROUNDS"); do
    pids=()
    for w in $(seq 1 "$WRITERS"); do
        writer "$w" "$round" &
        pids+=($!)
    done
    sleep "1.$((RANDOM % 10))"
    lc checkpoint >"$T/before.note"
    lc verify --vkey "$VKEY" --state "$T/audit.state" >/dev/null || fail "audit before crash (round $round)"
    sleep "0.$((RANDOM % 5))"
    kill9_server
    for p in "${pids[@]}"; do wait "$p" || true; done
    audit=$("$LOOPLEDGERD" verify --data "$T/ledger" 2>&1) ||
        fail "offline audit after kill -9 (round $round): $audit"

    start_server
    lc checkpoint >"$T/after.note"
    old=$(sed -n 2p "$T/before.note")
    new=$(sed -n 2p "$T/after.note")
    ((new >= old)) || fail "tree shrank across the crash: $old -> $new"
    cat "$T"/acks.* >"$T/acks"
    while read -r seq hash; do
        ((seq < new)) || fail "acknowledged #$seq missing after restart (size $new)"
    done <"$T/acks"
    # Byte-for-byte: the leaf hashes of every acknowledged entry, in one list.
    check_acked "$T/acks" || fail "acknowledged entries differ (round $round)"
    lc --json prove --consistency "$old" "$new" >"$T/cons.json"
    "$GOVERIFY" -vkey "$VKEY" -checkpoint "$T/after.note" -old "$T/before.note" \
        -consistency "$T/cons.json" >/dev/null || fail "Go: inconsistent across crash (round $round)"
    lc verify --vkey "$VKEY" --state "$T/audit.state" >/dev/null || fail "audit after crash (round $round)"
    acked_total=$(wc -l <"$T/acks")
    echo "round $round: killed at size >= $old, restarted at $new, $acked_total acknowledged so far, all present"
done
stop_server
echo "e2e crash: ok ($ROUNDS rounds, $acked_total acknowledged entries checked)"
