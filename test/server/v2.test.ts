// The Open Inference Protocol (V2) over real HTTP, through a client written from the protocol's JSON schemas
// (test/support/open-inference-client.ts: every response is checked against the protocol's schema for it). The answers
// are the seed API's own — with the same seed, V2's y_pred is /point's, its interval /interval's, its mean /mean's,
// its histogram /density's — for one instance and for a batch, tensors per feature or one [n, k] tensor, light and
// heavy (the sampling worker); a logistic model's outputs are probabilities and 0/1 answers, a count model's integers;
// and every client mistake is a 400 (404 for a model not served) with the protocol's `{"error": "…"}`.
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hdiSorted, quantileSorted } from "../../src/diagnostics/index.js";
import { BernoulliLogit, model, Normal, PoissonLog } from "../../src/model/index.js";
import type { RunningServer } from "../../src/server/server.js";
import { V2_OUTPUTS } from "../../src/server/v2-schemas.js";
import { InferEndpoint } from "../../src/server/v2-routes.js";
import { responseOf, responseText } from "../../src/server/v2-answer-body.js";
import { inferAll } from "../../src/predict/index.js";
import { DEFAULT_LIMITS } from "../../src/server/schemas.js";
import { OpenInferenceClient, output, V2Error, type InferenceRequest, type Tensor } from "../support/open-inference-client.js";
import { madeUpBundle, storeWithSeedModel, tempStore, type TempStore, startTestServer } from "./fixtures.js";

const NAME = "seed-regression";

let seedStore: TempStore & { version: string };
let server: RunningServer;
let client: OpenInferenceClient;

beforeAll(async () => {
  seedStore = await storeWithSeedModel();
  server = await startTestServer(seedStore.dir, { workers: 1, shutdownGraceMs: 0 });
  client = new OpenInferenceClient(server.url);
});

afterAll(async () => {
  await server.close();
  seedStore.cleanup();
});

/** The seed API's answer, over the same server. */
async function seedApi(kind: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`${server.url}/predict/v1.0.0/${kind}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(r.status).toBe(200);
  return (await r.json()) as Record<string, unknown>;
}

const perFeature = (xs: number[], categories: number[]): Tensor[] => [
  { name: "x", shape: [xs.length], datatype: "FP64", data: xs },
  { name: "category", shape: [categories.length], datatype: "INT64", data: categories },
];

/** The error a request gets (it must fail). */
async function refused(request: InferenceRequest | string, name = NAME): Promise<V2Error> {
  try {
    if (typeof request === "string") await client.inferRaw(name, request);
    else await client.infer(name, request);
  } catch (err) {
    if (err instanceof V2Error) return err;
    throw err;
  }
  throw new Error("the request was answered 200");
}

describe("health and metadata, as the protocol shapes them", () => {
  it("server live, server ready and model ready are 200 with an empty body", async () => {
    expect(await client.serverLive()).toBe(true);
    expect(await client.serverReady()).toBe(true);
    expect(await client.modelReady(NAME)).toBe(true);
    expect(await client.modelReady(NAME, seedStore.version)).toBe(true);
  });

  it("server metadata names bayes-serve and its version", async () => {
    const m = await client.serverMetadata();
    expect(m).toEqual({ name: "bayes-serve", version: "0.1.0", extensions: [] });
  });

  it("model metadata: an input per feature with its datatype, every output FP64, the version, what outputs mean", async () => {
    for (const version of [undefined, seedStore.version]) {
      const m = await client.modelMetadata(NAME, version);
      expect(m.name).toBe(NAME);
      expect(m.versions).toEqual([seedStore.version]);
      expect(m.inputs).toEqual([
        { name: "x", datatype: "FP64", shape: [-1] },
        { name: "category", datatype: "INT64", shape: [-1] },
      ]);
      expect(m.outputs.map((o) => o.name)).toEqual([...V2_OUTPUTS]);
      for (const o of m.outputs) expect(o.datatype).toBe("FP64");
      expect(m.outputs.find((o) => o.name === "y_pred")?.shape).toEqual([-1]);
      expect(m.outputs.find((o) => o.name === "y_pred_draws")?.shape).toEqual([-1, -1]);
      expect(m.parameters).toMatchObject({ family: "Normal", kind: "continuous", discrete: false, n_draws: 600 });
      expect(String(m.parameters?.y_mean)).toMatch(/regression function/);
    }
  });

  it("a model or version not served here is a 404 with the protocol's error object, on every model route", async () => {
    await expect(client.modelMetadata("other")).rejects.toMatchObject({
      status: 404,
      error: expect.stringMatching(/model "other" is not served here; this server serves "seed-regression"/) as unknown,
    });
    await expect(client.modelMetadata(NAME, "20200101T000000Z-000000")).rejects.toMatchObject({
      status: 404,
      error: expect.stringMatching(/version "20200101T000000Z-000000" is not served here/) as unknown,
    });
    const e = await refused({ inputs: perFeature([5], [2]) }, "other");
    expect(e.status).toBe(404);
    const r = await fetch(`${server.url}/v2/models/other/ready`);
    expect(r.status).toBe(404);
  });
});

describe("inference: the seed API's answers as tensors", () => {
  it("every output by default, each FP64 of the right shape, the id returned, the parameters used", async () => {
    const r = await client.infer(NAME, { id: "req-1", inputs: perFeature([5], [2]) });
    expect(r.model_name).toBe(NAME);
    expect(r.model_version).toBe(seedStore.version);
    expect(r.id).toBe("req-1");
    expect(r.outputs.map((o) => o.name)).toEqual([...V2_OUTPUTS]);
    expect(r.parameters).toEqual({ n_samples: 100, hdi_probability: 0.95, n_draws: 600, quantiles: "0.025,0.25,0.5,0.75,0.975", bins: 5 });
    expect(output(r, "y_pred").shape).toEqual([1]);
    expect(output(r, "y_pred_quantiles").shape).toEqual([1, 5]);
    expect(output(r, "y_pred_draws").shape).toEqual([1, 100]);
    expect(output(r, "y_pred_density").shape).toEqual([1, 5]);
    const [lo, hi] = [output(r, "y_pred_lower").data[0], output(r, "y_pred_upper").data[0]];
    expect(lo).toBeLessThan(output(r, "y_pred").data[0]);
    expect(hi).toBeGreaterThan(output(r, "y_pred").data[0]);
    // y = beta[category] · x with beta[2] = 1.5 and noise 0.75: the mean near 7.5 and its band narrow.
    expect(output(r, "y_mean").data[0]).toBeCloseTo(7.5, 0);
    expect(output(r, "y_mean_upper").data[0] - output(r, "y_mean_lower").data[0]).toBeLessThan(1);
  });

  it("with a seed, y_pred is /point's, the interval /interval's, the mean /mean's and the histogram /density's", async () => {
    const seed = 42;
    for (const n_samples of [100, 1001]) {
      const r = await client.infer(NAME, { parameters: { seed, n_samples, hdi_probability: 0.8, bins: 7 }, inputs: perFeature([5], [2]) });
      const algo = { n_samples, seed };
      expect(output(r, "y_pred").data).toEqual([(await seedApi("point", { data: { x: 5, category: 2 }, algo_param: algo })).y_pred]);
      const iv = await seedApi("interval", { data: { x: 5, category: 2 }, algo_param: algo, hdi_probability: 0.8 });
      expect([output(r, "y_pred_lower").data[0], output(r, "y_pred_upper").data[0]]).toEqual([iv.y_pred_lower, iv.y_pred_upper]);
      const mean = await seedApi("mean", { data: { x: 5, category: 2 }, hdi_probability: 0.8 });
      expect([output(r, "y_mean").data[0], output(r, "y_mean_lower").data[0], output(r, "y_mean_upper").data[0]]).toEqual([
        mean.y_mean,
        mean.y_mean_lower,
        mean.y_mean_upper,
      ]);
      const d = await seedApi("density", { data: { x: 5, category: 2 }, algo_param: algo, bins: 7 });
      expect(output(r, "y_pred_bin_mids").data).toEqual(d.y_pred_bin_mids);
      expect(output(r, "y_pred_density").data).toEqual(d.y_pred_density);
    }
  });

  it("the draws are the samples every summary came from: their quantiles, median and HDI are the outputs", async () => {
    const r = await client.infer(NAME, {
      parameters: { n_samples: 400, quantiles: "0,0.1,0.5,0.9,1", hdi_probability: 0.9 },
      inputs: perFeature([1, 9], [0, 1]),
    });
    const draws = output(r, "y_pred_draws");
    expect(draws.shape).toEqual([2, 400]);
    const q = output(r, "y_pred_quantiles");
    expect(q.parameters).toEqual({ quantiles: "0,0.1,0.5,0.9,1" });
    for (let i = 0; i < 2; i++) {
      const sorted = Float64Array.from(draws.rows[i]).sort();
      expect(q.rows[i]).toEqual([0, 0.1, 0.5, 0.9, 1].map((p) => quantileSorted(sorted, p)));
      expect(output(r, "y_pred").data[i]).toBe(quantileSorted(sorted, 0.5));
      expect([output(r, "y_pred_lower").data[i], output(r, "y_pred_upper").data[i]]).toEqual(hdiSorted(sorted, 0.9));
    }
  });

  it("a batch: tensors per feature, one [n, k] tensor flat or nested, and each instance alone all answer alike", async () => {
    const xs = [0.5, 5, 9.5];
    const cs = [0, 2, 1];
    const parameters = { seed: 7, n_samples: 200 };
    const outputs = [{ name: "y_pred" }, { name: "y_pred_lower" }, { name: "y_pred_upper" }, { name: "y_pred_quantiles" }, { name: "y_mean" }];
    const columns = await client.infer(NAME, { parameters, outputs, inputs: perFeature(xs, cs) });
    const flat = await client.infer(NAME, {
      parameters,
      outputs,
      inputs: [{ name: "features", shape: [3, 2], datatype: "FP64", data: [0.5, 0, 5, 2, 9.5, 1] }],
    });
    const nested = await client.infer(NAME, {
      parameters,
      outputs,
      inputs: [
        {
          name: "X",
          shape: [3, 2],
          datatype: "FP64",
          data: [
            [0.5, 0],
            [5, 2],
            [9.5, 1],
          ],
        },
      ],
    });
    expect(columns.outputs.map((o) => o.name)).toEqual(outputs.map((o) => o.name));
    expect(flat.outputs).toEqual(columns.outputs);
    expect(nested.outputs).toEqual(columns.outputs);
    for (let i = 0; i < 3; i++) {
      const alone = await client.infer(NAME, { parameters, outputs, inputs: perFeature([xs[i]], [cs[i]]) });
      for (const o of outputs) expect(output(alone, o.name).rows[0]).toEqual(output(columns, o.name).rows[i]);
    }
    // A feature's tensor may also be [n, 1].
    const column = await client.infer(NAME, {
      parameters,
      outputs,
      inputs: [
        { name: "x", shape: [3, 1], datatype: "FP64", data: [[0.5], [5], [9.5]] },
        { name: "category", shape: [3], datatype: "INT32", data: cs },
      ],
    });
    expect(column.outputs).toEqual(columns.outputs);
  });

  it("a heavy request (computed on the sampling worker) answers as a light one would, and as the seed API does", async () => {
    const inputs = perFeature([2, 8], [1, 0]);
    const heavy = await client.infer(NAME, {
      parameters: { seed: 3, n_samples: 30_000 },
      inputs,
      outputs: [{ name: "y_pred" }, { name: "y_pred_lower" }, { name: "y_pred_upper" }, { name: "y_mean" }],
    });
    const iv = await seedApi("interval", {
      data: [
        { x: 2, category: 1 },
        { x: 8, category: 0 },
      ],
      algo_param: { n_samples: 30_000, seed: 3 },
    });
    expect(output(heavy, "y_pred_lower").data).toEqual(iv.y_pred_lower);
    expect(output(heavy, "y_pred_upper").data).toEqual(iv.y_pred_upper);
    const pt = await seedApi("point", {
      data: [
        { x: 2, category: 1 },
        { x: 8, category: 0 },
      ],
      algo_param: { n_samples: 30_000, seed: 3 },
    });
    expect(output(heavy, "y_pred").data).toEqual(pt.y_pred);
  });

  it("a level not seen in training is answered with allow_new_levels (its beta drawn from the prior), and only then", async () => {
    const e = await refused({ inputs: perFeature([5], [3]) });
    expect(e.error).toMatch(/category 3 is not one of the model's categories 0\.\.2/);
    const r = await client.infer(NAME, {
      parameters: { allow_new_levels: true, n_samples: 2000 },
      inputs: perFeature([5, 5], [2, 3]),
      outputs: [{ name: "y_mean_lower" }, { name: "y_mean_upper" }],
    });
    const [lo, hi] = [output(r, "y_mean_lower").data, output(r, "y_mean_upper").data];
    // beta of a new level ~ Normal(0, 2): E[y] = 5·beta spans about ±20, against a narrow band for level 2.
    expect(hi[1] - lo[1]).toBeGreaterThan(20 * (hi[0] - lo[0]));
  });

  it("light requests are answered by the fast lane, byte for byte as the Fastify route answers them", async () => {
    const before = server.fastLane?.answered ?? 0;
    for (const version of [undefined, seedStore.version]) {
      const path = `/v2/models/${NAME}${version === undefined ? "" : `/versions/${version}`}/infer`;
      const body = JSON.stringify({ id: "lane", parameters: { seed: 9 }, inputs: perFeature([1, 2], [0, 1]) });
      const viaLane = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
      const viaFastify = await server.app.inject({ method: "POST", url: path, headers: { "content-type": "application/json" }, payload: body });
      expect(viaLane.status).toBe(200);
      expect(viaLane.headers.get("content-type")).toBe(viaFastify.headers["content-type"]);
      expect(await viaLane.text()).toBe(viaFastify.body);
    }
    expect((server.fastLane?.answered ?? 0) - before).toBe(2);
    expect(server.fastLane?.blocker).toBeNull();
  });

  it("the response text written directly is JSON.stringify of the response object, for every output, a batch and an id", () => {
    const model = server.holder.current;
    if (model === null) throw new Error("no model");
    const endpoint = new InferEndpoint({ limits: DEFAULT_LIMITS, heavyWork: Number.MAX_SAFE_INTEGER });
    for (const request of [
      { id: 'all "quoted"', parameters: { seed: 3, quantiles: "0.1,0.9", bins: 4 }, inputs: perFeature([1, 5, 9], [0, 1, 2]) },
      { inputs: perFeature([5], [2]), outputs: [{ name: "y_mean_upper" }, { name: "y_pred" }] },
    ]) {
      const prepared = endpoint.prepare(model, JSON.parse(JSON.stringify(request)));
      const answers = inferAll(model.predictor, prepared.instances, prepared.params);
      const head = { ...endpoint.head(model, prepared), modelName: NAME };
      expect(responseText(head, answers)).toBe(JSON.stringify(responseOf(head, answers)));
    }
  });

  it("outputs come in the order asked; the mean alone needs no samples", async () => {
    const r = await client.infer(NAME, {
      inputs: perFeature([5], [2]),
      outputs: [{ name: "y_mean_upper" }, { name: "y_pred_upper", parameters: { binary_data: false } }, { name: "y_mean" }],
    });
    expect(r.outputs.map((o) => o.name)).toEqual(["y_mean_upper", "y_pred_upper", "y_mean"]);
    const mean = await client.infer(NAME, { inputs: perFeature([5], [2]), outputs: [{ name: "y_mean" }] });
    expect(mean.parameters).toEqual({ hdi_probability: 0.95, n_draws: 600 });
  });
});

describe("heavy answers: written on the sampling worker and streamed as the seed API's", () => {
  it("a heavy answer through the fast lane is byte for byte Fastify's, and a light request's of the same question", async () => {
    const body = JSON.stringify({ id: "heavy", parameters: { seed: 4, n_samples: 30_000, quantiles: "0.1,0.9" }, inputs: perFeature([2, 8], [1, 0]) });
    const path = `/v2/models/${NAME}/infer`;
    const before = server.fastLane?.answered ?? 0;
    const viaLane = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect((server.fastLane?.answered ?? 0) - before).toBe(1);
    const viaFastify = await server.app.inject({ method: "POST", url: path, headers: { "content-type": "application/json" }, payload: body });
    const text = await viaLane.text();
    expect(viaLane.status).toBe(200);
    expect(viaLane.headers.get("content-type")).toBe(viaFastify.headers["content-type"]);
    expect(viaLane.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(text).toBe(viaFastify.body);
    // The same answer computed and written on the event loop is the same text.
    const model = server.holder.current;
    if (model === null) throw new Error("no model");
    const endpoint = new InferEndpoint({ limits: DEFAULT_LIMITS, heavyWork: Number.MAX_SAFE_INTEGER });
    const prepared = endpoint.prepare(model, JSON.parse(body));
    expect(endpoint.answerLight(model, prepared)).toBe(text);
  });

  it("closes a connection whose client takes nothing of its heavy answers for the send timeout, and their memory comes back", async () => {
    const s = await startTestServer(seedStore.dir, { workers: 1, sendTimeoutMs: 500, shutdownGraceMs: 0 });
    try {
      // Each answer holds 200,000 draws (~4 MB of JSON); pipelined into a socket that is never read, they fill the
      // kernel's buffers and the next answer stops going out.
      const body = JSON.stringify({ parameters: { n_samples: 100_000 }, inputs: perFeature([1, 9], [0, 2]), outputs: [{ name: "y_pred_draws" }] });
      const raw = `POST /v2/models/${NAME}/infer HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      const { port } = new URL(s.url);
      const socket = connect(Number(port), "127.0.0.1");
      socket.pause();
      socket.on("error", () => undefined);
      socket.on("connect", () => {
        for (let i = 0; i < 12; i++) socket.write(raw);
      });
      // (A paused socket sees the server's close only through a write: one more request now and then, as a client
      // that keeps asking without reading would.)
      const poke = setInterval(() => {
        if (!socket.destroyed && socket.writableLength === 0) socket.write(raw);
      }, 250);
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      try {
        // Loose: the point is that it is closed at all, not how soon on a loaded machine.
        await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error("not closed within 30 s")), 30_000))]);
      } finally {
        clearInterval(poke);
        socket.destroy();
      }
      // The memory its answers held is given back (at once, or as the last one's computation ends).
      let held = Number.NaN;
      for (let i = 0; i < 100 && held !== 0; i++) {
        const metrics = await (await fetch(`${s.url}/metrics`)).text();
        held = Number(/^bayes_serve_heavy_answer_bytes (\S+)$/m.exec(metrics)?.[1]);
        if (held !== 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(held).toBe(0);
      // And the server answers as ever.
      expect((await client.infer(NAME, { inputs: perFeature([5], [2]), outputs: [{ name: "y_pred" }] })).outputs).toHaveLength(1);
    } finally {
      await s.close();
    }
  }, 60_000);
});

describe("a client's mistakes: 400 with the protocol's error object, naming what is wrong", () => {
  const cases: [string, InferenceRequest | string, RegExp][] = [
    ["a category out of range", { inputs: perFeature([5, 5], [2, 7]) }, /input "category" element 1: category 7 is not one of the model's categories 0\.\.2/],
    ["x out of the range requests may use", { inputs: perFeature([5e13], [0]) }, /input "x" element 0: ensure this value is less than or equal to/],
    [
      "a fractional category",
      {
        inputs: [
          { name: "x", shape: [1], datatype: "FP64", data: [5] },
          { name: "category", shape: [1], datatype: "FP64", data: [1.5] },
        ],
      },
      /input "category" element 0: value is not a valid integer/,
    ],
    [
      "an INT64 tensor holding 1.5",
      {
        inputs: [
          { name: "x", shape: [1], datatype: "FP64", data: [5] },
          { name: "category", shape: [1], datatype: "INT64", data: [1.5] },
        ],
      },
      /input "category" element 0: 1\.5 is not an integer as INT64 requires/,
    ],
    [
      "a value in the matrix form",
      { inputs: [{ name: "X", shape: [2, 2], datatype: "FP64", data: [5, 0, 5, 3] }] },
      /input "X" element \[1, 1\] \(feature "category"\): category 3 is not one of/,
    ],
    [
      "an unknown input",
      { inputs: [...perFeature([5], [2]), { name: "z", shape: [1], datatype: "FP64", data: [1] }] },
      /input "z": not a feature of the model; its inputs are "x", "category"/,
    ],
    ["a missing feature", { inputs: [{ name: "x", shape: [1], datatype: "FP64", data: [5] }] }, /inputs: "category" missing/],
    ["a feature twice", { inputs: [...perFeature([5], [2]), { name: "x", shape: [1], datatype: "FP64", data: [1] }] }, /input "x": given twice/],
    ["inputs of different lengths", { inputs: perFeature([5, 6], [2]) }, /input "category": 1 instances, but input "x" has 2/],
    [
      "data shorter than its shape",
      {
        inputs: [
          { name: "x", shape: [2], datatype: "FP64", data: [5] },
          { name: "category", shape: [2], datatype: "INT64", data: [1, 2] },
        ],
      },
      /input "x": holds 1 element, but its shape \[2\] has 2/,
    ],
    [
      "data longer than its shape",
      {
        inputs: [
          { name: "x", shape: [1], datatype: "FP64", data: [5, 6] },
          { name: "category", shape: [1], datatype: "INT64", data: [1] },
        ],
      },
      /input "x": holds 2 elements, but its shape \[1\] has 1/,
    ],
    // Data flat (row-major) or nested exactly as the shape; nothing else is re-read into it.
    [
      "a ragged [2, 2] tensor: rows of 3 and 1 elements",
      { inputs: [{ name: "X", shape: [2, 2], datatype: "FP64", data: [[1, 0, 5], [2]] }] },
      /input "X" data\[0\] has 3 elements; shape \[2,2\] needs 2/,
    ],
    [
      "a [2, 2] tensor nested deeper and deeper",
      { inputs: [{ name: "X", shape: [2, 2], datatype: "FP64", data: [1, [0, [5, [2]]]] }] },
      /input "X" data\[1\] is an array, but data\[0\] is a number; shape \[2,2\] needs its data flat \(4 numbers\) or nested as the shape \(2 rows of 2\)/,
    ],
    [
      "a [2, 2] tensor of three rows",
      { inputs: [{ name: "X", shape: [2, 2], datatype: "FP64", data: [[[1]], [[0], [5]], 2] }] },
      /input "X" data has 3 elements; shape \[2,2\] needs 2 \(rows of 2\)/,
    ],
    [
      "a [2, 2] tensor nested three deep",
      {
        inputs: [
          {
            name: "X",
            shape: [2, 2],
            datatype: "FP64",
            data: [
              [[1], [0]],
              [[5], [2]],
            ],
          },
        ],
      },
      /input "X" data\[0\]\[0\] is an array; shape \[2,2\] needs a number there/,
    ],
    [
      "a row of a nested [2, 2] tensor that is a number",
      { inputs: [{ name: "X", shape: [2, 2], datatype: "FP64", data: [[1, 0], 5] }] },
      /input "X" data\[1\] is 5, not an array; shape \[2,2\] needs a row of 2 there/,
    ],
    [
      "an [n] tensor nested",
      {
        inputs: [
          { name: "x", shape: [2], datatype: "FP64", data: [[5], [6]] },
          { name: "category", shape: [2], datatype: "INT64", data: [1, 2] },
        ],
      },
      /input "x" data\[0\] is an array; shape \[2\] needs a number there/,
    ],
    [
      "a string in a nested [n, k] tensor",
      {
        inputs: [
          {
            name: "X",
            shape: [2, 2],
            datatype: "FP64",
            data: [
              [1, 0],
              [5, "2"],
            ],
          },
        ],
      },
      /input "X" element \[1, 1\] \(feature "category"\): "2", not a number/,
    ],
    // A value must be one its datatype can hold.
    [
      "INT8 300",
      {
        inputs: [
          { name: "x", shape: [1], datatype: "INT8", data: [300] },
          { name: "category", shape: [1], datatype: "INT64", data: [2] },
        ],
      },
      /input "x" element 0: 300 is outside INT8's range -128\.\.127/,
    ],
    [
      "UINT8 -1",
      {
        inputs: [
          { name: "x", shape: [1], datatype: "FP64", data: [5] },
          { name: "category", shape: [1], datatype: "UINT8", data: [-1] },
        ],
      },
      /input "category" element 0: -1 is outside UINT8's range 0\.\.255/,
    ],
    [
      "INT64 beyond 2^53",
      {
        inputs: [
          { name: "x", shape: [1], datatype: "INT64", data: [2 ** 53 + 2] },
          { name: "category", shape: [1], datatype: "INT64", data: [2] },
        ],
      },
      /input "x" element 0: 9007199254740994 is outside INT64's range -9007199254740991\.\.9007199254740991/,
    ],
    [
      "INT32 beyond its range, in the [n, k] form",
      { inputs: [{ name: "X", shape: [1, 2], datatype: "INT32", data: [3e9, 1] }] },
      /input "X" element \[0, 0\] \(feature "x"\): 3000000000 is outside INT32's range -2147483648\.\.2147483647/,
    ],
    [
      "FP16 1e10",
      {
        inputs: [
          { name: "x", shape: [1], datatype: "FP16", data: [1e10] },
          { name: "category", shape: [1], datatype: "INT64", data: [2] },
        ],
      },
      /input "x" element 0: 10000000000 is outside FP16's range ±65504/,
    ],
    [
      "FP32 1e39, nested",
      { inputs: [{ name: "X", shape: [1, 2], datatype: "FP32", data: [[1e39, 1]] }] },
      /input "X" element \[0, 0\] \(feature "x"\): 1e\+39 is outside FP32's range ±3\.4028234663852886e\+38/,
    ],
    [
      "a string element",
      {
        inputs: [
          { name: "x", shape: [1], datatype: "FP64", data: ["5"] },
          { name: "category", shape: [1], datatype: "INT64", data: [1] },
        ],
      },
      /input "x" element 0: "5", not a number/,
    ],
    [
      "a BYTES tensor",
      {
        inputs: [
          { name: "x", shape: [1], datatype: "BYTES", data: ["5"] },
          { name: "category", shape: [1], datatype: "INT64", data: [1] },
        ],
      },
      /input "x": datatype BYTES cannot carry a feature/,
    ],
    [
      "a matrix of the wrong width",
      { inputs: [{ name: "X", shape: [1, 3], datatype: "FP64", data: [5, 1, 2] }] },
      /input "X": shape \[1, 3\], but the model has 2 features: \[n, 2\] in the order "x", "category"/,
    ],
    ["no instances", { inputs: perFeature([], []) }, /input "x": no instances/],
    [
      "an unknown output",
      { inputs: perFeature([5], [2]), outputs: [{ name: "y_hat" }] },
      /outputs\[0\] "y_hat": not an output of the model; it answers y_pred, /,
    ],
    ["an output twice", { inputs: perFeature([5], [2]), outputs: [{ name: "y_pred" }, { name: "y_pred" }] }, /outputs\[1\] "y_pred": asked for twice/],
    [
      "binary data asked for",
      { inputs: perFeature([5], [2]), outputs: [{ name: "y_pred", parameters: { binary_data: true } }] },
      /binary tensor data is not supported/,
    ],
    [
      "an unknown parameter",
      { parameters: { n_sample: 10 }, inputs: perFeature([5], [2]) },
      /parameters\.n_sample: not a parameter bayes-serve reads \(it reads n_samples, seed/,
    ],
    ["n_samples too large", { parameters: { n_samples: 100_001 }, inputs: perFeature([5], [2]) }, /parameters\.n_samples: must be <= 100000/],
    [
      "n_samples × instances too large",
      { parameters: { n_samples: 100_000 }, inputs: perFeature(Array(101).fill(5) as number[], Array(101).fill(1) as number[]), outputs: [{ name: "y_pred" }] },
      /parameters\.n_samples: ensure n_samples × instances \(100000 × 101 = 10100000\) is at most 10000000/,
    ],
    [
      "draws too many to answer",
      { parameters: { n_samples: 100_000 }, inputs: perFeature([5, 5, 5], [1, 1, 1]) },
      /n_samples × instances \(100000 × 3\) for y_pred_draws = 300000 values, more than the 200000/,
    ],
    [
      "a quantile outside [0, 1]",
      { parameters: { quantiles: "0.5,1.5" }, inputs: perFeature([5], [2]) },
      /parameters\.quantiles: "1\.5" is not a probability in \[0, 1\]/,
    ],
    [
      "a quantile in hexadecimal",
      { parameters: { quantiles: "0x1,0.5" }, inputs: perFeature([5], [2]) },
      /parameters\.quantiles: "0x1" is not a decimal number/,
    ],
    [
      "more quantiles in a string than the list form allows",
      { parameters: { quantiles: Array(200_000).fill("0.5").join(",") }, inputs: perFeature([5], [2]) },
      /parameters\.quantiles: 200000 probabilities, more than the \d+ allowed/,
    ],
    [
      "a quantile in binary, padded",
      { parameters: { quantiles: "0.5, 0b0 " }, inputs: perFeature([5], [2]) },
      /parameters\.quantiles: "0b0" is not a decimal number/,
    ],
    ["an hdi_probability of 1", { parameters: { hdi_probability: 1 }, inputs: perFeature([5], [2]) }, /parameters\.hdi_probability: must be < 1/],
    ["no inputs", { inputs: [] }, /inputs: must NOT have fewer than 1 items/],
    ["a tensor without its shape", '{"inputs": [{"name": "x", "datatype": "FP64", "data": [5]}]}', /inputs\[0\]\.shape: required/],
    [
      "NaN",
      '{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [NaN]}, {"name": "category", "shape": [1], "datatype": "INT64", "data": [1]}]}',
      /input "x" element 0: NaN, not a finite number/,
    ],
    // A number too large for a double: JSON.parse makes it Infinity, which the fast lane must not answer either.
    [
      "a number beyond a double",
      '{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [1e400]}, {"name": "category", "shape": [1], "datatype": "INT64", "data": [1]}]}',
      /input "x" element 0: .*not a finite number/,
    ],
    [
      "a matrix with a number beyond a double",
      '{"inputs": [{"name": "X", "shape": [1, 2], "datatype": "FP64", "data": [-1e999, 1]}]}',
      /input "X" element \[0, 0\] \(feature "x"\): .*not a finite number/,
    ],
    ["malformed JSON", '{"inputs": [', /Malformed JSON in the request body/],
    ["an empty body", "", /field required|body/],
  ];
  for (const [what, request, message] of cases) {
    it(what, async () => {
      const e = await refused(request);
      expect(e.status).toBe(400);
      expect(e.error).toMatch(message);
    });
  }

  it("data nested 10,000 deep is a 400 saying where, not a stack overflow's 500", async () => {
    const deep = `${"[".repeat(10_000)}5${"]".repeat(10_000)}`;
    const category = '{"name": "category", "shape": [1], "datatype": "INT64", "data": [2]}';
    const column = await refused(`{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": ${deep}}, ${category}]}`);
    expect(column.status).toBe(400);
    expect(column.error).toMatch(/input "x" data\[0\] is an array; shape \[1\] needs a number there/);
    const matrix = await refused(`{"inputs": [{"name": "X", "shape": [1, 2], "datatype": "FP64", "data": [[${deep}, 2]]}]}`);
    expect(matrix.status).toBe(400);
    expect(matrix.error).toMatch(/input "X" data\[0\]\[0\] is an array; shape \[1,2\] needs a number there/);
    const object = await refused(
      `{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}]}, ${category}]}`,
    );
    expect(object.status).toBe(400);
    expect(object.error).toMatch(/input "x" element 0: an object, not a number/);
  });

  it("every numeric datatype carries values it holds, answered as FP64 and INT64 are; the largest FP32 and FP16 are in range", async () => {
    const parameters = { seed: 3 };
    const outputs = [{ name: "y_pred" }];
    const expected = await client.infer(NAME, { parameters, outputs, inputs: perFeature([5, 100], [2, 1]) });
    for (const datatype of ["FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8"]) {
      const r = await client.infer(NAME, {
        parameters,
        outputs,
        inputs: [
          { name: "x", shape: [2], datatype, data: [5, 100] },
          { name: "category", shape: [2], datatype, data: [2, 1] },
        ],
      });
      expect(r.outputs, datatype).toEqual(expected.outputs);
    }
    // The largest of each float type, as numpy prints float32's (3.4028235e+38, a double above it that rounds to it),
    // and 65519 (which rounds to FP16's 65504): values of their type, refused, if at all, by the feature's own bounds.
    for (const [datatype, value, status] of [
      ["FP32", 3.4028235e38, 400],
      ["FP16", 65504, 200],
      ["FP16", 65519, 200],
    ] as const) {
      const answer = await client.infer(NAME, { inputs: [{ name: "X", shape: [1, 2], datatype, data: [[value, 1]] }] }).catch((e: unknown) => e);
      if (status === 200) expect(answer, `${datatype} ${value}`).not.toBeInstanceOf(V2Error);
      else
        expect((answer as V2Error).error, `${datatype} ${value}`).toMatch(
          /input "X" element \[0, 0\] \(feature "x"\): ensure this value is less than or equal to/,
        );
    }
  });

  it("quantiles given as a string are read in decimal notation: signs, points and exponents", async () => {
    const r = await client.infer(NAME, {
      parameters: { quantiles: " .25, 5e-1,+0.75 " },
      inputs: perFeature([5], [2]),
      outputs: [{ name: "y_pred_quantiles" }],
    });
    expect(output(r, "y_pred_quantiles").parameters?.quantiles).toBe("0.25,0.5,0.75");
  });

  it("a body that is not JSON is a 415, in the protocol's shape", async () => {
    await expect(client.inferRaw(NAME, "x=5", undefined, "text/plain")).rejects.toMatchObject({
      status: 415,
      error: expect.stringMatching(/Content-Type: application\/json/) as unknown,
    });
  });
});

describe("the rest of the service knows V2", () => {
  it("/metrics labels the protocol: v2 for the V2 routes, v1 for the seed API", async () => {
    await client.infer(NAME, { inputs: perFeature([5], [2]), outputs: [{ name: "y_pred" }] });
    await refused({ inputs: perFeature([5], [9]) });
    await seedApi("point", { data: { x: 5, category: 2 } });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/bayes_serve_http_requests_total\{method="POST",route="\/v2\/models\/:model_name\/infer",status_code="200",protocol="v2"\} \d+/);
    expect(text).toMatch(/bayes_serve_http_requests_total\{method="POST",route="\/v2\/models\/:model_name\/infer",status_code="400",protocol="v2"\} \d+/);
    expect(text).toMatch(/bayes_serve_http_requests_total\{method="POST",route="\/predict\/v1\.0\.0\/point",status_code="200",protocol="v1"\} \d+/);
  });

  it("/openapi.json covers the V2 routes, with example requests made of the model's features", async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { examples?: Record<string, { value: { inputs: Tensor[] } }> }> } }>>;
    };
    for (const path of [
      "/v2",
      "/v2/health/live",
      "/v2/health/ready",
      "/v2/models/{model_name}",
      "/v2/models/{model_name}/ready",
      "/v2/models/{model_name}/versions/{model_version}",
      "/v2/models/{model_name}/versions/{model_version}/infer",
    ])
      expect(Object.keys(doc.paths)).toContain(path);
    const examples = doc.paths["/v2/models/{model_name}/infer"].post.requestBody?.content["application/json"].examples ?? {};
    expect(examples.single.value.inputs.map((t) => [t.name, t.datatype])).toEqual([
      ["x", "FP64"],
      ["category", "INT64"],
    ]);
    // Each example is answered.
    for (const e of Object.values(examples)) await client.infer(NAME, e.value as InferenceRequest);
  });
});

describe("other families: a logistic model's probabilities, a count model's integers", () => {
  // P(churn) = logistic(a + b · charges): a, b drawn around −1 and 2.
  const logistic = model("churn", (m) => {
    const charges = m.data("charges", { lower: 0 });
    const a = m.param("a", Normal(0, 2));
    const b = m.param("b", Normal(0, 2));
    m.observe("y", BernoulliLogit(a.add(b.mul(charges))), m.data("churned", { kind: "integer" }));
  });
  const counts = model("claims", (m) => {
    const age = m.data("age");
    const a = m.param("a", Normal(0, 2));
    const b = m.param("b", Normal(0, 1));
    m.observe("y", PoissonLog(a.add(b.mul(age))), m.data("n", { kind: "integer" }));
  });
  let store: TempStore;
  let counted: TempStore;
  let churn: RunningServer;
  let claims: RunningServer;

  beforeAll(async () => {
    store = tempStore();
    await store.store.publish(madeUpBundle(logistic, { a: (i) => -1 + 0.2 * Math.sin(i), b: (i) => 2 + 0.2 * Math.cos(i) }, { drawsPerChain: 500 }));
    churn = await startTestServer(store.dir, { workers: 0, shutdownGraceMs: 0, modelName: "churn-v2" });
    counted = tempStore();
    await counted.store.publish(madeUpBundle(counts, { a: (i) => 1 + 0.05 * Math.sin(i), b: () => 0.5 }, { drawsPerChain: 500 }));
    claims = await startTestServer(counted.dir, { workers: 0, shutdownGraceMs: 0 });
  });

  afterAll(async () => {
    await churn.close();
    await claims.close();
    store.cleanup();
    counted.cleanup();
  });

  it("logistic: served under the name given (--model-name), y_mean is P(y = 1) with its interval, the rest 0/1", async () => {
    const c = new OpenInferenceClient(churn.url);
    await expect(c.modelMetadata("churn")).rejects.toMatchObject({ status: 404 });
    const meta = await c.modelMetadata("churn-v2");
    expect(meta.parameters).toMatchObject({ family: "BernoulliLogit", kind: "binary", discrete: true });
    expect(String(meta.parameters?.y_mean)).toMatch(/P\(y = 1 \| x\)/);
    const r = await c.infer("churn-v2", {
      parameters: { n_samples: 2000, seed: 1 },
      inputs: [{ name: "charges", shape: [3], datatype: "FP64", data: [0, 0.5, 2] }],
    });
    const p = output(r, "y_mean").data;
    // E[logistic(a + b·x)] over draws near a = −1, b = 2.
    const expected = [0, 0.5, 2].map((x) => 1 / (1 + Math.exp(-(-1 + 2 * x))));
    p.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 1));
    for (let i = 0; i < 3; i++) {
      expect(output(r, "y_mean_lower").data[i]).toBeLessThanOrEqual(p[i]);
      expect(output(r, "y_mean_upper").data[i]).toBeGreaterThanOrEqual(p[i]);
      expect(output(r, "y_mean_upper").data[i]).toBeLessThan(1);
    }
    // The most frequent outcome, 0/1 draws whose share of ones estimates P(y = 1), integer quantiles.
    expect(output(r, "y_pred").data).toEqual([0, 1, 1]);
    const draws = output(r, "y_pred_draws").rows;
    for (const [i, row] of draws.entries()) {
      expect(row.every((v) => v === 0 || v === 1)).toBe(true);
      expect(row.reduce((a, b) => a + b, 0) / row.length).toBeCloseTo(expected[i], 1);
    }
    for (const v of output(r, "y_pred_quantiles").data) expect([0, 1]).toContain(v);
    // The histogram: the probability of 0 and of 1 for every instance (rows padded to one width when needed).
    const mids = output(r, "y_pred_bin_mids");
    const dens = output(r, "y_pred_density");
    expect(mids.shape).toEqual([3, 2]);
    for (let i = 0; i < 3; i++) {
      expect(dens.rows[i].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
      expect(dens.rows[i][1]).toBeCloseTo(draws[i].filter((v) => v === 1).length / 2000, 10);
    }
  });

  it("count: integer answers, the expected count, rows of a batch's histograms padded along their own grid", async () => {
    const c = new OpenInferenceClient(claims.url);
    const r = await c.infer("claims", { parameters: { n_samples: 500, seed: 2 }, inputs: [{ name: "age", shape: [2], datatype: "FP64", data: [-2, 2] }] });
    expect(output(r, "y_mean").data[0]).toBeCloseTo(Math.exp(0), 1);
    expect(output(r, "y_mean").data[1]).toBeCloseTo(Math.exp(2), 0);
    for (const name of ["y_pred", "y_pred_lower", "y_pred_upper", "y_pred_quantiles", "y_pred_draws"])
      for (const v of output(r, name).data) expect(Number.isInteger(v)).toBe(true);
    const mids = output(r, "y_pred_bin_mids");
    const dens = output(r, "y_pred_density");
    // Instance 0 (mean 1) spans a few counts, instance 1 (mean 7.4) many more: one width, zeros past instance 0's range.
    const draws = output(r, "y_pred_draws").rows;
    const range0 = Math.max(...draws[0]) - Math.min(...draws[0]) + 1;
    const range1 = Math.max(...draws[1]) - Math.min(...draws[1]) + 1;
    expect(mids.shape).toEqual([2, Math.max(range0, range1)]);
    expect(mids.rows[0][0]).toBe(Math.min(...draws[0]));
    for (let j = 1; j < mids.shape[1]; j++) expect(mids.rows[0][j] - mids.rows[0][j - 1]).toBe(1);
    expect(dens.rows[0].slice(range0).every((v) => v === 0)).toBe(true);
    for (let i = 0; i < 2; i++) {
      expect(dens.rows[i].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
      for (const [j, m] of mids.rows[i].entries()) expect(dens.rows[i][j]).toBeCloseTo(draws[i].filter((v) => v === m).length / 500, 10);
    }
  });
});
