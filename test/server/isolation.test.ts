// Heavy requests (n_samples 100,000, big batches) must not stall light ones: they run on the sampling worker, so a
// light request's latency stays low while they run. The bound here is loose (shared CI machines are noisy); the
// benchmark (bench/service.ts) measures the same thing precisely.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server/server.js";
import { post, storeWithSeedModel, testApp, type TempStore, startTestServer } from "./fixtures.js";

let store: TempStore & { version: string };
let server: RunningServer;

beforeAll(async () => {
  store = await storeWithSeedModel();
  server = await startTestServer(store.dir, { workers: 1 });
});

afterAll(async () => {
  await server.close();
  store.cleanup();
});

const LIGHT = '{"data": {"x": 5, "category": 2}}';
const HEAVY = JSON.stringify({ data: Array.from({ length: 20 }, (_, i) => ({ x: i / 2, category: i % 3 })), algo_param: { n_samples: 100_000 } });

async function timed(body: string): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`${server.url}/predict/v1.0.0/interval`, { method: "POST", headers: { "content-type": "application/json" }, body });
  await r.arrayBuffer();
  if (r.status !== 200) throw new Error(`status ${r.status}`);
  return performance.now() - t0;
}

const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

describe("heavy requests beside light ones", () => {
  it("light requests stay fast while heavy ones run", async () => {
    for (let i = 0; i < 50; i++) await timed(LIGHT); // warm-up
    let running = true;
    const heavyTimes: number[] = [];
    const heavyLanes = Array.from({ length: 3 }, async () => {
      while (running) heavyTimes.push(await timed(HEAVY));
    });
    await new Promise((r) => setTimeout(r, 200));
    const light: number[] = [];
    for (let i = 0; i < 150; i++) light.push(await timed(LIGHT));
    running = false;
    await Promise.all(heavyLanes);
    const heavyP50 = pct(heavyTimes, 0.5);
    const lightP50 = pct(light, 0.5);
    const lightP95 = pct(light, 0.95);
    process.stderr.write(
      `isolation: light p50 ${lightP50.toFixed(2)} ms, p95 ${lightP95.toFixed(2)} ms; heavy p50 ${heavyP50.toFixed(0)} ms (${heavyTimes.length} done)\n`,
    );
    expect(heavyTimes.length).toBeGreaterThan(0);
    // Each heavy request is 2 million samples: far longer than a light one takes, even now.
    expect(heavyP50).toBeGreaterThan(5 * lightP95);
    expect(lightP50).toBeLessThan(25);
  });

  it("a flood of heavy requests is bounded: beyond the queue they get 503 with Retry-After, never a hang or a crash", async () => {
    const t = await testApp(store.store, { workers: 1, maxQueuedHeavy: 2 });
    try {
      const body = { data: Array.from({ length: 10 }, (_, i) => ({ x: i, category: i % 3 })), algo_param: { n_samples: 30_000 } };
      const results = await Promise.all(Array.from({ length: 12 }, () => post(t.app, "point", body)));
      const statuses = results.map((r) => r.status);
      for (const s of statuses) expect([200, 503]).toContain(s);
      // One running, two waiting: the other nine are refused at once.
      expect(statuses.filter((s) => s === 200)).toHaveLength(3);
      const refused = results.filter((r) => r.status === 503);
      expect(refused[0].headers["retry-after"]).toBe("1");
      expect(refused[0].json).toEqual({
        detail:
          "The server is busy: the queue of heavy prediction requests is full (2 waiting). Retry after the time in Retry-After, or ask for fewer samples, bins or instances",
      });
      expect((await post(t.app, "point", body)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it("workers start with the first heavy request and stop when idle, then start again", async () => {
    const { SamplingPool } = await import("../../src/server/sampling-pool.js");
    const t = await testApp(store.store);
    const pool = new SamplingPool({ size: 1, maxQueue: 4, idleMs: 200, log: t.logger });
    try {
      const model = t.holder.current;
      if (model === null) throw new Error("no model");
      const params = { kind: "point" as const, nSamples: 1000, seed: 3, hdiProbability: 0.95, bins: 5, allowNewLevels: false };
      expect(pool.size).toBe(0);
      const first = Buffer.from(await pool.run(model.transfer, [{ x: 5, category: 2 }], params, false)).toString();
      expect(pool.size).toBe(1);
      await new Promise((r) => setTimeout(r, 600));
      expect(pool.size).toBe(0);
      expect(JSON.parse(first)).toEqual({ y_pred: expect.any(Number), algo_param: 1000 });
      expect(Buffer.from(await pool.run(model.transfer, [{ x: 5, category: 2 }], params, false)).toString()).toBe(first);
    } finally {
      await pool.close();
      await t.close();
    }
  });
});
