// A user's own model gets its own validated endpoints: the request schema comes from the model's feature inputs
// (here a float `dose`, a 4-level `group` and an integer `count`, with a parameter vector sized by a named dimension),
// and answers that would not be finite become a 422, never NaN or Infinity in a 200.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBundle } from "../../src/artifact/bundle.js";
import { HalfNormal, LogNormal, model, Normal } from "../../src/model/index.js";
import { predictionSchema } from "../../src/predict/index.js";
import { nextVersionId, post, tempStore, testApp, type TempStore, type TestApp } from "./fixtures.js";

const growth = model("growth", (m) => {
  const dose = m.data("dose");
  const group = m.data("group", { levels: 4 });
  const count = m.data("count", { kind: "integer" });
  const J = m.dim("J");
  const a = m.param("a", Normal(0, 1), { shape: J });
  const b = m.param("b", Normal(0, 1));
  const c = m.param("c", Normal(0, 1));
  const s = m.param("s", HalfNormal(1));
  m.observe("obs", LogNormal(a.at(group).add(b.mul(dose)).add(c.mul(count)), s), m.data("y"));
});

let store: TempStore;
let t: TestApp;

beforeAll(async () => {
  store = tempStore();
  // Draws made up for the test (4 + 3 columns, 2 chains × 50): a = 0.1·k, b = 0.5, c = 0.01, s = 0.2, jittered.
  const names = ["a[0]", "a[1]", "a[2]", "a[3]", "b", "c", "s"];
  const draws = new Float64Array(2 * 50 * names.length);
  for (let r = 0; r < 100; r++) {
    const o = r * names.length;
    for (let k = 0; k < 4; k++) draws[o + k] = 0.1 * k + 0.001 * ((r * 7 + k) % 5);
    draws[o + 4] = 0.5 + 0.001 * (r % 3);
    draws[o + 5] = 0.01;
    draws[o + 6] = 0.2 + 0.001 * (r % 4);
  }
  const schema = predictionSchema(growth.json);
  await store.store.publish(
    buildBundle({
      manifest: {
        version: nextVersionId(),
        model: growth.json,
        features: schema.features,
        target: { name: "y" },
        sampler: { draws: 50, tune: 50, chains: 2, seed: 1, maxTreeDepth: 10, targetAccept: 0.8 },
        seed: 1,
        data: { sha256: "1".repeat(64), rows: 10, trainRows: 8, testRows: 2 },
        parameters: { names, shapes: { a: [4], b: [], c: [], s: [] } },
        draws: { chains: 2, drawsPerChain: 50 },
        diagnostics: { summary: [] },
        metrics: { rmse: 1.5 },
        gate: { passed: true, failures: [] },
      },
      draws,
    }),
  );
  t = await testApp(store.store);
});

afterAll(async () => {
  await t.close();
  store.cleanup();
});

describe("a user's own model", () => {
  it("is served with a schema from its features", async () => {
    const ok = await post(t.app, "point", { data: { dose: 2, group: 3, count: 4 }, algo_param: { seed: 1 } });
    expect(ok.status).toBe(200);
    // exp(a[3] + 0.5·2 + 0.01·4) ≈ exp(1.34) ≈ 3.8
    expect((ok.json as { y_pred: number }).y_pred).toBeGreaterThan(3);
    expect((ok.json as { y_pred: number }).y_pred).toBeLessThan(5);

    const wrong = await post(t.app, "point", { data: { x: 5, category: 2 } });
    expect(wrong.status).toBe(422);
    expect((wrong.json as { detail: { loc: unknown[]; type: string }[] }).detail.map((d) => [d.loc, d.type])).toEqual([
      [["body", "data", "dose"], "value_error.missing"],
      [["body", "data", "group"], "value_error.missing"],
      [["body", "data", "count"], "value_error.missing"],
      [["body", "data", "x"], "value_error.extra"],
      [["body", "data", "category"], "value_error.extra"],
    ]);
    const group = await post(t.app, "point", { data: { dose: 2, group: 4, count: 1 } });
    expect((group.json as { detail: { msg: string }[] }).detail[0].msg).toBe("group 4 is not one of the model's categories 0..3");
    const count = await post(t.app, "point", { data: { dose: 2, group: 1, count: 1.5 } });
    expect((count.json as { detail: { type: string }[] }).detail[0].type).toBe("type_error.integer");
  });

  it("GET /model and the OpenAPI document describe its features", async () => {
    const m = (await t.app.inject({ method: "GET", url: "/model" })).json() as { features: unknown; model: { name: string } };
    expect(m.model.name).toBe("growth");
    expect(m.features).toEqual([
      { name: "dose", type: "float" },
      { name: "group", type: "category", levels: 4 },
      { name: "count", type: "integer" },
    ]);
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<
        string,
        { post: { requestBody: { content: { "application/json": { schema: unknown; examples: Record<string, { value: { data: unknown } }> } } } } }
      >;
    };
    const body = doc.paths["/predict/v1.0.0/point"].post.requestBody.content["application/json"];
    expect(JSON.stringify(body.schema)).toContain('"group"');
    expect(JSON.stringify(body.schema)).not.toContain('"category"');
    expect(body.examples.single.value.data).toEqual({ dose: 5, group: 2, count: 1 });
  });

  it("answers that would overflow are a 422, not Infinity", async () => {
    // exp(0.5 · 1e4) overflows.
    for (const kind of ["point", "interval", "density"]) {
      const r = await post(t.app, kind, { data: { dose: 1e4, group: 0, count: 0 } });
      expect(r.status, r.body).toBe(422);
      expect(r.json).toEqual({
        detail: [
          {
            loc: ["body", "data"],
            msg: "the model's predictive samples at this input are not all finite numbers, so no answer can be given",
            type: "value_error.prediction.not_finite",
          },
        ],
      });
    }
    const batch = await post(t.app, "point", {
      data: [
        { dose: 1, group: 0, count: 0 },
        { dose: 1e4, group: 0, count: 0 },
      ],
    });
    expect((batch.json as { detail: { loc: unknown[] }[] }).detail[0].loc).toEqual(["body", "data", 1]);
  });
});
