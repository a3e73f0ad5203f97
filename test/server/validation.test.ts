// Every client mistake is a clear 4xx in FastAPI's shape, never a 5xx, never a crash.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, SEED_BODY, storeWithSeedModel, testApp, type TempStore, type TestApp } from "./fixtures.js";

let store: TempStore;
let t: TestApp;

beforeAll(async () => {
  store = await storeWithSeedModel();
  t = await testApp(store.store, { limits: { maxSamples: 100_000, maxBins: 10_000, maxBatch: 50, maxRequestSamples: 2_000_000, maxDensityValues: 50_000 } });
});

afterAll(async () => {
  await t.close();
  store.cleanup();
});

type Detail = { loc: (string | number)[]; msg: string; type: string; ctx?: Record<string, unknown> }[];

async function expect422(kind: string, body: unknown): Promise<Detail> {
  const r = await post(t.app, kind, body);
  expect(r.status, JSON.stringify(r.json)).toBe(422);
  const detail = (r.json as { detail: Detail }).detail;
  expect(Array.isArray(detail)).toBe(true);
  expect(detail.length).toBeGreaterThan(0);
  for (const d of detail) {
    expect(d.loc[0]).toBe("body");
    expect(typeof d.msg).toBe("string");
    expect(typeof d.type).toBe("string");
  }
  return detail;
}

const withData = (data: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ data, ...extra });

describe("features", () => {
  it("a category outside the model's levels is a 422 naming the field (the seed: 500 for 7, silently the last for -1)", async () => {
    for (const c of [7, -1, 3]) {
      for (const kind of ["point", "interval", "density"]) {
        const d = await expect422(kind, withData({ x: 5, category: c }));
        expect(d).toEqual([
          {
            loc: ["body", "data", "category"],
            msg: `category ${c} is not one of the model's categories 0..2`,
            type: "value_error.category",
            ctx: { levels: 3 },
          },
        ]);
      }
    }
  });

  it("a non-integer category is one type error (not also a range error)", async () => {
    expect(await expect422("point", withData({ x: 5, category: 2.5 }))).toEqual([
      { loc: ["body", "data", "category"], msg: "value is not a valid integer", type: "type_error.integer" },
    ]);
    for (const c of ["2", true, null, [2], { v: 2 }]) {
      const d = await expect422("point", withData({ x: 5, category: c }));
      expect(d[0]).toMatchObject({ loc: ["body", "data", "category"], type: "type_error.integer" });
    }
  });

  it("NaN, Infinity and -Infinity literals (accepted by Python's json) are 422 at their field", async () => {
    for (const lit of ["NaN", "Infinity", "-Infinity"]) {
      const r = await post(t.app, "interval", `{"data": {"x": ${lit}, "category": 2}}`);
      expect(r.status).toBe(422);
      expect((r.json as { detail: Detail }).detail).toEqual([
        { loc: ["body", "data", "x"], msg: "value is not a finite number", type: "value_error.number.not_finite" },
      ]);
    }
    // Inside a string it is just a string: a type error, not a rescue.
    const r = await post(t.app, "interval", `{"data": {"x": "NaN", "category": 2}}`);
    expect((r.json as { detail: Detail }).detail[0]).toMatchObject({ loc: ["body", "data", "x"], type: "type_error.float" });
  });

  it("an overflowing number (1e999 parses to Infinity) and absurd x (|x| > 1e12) are 422", async () => {
    const inf = await post(t.app, "point", `{"data": {"x": 1e999, "category": 2}}`);
    expect(inf.status).toBe(422);
    expect((inf.json as { detail: Detail }).detail[0]).toMatchObject({ loc: ["body", "data", "x"], type: "value_error.number.not_finite" });
    const big = await expect422("point", withData({ x: 1e13, category: 2 }));
    expect(big[0]).toMatchObject({ loc: ["body", "data", "x"], type: "value_error.number.not_le", ctx: { limit_value: 1e12 } });
    const small = await expect422("point", withData({ x: -1e13, category: 2 }));
    expect(small[0]).toMatchObject({ loc: ["body", "data", "x"], type: "value_error.number.not_ge" });
    // The edge itself is fine.
    expect((await post(t.app, "point", withData({ x: 1e12, category: 0 }))).status).toBe(200);
  });

  it("x of the wrong type, missing features and unknown features", async () => {
    expect((await expect422("point", withData({ x: "five", category: 2 })))[0]).toEqual({
      loc: ["body", "data", "x"],
      msg: "value is not a valid float",
      type: "type_error.float",
    });
    expect(await expect422("point", withData({ category: 2 }))).toEqual([{ loc: ["body", "data", "x"], msg: "field required", type: "value_error.missing" }]);
    expect(await expect422("point", withData({ x: 5 }))).toEqual([{ loc: ["body", "data", "category"], msg: "field required", type: "value_error.missing" }]);
    expect(await expect422("point", withData({ x: 5, category: 2, z: 1 }))).toEqual([
      { loc: ["body", "data", "z"], msg: "extra fields not permitted", type: "value_error.extra" },
    ]);
    const both = await expect422("point", withData({}));
    expect(both.map((d) => d.loc.join("."))).toEqual(["body.data.x", "body.data.category"]);
  });
});

describe("algorithm parameters", () => {
  it("n_samples must be an integer in 1..max", async () => {
    const d0 = await expect422("point", { ...SEED_BODY, algo_param: { n_samples: 0 } });
    expect(d0).toEqual([
      { loc: ["body", "algo_param", "n_samples"], msg: "ensure this value is greater than 0", type: "value_error.number.not_gt", ctx: { limit_value: 0 } },
    ]);
    expect((await expect422("point", { ...SEED_BODY, algo_param: { n_samples: -5 } }))[0].type).toBe("value_error.number.not_gt");
    const big = await expect422("point", { ...SEED_BODY, algo_param: { n_samples: 100_001 } });
    expect(big).toEqual([
      {
        loc: ["body", "algo_param", "n_samples"],
        msg: "ensure this value is less than or equal to 100000",
        type: "value_error.number.not_le",
        ctx: { limit_value: 100_000 },
      },
    ]);
    expect((await expect422("point", { ...SEED_BODY, algo_param: { n_samples: 10.5 } }))[0].type).toBe("type_error.integer");
    expect((await expect422("point", { ...SEED_BODY, algo_param: { n_samples: "100" } }))[0].type).toBe("type_error.integer");
    expect((await expect422("point", { ...SEED_BODY, algo_param: 100 }))[0]).toMatchObject({ loc: ["body", "algo_param"], type: "type_error.dict" });
    expect((await post(t.app, "point", { ...SEED_BODY, algo_param: { n_samples: 1 } })).status).toBe(200);
    expect((await post(t.app, "point", { ...SEED_BODY, algo_param: {} })).json).toMatchObject({ algo_param: 100 });
  });

  it("seed must be a non-negative safe integer; unknown algo_param fields are refused", async () => {
    expect((await expect422("point", { ...SEED_BODY, algo_param: { seed: -1 } }))[0].type).toBe("value_error.number.not_ge");
    expect((await expect422("point", { ...SEED_BODY, algo_param: { seed: 1.5 } }))[0].type).toBe("type_error.integer");
    expect((await expect422("point", { ...SEED_BODY, algo_param: { seed: 2 ** 60 } }))[0].type).toBe("value_error.number.not_le");
    expect(await expect422("point", { ...SEED_BODY, algo_param: { n_sample: 10 } })).toEqual([
      { loc: ["body", "algo_param", "n_sample"], msg: "extra fields not permitted", type: "value_error.extra" },
    ]);
  });

  it("hdi_probability must be strictly between 0 and 1", async () => {
    expect(await expect422("interval", { ...SEED_BODY, hdi_probability: 1 })).toEqual([
      { loc: ["body", "hdi_probability"], msg: "ensure this value is less than 1", type: "value_error.number.not_lt", ctx: { limit_value: 1 } },
    ]);
    expect(await expect422("interval", { ...SEED_BODY, hdi_probability: 0 })).toEqual([
      { loc: ["body", "hdi_probability"], msg: "ensure this value is greater than 0", type: "value_error.number.not_gt", ctx: { limit_value: 0 } },
    ]);
    expect((await expect422("interval", { ...SEED_BODY, hdi_probability: 1.5 }))[0].type).toBe("value_error.number.not_lt");
    expect((await expect422("interval", { ...SEED_BODY, hdi_probability: "0.9" }))[0].type).toBe("type_error.float");
    expect((await post(t.app, "interval", { ...SEED_BODY, hdi_probability: 0.001 })).status).toBe(200);
    expect((await post(t.app, "interval", { ...SEED_BODY, hdi_probability: 0.999 })).status).toBe(200);
  });

  it("bins must be an integer in 1..max", async () => {
    expect(await expect422("density", { ...SEED_BODY, bins: 0 })).toEqual([
      { loc: ["body", "bins"], msg: "ensure this value is greater than 0", type: "value_error.number.not_gt", ctx: { limit_value: 0 } },
    ]);
    expect((await expect422("density", { ...SEED_BODY, bins: 10_001 }))[0]).toMatchObject({ type: "value_error.number.not_le", ctx: { limit_value: 10_000 } });
    expect((await expect422("density", { ...SEED_BODY, bins: 2.5 }))[0].type).toBe("type_error.integer");
    expect((await post(t.app, "density", { ...SEED_BODY, bins: 10_000 })).status).toBe(200);
  });

  it("each endpoint takes only its own parameters: a field of another endpoint is refused, not ignored", async () => {
    expect(await expect422("point", { ...SEED_BODY, bins: 5 })).toEqual([
      { loc: ["body", "bins"], msg: "extra fields not permitted", type: "value_error.extra" },
    ]);
    expect(await expect422("density", { ...SEED_BODY, hdi_probability: 0.9 })).toEqual([
      { loc: ["body", "hdi_probability"], msg: "extra fields not permitted", type: "value_error.extra" },
    ]);
  });

  it("several problems are reported together", async () => {
    const d = await expect422("interval", { data: { x: "a", category: 9 }, algo_param: { n_samples: 0 }, hdi_probability: 2 });
    expect(d.map((e) => e.loc.join("."))).toEqual(["body.data.x", "body.data.category", "body.algo_param.n_samples", "body.hdi_probability"]);
  });
});

describe("the body", () => {
  it("missing data, wrong shapes, and non-object bodies are 422", async () => {
    expect(await expect422("point", {})).toEqual([{ loc: ["body", "data"], msg: "field required", type: "value_error.missing" }]);
    expect(await expect422("point", [1])).toEqual([{ loc: ["body"], msg: "value is not a valid dict", type: "type_error.dict" }]);
    expect(await expect422("point", "null")).toEqual([{ loc: ["body"], msg: "value is not a valid dict", type: "type_error.dict" }]);
    expect(await expect422("point", "42")).toEqual([{ loc: ["body"], msg: "value is not a valid dict", type: "type_error.dict" }]);
    expect((await expect422("point", { data: "x=5" }))[0]).toMatchObject({ loc: ["body", "data"], type: "type_error.dict" });
    expect((await expect422("point", { data: null }))[0]).toMatchObject({ loc: ["body", "data"], type: "type_error.dict" });
  });

  it("an empty body is a missing body (422), as FastAPI says", async () => {
    const r = await t.app.inject({ method: "POST", url: "/predict/v1.0.0/point", headers: { "content-type": "application/json" } });
    expect(r.statusCode).toBe(422);
    expect(r.json()).toEqual({ detail: [{ loc: ["body"], msg: "field required", type: "value_error.missing" }] });
  });

  it("malformed JSON is 400 with the parser's reason", async () => {
    for (const text of [
      "{bad",
      '{"data": {"x": 5, "category": 2}',
      '{"data": {"x": 5,, "category": 2}}',
      "{'data': 1}",
      '{"data": {"x": NaN1, "category": 2}}',
      // A bare NaN where a key belongs is malformed, not a field named after our internal marker.
      "{NaN: 1}",
      '{"data": {Infinity : 5, "category": 2}}',
    ]) {
      const r = await post(t.app, "point", text);
      expect(r.status, text).toBe(400);
      expect(String((r.json as { detail: string }).detail)).toMatch(/^Malformed JSON in the request body: /);
      expect(String((r.json as { detail: string }).detail)).not.toContain("non-finite");
    }
  });

  it("a body over the limit is 413", async () => {
    const big = JSON.stringify({ data: { x: 5, category: 2 }, pad: "x".repeat(1024 * 1024) });
    const r = await post(t.app, "point", big);
    expect(r.status).toBe(413);
    expect((r.json as { detail: string }).detail).toMatch(/too large/);
  });

  it("a wrong or missing content type is 415", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x"]) {
      const r = await t.app.inject({ method: "POST", url: "/predict/v1.0.0/point", payload: JSON.stringify(SEED_BODY), headers: { "content-type": type } });
      expect(r.statusCode, type).toBe(415);
      expect(r.json().detail).toMatch(/Unsupported Media Type/);
    }
    const none = await t.app.inject({ method: "POST", url: "/predict/v1.0.0/point", payload: Buffer.from(JSON.stringify(SEED_BODY)) });
    expect(none.statusCode).toBe(415);
    // JSON with a charset is fine.
    const utf8 = await post(t.app, "point", SEED_BODY, { "content-type": "application/json; charset=utf-8" });
    expect(utf8.status).toBe(200);
    expect((await post(t.app, "point", SEED_BODY, { "content-type": "application/json; charset=UTF8" })).status).toBe(200);
    // Another charset is refused as such (the body would be read as UTF-8 and blamed as malformed JSON).
    const utf16 = await t.app.inject({
      method: "POST",
      url: "/predict/v1.0.0/point",
      payload: Buffer.from(`\ufeff${JSON.stringify(SEED_BODY)}`, "utf16le"),
      headers: { "content-type": "application/json; charset=utf-16" },
    });
    expect(utf16.statusCode).toBe(415);
    expect(utf16.json().detail).toBe("Unsupported Media Type: charset=utf-16; send the JSON body as UTF-8 (charset=utf-8, or no charset)");
    // An ASCII-compatible label on an all-ASCII body reads the same (some Java and .NET clients send it); other
    // characters under such a label would be misread, and are refused.
    expect((await post(t.app, "point", SEED_BODY, { "content-type": "application/json; charset=ISO-8859-1" })).status).toBe(200);
    expect((await post(t.app, "point", SEED_BODY, { "content-type": "application/json; charset=us-ascii" })).status).toBe(200);
    const latin1 = await t.app.inject({
      method: "POST",
      url: "/predict/v1.0.0/point",
      payload: Buffer.from(JSON.stringify({ ...SEED_BODY, note: "café" }), "latin1"),
      headers: { "content-type": "application/json; charset=iso-8859-1" },
    });
    expect(latin1.statusCode).toBe(415);
  });

  it("deeply nested JSON is harmless: a clean 4xx, and the server keeps answering", async () => {
    const depth = 200_000;
    for (const text of [
      `{"data": ${"[".repeat(depth)}${"]".repeat(depth)}}`,
      `{"data": {"x": 5, "category": 2}, "deep": ${"[".repeat(depth)}${"]".repeat(depth)}}`,
      `{"data": {"x": ${'{"a":'.repeat(depth / 10)}1${"}".repeat(depth / 10)}, "category": 2}}`,
      `{"__proto__": ${"[".repeat(depth)}${"]".repeat(depth)}}`,
      `${"[".repeat(depth)}${"]".repeat(depth)}`,
    ]) {
      const r = await post(t.app, "point", text);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    }
    expect((await post(t.app, "point", SEED_BODY)).status).toBe(200);
  });

  it("__proto__ and constructor.prototype keys are refused (400) and pollute nothing", async () => {
    for (const text of [
      '{"__proto__": {"polluted": true}, "data": {"x": 5, "category": 2}}',
      '{"data": {"x": 5, "category": 2, "__proto__": {"x": 1e20}}}',
      '{"data": {"x": 5, "category": 2}, "constructor": {"prototype": {"polluted": true}}}',
    ]) {
      const r = await post(t.app, "point", text);
      expect(r.status, text).toBe(400);
      expect((r.json as { detail: string }).detail).toMatch(/__proto__ or constructor\.prototype/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await post(t.app, "point", SEED_BODY)).status).toBe(200);
  });

  it("batches: empty, too large, and errors located by index", async () => {
    expect(await expect422("point", { data: [] })).toEqual([
      { loc: ["body", "data"], msg: "ensure this value has at least 1 items", type: "value_error.list.min_items", ctx: { limit_value: 1 } },
    ]);
    const tooMany = Array.from({ length: 51 }, () => ({ x: 1, category: 0 }));
    expect((await expect422("point", { data: tooMany }))[0]).toMatchObject({
      loc: ["body", "data"],
      type: "value_error.list.max_items",
      ctx: { limit_value: 50 },
    });
    const d = await expect422("point", { data: [{ x: 1, category: 0 }, { x: 2, category: 9 }, { x: "3", category: 1 }, 7] });
    expect(d.map((e) => [e.loc, e.type])).toEqual([
      [["body", "data", 1, "category"], "value_error.category"],
      [["body", "data", 2, "x"], "type_error.float"],
      [["body", "data", 3], "type_error.dict"],
    ]);
  });

  it("a request asking for more than the per-request sample budget (instances × n_samples) is 422", async () => {
    const data = Array.from({ length: 21 }, () => ({ x: 1, category: 0 }));
    const d = await expect422("point", { data, algo_param: { n_samples: 100_000 } });
    expect(d).toEqual([
      {
        loc: ["body", "algo_param", "n_samples"],
        msg: "ensure n_samples × instances (100000 × 21 = 2100000) is at most 2000000",
        type: "value_error.request_samples",
        ctx: { limit_value: 2_000_000 },
      },
    ]);
  });

  it("a density request whose response would be too large (instances × bins) is 422", async () => {
    const data = Array.from({ length: 6 }, () => ({ x: 1, category: 0 }));
    expect(await expect422("density", { data, bins: 10_000 })).toEqual([
      {
        loc: ["body", "bins"],
        msg: "ensure bins × instances (10000 × 6 = 60000) is at most 50000",
        type: "value_error.response_size",
        ctx: { limit_value: 50_000 },
      },
    ]);
    expect((await post(t.app, "density", { data: data.slice(0, 5), bins: 10_000 })).status).toBe(200);
  });
});

describe("routing", () => {
  it("unknown paths are 404 and wrong methods 405, FastAPI-shaped", async () => {
    const nf = await t.app.inject({ method: "GET", url: "/nope" });
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toEqual({ detail: "Not Found" });
    const na = await t.app.inject({ method: "GET", url: "/predict/v1.0.0/point" });
    expect(na.statusCode).toBe(405);
    expect(na.json()).toEqual({ detail: "Method Not Allowed" });
    expect(na.headers.allow).toBe("POST");
    const v2 = await post(t.app, "median", SEED_BODY);
    expect(v2.status).toBe(404);
  });

  it("error responses carry the request id (the client's own when it sends one)", async () => {
    const r = await post(t.app, "point", { data: {} }, { "x-request-id": "client-abc-123" });
    expect(r.status).toBe(422);
    expect(r.headers["x-request-id"]).toBe("client-abc-123");
    const g = await post(t.app, "point", { data: {} });
    expect(String(g.headers["x-request-id"])).toMatch(/^[a-z0-9]+-[a-z0-9]+$/);
    // An id that is not a sane token is replaced by one of ours.
    const odd = await post(t.app, "point", { data: {} }, { "x-request-id": `${"x".repeat(200)}` });
    expect(String(odd.headers["x-request-id"])).toMatch(/^[a-z0-9]+-[a-z0-9]+$/);
  });
});

describe("no 5xx for anything a client can send", () => {
  it("random junk bodies never give a 5xx", async () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const atoms = [0, -1, 1.5, 1e308, -1e-308, 7, 2, "", "x", null, true, false, [], {}, 1e12, -1e12, 100000, 100001];
    const keys = [
      "data",
      "x",
      "category",
      "algo_param",
      "n_samples",
      "seed",
      "hdi_probability",
      "bins",
      "__proto__",
      "constructor",
      "prototype",
      "toString",
      "0",
    ];
    const value = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.45) return atoms[Math.floor(rand() * atoms.length)];
      if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = 0; i < 1 + Math.floor(rand() * 4); i++) o[keys[Math.floor(rand() * keys.length)]] = value(depth + 1);
      return o;
    };
    const kinds = ["point", "interval", "density"];
    for (let i = 0; i < 600; i++) {
      let text = JSON.stringify(value(0)) ?? "null";
      if (rand() < 0.1) text = text.slice(0, Math.floor(rand() * text.length));
      if (rand() < 0.05) text = text.replace(/1\.5/g, "NaN").replace(/7/g, "-Infinity");
      const r = await post(t.app, kinds[i % 3], text);
      expect(r.status, text).toBeLessThan(500);
      if (r.status === 200) {
        expect(r.body).not.toMatch(/NaN|Infinity|null/);
      }
    }
  });
});
