#!/usr/bin/env bash
# C2SP tlog-witness and tlog-cosignature: three `loopledgerd witness`es
# cosign the ledger's checkpoints (submitted by `serve --witness`);
# `loopctl verify --witness ... --quorum 2` holds with one witness down and
# fails when the quorum cannot be met; cosignatures verify with an
# independent Ed25519 implementation (python3-cryptography); the published
# checkpoint (tiles directory and HTTP /checkpoint) carries them and Go's
# golang.org/x/mod/sumdb/note verifies it with quorum 3, then 2; a forked
# history with the same origin and key is refused with 422 and the spec's
# other statuses (400, 403, 404, 409 with the size) are checked with curl.
source "$(dirname "$0")/lib.sh"
lc() { "$LOOPCTL" "$@"; }
PY=/usr/bin/python3
WPIDS=()
FORK_PID=
trap 'for p in "${WPIDS[@]}" $FORK_PID; do kill -KILL $p 2>/dev/null || true; done; e2e_cleanup' EXIT

# The ledger exists first: witnesses are configured with its verifier key.
start_server
lc append --key "$T/admin.key" --author admin --note one >/dev/null
stop_server

start_witness() { # start_witness I: a restart keeps the witness's port
    local i=$1 port=0
    [[ -s $T/w$i.port ]] && port=$(cat "$T/w$i.port")
    rm -f "$T/w$i.port"
    "$LOOPLEDGERD" witness --data "$T/w$i" --key "$T/w$i.key" --name "witness.test/w$i" \
        --listen 127.0.0.1:$port --port-file "$T/w$i.port" --log "$VKEY" >>"$T/w$i.log" 2>&1 &
    WPIDS[$i]=$!
    for _ in $(seq 1 100); do [[ -s $T/w$i.port ]] && break; sleep 0.05; done
    [[ -s $T/w$i.port ]] || fail "witness $i did not start: $(cat "$T/w$i.log")"
    WURL[$i]=http://127.0.0.1:$(cat "$T/w$i.port")
}
declare -a WURL WKEY
for i in 1 2 3; do
    WKEY[$i]=$("$LOOPLEDGERD" witness-key --key "$T/w$i.key" --name "witness.test/w$i")
    [[ $(stat -c %a "$T/w$i.key") == 600 ]] || fail "witness key must be 0600"
    start_witness "$i"
done
start_server --witness "${WURL[1]}=${WKEY[1]}" --witness "${WURL[2]}=${WKEY[2]}" \
    --witness "${WURL[3]}=${WKEY[3]}" --tiles "$T/tiles" --http 127.0.0.1:0 \
    --http-port-file "$T/http.port"
for _ in $(seq 1 100); do [[ -s $T/http.port ]] && break; sleep 0.05; done
HTTP=http://127.0.0.1:$(cat "$T/http.port")
GOCOSIG=$LL_BIN/tests/e2e/gocosig
# published_until SIZE N: the published tiles checkpoint reaches SIZE with
# N cosignature lines (it follows the witness rounds).
published_until() {
    for _ in $(seq 1 200); do
        [[ $(sed -n 2p "$T/tiles/checkpoint" 2>/dev/null) -ge $1 &&
            $(grep -c '^— witness.test/w' "$T/tiles/checkpoint") -ge $2 ]] && return 0
        sleep 0.05
    done
    fail "published checkpoint: $(cat "$T/tiles/checkpoint" 2>&1), want size $1 with $2 cosignatures"
}

# verify_until SIZE QUORUM W...: the newest cosigned checkpoint reaches SIZE.
verify_until() {
    local size=$1 q=$2 out
    shift 2
    local args=()
    for k in "$@"; do args+=(--witness "$k"); done
    for _ in $(seq 1 200); do
        if out=$(lc verify --vkey "$VKEY" "${args[@]}" --quorum "$q" 2>&1) &&
            grep -q "size $size " <<<"$out"; then
            echo "$out"
            return 0
        fi
        sleep 0.05
    done
    fail "no checkpoint of size $size with quorum $q: $out"
}
lc append --key "$T/admin.key" --author admin --note two >/dev/null
size=$(lc --json checkpoint | json tree_size)
verify_until "$size" 3 "${WKEY[@]:1}" >/dev/null

# GetCheckpoint of that size carries the three cosignatures; each verifies
# with python3-cryptography from the spec's definitions.
lc checkpoint --size "$size" >"$T/cosigned.note"
[[ $(grep -c '^— witness.test/w' "$T/cosigned.note") == 3 ]] || fail "cosignature lines missing"
"$PY" - "$T/cosigned.note" "${WKEY[@]:1}" <<'PYEOF' || fail "independent cosignature check"
import base64, hashlib, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
note = open(sys.argv[1], encoding="utf-8").read()
body, sigs = note.split("\n\n", 1)
body += "\n"
for vkey in sys.argv[2:]:
    name, kid, blob = vkey.split("+", 2)
    blob = base64.b64decode(blob)
    assert blob[0] == 0x04 and len(blob) == 33, "cosigner vkeys have type 0x04"
    pub = blob[1:]
    assert hashlib.sha256(name.encode() + b"\n\x04" + pub).digest()[:4].hex() == kid
    line = [l for l in sigs.splitlines() if l.startswith("— " + name + " ")]
    assert len(line) == 1, name
    raw = base64.b64decode(line[0].split(" ")[2])
    assert len(raw) == 4 + 8 + 64 and raw[:4].hex() == kid
    ts = int.from_bytes(raw[4:12], "big")
    assert ts > 1600000000
    msg = b"cosignature/v1\ntime %d\n" % ts + body.encode()
    Ed25519PublicKey.from_public_bytes(pub).verify(raw[12:], msg)
print("python: 3 cosignatures verify")
PYEOF

# The published checkpoint (tiles directory, and HTTP /checkpoint) carries
# the cosignatures too: Go's signed-note reader (golang.org/x/mod/sumdb/note)
# verifies the log's signature and the witnesses' (cosignature/v1).
published_until "$size" 3
wargs=()
for k in "${WKEY[@]:1}"; do wargs+=(-witness "$k"); done
"$GOCOSIG" -vkey "$VKEY" "${wargs[@]}" -quorum 3 "$T/tiles/checkpoint" ||
    fail "Go: the published checkpoint's cosignatures"
"$GOCOSIG" -vkey "$VKEY" "${wargs[@]}" -quorum 3 "$HTTP/checkpoint" >"$T/go.out" ||
    fail "Go: HTTP /checkpoint's cosignatures"
grep -q "cosigned by witness.test/w1,witness.test/w2,witness.test/w3" "$T/go.out" ||
    fail "Go: $(cat "$T/go.out")"
# Only the witnesses given count; a tampered cosignature is refused.
"$GOCOSIG" -vkey "$VKEY" -witness "${WKEY[1]}" -quorum 2 "$T/tiles/checkpoint" 2>/dev/null &&
    fail "Go: quorum 2 met with one witness key"
"$PY" - "$T/tiles/checkpoint" >"$T/tampered.note" <<'PYEOF'
import base64, sys
out = []
for l in open(sys.argv[1], encoding="utf-8").read().split("\n"):
    if l.startswith("— witness.test/w1 "):
        raw = bytearray(base64.b64decode(l.split(" ")[2]))
        raw[-1] ^= 1
        l = "— witness.test/w1 " + base64.b64encode(bytes(raw)).decode()
    out.append(l)
sys.stdout.write("\n".join(out))
PYEOF
"$GOCOSIG" -vkey "$VKEY" "${wargs[@]}" -quorum 1 "$T/tampered.note" 2>/dev/null &&
    fail "Go: a tampered cosignature verified"

# One witness down: quorum 2 still holds for new checkpoints, quorum 3 not.
kill -KILL "${WPIDS[3]}"
wait "${WPIDS[3]}" 2>/dev/null || true
"$LL_BIN/clients/ll-loadgen" --server "$SERVER" append --key "$T/admin.key" --author admin \
    --count 200 --concurrency 8 >/dev/null || fail "appends with a witness down"
size2=$(lc --json checkpoint | json tree_size)
out=$(verify_until "$size2" 2 "${WKEY[@]:1}")
grep -q "witness.test/w3: no cosignature" <<<"$out" || fail "w3 should be missing: $out"
if out=$(lc verify --vkey "$VKEY" --witness "${WKEY[1]}" --witness "${WKEY[2]}" \
    --witness "${WKEY[3]}" --quorum 3 2>&1); then
    fail "quorum 3 met with a witness down: $out"
fi
grep -q "quorum is 3" <<<"$out" || fail "quorum failure not explained: $out"
published_until "$size2" 2
"$GOCOSIG" -vkey "$VKEY" "${wargs[@]}" -quorum 2 "$HTTP/checkpoint" >/dev/null ||
    fail "Go: quorum 2 on the published checkpoint with a witness down"
"$GOCOSIG" -vkey "$VKEY" "${wargs[@]}" -quorum 3 "$HTTP/checkpoint" 2>/dev/null &&
    fail "Go: quorum 3 on the published checkpoint with a witness down"
# A witness key that is not a cosigner key is refused.
lc verify --vkey "$VKEY" --witness "$VKEY" >/dev/null 2>&1 && fail "a log key accepted as witness key"

# The witness comes back: it is caught up (409 teaches the log its size).
start_witness 3
lc append --key "$T/admin.key" --author admin --note three >/dev/null
size3=$(lc --json checkpoint | json tree_size)
verify_until "$size3" 3 "${WKEY[@]:1}" >/dev/null

# A fork: a copy of the ledger, with the same origin and keys, that grows
# differently. Witness 1 has cosigned the real history past the fork point.
"$LOOPLEDGERD" backup --data "$T/ledger" --to "$T/fork" >/dev/null
lc append --key "$T/admin.key" --author admin --note "real history" >/dev/null
size4=$(lc --json checkpoint | json tree_size)
verify_until "$size4" 3 "${WKEY[@]:1}" >/dev/null
"$LOOPLEDGERD" serve --data "$T/fork" --listen 127.0.0.1:0 --port-file "$T/fork.port" \
    --plaintext >"$T/fork.log" 2>&1 &
FORK_PID=$!
for _ in $(seq 1 100); do [[ -s $T/fork.port ]] && break; sleep 0.05; done
FORK=127.0.0.1:$(cat "$T/fork.port")
for n in 1 2 3; do
    lc --server "$FORK" append --key "$T/admin.key" --author admin --note "forged $n" >/dev/null
done
fsize=$(lc --server "$FORK" --json checkpoint | json tree_size)
((fsize > size4)) || fail "fork is not ahead ($fsize <= $size4)"
lc --server "$FORK" checkpoint >"$T/fork.note"
# The witness's own record (monitoring API) gives the size it cosigned.
ohash=$(printf '%s' "$(head -1 "$T/fork.note")" | sha256sum | cut -c1-64)
curl -s "${WURL[1]}/$ohash/checkpoint" >"$T/w1.note"
wsize=$(sed -n 2p "$T/w1.note")
[[ $wsize == "$size4" ]] || fail "witness 1 recorded $wsize, want $size4"
grep -q "^— witness.test/w1 " "$T/w1.note" || fail "monitoring checkpoint lacks the cosignature"
# add-checkpoint body: old size, proof lines (base64), blank line, note.
body() { # body OLD PROOF-JSON NOTE
    echo "old $1"
    if [[ -n $2 ]]; then
        "$PY" -c 'import base64,json,sys
for h in json.load(open(sys.argv[1]))["hashes"]: print(base64.b64encode(bytes.fromhex(h)).decode())' "$2"
    fi
    echo
    cat "$3"
}
post() { # post BODY-FILE: prints "STATUS CONTENT-TYPE BODY"
    curl -s -o "$T/resp" -w '%{http_code} %{content_type}' --data-binary @"$1" \
        "${WURL[1]}/add-checkpoint"
    echo " $(tr -d '\n' <"$T/resp")"
}
lc --server "$FORK" --json prove --consistency "$wsize" "$fsize" >"$T/fork.cons"
body "$wsize" "$T/fork.cons" "$T/fork.note" >"$T/req"
r=$(post "$T/req")
[[ $r == 422* ]] || fail "fork not refused with 422: $r"
grep -q "REFUSED an inconsistent checkpoint" "$T/w1.log" || fail "witness did not log the evidence"
[[ $(sed -n 2p <(curl -s "${WURL[1]}/$ohash/checkpoint")) == "$size4" ]] || fail "refusal changed state"
# 409: stale old size; the body is the witness's size, text/x.tlog.size.
body 1 "" "$T/fork.note" >"$T/req"
r=$(post "$T/req")
[[ $r == "409 text/x.tlog.size $size4" ]] || fail "409 answer: $r"
# 400: old size beyond the checkpoint.
body $((fsize + 1)) "" "$T/fork.note" >"$T/req"
[[ $(post "$T/req") == 400* ]] || fail "old > size not 400"
# 403: the signature does not verify (a flipped character in the root).
sed '3{/^A/{s/^A/B/;b};s/^./A/}' "$T/fork.note" >"$T/bad.note"
cmp -s "$T/bad.note" "$T/fork.note" && fail "tamper did not change the note"
body "$wsize" "" "$T/bad.note" >"$T/req"
[[ $(post "$T/req") == 403* ]] || fail "bad signature not 403: $(post "$T/req")"
# 404: unknown origin.
sed '1s/.*/other.test\/log/' "$T/fork.note" >"$T/other.note"
body 0 "" "$T/other.note" >"$T/req"
[[ $(post "$T/req") == 404* ]] || fail "unknown origin not 404"
# The honest log still gets cosignatures after all this.
lc append --key "$T/admin.key" --author admin --note after >/dev/null
size5=$(lc --json checkpoint | json tree_size)
verify_until "$size5" 3 "${WKEY[@]:1}" >/dev/null
# Witness state survives a restart (durable): kill -9 and ask again.
kill -KILL "${WPIDS[1]}"; wait "${WPIDS[1]}" 2>/dev/null || true
start_witness 1
body "$size4" "" "$T/fork.note" >"$T/req"
r=$(curl -s -o "$T/resp" -w '%{http_code}' --data-binary @"$T/req" "${WURL[1]}/add-checkpoint")
[[ $r == 409 && $(cat "$T/resp") == "$size5" ]] || fail "witness forgot its state: $r $(cat "$T/resp")"
echo "PASS witness: quorum 2 of 3 with one down, fork refused (422), statuses 400/403/404/409"
