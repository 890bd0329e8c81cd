#!/usr/bin/env bash
# Resource exhaustion and slow clients:
#  1. a map that may not grow (--map-size 1M --map-max 1M) fills under
#     concurrent appends: every refusal is RESOURCE_EXHAUSTED, the tree does
#     not move, reads keep serving, and the audit finds nothing partial;
#  2. restarted without a cap, the same ledger grows its map by itself and
#     takes several times the old limit;
#  3. a stalled Watch client (SIGSTOP) does not slow appends or reads down,
#     deadlines are honoured, and an over-size request is refused.
source "$(dirname "$0")/lib.sh"
lc() { "$LOOPCTL" "$@"; }
BIG=$(head -c 6000 /dev/zero | tr '\0' 'x')
HUGE=$(head -c 60000 /dev/zero | tr '\0' 'y') # loopctl takes a note of < 128 KiB as an argument

writer() { # writer ID: appends 6 KB notes until refused; records acks and the refusal
    local id=$1 n=0 out
    while out=$(lc --timeout 10000 --json append --key "$T/admin.key" --author admin \
        --note "w$id n$n $BIG" 2>&1); do
        [[ $out =~ \"seq\":([0-9]+).*\"leaf_hash\":\"([0-9a-f]{64})\" ]] || fail "append output: $out"
        echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}" >>"$T/acks"
        n=$((n + 1))
        ((n < 2000)) || fail "the 1 MiB map never filled"
    done
    echo "$out" >"$T/refusal.$id"
}

size() { lc checkpoint | sed -n 2p; }

# 1. A map that may not grow.
start_server --map-size 1M --map-max 1M
pids=()
for w in 1 2 3 4; do writer "$w" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p"; done
for w in 1 2 3 4; do
    grep -q "RESOURCE_EXHAUSTED" "$T/refusal.$w" || fail "writer $w: $(cat "$T/refusal.$w")"
done
# A batch refused whole (its commit did not fit) can leave room for a lone
# entry: fill what is left one entry at a time, so the map is truly full.
for i in $(seq 1 200); do
    lc append --key "$T/admin.key" --author admin --initiative full --note "last $i $BIG" >/dev/null 2>&1 || break
    ((i < 200)) || fail "single appends never filled the map"
done
s1=$(size)
expect_status RESOURCE_EXHAUSTED lc append --key "$T/admin.key" --author admin --note "more $BIG"
s2=$(size)
((s1 == s2)) || fail "tree moved after refusals: $s1 -> $s2"
lc get $((s1 - 1)) >/dev/null || fail "reads stopped on a full map"
lc list --from 1 >/dev/null || fail "list stopped on a full map"
lc prove 1 >/dev/null || fail "proofs stopped on a full map"
lc health >/dev/null || fail "health on a full map"
acked=$(wc -l <"$T/acks")
echo "map 1 MiB, no growth: $acked appends acknowledged, then RESOURCE_EXHAUSTED; tree stays at $s1; reads serve"
stop_server
out=$("$LOOPLEDGERD" verify --data "$T/ledger") || fail "audit after map full: $out"
grep -q "entries $s1 " <<<"$out" || fail "audit size: $out"

# 2. The same ledger, allowed to grow.
start_server --map-size 1M
check_acked "$T/acks" || fail "acknowledged entries differ"
before=$(stat -c %s "$T/ledger/data.mdb")
pids=()
for w in 1 2 3 4; do
    (for i in $(seq 1 16); do
        lc --timeout 10000 append --key "$T/admin.key" --author admin \
            --note "grow w$w $i $HUGE" >/dev/null || fail "append while growing (w$w $i)"
    done) &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a writer failed while the map grew"; done
after=$(stat -c %s "$T/ledger/data.mdb")
((after > 3 * 1048576)) || fail "data file did not grow past the old map: $after bytes"
echo "map grew by itself: data.mdb $before -> $after bytes, 64 more appends of 60 kB, no errors"

# 3. A stalled Watch client, deadlines, message size.
lc watch --from 0 >"$T/watch.out" 2>&1 &
WPID=$!
for _ in $(seq 1 100); do [[ -s $T/watch.out ]] && break; sleep 0.05; done
[[ -s $T/watch.out ]] || fail "watch printed nothing"
kill -STOP "$WPID"
pids=()
rss0=$(awk '/VmRSS/{print $2}' "/proc/$SERVER_PID/status")
for w in 1 2 3 4; do
    (for i in $(seq 1 15); do
        lc --timeout 5000 append --key "$T/admin.key" --author admin \
            --note "stall w$w $i $HUGE" >/dev/null || fail "append blocked by a stalled watcher"
        lc --timeout 5000 get 1 >/dev/null || fail "read blocked by a stalled watcher"
    done) &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "blocked by a stalled watcher"; done
rss1=$(awk '/VmRSS/{print $2}' "/proc/$SERVER_PID/status")
kill -CONT "$WPID"
kill "$WPID" 2>/dev/null || true
wait "$WPID" 2>/dev/null || true
echo "stalled watcher: 60 appends of 60 kB + 60 reads within their 5 s deadlines; server RSS ${rss0} -> ${rss1} kB"
expect_status DEADLINE_EXCEEDED lc --timeout 1 list --from 0
python3 -c 'import json; print(json.dumps({"author": "admin", "note": "y" * (1100 * 1024)}))' >"$T/huge.json"
expect_status RESOURCE_EXHAUSTED lc append --key "$T/admin.key" "$T/huge.json"
stop_server
out=$("$LOOPLEDGERD" verify --data "$T/ledger") || fail "final audit: $out"
echo "e2e limits: ok"
