/** summarize / extractParameter / formatSummaryTable on synthetic draws with known answers. */
import { describe, expect, it } from "vitest";
import {
  essBulk,
  essTail,
  extractParameter,
  extractParameterByName,
  formatSummaryTable,
  hdi,
  mcseMean,
  mcseSd,
  poolDraws,
  rhat,
  summarize,
  type DrawsTable,
  type SummaryRow,
} from "../../src/diagnostics/index.js";
import { normalSampler } from "./rng.js";

/** chains x draws iid draws of N(mu_p, sd_p) for each parameter, laid out [chain][draw][param]. */
function iidTable(chains: number, draws: number, params: { name: string; mu: number; sd: number }[], seed: number): DrawsTable {
  const z = normalSampler(seed);
  const P = params.length;
  const values = new Float64Array(chains * draws * P);
  for (let c = 0; c < chains; c++)
    for (let d = 0; d < draws; d++) for (let p = 0; p < P; p++) values[(c * draws + d) * P + p] = params[p].mu + params[p].sd * z();
  return { names: params.map((p) => p.name), chains, draws, values };
}

describe("extractParameter", () => {
  it("reads the [chain][draw][param] layout", () => {
    // 2 chains, 3 draws, 2 params: value = 100 c + 10 d + p
    const values = new Float64Array(12);
    for (let c = 0; c < 2; c++) for (let d = 0; d < 3; d++) for (let p = 0; p < 2; p++) values[(c * 3 + d) * 2 + p] = 100 * c + 10 * d + p;
    const table: DrawsTable = { names: ["a", "b[0]"], chains: 2, draws: 3, values };
    expect(extractParameter(table, 1).map((x) => Array.from(x))).toEqual([
      [1, 11, 21],
      [101, 111, 121],
    ]);
    expect(extractParameterByName(table, "a").map((x) => Array.from(x))).toEqual([
      [0, 10, 20],
      [100, 110, 120],
    ]);
    expect(() => extractParameter(table, 2)).toThrow(RangeError);
    expect(() => extractParameterByName(table, "c")).toThrow(RangeError);
    expect(() => extractParameter({ ...table, draws: 4 }, 0)).toThrow(RangeError);
  });

  it("does not copy a single parameter's draws", () => {
    const values = Float64Array.of(1, 2, 3, 4);
    const chains = extractParameter({ names: ["x"], chains: 2, draws: 2, values }, 0);
    expect(chains[1].buffer).toBe(values.buffer);
    expect(Array.from(chains[1])).toEqual([3, 4]);
  });
});

describe("summarize", () => {
  const params = [
    { name: "beta[0]", mu: 0, sd: 1 },
    { name: "beta[1]", mu: 5, sd: 2 },
    { name: "sigma", mu: 1.5, sd: 0.1 },
  ];
  const chains = 4;
  const draws = 1000;
  const S = chains * draws;
  const table = iidTable(chains, draws, params, 42);
  const rows = summarize(table);

  it("gives one row per parameter, in order", () => {
    expect(rows.map((r) => r.name)).toEqual(params.map((p) => p.name));
  });

  it("recovers the known answers for independent normal draws", () => {
    rows.forEach((r, i) => {
      const { mu, sd } = params[i];
      expect(Math.abs(r.mean - mu)).toBeLessThan((4 * sd) / Math.sqrt(S));
      expect(Math.abs(r.sd / sd - 1)).toBeLessThan(0.05);
      // 94% HDI of a normal is mu ± 1.8808 sd. Its width is well determined by a sample, its
      // position much less (sliding the window changes the width only to second order).
      expect(Math.abs((r.hdiHigh - r.hdiLow) / (2 * 1.880793608 * sd) - 1)).toBeLessThan(0.05);
      expect(Math.abs((r.hdiLow + r.hdiHigh) / 2 - mu)).toBeLessThan(0.2 * sd);
      expect(r.essBulk / S).toBeGreaterThan(0.85);
      expect(r.essBulk / S).toBeLessThan(1.15);
      expect(r.essTail / S).toBeGreaterThan(0.8);
      expect(r.essTail / S).toBeLessThan(1.2);
      expect(Math.abs(r.rHat - 1)).toBeLessThan(0.01);
      // iid: mcse_mean ~ sd / sqrt(S), and for a normal mcse_sd ~ sd / sqrt(2 S)
      expect(r.mcseMean / (sd / Math.sqrt(S))).toBeGreaterThan(0.85);
      expect(r.mcseMean / (sd / Math.sqrt(S))).toBeLessThan(1.15);
      expect(r.mcseSd / (sd / Math.sqrt(2 * S))).toBeGreaterThan(0.8);
      expect(r.mcseSd / (sd / Math.sqrt(2 * S))).toBeLessThan(1.2);
    });
  });

  it("agrees with the individual functions", () => {
    rows.forEach((r, p) => {
      const x = extractParameter(table, p);
      const pooled = poolDraws(x);
      expect(r.essBulk).toBe(essBulk(x));
      expect(r.essTail).toBe(essTail(x));
      expect(r.rHat).toBe(rhat(x));
      expect(r.mcseMean).toBe(mcseMean(x));
      expect(r.mcseSd).toBe(mcseSd(x));
      expect([r.hdiLow, r.hdiHigh]).toEqual(hdi(pooled, 0.94));
    });
  });

  it("accepts another HDI probability", () => {
    const [r] = summarize({ ...table, names: table.names }, { hdiProb: 0.5 });
    expect(r.hdiHigh - r.hdiLow).toBeLessThan(rows[0].hdiHigh - rows[0].hdiLow);
  });

  it("reports a constant parameter without failing", () => {
    const values = new Float64Array(2 * 10).fill(3);
    const [r] = summarize({ names: ["c"], chains: 2, draws: 10, values });
    expect(r.mean).toBe(3);
    expect(r.sd).toBe(0);
    expect([r.hdiLow, r.hdiHigh]).toEqual([3, 3]);
    expect(r.essBulk).toBeNaN();
    expect(r.rHat).toBeNaN();
  });
});

describe("formatSummaryTable", () => {
  const rows: SummaryRow[] = [
    {
      name: "mu",
      mean: 4.4856,
      sd: 3.4871,
      hdiLow: -1.6231,
      hdiHigh: 10.6932,
      mcseMean: 0.1144,
      mcseSd: 0.0812,
      essBulk: 948.44,
      essTail: 1153.6,
      rHat: 1.0032,
    },
    {
      name: "theta[10]",
      mean: -0.0004,
      sd: 0.5,
      hdiLow: -1,
      hdiHigh: 1,
      mcseMean: 0.01,
      mcseSd: Number.NaN,
      essBulk: Number.NaN,
      essTail: 12,
      rHat: Number.NaN,
    },
  ];

  it("lays out an ArviZ-style fixed-width table", () => {
    const text = formatSummaryTable(rows);
    const lines = text.split("\n");
    expect(lines).toEqual([
      "             mean     sd  hdi_3%  hdi_97%  mcse_mean  mcse_sd  ess_bulk  ess_tail  r_hat",
      "mu          4.486  3.487  -1.623   10.693      0.114    0.081     948.0    1154.0   1.00",
      "theta[10]  -0.000  0.500  -1.000    1.000      0.010      NaN       NaN      12.0    NaN",
    ]);
  });

  it("labels the HDI columns from the probability", () => {
    expect(formatSummaryTable(rows, { hdiProb: 0.9 }).split("\n")[0]).toContain("hdi_5%");
    expect(formatSummaryTable(rows, { hdiProb: 0.9 }).split("\n")[0]).toContain("hdi_95%");
  });
});
