#!/usr/bin/env bash
# Tamper evidence: flip single bytes in copies of a real ledger's data file,
# inside leaves, leaf hashes, inner tree nodes and a key record, and check
# that `loopledgerd verify` detects each one and names the right first
# damaged entry. Then damage a node under the last signed checkpoint and
# check that a server started on it refuses writes (DATA_LOSS) but serves
# reads.
#
# Offsets are found, not guessed: the copy is compacted (ll_store_backup),
# so it holds no stale pages and every value we look for occurs exactly
# once; the test asserts that before flipping. (Bytes of LMDB's own page
# headers or free space are not ledger data: flipping them either makes
# LMDB refuse the file or changes nothing, so they are not targets here.)
source "$(dirname "$0")/lib.sh"
lc() { "$LOOPCTL" "$@"; }

start_server
lc keygen "$T/ana.key" >/dev/null
cat >"$T/ana.json" <<EOF
{"author": "admin",
 "actor": {"id": "ana", "name": "Ana", "roles": ["contributor"], "public_key_file": "ana.key.pub"}}
EOF
lc append --key "$T/admin.key" "$T/ana.json" >/dev/null # seq 1
# One client, so entry i is seq i: 2..49, alternating authors.
for i in $(seq 2 49); do
    if ((i % 2)); then who=ana; else who=admin; fi
    lc append --key "$T/$who.key" --author "$who" \
        --note "tamper-target-$i" >/dev/null
done
lc checkpoint >/dev/null                     # signs size 50
lc append --key "$T/admin.key" --author admin --note "persists the checkpoint" >/dev/null
lc --json list >"$T/list.json"
stop_server

"$LOOPLEDGERD" backup --data "$T/ledger" --to "$T/clean" >/dev/null || fail "backup"
out=$("$LOOPLEDGERD" verify --data "$T/clean") || fail "clean copy does not verify: $out"
grep -q "entries 51 .*signatures verified 51.*signed checkpoint size 50" <<<"$out" ||
    fail "unexpected clean report: $out"

# flip WHAT ARG: prints "<offset> <expected first damaged seq>" after
# flipping one byte of $T/t/data.mdb.
flip() {
    python3 - "$T/t/data.mdb" "$T/list.json" "$T/ana.key.pub" "$@" <<'PY'
import base64, hashlib, json, sys
path, listf, anapub, what, arg = sys.argv[1:6]
data = bytearray(open(path, "rb").read())
leaves = {e["seq"]: e for e in json.load(open(listf))}
lh = {s: bytes.fromhex(e["leaf_hash"]) for s, e in leaves.items()}
def node(level, index):
    if level == 0:
        return lh[index]
    return hashlib.sha256(b"\x01" + node(level - 1, 2 * index) + node(level - 1, 2 * index + 1)).digest()
def find(needle):
    n = data.count(needle)
    if n != 1:
        sys.exit("expected exactly one occurrence, found %d" % n)
    return data.find(needle)
if what == "text":          # a byte of the note text inside leaf ARG
    seq = int(arg); off = find(b"tamper-target-%d" % seq) + 3
elif what == "sig":         # a byte of the signature inside leaf ARG
    seq = int(arg); leaf = base64.b64decode(leaves[seq]["leaf"])
    off = find(leaf) + len(leaf) - 100
elif what == "leafhash":    # a byte of stored node 0/ARG (the leaf hash)
    seq = int(arg); off = find(lh[seq]) + 7
elif what == "node":        # a byte of stored node L/I, ARG = "L/I"
    level, index = map(int, arg.split("/")); seq = index << level
    off = find(node(level, index)) + 31
elif what == "keyrec":      # ana's public key inside her key record
    pem = "".join(l for l in open(anapub) if not l.startswith("-----"))
    pub = base64.b64decode(pem)[-32:]
    # the record is pub || reg_seq (1) || revoked_at (0) || "ana"
    off = find(pub + (1).to_bytes(8, "big") + bytes(8) + b"ana") + 5
    seq = 3                 # her first signed entry
else:
    sys.exit("unknown target " + what)
data[off] ^= 0x01
open(path, "wb").write(data)
print(off, seq)
PY
}

detected=0
# target, argument, words the report must contain
while read -r what arg expect; do
    rm -rf "$T/t"
    cp -r "$T/clean" "$T/t"
    read -r off seq < <(flip "$what" "$arg") || fail "cannot place flip $what $arg"
    [[ -n ${seq:-} ]] || fail "cannot place flip $what $arg"
    set +e
    out=$("$LOOPLEDGERD" verify --data "$T/t" 2>&1)
    rc=$?
    set -e
    ((rc == 1)) || fail "flip $what $arg at byte $off: verify exit $rc, want 1: $out"
    grep -q "first damaged entry #$seq: .*$expect" <<<"$out" ||
        fail "flip $what $arg at byte $off: want entry #$seq ($expect), got: $out"
    echo "flipped byte $off ($what $arg): detected, first damaged entry #$seq"
    detected=$((detected + 1))
done <<'EOF'
text 5 leaf
text 17 leaf
text 33 leaf
sig 25 leaf
leafhash 9 leaf
leafhash 40 leaf
node 1/10 node.1/10
node 2/3 node.2/3
node 3/2 node.3/2
node 4/1 node.4/1
node 5/0 node.5/0
keyrec ana different.public.key
EOF

# Start-up check: node 1/24 is a peak of the signed size 50 (32+16+2).
rm -rf "$T/ledger"
cp -r "$T/clean" "$T/t2"
rm -rf "$T/t"
cp -r "$T/clean" "$T/t"
flip node 1/24 >/dev/null
mv "$T/t" "$T/ledger"
start_server --http 127.0.0.1:0 --http-port-file "$T/hport"
grep -q "REFUSING WRITES" "$T/server.log" || fail "server did not report the damage at start"
# The HTTP face says so: not ready (503, with the reason), still healthy.
H=http://127.0.0.1:$(cat "$T/hport")
[[ $(curl -s -o "$T/readyz" -w '%{http_code}' "$H/readyz") == 503 ]] || fail "/readyz is not 503 on a damaged ledger"
grep -q "writes refused" "$T/readyz" || fail "/readyz gives no reason: $(cat "$T/readyz")"
[[ $(curl -s "$H/healthz") == ok ]] || fail "/healthz on a damaged ledger"
curl -s "$H/metrics" | grep -qx "loopledger_ready 0" || fail "loopledger_ready is not 0 on a damaged ledger"
expect_status DATA_LOSS lc append --key "$T/admin.key" --author admin --note "after damage"
out=$(lc --json get 7) || fail "reads must continue on a damaged ledger"
[[ $(json leaf_hash <<<"$out") == $(python3 -c 'import json,sys; print([e for e in json.load(open(sys.argv[1])) if e["seq"]==7][0]["leaf_hash"])' "$T/list.json") ]] ||
    fail "entry 7 changed"
expect_status DATA_LOSS lc checkpoint
stop_server
detected=$((detected + 1))
set +e
out=$("$LOOPLEDGERD" verify --data "$T/ledger" 2>&1)
rc=$?
set -e
((rc == 1)) && grep -q "first damaged entry #48: .*node 1/24" <<<"$out" || fail "verify after start-up check: $out"

# The undamaged copy still serves writes.
rm -rf "$T/ledger"
mv "$T/t2" "$T/ledger"
start_server
lc append --key "$T/admin.key" --author admin --note "fine" >/dev/null ||
    fail "undamaged copy refuses writes"
stop_server
echo "e2e tamper: ok ($detected single-byte flips detected and located)"
