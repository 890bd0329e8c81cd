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
