#!/usr/bin/env bash
# End to end through loopctl against a real loopledgerd on loopback:
# registration, appends, reads, proofs, the auditor (verify), watch, each
# refusal's gRPC status, independent verification of checkpoints and proofs
# with Go's sumdb/note and sumdb/tlog, and a clean SIGTERM restart.
source "$(dirname "$0")/lib.sh"
GOVERIFY=${GOVERIFY:-$LL_BIN/tests/e2e/goverify}
lc() { "$LOOPCTL" "$@"; }

start_server
[[ -n $VKEY ]] || fail "loopledgerd verifier-key printed nothing"
lc health | grep -q SERVING || fail "health is not SERVING"

# Genesis is entry 0: server and admin registrations.
lc --json get 0 >"$T/g.json"
[[ $(json kind <"$T/g.json") == genesis ]] || fail "entry 0 is not the genesis"
[[ $(json author <"$T/g.json") == loopledgerd ]] || fail "genesis not by the server"

# Admin registers bob (JSON file with a relative public_key_file).
lc keygen "$T/bob.key" >/dev/null
[[ $(stat -c %a "$T/bob.key") == 600 ]] || fail "private key is not mode 0600"
cat >"$T/bob.json" <<JSON
{"author": "admin",
 "actor": {"id": "bob", "name": "Bob (CoE analyst)", "roles": ["contributor"],
           "public_key_file": "bob.key.pub"}}
JSON
lc --json append --key "$T/admin.key" "$T/bob.json" >"$T/a1.json"
[[ $(json seq <"$T/a1.json") == 1 ]] || fail "registration did not get seq 1"

# Bob records an observation, then a follow-up linked to it.
lc --json append --key "$T/bob.key" --author bob \
    --note "pilot: CTR up 12%, conversion flat in home & garden" >"$T/a2.json"
[[ $(json seq <"$T/a2.json") == 2 ]] || fail "note did not get seq 2"
lc --json append --key "$T/bob.key" --author bob \
    --link supports:2 --note "content hypothesis" >"$T/a3.json"
[[ $(json seq <"$T/a3.json") == 3 ]] || fail "linked note did not get seq 3"
lc --json get 3 >"$T/e3.json"
[[ $(json author <"$T/e3.json") == bob ]] || fail "get 3: wrong author"
[[ $(json note <"$T/e3.json") == "content hypothesis" ]] || fail "get 3: wrong note"
[[ $(json leaf_hash <"$T/e3.json") == $(json leaf_hash <"$T/a3.json") ]] ||
    fail "leaf hash from Append and GetEntry differ"
lc get 3 | grep -q "supports -> #2" || fail "human get does not show the link"
[[ $(lc list | wc -l) -ge 4 ]] || fail "list shows fewer than 4 entries"
[[ $(lc --json list --from 1 --to 3 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d))') == 2 ]] ||
    fail "list --from 1 --to 3 is not 2 entries"

# Refusals: each with its canonical status, and nothing written.
size_before=$(lc --json checkpoint | json tree_size)
expect_status UNAUTHENTICATED lc append --key "$T/bob.key" --author carol --note x
expect_status UNAUTHENTICATED lc append --key "$T/bob.key" --author admin --note "bob posing as admin"
lc keygen "$T/eve.key" >/dev/null
cat >"$T/eve.json" <<JSON
{"author": "bob", "actor": {"id": "eve", "name": "Eve", "roles": ["admin"],
                            "public_key_file": "eve.key.pub"}}
JSON
expect_status PERMISSION_DENIED lc append --key "$T/bob.key" "$T/eve.json"
expect_status FAILED_PRECONDITION lc append --key "$T/bob.key" --author bob --link supports:999 --note x
expect_status NOT_FOUND lc get 999
expect_status OUT_OF_RANGE lc prove 2 --size 999
[[ $(lc --json checkpoint | json tree_size) == "$size_before" ]] || fail "a refusal wrote something"

# Checkpoint, proofs, and the auditor remembering a checkpoint.
lc checkpoint >"$T/cp1.note"
head -1 "$T/cp1.note" | grep -qx "e2e.test/ledger" || fail "checkpoint origin"
lc verify --vkey "$VKEY" --state "$T/audit.state" 1 2 3 >"$T/v1.txt" || fail "verify failed: $(cat "$T/v1.txt")"
for i in 1 2 3 4 5; do
    lc append --key "$T/bob.key" --author bob --note "batch $i" >/dev/null
done
lc checkpoint >"$T/cp2.note"
lc verify --vkey "$VKEY" --state "$T/audit.state" 3 8 >"$T/v2.txt" || fail "verify (consistency) failed: $(cat "$T/v2.txt")"
grep -qi consisten "$T/v2.txt" || fail "verify did not report the consistency check"
# A wrong pinned key must fail.
lc keygen "$T/other.key" >/dev/null
badvkey="e2e.test/ledger+00000000+$(python3 -c 'import base64,sys; print(base64.b64encode(b"\x01"+b"\x00"*32).decode())')"
lc verify --vkey "$badvkey" 1 >/dev/null 2>&1 && fail "verify accepted a wrong verifier key"

# Independent verifiers: Go's golang.org/x/mod/sumdb/note and sumdb/tlog.
size1=$(sed -n 2p "$T/cp1.note")
size2=$(sed -n 2p "$T/cp2.note")
lc --json prove --consistency "$size1" "$size2" >"$T/cons.json"
args=()
for s in 0 3 $((size2 - 1)); do
    lc --json get "$s" >"$T/ge$s.json"
    lc --json prove "$s" --size "$size2" >"$T/pr$s.json"
    args+=(-entry "$T/ge$s.json" -inclusion "$T/pr$s.json")
done
"$GOVERIFY" -vkey "$VKEY" -checkpoint "$T/cp2.note" -old "$T/cp1.note" \
    -consistency "$T/cons.json" "${args[@]}" || fail "Go verifier rejected our proofs"
# And it must reject a tampered leaf.
python3 - "$T/ge3.json" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1])); b = bytearray(base64.b64decode(d["leaf"])); b[-1] ^= 1
d["leaf"] = base64.b64encode(bytes(b)).decode(); json.dump(d, open(sys.argv[1], "w"))
PY
"$GOVERIFY" -vkey "$VKEY" -checkpoint "$T/cp2.note" -entry "$T/ge3.json" -inclusion "$T/pr3.json" 2>/dev/null &&
    fail "Go verifier accepted a tampered leaf"

# Watch: replays from a sequence number, then follows live appends.
lc --json watch --from 6 --count 4 >"$T/watch.out" &
wpid=$!
sleep 0.5
lc append --key "$T/bob.key" --author bob --note "live one" >/dev/null
wait "$wpid" || fail "watch exited with an error"
[[ $(wc -l <"$T/watch.out") == 4 ]] || fail "watch printed $(wc -l <"$T/watch.out") entries, want 4"
tail -1 "$T/watch.out" | grep -q "live one" || fail "watch missed the live entry"

# SIGTERM drains and exits 0; a restart serves the same ledger, consistently.
stop_server
start_server
lc checkpoint >"$T/cp3.note"
[[ $(sed -n 2p "$T/cp3.note") == $((size2 + 1)) ]] || fail "size after restart"
lc --json get 3 | json leaf_hash | grep -qx "$(json leaf_hash <"$T/a3.json")" || fail "entry 3 changed across restart"
lc verify --vkey "$VKEY" --state "$T/audit.state" >/dev/null || fail "verify after restart"
stop_server
echo "e2e cli: ok"
