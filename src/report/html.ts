// The self-contained report page: inline CSS, figures as data: URIs, no scripts and no external references.
import type { PlotName, ReportComparison, ReportInput } from "./types.js";

export interface HtmlFigure {
  name: PlotName;
  caption: string;
  svg: string;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Shortest decimal text of `v` at `digits` significant digits: 0.005800 → "0.0058", 5.00e-5 → "5e-5". */
function significant(v: number, digits: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) {
    const [mantissa, exponent] = v.toExponential(digits - 1).split("e");
    return `${Number(mantissa)}e${Number(exponent)}`;
  }
  return String(Number(v.toPrecision(digits)));
}

/** A table cell's text: integers as they are, ESS rounded, R-hat to 3 decimals, other numbers to 4 significant digits. */
export function formatValue(key: string, value: string | number): string {
  if (typeof value === "string") return value;
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "−∞";
  if (Number.isInteger(value)) return String(value);
  const k = key.toLowerCase();
  if (k.startsWith("ess")) return String(Math.round(value));
  if (k === "r_hat" || k === "rhat") return value.toFixed(3);
  return significant(value, 4);
}

function cell(key: string, value: string | number | null | undefined, numeric: boolean): string {
  if (value === undefined) return "<td></td>";
  if (value === null) return `<td${numeric ? ' class="num"' : ""}>–</td>`;
  return `<td${numeric ? ' class="num"' : ""}>${escapeHtml(formatValue(key, value))}</td>`;
}

function keyValueTable(record: Record<string, string | number>, empty: string): string {
  const entries = Object.entries(record);
  if (entries.length === 0) return `<p class="muted">${escapeHtml(empty)}</p>`;
  const rows = entries.map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th>${cell(k, v, false)}</tr>`).join("\n");
  return `<table class="kv">\n${rows}\n</table>`;
}

function summaryTable(rows: Record<string, string | number | null>[]): string {
  if (rows.length === 0) return '<p class="muted">No summary.</p>';
  const columns: string[] = [];
  for (const row of rows) for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
  // Columns whose every value is a number are right-aligned, header included.
  const numeric = columns.map((c) => rows.every((r) => r[c] === undefined || r[c] === null || typeof r[c] === "number"));
  const head = columns.map((c, i) => `<th scope="col"${numeric[i] && i > 0 ? ' class="num"' : ""}>${escapeHtml(c)}</th>`).join("");
  const body = rows
    .map((row) => {
      const cells = columns.map((c, i) => {
        const v = row[c];
        if (i === 0 && v !== undefined && v !== null) return `<th scope="row">${escapeHtml(formatValue(c, v))}</th>`;
        return cell(c, v, numeric[i]);
      });
      return `<tr>${cells.join("")}</tr>`;
    })
    .join("\n");
  return `<table class="summary">\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function gateBlock(gate: ReportInput["gate"]): string {
  if (gate.passed) {
    return `<section class="gate pass" id="gate"><p class="verdict">✔ Quality gate passed</p>${
      gate.failures.length > 0 ? failureList(gate.failures) : ""
    }${comparisonBlock(gate.comparison)}</section>`;
  }
  return `<section class="gate fail" id="gate"><p class="verdict">✘ Quality gate failed</p>${
    gate.failures.length > 0 ? failureList(gate.failures) : "<p>No reason was given.</p>"
  }${comparisonBlock(gate.comparison)}</section>`;
}

/** The new fit against the version serving, as loo_compare prints a pair: the better first, differences from it. */
function comparisonBlock(c: ReportComparison | undefined): string {
  if (c === undefined) return '<p class="comparison">No version was serving: nothing to compare with.</p>';
  if (c.note !== undefined || c.elpd_diff === null || c.se_diff === null || c.elpd_new === null || c.elpd_latest === null)
    return `<p class="comparison">${c.refused ? "Not promoted over" : "Not compared with"} ${escapeHtml(c.against)}: ${escapeHtml(c.note ?? "no scores")}.</p>`;
  const rows: [string, number, number, number][] = [
    ["this fit", c.elpd_new, 0, 0],
    [c.against, c.elpd_latest, 0, 0],
  ];
  const better = c.elpd_diff >= 0 ? 0 : 1;
  rows[1 - better][2] = -Math.abs(c.elpd_diff);
  rows[1 - better][3] = c.se_diff;
  const ordered = [rows[better], rows[1 - better]];
  const verdict = c.refused
    ? `refused: more than ${c.max_elpd_drop} SE worse than ${escapeHtml(c.against)}`
    : `not worse than ${escapeHtml(c.against)} by more than ${c.max_elpd_drop} SE`;
  return `<div class="comparison"><p>Against the version serving (${escapeHtml(c.against)}) on ${c.rows} held-out rows of the new data — ${verdict}:</p>
<table class="kv"><thead><tr><th></th><th>elpd_diff</th><th>se_diff</th><th>elpd</th></tr></thead><tbody>
${ordered.map(([name, elpd, diff, se]) => `<tr><th scope="row">${escapeHtml(name)}</th><td class="num">${diff.toFixed(1)}</td><td class="num">${se.toFixed(1)}</td><td class="num">${elpd.toFixed(1)}</td></tr>`).join("\n")}
</tbody></table></div>`;
}

/** What was computed on a random sample of the rows, said at the top of the page (empty when every row was used). */
function sampleBlock(input: ReportInput): string {
  const { train, test } = input.samples ?? {};
  const items: string[] = [];
  const sub = input.loo?.subsample;
  const loo =
    sub === undefined
      ? ""
      : `, PSIS-LOO (elpd_loo scaled to all training rows by Magnusson et al. (2019)'s ${sub.estimator === "difference" ? "difference" : "simple random sampling"} estimator, its subsampling SE ${sub.subsamplingSe.toFixed(1)}) and the Pareto k̂ figure`;
  if (train !== undefined)
    items.push(`the data and posterior predictive figures${loo}: a random sample of ${train.rows} of ${train.of} training rows (seed ${train.seed})`);
  if (test !== undefined)
    items.push(
      `the held-out metrics from predictive samples and the predicted-vs-actual figure: a random sample of ${test.rows} of ${test.of} held-out rows (seed ${test.seed}); elpd_holdout is over every held-out row`,
    );
  if (items.length === 0) return "";
  return `<div class="sample" id="sample"><p><strong>Computed on a sample of the rows:</strong></p><ul>\n${items.map((i) => `<li>${escapeHtml(i)}</li>`).join("\n")}\n</ul></div>`;
}

function failureList(failures: string[]): string {
  return `<ul class="failures">\n${failures.map((f) => `<li>${escapeHtml(f)}</li>`).join("\n")}\n</ul>`;
}

function figure(f: HtmlFigure): string {
  const src = `data:image/svg+xml;base64,${Buffer.from(f.svg, "utf8").toString("base64")}`;
  const size = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(f.svg);
  const dims = size ? ` width="${Math.round(Number(size[1]))}" height="${Math.round(Number(size[2]))}"` : "";
  return `<figure id="fig-${f.name}"><img src="${src}" alt="${escapeHtml(f.caption)}"${dims}><figcaption>${escapeHtml(f.caption)}</figcaption></figure>`;
}

const CSS = `
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; margin: 0 auto; padding: 24px 32px 48px; max-width: 1100px;
  color: #1f2328; background: #ffffff; line-height: 1.45; }
h1 { font-size: 1.6em; margin: 0 0 4px; word-break: break-word; }
h2 { font-size: 1.2em; margin: 28px 0 10px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.muted { color: #656d76; }
.sample { border-left: 4px solid #9a6700; background: #fff8c5; padding: 6px 14px; margin: 12px 0; }
.sample p, .sample ul { margin: 4px 0; }
.gate { border-radius: 6px; padding: 12px 16px; margin: 18px 0; border: 2px solid; }
.gate .verdict { font-size: 1.25em; font-weight: bold; margin: 0; }
.gate.pass { background: #e6f4ea; border-color: #188038; color: #0d5222; }
.gate.fail { background: #fce8e6; border-color: #c5221f; color: #8a1512; }
.gate ul { margin: 8px 0 0; padding-left: 22px; }
.cols { display: flex; flex-wrap: wrap; gap: 32px; }
.cols > div { flex: 1 1 320px; min-width: 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7eb; text-align: left; vertical-align: top; }
thead th { border-bottom: 2px solid #8c959f; background: #f6f8fa; }
th.num { text-align: right; }
td.num { text-align: right; font-variant-numeric: tabular-nums; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
table.kv th { font-weight: normal; color: #424a53; }
table.kv td { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; word-break: break-all; }
.table-wrap { overflow-x: auto; }
figure { margin: 18px 0 30px; }
figure img { max-width: 100%; height: auto; border: 1px solid #e4e7eb; }
figcaption { color: #656d76; font-size: 0.9em; margin-top: 4px; }
`;

/** The report page. Figures are the SVGs, base64-encoded as data: URIs so that each keeps its own ids. */
export function reportHtml(input: ReportInput, figures: HtmlFigure[]): string {
  const title = escapeHtml(input.title);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${title}</h1>
<p class="muted">Bayesian regression fitted with NUTS: training report.</p>
${sampleBlock(input)}
</header>
${gateBlock(input.gate)}
<div class="cols">
<div><h2>Metrics</h2>
${keyValueTable(input.metrics, "No held-out metrics (no test set).")}
</div>
<div><h2>Run</h2>
${keyValueTable(input.meta, "No run information.")}
</div>
</div>
<h2>Posterior summary</h2>
<div class="table-wrap">
${summaryTable(input.summaryTable)}
</div>
<h2>Figures</h2>
${figures.map(figure).join("\n")}
</body>
</html>
`;
}
