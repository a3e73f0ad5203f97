/**
 * Fixed-width text rendering of summary rows, laid out as ArviZ's `az.summary` DataFrame
 * prints (pandas `to_string`): parameter names left-aligned, columns right-aligned and
 * separated by two spaces, and ArviZ's default rounding (arviz stats/stats.py `summary`):
 * 3 decimals, 2 for r_hat, ess columns rounded to whole numbers (shown as pandas shows a
 * float column, e.g. `948.0`).
 */
import { DEFAULT_HDI_PROB } from "./hdi.js";
import type { SummaryRow } from "./summary.js";

export interface FormatSummaryOptions {
  /** The HDI probability the rows were computed with, for the column labels (default 0.94). */
  hdiProb?: number;
}

/** ArviZ's HDI column label: `hdi_{100 * (1 - prob) / 2:g}%` and its complement. */
function hdiLabels(prob: number): [string, string] {
  const g = (v: number) => String(Number(v.toPrecision(6)));
  const alpha = 1 - prob;
  return [`hdi_${g((100 * alpha) / 2)}%`, `hdi_${g(100 * (1 - alpha / 2))}%`];
}

function fixed(v: number, decimals: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  return v.toFixed(decimals);
}

function essCell(v: number): string {
  if (!Number.isFinite(v)) return fixed(v, 0);
  return `${Math.round(v).toFixed(0)}.0`;
}

/** Renders the rows as a text table (no trailing newline). */
export function formatSummaryTable(rows: readonly SummaryRow[], options: FormatSummaryOptions = {}): string {
  const [lowLabel, highLabel] = hdiLabels(options.hdiProb ?? DEFAULT_HDI_PROB);
  const headers = ["mean", "sd", lowLabel, highLabel, "mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "r_hat"];
  const cells = rows.map((r) => [
    fixed(r.mean, 3),
    fixed(r.sd, 3),
    fixed(r.hdiLow, 3),
    fixed(r.hdiHigh, 3),
    fixed(r.mcseMean, 3),
    fixed(r.mcseSd, 3),
    essCell(r.essBulk),
    essCell(r.essTail),
    fixed(r.rHat, 2),
  ]);
  const nameWidth = rows.reduce((w, r) => Math.max(w, r.name.length), 0);
  const widths = headers.map((h, j) => cells.reduce((w, row) => Math.max(w, row[j].length), h.length));
  const line = (first: string, cols: string[]) => first.padEnd(nameWidth) + cols.map((c, j) => "  " + c.padStart(widths[j])).join("");
  return [line("", headers), ...rows.map((r, i) => line(r.name, cells[i]))].join("\n");
}
