/**
 * An ArviZ `az.summary`-like table (arviz stats/stats.py `summary`, kind="all"): per scalar
 * parameter mean, sd, HDI bounds, mcse_mean, mcse_sd, ess_bulk, ess_tail, r_hat. The
 * convergence columns use the posterior-compatible functions of this folder.
 */
import { meanOfChains, sdOfChains, shouldReturnNaN, sortedDraws, splitChains, type Chains } from "./chains.js";
import { essOfChains, essTailSorted } from "./ess.js";
import { DEFAULT_HDI_PROB, hdiSorted } from "./hdi.js";
import { mcseMean, mcseSd } from "./mcse.js";
import { BLOM_OFFSET, zScale } from "./rank-normalize.js";
import { foldedRhatSorted, rhatOfChains } from "./rhat.js";

/**
 * Draws of several scalar parameters, laid out [chain][draw][param]: the value of parameter p
 * at draw d of chain c is `values[(c * draws + d) * names.length + p]`.
 */
export interface DrawsTable {
  /** Scalar parameter names, e.g. `beta[0]` (0-based indices). */
  names: readonly string[];
  chains: number;
  draws: number;
  values: Float64Array;
}

export interface SummaryRow {
  name: string;
  mean: number;
  /** Standard deviation over all draws (denominator n - 1). */
  sd: number;
  /** HDI lower bound (ArviZ column `hdi_3%` for the default probability 0.94). */
  hdiLow: number;
  /** HDI upper bound (ArviZ column `hdi_97%`). */
  hdiHigh: number;
  mcseMean: number;
  mcseSd: number;
  essBulk: number;
  essTail: number;
  /** Rank-normalised split-R-hat (NaN with a single chain). */
  rHat: number;
}

export interface SummaryOptions {
  /** HDI probability (default 0.94, as ArviZ). */
  hdiProb?: number;
}

function checkTable(input: DrawsTable): void {
  const { names, chains, draws, values } = input;
  if (!Number.isInteger(chains) || chains < 1) throw new RangeError(`summary: chains must be a positive integer, got ${chains}`);
  if (!Number.isInteger(draws) || draws < 1) throw new RangeError(`summary: draws must be a positive integer, got ${draws}`);
  const expected = chains * draws * names.length;
  if (values.length !== expected) {
    throw new RangeError(`summary: values has length ${values.length}, expected chains * draws * names.length = ${expected}`);
  }
}

/**
 * One parameter's draws as one array per chain. With a single parameter the arrays are
 * views into `values` (no copy); otherwise the strided values are gathered into one new buffer
 * of chains * draws numbers, of which the per-chain arrays are views.
 */
export function extractParameter(input: DrawsTable, param: number): Float64Array[] {
  checkTable(input);
  const { names, chains, draws, values } = input;
  const P = names.length;
  if (!Number.isInteger(param) || param < 0 || param >= P) {
    throw new RangeError(`extractParameter: parameter index ${param} out of range [0, ${P})`);
  }
  const out: Float64Array[] = new Array(chains);
  if (P === 1) {
    for (let c = 0; c < chains; c++) out[c] = values.subarray(c * draws, (c + 1) * draws);
    return out;
  }
  const buf = new Float64Array(chains * draws);
  for (let c = 0; c < chains; c++) {
    const base = c * draws;
    for (let d = 0; d < draws; d++) buf[base + d] = values[(base + d) * P + param];
    out[c] = buf.subarray(base, base + draws);
  }
  return out;
}

/** Same as {@link extractParameter}, by name. */
export function extractParameterByName(input: DrawsTable, name: string): Float64Array[] {
  const p = input.names.indexOf(name);
  if (p < 0) throw new RangeError(`extractParameter: no parameter named ${JSON.stringify(name)}`);
  return extractParameter(input, p);
}

/** The summary row of one parameter given its per-chain draws. */
export function summarizeChains(name: string, chains: Chains, options: SummaryOptions = {}): SummaryRow {
  const hdiProb = options.hdiProb ?? DEFAULT_HDI_PROB;
  const sorted = sortedDraws(chains);
  const [hdiLow, hdiHigh] = hdiSorted(sorted, hdiProb);
  // The rank-normalised split chains serve both bulk-ESS and the bulk R-hat. With an even
  // number of draws per chain the split chains hold every draw, so `sorted` is their sort too.
  let essBulkValue = Number.NaN;
  let rHat = Number.NaN;
  if (!shouldReturnNaN(chains)) {
    const n = chains[0].length;
    const z = zScale(splitChains(chains), BLOM_OFFSET, n % 2 === 0 ? sorted : undefined);
    essBulkValue = essOfChains(z);
    rHat = Math.max(rhatOfChains(z), foldedRhatSorted(chains, sorted));
  }
  return {
    name,
    mean: meanOfChains(chains),
    sd: sdOfChains(chains),
    hdiLow,
    hdiHigh,
    mcseMean: mcseMean(chains),
    mcseSd: mcseSd(chains),
    essBulk: essBulkValue,
    essTail: essTailSorted(chains, sorted),
    rHat,
  };
}

/** One {@link SummaryRow} per parameter, in the order of `input.names`. */
export function summarize(input: DrawsTable, options: SummaryOptions = {}): SummaryRow[] {
  checkTable(input);
  return input.names.map((name, p) => summarizeChains(name, extractParameter(input, p), options));
}
