/**
 * Leave-one-out cross-validation by PSIS (Vehtari, Gelman & Gabry 2017, "Practical Bayesian model evaluation using
 * leave-one-out cross-validation and WAIC", Statistics and Computing 27), as R's loo package computes `loo()` and
 * `loo_compare()`, from the pointwise log-likelihood of every posterior draw.
 */
import { logSumExpOf, psis } from "./psis.js";

/** The usual Pareto k̂ limits: above GOOD the estimate is less accurate, above OK unreliable (loo 2.5). */
export const PARETO_K_GOOD = 0.5;
export const PARETO_K_OK = 0.7;

export interface LooResult {
  /** Σ elpd_loo,i: the expected log pointwise predictive density for new data. */
  elpd: number;
  se: number;
  /** The effective number of parameters, Σ (lpd_i − elpd_loo,i). */
  pLoo: number;
  pLooSe: number;
  /** −2 · elpd. */
  looic: number;
  looicSe: number;
  pointwise: { elpd: Float64Array; pLoo: Float64Array; k: Float64Array };
  /** Observations whose k̂ exceeds 0.5 and 0.7. */
  warnings: { above05: number; above07: number };
}

/** Sum and SE (√(N · var)) of pointwise values, as loo's table_of_estimates. */
export function estimateWithSe(values: ArrayLike<number>): { estimate: number; se: number } {
  const n = values.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  return { estimate: sum, se: Math.sqrt(n * (ss / (n - 1))) };
}

/**
 * PSIS-LOO of a log-likelihood matrix, `logLik[s * obs + i]` for draw s and observation i (draws × observations,
 * row-major), with each observation's relative efficiency r_eff (1 when not given, as loo with r_eff = 1).
 */
export function loo(logLik: Float64Array, draws: number, obs: number, rEff?: ArrayLike<number>): LooResult {
  if (logLik.length !== draws * obs) throw new RangeError(`loo: ${logLik.length} values do not make ${draws} draws × ${obs} observations`);
  return looByColumns(
    draws,
    obs,
    (i, column) => {
      for (let s = 0; s < draws; s++) column[s] = logLik[s * obs + i];
    },
    rEff,
  );
}

/**
 * PSIS-LOO with the log-likelihood given one observation at a time (`fill(i, column)` writes observation i's value
 * for every draw): memory for one column, not the whole matrix.
 */
export function looByColumns(draws: number, obs: number, fill: (i: number, column: Float64Array) => void, rEff?: ArrayLike<number>): LooResult {
  const elpd = new Float64Array(obs);
  const pLoo = new Float64Array(obs);
  const k = new Float64Array(obs);
  const column = new Float64Array(draws);
  const ratios = new Float64Array(draws);
  const scratch = new Float64Array(draws);
  for (let i = 0; i < obs; i++) {
    fill(i, column);
    for (let s = 0; s < draws; s++) ratios[s] = -column[s];
    const { logWeights, k: ki } = psis(ratios, rEff?.[i] ?? 1, scratch);
    const norm = logSumExpOf(logWeights);
    for (let s = 0; s < draws; s++) logWeights[s] += column[s] - norm;
    elpd[i] = logSumExpOf(logWeights);
    pLoo[i] = logSumExpOf(column) - Math.log(draws) - elpd[i];
    k[i] = ki;
  }
  const e = estimateWithSe(elpd);
  const p = estimateWithSe(pLoo);
  let above05 = 0;
  let above07 = 0;
  for (const v of k) {
    if (v > PARETO_K_GOOD) above05++;
    if (v > PARETO_K_OK) above07++;
  }
  return {
    ...looTotals(e, p),
    pointwise: { elpd, pLoo, k },
    warnings: { above05, above07 },
  };
}

/**
 * loo_compare of two models on the same observations: elpd of b minus a, and the SE of that difference from the
 * pointwise differences (√(N · var(diff))).
 */
export function looCompare(a: ArrayLike<number>, b: ArrayLike<number>): { elpdDiff: number; seDiff: number } {
  if (a.length !== b.length) throw new RangeError(`looCompare: ${a.length} and ${b.length} observations`);
  const diff = Float64Array.from({ length: a.length }, (_, i) => b[i] - a[i]);
  const d = estimateWithSe(diff);
  return { elpdDiff: d.estimate, seDiff: d.se };
}

/** PSIS-LOO of a simple random sample of the observations, scaled to all of them (`subsampleLoo`). */
export interface SubsampledLoo {
  /** N · mean of the sample's elpd_loo,i: the estimate of Σ over all N observations. */
  elpd: number;
  /** √(N · s²): the usual SE of elpd_loo (the spread of the observations), estimated from the sample. */
  se: number;
  /** √(N² (1 − m/N) s² / m): the SE added by computing on m of the N observations (0 when m = N). */
  subsamplingSe: number;
  pLoo: number;
  pLooSe: number;
  looic: number;
  looicSe: number;
  /** Observations in the sample (m) and in all (N). */
  sampleSize: number;
  total: number;
  /** "srs": N · the sample's mean; "difference": an approximation's sum over all N plus N · the sample's mean error. */
  estimator: "srs" | "difference";
  /** The sample's pointwise values and its k̂ warnings (counts within the sample). */
  pointwise: LooResult["pointwise"];
  warnings: LooResult["warnings"];
}

/**
 * A cheap approximation a_i of every observation's elpd_loo,i (Magnusson et al. use log p(y_i | posterior mean), their
 * "point" approximation): its sum and sum of squares over all N observations, and its values at the sampled ones in
 * sample order. The difference estimator is unbiased whatever the approximation; the closer it is, the smaller the SE
 * sampling adds.
 */
export interface LooApproximation {
  sum: number;
  sumOfSquares: number;
  sampled: ArrayLike<number>;
}

/**
 * Scales PSIS-LOO of a simple random sample (without replacement) of m of N observations to all N: Magnusson,
 * Andersen, Jonasson & Vehtari (2019), "Bayesian leave-one-out cross-validation for large data", ICML. Without an
 * approximation, the simple random sampling estimator, as R loo's `srs_est`: ŷ = N · mean(y), v(ŷ) = N² (1 − m/N)
 * s²/m (the subsampling variance), and N · s² the estimate of the usual variance of the sum. With one, their
 * difference estimator, as loo's `diff_srs_est`: with e_i = y_i − a_i, ŷ = Σ_N a + N · mean(e), v(ŷ) = N² (1 − m/N)
 * s_e²/m, and the usual variance Σ_N a² + N · mean(y² − a²) − (ŷ² − v(ŷ))/N. With m = N it is the full `loo` exactly.
 * p_loo is scaled by the simple estimator either way.
 */
export function subsampleLoo(sample: LooResult, total: number, approximation?: LooApproximation): SubsampledLoo {
  const m = sample.pointwise.elpd.length;
  if (!(Number.isSafeInteger(total) && m >= 2 && m <= total)) throw new RangeError(`subsampleLoo: a sample of ${m} of ${total} observations`);
  if (approximation !== undefined && approximation.sampled.length !== m)
    throw new RangeError(`subsampleLoo: ${approximation.sampled.length} approximations for a sample of ${m}`);
  const scale = (values: Float64Array) => {
    const { estimate, se } = estimateWithSe(values); // se = √(m s²)
    const s2 = (se * se) / m;
    return { estimate: (total * estimate) / m, se: Math.sqrt(total * s2), subsamplingSe: Math.sqrt(((total * total * (1 - m / total)) / m) * s2) };
  };
  // Every observation: the sums themselves (N · mean(y) would differ from Σ y in the last bits).
  if (m === total) return { ...sampleAsIs(sample), sampleSize: m, total, estimator: approximation === undefined ? "srs" : "difference" };
  const e = approximation === undefined ? scale(sample.pointwise.elpd) : differenceEstimate(sample.pointwise.elpd, approximation, total);
  const p = scale(sample.pointwise.pLoo);
  return {
    estimator: approximation === undefined ? "srs" : "difference",
    ...looTotals(e, p),
    subsamplingSe: e.subsamplingSe,
    sampleSize: m,
    total,
    pointwise: sample.pointwise,
    warnings: sample.warnings,
  };
}

/** Magnusson et al.'s difference estimator of Σ y over N from y at a sample of m and an approximation a (loo's diff_srs_est). */
function differenceEstimate(y: Float64Array, a: LooApproximation, total: number): { estimate: number; se: number; subsamplingSe: number } {
  const m = y.length;
  let sumE = 0;
  let sumSqDiff = 0;
  for (let j = 0; j < m; j++) {
    sumE += y[j] - a.sampled[j];
    sumSqDiff += y[j] * y[j] - a.sampled[j] * a.sampled[j];
  }
  const meanE = sumE / m;
  let ssE = 0;
  for (let j = 0; j < m; j++) ssE += (y[j] - a.sampled[j] - meanE) ** 2;
  const varE = ssE / (m - 1);
  const estimate = a.sum + total * meanE;
  const v = ((total * total * (1 - m / total)) / m) * varE;
  const usual = a.sumOfSquares + (total * sumSqDiff) / m - (estimate * estimate - v) / total;
  return { estimate, se: Math.sqrt(Math.max(0, usual)), subsamplingSe: Math.sqrt(v) };
}

/** A full LOO as a SubsampledLoo's fields: its own sums and SEs, nothing added by sampling. */
/** elpd_loo and p_loo with their SEs, and looic = −2 · elpd_loo with its SE (loo's `estimates` rows). */
function looTotals(
  e: { estimate: number; se: number },
  p: { estimate: number; se: number },
): Pick<LooResult, "elpd" | "se" | "pLoo" | "pLooSe" | "looic" | "looicSe"> {
  return { elpd: e.estimate, se: e.se, pLoo: p.estimate, pLooSe: p.se, looic: -2 * e.estimate, looicSe: 2 * e.se };
}

function sampleAsIs(l: LooResult): Omit<SubsampledLoo, "sampleSize" | "total" | "estimator"> {
  return {
    elpd: l.elpd,
    se: l.se,
    subsamplingSe: 0,
    pLoo: l.pLoo,
    pLooSe: l.pLooSe,
    looic: l.looic,
    looicSe: l.looicSe,
    pointwise: l.pointwise,
    warnings: l.warnings,
  };
}
