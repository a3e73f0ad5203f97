// The page's script (GET /, see ../page.ts): reads GET /model, builds an input for every feature the model declares
// (within its bounds), and on every change asks the four endpoints (same seed, so the same samples) and draws the
// predictive density as inline SVG — for a count or 0/1 target, the probability of each value — the HDI shaded and the
// median marked, beside the expected value (for a 0/1 target, P(y = 1)) with its credible interval, and the model's
// family, version, metrics and diagnostics.
// Browser code: type-checked against the DOM by ./tsconfig.json, compiled by esbuild (./assets.ts) into the
// classic script the page inlines. It imports nothing; what it needs from the server comes in the page's markup.

/** The part of GET /model's answer the page reads (model-routes.ts declares the whole). */
interface Feature {
  name: string;
  type: "float" | "integer" | "category";
  levels?: number;
  minimum?: number;
  maximum?: number;
}
interface Family {
  name?: string;
  kind: "continuous" | "count" | "binary";
  support?: string;
  discrete: boolean;
  has_mean: boolean;
}
interface ModelInfo {
  version: string;
  created_at: string;
  model: { name: string; target: string };
  family: Required<Family>;
  features: Feature[];
  draws: { chains: number; draws_per_chain: number };
  metrics: unknown;
  diagnostics: unknown;
  gate: { passed: boolean };
  limits: { maxSamples: number; maxBins: number };
}
interface PointAnswer {
  y_pred: number;
  algo_param: number;
}
interface IntervalAnswer {
  y_pred_lower: number;
  y_pred_upper: number;
}
interface DensityAnswer {
  y_pred_bin_mids: number[];
  y_pred_density: number[];
}
interface MeanAnswer {
  y_mean: number;
  y_mean_lower: number;
  y_mean_upper: number;
}
/** A 4xx answer's body: FastAPI's shape, a list of {loc, msg} or a message. */
interface ProblemBody {
  detail?: { loc: (string | number)[]; msg: string }[] | string;
}
type Row = Record<string, unknown>;
type SvgAttributes = Record<string, string | number>;

const PREFIX = document.body.dataset.predictPrefix ?? "";
const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`the page has no element #${id}`);
  return e as T;
};
const input = (id: string): HTMLInputElement | HTMLSelectElement => $<HTMLInputElement | HTMLSelectElement>(id);
const fmt = (v: number): string => (Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : (+v.toPrecision(5)).toString());
let features: Feature[] = [];
let family: Pick<Family, "kind" | "discrete" | "has_mean"> = { kind: "continuous", discrete: false, has_mean: true };
let pending = 0;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Record<string, string>, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function svg(tag: string, attrs?: SvgAttributes, text?: string): SVGElement {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function buildInputs(model: ModelInfo): void {
  features = model.features;
  const box = $("features");
  box.textContent = "";
  for (const f of features) {
    const range = f.minimum !== undefined || f.maximum !== undefined ? ", " + (f.minimum ?? "−∞") + " … " + (f.maximum ?? "∞") : "";
    box.appendChild(el("label", { for: "f-" + f.name }, f.name + " (" + f.type + (f.type === "category" ? ", " + f.levels + " levels" : range) + ")"));
    let field: HTMLInputElement | HTMLSelectElement;
    if (f.type === "category") {
      const levels = f.levels ?? 0;
      field = el("select", { id: "f-" + f.name, name: f.name });
      for (let k = 0; k < levels; k++) field.appendChild(el("option", { value: String(k) }, String(k)));
      field.value = String(Math.min(2, levels - 1));
    } else {
      const preferred = f.type === "integer" ? 1 : 5;
      const value = Math.min(Math.max(preferred, f.minimum ?? -Infinity), f.maximum ?? Infinity);
      const attrs: Record<string, string> = { id: "f-" + f.name, name: f.name, type: "number", step: f.type === "integer" ? "1" : "any", value: String(value) };
      if (f.minimum !== undefined) attrs.min = String(f.minimum);
      if (f.maximum !== undefined) attrs.max = String(f.maximum);
      field = el("input", attrs);
    }
    field.addEventListener("change", predict);
    box.appendChild(field);
  }
}

function table(target: string, rows: Row[], columns: string[]): void {
  const t = $(target);
  t.textContent = "";
  if (!rows.length) {
    t.appendChild(el("tr", {}, "")).appendChild(el("td", {}, "none recorded"));
    return;
  }
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

const isRecord = (v: unknown): v is Row => typeof v === "object" && v !== null && !Array.isArray(v);

/** The diagnostics' rows, in whichever shape training recorded them: a list, or a list under `summary` or `rows`. */
function diagnosticRows(d: unknown): Row[] {
  if (Array.isArray(d)) return d as Row[];
  if (!isRecord(d)) return [];
  if (Array.isArray(d.summary)) return d.summary as Row[];
  if (Array.isArray(d.rows)) return d.rows as Row[];
  return [];
}

function showModel(model: ModelInfo): void {
  $("model-name").textContent = model.model.name;
  family = model.family;
  if (family.discrete) input("bins").value = "100";
  $("family").textContent = model.family.name + " · " + model.family.kind + " (" + model.family.support + ")";
  $("a-mean-label").textContent =
    model.family.kind === "binary" ? "P(" + model.model.target + " = 1)" : model.family.kind === "count" ? "expected count" : "mean E[y | x]";
  $("caption").textContent = model.family.discrete
    ? "Bars: the probability of each value among the posterior-predictive samples. Shaded: the highest-density interval. Dashed: the median. The expected value (exact over every posterior draw) is shown with its credible interval."
    : "Bars: histogram (density) of the posterior-predictive samples. Shaded: the highest-density interval. Dashed: the median. The three answers come from the same samples (one seed); the mean is exact over every posterior draw.";
  $("version").textContent = model.version;
  $("created").textContent =
    "trained " + new Date(model.created_at).toLocaleString() + " · " + model.draws.chains + " chains × " + model.draws.draws_per_chain + " draws";
  const gate = $("gate");
  gate.textContent = model.gate.passed ? "quality gate passed" : "quality gate failed";
  gate.className = "badge " + (model.gate.passed ? "ok" : "bad");
  const m = isRecord(model.metrics) ? model.metrics : {};
  table(
    "metrics",
    Object.entries(m).map(([k, v]) => ({ metric: k, value: v })),
    ["metric", "value"],
  );
  const d = model.diagnostics || {};
  const rows = diagnosticRows(d);
  const scalar = rows.length ? Object.keys(rows[0]).filter((k) => rows.every((r) => typeof r[k] !== "object" || r[k] === null)) : [];
  const preferred = ["parameter", "name", "mean", "sd", "hdi_3%", "hdi_97%", "ess_bulk", "ess_tail", "r_hat"].filter((k) => scalar.includes(k));
  table("diagnostics", rows, preferred.length >= 3 ? preferred : scalar.slice(0, 8));
  const extra: string[] = [];
  if (isRecord(d) && typeof d.divergences === "number") extra.push(d.divergences + " divergent transitions");
  $("diag-note").textContent = extra.join(" · ");
  $("limits").textContent = "n_samples ≤ " + model.limits.maxSamples + ", bins ≤ " + model.limits.maxBins;
}

async function post<T>(kind: string, body: unknown): Promise<T> {
  const r = await fetch(PREFIX + "/" + kind, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json: unknown = await r.json();
  if (!r.ok) {
    const problem = json as ProblemBody;
    const detail = Array.isArray(problem.detail) ? problem.detail.map((d) => d.loc.slice(1).join(".") + ": " + d.msg).join("\n") : String(problem.detail);
    throw new Error(detail);
  }
  return json as T;
}

async function predict(): Promise<void> {
  const data: Record<string, number | null> = {};
  for (const f of features) {
    const raw = input("f-" + f.name).value;
    data[f.name] = raw === "" ? null : Number(raw);
  }
  const n = Number(input("n-samples").value);
  const seed = Math.floor(Math.random() * 1e9);
  const algo = { n_samples: n, seed };
  const ticket = ++pending;
  $("error").textContent = "";
  try {
    const hdi = Number(input("hdi").value);
    const [point, interval, density, mean] = await Promise.all([
      post<PointAnswer>("point", { data, algo_param: algo }),
      post<IntervalAnswer>("interval", { data, algo_param: algo, hdi_probability: hdi }),
      post<DensityAnswer>("density", { data, algo_param: algo, bins: Number(input("bins").value) }),
      family.has_mean ? post<MeanAnswer>("mean", { data, hdi_probability: hdi }) : Promise.resolve(null),
    ]);
    if (ticket !== pending) return;
    $("a-mean").textContent = mean === null ? "–" : fmt(mean.y_mean) + " [" + fmt(mean.y_mean_lower) + ", " + fmt(mean.y_mean_upper) + "]";
    $("a-point").textContent = fmt(point.y_pred);
    $("a-interval").textContent = "[" + fmt(interval.y_pred_lower) + ", " + fmt(interval.y_pred_upper) + "]";
    $("a-hdi").textContent = Math.round(Number(input("hdi").value) * 1000) / 10 + "% HDI (interval)";
    $("a-n").textContent = String(point.algo_param) + " (seed " + seed + ")";
    draw(density.y_pred_bin_mids, density.y_pred_density, interval.y_pred_lower, interval.y_pred_upper, point.y_pred);
  } catch (e) {
    if (ticket === pending) $("error").textContent = (e as Error).message;
  }
}

function ticks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo || 1;
  const step0 = Math.pow(10, Math.floor(Math.log10(span / count)));
  const err = span / count / step0;
  const step = step0 * (err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1);
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function draw(mids: number[], dens: number[], lo: number, hi: number, point: number): void {
  const W = 760,
    H = 360,
    L = 58,
    R = 18,
    T = 30,
    B = 46;
  const width = mids.length > 1 ? mids[1] - mids[0] : 1;
  const x0 = Math.min(mids[0] - width / 2, lo),
    x1 = Math.max(mids[mids.length - 1] + width / 2, hi);
  const yMax = Math.max(...dens) * 1.12 || 1;
  const sx = (v: number): number => L + ((v - x0) / (x1 - x0)) * (W - L - R);
  const sy = (v: number): number => H - B - (v / yMax) * (H - T - B);
  const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "predictive density" });
  root.appendChild(
    svg("rect", { x: sx(lo), y: T, width: Math.max(1, sx(hi) - sx(lo)), height: H - T - B, fill: "var(--hdi)", "fill-opacity": 0.35, id: "hdi-band" }),
  );
  for (const t of ticks(0, yMax, 5)) {
    root.appendChild(svg("line", { x1: L, x2: W - R, y1: sy(t), y2: sy(t), stroke: "#eef0f5" }));
    root.appendChild(svg("text", { x: L - 8, y: sy(t) + 4, "text-anchor": "end", "font-size": 11, fill: "#5b6475" }, fmt(t)));
  }
  const bars = svg("g", { id: "bars" });
  mids.forEach((m, i) => {
    bars.appendChild(
      svg("rect", {
        x: sx(m - width / 2) + 0.5,
        y: sy(dens[i]),
        width: Math.max(0.5, sx(m + width / 2) - sx(m - width / 2) - 1),
        height: sy(0) - sy(dens[i]),
        fill: "#2f6fdf",
        "fill-opacity": 0.78,
      }),
    );
  });
  root.appendChild(bars);
  root.appendChild(svg("line", { x1: L, x2: W - R, y1: sy(0), y2: sy(0), stroke: "#1d2433" }));
  for (const t of ticks(x0, x1, 8)) {
    root.appendChild(svg("line", { x1: sx(t), x2: sx(t), y1: sy(0), y2: sy(0) + 5, stroke: "#1d2433" }));
    root.appendChild(svg("text", { x: sx(t), y: sy(0) + 19, "text-anchor": "middle", "font-size": 11, fill: "#5b6475" }, fmt(t)));
  }
  const edges: [number, "end" | "start"][] = [
    [lo, "end"],
    [hi, "start"],
  ];
  for (const [v, anchor] of edges) {
    root.appendChild(svg("line", { x1: sx(v), x2: sx(v), y1: T, y2: sy(0), stroke: "#5b8de8", "stroke-width": 1.5 }));
    root.appendChild(svg("text", { x: sx(v) + (anchor === "end" ? -4 : 4), y: T + 12, "text-anchor": anchor, "font-size": 11, fill: "#1f4fa8" }, fmt(v)));
  }
  root.appendChild(
    svg("line", {
      x1: sx(point),
      x2: sx(point),
      y1: T - 6,
      y2: sy(0),
      stroke: "var(--point)",
      "stroke-width": 2.5,
      "stroke-dasharray": "6 4",
      id: "point-line",
    }),
  );
  root.appendChild(
    svg("text", { x: sx(point), y: T - 12, "text-anchor": "middle", "font-size": 12, "font-weight": 600, fill: "var(--point)" }, "median " + fmt(point)),
  );
  root.appendChild(svg("text", { x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle", "font-size": 12, fill: "#5b6475" }, "predicted value"));
  root.appendChild(
    svg(
      "text",
      { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", "font-size": 12, fill: "#5b6475", transform: "rotate(-90 14 " + (T + H - B) / 2 + ")" },
      "density",
    ),
  );
  $("plot").textContent = "";
  $("plot").appendChild(root);
}

async function start(): Promise<void> {
  try {
    const r = await fetch("/model");
    if (!r.ok) throw new Error("no model loaded yet (" + r.status + "); reload in a moment");
    const model = (await r.json()) as ModelInfo;
    buildInputs(model);
    showModel(model);
    await predict();
    document.body.dataset.ready = "1";
  } catch (e) {
    $("error").textContent = (e as Error).message;
  }
}
for (const id of ["n-samples", "hdi", "bins"]) $(id).addEventListener("change", predict);
$("go").addEventListener("click", predict);
void start();
