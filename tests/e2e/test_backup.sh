#!/usr/bin/env bash
# Backup and restore: ops/backup copies a live ledger under concurrent
# appends; the copy is restored into a new data dir and served. The restored
# tree must lie between the checkpoints taken before and after the backup,
# be consistent with both (loopctl's and Go's verifiers), keep the same
# verifier key, hold every acknowledged entry byte for byte, and accept new
# appends.
source "$(dirname "$0")/lib.sh"
GOVERIFY=${GOVERIFY:-$LL_BIN/tests/e2e/goverify}
OPS=$(cd "$(dirname "$0")/../../ops" && pwd)
lc() { "$LOOPCTL" "$@"; }
RPID=
trap 'e2e_cleanup; [[ -z $RPID ]] || kill -KILL $RPID 2>/dev/null || true' EXIT

writer() {
    local id=$1 n=0 out
    while [[ ! -e $T/stop ]]; do
        out=$(lc --timeout 5000 --json append --key "$T/admin.key" --author admin \
            --note "writer $id n $n") || fail "append during backup"
        [[ $out =~ \"seq\":([0-9]+).*\"leaf_hash\":\"([0-9a-f]{64})\" ]] || fail "output: $out"
        echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}" >>"$T/acks.$id"
        n=$((n + 1))
    done
}

start_server
pids=()
for w in 1 2 3 4; do writer "$w" & pids+=($!); done
sleep 1
lc checkpoint >"$T/c1.note"
out=$(LL_BIN=$LL_BIN "$OPS/backup" "$T/ledger" "$T/backup") || fail "ops/backup: $out"
echo "$out" | sed 's/^/  /'
grep -q "^OK: every entry" <<<"$out" || fail "backup copy did not audit clean"
sleep 0.5
touch "$T/stop"
for p in "${pids[@]}"; do wait "$p" || fail "a writer failed during the backup"; done
lc checkpoint >"$T/c2.note"

# Restore into a new data dir and serve it beside the live server.
"$LOOPLEDGERD" backup --data "$T/backup" --to "$T/restored" >/dev/null || fail "restore copy"
"$LOOPLEDGERD" serve --data "$T/restored" --listen 127.0.0.1:0 --port-file "$T/rport" --plaintext \
    >>"$T/restored.log" 2>&1 &
RPID=$!
for _ in $(seq 1 200); do [[ -s $T/rport ]] && break; sleep 0.05; done
[[ -s $T/rport ]] || fail "restored server did not start: $(cat "$T/restored.log")"
R=127.0.0.1:$(cat "$T/rport")
[[ $("$LOOPLEDGERD" verifier-key --data "$T/restored") == "$VKEY" ]] || fail "verifier key changed"
lc --server "$R" checkpoint >"$T/c3.note"
s1=$(sed -n 2p "$T/c1.note"); s2=$(sed -n 2p "$T/c2.note"); sb=$(sed -n 2p "$T/c3.note")
((s1 <= sb && sb <= s2)) || fail "restored size $sb not within [$s1, $s2]"
lc --server "$R" --json prove --consistency "$s1" "$sb" >"$T/p1.json"
"$GOVERIFY" -vkey "$VKEY" -old "$T/c1.note" -checkpoint "$T/c3.note" -consistency "$T/p1.json" \
    >/dev/null || fail "Go: restored tree not consistent with the checkpoint before the backup"
lc --json prove --consistency "$sb" "$s2" >"$T/p2.json"
"$GOVERIFY" -vkey "$VKEY" -old "$T/c3.note" -checkpoint "$T/c2.note" -consistency "$T/p2.json" \
    >/dev/null || fail "Go: live tree not consistent with the restored one"
cat "$T"/acks.* >"$T/acks"
lc --server "$R" --json list | python3 -c '
import json, sys
sb = int(sys.argv[2])
leaves = {e["seq"]: e["leaf_hash"] for e in json.load(sys.stdin)}
bad = [l for l in open(sys.argv[1]) if int(l.split()[0]) < sb and leaves.get(int(l.split()[0])) != l.split()[1]]
sys.exit("changed or lost: %s" % bad[:3] if bad else 0)' "$T/acks" "$sb" || fail "restored entries differ"
lc --server "$R" append --key "$T/admin.key" --author admin \
    --note "after restore" >/dev/null || fail "restored ledger refuses appends"
kill -TERM "$RPID"
wait "$RPID" || fail "restored server did not stop cleanly"
RPID=
stop_server
echo "e2e backup: ok (live at $s1..$s2 during the backup, restored $sb entries, consistent both ways)"
