/*
 * loopledger console: a read-only single page over the JSON gateway (/v1)
 * and the console helpers (/console/api). Routes live in the URL fragment:
 *   #/                 portfolio          #/i/ID           initiative
 *   #/e/SEQ            entry (+ verify)   #/lineage/SEQ    lineage graph
 *   #/decisions        decision history   #/pending        pending approvals
 *   #/actor/ID         actor              #/roadmap        roadmap ranking
 *   #/entries          the log
 * "As of" (a tree size, or a date turned into the tree size at that date)
 * is kept in the fragment's query (?asof=N) so every page, link and reload
 * keeps it.
 */
"use strict";

const main = document.getElementById("main");
const statusEl = document.getElementById("status");
let config = null;

/* ---- small DOM helpers (no innerHTML with data) ---- */
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const k of kids.flat()) {
    if (k === null || k === undefined || k === false) continue;
    e.appendChild(typeof k === "object" ? k : document.createTextNode(String(k)));
  }
  return e;
}
/* Replaces the page's content; absent parts (null, false) are skipped. */
function show(...kids) {
  main.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
}
function showStatus(msg, error) {
  statusEl.textContent = msg || "";
  statusEl.className = "status" + (msg ? " show" : "") + (error ? " error" : "");
}
function short(enumName) {
  return String(enumName || "").replace(/^(KIND|PHASE|STAGE|APPLICATION|HITL_LEVEL|OUTCOME|CADENCE|APPROVAL_STATUS|OPEN_LOOP|PROJECT_STATUS|RELATION|ROLE|EVIDENCE_CLASS|EVIDENCE_ROLE|READOUT_TEST|KPI_TRACK|VERDICT|DIRECTION)_/, "").toLowerCase().replace(/_/g, " ");
}
function when(ns) {
  if (!ns || ns === "0") return "—";
  return new Date(Number(BigInt(ns) / 1000000n)).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}
function pct(v) { return (100 * v).toFixed(0) + "%"; }
function num(v, d) { return typeof v === "number" ? v.toFixed(d === undefined ? 2 : d) : String(v); }
function ref(r) {
  if (!r) return "—";
  return h("span", {}, h("a", { href: link("#/e/" + r.seq) }, "#" + r.seq), " ", h("span", { class: "badge" }, short(r.kind)), " ", r.summary || "",
    r.superseded ? h("span", { class: "badge warn" }, " superseded by #" + r.supersededBy) : null,
    r.status && r.status !== "APPROVAL_STATUS_EFFECTIVE" ? h("span", { class: "badge warn" }, short(r.status)) : null);
}
function refList(list, count) {
  if (!list || !list.length) return h("span", { class: "muted" }, "none");
  const ul = h("ul", { class: "plain" }, list.map((r) => h("li", {}, ref(r))));
  if (count && Number(count) > list.length) ul.appendChild(h("li", { class: "muted" }, `… ${count} in all`));
  return ul;
}

/* ---- as-of ---- */
function route() {
  const raw = location.hash.slice(1) || "/";
  const [path, query] = raw.split("?");
  const params = new URLSearchParams(query || "");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), asof: params.get("asof") || "", after: params.get("after") || "" };
}
function link(hash) {
  const a = route().asof;
  return a ? hash + "?asof=" + a : hash;
}
function asOf() { return route().asof; }

/* ---- fetching ---- */
class ApiError extends Error {}
async function get(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  let body;
  try { body = await r.json(); } catch (e) { throw new ApiError(`${path}: HTTP ${r.status}, not JSON`); }
  if (!r.ok) throw new ApiError(`${body.message || "HTTP " + r.status} (code ${body.code}, HTTP ${r.status})`);
  return body;
}
function q(params) {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") s.set(k, v);
  const t = s.toString();
  return t ? "?" + t : "";
}
async function allPages(path, params, key, limit) {
  let out = [], tok = "";
  do {
    const page = await get(path + q(Object.assign({}, params, { pageToken: tok })));
    out = out.concat(page[key] || []);
    tok = page.nextPageToken;
  } while (tok && out.length < (limit || 5000));
  return out;
}

/* ---- pages ---- */
function title(text, ...extra) {
  const a = asOf();
  return h("h1", {}, text, ...extra, h("span", { class: "muted" }, a ? `  · as of tree size ${a}` : `  · latest (tree size ${config ? config.treeSize : "?"})`));
}

/* A KpiStatus (loop.proto; the same for GetInitiative and ListInitiatives):
 * latest value against target, gap, on/off track, trend over the window. */
function kpiCell(k) {
  const measured = k.track === "KPI_TRACK_ON_TRACK" || k.track === "KPI_TRACK_OFF_TRACK";
  const on = k.track === "KPI_TRACK_ON_TRACK";
  const unit = k.kpi.unit || "";
  return h("span", { class: "kpi" }, `${k.kpi.metric}${k.kpi.segment ? " (" + k.kpi.segment + ")" : ""} `,
    measured ? `${num(k.latestValue)}${unit} ` : "",
    h("span", { class: "muted" }, `(target ${k.kpi.direction === "DIRECTION_DECREASE" ? "≤" : "≥"} ${k.kpi.target}${unit}${measured ? ", gap " + (k.gap >= 0 ? "+" : "") + num(k.gap) + unit : ""}) `),
    h("span", { class: "badge " + (measured ? (on ? "ok" : "bad") : "") }, measured ? (on ? "on track" : "off track") : "unmeasured"),
    k.trend ? h("span", { class: "muted trend" }, ` ${k.trend}`) : "");
}

async function pagePortfolio() {
  const a = asOf();
  const rows = [];
  // 25 per page: each summary computes loop health and KPIs live.
  const after = route().after;
  const resp = await get("/v1/initiatives" + q({ pageSize: 25, pageToken: after }));
  const list = resp.initiatives || [];
  for (const s of list) {
    let st = s;
    if (a) {
      // The portfolio RPC answers for the latest state; as of a size, each
      // initiative's state comes from GetInitiative(asOfSize).
      try {
        const g = await get(`/v1/initiatives/${encodeURIComponent(s.initiative)}?asOfSize=${a}`);
        st = Object.assign({}, s, {
          title: g.title, phase: g.phase, stage: g.stage, cycle: g.cycle, kpis: g.kpis || [],
          unactedFindings: g.unactedFindingsCount, untestedHypotheses: g.openHypothesesCount,
          runningExperiments: g.runningExperimentsCount, undiagnosedAlerts: g.undiagnosedAlertsCount,
          pendingApprovals: g.adjustmentsAwaitingApprovalCount, overdueReviews: g.overdueReviews,
        });
        st.openLoops = String(["unactedFindings", "untestedHypotheses", "runningExperiments", "undiagnosedAlerts"].reduce((t, k) => t + Number(st[k] || 0), 0));
      } catch (e) {
        continue; // not yet started at that size
      }
    }
    rows.push(h("tr", { "data-initiative": st.initiative },
      h("td", {}, h("a", { href: link("#/i/" + encodeURIComponent(st.initiative)) }, st.initiative), h("div", { class: "muted" }, st.title)),
      h("td", {}, short(st.application)),
      h("td", {}, h("span", { class: "badge" }, short(st.phase))),
      h("td", { class: "stage" }, h("span", { class: "badge" }, short(st.stage) || "—")),
      h("td", { class: "num" }, st.cycle),
      h("td", {}, (st.kpis || []).length ? st.kpis.map(kpiCell) : h("span", { class: "muted" }, "none chartered")),
      h("td", { class: "num" }, st.openLoops, h("div", { class: "muted" }, `${st.unactedFindings} unacted findings`)),
      h("td", { class: "num" }, st.pendingApprovals),
      h("td", { class: "num" }, (st.overdueReviews || []).length ? h("span", { class: "badge bad" }, (st.overdueReviews || []).map((o) => short(o.cadence)).join(", ")) : "0"),
      h("td", { class: "num" }, st.health ? st.health.openDriftAlerts : "—", h("div", { class: "muted" }, `${st.undiagnosedAlerts} undiagnosed`)),
      h("td", { class: "num" }, st.health && !a ? `${pct(st.health.actedOnShare)} acted on, reviews ${pct(st.health.reviewAdherence)}` : "—")));
  }
  show(title("Portfolio"),
    h("table", { id: "portfolio" },
      h("thead", {}, h("tr", {}, ["Initiative", "Application", "Phase", "Loop stage", "Cycle", "KPIs vs target", "Open loops", "Pending approvals", "Overdue reviews", "Drift alerts", "Loop health"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows)),
    rows.length ? null : h("p", { class: "muted" }, "No initiative yet."),
    resp.nextPageToken ? h("p", {}, h("a", { id: "next-page", href: link("#/") + (asOf() ? "&" : "?") + "after=" + encodeURIComponent(resp.nextPageToken) }, "next initiatives →")) : null);
}

async function pageInitiative(id) {
  const a = asOf();
  // KPIs with their latest 50 measurements (the most GetInitiative gives).
  const st = await get(`/v1/initiatives/${encodeURIComponent(id)}` + q({ asOfSize: a, kpiWindow: 50 }));
  const health = (await get("/v1/loop-health" + q({ initiative: id, asOfSize: a }))).initiatives[0];
  // The timeline shows the first 500 entries (a page of the log's order).
  const entries = (await get("/console/api/entries" + q({ initiative: id, pageSize: 500, toSeq: a }))).entries;
  const ents = entries.filter((e) => e.body).map((e) => ({
    seq: Number(e.seq), kind: kindOf(e.body), t: Number(BigInt(e.serverTimeUnixNanos) / 1000000n), body: e.body,
    summary: summaryOf(e.body),
  }));
  const sections = [title(st.title || id, " ", h("span", { class: "badge" }, short(st.phase)))];
  sections.push(h("div", { class: "grid" },
    h("div", { class: "card", id: "loop-state" }, h("h2", {}, "Loop"),
      h("dl", { class: "fields" },
        h("dt", {}, "initiative"), h("dd", {}, id),
        h("dt", {}, "application"), h("dd", {}, short(st.application)),
        h("dt", {}, "stage"), h("dd", { id: "stage" }, short(st.stage) || "—", st.stageEntry ? [" (", ref(st.stageEntry), ")"] : ""),
        h("dt", {}, "cycle"), h("dd", {}, st.cycle),
        h("dt", {}, "rollout"), h("dd", {}, `${st.maxRolloutPercent}%`),
        h("dt", {}, "entries"), h("dd", {}, st.entries),
        h("dt", {}, "charter"), h("dd", {}, ref(st.charter)),
        h("dt", {}, ""), h("dd", {}, h("a", { href: link("#/lineage/" + (st.charter ? st.charter.seq : "")) }, "lineage of the charter")))),
    h("div", { class: "card", id: "open-work" }, h("h2", {}, "Open work"),
      h("h3", {}, "Findings not acted on"), refList(st.unactedFindings, st.unactedFindingsCount),
      h("h3", {}, "Hypotheses not tested"), refList(st.openHypotheses, st.openHypothesesCount),
      h("h3", {}, "Experiments running"), refList(st.runningExperiments, st.runningExperimentsCount),
      h("h3", {}, "Adjustments awaiting approval"), refList(st.adjustmentsAwaitingApproval, st.adjustmentsAwaitingApprovalCount),
      h("h3", {}, "Alerts without diagnosis"), refList(st.undiagnosedAlerts, st.undiagnosedAlertsCount))));
  sections.push(h("h2", {}, "Timeline by loop stage"), h("div", { class: "card scroll", id: "timeline" }, LLCharts.timeline(ents)));
  // KPI series with target line and alerts, as of the page's size too.
  const kpiBox = h("div", { class: "grid wide", id: "kpis" });
  for (const k of st.kpis || []) {
    const times = k.recentUnixNanos || [];
    const pts = (k.recentValues || []).map((v, i) => ({ seq: Number(k.recentSeqs[i]), v, t: Number(BigInt(times[i]) / 1000000n) }));
    const alerts = ents.filter((e) => e.kind === "KIND_ALERT" && e.body.alert.metric === k.kpi.metric)
      .map((e) => ({ seq: e.seq, t: e.t, label: `${e.body.alert.baseline} → ${e.body.alert.current} (${short(e.body.alert.detector)})` }));
    kpiBox.appendChild(h("div", { class: "card" }, kpiCell(k), LLCharts.kpiChart(k.kpi, pts, alerts)));
  }
  sections.push(h("h2", {}, "KPIs against target"), (st.kpis || []).length ? kpiBox : h("p", { class: "muted" }, "The charter names no KPI."));
  // Experiments with readouts.
  const exps = ents.filter((e) => e.kind === "KIND_EXPERIMENT").slice(-10); // the latest ten
  const expBox = h("div", { id: "experiments" });
  for (const e of exps) {
    let ro;
    try { ro = await get(`/v1/experiments/${e.seq}/readout` + q({ asOfSize: a })); } catch (err) { expBox.appendChild(h("p", {}, `#${e.seq}: ${err.message}`)); continue; }
    expBox.appendChild(h("div", { class: "card" }, h("div", {}, ref(ro.experiment)),
      h("p", { class: "muted" }, `metric ${ro.metric}${ro.segment ? ", segment " + ro.segment : ""}; control ${ro.control ? ro.control.arm + " " + num(ro.control.value) + " (n=" + ro.control.sampleSize + ")" : "—"}; concluded by ${(ro.concludedBy || []).map((s) => "#" + s).join(", ") || "nothing yet"}`),
      ro.verdict && ro.verdict !== "VERDICT_UNSPECIFIED" ? h("p", { class: "verdict" }, "verdict ",
        h("span", { class: "badge " + (ro.verdict === "VERDICT_SHIP" ? "ok" : ro.verdict === "VERDICT_UNTRUSTWORTHY" || ro.verdict === "VERDICT_ROLL_BACK" ? "bad" : "warn") },
          short(ro.verdict) + (ro.verdictVariant ? " " + ro.verdictVariant : "")),
        ` ${ro.verdictReason || ""}`, ro.srm && ro.srm.mismatch ? h("span", { class: "badge bad" }, "sample ratio mismatch") : "") : null,
      h("table", {}, h("thead", {}, h("tr", {}, ["Variant", "Value", "n", "Effect (lift)", "95% interval", "p", "Test", ""].map((t) => h("th", {}, t)))),
        h("tbody", {}, (ro.variants || []).map((v) => h("tr", {},
          h("td", {}, v.variant.arm), h("td", { class: "num" }, num(v.variant.value, 3)), h("td", { class: "num" }, v.variant.sampleSize),
          h("td", { class: "num" }, `${num(v.liftPercent, 1)}%`), h("td", { class: "num" }, `[${num(v.liftCiLowPercent, 1)}%, ${num(v.liftCiHighPercent, 1)}%]`),
          h("td", { class: "num" }, num(v.pValue, 4)), h("td", {}, short(v.test)),
          h("td", {}, h("span", { class: "badge " + (v.significant ? "ok" : "") }, v.significant ? "significant" : "not significant"))))))));
  }
  sections.push(h("h2", {}, "Experiments"), exps.length ? expBox : h("p", { class: "muted" }, "No experiment."));
  // Scaling plans with readiness.
  sections.push(h("h2", {}, "Scaling plans"), (st.scalingPlans || []).length ? h("table", { id: "scaling" },
    h("thead", {}, h("tr", {}, ["Plan", "Readiness", "Missing"].map((t) => h("th", {}, t)))),
    h("tbody", {}, st.scalingPlans.map((p) => h("tr", {}, h("td", {}, ref(p.plan)),
      h("td", {}, h("span", { class: "badge " + (p.ready ? "ok" : "warn") }, `${p.addressed}/${p.required}${p.ready ? " ready" : ""}`)),
      h("td", {}, (p.missing || []).join(", ") || "—"))))) : h("p", { class: "muted" }, "No scaling plan."));
  // Reviews against cadence.
  const reviews = ents.filter((e) => e.kind === "KIND_REVIEW");
  const cad = health ? health.cadences : [];
  sections.push(h("h2", {}, "Reviews against cadence"),
    h("table", { id: "cadence" }, h("thead", {}, h("tr", {}, ["Cadence", "Periods elapsed", "Reviewed", "Adherence", "Overdue"].map((t) => h("th", {}, t)))),
      h("tbody", {}, (cad || []).map((c) => h("tr", {}, h("td", {}, short(c.cadence)), h("td", { class: "num" }, c.periods), h("td", { class: "num" }, c.reviewed),
        h("td", { class: "num" }, pct(c.adherence)),
        h("td", {}, (st.overdueReviews || []).filter((o) => o.cadence === c.cadence).map((o) => h("span", { class: "badge bad" }, "due " + when(o.dueUnixNanos)))))))),
    h("ul", { class: "plain" }, reviews.map((r) => h("li", {}, h("a", { href: link("#/e/" + r.seq) }, "#" + r.seq), ` ${short(r.body.review.cadence)} review, ${new Date(r.t).toISOString().slice(0, 10)}: ${r.body.review.notes || ""}`))));
  show(...sections);
}

function kindOf(body) {
  const keys = ["note", "actor", "genesis", "charter", "hypothesis", "experiment", "deployment", "measurement", "alert", "finding", "adjustment", "decision", "review", "scalingPlan", "roadmapProject", "correction", "keyRotation", "revocation", "roleGrant", "policy"];
  const names = { charter: "INITIATIVE", scalingPlan: "SCALING_PLAN", roadmapProject: "ROADMAP_PROJECT", keyRotation: "KEY_ROTATION", roleGrant: "ROLE_GRANT" };
  for (const k of keys) if (body[k]) return "KIND_" + (names[k] || k.toUpperCase());
  return "KIND_UNSPECIFIED";
}
function summaryOf(b) {
  const k = Object.values(b).find((v) => v && typeof v === "object" && !Array.isArray(v)) || {};
  return k.title || k.statement || k.summary || k.name || k.change || k.rationale || k.text || k.metric || k.notes || k.version || "";
}

/* Every field of a message, recursively, as a definition list. */
function fields(obj) {
  const dl = h("dl", { class: "fields" });
  for (const [k, v] of Object.entries(obj)) {
    if (v === "" || v === "0" || v === 0 || v === false || (Array.isArray(v) && !v.length)) continue;
    dl.appendChild(h("dt", {}, k));
    if (Array.isArray(v)) dl.appendChild(h("dd", {}, v.map((x) => (typeof x === "object" ? fields(x) : h("div", {}, String(x))))));
    else if (typeof v === "object") dl.appendChild(h("dd", {}, fields(v)));
    else dl.appendChild(h("dd", {}, String(v)));
  }
  return dl;
}

function pinnedKey() {
  const k = localStorage.getItem("loopledger.verifierKey." + config.origin);
  if (k) return { key: k, pinnedNow: false };
  localStorage.setItem("loopledger.verifierKey." + config.origin, config.verifierKey);
  return { key: config.verifierKey, pinnedNow: true };
}

async function pageEntry(seq) {
  const e = await get("/console/api/entry/" + encodeURIComponent(seq));
  const kind = e.body ? kindOf(e.body) : "KIND_UNSPECIFIED";
  const box = h("div", { class: "card verify", id: "verification" }, h("div", { class: "result" }, "verifying…"));
  const links = (e.body && e.body.links) || [];
  show(title(`Entry #${seq} `, h("span", { class: "badge" }, short(kind))), box,
    h("div", { class: "card" }, h("dl", { class: "fields", id: "entry-meta" },
      h("dt", {}, "author"), h("dd", {}, e.body ? h("a", { href: link("#/actor/" + encodeURIComponent(e.body.author)) }, e.body.author) : "—"),
      h("dt", {}, "initiative"), h("dd", {}, e.body && e.body.initiative ? h("a", { href: link("#/i/" + encodeURIComponent(e.body.initiative)) }, e.body.initiative) : "—"),
      h("dt", {}, "server time"), h("dd", {}, when(e.serverTimeUnixNanos)),
      h("dt", {}, "approval status"), h("dd", { id: "approval" }, h("span", { class: "badge " + (e.status === "APPROVAL_STATUS_EFFECTIVE" ? "ok" : "warn") }, short(e.status))),
      h("dt", {}, "superseded by"), h("dd", {}, e.supersededBy !== "0" ? h("a", { href: link("#/e/" + e.supersededBy) }, "#" + e.supersededBy) : "—"),
      h("dt", {}, "signature key"), h("dd", { class: "mono" }, (e.signatures || []).map((s) => s.keyid).join(", "), e.signerKeySeq !== "0" ? ` (registered by #${e.signerKeySeq})` : ""),
      h("dt", {}, "payload type"), h("dd", { class: "mono" }, e.payloadType || "—"),
      h("dt", {}, "links"), h("dd", {}, links.length ? links.map((l) => h("div", {}, short(l.relation), " ", h("a", { href: link("#/e/" + l.targetSeq) }, "#" + l.targetSeq))) : "—"),
      h("dt", {}, "lineage"), h("dd", {}, h("a", { href: link("#/lineage/" + seq) }, "graph")))),
    h("h2", {}, "All fields"), h("div", { class: "card", id: "entry-body" }, e.body ? fields(e.body) : h("p", {}, e.decodeError)));
  const pin = pinnedKey();
  const res = await LLVerify.verifyEntry(get, seq, e.leaf, pin.key, asOf());
  const steps = h("ul", { class: "steps" }, res.steps.map((s) => h("li", {}, "✓ " + s)));
  if (pin.pinnedNow) steps.appendChild(h("li", { class: "muted" }, `verifier key pinned in this browser on first use: ${pin.key}`));
  if (pin.key !== config.verifierKey) steps.appendChild(h("li", {}, `the server now announces another key (${config.verifierKey}) than the pinned one`));
  box.className = "card verify " + (res.ok ? "ok" : "failed");
  box.replaceChildren(h("div", { class: "result", id: "verify-result" }, res.ok ? `verified: entry #${seq} is in the signed log of size ${res.size}` : `verification failed: ${res.error}`), steps);
}

async function pageLineage(seq) {
  const lin = await get(`/v1/entries/${encodeURIComponent(seq)}/lineage?backHops=4&forwardHops=3`);
  show(title(`Lineage of #${seq}`),
    h("p", { class: "muted" }, "What this entry rests on (left) and what rests on it (right of it). Click a node to re-centre; ",
      h("a", { href: link("#/e/" + seq) }, "open the entry"), "."),
    h("div", { class: "card scroll", id: "lineage" }, LLCharts.lineage(lin)),
    lin.truncated ? h("p", { class: "badge warn" }, "truncated") : null);
}

async function pageDecisions() {
  const ds = await allPages("/v1/decisions", { evidenceHops: 2 }, "decisions", 200);
  show(title("Decision history"),
    h("table", { id: "decisions" }, h("thead", {}, h("tr", {}, ["Decision", "Who", "HITL level", "Outcome", "Rationale", "Decided", "Evidence"].map((t) => h("th", {}, t)))),
      h("tbody", {}, ds.map((d) => h("tr", {},
        h("td", {}, h("a", { href: link("#/e/" + d.decision.seq) }, "#" + d.decision.seq), h("div", { class: "muted" }, when(d.decision.serverTimeUnixNanos))),
        h("td", {}, h("a", { href: link("#/actor/" + encodeURIComponent(d.decision.author)) }, d.decision.author)),
        h("td", {}, short(d.level)), h("td", {}, h("span", { class: "badge " + (d.outcome === "OUTCOME_APPROVED" ? "ok" : "warn") }, short(d.outcome))),
        h("td", {}, d.rationale),
        h("td", {}, (d.decided || []).map((x) => h("div", {}, ref(x.entry)))),
        h("td", { class: "evidence" }, (d.decided || []).map((x) => refList(x.evidence))))))));
}

async function pagePending() {
  const ps = await allPages("/v1/pending-approvals", {}, "pending", 200);
  show(title("Pending approvals"),
    ps.length ? h("table", { id: "pending" }, h("thead", {}, h("tr", {}, ["Entry", "Policy", "HITL level", "Approvals", "Waiting for"].map((t) => h("th", {}, t)))),
      h("tbody", {}, ps.map((p) => h("tr", {}, h("td", {}, ref(p.entry)),
        h("td", {}, h("a", { href: link("#/e/" + p.policySeq) }, p.policyName || "#" + p.policySeq)),
        h("td", {}, short(p.level)),
        h("td", { class: "num" }, `${(p.approvedBy || []).length}/${p.approvalsRequired}`, (p.approvedBy || []).length ? h("div", { class: "muted" }, "by " + p.approvedBy.join(", ")) : null),
        h("td", {}, `${p.approvalsRequired - (p.approvedBy || []).length} more approver(s) at ${short(p.level)}, not ${p.entry.author}`))))) :
      h("p", { id: "pending-none" }, "Nothing waits for approval."));
}

async function pageActor(id) {
  const a = await get(`/v1/actors/${encodeURIComponent(id)}`);
  show(title(`Actor ${a.actorId}`),
    h("div", { class: "card" }, h("dl", { class: "fields" },
      h("dt", {}, "name"), h("dd", {}, a.displayName || "—"),
      h("dt", {}, "roles"), h("dd", {}, (a.roles || []).map(short).join(", ")),
      h("dt", {}, "entries authored"), h("dd", {}, a.authoredCount),
      h("dt", {}, "keys"), h("dd", {}, (a.keys || []).map((k) => h("div", { class: "mono" }, `${k.keyid} (registered #${k.registeredSeq}${k.revokedUnixNanos !== "0" ? ", revoked " + when(k.revokedUnixNanos) : ""})`))))),
    h("h2", {}, "Governance"), refList(a.governance),
    h("h2", {}, "Recent entries"), refList(a.recent));
}

async function pageRoadmap() {
  const r = await get("/v1/roadmap/priorities" + q({ asOfSize: asOf(), pageSize: 100 }));
  show(title("Roadmap ranking"),
    h("p", { class: "muted" }, `score = reach × impact × confidence ÷ effort; confidence from evidence weighted by class and decayed with a half-life of ${r.halfLifeDays} days; ${r.total} projects.`),
    h("table", { id: "roadmap" }, h("thead", {}, h("tr", {}, ["Rank", "Project", "Score", "Why"].map((t) => h("th", {}, t)))),
      h("tbody", {}, (r.projects || []).map((p) => h("tr", { "data-rank": p.rank },
        h("td", { class: "num" }, p.rank),
        h("td", {}, h("a", { href: link("#/e/" + p.project.seq) }, p.title), h("div", { class: "muted" }, `${short(p.application)} · ${short(p.status)}`)),
        h("td", { class: "num" }, num(p.score, 1)),
        h("td", {}, `reach ${p.reach} × impact ${p.impact} × confidence ${num(p.confidence)} ÷ effort ${p.effort}`,
          p.speculative ? h("div", {}, h("span", { class: "badge warn" }, `speculative: no evidence, capped at ${num(p.speculativeCap)}`)) : null,
          p.refutationPenalty ? h("div", { class: "muted" }, `refutation penalty ${num(p.refutationPenalty)}`) : null,
          h("ul", { class: "plain" }, (p.evidence || []).map((e) => h("li", {}, h("a", { href: link("#/e/" + e.seq) }, "#" + e.seq),
            ` ${short(e.role)} · ${short(e.class)} · weight ${num(e.weight)} · ${num(e.ageDays, 0)} days old (decay ${num(e.decay)}) → ${num(e.contribution)}`,
            e.pValue ? ` · p=${num(e.pValue, 4)}` : "", e.superseded ? " · superseded" : "")))))))));
}

async function pageEntries() {
  const a = asOf();
  const page = await get("/console/api/entries" + q({ pageSize: 200, toSeq: a, fromSeq: 0 }));
  show(title("Entries"),
    h("table", { id: "entries" }, h("thead", {}, h("tr", {}, ["#", "Kind", "Author", "Initiative", "Summary", "Time"].map((t) => h("th", {}, t)))),
      h("tbody", {}, page.entries.map((e) => h("tr", {}, h("td", {}, h("a", { href: link("#/e/" + e.seq) }, "#" + e.seq)),
        h("td", {}, short(e.body ? kindOf(e.body) : "")), h("td", {}, e.body ? e.body.author : ""), h("td", {}, e.body ? e.body.initiative : ""),
        h("td", {}, e.body ? summaryOf(e.body) : e.decodeError), h("td", {}, when(e.serverTimeUnixNanos)))))),
    page.nextPageToken ? h("p", { class: "muted" }, "first 200 entries shown") : null);
}

/* A date -> the tree size at the end of that day (UTC), by binary search
 * over entries' server times. */
async function sizeAtDate(d) {
  const end = BigInt(Date.parse(d + "T23:59:59.999Z")) * 1000000n;
  if (!end) throw new Error("not a date: " + d);
  let lo = 0, hi = Number(config.treeSize);
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const e = await get("/console/api/entry/" + mid);
    if (BigInt(e.serverTimeUnixNanos) <= end) lo = mid + 1; else hi = mid;
  }
  return lo;
}

async function render() {
  const { parts } = route();
  showStatus("");
  document.getElementById("asof-value").value = asOf();
  try {
    config = await get("/console/api/config");
    document.getElementById("footer").textContent =
      `${config.origin} · tree size ${config.treeSize} · ${config.identity ? "signed in as " + config.identity : "no identity (plaintext loopback)"}${config.writesRefused ? " · WRITES REFUSED: " + config.writesRefused : ""}`;
    const [p0, p1] = parts;
    if (!p0) await pagePortfolio();
    else if (p0 === "i") await pageInitiative(p1);
    else if (p0 === "e") await pageEntry(p1);
    else if (p0 === "lineage") await pageLineage(p1);
    else if (p0 === "decisions") await pageDecisions();
    else if (p0 === "pending") await pagePending();
    else if (p0 === "actor") await pageActor(p1);
    else if (p0 === "roadmap") await pageRoadmap();
    else if (p0 === "entries") await pageEntries();
    else show(h("p", {}, "No such page."));
    document.body.setAttribute("data-ready", "1");
  } catch (e) {
    showStatus(e.message, true);
    show(h("p", { id: "error" }, "Cannot show this page: " + e.message));
    document.body.setAttribute("data-ready", "1");
  }
}

document.getElementById("asof").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  let v = document.getElementById("asof-value").value.trim();
  const { parts } = route();
  try {
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) v = String(await sizeAtDate(v));
    else if (v && !/^\d+$/.test(v)) throw new Error("as of: give a tree size or a date YYYY-MM-DD");
    location.hash = "#/" + parts.map(encodeURIComponent).join("/") + (v ? "?asof=" + v : "");
  } catch (e) {
    showStatus(e.message, true);
  }
});
document.getElementById("asof-clear").addEventListener("click", () => {
  location.hash = "#/" + route().parts.map(encodeURIComponent).join("/");
});
window.addEventListener("hashchange", () => { document.body.removeAttribute("data-ready"); render(); });
render();
