// The quality gate a fit must pass before it is published: convergence (R-hat), enough effective draws (bulk and
// tail ESS) for every parameter, and no divergent transitions — thresholds from Vehtari et al. (2021): R-hat ≤ 1.01,
// ESS ≥ 400 (100 per chain for 4 chains) — and, when asked for, held-out metrics of the target's kind within bounds
// (`--gate-metric "brier<=0.2"`, `"coverage_90>=0.85"`).
import { GATE_DEFAULTS } from "../defaults.js";
import { BayesServeError } from "../errors.js";
import type { SummaryRow } from "../diagnostics/index.js";
import type { ComparisonVerdict } from "./promotion.js";

/** A bound on one held-out metric. */
export interface MetricRule {
  metric: string;
  op: "<=" | ">=";
  value: number;
}

export interface GateThresholds {
  maxRhat: number;
  minEssBulk: number;
  minEssTail: number;
  maxDivergences: number;
  /** Bounds on held-out metrics (none by default). */
  metrics?: MetricRule[];
}

/** Parses "name<=value" or "name>=value". */
export function parseMetricRule(text: string): MetricRule {
  const m = /^\s*([a-z_0-9]+)\s*(<=|>=)\s*(\S+)\s*$/.exec(text);
  const value = m === null ? Number.NaN : Number(m[3]);
  if (m === null || !Number.isFinite(value))
    throw new BayesServeError("USAGE", `--gate-metric "${text}": write it as NAME<=VALUE or NAME>=VALUE, e.g. "brier<=0.2" or "coverage_90>=0.85"`);
  return { metric: m[1], op: m[2] as MetricRule["op"], value };
}

/** Refuses rules naming metrics the target's kind does not have, before any fitting. */
export function checkMetricRules(rules: readonly MetricRule[], available: readonly string[], kind: string): void {
  for (const r of rules)
    if (!available.includes(r.metric))
      throw new BayesServeError("USAGE", `--gate-metric ${r.metric}: a ${kind} target has no such held-out metric; it has ${available.join(", ")}`);
}

export const DEFAULT_GATE: GateThresholds = { ...GATE_DEFAULTS };

export interface GateResult {
  passed: boolean;
  failures: string[];
  /** The comparison with the version serving (promotion.ts), when one was made. */
  comparison?: ComparisonVerdict;
}

export function qualityGate(
  rows: readonly SummaryRow[],
  divergences: number,
  t: GateThresholds = DEFAULT_GATE,
  metrics: Record<string, number> = {},
): GateResult {
  const failures: string[] = [];
  for (const r of rows) {
    const name = r.name;
    if (!(r.rHat <= t.maxRhat)) failures.push(`${name}: r_hat ${fmt(r.rHat)} > ${t.maxRhat}`);
    if (!(r.essBulk >= t.minEssBulk)) failures.push(`${name}: ess_bulk ${fmt(r.essBulk)} < ${t.minEssBulk}`);
    if (!(r.essTail >= t.minEssTail)) failures.push(`${name}: ess_tail ${fmt(r.essTail)} < ${t.minEssTail}`);
  }
  // With Stan's advice on what to do about them (its sampler's warning).
  if (divergences > t.maxDivergences)
    failures.push(
      `${divergences} divergent transition(s) > ${t.maxDivergences}: the sampler could not follow the posterior's curvature somewhere; ` +
        `retrain with a higher --target-accept (0.9, 0.95, 0.99; --divergence-retries tries them in turn in one process) or reparameterise the model ` +
        `(groups non-centred where they have few rows each, centred where they have many); --max-divergences accepts some`,
    );
  for (const rule of t.metrics ?? []) {
    const v = metrics[rule.metric];
    if (v === undefined) failures.push(`${rule.metric}: not measured (no held-out rows, or not defined for this data)`);
    else if (!(rule.op === "<=" ? v <= rule.value : v >= rule.value)) failures.push(`${rule.metric}: ${fmt(v)} ${rule.op === "<=" ? ">" : "<"} ${rule.value}`);
  }
  return { passed: failures.length === 0, failures };
}

function fmt(v: number): string {
  return Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(4)) : String(v);
}
