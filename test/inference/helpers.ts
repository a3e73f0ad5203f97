// Shared by the sampler tests: the seed's data generator (as in bodywork-pymc3-project: 1,600 training rows,
// x ~ U(0, 10), category uniform over 0..2, y = beta[category]·x + 0.75·N(0, 1), beta = (1, 1.25, 1.5)), and
// per-quantity views of a posterior.
import { chainsOf, type Posterior } from "../../src/inference/posterior.js";
import { Rng } from "../../src/random/rng.js";

export const SEED_BETA = [1, 1.25, 1.5];
export const SEED_SIGMA = 0.75;

export function seedData(rows = 1600, seed = 42) {
  const rng = new Rng(seed, 12345);
  const x: number[] = [];
  const category: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < rows; i++) {
    const c = rng.int(3);
    const xi = 10 * rng.uniform();
    x.push(xi);
    category.push(c);
    y.push(SEED_BETA[c] * xi + SEED_SIGMA * rng.normal());
  }
  return { x, category, y };
}

export function statColumn(p: Posterior, stat: string): Float64Array {
  const k = p.statNames.indexOf(stat);
  if (k < 0) throw new Error(`no sampler statistic ${stat}`);
  const w = p.statNames.length;
  const out = new Float64Array(p.chains * p.draws);
  for (let i = 0; i < out.length; i++) out[i] = p.stats[i * w + k];
  return out;
}

export function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s;
}

export { chainsOf };
