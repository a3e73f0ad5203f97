// Synthetic, seeded report inputs of the seed's shape: 1,600 training rows (x, category 0..2, y), 4 parameters ×
// 2 chains × 5,000 draws, 400 held-out rows with 94 % HDIs, and 50 replicated datasets for the PPC.
import { mulberry32 } from "../support/mulberry32.js";
import type { ReportInput } from "../../src/report/index.js";

export const rng = mulberry32;

export function normal(u: () => number): () => number {
  return () => {
    const a = Math.max(u(), 1e-300);
    return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * u());
  };
}

export interface FixtureOptions {
  seed?: number;
  rows?: number;
  testRows?: number;
  draws?: number;
  chains?: number;
  replicates?: number;
  gatePassed?: boolean;
}

export function syntheticInput(options: FixtureOptions = {}): ReportInput {
  const u = rng(options.seed ?? 42);
  const z = normal(u);
  const beta = [1, 1.25, 1.5];
  const sigma = 0.75;
  const rows = options.rows ?? 1600;
  const testRows = options.testRows ?? 400;
  const draws = options.draws ?? 5000;
  const nChains = options.chains ?? 2;
  const replicates = options.replicates ?? 50;

  const simulate = (n: number) => {
    const x = new Float64Array(n);
    const c = new Int32Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      c[i] = Math.floor(u() * 3);
      x[i] = u() * 10;
      y[i] = beta[c[i]] * x[i] + sigma * z();
    }
    return { x, c, y };
  };
  const train = simulate(rows);
  const test = simulate(testRows);

  const posterior = [
    { name: "beta[0]", mean: 0.9993, sd: 0.0058 },
    { name: "beta[1]", mean: 1.2503, sd: 0.0057 },
    { name: "beta[2]", mean: 1.5097, sd: 0.0059 },
    { name: "sigma", mean: 0.7522, sd: 0.0134 },
  ];
  const parameters = posterior.map((p) => ({
    name: p.name,
    chains: Array.from({ length: nChains }, () => {
      // AR(1) with a little autocorrelation, like NUTS output.
      const out = new Float64Array(draws);
      let e = z();
      for (let i = 0; i < draws; i++) {
        e = 0.3 * e + Math.sqrt(1 - 0.09) * z();
        out[i] = p.mean + p.sd * e;
      }
      return out;
    }),
  }));

  const hdiProb = 0.94;
  const half = 1.881 * sigma; // 94 % of a normal
  const mean = new Float64Array(testRows);
  const lower = new Float64Array(testRows);
  const upper = new Float64Array(testRows);
  for (let i = 0; i < testRows; i++) {
    mean[i] = beta[test.c[i]] * test.x[i] + 0.075 * z();
    lower[i] = mean[i] - half * (1 + 0.05 * z());
    upper[i] = mean[i] + half * (1 + 0.05 * z());
  }

  const replicated = Array.from({ length: replicates }, () => {
    const r = new Float64Array(rows);
    for (let i = 0; i < rows; i++) r[i] = beta[train.c[i]] * train.x[i] + sigma * z();
    return r;
  });

  const passed = options.gatePassed ?? true;
  return {
    title: "seed-regression 20261201T003000Z-a1b2c3",
    data: { x: train.x, category: train.c, y: train.y, xName: "x", yName: "y", categoryName: "category" },
    parameters,
    predictions: { actual: test.y, mean, lower, upper, hdiProb },
    ppc: { observed: train.y, replicated },
    summaryTable: posterior.map((p) => ({
      parameter: p.name,
      mean: p.mean,
      sd: p.sd,
      "hdi_3%": p.mean - 1.881 * p.sd,
      "hdi_97%": p.mean + 1.881 * p.sd,
      mcse_mean: 0.00005,
      mcse_sd: 0.00004,
      ess_bulk: 8827.4,
      ess_tail: 7012.9,
      r_hat: 1.0004,
    })),
    gate: passed
      ? { passed: true, failures: [] }
      : { passed: false, failures: ["sigma: r_hat 1.042 > 1.01", "beta[1]: ess_tail 212 < 400", "2 divergent transitions"] },
    metrics: testRows > 0 ? { mape: 0.3886, rmse: 0.7561, coverage_50: 0.5025, coverage_90: 0.9, coverage_95: 0.955, crps: 0.4271 } : {},
    meta: {
      version: "20261201T003000Z-a1b2c3",
      created: "2026-12-01T00:30:00Z",
      model: "seed-regression",
      draws,
      tune: 1000,
      chains: nChains,
      seed: 42,
      data_sha256: "3f5a0c9e1b7d2a4c6e8f0a1b3c5d7e9f",
      rows_train: rows,
      rows_test: testRows,
    },
  };
}
