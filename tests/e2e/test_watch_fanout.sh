#!/usr/bin/env bash
# Watch fan-out (issue 18 item 9): with 400 streams connected over 8
# connections, 4 concurrent writers append 40 entries; every stream
# receives every entry, in order, byte for byte the same, and the appends
# are all acknowledged. Behaviour only: ops/bench-watch measures Append's
# latency against the number of watchers.
source "$(dirname "$0")/lib.sh"
lc() { "$LOOPCTL" "$@"; }
start_server
size0=$(lc checkpoint | sed -n 2p)
/usr/bin/python3 "$(dirname "$0")/watchfan.py" "$SERVER" 400 8 $((size0 + 39)) "$T/ready" \
    >"$T/fan.out" 2>&1 &
fp=$!
for _ in $(seq 1 600); do [[ -s $T/ready ]] && break; sleep 0.1; done
[[ -s $T/ready ]] || fail "watch streams never started: $(cat "$T/fan.out")"
pids=()
for w in 1 2 3 4; do
    (for i in $(seq 1 10); do
        lc --timeout 30000 append --key "$T/admin.key" --author admin --note "fan w$w $i" \
            >/dev/null || fail "append w$w $i"
    done) &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a writer failed with 400 watchers connected"; done
wait "$fp" || fail "watchers: $(cat "$T/fan.out")"
grep -q "^ok 400$" "$T/fan.out" || fail "watchers: $(cat "$T/fan.out")"
echo "400 watch streams over 8 connections each received entries 0..$((size0 + 39)) in order, identical"
stop_server
echo "e2e watch fan-out: ok"
