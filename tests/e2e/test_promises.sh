#!/usr/bin/env bash
# "The loop's promises hold" (issue 11), over mTLS against a real
# loopledgerd: an Append says what the entry caused (pending under a
# policy, an approval recorded, an entry made effective or rejected, a drift
# alert raised in the same commit); a validate-only append (--dry-run) runs
# every check, says what would happen and writes nothing; loopctl shows
# approval status wherever it prints an entry, summarises policies, says so
# when a result is empty, and prints enums in lowercase.
source "$(dirname "$0")/lib.sh"
OPS=$(cd "$(dirname "$0")/../../ops" && pwd)
C=$T/certs
"$OPS/certs" "$C" admin ana paula quinn dash >/dev/null
"$OPS/certs" "$C" --expired ana >/dev/null
"$OPS/certs" "$C" --rogue ana >/dev/null

start_server --tls-cert "$C/server.crt" --tls-key "$C/server.key" --tls-ca "$C/ca.crt" \
    --drift-baseline 3 --drift-recent 2 --drift-threshold 0.10
as() {
    local who=$1
    shift
    "$LOOPCTL" --tls-ca "$C/ca.crt" --tls-cert "$C/$who.crt" --tls-key "$C/$who.key" "$@"
}
size() { as admin --json checkpoint | json tree_size; }
check() { # check FILE PYTHON-EXPR WHAT: d is the JSON document
    /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1" ||
        fail "$3: $(head -c 1500 "$1")"
}
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
# Item 15: TLS and key files are checked before dialling, with a message
# naming what to set; gRPC's own log lines never reach the user.
local_err() { # local_err NEEDLE loopctl-args...: exit 1, the message, nothing from gRPC
    local needle=$1 rc=0
    shift
    env -u LOOPLEDGER_CA -u LOOPLEDGER_CERT -u LOOPLEDGER_KEY "$LOOPCTL" "$@" >"$T/o.txt" 2>"$T/e.txt" || rc=$?
    [[ $rc == 1 ]] || fail "expected a local refusal (exit 1) from $*, got $rc: $(cat "$T/e.txt")"
    grep -qF -- "$needle" "$T/e.txt" || fail "expected '$needle' from $*, got: $(cat "$T/e.txt")"
    no_grpc_noise
}
no_grpc_noise() {
    grep -Eq "^[EIWD][0-9]{4} |empty address list|ssl_transport" "$T/e.txt" &&
        fail "gRPC's log reached the user: $(cat "$T/e.txt")"
    return 0
}
local_err "mTLS needs your client certificate (CN = your actor id): set LOOPLEDGER_CERT (or --tls-cert)" \
    --tls-ca "$C/ca.crt" --tls-key "$C/ana.key" list
local_err "mTLS needs the CA certificate that signed the server's certificate: set LOOPLEDGER_CA (or --tls-ca)" \
    --tls-cert "$C/ana.crt" --tls-key "$C/ana.key" list
local_err "LOOPLEDGER_KEY (or --tls-key) is $T/nope.key: No such file or directory" \
    --tls-ca "$C/ca.crt" --tls-cert "$C/ana.crt" --tls-key "$T/nope.key" list
local_err "LOOPLEDGER_KEY (or --tls-key) ($C/paula.key) is not the private key of the certificate in LOOPLEDGER_CERT (or --tls-cert) (CN=ana)" \
    --tls-ca "$C/ca.crt" --tls-cert "$C/ana.crt" --tls-key "$C/paula.key" list
local_err "LOOPLEDGER_CERT (or --tls-cert) ($C/ana-expired.crt, CN=ana) expired on 2020-02-01" \
    --tls-ca "$C/ca.crt" --tls-cert "$C/ana-expired.crt" --tls-key "$C/ana-expired.key" list
local_err "is $C/ana.crt, which is not a PEM private key" \
    --tls-ca "$C/ca.crt" --tls-cert "$C/ana.crt" --tls-key "$C/ana.crt" list
"$LOOPCTL" keygen "$T/solo.key" >/dev/null
local_err "--key $T/solo.key.pub is a public key: give the private key (the file without .pub)" \
    append --key "$T/solo.key.pub" --author ana --note x
local_err "--key $T/missing.key: No such file or directory" append --key "$T/missing.key" --author ana --note x
# What only the server can judge fails as before, with a hint and no gRPC log.
"$LOOPCTL" --timeout 3000 list >"$T/o.txt" 2>"$T/e.txt" && fail "plaintext to an mTLS server"
grep -q "^loopctl: UNAVAILABLE" "$T/e.txt" && grep -q "set LOOPLEDGER_CA, LOOPLEDGER_CERT and LOOPLEDGER_KEY" "$T/e.txt" ||
    fail "plaintext hint: $(cat "$T/e.txt")"
no_grpc_noise
"$LOOPCTL" --timeout 3000 --tls-ca "$C/ca.crt" --tls-cert "$C/ana-rogue.crt" --tls-key "$C/ana-rogue.key" list \
    >"$T/o.txt" 2>"$T/e.txt" && fail "a rogue certificate was accepted"
grep -q "does it trust the CA that issued" "$T/e.txt" || fail "rogue hint: $(cat "$T/e.txt")"
no_grpc_noise

register ana contributor
register paula approver
register quinn approver
register dash service

# Item 11: empty results say so.
[[ $(as admin pending) == "no pending approvals" ]] || fail "empty pending: '$(as admin pending)'"
[[ $(as admin decisions) == "no decisions" ]] || fail "empty decisions: '$(as admin decisions)'"
[[ $(as admin list --kind finding) == "0 entries" ]] || fail "empty list: '$(as admin list --kind finding)'"
[[ $(as admin --json list --kind finding) == "[]" ]] || fail "empty list in JSON"

as admin initiative --key "$T/admin.key" --author admin --initiative pricing \
    --title "Dynamic pricing" --application pricing --phase pilot >/dev/null || fail "charter"
# Item 10: a policy is summarised, not "?".
cat >"$T/policy.json" <<'JSON'
{"author": "admin", "policy": {"name": "price changes above 5%", "kinds": ["adjustment"],
 "application": "pricing", "threshold_field": "magnitude_percent", "threshold": 5,
 "level": "exception_handling", "approvals": 2}}
JSON
as admin append --key "$T/admin.key" "$T/policy.json" >"$T/pol.txt" || fail "policy"
grep -q "appended policy #[0-9]*: price changes above 5%: adjustment (application pricing, magnitude_percent > 5) need 2 approvals at exception_handling" "$T/pol.txt" ||
    fail "policy summary: $(cat "$T/pol.txt")"
P=$(grep -o "policy #[0-9]*" "$T/pol.txt" | head -1 | tr -dc 0-9)
F=$(as ana --json finding --key "$T/ana.key" --author ana --initiative pricing \
    --summary "competitor undercut on 40 SKUs" --evidence quantitative --source dashboard \
    --diagnosis preference_shift | json seq)
F0=$(as ana --json finding --key "$T/ana.key" --author ana --initiative pricing \
    --summary "margins look odd" --evidence qualitative --source user_survey | json seq)
adj() { # adj AUTHOR MAGNITUDE [loopctl options...]
    local who=$1 mag=$2
    shift 2
    as "$who" "$@" adjustment --key "$T/$who.key" --author "$who" --initiative pricing \
        --category strategic_approach --change "reprice by $mag%" --magnitude-percent "$mag" \
        --link addresses:$F
}

# Item 9: a dry run runs every check, says what would happen, writes nothing.
s0=$(size)
as admin --json export-audit --out "$T/before.audit" >/dev/null
adj ana 8 --dry-run >"$T/dry.txt" || fail "dry run failed"
grep -q "^dry run: adjustment would be appended as #$s0: \[strategic_approach\] reprice by 8%; nothing was written" "$T/dry.txt" ||
    fail "dry run text: $(cat "$T/dry.txt")"
grep -q "would: #$s0 is pending under policy #$P: needs 2 approvals at exception_handling" "$T/dry.txt" ||
    fail "dry run effects: $(cat "$T/dry.txt")"
adj ana 8 --json --dry-run >"$T/dry.json" || fail "dry run (json)"
check "$T/dry.json" "d['validate_only'] and d['seq'] == $s0 and d['leaf_hash'] == '' and d['status'] == 'pending' and d['effects'][0]['type'] == 'pending' and d['effects'][0]['policy_seq'] == $P and d['effects'][0]['approvals_required'] == 2 and d['effects'][0]['level'] == 'exception_handling'" "dry run JSON"
# The flag also works among the command's options, and refusals are the real ones.
as ana adjustment --dry-run --key "$T/ana.key" --author ana --initiative pricing --category strategic_approach \
    --change "no diagnosis" --link addresses:$F0 2>"$T/err.txt" && fail "dry run accepted an undiagnosed adjustment"
grep -q "FAILED_PRECONDITION: diagnose before prescribing" "$T/err.txt" || fail "dry run refusal: $(cat "$T/err.txt")"
expect_status PERMISSION_DENIED as ana --dry-run decision --key "$T/ana.key" --author ana --initiative pricing \
    --level exception_handling --outcome approved --link decides:$F
expect_status PERMISSION_DENIED as paula --dry-run append --key "$T/ana.key" --author ana --note "not mine"
"$LOOPCTL" keygen "$T/stranger.key" >/dev/null
expect_status UNAUTHENTICATED as ana --dry-run append --key "$T/stranger.key" --author ana --note "bad signature"
[[ $(size) == "$s0" ]] || fail "a dry run wrote something"
[[ $(as admin pending) == "no pending approvals" ]] || fail "a dry run left a pending entry"
as admin --json export-audit --out "$T/after.audit" >/dev/null
cmp -s "$T/before.audit" "$T/after.audit" || fail "the log changed across dry runs"

# Item 8: the answer names what the entry caused.
adj ana 8 >"$T/a1.txt" || fail "adjustment"
A1=$(grep -o "^appended adjustment #[0-9]*" "$T/a1.txt" | tr -dc 0-9)
[[ $A1 == "$s0" ]] || fail "the real append did not get the seq the dry run announced"
grep -q "status: pending" "$T/a1.txt" || fail "pending status: $(cat "$T/a1.txt")"
grep -q "#$A1 is pending under policy #$P: needs 2 approvals at exception_handling" "$T/a1.txt" ||
    fail "pending effect: $(cat "$T/a1.txt")"
A2=$(adj ana 9 --json | json seq)
decide() { # decide WHO OUTCOME TARGET [loopctl options]
    local who=$1 outcome=$2 target=$3
    shift 3
    as "$who" "$@" decision --key "$T/$who.key" --author "$who" --initiative pricing \
        --level exception_handling --outcome "$outcome" --rationale "margin" --link decides:$target
}
decide paula approved "$A1" --dry-run >"$T/d0.txt" || fail "dry-run decision"
grep -q "would: approval of #$A1 recorded: 1 of 2 at exception_handling, 1 more needed" "$T/d0.txt" ||
    fail "dry-run approval effect: $(cat "$T/d0.txt")"
decide paula approved "$A1" >"$T/d1.txt" || fail "first approval"
grep -q "approval of #$A1 recorded: 1 of 2 at exception_handling, 1 more needed" "$T/d1.txt" ||
    fail "approval effect: $(cat "$T/d1.txt")"
decide quinn approved "$A1" --dry-run >"$T/d2dry.txt" || fail "dry-run second approval"
grep -q "would: #$A1 became effective: 2 of 2 approvals at exception_handling (policy #$P)" "$T/d2dry.txt" ||
    fail "dry-run effective: $(cat "$T/d2dry.txt")"
as admin --json pending | grep -q "\"seq\":$A1," || fail "a dry-run approval made #$A1 effective"
decide quinn approved "$A1" --json >"$T/d2.json" || fail "second approval"
check "$T/d2.json" "[(e['type'], e['seq'], e['approvals'], e['approvals_required']) for e in d['effects']] == [('became_effective', $A1, 2, 2)]" "effective effect"
decide paula rejected "$A2" >"$T/d3.txt" || fail "rejection"
grep -q "#$A2 is rejected for good (policy #$P)" "$T/d3.txt" || fail "rejected effect: $(cat "$T/d3.txt")"

# Item 10: approval status wherever an entry is printed.
A3=$(adj ana 12 --json | json seq)
as admin get "$A3" | grep -q "^#$A3 .*\[pending\]" || fail "get: no [pending]: $(as admin get "$A3")"
as admin get "$A3" | grep -q "approval: pending" || fail "get: no approval line"
as admin get "$A2" | grep -q "\[rejected\]" || fail "get: no [rejected]"
as admin --json get "$A3" >"$T/g.json"
check "$T/g.json" "d['status'] == 'pending'" "get --json status"
as admin --json list --kind adjustment >"$T/l.json"
check "$T/l.json" "[(e['seq'], e['status']) for e in d] == [($A1, 'effective'), ($A2, 'rejected'), ($A3, 'pending')]" "list --json status"
as admin list --kind adjustment >"$T/l.txt"
grep -q "^#$A2 .*\[rejected\]" "$T/l.txt" && grep -q "^#$A3 .*\[pending\]" "$T/l.txt" ||
    fail "list text status: $(cat "$T/l.txt")"
grep "^#$A1 " "$T/l.txt" | grep -Eq "\[(pending|rejected)\]" && fail "an effective entry is flagged: $(cat "$T/l.txt")"

# Item 13 (decisions): lowercase enums like everywhere else.
as admin decisions --initiative pricing >"$T/dec.txt"
grep -q "approved by paula (exception_handling)" "$T/dec.txt" || fail "decisions text: $(cat "$T/dec.txt")"
grep -q "[A-Z][A-Z]_[A-Z]" "$T/dec.txt" && fail "uppercase enum in decisions: $(cat "$T/dec.txt")"
as admin --json decisions --initiative pricing --approver quinn >"$T/dec.json"
check "$T/dec.json" "d[0]['outcome'] == 'approved' and d[0]['level'] == 'exception_handling' and d[0]['decided'][0]['entry']['status'] == 'effective'" "decisions JSON lowercase"

# Item 8: the drift detector's alert is raised in the measurement's commit
# and named in its answer (baseline 3 points, 2 recent points 10% lower).
D=$(as dash --json deployment --key "$T/dash.key" --author dash --initiative pricing \
    --version pricing-v1 --rollout-percent 10 --scope "all SKUs" | json seq)
measure() { # measure VALUE [loopctl options]
    local v=$1
    shift
    as dash "$@" measurement --key "$T/dash.key" --author dash --initiative pricing --link measures:$D \
        --source dashboard --observations.metric margin_rate --observations.value "$v" \
        --observations.unit % --observations.segment all
}
for v in 10 10 10 8; do measure $v >/dev/null || fail "measurement $v"; done
s1=$(size)
measure 8 --dry-run >"$T/m0.txt" || fail "dry-run measurement"
grep -q "would: alert #$((s1 + 1)) raised by the drift detector: margin_rate/all 10 -> 8" "$T/m0.txt" ||
    fail "dry-run drift effect: $(cat "$T/m0.txt")"
[[ $(size) == "$s1" ]] || fail "a dry-run measurement wrote (or raised) something"
measure 8 --json >"$T/m.json" || fail "measurement"
check "$T/m.json" "d['seq'] == $s1 and [(e['type'], e['seq']) for e in d['effects']] == [('alert_raised', $s1 + 1)]" "drift effect"
[[ $(size) == $((s1 + 2)) ]] || fail "the alert is not in the measurement's commit"
as admin --json get $((s1 + 1)) >"$T/al.json"
check "$T/al.json" "d['kind'] == 'alert' and d['author'] == 'loopledgerd' and d['alert']['detector'] == 'drift' and d['links'] == [{'relation': 'derived_from', 'target': $s1}]" "the raised alert"
measure 7 --json >"$T/m2.json" || fail "measurement"
check "$T/m2.json" "d['effects'] == []" "the detector fires once per episode"

# Item 14: --as-of takes a tree size or an RFC 3339 time (the last entry at
# or before it), for state, roadmap, readout and loop-health.
rfc3339() { # rfc3339 SEQ [DELTA_NS]: the entry's server time (+ delta), RFC 3339 with nanoseconds
    as admin --json get "$1" | /usr/bin/python3 -c '
import json, sys, time
ns = json.load(sys.stdin)["server_time_unix_nanos"] + int(sys.argv[1])
print(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9))' "${2:-0}"
}
as admin --json state pricing --as-of $((A1 + 1)) >"$T/st-size.json"
as admin --json state pricing --as-of "$(rfc3339 "$A1")" >"$T/st-time.json" || fail "state --as-of TIME"
cmp -s "$T/st-size.json" "$T/st-time.json" || fail "state as of A1's time differs from as of its size"
as admin --json state pricing --as-of "$(rfc3339 $((A1 + 1)) -1)" >"$T/st-time2.json"
cmp -s "$T/st-size.json" "$T/st-time2.json" || fail "a time just before the next entry is not the same size"
as admin --json state pricing --as-of "$(rfc3339 $((A1 + 1)))" >"$T/st-next.json"
cmp -s "$T/st-size.json" "$T/st-next.json" && fail "as of the next entry's time nothing changed"
check "$T/st-size.json" "d['adjustments_awaiting_approval_count'] == 1" "state as of A1"
[[ $(as admin --json roadmap --as-of "$(rfc3339 "$A1")" | json as_of_size) == $((A1 + 1)) ]] || fail "roadmap --as-of TIME"
as admin --json loop-health pricing --as-of "$(rfc3339 "$A1")" >/dev/null || fail "loop-health --as-of TIME"
out=$(as admin state pricing --as-of 2000-01-01T00:00:00Z 2>&1) && fail "as of a time before the ledger"
grep -q "the ledger has no entry at or before that time" <<<"$out" || fail "as-of before the ledger: $out"

# Item 13: KIND --help goes to stdout with the names the flags take, enum
# values and nested fields.
"$LOOPCTL" scaling-plan --help >"$T/help.txt" 2>"$T/help.err" || fail "scaling-plan --help"
[[ -s $T/help.err ]] && fail "--help wrote to stderr: $(cat "$T/help.err")"
grep -q "^  --considerations.change-management.training TEXT$" "$T/help.txt" || fail "nested field: $(cat "$T/help.txt")"
grep -q "^  --scenario VALUE .* one of: category_expansion traffic_share warehouse_network geography$" "$T/help.txt" ||
    fail "enum values: $(cat "$T/help.txt")"
grep -q "^  --from-scope TEXT$" "$T/help.txt" || fail "hyphen names: $(cat "$T/help.txt")"
grep -q "^  --phases.FIELD .*repeated" "$T/help.txt" || fail "repeated message: $(cat "$T/help.txt")"

# Item 13: numbers for people, columns that line up.
as ana roadmap-project --key "$T/ana.key" --author ana --initiative pricing \
    --title "Reprice the long tail" --status proposed --reach 3500000 --impact 2 --effort 3 >"$T/rp.txt" 2>&1 || fail "project: $(cat "$T/rp.txt")"
as admin roadmap >"$T/rm.txt"
grep -q "466,667 *3,500,000 *2 *3 " "$T/rm.txt" || fail "roadmap numbers: $(cat "$T/rm.txt")"
grep -q "e+0" "$T/rm.txt" && fail "exponent in roadmap: $(cat "$T/rm.txt")"
as admin lineage $((s1 + 1)) --back 3 --forward 0 >"$T/lin.txt"
/usr/bin/python3 - "$T/lin.txt" <<'PY' || fail "lineage columns: $(cat "$T/lin.txt")"
import sys
lines = open(sys.argv[1]).read().splitlines()
head = [l for l in lines if l.strip().startswith("SEQ")][0]
col = head.index("SUMMARY")
rows = [l for l in lines if l.strip().startswith(("#", "* #")) and "-> #" not in l]
assert rows and any("loopledgerd" in r for r in rows), rows
for r in rows:
    assert r[col - 1] == " " and r[col] != " ", (col, r)
PY

# Item 16: the link table from its one definition, documented in the README.
"$LOOPCTL" relations >"$T/rel.txt" || fail "relations"
grep -Eq "^deployment +implements +no +experiment adjustment scaling_plan$" "$T/rel.txt" || fail "relations: $(cat "$T/rel.txt")"
grep -Eq "^roadmap_project +spawned_by +yes +finding$" "$T/rel.txt" || fail "relations: $(cat "$T/rel.txt")"
"$LOOPCTL" --json relations >"$T/rel.json"
check "$T/rel.json" "{'source': 'adjustment', 'relation': 'addresses', 'cross_initiative': False, 'targets': ['alert', 'finding']} in d and len(d) == $(grep -c "^[a-z]" "$T/rel.txt") - 0" "relations --json"
README=$(dirname "$0")/../../README.md
while IFS= read -r line; do
    grep -qxF -- "$line" "$README" || fail "README does not show the link table line: $line"
done <"$T/rel.txt"
# ... and every loop rule's message, as the server words it.
for msg in "diagnose before prescribing: an adjustment must ADDRESS a finding with a diagnosis or a diagnosed alert" \
    "tested against a control before full deployment: widening" "at most 10% of traffic" \
    "has no charter yet: append an initiative entry first" "supersede that correction instead" \
    "its application is fixed by its first charter" "only note links may cross initiatives"; do
    grep -qF -- "$msg" "$README" || fail "README does not document: $msg"
done

stop_server
echo "e2e promises: ok"
