#!/usr/bin/env bash
# Derived state is checked (issue 18, item 3), on a copy of a real data file:
#   - random byte flips in every table (leaves, nodes, meta, dedup, actors,
#     keys, index): each is detected by `verify`'s audit or its derived-table
#     check (ll-flipcheck prints detected/flipped per table; FLIPS per table,
#     bounded here, larger in ops/flips);
#   - ana's role byte 0x04 -> 0x06 (contributor -> contributor+admin): the
#     server refuses writes at start (so she cannot register an admin) and
#     verify names the actors record;
#   - a flipped dedup key: the same envelope is appended twice, and verify
#     names the entry that repeats the statement;
#   - a damaged checkpoint record in meta (key or value): writes refused at
#     start, verify DAMAGED.
source "$(dirname "$0")/lib.sh"
FLIPCHECK=$LL_BIN/tests/e2e/ll-flipcheck
FLIPS=${FLIPS:-6}
SEED=${SEED:-$(date +%s)}
lc() { "$LOOPCTL" "$@"; }

# ---- a real ledger: the demo loop, governance, notes ----
start_server
mkdir -p "$T/demo"
"$LL_BIN/../ops/demo/load" --server "$SERVER" --admin-key "$T/admin.key" --keys "$T/demo" \
    --loopctl "$LOOPCTL" >/dev/null 2>&1 || fail "demo load"
lc keygen "$T/eve.key" >/dev/null
cat >"$T/eve.json" <<JSON
{"author": "admin", "actor": {"id": "eve", "name": "Eve", "roles": ["contributor"], "public_key_file": "eve.key.pub"}}
JSON
lc append --key "$T/admin.key" "$T/eve.json" >/dev/null || fail "register eve"
cat >"$T/grant.json" <<'JSON'
{"author": "admin", "role_grant": {"actor_id": "eve", "roles": ["contributor", "approver"], "reason": "review duty"}}
JSON
lc append --key "$T/admin.key" "$T/grant.json" >/dev/null || fail "role grant"
cat >"$T/policy.json" <<'JSON'
{"author": "admin", "policy": {"name": "big changes", "kinds": ["adjustment"], "threshold_field": "magnitude_percent",
 "threshold": 50, "level": "review_and_approval", "approvals": 1}}
JSON
lc append --key "$T/admin.key" "$T/policy.json" >/dev/null || fail "policy"
lc keygen "$T/eve2.key" >/dev/null
pub=$(/usr/bin/python3 -c "
import base64,subprocess
der=subprocess.run(['openssl','pkey','-pubin','-in','$T/eve2.key.pub','-outform','DER'],capture_output=True).stdout
print(base64.b64encode(der[-32:]).decode())")
cat >"$T/rotate.json" <<JSON
{"author": "eve", "key_rotation": {"actor_id": "eve", "new_public_key": "$pub", "reason": "rotation"}}
JSON
lc append --key "$T/eve.key" "$T/rotate.json" >/dev/null || fail "rotation"
for i in 1 2 3 4; do
    lc append --key "$T/eve2.key" --author eve --initiative reco-engine --note "flip target $i" >/dev/null
done
DUP_SEQ=$(lc --json --save-request "$T/req.bin" append --key "$T/eve2.key" --author eve \
    --initiative reco-engine --note "appended once" | json seq)
lc checkpoint >/dev/null
lc append --key "$T/admin.key" --author admin --note "persists the checkpoint" >/dev/null
stop_server
"$LOOPLEDGERD" backup --data "$T/ledger" --to "$T/clean" >/dev/null || fail "backup"
out=$("$LOOPLEDGERD" verify --data "$T/clean") || fail "the clean copy does not verify: $out"
grep -q "OK: every entry, signature and tree node verifies, and every derived table matches" <<<"$out" ||
    fail "unexpected clean report: $out"
echo "$out"

# ---- random flips in every table ----
echo "random flips: $FLIPS per table, seed $SEED"
"$FLIPCHECK" random "$T/clean" "$FLIPS" "$SEED" | tee "$T/flips.out" ||
    fail "a flip went undetected (seed $SEED)"

# serve_copy DIR: starts the server on a damaged copy (same keys).
serve_copy() {
    "$LOOPLEDGERD" serve --data "$1" --listen 127.0.0.1:0 --port-file "$1/port" --plaintext \
        >>"$T/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 200); do [[ -s $1/port ]] && break; sleep 0.05; done
    [[ -s $1/port ]] || fail "server did not start on $1"
    export LOOPLEDGER_SERVER=127.0.0.1:$(cat "$1/port")
}

# ---- ana's role byte 0x04 -> 0x06 ----
cp -r "$T/clean" "$T/role"
"$FLIPCHECK" poke "$T/role" role ana 0x06 >/dev/null
serve_copy "$T/role"
lc keygen "$T/mal.key" >/dev/null
cat >"$T/mal.json" <<JSON
{"author": "ana", "actor": {"id": "mallory", "name": "M", "roles": ["admin"], "public_key_file": "mal.key.pub"}}
JSON
expect_status DATA_LOSS lc append --key "$T/demo/ana.key" "$T/mal.json"
lc get 1 >/dev/null || fail "reads must go on while writes are refused"
stop_server
out=$("$LOOPLEDGERD" verify --data "$T/role") && fail "verify passed a forged role: $out"
grep -q 'table actors, key "ana": rebuilt from the leaves 00000004.*, stored 00000006' <<<"$out" ||
    fail "verify does not name ana's actor record: $out"
echo "ok   role byte 0x04 -> 0x06: writes refused at start; verify: $(grep DAMAGED <<<"$out")"

# ---- a flipped dedup key: one envelope appended twice ----
cp -r "$T/clean" "$T/dedup"
"$FLIPCHECK" poke "$T/dedup" dedup "$DUP_SEQ" >/dev/null
serve_copy "$T/dedup"
n0=$(lc --json checkpoint | json tree_size)
lc resubmit "$T/req.bin" >/dev/null || fail "resubmit"
n1=$(lc --json checkpoint | json tree_size)
stop_server
out=$("$LOOPLEDGERD" verify --data "$T/dedup") && fail "verify passed a damaged dedup table: $out"
if ((n1 == n0 + 1)); then
    grep -q "first damaged entry #$n0: .*repeats the signed statement of entry #$DUP_SEQ" <<<"$out" ||
        fail "verify does not name the double append: $out"
    echo "ok   flipped dedup key: the envelope of #$DUP_SEQ was appended again as #$n0; verify: $(grep DAMAGED <<<"$out")"
else
    grep -q "table dedup" <<<"$out" || fail "verify does not name the dedup table: $out"
    echo "ok   flipped dedup key: verify: $(grep DAMAGED <<<"$out")"
fi

# ---- a damaged checkpoint record in meta ----
for part in key value; do
    cp -r "$T/clean" "$T/cp-$part"
    "$FLIPCHECK" poke "$T/cp-$part" meta checkpoint "$part" >/dev/null
    serve_copy "$T/cp-$part"
    expect_status DATA_LOSS lc append --key "$T/admin.key" --author admin --note "on a damaged meta"
    stop_server
    out=$("$LOOPLEDGERD" verify --data "$T/cp-$part") && fail "verify passed a damaged checkpoint $part: $out"
    echo "ok   checkpoint record $part flipped: writes refused at start; verify: $(grep DAMAGED <<<"$out")"
done
