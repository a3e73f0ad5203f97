// The quality gate a fit must pass before it is published: convergence (R-hat), enough effective draws (bulk and
// tail ESS) for every parameter, and no divergent transitions. Thresholds follow Vehtari et al. (2021): R-hat ≤ 1.01,
// ESS ≥ 400 (100 per chain for 4 chains).
import type { SummaryRow } from "../diagnostics/index.js";

export interface GateThresholds {
  maxRhat: number;
  minEssBulk: number;
  minEssTail: number;
  maxDivergences: number;
}

export const DEFAULT_GATE: GateThresholds = { maxRhat: 1.01, minEssBulk: 400, minEssTail: 400, maxDivergences: 0 };

export interface GateResult {
  passed: boolean;
  failures: string[];
}

export function qualityGate(rows: readonly SummaryRow[], divergences: number, t: GateThresholds = DEFAULT_GATE): GateResult {
  const failures: string[] = [];
  for (const r of rows) {
    const name = r.name;
    if (!(r.rHat <= t.maxRhat)) failures.push(`${name}: r_hat ${fmt(r.rHat)} > ${t.maxRhat}`);
    if (!(r.essBulk >= t.minEssBulk)) failures.push(`${name}: ess_bulk ${fmt(r.essBulk)} < ${t.minEssBulk}`);
    if (!(r.essTail >= t.minEssTail)) failures.push(`${name}: ess_tail ${fmt(r.essTail)} < ${t.minEssTail}`);
  }
  if (divergences > t.maxDivergences) failures.push(`${divergences} divergent transition(s) > ${t.maxDivergences}`);
  return { passed: failures.length === 0, failures };
}

function fmt(v: number): string {
  return Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(4)) : String(v);
}
