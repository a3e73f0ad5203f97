// Training on more rows than the sample cap (issue 20: 10 million rows, "report on a sample of rows"): the held-out
// metrics from predictive samples, PSIS-LOO and the report's figures run on a seeded random sample of the rows, and
// the manifest, the metrics, the report page and its captions say so; at or below the cap nothing is sampled or said.
// A small cap (--sample-rows) keeps it fast.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/artifact/store.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { SEED_SIMULATION, train } from "../../src/train/pipeline.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "sampled-rows-"));
const short = { seed: 4, draws: 200, tune: 200, chains: 2, testFraction: 0.2, progress: false, compare: false } as const;
const lenient = { maxRhat: 1.1, minEssBulk: 10, minEssTail: 10, maxDivergences: 100 };

describe("train on data above the sample cap", () => {
  it("records the samples in the manifest, the metrics and the report", async () => {
    const store = tmp();
    const lines: string[] = [];
    const result = await train({
      ...short,
      model: seedRegression,
      source: { simulate: { ...SEED_SIMULATION, rows: 3000 } },
      store,
      sampleRows: 500,
      gate: lenient,
      log: (l) => lines.push(l),
    });
    expect(lines).toContain("evaluation: held-out metrics on a random sample of 500 of 600 held-out rows (seed 4); elpd_holdout on all");
    expect(lines).toContain("evaluation: PSIS-LOO and the report's figures on a random sample of 500 of 2400 training rows (seed 4)");
    expect(result.metrics).toMatchObject({ test_rows: 600, evaluation_sample_rows: 500, loo_sample_rows: 500 });
    expect(result.metrics.elpd_loo_subsampling_se).toBeGreaterThan(0);
    // The difference estimator (log p(y_i | posterior mean) of every row as the approximation) adds little to the SE;
    // the simple one would add about twice the usual SE here (√(N/m − 1) with N/m = 4.8).
    expect(result.metrics.elpd_loo_subsampling_se).toBeLessThan(result.metrics.elpd_loo_se / 10);
    // Scaled to all 2,400 training rows: about 2400 × the mean pointwise elpd of a σ = 0.75 normal (≈ −1.13).
    expect(result.metrics.elpd_loo / 2400).toBeCloseTo(-1.13, 0);

    const s = openStore(store);
    const m = (await s.readBundle(result.version!)).manifest;
    expect(m.data.samples).toMatchObject({
      train: { rows: 500, of: 2400, seed: 4 },
      test: { rows: 500, of: 600, seed: 4 },
    });
    expect(m.data.samples!.train!.used.join(" ")).toMatch(/PSIS-LOO on the sample, scaled to all training rows by .*difference estimator/);
    expect(m.data.samples!.test!.used.join(" ")).toMatch(/held-out metrics/);
    expect(m.metrics).toMatchObject({ loo_sample_rows: 500, evaluation_sample_rows: 500 });

    const html = new TextDecoder().decode(await s.readFile(result.version!, "report/report.html"));
    expect(html).toContain('<div class="sample" id="sample">');
    expect(html).toContain("a random sample of 500 of 2400 training rows (seed 4)");
    expect(html).toContain("a random sample of 500 of 600 held-out rows (seed 4)");
    expect(html).toContain("Magnusson et al. (2019)&#39;s difference estimator");
    const captions = [...html.matchAll(/<figcaption>([^<]*)<\/figcaption>/g)].map((c) => c[1]);
    expect(captions.filter((c) => c.includes("(on a random sample of 500 of 2400 training rows, seed 4)."))).toHaveLength(3); // data, ppc, pareto-k
    expect(captions.filter((c) => c.includes("(on a random sample of 500 of 600 held-out rows, seed 4)."))).toHaveLength(1);
    expect(captions.find((c) => c.startsWith("Trace plot"))).not.toMatch(/sample of/);
  });

  it("at or below the cap: every row, no sample recorded or mentioned", async () => {
    const store = tmp();
    const result = await train({
      ...short,
      model: seedRegression,
      source: { simulate: { ...SEED_SIMULATION, rows: 500 } },
      store,
      sampleRows: 400,
      gate: lenient,
    });
    expect(result.metrics.test_rows).toBe(100);
    for (const k of ["evaluation_sample_rows", "loo_sample_rows", "elpd_loo_subsampling_se"]) expect(result.metrics[k]).toBeUndefined();
    const s = openStore(store);
    expect((await s.readBundle(result.version!)).manifest.data.samples).toBeUndefined();
    const html = new TextDecoder().decode(await s.readFile(result.version!, "report/report.html"));
    expect(html).not.toContain('class="sample"');
    expect(html).not.toMatch(/random sample of/);
  });
});
