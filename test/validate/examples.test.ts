// `npm run validate`: the four worked examples of docs/models.md against long Stan runs of the same models on the
// same data (test/fixtures/stan-examples: the Stan programs, the script that ran them and its reference.json).
// Each example is trained as a user trains it — `train()` from the model file and the simulated CSV, every row
// (no held-out split, as Stan saw them), 4 chains × 10,000 draws — then served, and asked at three instances:
//   /mean: y_mean, y_mean_lower, y_mean_upper (95 % HDI, exact over every draw)
//   /interval: y_pred_lower, y_pred_upper (95 % HDI of 100,000 predictive samples, seeded)
// Each must be within 3 % of the width of Stan's interval of the same quantity (the rule). Monte Carlo error
// is well inside that: the HDI's end from ~20,000 effective draws moves ~0.5 % of the width, Stan's from 100,000 less.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/artifact/store.js";
import { resolveModel } from "../../src/train/models.js";
import { train } from "../../src/train/pipeline.js";
import { simulatedCsv } from "../fixtures/stan-examples/make-reference.js";
import { post, testApp } from "../server/fixtures.js";

const repo = path.resolve(import.meta.dirname, "..", "..");
const reference = JSON.parse(readFileSync(path.join(repo, "test", "fixtures", "stan-examples", "reference.json"), "utf8")) as {
  examples: Record<string, { rows: number; instances: Record<string, number>[]; stan: { instances: Record<string, number>[] } }>;
};
const TOLERANCE = 0.03;
const work = mkdtempSync(path.join(tmpdir(), "bayes-serve-validate-examples-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const lines: string[] = [];
afterAll(() => process.stderr.write(`\nexamples vs Stan (|ours − Stan| / Stan's interval width, limit ${TOLERANCE}):\n${lines.join("\n")}\n`));

describe("the worked examples against long Stan runs", () => {
  it.each(Object.keys(reference.examples))("%s: /mean and /interval within 3 % of Stan's interval widths", async (name) => {
    const ex = reference.examples[name];
    const csv = path.join(work, `${name}.csv`);
    writeFileSync(csv, simulatedCsv(name));
    const store = path.join(work, name);
    const result = await train({
      model: await resolveModel(path.join(repo, "examples", name, "model.ts")),
      source: { csv },
      store,
      seed: 1,
      draws: 10_000,
      tune: 1000,
      chains: 4,
      testFraction: 0,
      report: false,
      progress: false,
    });
    expect(result.published, result.gate.failures.join("; ")).toBe(true);
    const app = await testApp(openStore(store), { workers: 0 });
    try {
      const worst: string[] = [];
      for (let k = 0; k < ex.instances.length; k++) {
        const data = ex.instances[k];
        const stan = ex.stan.instances[k];
        const mean = (await post(app.app, "mean", { data, hdi_probability: 0.95 })).json as Record<string, number>;
        const interval = (await post(app.app, "interval", { data, hdi_probability: 0.95, algo_param: { n_samples: 100_000, seed: 1 } })).json as Record<string, number>;
        const meanWidth = stan.mean_upper - stan.mean_lower;
        const predWidth = stan.pred_upper - stan.pred_lower;
        const checks: [string, number, number, number][] = [
          ["y_mean", mean.y_mean, stan.mean, meanWidth],
          ["y_mean_lower", mean.y_mean_lower, stan.mean_lower, meanWidth],
          ["y_mean_upper", mean.y_mean_upper, stan.mean_upper, meanWidth],
          ["y_pred_lower", interval.y_pred_lower, stan.pred_lower, predWidth],
          ["y_pred_upper", interval.y_pred_upper, stan.pred_upper, predWidth],
        ];
        for (const [field, ours, theirs, width] of checks) {
          const rel = Math.abs(ours - theirs) / width;
          worst.push(`${field} ${ours.toPrecision(6)} vs ${theirs.toPrecision(6)} (${(100 * rel).toFixed(2)} %)`);
          expect(rel, `${name} ${JSON.stringify(data)} ${field}: ours ${ours}, Stan ${theirs}, width ${width}`).toBeLessThanOrEqual(TOLERANCE);
        }
      }
      lines.push(`  ${name}: ${worst.join("; ")}`);
    } finally {
      await app.close();
    }
  });
});
