// GET /: a small self-contained page for a person. It reads GET /model, builds an input for every feature the model
// declares (within its bounds), and on every change asks the four endpoints (same seed, so the same samples) and
// draws the predictive density as inline SVG — for a count or 0/1 target, the probability of each value — the HDI
// shaded and the median marked, beside the expected value (for a 0/1 target, P(y = 1)) with its credible interval,
// and the model's family, version, metrics and diagnostics.
// No CDN, no framework: one HTML document with its script and style inline, allowed by a hash-based CSP.
import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from "fastify";
import type { ModelHolder } from "./model-holder.js";
import { PREDICT_PREFIX } from "./schemas.js";

export interface PagePluginOptions {
  holder: ModelHolder;
}

const STYLE = `
:root { --ink: #1d2433; --muted: #5b6475; --line: #d9dee8; --accent: #2f6fdf; --hdi: #9cc0ff; --point: #d6336c; --bg: #f6f7fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { padding: 14px 24px; background: #fff; border-bottom: 1px solid var(--line); display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 19px; margin: 0; }
header .meta { color: var(--muted); font-size: 13px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; background: #e7eefc; color: #1f4fa8; font-family: ui-monospace, monospace; }
.badge.ok { background: #e3f6e8; color: #176b33; } .badge.bad { background: #fde8ec; color: #a3122f; }
main { display: grid; grid-template-columns: 280px 1fr; gap: 18px; padding: 18px 24px; max-width: 1180px; }
@media (max-width: 820px) { main { grid-template-columns: 1fr; } }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
h2 { font-size: 14px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 10px; }
label { display: block; font-size: 13px; color: var(--muted); margin: 10px 0 3px; }
input, select { width: 100%; padding: 6px 8px; font: inherit; border: 1px solid var(--line); border-radius: 5px; background: #fff; }
.row { display: flex; gap: 8px; } .row > div { flex: 1; }
button { margin-top: 14px; width: 100%; padding: 8px; font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 0; border-radius: 5px; cursor: pointer; }
#error { color: #a3122f; font-size: 13px; margin-top: 10px; white-space: pre-wrap; }
#plot svg { width: 100%; height: auto; display: block; }
.answers { display: flex; gap: 22px; flex-wrap: wrap; margin: 4px 0 6px; }
.caption { font-size: 12px; color: var(--muted); margin: 6px 0 0; }
.answers div { font-size: 13px; color: var(--muted); } .answers b { display: block; font-size: 20px; color: var(--ink); font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; font-size: 13px; width: 100%; font-variant-numeric: tabular-nums; }
td, th { text-align: left; padding: 3px 8px 3px 0; border-bottom: 1px solid #eef0f5; } th { color: var(--muted); font-weight: 600; }
.side-tables { display: grid; grid-template-columns: 1fr 2fr; gap: 18px; margin-top: 18px; }
@media (max-width: 820px) { .side-tables { grid-template-columns: 1fr; } }
h2.spaced { margin-top: 18px; }
.wrap { padding: 0 24px; max-width: 1180px; }
footer { padding: 0 24px 24px; color: var(--muted); font-size: 13px; } a { color: var(--accent); }
`;

const SCRIPT = `
"use strict";
const PREFIX = ${JSON.stringify(PREDICT_PREFIX)};
const $ = (id) => document.getElementById(id);
const fmt = (v) => (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : (+v.toPrecision(5)).toString());
let features = [];
let family = { kind: "continuous", discrete: false, has_mean: true };
let pending = 0;

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function svg(tag, attrs, text) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function buildInputs(model) {
  features = model.features;
  const box = $("features");
  box.textContent = "";
  for (const f of features) {
    const range = f.minimum !== undefined || f.maximum !== undefined ? ", " + (f.minimum ?? "−∞") + " … " + (f.maximum ?? "∞") : "";
    box.appendChild(el("label", { for: "f-" + f.name }, f.name + " (" + f.type + (f.type === "category" ? ", " + f.levels + " levels" : range) + ")"));
    let input;
    if (f.type === "category") {
      input = el("select", { id: "f-" + f.name, name: f.name });
      for (let k = 0; k < f.levels; k++) input.appendChild(el("option", { value: String(k) }, String(k)));
      input.value = String(Math.min(2, f.levels - 1));
    } else {
      const preferred = f.type === "integer" ? 1 : 5;
      const value = Math.min(Math.max(preferred, f.minimum ?? -Infinity), f.maximum ?? Infinity);
      const attrs = { id: "f-" + f.name, name: f.name, type: "number", step: f.type === "integer" ? "1" : "any", value: String(value) };
      if (f.minimum !== undefined) attrs.min = String(f.minimum);
      if (f.maximum !== undefined) attrs.max = String(f.maximum);
      input = el("input", attrs);
    }
    input.addEventListener("change", predict);
    box.appendChild(input);
  }
}

function table(target, rows, columns) {
  const t = $(target);
  t.textContent = "";
  if (!rows.length) { t.appendChild(el("tr", {}, "")).appendChild(el("td", {}, "none recorded")); return; }
  const head = el("tr");
  for (const c of columns) head.appendChild(el("th", {}, c));
  t.appendChild(head);
  for (const r of rows) {
    const tr = el("tr");
    for (const c of columns) {
      const v = r[c];
      tr.appendChild(el("td", {}, typeof v === "number" ? fmt(v) : v === null || v === undefined ? "–" : String(v)));
    }
    t.appendChild(tr);
  }
}

function showModel(model) {
  $("model-name").textContent = model.model.name;
  family = model.family;
  if (family.discrete) $("bins").value = "100";
  $("family").textContent = model.family.name + " · " + model.family.kind + " (" + model.family.support + ")";
  $("a-mean-label").textContent = model.family.kind === "binary" ? "P(" + model.model.target + " = 1)" : model.family.kind === "count" ? "expected count" : "mean E[y | x]";
  $("caption").textContent = model.family.discrete
    ? "Bars: the probability of each value among the posterior-predictive samples. Shaded: the highest-density interval. Dashed: the median. The expected value (exact over every posterior draw) is shown with its credible interval."
    : "Bars: histogram (density) of the posterior-predictive samples. Shaded: the highest-density interval. Dashed: the median. The three answers come from the same samples (one seed); the mean is exact over every posterior draw.";
  $("version").textContent = model.version;
  $("created").textContent = "trained " + new Date(model.created_at).toLocaleString() + " · " + model.draws.chains + " chains × " + model.draws.draws_per_chain + " draws";
  const gate = $("gate");
  gate.textContent = model.gate.passed ? "quality gate passed" : "quality gate failed";
  gate.className = "badge " + (model.gate.passed ? "ok" : "bad");
  const m = model.metrics && typeof model.metrics === "object" && !Array.isArray(model.metrics) ? model.metrics : {};
  table("metrics", Object.entries(m).map(([k, v]) => ({ metric: k, value: v })), ["metric", "value"]);
  const d = model.diagnostics || {};
  const rows = Array.isArray(d) ? d : Array.isArray(d.summary) ? d.summary : Array.isArray(d.rows) ? d.rows : [];
  const scalar = rows.length ? Object.keys(rows[0]).filter((k) => rows.every((r) => typeof r[k] !== "object" || r[k] === null)) : [];
  const preferred = ["parameter", "name", "mean", "sd", "hdi_3%", "hdi_97%", "ess_bulk", "ess_tail", "r_hat"].filter((k) => scalar.includes(k));
  table("diagnostics", rows, preferred.length >= 3 ? preferred : scalar.slice(0, 8));
  const extra = [];
  if (typeof d.divergences === "number") extra.push(d.divergences + " divergent transitions");
  $("diag-note").textContent = extra.join(" · ");
  $("limits").textContent = "n_samples ≤ " + model.limits.maxSamples + ", bins ≤ " + model.limits.maxBins;
}

async function post(kind, body) {
  const r = await fetch(PREFIX + "/" + kind, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await r.json();
  if (!r.ok) {
    const detail = Array.isArray(json.detail) ? json.detail.map((d) => d.loc.slice(1).join(".") + ": " + d.msg).join("\\n") : String(json.detail);
    throw new Error(detail);
  }
  return json;
}

async function predict() {
  const data = {};
  for (const f of features) {
    const raw = $("f-" + f.name).value;
    data[f.name] = raw === "" ? null : Number(raw);
  }
  const n = Number($("n-samples").value);
  const seed = Math.floor(Math.random() * 1e9);
  const algo = { n_samples: n, seed };
  const ticket = ++pending;
  $("error").textContent = "";
  try {
    const hdi = Number($("hdi").value);
    const [point, interval, density, mean] = await Promise.all([
      post("point", { data, algo_param: algo }),
      post("interval", { data, algo_param: algo, hdi_probability: hdi }),
      post("density", { data, algo_param: algo, bins: Number($("bins").value) }),
      family.has_mean ? post("mean", { data, hdi_probability: hdi }) : Promise.resolve(null),
    ]);
    if (ticket !== pending) return;
    $("a-mean").textContent = mean === null ? "–" : fmt(mean.y_mean) + " [" + fmt(mean.y_mean_lower) + ", " + fmt(mean.y_mean_upper) + "]";
    $("a-point").textContent = fmt(point.y_pred);
    $("a-interval").textContent = "[" + fmt(interval.y_pred_lower) + ", " + fmt(interval.y_pred_upper) + "]";
    $("a-hdi").textContent = Math.round(Number($("hdi").value) * 1000) / 10 + "% HDI (interval)";
    $("a-n").textContent = String(point.algo_param) + " (seed " + seed + ")";
    draw(density.y_pred_bin_mids, density.y_pred_density, interval.y_pred_lower, interval.y_pred_upper, point.y_pred);
  } catch (e) {
    if (ticket === pending) $("error").textContent = e.message;
  }
}

function ticks(lo, hi, count) {
  const span = hi - lo || 1;
  const step0 = Math.pow(10, Math.floor(Math.log10(span / count)));
  const err = span / count / step0;
  const step = step0 * (err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function draw(mids, dens, lo, hi, point) {
  const W = 760, H = 360, L = 58, R = 18, T = 30, B = 46;
  const width = mids.length > 1 ? mids[1] - mids[0] : 1;
  const x0 = Math.min(mids[0] - width / 2, lo), x1 = Math.max(mids[mids.length - 1] + width / 2, hi);
  const yMax = Math.max(...dens) * 1.12 || 1;
  const sx = (v) => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const sy = (v) => H - B - (v / yMax) * (H - T - B);
  const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "predictive density" });
  root.appendChild(svg("rect", { x: sx(lo), y: T, width: Math.max(1, sx(hi) - sx(lo)), height: H - T - B, fill: "var(--hdi)", "fill-opacity": 0.35, id: "hdi-band" }));
  for (const t of ticks(0, yMax, 5)) {
    root.appendChild(svg("line", { x1: L, x2: W - R, y1: sy(t), y2: sy(t), stroke: "#eef0f5" }));
    root.appendChild(svg("text", { x: L - 8, y: sy(t) + 4, "text-anchor": "end", "font-size": 11, fill: "#5b6475" }, fmt(t)));
  }
  const bars = svg("g", { id: "bars" });
  mids.forEach((m, i) => {
    bars.appendChild(svg("rect", { x: sx(m - width / 2) + 0.5, y: sy(dens[i]), width: Math.max(0.5, sx(m + width / 2) - sx(m - width / 2) - 1), height: sy(0) - sy(dens[i]), fill: "#2f6fdf", "fill-opacity": 0.78 }));
  });
  root.appendChild(bars);
  root.appendChild(svg("line", { x1: L, x2: W - R, y1: sy(0), y2: sy(0), stroke: "#1d2433" }));
  for (const t of ticks(x0, x1, 8)) {
    root.appendChild(svg("line", { x1: sx(t), x2: sx(t), y1: sy(0), y2: sy(0) + 5, stroke: "#1d2433" }));
    root.appendChild(svg("text", { x: sx(t), y: sy(0) + 19, "text-anchor": "middle", "font-size": 11, fill: "#5b6475" }, fmt(t)));
  }
  for (const [v, anchor] of [[lo, "end"], [hi, "start"]]) {
    root.appendChild(svg("line", { x1: sx(v), x2: sx(v), y1: T, y2: sy(0), stroke: "#5b8de8", "stroke-width": 1.5 }));
    root.appendChild(svg("text", { x: sx(v) + (anchor === "end" ? -4 : 4), y: T + 12, "text-anchor": anchor, "font-size": 11, fill: "#1f4fa8" }, fmt(v)));
  }
  root.appendChild(svg("line", { x1: sx(point), x2: sx(point), y1: T - 6, y2: sy(0), stroke: "var(--point)", "stroke-width": 2.5, "stroke-dasharray": "6 4", id: "point-line" }));
  root.appendChild(svg("text", { x: sx(point), y: T - 12, "text-anchor": "middle", "font-size": 12, "font-weight": 600, fill: "var(--point)" }, "median " + fmt(point)));
  root.appendChild(svg("text", { x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle", "font-size": 12, fill: "#5b6475" }, "predicted value"));
  root.appendChild(svg("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", "font-size": 12, fill: "#5b6475", transform: "rotate(-90 14 " + (T + H - B) / 2 + ")" }, "density"));
  $("plot").textContent = "";
  $("plot").appendChild(root);
}

async function start() {
  try {
    const r = await fetch("/model");
    if (!r.ok) throw new Error("no model loaded yet (" + r.status + "); reload in a moment");
    const model = await r.json();
    buildInputs(model);
    showModel(model);
    await predict();
    document.body.dataset.ready = "1";
  } catch (e) {
    $("error").textContent = e.message;
  }
}
for (const id of ["n-samples", "hdi", "bins"]) $(id).addEventListener("change", predict);
$("go").addEventListener("click", predict);
start();
`;

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bayes-serve</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>bayes-serve · <span id="model-name">…</span></h1>
  <span class="badge" id="version">loading</span>
  <span class="badge" id="gate"></span>
  <span class="badge" id="family"></span>
  <span class="meta" id="created"></span>
</header>
<main>
  <section>
    <h2>Inputs</h2>
    <div id="features"></div>
    <h2 class="spaced">Question</h2>
    <label for="hdi">HDI probability</label>
    <input id="hdi" type="number" min="0.01" max="0.99" step="0.01" value="0.95">
    <div class="row">
      <div><label for="n-samples">n_samples</label><input id="n-samples" type="number" min="1" step="1" value="5000"></div>
      <div><label for="bins">bins</label><input id="bins" type="number" min="1" step="1" value="30"></div>
    </div>
    <button id="go" type="button">Predict</button>
    <div id="error" role="alert"></div>
  </section>
  <section>
    <h2>Posterior predictive</h2>
    <div class="answers">
      <div>point (median)<b id="a-point">–</b></div>
      <div><span id="a-hdi">HDI</span><b id="a-interval">–</b></div>
      <div><span id="a-mean-label">mean</span><b id="a-mean">–</b></div>
      <div>samples<b id="a-n">–</b></div>
    </div>
    <div id="plot"></div>
    <p class="caption" id="caption"></p>
  </section>
</main>
<div class="wrap">
  <div class="side-tables">
    <section><h2>Metrics (held-out data)</h2><table id="metrics"></table></section>
    <section><h2>Diagnostics</h2><table id="diagnostics"></table><p class="caption" id="diag-note"></p></section>
  </div>
</div>
<footer><p>API: <a href="/docs">/docs</a> · <a href="/openapi.json">/openapi.json</a> · <a href="/model">/model</a> · <a href="/metrics">/metrics</a> · limits: <span id="limits"></span></p></footer>
<script>${SCRIPT}</script>
</body>
</html>
`;

const hash = (text: string): string => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

const CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The page's HTML (exported for tests). */
export const PAGE_HTML = HTML;

export const pagePlugin: FastifyPluginAsync<PagePluginOptions> = async (app: FastifyInstance) => {
  app.get("/", { schema: { hide: true } }, async (_request, reply: FastifyReply) => {
    reply.header("content-security-policy", CSP).header("x-content-type-options", "nosniff").type("text/html; charset=utf-8");
    return HTML;
  });
};
