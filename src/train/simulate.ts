// The seed's data generator (train_model.ipynb): category uniform over {0, 1, 2}, x ~ Uniform(0, 10),
// y = beta[category]·x + sigma·N(0, 1), with beta = (1, 1.25, 1.5), sigma = 0.75 and n = 2000. Seeded here.
import { Rng } from "../random/rng.js";

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

/**
 * The seed's simulated data as CSV (header x,category,y; every value at full precision), in chunks of about
 * `chunkChars` characters: millions of rows can be written to a file without holding their text.
 */
export function* seedCsvChunks(settings: SimulationSettings = SEED_SIMULATION, chunkChars = 1 << 16): Generator<string> {
  const d = simulateSeedData(settings);
  let text = "x,category,y\n";
  for (let i = 0; i < d.x.length; i++) {
    text += `${d.x[i]},${d.category[i]},${d.y[i]}\n`;
    if (text.length >= chunkChars) {
      yield text;
      text = "";
    }
  }
  if (text.length > 0) yield text;
}

/** The same CSV as one string (for small tables). */
export const seedCsv = (settings: SimulationSettings = SEED_SIMULATION): string => [...seedCsvChunks(settings)].join("");
