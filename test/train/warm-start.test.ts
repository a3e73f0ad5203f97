// Warm starts end to end: a cold train publishes what a warm start needs (step sizes, metrics, last draws), a second
// train with --warm-start latest starts every chain there with a short warm-up, records where it started in the
// manifest and still has to pass the gate; `latest` falls back to a cold start, saying why, when nothing usable is
// published; an explicit version that cannot be used is refused with the reason; malformed fields are named.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/artifact/store.js";
import { BayesServeError } from "../../src/errors.js";
import { bindModel } from "../../src/model/bind.js";
import { HalfNormal, model, Normal } from "../../src/model/index.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { SEED_SIMULATION, train } from "../../src/train/pipeline.js";
import { simulateSeedData } from "../../src/train/simulate.js";
import { startsFromManifest, WARM_START_TUNE } from "../../src/train/warm-start.js";

const short = { seed: 3, draws: 400, chains: 2, testFraction: 0.2, progress: false, report: false } as const;
const gate = { maxRhat: 1.05, minEssBulk: 100, minEssTail: 100, maxDivergences: 0 };
const tmp = () => mkdtempSync(path.join(tmpdir(), "warm-start-"));
/** The seed's model with a wider prior on beta: the same data, another model. */
const wider = model("seed-regression-wider", (m) => {
  const x = m.data("x");
  const category = m.data("category", { levels: 3 });
  const beta = m.param("beta", Normal(0, 5), { shape: 3 });
  const sigma = m.param("sigma", HalfNormal(2));
  m.observe("obs", Normal(beta.at(category).mul(x), sigma), m.data("y"));
});

describe("warm starts", async () => {
  const store = tmp();
  const cold = await train({ ...short, model: seedRegression, source: { simulate: SEED_SIMULATION }, store, gate });

  it("a published fit records each chain's step size, inverse metric and last draw (unconstrained)", async () => {
    const m = await openStore(store).readManifest(cold.version!);
    const s = m.sampler as Record<string, unknown>;
    expect(s.warmStart).toBeNull();
    expect(s.adaptation).toBe("grad-diag");
    expect(s.invMetrics).toEqual(cold.posterior.invMetrics.map((x) => Array.from(x)));
    const last = cold.posterior.finalPositions[1];
    expect((s.finalPositions as number[][])[1]).toEqual(Array.from(last));
    // The last draw of chain 1, constrained: sigma = exp(log sigma).
    const w = cold.posterior.names.length;
    const row = cold.posterior.values.subarray((2 * 400 - 1) * w, 2 * 400 * w);
    expect(Math.exp(last[3])).toBeCloseTo(row[3], 12);
  });

  it("--warm-start latest starts every chain at the published one's state, warms up briefly, passes the gate and says so", async () => {
    const lines: string[] = [];
    const warm = await train({
      ...short,
      seed: 4,
      model: seedRegression,
      source: { simulate: { ...SEED_SIMULATION, seed: 4 } },
      store,
      gate,
      warmStart: "latest",
      log: (l) => lines.push(l),
    });
    expect(warm.published).toBe(true);
    expect(warm.posterior.warmStarted).toEqual([true, true]);
    expect(lines).toContain(`warm start: from ${cold.version}, at its target acceptance 0.8 (--target-accept to change it)`);
    const m = await openStore(store).readManifest(warm.version!);
    expect(m.sampler).toMatchObject({
      tune: WARM_START_TUNE,
      adaptation: "warm start (step size only)",
      warmStart: { requested: "latest", version: cold.version, reason: null },
    });
    // Far fewer gradients than the cold fit's warm-up needed.
    const warmupGradients = (p: typeof cold.posterior) => p.gradients.reduce((a, b) => a + b, 0) - sumStat(p, "n_leapfrog");
    expect(warmupGradients(warm.posterior)).toBeLessThan(0.5 * warmupGradients(cold.posterior));
    expect(warm.gate.passed).toBe(true);
  });

  it("keeps the published fit's target acceptance (as a refit after divergences left it) unless --target-accept is given", async () => {
    const own = tmp();
    const at09 = await train({ ...short, model: seedRegression, source: { simulate: SEED_SIMULATION }, store: own, gate, targetAccept: 0.9 });
    const lines: string[] = [];
    const next = { ...short, seed: 5, model: seedRegression, source: { simulate: { ...SEED_SIMULATION, seed: 5 } }, store: own, gate, warmStart: "latest" };
    const kept = await train({ ...next, log: (l) => lines.push(l) });
    expect(kept.posterior.settings.targetAccept).toBe(0.9);
    expect(lines).toContain(`warm start: from ${at09.version}, at its target acceptance 0.9 (--target-accept to change it)`);
    expect((await openStore(own).readManifest(kept.version!)).sampler).toMatchObject({ targetAccept: 0.9, warmStart: { version: at09.version } });
    const lines2: string[] = [];
    const given = await train({ ...next, targetAccept: 0.85, log: (l) => lines2.push(l) });
    expect(given.posterior.settings.targetAccept).toBe(0.85);
    expect(lines2).toContain(`warm start: from ${kept.version}`);
    // A cold start (nothing published yet) takes the default.
    const first = await train({ ...next, store: tmp() });
    expect(first.posterior.settings.targetAccept).toBe(0.8);
  });

  it("latest of another model: a cold start, with the reason logged and recorded", async () => {
    const lines: string[] = [];
    const r = await train({
      ...short,
      model: wider,
      source: { simulate: SEED_SIMULATION },
      store: tmp(),
      gate,
      warmStart: "latest",
      log: (l) => lines.push(l),
    });
    expect(r.posterior.warmStarted).toEqual([false, false]);
    expect(lines.join("\n")).toMatch(/warm start: none, a cold start \(.* has no published version yet\)/);

    const lines2: string[] = [];
    const r2 = await train({ ...short, model: wider, source: { simulate: SEED_SIMULATION }, store, gate, warmStart: "latest", log: (l) => lines2.push(l) });
    expect(r2.posterior.warmStarted).toEqual([false, false]);
    expect(r2.posterior.settings.tune).toBe(1000);
    expect(lines2.join("\n")).toMatch(/cannot warm-start this fit: version .* is a fit of another model \("seed-regression"\)/);
    const m = await openStore(store).readManifest(r2.version!);
    expect((m.sampler as Record<string, unknown>).warmStart).toMatchObject({ requested: "latest", version: null });
  });

  it("an explicit version that cannot be used is refused, with the reason; a malformed id too", async () => {
    const err = await train({ ...short, model: wider, source: { simulate: SEED_SIMULATION }, store, gate, warmStart: cold.version! }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BayesServeError);
    expect((err as BayesServeError).code).toBe("USAGE");
    expect((err as Error).message).toBe(
      `--warm-start ${cold.version}: version ${cold.version} is a fit of another model ("seed-regression"), not of "seed-regression-wider"`,
    );
    const bad = await train({ ...short, model: seedRegression, source: { simulate: SEED_SIMULATION }, store, gate, warmStart: "yesterday" }).catch(
      (e: unknown) => e,
    );
    expect((bad as Error).message).toMatch(/--warm-start must be "latest" or a version id/);
  });

  it("names a malformed field of the manifest, and a version published before warm starts were recorded", async () => {
    const m = structuredClone(await openStore(store).readManifest(cold.version!));
    const d = simulateSeedData({ ...SEED_SIMULATION, rows: 100 });
    const bound = bindModel(seedRegression.json, { x: d.x, category: d.category, y: d.y });
    expect("starts" in startsFromManifest(m, seedRegression, bound)).toBe(true);
    const s = m.sampler as Record<string, unknown>;
    (s.invMetrics as number[][])[1][2] = -1;
    expect(startsFromManifest(m, seedRegression, bound)).toEqual({
      problem: expect.stringMatching(/sampler\.invMetrics\[1\]\[2\] is -1: it must be a positive finite number/),
    });
    (s.invMetrics as number[][])[1][2] = 1;
    s.targetAccept = 1;
    expect(startsFromManifest(m, seedRegression, bound)).toEqual({
      problem: expect.stringMatching(/sampler\.targetAccept is 1: it must be a number in \(0, 1\)/),
    });
    s.targetAccept = 0.8;
    delete s.finalPositions;
    expect(startsFromManifest(m, seedRegression, bound)).toEqual({
      problem: expect.stringMatching(/sampler\.finalPositions is missing \(the version was published before warm starts were recorded\)/),
    });
  });
});

function sumStat(p: { statNames: readonly string[]; stats: Float64Array }, name: string): number {
  const k = p.statNames.indexOf(name);
  let s = 0;
  for (let i = k; i < p.stats.length; i += p.statNames.length) s += p.stats[i];
  return s;
}
