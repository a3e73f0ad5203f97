// The promotion gate: a new fit becomes latest only if it predicts the newest data's held-out rows no worse than the
// version serving (by more than --max-elpd-drop SEs of the paired difference). A worse model is stored, not promoted;
// an equally good one is promoted; PSIS-LOO and the held-out score are recorded with the metrics.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/artifact/store.js";
import { HalfNormal, model, Normal } from "../../src/model/index.js";
import { oneSlope } from "../support/one-slope.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { SEED_SIMULATION, train } from "../../src/train/pipeline.js";
import { simulateSeedData } from "../../src/train/simulate.js";

const short = { draws: 400, tune: 300, chains: 2, testFraction: 0.2, progress: false, report: false } as const;
const gate = { maxRhat: 1.05, minEssBulk: 100, minEssTail: 100, maxDivergences: 0 };

describe("promotion against the version serving", () => {
  it("promotes a fit no worse than latest, stores but refuses a worse one, and records the scores", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "promotion-"));
    const store = openStore(dir);
    const first = await train({ ...short, seed: 1, model: seedRegression, source: { simulate: SEED_SIMULATION }, store: dir, gate });
    expect(first.promoted).toBe(true);
    expect(first.gate.comparison).toBeUndefined(); // nothing to compare with yet
    for (const k of ["elpd_holdout", "elpd_holdout_se", "elpd_loo", "elpd_loo_se", "p_loo", "loo_pareto_k_above_0_7"])
      expect(first.metrics[k], k).toBeTypeOf("number");
    // p_loo near the number of parameters (4) for a well-specified regression.
    expect(first.metrics.p_loo).toBeGreaterThan(2.5);
    expect(first.metrics.p_loo).toBeLessThan(6);

    const worse = await train({ ...short, seed: 2, model: oneSlope, source: { simulate: SEED_SIMULATION }, store: dir, gate });
    expect(worse.published).toBe(true);
    expect(worse.promoted).toBe(false);
    const c = worse.gate.comparison!;
    expect(c.against).toBe(first.version);
    expect(c.refused).toBe(true);
    expect(c.elpd_diff!).toBeLessThan(-2 * c.se_diff!);
    expect(worse.gate.failures.at(-1)).toMatch(new RegExp(`predicts worse than ${first.version}: elpd -\\d+\\.\\d+ \\(SE \\d+\\.\\d+\\) against`));
    expect(await store.readLatest()).toBe(first.version);

    const again = await train({ ...short, seed: 3, model: seedRegression, source: { simulate: SEED_SIMULATION }, store: dir, gate });
    expect(again.promoted, again.gate.failures.join("; ")).toBe(true);
    expect(again.gate.comparison!.refused).toBe(false);
    expect(Math.abs(again.gate.comparison!.elpd_diff!)).toBeLessThan(2 * again.gate.comparison!.se_diff! + 1e-9);
    expect(await store.readLatest()).toBe(again.version);
    // The stored-but-refused version is there to inspect or promote by hand.
    expect((await store.list()).map((v) => v.version)).toContain(worse.version);
  });

  it("does not promote a fit that answers other requests than the version serving (its clients would break) unless asked", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "promotion-form-"));
    const store = openStore(dir);
    const first = await train({ ...short, seed: 1, model: seedRegression, source: { simulate: SEED_SIMULATION }, store: dir, gate });
    // The same data, a model that reads only x: a request without `category` is all it takes.
    const xOnly = model("x-only", (m) => {
      const x = m.data("x");
      m.observe("obs", Normal(m.param("beta", Normal(0, 2)).mul(x), m.param("sigma", HalfNormal(2))), m.data("y"));
    });
    const data = path.join(dir, "seed.csv");
    const d = simulateSeedData(SEED_SIMULATION);
    writeFileSync(data, ["x,category,y", ...Array.from(d.x, (x, i) => `${x},${d.category[i]},${d.y[i]}`)].join("\n"));
    const other = await train({ ...short, seed: 2, model: xOnly, source: { data }, store: dir, gate });
    expect(other.published).toBe(true);
    expect(other.promoted).toBe(false);
    expect(other.gate.comparison).toMatchObject({ against: first.version, refused: true, elpd_diff: null });
    expect(other.gate.failures.at(-1)).toBe(
      `not promoted over ${first.version}: version ${first.version}, serving now, answers other requests (category, x → "y") than this fit ` +
        `(x → "y"): promoting it would break the service's clients. Train it into a store of its own (--store), or promote it on ` +
        "purpose: --no-compare, or `bayes-serve models promote VERSION`",
    );
    expect(await store.readLatest()).toBe(first.version);
    const asked = await train({ ...short, seed: 3, model: xOnly, source: { data }, store: dir, gate, compare: false });
    expect(asked.promoted).toBe(true);
    expect(await store.readLatest()).toBe(asked.version);
  });
});
