// A fit's result: every chain's draws on the constrained scale, with the model's deterministic quantities computed
// from them, laid out [chain][draw][name], beside each chain's sampler statistics, adaptation and timing.
import { BayesServeError } from "../errors.js";
import type { BoundModel } from "../model/bind.js";
import type { CompiledModel } from "../model/compile.js";
import { evaluateNodes, nodesFeeding } from "../model/evaluate.js";
import { type ChainResult, SAMPLE_STATS, type SamplerSettings } from "./sampler.js";

export interface Posterior {
  modelName: string;
  /** Scalar names: parameters, then deterministic quantities, 0-based (beta[0]). */
  names: string[];
  /** Shapes of each named quantity: {beta: [3], sigma: []}. */
  shapes: Record<string, number[]>;
  chains: number;
  draws: number;
  /** Constrained values, [chain][draw][name]. */
  values: Float64Array;
  statNames: readonly string[];
  /** [chain][draw][stat]. */
  stats: Float64Array;
  stepSizes: number[];
  invMetrics: Float64Array[];
  warmupDivergences: number[];
  /** Log-density gradients evaluated per chain, warm-up included. */
  gradients: number[];
  /** Each chain's last draw on the unconstrained scale (with stepSizes and invMetrics, what a warm start needs). */
  finalPositions: Float64Array[];
  /** Per chain: whether it began at a warm start's point. */
  warmStarted: boolean[];
  settings: SamplerSettings;
  /** Threads that evaluated each chain's log-density (FitOptions.threadsPerChain). */
  threadsPerChain: number;
  /** Wall-clock seconds of the slowest chain. */
  seconds: number;
  /** Per chain: wall-clock seconds of the whole chain, and of its initialisation and warm-up. */
  chainSeconds: number[];
  warmupSeconds: number[];
}

/** The posterior of chains 0..n−1 (results in chain order), run with these settings, each gradient on threadsPerChain threads. */
export function posteriorOf(compiled: CompiledModel, settings: SamplerSettings, threadsPerChain: number, results: ChainResult[]): Posterior {
  const bound: BoundModel = compiled.bound;
  const dim = compiled.dim;
  const json = bound.json;
  const detNames: string[] = [];
  const shapes: Record<string, number[]> = {};
  for (const p of bound.params) shapes[p.decl.name] = p.decl.shape as number[];
  for (const d of json.deterministics) {
    const s = bound.shapes[d.node];
    if (s.length > 1) throw new BayesServeError("MODEL_DEFINITION", `deterministic "${d.name}" must be a scalar or a vector`);
    shapes[d.name] = s;
    if (s.length === 0) detNames.push(d.name);
    else for (let i = 0; i < s[0]; i++) detNames.push(`${d.name}[${i}]`);
  }
  const names = [...compiled.paramNames, ...detNames];
  const width = names.length;
  const chains = results.length;
  const draws = settings.draws;
  const values = new Float64Array(chains * draws * width);
  const nStats = SAMPLE_STATS.length;
  const stats = new Float64Array(chains * draws * nStats);
  const constrained = new Float64Array(dim);
  const lastDet = json.deterministics.reduce((m, d) => Math.max(m, d.node), -1);
  // Only what the deterministics read: a deterministic declared after the likelihood would otherwise evaluate every
  // row of it at every draw (a 20,000-row regression: 0.7 ms a draw).
  const needed = nodesFeeding(
    bound,
    json.deterministics.map((d) => d.node),
  );
  for (const r of results) {
    stats.set(r.stats, r.chain * draws * nStats);
    for (let d = 0; d < draws; d++) {
      compiled.constrain(r.unconstrained.subarray(d * dim, (d + 1) * dim), constrained);
      const row = (r.chain * draws + d) * width;
      values.set(constrained, row);
      if (lastDet >= 0) {
        const vals = evaluateNodes(bound, constrained, 0, lastDet, needed);
        let k = row + dim;
        for (const det of json.deterministics) {
          const v = vals[det.node];
          for (let i = 0; i < v.length; i++) values[k++] = v[i];
        }
      }
    }
  }
  return {
    modelName: json.name,
    names,
    shapes,
    chains,
    draws,
    values,
    statNames: SAMPLE_STATS,
    stats,
    stepSizes: results.map((r) => r.stepSize),
    invMetrics: results.map((r) => r.invMetric),
    warmupDivergences: results.map((r) => r.warmupDivergences),
    gradients: results.map((r) => r.gradients),
    finalPositions: results.map((r) => r.unconstrained.slice((draws - 1) * dim, draws * dim)),
    warmStarted: results.map((r) => r.warmStarted),
    settings,
    threadsPerChain,
    seconds: Math.max(...results.map((r) => r.seconds)),
    chainSeconds: results.map((r) => r.seconds),
    warmupSeconds: results.map((r) => r.warmupSeconds),
  };
}

/** One quantity's draws per chain (copies out of the [chain][draw][name] layout). */
export function chainsOf(posterior: Posterior, name: string): Float64Array[] {
  const k = posterior.names.indexOf(name);
  if (k < 0) throw new BayesServeError("USAGE", `no quantity named "${name}" in the posterior`);
  const w = posterior.names.length;
  return Array.from({ length: posterior.chains }, (_, c) => {
    const out = new Float64Array(posterior.draws);
    for (let d = 0; d < posterior.draws; d++) out[d] = posterior.values[(c * posterior.draws + d) * w + k];
    return out;
  });
}
