// What the answers mean: the same posterior-predictive samples as the Predictor draws for the same seed, summarised
// as np.median, ArviZ's HDI and np.histogram(density=True); batches in order; the worker path identical to the
// event-loop path; never NaN or Infinity.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hdi, histogram, median } from "../../src/diagnostics/index.js";
import { Predictor } from "../../src/predict/index.js";
import { post, SEED_BODY, storeWithSeedModel, testApp, type TempStore, type TestApp } from "./fixtures.js";

let store: TempStore & { version: string };
let t: TestApp;
let pooled: TestApp;
let predictor: Predictor;

beforeAll(async () => {
  store = await storeWithSeedModel();
  t = await testApp(store.store);
  // Every request is "heavy" here, so every answer comes from the worker thread.
  pooled = await testApp(store.store, { workers: 1, heavyWork: 0 });
  predictor = (t.holder.current as NonNullable<typeof t.holder.current>).predictor;
});

afterAll(async () => {
  await t.close();
  await pooled.close();
  store.cleanup();
});

const samplesFor = (x: number, category: number, n: number, seed: number): Float64Array => predictor.sample([{ x, category }], n, seed)[0];

describe("answers are the seed's summaries of the Predictor's samples", () => {
  it("point = np.median of the same samples for the same seed", async () => {
    for (const [x, category, n, seed] of [
      [5, 2, 100, 1],
      [0.3, 0, 7, 99],
      [9.5, 1, 2000, 123456789],
    ] as const) {
      const r = await post(t.app, "point", { data: { x, category }, algo_param: { n_samples: n, seed } });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ y_pred: median(samplesFor(x, category, n, seed)), algo_param: n });
    }
  });

  it("interval = ArviZ's HDI of the same samples", async () => {
    for (const p of [0.5, 0.9, 0.95, 0.999]) {
      const r = await post(t.app, "interval", { data: { x: 5, category: 2 }, algo_param: { n_samples: 500, seed: 7 }, hdi_probability: p });
      const [lo, hi] = hdi(samplesFor(5, 2, 500, 7), p);
      expect(r.json).toEqual({ y_pred_lower: lo, y_pred_upper: hi, algo_param: 500 });
      // The HDI rule: floor(p·n)+1 of the samples lie inside, and no narrower window holds as many.
      const s = Float64Array.from(samplesFor(5, 2, 500, 7)).sort();
      const inside = s.filter((v) => v >= lo && v <= hi).length;
      expect(inside).toBeGreaterThanOrEqual(Math.floor(p * 500) + 1);
      const k = Math.floor(p * 500);
      for (let i = 0; i + k < s.length; i++) expect(s[i + k] - s[i]).toBeGreaterThanOrEqual(hi - lo);
    }
  });

  it("density = np.histogram(density=True) of the same samples, with bin mid-points, integrating to 1", async () => {
    for (const bins of [1, 5, 37, 1000]) {
      const r = await post(t.app, "density", { data: { x: 5, category: 2 }, algo_param: { n_samples: 400, seed: 3 }, bins });
      const h = histogram(samplesFor(5, 2, 400, 3), bins);
      const body = r.json as { y_pred_bin_mids: number[]; y_pred_density: number[]; algo_param: number };
      expect(body).toEqual({ y_pred_bin_mids: Array.from(h.binMids), y_pred_density: Array.from(h.density), algo_param: 400 });
      const width = bins > 1 ? body.y_pred_bin_mids[1] - body.y_pred_bin_mids[0] : h.edges[1] - h.edges[0];
      const integral = body.y_pred_density.reduce((a, d) => a + d * width, 0);
      expect(integral).toBeCloseTo(1, 9);
    }
  });

  it("the defaults are the seed's: 100 samples, HDI 0.95, 5 bins", async () => {
    const point = await post(t.app, "point", { ...SEED_BODY, algo_param: { seed: 5 } });
    expect(point.json).toEqual({ y_pred: median(samplesFor(5, 2, 100, 5)), algo_param: 100 });
    const interval = await post(t.app, "interval", { ...SEED_BODY, algo_param: { seed: 5 } });
    const [lo, hi] = hdi(samplesFor(5, 2, 100, 5), 0.95);
    expect(interval.json).toEqual({ y_pred_lower: lo, y_pred_upper: hi, algo_param: 100 });
    const density = await post(t.app, "density", { ...SEED_BODY, algo_param: { seed: 5 } });
    expect((density.json as { y_pred_density: number[] }).y_pred_density).toHaveLength(5);
  });

  it("a seed makes answers reproducible; without one they vary; algo_param is the integer n_samples", async () => {
    const a = await post(t.app, "interval", { ...SEED_BODY, algo_param: { n_samples: 50, seed: 11 } });
    const b = await post(t.app, "interval", { ...SEED_BODY, algo_param: { n_samples: 50, seed: 11 } });
    expect(a.json).toEqual(b.json);
    const c = await post(t.app, "interval", SEED_BODY);
    const d = await post(t.app, "interval", SEED_BODY);
    expect(c.json).not.toEqual(d.json);
    expect(Number.isInteger((c.json as { algo_param: number }).algo_param)).toBe(true);
    expect(c.body).toMatch(/"algo_param":100}$/);
  });

  it("the samples come from the posterior: the median at x = 5, category 2 is near 1.5 × 5", async () => {
    const r = await post(t.app, "point", { ...SEED_BODY, algo_param: { n_samples: 20000, seed: 1 } });
    expect((r.json as { y_pred: number }).y_pred).toBeGreaterThan(7.2);
    expect((r.json as { y_pred: number }).y_pred).toBeLessThan(7.8);
  });
});

describe("batches", () => {
  const instances = [
    { x: 1, category: 0 },
    { x: 5, category: 2 },
    { x: 9, category: 1 },
    { x: 0, category: 2 },
  ];

  it("every answer field becomes a list in the order of the instances; each equals the instance asked alone", async () => {
    const algo = { n_samples: 200, seed: 42 };
    const point = await post(t.app, "point", { data: instances, algo_param: algo });
    const interval = await post(t.app, "interval", { data: instances, algo_param: algo, hdi_probability: 0.9 });
    const density = await post(t.app, "density", { data: instances, algo_param: algo, bins: 4 });
    const p = point.json as { y_pred: number[]; algo_param: number };
    const iv = interval.json as { y_pred_lower: number[]; y_pred_upper: number[] };
    const dn = density.json as { y_pred_bin_mids: number[][]; y_pred_density: number[][] };
    expect(p.algo_param).toBe(200);
    expect(p.y_pred).toHaveLength(4);
    for (let i = 0; i < instances.length; i++) {
      const alone = (await post(t.app, "point", { data: instances[i], algo_param: algo })).json as { y_pred: number };
      expect(p.y_pred[i]).toBe(alone.y_pred);
      const [lo, hi] = hdi(samplesFor(instances[i].x, instances[i].category, 200, 42), 0.9);
      expect([iv.y_pred_lower[i], iv.y_pred_upper[i]]).toEqual([lo, hi]);
      const h = histogram(samplesFor(instances[i].x, instances[i].category, 200, 42), 4);
      expect(dn.y_pred_bin_mids[i]).toEqual(Array.from(h.binMids));
      expect(dn.y_pred_density[i]).toEqual(Array.from(h.density));
    }
    // Order follows the request.
    const reversed = await post(t.app, "point", { data: [...instances].reverse(), algo_param: algo });
    expect((reversed.json as { y_pred: number[] }).y_pred).toEqual([...p.y_pred].reverse());
    // The medians rise with x·beta as they should.
    expect(p.y_pred[0]).toBeLessThan(p.y_pred[1]);
  });

  it("a batch of one is still a list", async () => {
    const r = await post(t.app, "point", { data: [{ x: 5, category: 2 }], algo_param: { seed: 1 } });
    expect(Array.isArray((r.json as { y_pred: unknown }).y_pred)).toBe(true);
  });
});

describe("heavy requests on the worker thread", () => {
  it("give exactly the answers of the event-loop path", async () => {
    const bodies: [string, Record<string, unknown>][] = [
      ["point", { data: { x: 5, category: 2 }, algo_param: { n_samples: 3000, seed: 8 } }],
      [
        "interval",
        {
          data: [
            { x: 5, category: 2 },
            { x: 2, category: 1 },
          ],
          algo_param: { n_samples: 1000, seed: 9 },
          hdi_probability: 0.8,
        },
      ],
      ["density", { data: [{ x: 3, category: 0 }], algo_param: { n_samples: 100, seed: 10 }, bins: 12 }],
    ];
    for (const [kind, body] of bodies) {
      const here = await post(t.app, kind, body);
      const there = await post(pooled.app, kind, body);
      expect(there.status).toBe(200);
      expect(there.json).toEqual(here.json);
    }
  });

  it("n_samples = 100,000 works and is a proper answer", async () => {
    const r = await post(pooled.app, "interval", { ...SEED_BODY, algo_param: { n_samples: 100_000 } });
    expect(r.status).toBe(200);
    const b = r.json as { y_pred_lower: number; y_pred_upper: number; algo_param: number };
    expect(b.algo_param).toBe(100_000);
    expect(b.y_pred_lower).toBeLessThan(7.5);
    expect(b.y_pred_upper).toBeGreaterThan(7.5);
  });

  it("validation errors are answered before any work is queued", async () => {
    const r = await post(pooled.app, "point", { data: { x: 5, category: 7 }, algo_param: { n_samples: 100_000 } });
    expect(r.status).toBe(422);
  });
});

describe("never NaN or Infinity", () => {
  it("answers at the extremes of x are finite numbers", async () => {
    for (const x of [1e12, -1e12, 1e-300, 0]) {
      for (const kind of ["point", "interval", "density"]) {
        const r = await post(t.app, kind, { data: { x, category: 1 }, algo_param: { n_samples: 300 }, ...(kind === "density" ? { bins: 10_000 } : {}) });
        expect(r.status, `${kind} x=${x}: ${r.body.slice(0, 200)}`).toBe(200);
        expect(r.body).not.toMatch(/NaN|Infinity|null/);
      }
    }
  });
});
