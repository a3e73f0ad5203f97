// The seed's data generator (train_model.ipynb): category uniform over {0, 1, 2}, x ~ Uniform(0, 10),
// y = beta[category]·x + sigma·N(0, 1), with beta = (1, 1.25, 1.5), sigma = 0.75 and n = 2000. Seeded here.
import { Rng } from "../model/random.js";

export interface SimulationSettings {
  rows: number;
  beta: number[];
  sigma: number;
  xMin: number;
  xMax: number;
  seed: number;
}

export const SEED_SIMULATION: SimulationSettings = { rows: 2000, beta: [1, 1.25, 1.5], sigma: 0.75, xMin: 0, xMax: 10, seed: 42 };

export interface RegressionData {
  x: Float64Array;
  category: Int32Array;
  y: Float64Array;
}

export function simulateSeedData(settings: SimulationSettings = SEED_SIMULATION): RegressionData {
  const rng = new Rng(settings.seed, 1_000_003);
  const n = settings.rows;
  const levels = settings.beta.length;
  const x = new Float64Array(n);
  const category = new Int32Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    category[i] = rng.int(levels);
    x[i] = settings.xMin + (settings.xMax - settings.xMin) * rng.uniform();
    y[i] = settings.beta[category[i]] * x[i] + settings.sigma * rng.normal();
  }
  return { x, category, y };
}
