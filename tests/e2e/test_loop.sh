#!/usr/bin/env bash
# The closed loop end to end over gRPC: a real loopledgerd, the demo
# (ops/demo/load) loaded through loopctl's per-kind commands, then
# LoopService answers (GetInitiative, GetLineage, ListOpenLoops), the
# ListEntries filters, every loop rule refusing with its status code and
# writing nothing, and Corrections marking superseded entries everywhere.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
lc() { "$LOOPCTL" "$@"; }

# check FILE PY MESSAGE: over the JSON document d, PY ("stmt; ...; expr")
# must end in a true expression.
check() {
    python3 - "$1" "$2" <<'PY' || fail "$3 ($2 on $(head -c 600 "$1"))"
import json, sys
env = {"d": json.load(open(sys.argv[1])),
       "seqs": lambda refs: sorted(r["seq"] for r in refs)}
*pre, last = sys.argv[2].split("; ")
exec("\n".join(pre), env)
sys.exit(0 if eval(last, env) else 1)
PY
}
size() { lc --json checkpoint | json tree_size; }
# refuse CODE cmd...: fails with that gRPC status and writes nothing.
refuse() {
    local before
    before=$(size)
    expect_status "$@"
    [[ $(size) == "$before" ]] || fail "refused $* but the tree grew"
}

start_server

# ---- the demo, loaded once ----
bash "$ROOT/ops/demo/load" --server "$SERVER" --admin-key "$T/admin.key" --keys "$T/keys" \
    --loopctl "$LOOPCTL" --seqs "$T/seqs" >"$T/demo.log" 2>&1 || fail "demo: $(cat "$T/demo.log")"
s() { awk -v n="$1" '$1 == n {print $2}' "$T/seqs"; }
for n in charter pilot pilot_metrics gap_finding hypothesis experiment ab_metrics conclusion \
    adjustment approval widening review scaling_plan roadmap_project open_finding; do
    [[ -n $(s $n) ]] || fail "demo did not record $n"
done
n_demo=$(size)
bash "$ROOT/ops/demo/load" --server "$SERVER" --admin-key "$T/admin.key" --keys "$T/keys" \
    --loopctl "$LOOPCTL" >"$T/demo2.log" 2>&1 || fail "demo rerun failed: $(cat "$T/demo2.log")"
grep -q "nothing to load" "$T/demo2.log" || fail "demo rerun did not notice the loaded demo"
[[ $(size) == "$n_demo" ]] || fail "demo rerun wrote entries"

K() { echo "$T/keys/$1.key"; }
ana() { lc --json "$1" --key "$(K ana)" --author ana --initiative reco-engine "${@:2}"; }

# ---- GetInitiative ----
lc --json state reco-engine >"$T/st.json"
check "$T/st.json" 'd["phase"] == "pilot" and d["application"] == "recommendation"' "phase/application"
check "$T/st.json" 'd["title"] == "Recommendation engine pilot"' "title"
check "$T/st.json" "d['charter']['seq'] == $(s charter)" "charter ref"
# deploy, measure, learn, adjust, then the widening deployment: one turn.
check "$T/st.json" "d['cycle'] == 1 and d['stage'] == 'redeploy' and d['stage_entry']['seq'] == $(s widening)" "cycle/stage"
check "$T/st.json" 'd["max_rollout_percent"] == 50 and d["entries"] == 14' "rollout/entries"
# The concluding finding was acted on (adjustment, roadmap project); only
# the demo's qualitative finding is left open.
check "$T/st.json" "d['unacted_findings_count'] == 1 and seqs(d['unacted_findings']) == [$(s open_finding)]" "unacted findings"
check "$T/st.json" 'd["running_experiments_count"] == 0' "experiment concluded"
check "$T/st.json" 'd["open_hypotheses_count"] == 0 and d["adjustments_awaiting_approval_count"] == 0' "hypothesis resolved, adjustment approved"
check "$T/st.json" 'd["undiagnosed_alerts_count"] == 0 and d["overdue_reviews"] == []' "alerts/reviews"
check "$T/st.json" "len(d['scaling_plans']) == 1 and d['scaling_plans'][0]['plan']['seq'] == $(s scaling_plan)" "scaling plan listed"
check "$T/st.json" 'p = d["scaling_plans"][0]; p["ready"] and p["addressed"] == p["required"] == 7 and p["missing"] == []' "scaling readiness"
lc state reco-engine >"$T/st.txt"
grep -q "phase pilot   cycle 1   stage redeploy" "$T/st.txt" || fail "human state: $(cat "$T/st.txt")"
grep -q "readiness 7/7: READY" "$T/st.txt" || fail "human state lacks readiness"
lc --json state catalog-content >"$T/cc.json"
check "$T/cc.json" 'd["phase"] == "proposed" and d["entries"] == 1 and "charter" not in d' "initiative started by the roadmap project"
expect_status NOT_FOUND lc state no-such-initiative

# A scaling plan missing considerations is not ready, and says what is missing.
ana scaling-plan --scenario traffic_share --to_scope "100% of sessions" \
    --considerations.data_infrastructure "capacity tested" >"$T/sp.json"
lc --json state reco-engine >"$T/st.json"
check "$T/st.json" "p = [x for x in d['scaling_plans'] if x['plan']['seq'] == $(json seq <"$T/sp.json")][0]; not p['ready'] and p['addressed'] == 1 and 'budget_roi' in p['missing'] and 'change_management' in p['missing']" "incomplete scaling plan"

# ---- GetLineage ----
rp=$(s roadmap_project)
lc --json lineage "$rp" --back 5 --forward 0 >"$T/lin.json"
check "$T/lin.json" "d['root'] == $rp and not d['truncated']" "lineage root"
for n in conclusion hypothesis experiment ab_metrics gap_finding pilot_metrics pilot; do
    check "$T/lin.json" "$(s $n) in seqs(d['nodes'])" "lineage of the roadmap project reaches $n"
done
check "$T/lin.json" "$(s charter) not in seqs(d['nodes']) and $(s adjustment) not in seqs(d['nodes'])" "lineage stays on the links"
check "$T/lin.json" "{'source': $rp, 'relation': 'spawned_by', 'target': $(s conclusion)} in d['edges']" "spawned_by edge"
check "$T/lin.json" "{'source': $(s conclusion), 'relation': 'concludes', 'target': $(s experiment)} in d['edges']" "concludes edge"
check "$T/lin.json" "{'source': $(s experiment), 'relation': 'tests', 'target': $(s hypothesis)} in d['edges']" "tests edge"
lc --json lineage "$rp" --back 1 --forward 0 >"$T/lin1.json"
check "$T/lin1.json" "seqs(d['nodes']) == sorted([$rp, $(s conclusion)])" "one hop back"
lc --json lineage "$(s hypothesis)" --back 0 --forward 1 >"$T/fw.json"
check "$T/fw.json" "seqs(d['nodes']) == sorted([$(s hypothesis), $(s experiment), $(s conclusion)])" "one hop forward"
lc lineage "$rp" --back 5 --forward 0 | grep -q "#$rp -spawned_by-> #$(s conclusion)" || fail "human lineage edges"
expect_status NOT_FOUND lc lineage 99999

# ---- ListEntries filters ----
count() { lc --json list "$@" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
[[ $(count --initiative catalog-content) == 1 ]] || fail "filter initiative"
[[ $(count --initiative reco-engine --kind finding) == 3 ]] || fail "filter initiative+kind"
[[ $(count --kind experiment) == 1 ]] || fail "filter kind"
[[ $(count --author dashboards) == 2 ]] || fail "filter author"
[[ $(count --author ana --kind finding) == 3 ]] || fail "filter author+kind"
[[ $(count --kind actor) == 7 ]] || fail "filter kind actor"
lc --json list --kind scaling-plan --initiative reco-engine >"$T/l.json"
check "$T/l.json" 'all(e["kind"] == "scaling_plan" and "scaling_plan" in e for e in d)' "list --json carries the body"
lc --json get "$(s hypothesis)" >"$T/h.json"
lc --json get "$(s experiment)" >"$T/e.json"
th=$(json server_time_unix_nanos <"$T/h.json")
te=$(json server_time_unix_nanos <"$T/e.json")
th_rfc=$(python3 -c 'import sys,time; n=int(sys.argv[1]); print(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(n // 10**9)) + ".%09dZ" % (n % 10**9))' "$th")
lc --json list --since "$th_rfc" --until "$te" >"$T/tr.json"
check "$T/tr.json" "[e['seq'] for e in d] == [$(s hypothesis), $(s open_finding)]" "time range [hypothesis, experiment)"
lc --json list --since "$te" --until "$te" >"$T/tr0.json"
check "$T/tr0.json" 'd == []' "empty time range"
[[ $(count --since "$th" --kind measurement) == 1 ]] || fail "time + kind"
check "$T/h.json" 'd["hypothesis"]["expected_effect"]["direction"] == "increase" and d["links"][0]["relation"] == "derived_from"' "get --json body"

# ---- ListOpenLoops: open one of each, see them, close two ----
lc --json open-loops --initiative reco-engine >"$T/ol.json"
check "$T/ol.json" "[(l['kind'], l['entry']['seq']) for l in d['loops']] == [('finding_not_acted_on', $(s open_finding))]" "demo leaves one open loop"
F2=$(ana finding --summary "Survey: shoppers miss size charts" --evidence qualitative --source user_survey | json seq)
H2=$(ana hypothesis --statement "Size charts raise conversion" --expected_effect.metric conversion_rate \
    --expected_effect.direction increase | json seq)
E2=$(lc --json experiment --key "$(K leo)" --author leo --initiative reco-engine --title "Ranking tweak" \
    --primary_metric click_through_rate --control.name control --variants.name boost \
    --variants.allocation_percent 50 --link "tests:$(s hypothesis)" | json seq)
A2=$(lc --json alert --key "$(K dashboards)" --author dashboards --initiative reco-engine \
    --metric click_through_rate --segment electronics --baseline 7.4 --current 5.1 \
    --detector acute_drop --link "derived_from:$(s pilot_metrics)" | json seq)
lc --json open-loops >"$T/ol.json"
for pair in "finding_not_acted_on $F2" "hypothesis_not_tested $H2" "experiment_not_concluded $E2" "alert_not_diagnosed $A2"; do
    set -- $pair
    check "$T/ol.json" "['$1'] == [l['kind'] for l in d['loops'] if l['entry']['seq'] == $2]" "open loop $1 #$2"
done
check "$T/ol.json" 'len(d["loops"]) == 5' "exactly the four new open loops and the demo one"
for k in finding:$F2 hypothesis:$H2 experiment:$E2 alert:$A2; do
    lc --json open-loops --kind "${k%%:*}" --initiative reco-engine >"$T/olk.json"
    want=${k#*:}
    [[ ${k%%:*} == finding ]] && want="$(s open_finding), $want"
    check "$T/olk.json" "[l['entry']['seq'] for l in d['loops']] == [$want]" "open-loops --kind ${k%%:*}"
done
lc open-loops | grep -q "alert not diagnosed" || fail "human open-loops"
lc --json state reco-engine >"$T/st.json"
check "$T/st.json" "d['unacted_findings_count'] == 2 and seqs(d['unacted_findings']) == sorted([$F2, $(s open_finding)])" "state: unacted findings"
check "$T/st.json" "d['running_experiments_count'] == 1 and d['undiagnosed_alerts_count'] == 1 and d['open_hypotheses_count'] == 1" "state counts"

# ---- loop rules: refusals (status, nothing written) and acceptances ----
refuse FAILED_PRECONDITION lc adjustment --key "$(K sofia)" --author sofia --initiative reco-engine \
    --category algorithm --change "retrain on recent interactions" --link "addresses:$A2"
refuse FAILED_PRECONDITION lc deployment --key "$(K raj)" --author raj --initiative reco-engine \
    --version reco-v2 --rollout_percent 100
refuse FAILED_PRECONDITION lc deployment --key "$(K raj)" --author raj --initiative reco-engine \
    --version reco-v2 --rollout_percent 100 --link "cites:$E2"
refuse FAILED_PRECONDITION ana hypothesis --statement x --link "concludes:$(s experiment)"
refuse FAILED_PRECONDITION ana finding --summary x --evidence quantitative --source dashboard \
    --link "concludes:$(s hypothesis)"
lc --json initiative --key "$(K maya)" --author maya --initiative chatbot --title "Support chatbot" \
    --application chatbot --phase proposed >/dev/null
refuse FAILED_PRECONDITION lc hypothesis --key "$(K ana)" --author ana --initiative chatbot \
    --statement "borrowed evidence" --link "derived_from:$(s gap_finding)"
refuse NOT_FOUND lc hypothesis --key "$(K ana)" --author ana --initiative uncharted \
    --statement "no charter"
refuse INVALID_ARGUMENT ana hypothesis --rationale "no statement"
refuse INVALID_ARGUMENT lc experiment --key "$(K leo)" --author leo --initiative reco-engine \
    --title "no control" --primary_metric conversion_rate --variants.name v
cat >"$T/bad_enum.json" <<JSON
{"author": "maya", "initiative": "reco-engine",
 "charter": {"title": "Recommendation engine pilot", "application": "recommendation", "phase": 99}}
JSON
refuse INVALID_ARGUMENT lc append --key "$(K maya)" "$T/bad_enum.json"
# Client-side: unknown enum names and fields never reach the server.
out=$(lc hypothesis --key "$(K ana)" --author ana --initiative reco-engine --statement x \
    --expected_effect.direction sideways 2>&1) && fail "unknown enum name accepted"
grep -q "unknown Direction \"sideways\"" <<<"$out" || fail "unknown enum message: $out"
cat >"$T/typo.json" <<JSON
{"author": "leo", "initiative": "reco-engine",
 "experiment": {"title": "t", "primary_metric": "m", "control": {"nmae": "control"}}}
JSON
out=$(lc append --key "$(K leo)" "$T/typo.json" 2>&1) && fail "unknown field accepted"
grep -q "experiment.control.nmae: unknown field" <<<"$out" || fail "unknown field message: $out"

# Diagnose, then prescribe: the same adjustment is accepted once a finding
# DIAGNOSES the alert, which leaves the open loops.
F3=$(lc --json finding --key "$(K ana)" --author ana --initiative reco-engine \
    --summary "CTR drop in electronics follows a catalog feed outage" --evidence quantitative \
    --source monitoring --diagnosis infrastructure --link "diagnoses:$A2" | json seq)
lc --json adjustment --key "$(K sofia)" --author sofia --initiative reco-engine \
    --category data_input --change "alert on feed freshness" --link "addresses:$A2" >/dev/null ||
    fail "adjustment addressing a diagnosed alert refused"
# Concluding E2 closes it; an approved exception-handling decision also
# lets a deployment widen.
lc --json finding --key "$(K ana)" --author ana --initiative reco-engine --summary "no effect" \
    --evidence quantitative --source ab_test --link "concludes:$E2" >/dev/null
D2=$(lc --json decision --key "$(K dana)" --author dana --initiative reco-engine \
    --level exception_handling --outcome approved --rationale "peak season" \
    --link "decides:$(s widening)" | json seq)
lc --json deployment --key "$(K raj)" --author raj --initiative reco-engine --version reco-v1.2 \
    --rollout_percent 70 --link "cites:$D2" >/dev/null || fail "widening with an approved exception refused"
lc --json open-loops --initiative reco-engine >"$T/ol2.json"
check "$T/ol2.json" "$A2 not in [l['entry']['seq'] for l in d['loops']] and $E2 not in [l['entry']['seq'] for l in d['loops']]" "closed loops disappear"
check "$T/ol2.json" "$F2 in [l['entry']['seq'] for l in d['loops']] and $H2 in [l['entry']['seq'] for l in d['loops']]" "open loops stay"

# ---- Corrections ----
C1=$(ana correction --reason "duplicate of an earlier survey finding" --link "supersedes:$F2" | json seq)
lc --json get "$F2" >"$T/f2.json"
check "$T/f2.json" "d['superseded'] is True and d['superseded_by'] == $C1" "get marks superseded"
lc --json get "$(s gap_finding)" >"$T/g.json"
check "$T/g.json" '"superseded" not in d' "get of a standing entry"
lc get "$F2" | grep -q "superseded by #$C1" || fail "human get: superseded"
lc --json state reco-engine >"$T/st.json"
# A superseded entry is not open: neither state nor open-loops lists it.
check "$T/st.json" "$F2 not in [r['seq'] for r in d.get('unacted_findings', [])]" "state drops the superseded finding"
lc --json lineage "$C1" --back 1 --forward 0 >"$T/cl.json"
check "$T/cl.json" "[n['superseded'] for n in d['nodes'] if n['seq'] == $F2] == [True] and {'source': $C1, 'relation': 'supersedes', 'target': $F2} in d['edges']" "lineage marks superseded"
lc --json open-loops --kind finding >"$T/olf.json"
check "$T/olf.json" "$F2 not in [l['entry']['seq'] for l in d['loops']]" "open-loops drops the superseded finding"
refuse FAILED_PRECONDITION ana correction --reason again --link "supersedes:$F2"
refuse INVALID_ARGUMENT ana correction --reason "supersedes nothing"
lc --json get "$F3" >/dev/null

# ---- printing every kind ----
lc list --initiative reco-engine >"$T/list.txt"
for k in initiative deployment measurement finding hypothesis experiment adjustment decision review scaling_plan alert correction; do
    grep -q " $k " "$T/list.txt" || fail "list does not show a $k"
done
lc get "$(s scaling_plan)" | grep -q "champions: one merchandiser per category" || fail "get shows nested fields"
lc watch --from "$(s roadmap_project)" --count 1 | grep -q "Identify underperforming product content" ||
    fail "watch shows the roadmap project"
echo "e2e_loop: ok"
