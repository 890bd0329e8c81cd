#!/usr/bin/env bash
# Experiments with pre-registered plans, end to end over gRPC (issue 15):
# the demo's planned experiment reads out SHIP with its plan, SRM,
# guardrails and power; an SRM failure is untrustworthy and named first; a
# Finding that concludes against the verdict stays pending until an
# approver decides it; widening a rollout needs a ship verdict or that
# approval; a fixed-horizon test ended short is underpowered; a plan
# amended after the data is named; sequential plans carry always-valid
# p-values; bad plans are refused with nothing written; KPIs are compared
# with their targets in GetInitiative and `loopctl state`.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
lc() { "$LOOPCTL" "$@"; }
size() { lc --json checkpoint | json tree_size; }
# check FILE PY MESSAGE: PY over the JSON document d must be true.
check() {
    python3 - "$1" "$2" <<'PY' || fail "$3 ($2 on $(head -c 1500 "$1"))"
import json, sys
d = json.load(open(sys.argv[1]))
*pre, last = sys.argv[2].split("; ")
exec("\n".join(pre))
sys.exit(0 if eval(last) else 1)
PY
}
refuse() {
    local before
    before=$(size)
    expect_status "$@"
    [[ $(size) == "$before" ]] || fail "refused $* but the tree grew"
}

start_server
bash "$ROOT/ops/demo/load" --server "$SERVER" --admin-key "$T/admin.key" --keys "$T/keys" \
    --loopctl "$LOOPCTL" --seqs "$T/seqs" >"$T/demo.log" 2>&1 || fail "demo: $(cat "$T/demo.log")"
s() { awk -v n="$1" '$1 == n { print $2 }' "$T/seqs"; }
K=$T/keys
INI=reco-engine
# add AUTHOR KIND JSON [loopctl args...]: appends, prints the seq.
add() {
    local who=$1 kind=$2 body=$3 out
    shift 3
    printf '%s\n' "$body" >"$T/body.json"
    out=$(lc --json "$kind" --key "$K/$who.key" --author "$who" --initiative "$INI" \
        --json "$T/body.json" "$@" 2>&1) || fail "append $kind by $who: $out"
    sed -n 's/^{"seq":\([0-9]*\),.*/\1/p' <<<"$out"
}

# ---- the demo's planned experiment ----
E=$(s experiment)
lc --json readout "$E" >"$T/r.json"
check "$T/r.json" 'd["verdict"] == "ship" and d["verdict_variant"] == "ai_content" and d["trustworthy"]' \
    "the demo experiment does not read out ship"
check "$T/r.json" 'p = d["plan"]; p["has_plan"] and p["recorded_before_data"] and p["plan_seq"] == '"$E"' and p["first_measurement_seq"] == '"$(s ab_metrics)"' and p["plan"]["sample_size_per_arm"] == 24910 and p["sample_size_computed"]' \
    "the demo plan's provenance or computed sample size is wrong"
check "$T/r.json" 's = d["srm"]; s["checked"] and not s["mismatch"] and abs(s["p_value"] - 0.41422) < 1e-4' \
    "the demo's SRM check is wrong"
check "$T/r.json" 'g = {x["metric"]: x for x in d["guardrails"]}; not g["return_rate"]["breached"] and g["return_rate"]["test"] == "two_proportion_z" and g["page_load_ms"]["test"] == "unspecified" and g["page_load_ms"]["note"]' \
    "the demo's guardrails are wrong"
check "$T/r.json" 'v = d["variants"][0]; v["verdict"] == "ship" and abs(v["corrected_p_value"] - v["p_value"]) < 1e-15 and 0.8 < v["power"] < 0.95 and d["sample_progress"] > 1' \
    "the demo's variant readout is wrong"
lc readout "$E" >"$T/r.txt"
grep -q "^VERDICT   SHIP ai_content" "$T/r.txt" || fail "readout table: no verdict line ($(cat "$T/r.txt"))"
grep -q "before the first measurement #$(s ab_metrics)" "$T/r.txt" || fail "readout table: no plan provenance"
grep -q "^SRM       ok" "$T/r.txt" || fail "readout table: no SRM line"
grep -q "^return_rate .* ok$" "$T/r.txt" || fail "readout table: no guardrail line"

# ---- bad plans are refused, nothing written ----
XP='"title": "t", "control": {"name": "control", "allocation_percent": 50}, "variants": [{"name": "b", "allocation_percent": 50}], "primary_metric": "conversion_rate"'
printf '{%s, "plan": {"mde_percent": 10, "sample_size_per_arm": 100}}\n' "$XP" >"$T/bad.json"
refuse INVALID_ARGUMENT lc experiment --key "$K/leo.key" --author leo --initiative "$INI" --json "$T/bad.json"
printf '{%s, "plan": {"direction": "increase", "mde_percent": 10}}\n' "$XP" >"$T/bad.json"
refuse INVALID_ARGUMENT lc experiment --key "$K/leo.key" --author leo --initiative "$INI" --json "$T/bad.json"
printf '{%s, "plan": {"direction": "increase", "mde_percent": 10, "sample_size_per_arm": 100, "analysis": "sequential"}}\n' "$XP" >"$T/bad.json"
refuse INVALID_ARGUMENT lc experiment --key "$K/leo.key" --author leo --initiative "$INI" --json "$T/bad.json"

# ---- SRM: untrustworthy, said first; a ship conclusion waits for an approver ----
PLAN='"plan": {"direction": "increase", "mde_percent": 10, "baseline_rate": 0.1, "sample_size_per_arm": 5000, "correction": "holm"}'
B=$(add leo experiment "{$XP, $PLAN}" --link "tests:$(s hypothesis)")
add dashboards measurement '{"source": "ab", "observations": [
  {"metric": "conversion_rate", "value": 10.0, "unit": "%", "arm": "control", "sample_size": 5000},
  {"metric": "conversion_rate", "value": 12.0, "unit": "%", "arm": "b", "sample_size": 5600}]}' \
    --link "measures:$B" >/dev/null
lc --json readout "$B" >"$T/rb.json"
check "$T/rb.json" 'd["verdict"] == "untrustworthy" and not d["trustworthy"] and d["srm"]["mismatch"] and d["srm"]["p_value"] < 1e-3 and d["verdict_variant"] == ""' \
    "an SRM failure is not untrustworthy"
lc readout "$B" | head -1 | grep -q "^UNTRUSTWORTHY" || fail "the readout table does not say untrustworthy first"
F=$(add ana finding '{"summary": "b wins", "evidence": "quantitative", "source": "ab_test", "verdict": "ship", "variant": "b"}' \
    --link "concludes:$B")
lc --json pending >"$T/p.json"
check "$T/p.json" 'p = [x for x in d if x["entry"]["seq"] == '"$F"']; p and p[0]["policy_seq"] == '"$B"' and "contradicts" in p[0]["policy"] and p[0]["level"].lower() == "review_and_approval"' \
    "a ship conclusion on an SRM-failed test is not pending"
W='{"version": "v2", "scope": "all", "rollout_percent": 75}'
printf '%s\n' "$W" >"$T/w.json"
refuse FAILED_PRECONDITION lc deployment --key "$K/raj.key" --author raj --initiative "$INI" \
    --json "$T/w.json" --link "cites:$B"
add dana decision '{"level": "review_and_approval", "outcome": "approved", "rationale": "assignment bug understood; effect holds per segment"}' \
    --link "decides:$F" >/dev/null
lc --json pending | grep -q "\"seq\":$F," && fail "the approver's decision did not make the finding effective"
# The approved override is the exception that lets the rollout widen.
add raj deployment "$W" --link "cites:$B" >/dev/null

# ---- a fixed-horizon test ended short: underpowered, no rollout on it ----
C=$(add leo experiment "{$XP, $PLAN}" --link "tests:$(s hypothesis)")
M=$(add dashboards measurement '{"source": "ab", "observations": [
  {"metric": "conversion_rate", "value": 10.0, "unit": "%", "arm": "control", "sample_size": 1000},
  {"metric": "conversion_rate", "value": 13.0, "unit": "%", "arm": "b", "sample_size": 1000}]}' \
    --link "measures:$C")
lc --json readout "$C" >"$T/rc.json"
check "$T/rc.json" 'd["verdict"] == "keep_running" and abs(d["sample_progress"] - 0.2) < 1e-12 and not d["underpowered"]' \
    "a fixed-horizon test at 20% of its sample is not keep running"
FC=$(add ana finding '{"summary": "stopped early", "evidence": "quantitative", "source": "ab_test", "verdict": "inconclusive"}' \
    --link "concludes:$C")
lc --json pending | grep -q "\"seq\":$FC," && fail "an inconclusive call on an underpowered test was held"
lc --json readout "$C" >"$T/rc.json"
check "$T/rc.json" 'd["verdict"] == "inconclusive" and d["underpowered"] and "underpowered" in d["verdict_reason"]' \
    "a test concluded short is not underpowered"
printf '{"version": "v3", "scope": "all", "rollout_percent": 100}\n' >"$T/w.json"
refuse FAILED_PRECONDITION lc deployment --key "$K/raj.key" --author raj --initiative "$INI" \
    --json "$T/w.json" --link "cites:$C"
lc deployment --key "$K/raj.key" --author raj --initiative "$INI" --json "$T/w.json" \
    --link "cites:$C" >"$T/wout.txt" 2>&1 || true
grep -q "verdict is \"inconclusive\"" "$T/wout.txt" || fail "the rollout refusal does not name the verdict: $(cat "$T/wout.txt")"
# Roadmap confidence treats the underpowered experiment as observational.
add ana roadmap-project '{"title": "p", "application": "recommendation", "reach": 100, "impact": 1, "effort": 1, "status": "proposed"}' \
    --link "spawned_by:$FC" >/dev/null
lc --json roadmap --initiative "$INI" --explain >"$T/rm.json"
check "$T/rm.json" 'ev = [e for p in d["projects"] for e in p["evidence"] if e["seq"] == '"$FC"']; ev and ev[0]["class"] == "observational" and ev[0]["experiment_seq"] == '"$C"' and "underpowered" in ev[0]["note"]' \
    "an underpowered experiment still counts as experiment-class evidence"

# ---- a plan amended after the data is named ----
CO=$(add leo correction '{"reason": "MDE too ambitious", "amended_plan": {"direction": "increase", "mde_percent": 20, "baseline_rate": 0.1, "sample_size_per_arm": 1000}}' \
    --link "supersedes:$C")
lc --json readout "$C" >"$T/rc.json"
check "$T/rc.json" 'p = d["plan"]; p["changed_after_data"] == ['"$CO"'] and p["plan_seq"] == '"$CO"' and not p["recorded_before_data"] and p["plan"]["mde_percent"] == 20' \
    "an amended plan after the data is not named"
lc readout "$C" | grep -q "plan changed after data: #$CO" || fail "the readout table does not name the plan change"

# ---- sequential plans: always-valid p-values over the looks ----
SP='"plan": {"direction": "increase", "mde_percent": 10, "baseline_rate": 0.1, "sample_size_per_arm": 50000, "analysis": "sequential"}'
Q=$(add leo experiment "{$XP, $SP}" --link "tests:$(s hypothesis)")
for day in 1 2 3; do
    add dashboards measurement '{"source": "day", "observations": [
      {"metric": "conversion_rate", "value": 0.10, "arm": "control", "sample_size": 4000},
      {"metric": "conversion_rate", "value": 0.125, "arm": "b", "sample_size": 4000}]}' \
        --link "measures:$Q" >/dev/null
done
lc --json readout "$Q" >"$T/rq.json"
check "$T/rq.json" 'v = d["variants"][0]; 0 < v["sequential_p_value"] < v["corrected_p_value"] + 1 and v["sequential_p_value"] >= v["p_value"] and v["sequential_ci_low"] < v["difference"] < v["sequential_ci_high"] and d["verdict"] == "ship"' \
    "a sequential plan has no always-valid p-value or verdict"

# ---- KPIs against targets ----
for v in 7.0 6.2 5.5; do
    add dashboards measurement "{\"source\": \"dash\", \"observations\": [
      {\"metric\": \"click_through_rate\", \"value\": $v, \"unit\": \"%\", \"segment\": \"all categories\", \"sample_size\": 1000}]}" \
        --link "measures:$(s pilot)" >/dev/null
done
lc --json state "$INI" --kpi-window 3 >"$T/st.json"
check "$T/st.json" 'k = {x["kpi"]["metric"]: x for x in d["kpis"]}; c = k["click_through_rate"]; c["latest_value"] == 5.5 and c["track"] == "off_track" and c["recent_values"] == [7.0, 6.2, 5.5] and c["trend"] == "worsening" and abs(c["gap"] + 0.5) < 1e-12 and k["conversion_rate"]["track"] == "on_track"' \
    "KPIs against targets are wrong"
lc state "$INI" | grep -q "click_through_rate .*OFF TRACK *worsening" || fail "loopctl state does not show the KPI off track"
expect_status INVALID_ARGUMENT lc state "$INI" --kpi-window 51
echo "e2e experiments: OK"
