#!/usr/bin/env bash
# A governed initiative end to end (issue 11 items 1-5, "Done when"), over
# mTLS against a real loopledgerd: a policy, pending and rejected
# adjustments, refused deployments (nothing written), a second decision by
# the same approver refused, approval, an effective deployment completing a
# turn, a dry-run, a typo'd initiative, a superseded finding, a charter
# patch that keeps the KPIs and review cadences (item 6), a roadmap
# project's status updated by one entry and ranked once (item 7), a policy
# update that replaces the policy it follows. At every step
# GetInitiative (state), PendingApprovals (pending), ListOpenLoops
# (open-loops) and GetLoopHealth (loop-health) agree, live and as of every
# earlier step's size; so do the charter (phase, KPIs, loop health's
# cadences) and the ranking (RoadmapService.Prioritize).
source "$(dirname "$0")/lib.sh"
OPS=$(cd "$(dirname "$0")/../../ops" && pwd)
C=$T/certs
"$OPS/certs" "$C" admin ana sofia dana ben >/dev/null

start_server --tls-cert "$C/server.crt" --tls-key "$C/server.key" --tls-ca "$C/ca.crt"
as() {
    local who=$1
    shift
    "$LOOPCTL" --tls-ca "$C/ca.crt" --tls-cert "$C/$who.crt" --tls-key "$C/$who.key" "$@"
}
size() { as admin --json checkpoint | json tree_size; }
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
register sofia contributor
register dana approver
register ben approver

# What the four queries say about "pricing", at size N (empty: live), as
# one JSON line: {awaiting, pending, unacted, open_findings, acted_gap,
# undiagnosed, drift, stage, cycle}. pending and open-loops have no as-of:
# they are read live only, and the as-of answers are compared with what
# the live ones said at that size.
view() {
    local n=$1 asof=()
    [[ -n $n ]] && asof=(--as-of "$n")
    as admin --json state pricing "${asof[@]}" >"$T/v-state.json" || fail "state ${asof[*]}"
    as admin --json loop-health pricing "${asof[@]}" >"$T/v-health.json" || fail "loop-health ${asof[*]}"
    as admin --json roadmap --initiative pricing "${asof[@]}" >"$T/v-roadmap.json" || fail "roadmap ${asof[*]}"
    if [[ -z $n ]]; then
        as admin --json pending --initiative pricing >"$T/v-pending.json" || fail "pending"
        as admin --json open-loops --initiative pricing --kind finding >"$T/v-open.json" || fail "open-loops"
    else
        echo '[]' >"$T/v-pending.json"
        echo '{}' >"$T/v-open.json"
    fi
    /usr/bin/python3 - "$T" <<'PY'
import json, sys
t = sys.argv[1]
s = json.load(open(t + "/v-state.json"))
h = json.load(open(t + "/v-health.json"))["initiatives"][0]
p = json.load(open(t + "/v-pending.json"))
o = json.load(open(t + "/v-open.json")).get("loops", [])
r = json.load(open(t + "/v-roadmap.json")).get("projects", [])
print(json.dumps({
    "phase": s.get("phase", ""), "title": s.get("title", ""),
    "kpis": sorted(k["kpi"]["metric"] for k in s.get("kpis", [])),
    "cadences": sorted(c["cadence"] for c in h.get("cadences", [])),
    "projects": [[x["project"]["seq"], x.get("status", "")] for x in r],
    "awaiting": int(s.get("adjustments_awaiting_approval_count", 0)),
    "awaiting_seqs": sorted(r["seq"] for r in s.get("adjustments_awaiting_approval", [])),
    "pending_adj": sorted(x["entry"]["seq"] for x in p if x["entry"]["kind"] == "adjustment"),
    "unacted": int(s.get("unacted_findings_count", 0)),
    "unacted_seqs": sorted(r["seq"] for r in s.get("unacted_findings", [])),
    "open_findings": sorted(l["entry"]["seq"] for l in o),
    "health_unacted": int(h.get("findings", 0)) - int(h.get("findings_acted_on", 0)),
    "undiagnosed": int(s.get("undiagnosed_alerts_count", 0)),
    "drift": int(h.get("open_drift_alerts", 0)),
    "stage": s.get("stage", ""), "cycle": int(s.get("cycle", 0)),
    "health_cycles": int(h.get("cycles", 0)),
}, sort_keys=True))
PY
}

declare -A SEEN # size -> the live view at that size
agree() { # agree WHAT: the four agree now, and every earlier size still replays as it was
    local now live n past
    now=$(size)
    live=$(view "") || fail "$1: view"
    /usr/bin/python3 - "$live" "$1" <<'PY' || fail "$1: the live queries disagree: $live"
import json, sys
v = json.loads(sys.argv[1])
assert v["awaiting"] == len(v["pending_adj"]) and v["awaiting_seqs"] == v["pending_adj"], "awaiting"
assert v["unacted"] == len(v["open_findings"]) == v["health_unacted"], "unacted"
assert v["unacted_seqs"] == v["open_findings"], "unacted seqs"
assert v["undiagnosed"] == v["drift"], "alerts"
assert v["cycle"] == v["health_cycles"], "cycles"
PY
    SEEN[$now]=$live
    for n in "${!SEEN[@]}"; do
        past=$(view "$n") || fail "$1: view as of $n"
        /usr/bin/python3 - "${SEEN[$n]}" "$past" <<'PY' || fail "$1: as of size $n the answer changed: was ${SEEN[$n]}, now $past"
import json, sys
was, now = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for k in ("awaiting", "awaiting_seqs", "unacted", "unacted_seqs", "health_unacted",
          "undiagnosed", "drift", "stage", "cycle", "health_cycles", "phase", "title",
          "kpis", "cadences", "projects"):
    assert was[k] == now[k], k
PY
    done
}
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
refused_nothing_written() { # refused_nothing_written CODE NEEDLE cmd...
    local code=$1 needle=$2 before out
    shift 2
    before=$(size)
    if out=$("$@" 2>&1); then fail "expected $code from: $* (it succeeded: $out)"; fi
    grep -q "$code" <<<"$out" || fail "expected $code from: $*; got: $out"
    grep -qF -- "$needle" <<<"$out" || fail "expected '$needle' from: $*; got: $out"
    [[ $(size) == "$before" ]] || fail "a refusal wrote something: $*"
}

# ---- the initiative, its policy, its evidence ----
cat >"$T/policy.json" <<'JSON'
{"author": "admin", "policy": {"name": "price changes above 5%", "kinds": ["adjustment"],
 "application": "pricing", "threshold_field": "magnitude_percent", "threshold": 5,
 "level": "exception_handling", "approvals": 2}}
JSON
POL=$(as admin --json append --key "$T/admin.key" "$T/policy.json" | json seq) || fail "policy"
CH=$(as admin --json initiative --key "$T/admin.key" --author admin --initiative pricing \
    --title "Dynamic pricing" --application pricing --phase pilot \
    --review-cadences daily --review-cadences quarterly \
    --kpis.metric margin --kpis.target 0.3 --kpis.metric conversion --kpis.target 0.02 |
    json seq) || fail "charter"
finding() {
    as ana --json finding --key "$T/ana.key" --author ana --initiative pricing \
        --summary "$1" --evidence quantitative --source dashboard --diagnosis preference_shift | json seq
}
F1=$(finding "competitors undercut us on 40 SKUs")
F2=$(finding "basket size fell in DE")
F3=$(finding "duplicate of the undercut finding")
agree "findings"
as sofia deployment --key "$T/sofia.key" --author sofia --initiative pricing --version v1 \
    --rollout_percent 5 >/dev/null || fail "pilot deployment"
agree "pilot"

adj() { # adj MAGNITUDE FINDING -> seq
    as sofia --json adjustment --key "$T/sofia.key" --author sofia --initiative pricing \
        --category strategic_approach --change "reprice by $1%" --magnitude_percent "$1" \
        --link "addresses:$2" | json seq
}
# Under the threshold: no policy holds it, so it awaits nothing (item 3).
SMALL=$(adj 3 "$F1")
agree "an adjustment no policy covers"
v=$(view "")
[[ $(field "$v" awaiting) == 0 ]] || fail "an unheld adjustment counted as awaiting approval: $v"
[[ $(field "$v" stage) == adjust ]] || fail "the effective adjustment did not move the stage: $v"
# Deploying it completes a turn: it is in effect.
as sofia deployment --key "$T/sofia.key" --author sofia --initiative pricing --version v2 \
    --rollout_percent 5 --link "implements:$SMALL" >/dev/null || fail "deployment of an effective adjustment"
agree "first turn"
[[ $(field "$(view "")" cycle) == 1 ]] || fail "the first turn did not count"

# ---- pending and rejected ----
A1=$(adj 7 "$F2")
A2=$(adj 12 "$F2")
agree "two pending adjustments"
v=$(view "")
[[ $(field "$v" awaiting) == 2 ]] || fail "two held adjustments, awaiting: $v"
[[ $(field "$v" stage) == redeploy ]] || fail "a pending adjustment moved the stage: $v"
as dana decision --key "$T/dana.key" --author dana --initiative pricing --level exception_handling \
    --outcome rejected --rationale "too aggressive" --link "decides:$A2" >/dev/null || fail "rejection"
agree "one rejected"
[[ $(field "$(view "")" awaiting_seqs) == "[$A1]" ]] || fail "the rejected adjustment still awaits"
# Watch says what get says (WatchResponse.status).
as admin watch --from "$A1" --count 2 >"$T/watch.txt" || fail "watch"
grep -q "^#$A1 .*\[pending\]" "$T/watch.txt" && grep -q "^#$A2 .*\[rejected\]" "$T/watch.txt" ||
    fail "watch does not show the approval status: $(cat "$T/watch.txt")"

# ---- refused deployments: nothing written (item 1) ----
deploy() { as sofia deployment --key "$T/sofia.key" --author sofia --initiative pricing --version v3 --rollout_percent 5 "$@"; }
refused_nothing_written FAILED_PRECONDITION "#$A1 needs 2 more approvals at exception_handling (policy #$POL)" \
    deploy --link "implements:$A1"
refused_nothing_written FAILED_PRECONDITION "#$A2 was rejected by dana" deploy --link "implements:$A2"
# A dry-run says the same and writes nothing either.
refused_nothing_written FAILED_PRECONDITION "#$A1 needs 2 more approvals" deploy --link "implements:$A1" --dry-run
agree "refusals"
[[ $(field "$(view "")" cycle) == 1 ]] || fail "a refused deployment completed a turn"

# ---- approval: distinct approvers (item 2) ----
as dana decision --key "$T/dana.key" --author dana --initiative pricing --level exception_handling \
    --outcome approved --rationale "margins hold" --link "decides:$A1" >/dev/null || fail "approval 1"
refused_nothing_written ALREADY_EXISTS "\"dana\" already decided #$A1" \
    as dana decision --key "$T/dana.key" --author dana --initiative pricing --level exception_handling \
    --outcome approved --rationale "again" --link "decides:$A1"
refused_nothing_written FAILED_PRECONDITION "#$A1 needs 1 more approval at exception_handling" \
    deploy --link "implements:$A1"
agree "one approval"
BEFORE_EFFECTIVE=$(size)
as ben decision --key "$T/ben.key" --author ben --initiative pricing --level exception_handling \
    --outcome approved --rationale "approved for DE" --link "decides:$A1" >/dev/null || fail "approval 2"
agree "effective"
v=$(view "")
[[ $(field "$v" awaiting) == 0 && $(field "$v" stage) == adjust ]] || fail "the approved adjustment: $v"
[[ $(field "$(view "$BEFORE_EFFECTIVE")" stage) == redeploy ]] || fail "as of before the approval the stage moved"

# ---- dry-run, then the effective deployment ----
s=$(size)
deploy --link "implements:$A1" --dry-run >"$T/dry.txt" || fail "dry-run of the now-allowed deployment"
[[ $(size) == "$s" ]] || fail "the dry-run wrote something"
deploy --link "implements:$A1" >/dev/null || fail "the effective deployment"
agree "second turn"
v=$(view "")
[[ $(field "$v" cycle) == 2 && $(field "$v" stage) == redeploy ]] || fail "second turn: $v"

# ---- a typo names no initiative (item 5) ----
refused_nothing_written NOT_FOUND 'no initiative "pricng"; closest: "pricing"' \
    as ana append --key "$T/ana.key" --author ana --initiative pricng --note "typo"
as ana append --key "$T/ana.key" --author ana --note "no initiative at all" >/dev/null || fail "a note may name none"

# ---- a superseded finding is not open anywhere (item 4) ----
as ana correction --key "$T/ana.key" --author ana --initiative pricing \
    --reason "duplicate of #$F1" --link "supersedes:$F3" >/dev/null || fail "correction"
agree "superseded finding"
v=$(view "")
grep -q "$F3" <<<"$(field "$v" open_findings)" && fail "the superseded finding is still open: $v"

# ---- a charter patch keeps what it does not name (item 6) ----
v=$(view "")
[[ $(field "$v" cadences) == "['daily', 'quarterly']" && $(field "$v" kpis) == "['conversion', 'margin']" ]] ||
    fail "the charter's cadences and KPIs: $v"
charter() { as admin --json initiative --key "$T/admin.key" --author admin --initiative pricing "$@"; }
BEFORE_PATCH=$(size)
# The issue's command: a follow-up charter naming only the phase.
charter --link "follows:$CH" --phase scaling >"$T/patch.json" || fail "charter patch"
PATCH=$(json seq <"$T/patch.json")
/usr/bin/python3 - "$T/patch.json" <<'PY' || fail "the Append answer's effective record: $(cat "$T/patch.json")"
import json, sys
c = json.load(open(sys.argv[1]))["effective"]["charter"]
assert c["phase"] == "scaling" and c["title"] == "Dynamic pricing", c
assert c["review_cadences"] == ["daily", "quarterly"], c
assert [k["metric"] for k in c["kpis"]] == ["margin", "conversion"], c
PY
agree "charter patch"
v=$(view "")
[[ $(field "$v" phase) == scaling && $(field "$v" title) == "Dynamic pricing" ]] || fail "after the patch: $v"
[[ $(field "$v" cadences) == "['daily', 'quarterly']" && $(field "$v" kpis) == "['conversion', 'margin']" ]] ||
    fail "the patch dropped cadences or KPIs: $v"
[[ $(field "$(view "$BEFORE_PATCH")" phase) == pilot ]] || fail "as of before the patch the phase moved"
as admin --json get "$PATCH" >"$T/get-patch.json" || fail "get patch"
/usr/bin/python3 - "$T/get-patch.json" <<'PY' || fail "get of the patch: $(cat "$T/get-patch.json")"
import json, sys
g = json.load(open(sys.argv[1]))
assert g["update_mask"] == ["phase"], g
assert g["effective"]["charter"]["review_cadences"] == ["daily", "quarterly"], g
assert g["charter"].get("title", "") == "", g  # the leaf keeps the patch as signed
PY
[[ $(as admin --json get "$CH" | json updated_by) == "$PATCH" ]] || fail "get of the old charter names no update"
as admin get "$PATCH" | grep -q "record after the update:" || fail "get does not show the effective record"
# Bad paths, a cleared required field, a fork: refused, nothing written.
refused_nothing_written INVALID_ARGUMENT '"cadences" is not a field of initiative (valid paths: title,' \
    charter --link "follows:$PATCH" --update-mask cadences
refused_nothing_written INVALID_ARGUMENT "title is required" \
    charter --link "follows:$PATCH" --update-mask title
refused_nothing_written FAILED_PRECONDITION "#$CH was already updated by #$PATCH" \
    charter --link "follows:$CH" --phase full
# --replace keeps the full replacement (what a mask-less entry always meant).
charter --link "follows:$PATCH" --replace --title "Dynamic pricing" --application pricing \
    --phase scaling --dry-run >"$T/replace.json" || fail "dry-run of a replacement"
grep -q '"effective":{' "$T/replace.json" && fail "a replacement is not a patch: $(cat "$T/replace.json")"

# ---- one entry updates a roadmap project (item 7) ----
project() { as ana --json roadmap-project --key "$T/ana.key" --author ana --initiative pricing "$@" | json seq; }
P1=$(project --link "spawned_by:$F1" --title "Competitor price tracker" --application pricing \
    --reach 1000 --impact 2 --effort 3 --status proposed) || fail "roadmap project"
BEFORE_STATUS=$(size)
P2=$(project --link "follows:$P1" --status in_progress) || fail "status update"
agree "project status update"
v=$(view "")
[[ $(field "$v" projects) == "[[$P2, 'in_progress']]" ]] || fail "the ranking after the update: $v"
[[ $(field "$(view "$BEFORE_STATUS")" projects) == "[[$P1, 'proposed']]" ]] || fail "the ranking as of before the update"
as admin --json roadmap --initiative pricing >"$T/rank.json"
/usr/bin/python3 - "$T/rank.json" <<'PY' || fail "the updated project's ranking: $(cat "$T/rank.json")"
import json, sys
p = json.load(open(sys.argv[1]))["projects"]
assert len(p) == 1 and p[0]["title"] == "Competitor price tracker", p
assert p[0]["reach"] == 1000 and not p[0].get("speculative", False), p  # evidence of #P1 counts
PY

# ---- a policy update takes the place of the policy it follows ----
POL2=$(as admin --json policy --key "$T/admin.key" --author admin --link "follows:$POL" \
    --approvals 1 | json seq) || fail "policy patch"
A3=$(adj 9 "$F2")
agree "policy patch"
refused_nothing_written FAILED_PRECONDITION "#$A3 needs 1 more approval at exception_handling (policy #$POL2)" \
    deploy --link "implements:$A3"
as admin --json pending --initiative pricing | grep -q "\"price changes above 5%\"" ||
    fail "the updated policy lost its name"

stop_server
echo "e2e gated: ok"
