// `train --threads-per-chain`: the thread count reaches the fit and is recorded in the manifest's sampler settings.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src/artifact/store.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { SEED_SIMULATION, train } from "../../src/train/pipeline.js";

const short = { draws: 100, tune: 100, chains: 1, testFraction: 0.2, progress: false, report: false, compare: false } as const;
const gate = { maxRhat: 2, minEssBulk: 1, minEssTail: 1, maxDivergences: 100 };

describe("train with threads per chain", () => {
  it("records the thread count used in the manifest: as asked, and 1 by default on small data", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "threads-per-chain-"));
    const source = { simulate: { ...SEED_SIMULATION, rows: 400 } };
    const asked = await train({ ...short, model: seedRegression, seed: 1, source, store: dir, gate, threadsPerChain: 2 });
    const auto = await train({ ...short, model: seedRegression, seed: 1, source, store: dir, gate });
    const store = openStore(dir);
    expect(asked.posterior.threadsPerChain).toBe(2);
    expect((await store.readManifest(asked.version!)).sampler.threadsPerChain).toBe(2);
    expect((await store.readManifest(auto.version!)).sampler.threadsPerChain).toBe(1);
  }, 300_000);
});
