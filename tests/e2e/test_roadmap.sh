#!/usr/bin/env bash
# RoadmapService end to end over gRPC: a real loopledgerd, the seed's demo
# (ops/demo/load), then projects appended with loopctl's per-kind commands
# and ranked by `loopctl roadmap`: the evidence-weighted order, each
# score's components and evidence seqs, refutation and its correction, an
# as-of answer that stays the same after appends, the A/B readout of the
# demo experiment, the loop-health report, and refusals with their status.
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
lc() { "$LOOPCTL" "$@"; }

# check FILE PY MESSAGE: over the JSON document d, PY ("stmt; ...; expr")
# must end in a true expression. p(seq) is the ranked project of that seq.
# near() allows 1e-4 relative: evidence minutes old at a 90-day half-life
# has decayed by less than that.
check() {
    python3 - "$1" "$2" <<'PY' || fail "$3 ($2 on $(head -c 800 "$1"))"
import json, sys
d = json.load(open(sys.argv[1]))
env = {"d": d, "near": lambda a, b, tol=1e-4: abs(a - b) <= tol * max(1, abs(b)),
       "p": lambda s: [x for x in d["projects"] if x["project"]["seq"] == s][0],
       "order": lambda: [x["project"]["seq"] for x in d["projects"]]}
*pre, last = sys.argv[2].split("; ")
exec("\n".join(pre), env)
sys.exit(0 if eval(last, env) else 1)
PY
}
size() { lc --json checkpoint | json tree_size; }

start_server
bash "$ROOT/ops/demo/load" --server "$SERVER" --admin-key "$T/admin.key" --keys "$T/keys" \
    --loopctl "$LOOPCTL" --seqs "$T/seqs" >"$T/demo.log" 2>&1 || fail "demo: $(cat "$T/demo.log")"
s() { awk -v n="$1" '$1 == n {print $2}' "$T/seqs"; }
K() { echo "$T/keys/$1.key"; }
ana() { lc --json "$1" --key "$(K ana)" --author ana --initiative "$2" "${@:3}"; }
DEMO=$(s roadmap_project)

# ---- the demo's project rests on the concluded A/B test ----
# conclusion CONCLUDES the experiment (1.12% of 30100 vs 1.41% of 29900:
# p = 0.00148 < 0.01, weight 1.0): confidence 1, score 1200000 x 2 / 4.
lc --json roadmap >"$T/r1.json"
check "$T/r1.json" "d['total'] == 1 and order() == [$DEMO]" "demo project ranked"
check "$T/r1.json" "x = p($DEMO); near(x['confidence'], 1) and near(x['score'], 600000) and not x['speculative']" "demo score"
check "$T/r1.json" "e = p($DEMO)['evidence'][0]; e['seq'] == $(s conclusion) and e['class'] == 'experiment' and e['experiment_seq'] == $(s experiment) and near(e['p_value'], 0.0014796414310789263, 1e-8) and e['weight'] == 1" "experiment evidence"
check "$T/r1.json" "p($DEMO)['evidence_seqs'] == sorted([$(s experiment), $(s ab_metrics), $(s conclusion)])" "evidence seqs"

# ---- more projects: qualitative evidence and pure speculation ----
# Spawned by the demo's customer-service finding (qualitative, 0.3):
# confidence 0.2 + 0.8 x 0.3 = 0.44, score 2000000 x 1 x 0.44 / 2 = 440000.
BALCONY=$(ana roadmap-project catalog-content --title "Space-aware garden furniture" \
    --application recommendation --status proposed --reach 2000000 --impact 1 --effort 2 \
    --link "spawned_by:$(s open_finding)" | json seq)
# No evidence: speculative, confidence capped at 0.2: 10000000 x 3 x 0.2 / 5 = 1200000.
HYPE=$(ana roadmap-project catalog-content --title "Generative storefront" \
    --application content --status proposed --reach 10000000 --impact 3 --effort 5 | json seq)
lc --json roadmap >"$T/r2.json"
check "$T/r2.json" "order() == [$HYPE, $DEMO, $BALCONY]" "ranking with speculation"
check "$T/r2.json" "x = p($HYPE); x['speculative'] and x['confidence'] == 0.2 and x['speculative_cap'] == 0.2 and near(x['score'], 1200000) and x['evidence'] == []" "speculative project"
check "$T/r2.json" "x = p($BALCONY); near(x['confidence'], 0.44) and near(x['score'], 440000) and x['evidence'][0]['class'] == 'qualitative' and x['evidence'][0]['source'] == 'customer_service_review'" "qualitative project"
check "$T/r2.json" "[x['rank'] for x in d['projects']] == [1, 2, 3]" "ranks"
N1=$(size)
lc --json roadmap --as-of "$N1" >"$T/asof1.json"
# GetInitiative as of N1 from an independent client (grpc-js + protobufjs),
# compared again after the appends below.
NODE_DIR=$(cd "$(dirname "$0")/node" && pwd)
[[ -d $NODE_DIR/node_modules/@grpc/grpc-js ]] ||
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
    fail "npm ci failed"
asof_node() {
    PROTO_DIR=$ROOT/proto node "$NODE_DIR/roadmap_asof.js" "$@" || fail "GetInitiative as-of ($1)"
}
asof_node before reco-engine "$N1" "$T/ini_asof.bin"
lc roadmap --explain >"$T/r2.txt"
grep -q "RANK" "$T/r2.txt" || fail "human roadmap table: $(cat "$T/r2.txt")"
grep -q "speculative: confidence capped" "$T/r2.txt" || fail "human table lacks the speculative mark"
grep -q "supports #$(s conclusion) *experiment" "$T/r2.txt" || fail "--explain lacks the evidence line: $(cat "$T/r2.txt")"

# ---- refutation lowers confidence; its correction restores it ----
# A post-campaign analysis REFUTES the hypothesis the conclusion supports
# (quantitative, 0.6): the demo project's confidence 1 x (1 - 0.6) = 0.4,
# score 240000, now below the balcony project.
REF=$(ana finding reco-engine --summary "Post-campaign: conversion gain did not persist" \
    --evidence quantitative --source post_campaign_analysis \
    --link "refutes:$(s hypothesis)" | json seq)
lc --json roadmap >"$T/r3.json"
check "$T/r3.json" "order() == [$HYPE, $BALCONY, $DEMO]" "refutation reorders"
check "$T/r3.json" "x = p($DEMO); near(x['refutation_penalty'], 0.6) and near(x['confidence'], 0.4) and near(x['score'], 240000)" "refuted score"
check "$T/r3.json" "e = p($DEMO)['evidence'][-1]; e['seq'] == $REF and e['role'] == 'refutes' and e['hypothesis_seq'] == $(s hypothesis)" "refuting evidence listed"
FIX=$(ana correction reco-engine --reason "analysis used the wrong campaign window" \
    --link "supersedes:$REF" | json seq)
lc --json roadmap >"$T/r4.json"
check "$T/r4.json" "order() == [$HYPE, $DEMO, $BALCONY] and near(p($DEMO)['confidence'], 1)" "correction restores"
check "$T/r4.json" "e = p($DEMO)['evidence'][-1]; e['superseded'] and e['superseded_by'] == $FIX and e['contribution'] == 0" "superseded evidence marked"

# ---- as-of: the past answer does not change ----
asof_node after reco-engine "$N1" "$T/ini_asof.bin"
lc --json roadmap --as-of "$N1" >"$T/asof2.json"
cmp -s "$T/asof1.json" "$T/asof2.json" || fail "as-of answer changed after appends: $(diff "$T/asof1.json" "$T/asof2.json")"
check "$T/asof2.json" "d['as_of_size'] == $N1 and order() == [$HYPE, $DEMO, $BALCONY]" "as-of order"
lc --json roadmap --as-of "$((REF + 1))" >"$T/asof3.json"
check "$T/asof3.json" "near(p($DEMO)['confidence'], 0.4)" "as of before the correction, the refutation counts"

# ---- filters and pages ----
lc --json roadmap --initiative catalog-content --application content >"$T/f.json"
check "$T/f.json" "order() == [$HYPE, $DEMO]" "initiative + application filter (the demo project is content too)"
lc --json roadmap --limit 2 >"$T/pg1.json"
TOKEN=$(json next_page_token <"$T/pg1.json")
[[ -n $TOKEN ]] || fail "no next page token"
lc --json roadmap --page "$TOKEN" >"$T/pg2.json"
check "$T/pg2.json" "order() == [$BALCONY] and d['projects'][0]['rank'] == 3" "second page"

# ---- readout of the demo experiment ----
lc --json readout "$(s experiment)" >"$T/ro.json"
check "$T/ro.json" "v = d['variants'][0]; v['test'] == 'two_proportion_z' and near(v['p_value'], 0.0014796414310789263, 1e-8) and near(v['lift_percent'], 25.892857142857142, 1e-9) and v['significant']" "readout"
check "$T/ro.json" "near(d['variants'][0]['ci_low'], 0.0011113265977178094, 1e-12) and near(d['variants'][0]['ci_high'], 0.00468867340228219, 1e-12)" "readout CI"
lc readout "$(s experiment)" | grep -q "two-proportion z = 3.1786" || fail "human readout"

# ---- loop health ----
lc --json loop-health reco-engine >"$T/h.json"
# Findings: gap (a hypothesis derived from it), open (the balcony project
# was spawned by it), conclusion (adjusted, spawned the demo project); the
# refuting one is superseded and not counted.
check "$T/h.json" "h = d['initiatives'][0]; h['findings'] == 3 and h['findings_acted_on'] == 3 and h['findings_addressed'] == 1 and h['experiments'] == 1 and h['cycles'] == 1" "loop health counts"
check "$T/h.json" "h = d['initiatives'][0]; h['median_finding_to_adjustment_seconds'] > 0 and h['open_drift_alerts'] == 0" "loop health times"
lc --json loop-health >"$T/hall.json"
check "$T/hall.json" "sorted(x['initiative'] for x in d['initiatives']) == ['catalog-content', 'reco-engine']" "every initiative"
lc loop-health | grep -q "reco-engine" || fail "human loop-health table"

# ---- refusals ----
expect_status OUT_OF_RANGE lc roadmap --as-of 100000
expect_status INVALID_ARGUMENT lc roadmap --half-life -3
expect_status INVALID_ARGUMENT lc roadmap --page nonsense
# Issue 11 item 12: say what the entry is, and which segments exist.
expect_status INVALID_ARGUMENT lc readout "$(s conclusion)"
{ lc readout "$(s conclusion)" 2>&1 || true; } | grep -q "INVALID_ARGUMENT: #$(s conclusion) is a finding, not an experiment" ||
    fail "readout of a finding: $(lc readout "$(s conclusion)" 2>&1)"
expect_status NOT_FOUND lc readout 100000
{ lc readout "$(s experiment)" --segment DE 2>&1 || true; } |
    grep -q 'NOT_FOUND: no observations of conversion_rate in segment "DE"; segments measured: "home & garden"' ||
    fail "unknown segment: $(lc readout "$(s experiment)" --segment DE 2>&1)"
lc --json readout "$(s experiment)" --segment "home & garden" >/dev/null || fail "a measured segment"
expect_status NOT_FOUND lc loop-health no-such-initiative
echo "e2e_roadmap: ok"
