// The fast lane (src/server/fast-lane.ts) answers light, valid predictions without Fastify's request lifecycle. Over
// real HTTP, every answer must be the one Fastify gives for the same request (inject, which never reaches the lane):
// the same status, content type and body — seeded, so the numbers are comparable — for the happy path it takes and
// for every request it leaves or hands back to Fastify; and the metrics must count both alike.
import { connect } from "node:net";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/server/server.js";
import { problemResponse } from "../../src/server/errors.js";
import { LaneRoutes, type LaneHandler } from "../../src/server/fast-lane.js";
import { isRequestCounter, metricsPlugin, RequestMetrics } from "../../src/server/metrics.js";
import type { ModelHolder } from "../../src/server/model-holder.js";
import { PREDICTION_KINDS } from "../../src/server/schemas.js";
import { LogCapture, storeWithSeedModel, type TempStore, startTestServer } from "./fixtures.js";

let store: TempStore & { version: string };
let server: RunningServer;

beforeAll(async () => {
  store = await storeWithSeedModel();
  server = await startTestServer(store.dir, { workers: 1, bodyLimit: 4096 });
});

afterAll(async () => {
  await server.close();
  store.cleanup();
});

interface Case {
  name: string;
  path?: string;
  body: string | Buffer;
  type?: string;
  /** True when the fast lane itself should answer. */
  fast: boolean;
}

const SEEDED = (extra: Record<string, unknown> = {}, data: unknown = { x: 5, category: 2 }): string =>
  JSON.stringify({
    data,
    algo_param: { seed: 42, ...(extra.algo_param as object) },
    ...extra,
    ...(extra.algo_param ? { algo_param: { seed: 42, ...(extra.algo_param as object) } } : {}),
  });

const CASES: Case[] = [
  { name: "interval, seeded", body: SEEDED(), fast: true },
  { name: "point, seeded", path: "/predict/v1.0.0/point", body: SEEDED(), fast: true },
  { name: "density, seeded, 7 bins", path: "/predict/v1.0.0/density", body: SEEDED({ bins: 7 }), fast: true },
  {
    name: "interval, batch, hdi 0.8",
    body: SEEDED({ hdi_probability: 0.8 }, [
      { x: 1, category: 0 },
      { x: 5.5, category: 2 },
      { x: -3, category: 1 },
    ]),
    fast: true,
  },
  {
    name: "mean, batch, hdi 0.9",
    path: "/predict/v1.0.0/mean",
    body: JSON.stringify({
      data: [
        { x: 1, category: 0 },
        { x: 5, category: 2 },
      ],
      hdi_probability: 0.9,
    }),
    fast: true,
  },
  { name: "mean with algo_param (422: no sampling)", path: "/predict/v1.0.0/mean", body: SEEDED(), fast: false },
  { name: "charset in the content type", body: SEEDED(), type: "application/json; charset=utf-8", fast: true },
  { name: "content type in capitals", body: SEEDED(), type: "Application/JSON; Charset=UTF-8", fast: true },
  { name: "another charset", body: SEEDED(), type: "application/json; charset=latin1", fast: false },
  { name: "query string", path: "/predict/v1.0.0/interval?debug=1", body: SEEDED(), fast: false },
  // Not UTF-8 (0xFF): decoded to U+FFFD as Fastify decodes it, and given to Fastify as the bytes that came.
  {
    name: "a byte that is not UTF-8 (422)",
    body: Buffer.concat([Buffer.from('{"data": {"x": 5, "category": "'), Buffer.from([0xff]), Buffer.from('"}}')]),
    fast: false,
  },
  { name: "category outside the levels (422)", body: SEEDED({}, { x: 5, category: 7 }), fast: false },
  { name: "missing field (422)", body: '{"data": {"x": 5}}', fast: false },
  { name: "n_samples 0 (422)", body: SEEDED({ algo_param: { n_samples: 0 } }), fast: false },
  { name: "NaN literal (422)", body: '{"data": {"x": NaN, "category": 2}}', fast: false },
  { name: "malformed JSON (400)", body: '{"data": {"x": 5,', fast: false },
  { name: "__proto__ key (400)", body: '{"data": {"x": 5, "category": 2}, "__proto__": {"a": 1}}', fast: false },
  // Parsed as Fastify parses it (secure-json-parse): an escaped key that spells neither __proto__ nor constructor is
  // an ordinary key.
  { name: "escaped key", body: '{"d\\u0061ta": {"x": 5, "category": 2}, "algo_param": {"seed": 3}}', fast: true },
  { name: "escaped __proto__ key (400)", body: '{"data": {"x": 5, "category": 2}, "\\u005f_proto__": {"a": 1}}', fast: false },
  { name: "wrong content type (415)", body: SEEDED(), type: "text/plain", fast: false },
  { name: "body over the limit (413)", body: JSON.stringify({ data: Array.from({ length: 400 }, () => ({ x: 1, category: 1 })) }), fast: false },
  // Heavy requests are the fast lane's too: their admission and memory are the real connection's, not inject's.
  { name: "heavy request (the worker)", body: SEEDED({ algo_param: { n_samples: 30_000 } }), fast: true },
  { name: "heavy density, many bins (the worker)", path: "/predict/v1.0.0/density", body: SEEDED({ bins: 3000 }), fast: true },
  { name: "unknown route (404)", path: "/predict/v1.0.0/nothing", body: SEEDED(), fast: false },
];

/** A body fetch sends as it is, bytes included. */
const sendable = (body: string | Buffer): string | Blob => (typeof body === "string" ? body : new Blob([new Uint8Array(body)]));

async function overHttp(c: Case): Promise<{ status: number; type: string | null; body: string }> {
  const r = await fetch(`${server.url}${c.path ?? "/predict/v1.0.0/interval"}`, {
    method: "POST",
    headers: { "content-type": c.type ?? "application/json" },
    body: sendable(c.body),
  });
  return { status: r.status, type: r.headers.get("content-type"), body: await r.text() };
}

async function viaInject(c: Case): Promise<{ status: number; type: string | null; body: string }> {
  const r = await server.app.inject({
    method: "POST",
    url: c.path ?? "/predict/v1.0.0/interval",
    headers: { "content-type": c.type ?? "application/json" },
    payload: c.body,
  });
  return { status: r.statusCode, type: (r.headers["content-type"] as string | undefined) ?? null, body: r.body };
}

describe("the fast lane", () => {
  it("engages for the app as built, where Fastify too runs no hook on the POST routes but the metrics count", async () => {
    await overHttp(CASES[0]);
    expect(server.fastLane).not.toBeNull();
    expect(server.fastLane!.blocker).toBeNull();
    // Fastify's own view, which the lane does not read: if this fails, a hook was added to the app around
    // LaneRoutes.hook (with addHook directly), and the lane would skip it. Add it through LaneRoutes.hook instead.
    const table = server.app.printRoutes({ includeHooks: true, commonPrefix: false, method: "POST" });
    const hooks = table.split("\n").filter((l) => l.includes("• "));
    expect(hooks.length).toBeGreaterThanOrEqual(6); // the four prediction routes and the two infer routes
    for (const line of hooks) expect(line.replace(/^[│ ]*• /, "")).toBe('(onResponse) ["countRequest()"]');
  });

  for (const c of CASES) {
    it(`answers as Fastify does: ${c.name}`, async () => {
      const before = server.fastLane!.answered;
      const http = await overHttp(c);
      const fastified = await viaInject(c);
      expect(server.fastLane!.answered - before, "answered by the fast lane").toBe(c.fast ? 1 : 0);
      expect(http.status).toBe(fastified.status);
      expect(http.type).toBe(fastified.type);
      expect(http.body).toBe(fastified.body);
      expect(http.status).toBeLessThan(500);
    });
  }

  it("counts its requests in /metrics like Fastify's, by route and status", async () => {
    const count = async (): Promise<number> => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const line = text
        .split("\n")
        .find((l) => l.startsWith("bayes_serve_http_requests_total{") && l.includes('route="/predict/v1.0.0/point"') && l.includes('status_code="200"'));
      return line === undefined ? 0 : Number(line.split(" ").pop());
    };
    const before = await count();
    for (let i = 0; i < 5; i++) await overHttp({ name: "", path: "/predict/v1.0.0/point", body: '{"data": {"x": 1, "category": 1}}', fast: true });
    expect((await count()) - before).toBe(5);
  });

  it("leaves every request to Fastify while each is to be logged (--log-level debug), so none goes unlogged", async () => {
    const logs = new LogCapture();
    const debug = await startTestServer(store.dir, { logStream: logs.stream, logLevel: "debug", workers: 0 });
    try {
      const r = await fetch(`${debug.url}/predict/v1.0.0/interval`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "fast-lane-test" },
        body: sendable(CASES[0].body),
      });
      expect(r.status).toBe(200);
      await debug.close();
      expect(debug.fastLane!.answered).toBe(0);
      expect(logs.lines.some((l) => l.msg === "request" && l.reqId === "fast-lane-test" && l.status === 200)).toBe(true);
    } finally {
      await debug.close();
    }
  });

  it("finishes a request whose body is still arriving when the server closes, as Fastify would", async () => {
    const s = await startTestServer(store.dir, { workers: 1 });
    const { port } = new URL(s.url);
    // Headers and a few bytes, then close(), then the rest: a 422 (Fastify's, through inject) and a heavy request.
    const answers = Promise.all(
      ['{"data": {"x": 5, "category": 7}}', '{"data": {"x": 5, "category": 2}, "algo_param": {"n_samples": 30000, "seed": 1}}'].map(
        (body) =>
          new Promise<string>((resolve) => {
            const socket = connect(Number(port), "127.0.0.1");
            let response = "";
            socket.on("data", (d: Buffer) => (response += d.toString()));
            socket.on("close", () => resolve(response.split("\r\n")[0]));
            socket.write(
              `POST /predict/v1.0.0/interval HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
            );
            setTimeout(() => socket.write(body.slice(5)), 150);
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 50));
    await s.close();
    expect(await answers).toEqual(["HTTP/1.1 422 Unprocessable Entity", "HTTP/1.1 200 OK"]);
  });

  it("is off when switched off, and the answers are the same", async () => {
    const off = await startTestServer(store.dir, { workers: 0, fastLane: false });
    try {
      expect(off.fastLane).toBeNull();
      const request = { method: "POST", headers: { "content-type": "application/json" }, body: sendable(CASES[0].body) };
      const [slow, fast] = await Promise.all([fetch(`${off.url}/predict/v1.0.0/interval`, request), fetch(`${server.url}/predict/v1.0.0/interval`, request)]);
      expect(await fast.text()).toBe(await slow.text());
      // The same headers, the connection's included (Fastify's keep-alive timeout, not Node's default).
      const headers = (r: Response): [string, string][] => [...r.headers.entries()].filter(([k]) => k !== "date");
      expect(headers(fast)).toEqual(headers(slow));
    } finally {
      await off.close();
    }
  });
});

describe("LaneRoutes: the lane engages only for routes declared through it, with no hook it cannot run", () => {
  const holder = { current: null, onSwap: () => undefined, onFailure: () => undefined } as unknown as ModelHolder;
  const handler: LaneHandler = {
    prepare: () => {
      throw new Error("not asked in this test");
    },
    problem: problemResponse,
  };
  type Variant = "plain" | "route hook" | "app hook" | "constrained" | "static beside" | "wildcard" | "get beside";
  async function blocker(variant: Variant): Promise<string | null> {
    const a = Fastify();
    const lane = new LaneRoutes(isRequestCounter);
    lane.watch(a);
    await a.register(metricsPlugin, { holder, requests: new RequestMetrics(), processMetrics: false });
    if (variant === "app hook") lane.hook(a, "onRequest", async function auth() {});
    await a.register(async (scope) => {
      for (const k of PREDICTION_KINDS) {
        const hooks = variant === "route hook" && k === "interval" ? { preHandler: async function auth() {} } : {};
        lane.route(scope, { method: "POST", url: `/predict/v1.0.0/${k}`, handler: async () => k, ...hooks }, handler);
      }
      lane.route(scope, { method: "POST", url: "/v2/models/:model_name/infer", handler: async () => "v2" }, handler);
    });
    if (variant === "constrained") a.post("/predict/v1.0.0/interval", { constraints: { version: "2.0.0" } }, async () => "v2");
    if (variant === "static beside") a.post("/v2/models/special/infer", async () => "special");
    if (variant === "wildcard") a.post("/predict/*", async () => "any");
    if (variant === "get beside") a.get("/v2/models/special/infer", async () => "a GET");
    await a.ready();
    return lane.table(() => () => undefined).blocker;
  }

  it("engages for routes whose one hook is the metrics count, beside routes of other methods", async () => {
    expect(await blocker("plain")).toBeNull();
    expect(await blocker("get beside")).toBeNull();
  });

  it("stays off for a hook it cannot run: on a route, or on the app", async () => {
    expect(await blocker("route hook")).toMatch(/preHandler hook/);
    expect(await blocker("app hook")).toMatch(/onRequest/);
  });

  it("stays off where another POST route could take some of its requests: a constrained twin, a static route, a wildcard", async () => {
    expect(await blocker("constrained")).not.toBeNull();
    expect(await blocker("static beside")).toMatch(/special/);
    expect(await blocker("wildcard")).toMatch(/\*/);
  });
});
