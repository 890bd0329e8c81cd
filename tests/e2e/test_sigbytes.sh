#!/usr/bin/env bash
# Issue 18 items 1-2 over gRPC against a real server: correctly signed
# envelopes carrying NUL bytes, invalid UTF-8, unknown fields, two oneof
# members, repeated and out-of-order fields are refused with
# INVALID_ARGUMENT and nothing is written; a canonical envelope built the
# same way is accepted; `loopledgerd verify` and `loopctl verify` pass on
# what was written.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

start_server
before=$("$LOOPCTL" --json checkpoint | json tree_size)
"$PY" "$(dirname "$0")/sigbytes_attacks.py" "$SERVER" "$T/admin.key" >"$T/attacks.out" 2>&1 ||
    { cat "$T/attacks.out" >&2; fail "an attack was not refused (or the control failed)"; }
cat "$T/attacks.out"
after=$("$LOOPCTL" --json checkpoint | json tree_size)
[[ $after == $((before + 1)) ]] || fail "expected exactly the control entry to be written ($before -> $after)"
"$LOOPCTL" verify --vkey "$VKEY" "$before" >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "loopctl verify"; }
stop_server
out=$("$LOOPLEDGERD" verify --data "$T/ledger") || fail "loopledgerd verify: $out"
echo "ok   sigbytes: $(tail -n 1 "$T/attacks.out"), control accepted, verify OK"

# Such an envelope planted in a log anyway (an older server, or someone
# with the data file): both verifiers refuse it.
mkdir -p "$T/dump"
start_server
"$PY" "$(dirname "$0")/sigbytes_attacks.py" "$SERVER" "$T/admin.key" "$T/dump" >/dev/null
stop_server
for attack in author-admin-0evil payloadtype-0evil-signed-over-the-truncated-type; do
    rm -rf "$T/planted"
    "$LOOPLEDGERD" backup --data "$T/ledger" --to "$T/planted" >/dev/null || fail "backup"
    seq=$("$LL_BIN/tests/e2e/ll-flipcheck" plant "$T/planted" "$T/dump/sigbytes-$attack")
    out=$("$LOOPLEDGERD" verify --data "$T/planted") && fail "loopledgerd verify passed a planted $attack: $out"
    grep -q "first damaged entry #$seq: .*NUL byte" <<<"$out" || fail "loopledgerd verify: $out"
    "$LOOPLEDGERD" serve --data "$T/planted" --listen 127.0.0.1:0 --port-file "$T/planted/port" \
        --plaintext >>"$T/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 200); do [[ -s $T/planted/port ]] && break; sleep 0.05; done
    export LOOPLEDGER_SERVER=127.0.0.1:$(cat "$T/planted/port")
    out=$("$LOOPCTL" verify --vkey "$VKEY" "$seq" 2>&1) && fail "loopctl verify passed a planted $attack: $out"
    grep -q "FAIL: entry $seq: the server would refuse this envelope: .*NUL byte" <<<"$out" ||
        fail "loopctl verify: $out"
    stop_server
    echo "ok   planted $attack at #$seq: loopledgerd verify and loopctl verify refuse it"
done
