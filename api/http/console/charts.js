/*
 * SVG drawing for the loopledger console: KPI series with target line and
 * alerts, the loop-stage timeline, the lineage graph. Hand-written, no
 * library; every shape is an SVG element built with the DOM.
 */
"use strict";

const LLCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, attrs) {
    const t = el("text", Object.assign({ x, y }, attrs || {}), parent);
    t.textContent = s;
    return t;
  }
  function link(parent, href) {
    return el("a", { href }, parent);
  }

  const KIND_COLORS = {
    KIND_INITIATIVE: "#c9d7f0", KIND_HYPOTHESIS: "#e8d7f5", KIND_EXPERIMENT: "#d4ecf7",
    KIND_DEPLOYMENT: "#d9f0d9", KIND_MEASUREMENT: "#eef3d0", KIND_ALERT: "#f8d1cd",
    KIND_FINDING: "#ffe8b8", KIND_ADJUSTMENT: "#fbd8ec", KIND_DECISION: "#dcdcdc",
    KIND_REVIEW: "#e0ecea", KIND_SCALING_PLAN: "#cfe9e2", KIND_ROADMAP_PROJECT: "#f1e3cf",
    KIND_CORRECTION: "#eeeeee", KIND_NOTE: "#f5f5f5",
  };
  function kindColor(k) { return KIND_COLORS[k] || "#f0f0f0"; }

  function fmt(v) {
    if (!isFinite(v)) return String(v);
    const a = Math.abs(v);
    return a >= 1000 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  }

  /* KPI chart: points [{t (ms), v, seq}], target, alerts [{t, seq, label}]. */
  function kpiChart(kpi, points, alerts) {
    const W = 560, H = 220, L = 52, R = 16, T = 24, B = 34;
    const svg = el("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img" });
    el("title", {}, svg).textContent = `${kpi.metric}: measured series against target ${kpi.target}`;
    const vals = points.map((p) => p.v).concat([kpi.target]);
    let lo = Math.min(...vals), hi = Math.max(...vals);
    if (lo === hi) { lo -= 1; hi += 1; }
    const pad = (hi - lo) * 0.12; lo -= pad; hi += pad;
    const times = points.map((p) => p.t).concat(alerts.map((a) => a.t));
    let t0 = times.length ? Math.min(...times) : 0, t1 = times.length ? Math.max(...times) : 1;
    if (t0 === t1) { t0 -= 3600e3; t1 += 3600e3; }
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    for (let i = 0; i <= 4; i++) {
      const v = lo + ((hi - lo) * i) / 4;
      el("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }, svg);
      text(svg, L - 6, y(v) + 4, fmt(v), { "text-anchor": "end" });
    }
    el("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }, svg);
    el("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }, svg);
    text(svg, L, H - 12, new Date(t0).toISOString().slice(0, 16).replace("T", " "));
    text(svg, W - R, H - 12, new Date(t1).toISOString().slice(0, 16).replace("T", " "), { "text-anchor": "end" });
    const ty = y(kpi.target);
    el("line", { x1: L, x2: W - R, y1: ty, y2: ty, class: "target" }, svg);
    text(svg, W - R - 2, ty - 4, `target ${fmt(kpi.target)}${kpi.unit || ""}`, { "text-anchor": "end", fill: "#1f7a3a" });
    for (const a of alerts) {
      const ax = x(a.t);
      const g = link(svg, "#/e/" + a.seq);
      el("line", { x1: ax, x2: ax, y1: T, y2: H - B, class: "alert" }, g);
      el("path", { d: `M${ax - 5},${T} L${ax + 5},${T} L${ax},${T + 8} Z`, class: "alert-mark" }, g);
      el("title", {}, g).textContent = `alert #${a.seq}: ${a.label}`;
    }
    if (points.length) {
      el("path", { d: points.map((p, i) => `${i ? "L" : "M"}${x(p.t)},${y(p.v)}`).join(" "), class: "series" }, svg);
      for (const p of points) {
        const g = link(svg, "#/e/" + p.seq);
        el("circle", { cx: x(p.t), cy: y(p.v), r: 4, class: "point" }, g);
        el("title", {}, g).textContent = `#${p.seq}: ${fmt(p.v)}${kpi.unit || ""}`;
      }
    } else {
      text(svg, W / 2, H / 2, "not measured yet", { "text-anchor": "middle" });
    }
    text(svg, L, 15, `${kpi.metric} (${kpi.direction === "DIRECTION_DECREASE" ? "lower" : "higher"} is better)`, { "font-weight": "600" });
    return svg;
  }

  /* Timeline: entries [{seq, kind, t, summary}] in lanes by loop stage. */
  const LANES = [
    ["Charter & plan", ["KIND_INITIATIVE", "KIND_SCALING_PLAN", "KIND_ROADMAP_PROJECT"]],
    ["Deploy", ["KIND_DEPLOYMENT"]],
    ["Measure", ["KIND_MEASUREMENT", "KIND_ALERT"]],
    ["Learn", ["KIND_FINDING", "KIND_HYPOTHESIS", "KIND_EXPERIMENT"]],
    ["Adjust", ["KIND_ADJUSTMENT"]],
    ["Govern", ["KIND_DECISION", "KIND_REVIEW", "KIND_CORRECTION", "KIND_NOTE"]],
  ];
  function timeline(entries) {
    const W = Math.max(560, 110 + entries.length * 34), LH = 34, T = 10;
    const H = T + LANES.length * LH + 24;
    const svg = el("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img" });
    el("title", {}, svg).textContent = "timeline of the initiative's entries by loop stage";
    LANES.forEach(([name], i) => {
      el("rect", { x: 0, y: T + i * LH, width: W, height: LH - 4, class: "lane" }, svg);
      text(svg, 6, T + i * LH + 20, name);
    });
    entries.forEach((e, i) => {
      const lane = Math.max(0, LANES.findIndex(([, ks]) => ks.includes(e.kind)));
      const cx = 118 + i * 34, cy = T + lane * LH + 15;
      const g = link(svg, "#/e/" + e.seq);
      g.setAttribute("class", "node");
      el("rect", { x: cx - 14, y: cy - 11, width: 28, height: 22, fill: kindColor(e.kind) }, g);
      text(g, cx, cy + 4, String(e.seq), { "text-anchor": "middle" });
      el("title", {}, g).textContent = `#${e.seq} ${e.kind.replace("KIND_", "").toLowerCase()}: ${e.summary}`;
    });
    text(svg, 118, H - 6, "entries in log order →", { fill: "#5d6773" });
    return svg;
  }

  /* Lineage graph: nodes [EntryRef], edges [{source, relation, target}]
   * (source is newer). Columns by depth: the oldest evidence on the left. */
  function lineage(lin) {
    const nodes = lin.nodes || [], edges = lin.edges || [];
    const byId = new Map(nodes.map((n) => [n.seq, n]));
    const out = new Map(nodes.map((n) => [n.seq, []]));
    for (const e of edges) if (out.has(e.source) && byId.has(e.target)) out.get(e.source).push(e.target);
    const level = new Map();
    const depth = (s, seen) => {
      if (level.has(s)) return level.get(s);
      if (seen.has(s)) return 0;
      seen.add(s);
      let d = 0;
      for (const t of out.get(s) || []) d = Math.max(d, depth(t, seen) + 1);
      level.set(s, d);
      return d;
    };
    for (const n of nodes) depth(n.seq, new Set());
    const cols = [];
    for (const n of nodes) (cols[level.get(n.seq)] = cols[level.get(n.seq)] || []).push(n);
    const NW = 170, NH = 44, GX = 70, GY = 16;
    const rows = Math.max(1, ...cols.map((c) => (c ? c.length : 0)));
    const W = 20 + cols.length * (NW + GX), H = 20 + rows * (NH + GY);
    const svg = el("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img" });
    el("title", {}, svg).textContent = "lineage graph: nodes by kind, edges by relation";
    const pos = new Map();
    cols.forEach((c, ci) => (c || []).forEach((n, ri) => pos.set(n.seq, { x: 10 + ci * (NW + GX), y: 10 + ri * (NH + GY) })));
    for (const e of edges) {
      const a = pos.get(e.source), b = pos.get(e.target);
      if (!a || !b) continue;
      const x1 = a.x, y1 = a.y + NH / 2, x2 = b.x + NW, y2 = b.y + NH / 2;
      el("path", { d: `M${x1},${y1} C${x1 - GX / 2},${y1} ${x2 + GX / 2},${y2} ${x2},${y2}`, class: "edge", "marker-end": "" }, svg);
      el("circle", { cx: x2, cy: y2, r: 3, fill: "#8a96a3" }, svg);
      text(svg, (x1 + x2) / 2, (y1 + y2) / 2 - 3, e.relation.replace("RELATION_", "").toLowerCase(), { "text-anchor": "middle", fill: "#5d6773" });
    }
    for (const n of nodes) {
      const p = pos.get(n.seq);
      const g = link(svg, "#/lineage/" + n.seq);
      g.setAttribute("class", "node" + (n.seq === lin.root ? " root" : ""));
      g.setAttribute("data-seq", n.seq);
      el("rect", { x: p.x, y: p.y, width: NW, height: NH, fill: kindColor(n.kind) }, g);
      text(g, p.x + 6, p.y + 16, `#${n.seq} ${n.kind.replace("KIND_", "").toLowerCase().replace("_", " ")}`, { "font-weight": "600" });
      text(g, p.x + 6, p.y + 33, (n.summary || "").slice(0, 26));
      el("title", {}, g).textContent = `#${n.seq} by ${n.author}: ${n.summary}`;
    }
    return svg;
  }

  return { kpiChart, timeline, lineage, kindColor };
})();
