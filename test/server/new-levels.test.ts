// A level of a category not seen in training: refused (422) unless the request (or the server) allows new levels;
// allowed, the parameter elements it indexes are drawn from their priors given each posterior draw, so the answer is
// the population's: for alpha_j = mu + tau·z_j with z_j ~ Normal(0, 1), E[y] = mu + beta·x and the spread adds tau.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { model, Normal } from "../../src/model/index.js";
import { madeUpBundle, post, schoolsBundle, schoolsModel, tempStore, testApp, type TempStore, type TestApp } from "./fixtures.js";

const schools = schoolsModel();

let store: TempStore;
let t: TestApp;

beforeAll(async () => {
  store = tempStore();
  // mu = 60, tau = 6, beta = 2, sigma = 1; seen schools at z = −1, 0, 1, 2 (so alpha = 54, 60, 66, 72).
  await store.store.publish(schoolsBundle(schools, 2000));
  t = await testApp(store.store);
});

afterAll(async () => {
  await t.close();
  store.cleanup();
});

type Detail = { detail: { loc: unknown[]; msg: string; type: string }[] };

describe("unseen levels", () => {
  it("are refused unless asked for, and /model says which categories can answer them", async () => {
    const refused = await post(t.app, "point", { data: { hours: 5, school: 4 } });
    expect(refused.status).toBe(422);
    expect((refused.json as unknown as Detail).detail[0].loc).toEqual(["body", "data", "school"]);
    const info = (await t.app.inject({ method: "GET", url: "/model" })).json() as { new_levels: unknown };
    expect(info.new_levels).toEqual({ features: ["school"], default: false });
    const off = await post(t.app, "point", { data: { hours: 5, school: 4 }, allow_new_levels: false });
    expect(off.status).toBe(422);
  });

  it("allowed, a new school answers with the population: mean mu + beta·hours, spread sqrt(tau² + sigma²)", async () => {
    const mean = await post(t.app, "mean", { data: { hours: 5, school: 9 }, allow_new_levels: true });
    expect(mean.status, JSON.stringify(mean.json)).toBe(200);
    const m = mean.json as { y_mean: number; y_mean_lower: number; y_mean_upper: number };
    // E over z_new ~ N(0, 1) of 60 + 6·z + 10: 70, and its 95 % interval ±1.96·6.
    expect(m.y_mean).toBeCloseTo(70, 0);
    expect(m.y_mean_upper - m.y_mean_lower).toBeGreaterThan(2 * 1.8 * 6);
    expect(m.y_mean_upper - m.y_mean_lower).toBeLessThan(2 * 2.1 * 6);
    // A seen school keeps its own effect even when new levels are allowed: school 3 (z = 2) → 60 + 12 + 10.
    const seen = await post(t.app, "mean", { data: { hours: 5, school: 3 }, allow_new_levels: true });
    expect((seen.json as { y_mean: number }).y_mean).toBeCloseTo(82, 6);
    const interval = await post(t.app, "interval", {
      data: [
        { hours: 5, school: 7 },
        { hours: 5, school: 1 },
      ],
      allow_new_levels: true,
      algo_param: { n_samples: 20_000, seed: 3 },
    });
    const iv = interval.json as { y_pred_lower: number[]; y_pred_upper: number[] };
    const sd = Math.sqrt(36 + 1);
    expect(iv.y_pred_upper[0] - iv.y_pred_lower[0]).toBeCloseTo(2 * 1.96 * sd, 0);
    // School 1 (z = 0) alone: only sigma = 1 of spread.
    expect(iv.y_pred_upper[1] - iv.y_pred_lower[1]).toBeCloseTo(2 * 1.96, 0);
  });

  it("is refused for a model whose categories cannot draw new levels", async () => {
    // The vector's prior reads data: no prior to draw a new element from.
    const fixedEffects = model("fixed", (m) => {
      const g = m.data("g", { levels: 2 });
      const prior = m.data("prior_sd", { shape: "scalar" });
      const b = m.param("b", Normal(0, prior), { shape: 2 });
      m.observe("obs", Normal(b.at(g), 1), m.data("y"));
    });
    const s = tempStore();
    try {
      await s.store.publish(madeUpBundle(fixedEffects, { "b[0]": () => 0, "b[1]": () => 1 }));
      const app = await testApp(s.store);
      try {
        const r = await post(app.app, "point", { data: { g: 0 }, allow_new_levels: true });
        expect(r.status).toBe(422);
        expect((r.json as unknown as Detail).detail[0].type).toBe("value_error.new_levels");
      } finally {
        await app.close();
      }
    } finally {
      s.cleanup();
    }
  });
});
