#!/usr/bin/env bash
# Governance over mTLS against a real loopledgerd: identities from client
# certificates, the role matrix, key rotation and revocation, HITL policies
# from pending to effective (and rejected for good), decision history with
# evidence, actor history, and an audit export verified offline. Every
# refusal is checked for its status code and for writing nothing.
source "$(dirname "$0")/lib.sh"
OPS=$(cd "$(dirname "$0")/../../ops" && pwd)
C=$T/certs
"$OPS/certs" "$C" admin ana paula quinn audrey mallory >/dev/null
"$OPS/certs" "$C" --expired ana >/dev/null
"$OPS/certs" "$C" --rogue ana >/dev/null

start_server --tls-cert "$C/server.crt" --tls-key "$C/server.key" --tls-ca "$C/ca.crt"
# as ACTOR loopctl-args...: a call with ACTOR's client certificate.
as() {
    local who=$1
    shift
    "$LOOPCTL" --tls-ca "$C/ca.crt" --tls-cert "$C/$who.crt" --tls-key "$C/$who.key" "$@"
}
size() { as admin --json checkpoint | json tree_size; }
nothing_written() { [[ $(as admin --json checkpoint | json tree_size) == "$1" ]] || fail "a refusal wrote something ($2)"; }

# Transport: only certificates from our CA, unexpired, of registered actors.
as admin health | grep -q SERVING || fail "admin cannot reach the server over mTLS"
expect_status UNAVAILABLE "$LOOPCTL" --timeout 3000 --tls-ca "$C/ca.crt" --tls-cert "$C/ana-rogue.crt" --tls-key "$C/ana-rogue.key" list
# An expired certificate is caught before dialling (loopctl checks locally).
{ "$LOOPCTL" --timeout 3000 --tls-ca "$C/ca.crt" --tls-cert "$C/ana-expired.crt" --tls-key "$C/ana-expired.key" list 2>&1 || true; } |
    grep -q "expired on 2020-02-01" || fail "an expired certificate is not named as such"
expect_status UNAVAILABLE "$LOOPCTL" --timeout 3000 list # plaintext to a TLS port
expect_status UNAUTHENTICATED as mallory list           # valid cert, not an actor

# The admin registers the team.
register() { # register ID ROLE...
    local id=$1 roles
    shift
    roles=$(printf '"%s",' "$@")
    "$LOOPCTL" keygen "$T/$id.key" >/dev/null
    cat >"$T/reg-$id.json" <<JSON
{"author": "admin", "actor": {"id": "$id", "name": "$id", "roles": [${roles%,}],
 "public_key_file": "$id.key.pub"}}
JSON
    as admin append --key "$T/admin.key" "$T/reg-$id.json" >/dev/null || fail "registering $id"
}
register ana contributor
register paula approver
register quinn contributor approver
register audrey auditor
as admin list >/dev/null

# Role matrix: auditors are read-only; contributors do not decide.
s0=$(size)
expect_status PERMISSION_DENIED as audrey append --key "$T/audrey.key" --author audrey --note "hi"
as admin initiative --key "$T/admin.key" --author admin --initiative pricing \
    --title "Dynamic pricing" --application pricing --phase pilot >/dev/null || fail "charter"
F=$(as ana --json finding --key "$T/ana.key" --author ana --initiative pricing \
    --summary "competitor undercut on 40 SKUs" --evidence quantitative --source dashboard \
    --diagnosis preference_shift | json seq)
expect_status PERMISSION_DENIED as ana decision --key "$T/ana.key" --author ana --initiative pricing \
    --level review_and_approval --outcome approved --link decides:$F
# Certificate vs author: paula's certificate cannot submit ana's entry.
expect_status PERMISSION_DENIED as paula append --key "$T/ana.key" --author ana --initiative pricing --note x
nothing_written $((s0 + 2)) "role matrix"

# A policy: pricing adjustments above 5% need 2 exception-handling approvals.
cat >"$T/policy.json" <<'JSON'
{"author": "admin", "policy": {"name": "price changes above 5%", "kinds": ["adjustment"],
 "application": "pricing", "threshold_field": "magnitude_percent", "threshold": 5,
 "level": "exception_handling", "approvals": 2}}
JSON
as admin append --key "$T/admin.key" "$T/policy.json" >/dev/null || fail "policy"
adj() { # adj AUTHOR MAGNITUDE -> seq
    as "$1" --json adjustment --key "$T/$1.key" --author "$1" --initiative pricing \
        --category strategic_approach --change "reprice by $2%" --magnitude_percent "$2" \
        --link addresses:$F | json seq
}
small=$(adj ana 3)   # under the threshold: effective at once
A1=$(adj ana 8)      # pending
as admin --json pending | python3 -c "import json,sys; d=json.load(sys.stdin); s=[p['entry']['seq'] for p in d]; sys.exit(0 if s==[$A1] else 'pending: %s' % s)" ||
    fail "the 8% adjustment is not the only pending entry"

# Approvals: the policy's level, distinct approvers, never one's own entry.
s1=$(size)
expect_status FAILED_PRECONDITION as paula decision --key "$T/paula.key" --author paula --initiative pricing \
    --level review_and_approval --outcome approved --link decides:$A1
A2=$(adj quinn 9)
expect_status PERMISSION_DENIED as quinn decision --key "$T/quinn.key" --author quinn --initiative pricing \
    --level exception_handling --outcome approved --link decides:$A2
nothing_written $((s1 + 1)) "approval rules"
as paula decision --key "$T/paula.key" --author paula --initiative pricing --level exception_handling \
    --outcome approved --rationale "within margin policy" --link decides:$A1 >/dev/null
as admin --json pending | grep -q "\"seq\":$A1," || fail "one approval of two made it effective"
as paula decision --key "$T/paula.key" --author paula --initiative pricing --level exception_handling \
    --outcome approved --rationale "again" --link decides:$A1 >/dev/null # counted once
as admin --json pending | grep -q "\"seq\":$A1," || fail "the same approver counted twice"
as quinn decision --key "$T/quinn.key" --author quinn --initiative pricing --level exception_handling \
    --outcome approved --rationale "margin ok" --link decides:$A1 >/dev/null
as admin --json pending | grep -q "\"seq\":$A1," && fail "two approvals did not make it effective"
# A rejection is final.
as paula decision --key "$T/paula.key" --author paula --initiative pricing --level exception_handling \
    --outcome rejected --rationale "too aggressive" --link decides:$A2 >/dev/null
register rita approver
"$OPS/certs" "$C" rita >/dev/null
s2=$(size)
expect_status FAILED_PRECONDITION as rita decision --key "$T/rita.key" --author rita --initiative pricing \
    --level exception_handling --outcome approved --link decides:$A2
nothing_written "$s2" "rejected stays rejected"

# Decision history: who decided what, at which level, on which evidence.
as audrey --json decisions --initiative pricing --approver quinn >"$T/dh.json"
python3 - "$T/dh.json" "$A1" "$F" <<'PY' || fail "decision history"
import json, sys
d = json.load(open(sys.argv[1])); a1, f = int(sys.argv[2]), int(sys.argv[3])
assert len(d) == 1, d
rec = d[0]
assert rec["outcome"] == "approved" and rec["level"] == "exception_handling", rec
de = rec["decided"][0]
assert de["entry"]["seq"] == a1 and de["entry"]["status"] == "effective", de
assert f in [e["seq"] for e in de["evidence"]], de
PY
[[ $(as audrey --json decisions --initiative pricing --outcome rejected | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') == 1 ]] ||
    fail "decision history: outcome filter"

# Keys: a revoked key signs nothing more; the admin rotates it; old entries stay valid.
kid=$("$LOOPCTL" --json keygen "$T/ana2.key" | json keyid) # the replacement, registered below
ana_kid=$(as admin --json actor ana | python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0]["keyid"])')
cat >"$T/revoke.json" <<JSON
{"author": "admin", "revocation": {"actor_id": "ana", "keyid": "$ana_kid", "reason": "laptop lost"}}
JSON
as admin append --key "$T/admin.key" "$T/revoke.json" >/dev/null || fail "revocation"
s3=$(size)
expect_status UNAUTHENTICATED as ana append --key "$T/ana.key" --author ana --initiative pricing --note "after revocation"
nothing_written "$s3" "revoked key"
pub=$(python3 -c "
import base64,subprocess,sys
der=subprocess.run(['openssl','pkey','-pubin','-in','$T/ana2.key.pub','-outform','DER'],capture_output=True).stdout
print(base64.b64encode(der[-32:]).decode())")
cat >"$T/rotate.json" <<JSON
{"author": "admin", "key_rotation": {"actor_id": "ana", "new_public_key": "$pub", "reason": "replacement"}}
JSON
as admin append --key "$T/admin.key" "$T/rotate.json" >/dev/null || fail "rotation by the admin"
as ana append --key "$T/ana2.key" --author ana --initiative pricing --note "new key" >/dev/null ||
    fail "the rotated key cannot sign"
as admin --json actor ana >"$T/ana.json"
python3 - "$T/ana.json" <<'PY' || fail "actor history"
import json, sys
a = json.load(open(sys.argv[1]))
assert a["roles"] == ["contributor"], a
assert len(a["keys"]) == 2 and a["keys"][0]["revoked_unix_nanos"] > 0 and a["keys"][1]["revoked_unix_nanos"] == 0, a
kinds = [g["kind"] for g in a["governance"]]
assert kinds == ["actor", "revocation", "key_rotation"], kinds
PY
# Self-rotation: signed with the current key.
"$LOOPCTL" keygen "$T/paula2.key" >/dev/null
pub=$(python3 -c "
import base64,subprocess
der=subprocess.run(['openssl','pkey','-pubin','-in','$T/paula2.key.pub','-outform','DER'],capture_output=True).stdout
print(base64.b64encode(der[-32:]).decode())")
cat >"$T/rotate2.json" <<JSON
{"author": "paula", "key_rotation": {"actor_id": "paula", "new_public_key": "$pub"}}
JSON
as paula append --key "$T/paula.key" "$T/rotate2.json" >/dev/null || fail "self-rotation"
expect_status UNAUTHENTICATED as paula append --key "$T/paula.key" --author paula --note "old key"
as paula append --key "$T/paula2.key" --author paula --note "new key" >/dev/null || fail "paula's new key"

# Replay: the same request again is idempotent; under another identity, refused.
as ana --json --save-request "$T/req.bin" append --key "$T/ana2.key" --author ana --initiative pricing \
    --note "once" >"$T/once.json"
seq1=$(json seq <"$T/once.json")
s4=$(size)
[[ $(as ana --json resubmit "$T/req.bin" | json duplicate) == true ]] || fail "replay by its author is not a duplicate"
[[ $(as ana --json resubmit "$T/req.bin" | json seq) == "$seq1" ]] || fail "replay got another seq"
expect_status PERMISSION_DENIED as quinn resubmit "$T/req.bin"
nothing_written "$s4" "replay"

# Audit export: auditors and admins only; verifiable offline; tamper-evident.
expect_status PERMISSION_DENIED as ana export-audit --out "$T/x.audit"
as audrey export-audit --out "$T/ledger.audit" >/dev/null || fail "export by the auditor"
"$LOOPCTL" verify --vkey "$VKEY" --audit "$T/ledger.audit" | grep -q "^ok" || fail "offline audit rejected a good export"
python3 - "$T/ledger.audit" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 0x01
open(sys.argv[1] + ".bad", "wb").write(bytes(b))
PY
"$LOOPCTL" verify --vkey "$VKEY" --audit "$T/ledger.audit.bad" >/dev/null 2>&1 &&
    fail "offline audit accepted a tampered export"
stop_server
echo "e2e governance: ok"
