// GET /model, the OpenAPI document and Swagger UI, Prometheus metrics, health probes before and after a model is
// loaded, and the logs: JSON, with a request id, and nothing secret.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, SEED_BODY, storeWithSeedModel, tempStore, testApp, type TempStore, type TestApp } from "./fixtures.js";

let store: TempStore & { version: string };
let t: TestApp;

beforeAll(async () => {
  store = await storeWithSeedModel();
  t = await testApp(store.store, { level: "debug", processMetrics: true });
});

afterAll(async () => {
  await t.close();
  store.cleanup();
});

describe("GET /model", () => {
  it("gives the version, metrics, diagnostics summary, feature schema and limits", async () => {
    const r = await t.app.inject({ method: "GET", url: "/model" });
    expect(r.statusCode).toBe(200);
    const m = r.json() as Record<string, unknown> & { diagnostics: { summary: { parameter: string; r_hat: number }[] } };
    expect(m.version).toBe(store.version);
    expect(m.model).toEqual({ name: "seed-regression", observation: "obs", target: "y" });
    expect(m.features).toEqual([
      { name: "x", type: "float" },
      { name: "category", type: "category", levels: 3 },
    ]);
    expect(m.parameters).toEqual(["beta[0]", "beta[1]", "beta[2]", "sigma"]);
    expect(m.draws).toEqual({ chains: 2, draws_per_chain: 300 });
    expect(m.metrics).toEqual({ mape: 0.3886, rmse: 0.76, coverage_95: 0.95 });
    expect(m.diagnostics.summary.map((row) => row.parameter)).toEqual(["beta[0]", "beta[1]", "beta[2]", "sigma"]);
    expect(m.diagnostics.summary[0].r_hat).toBeGreaterThan(0.99);
    expect(m.gate).toEqual({ passed: true, failures: [] });
    expect(m.limits).toEqual({ maxSamples: 100_000, maxBins: 10_000, maxBatch: 1_000, maxRequestSamples: 10_000_000, maxDensityValues: 200_000 });
    expect(typeof m.created_at).toBe("string");
    // Where the model is stored is for operators (the log), not for every client.
    expect(m.store).toBeUndefined();
    expect(r.body).not.toContain(store.dir);
  });
});

describe("docs", () => {
  it("/openapi.json is OpenAPI 3.1 with the three endpoints, the model's request schema and examples", async () => {
    const r = await t.app.inject({ method: "GET", url: "/openapi.json" });
    expect(r.statusCode).toBe(200);
    const doc = r.json() as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            requestBody?: { content: Record<string, { schema: Record<string, unknown>; examples: Record<string, { value: unknown }> }> };
            responses: Record<string, unknown>;
          }
        >
      >;
    };
    expect(doc.openapi).toBe("3.1.0");
    for (const kind of ["point", "interval", "density"]) {
      const op = doc.paths[`/predict/v1.0.0/${kind}`].post;
      const media = op.requestBody?.content["application/json"];
      const schema = JSON.stringify(media?.schema);
      expect(schema).toContain('"category"');
      expect(schema).toContain('"maximum":2');
      expect(schema).toContain('"n_samples"');
      expect(media?.examples.single.value).toMatchObject({ data: { x: 5, category: 2 } });
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", "422", "503"]));
    }
    expect(JSON.stringify(doc.paths["/predict/v1.0.0/interval"].post.requestBody)).toContain("hdi_probability");
    expect(JSON.stringify(doc.paths["/predict/v1.0.0/density"].post.requestBody)).toContain('"bins"');
    expect(doc.paths["/model"]).toBeDefined();
    expect(doc.paths["/health/ready"]).toBeDefined();
  });

  it("/docs serves Swagger UI", async () => {
    const r = await t.app.inject({ method: "GET", url: "/docs" });
    const page = r.statusCode === 302 ? await t.app.inject({ method: "GET", url: String(r.headers.location) }) : r;
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/swagger/i);
    const json = await t.app.inject({ method: "GET", url: "/docs/json" });
    expect(json.statusCode).toBe(200);
    expect(JSON.stringify(json.json())).toContain("/predict/v1.0.0/point");
  });
});

describe("metrics", () => {
  it("count requests by route and status, time them, and name the model version", async () => {
    await post(t.app, "interval", SEED_BODY);
    await post(t.app, "interval", SEED_BODY);
    await post(t.app, "interval", { data: { x: 5, category: 7 } });
    await t.app.inject({ method: "GET", url: "/nope" });
    const r = await t.app.inject({ method: "GET", url: "/metrics" });
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toMatch(/text\/plain/);
    const text = r.body;
    expect(text).toMatch(/bayes_serve_http_requests_total\{method="POST",route="\/predict\/v1\.0\.0\/interval",status_code="200",protocol="v1"\} 2/);
    expect(text).toMatch(/bayes_serve_http_requests_total\{method="POST",route="\/predict\/v1\.0\.0\/interval",status_code="422",protocol="v1"\} 1/);
    expect(text).toMatch(/bayes_serve_http_requests_total\{method="GET",route="unmatched",status_code="404",protocol="v1"\} 1/);
    expect(text).toMatch(
      /bayes_serve_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/predict\/v1\.0\.0\/interval",status_code="200",protocol="v1"\} \d/,
    );
    expect(text).toMatch(
      /bayes_serve_http_request_duration_seconds_count\{method="POST",route="\/predict\/v1\.0\.0\/interval",status_code="200",protocol="v1"\} 2/,
    );
    expect(text).toContain(`bayes_serve_model_info{version="${store.version}",model="seed-regression"} 1`);
    expect(text).toMatch(/bayes_serve_model_loaded_timestamp_seconds \d+/);
    expect(text).toMatch(/bayes_serve_process_resident_memory_bytes \d+/);
  });
});

describe("health", () => {
  it("live always; ready only once a model is loaded; predictions 503 until then", async () => {
    const empty = tempStore();
    const app = await testApp(empty.store, { load: false });
    try {
      expect((await app.app.inject({ method: "GET", url: "/health/live" })).json()).toEqual({ status: "alive" });
      const notReady = await app.app.inject({ method: "GET", url: "/health/ready" });
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json()).toEqual({ status: "loading" });
      const p = await post(app.app, "point", SEED_BODY);
      expect(p.status).toBe(503);
      expect(p.json).toEqual({ detail: "No model is loaded yet; see /health/ready" });
      expect(p.headers["retry-after"]).toBe("1");
      expect((await app.app.inject({ method: "GET", url: "/model" })).statusCode).toBe(503);
      // A check finds nothing to load and stays not ready.
      expect(await app.holder.check()).toBe("unchanged");
      expect((await app.app.inject({ method: "GET", url: "/health/ready" })).statusCode).toBe(503);

      // A model appears in the store, but its draws are missing: not ready, saying why without saying where.
      const { seedBundle } = await import("./fixtures.js");
      const version = await empty.store.publish(await seedBundle());
      const draws = join(empty.dir, "versions", version, "draws.bin");
      const bytes = await fs.readFile(draws);
      await fs.rm(draws);
      expect(await app.holder.check()).toBe("failed");
      const damaged = await app.app.inject({ method: "GET", url: "/health/ready" });
      expect(damaged.statusCode).toBe(503);
      expect(damaged.json()).toEqual({
        status: "loading",
        detail: `version ${version} cannot be loaded: the version is damaged or cannot be served (details in the server log); retrying`,
      });
      expect(damaged.body).not.toContain(empty.dir);
      expect(app.logs.lines.find((l) => l.level === "error")).toMatchObject({ version, err: { message: expect.stringContaining(draws) } });

      // The file comes back; the next check loads it.
      await fs.writeFile(draws, bytes);
      expect(await app.holder.check()).toBe("swapped");
      const ready = await app.app.inject({ method: "GET", url: "/health/ready" });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({ status: "ready", version });
      expect((await post(app.app, "point", SEED_BODY)).status).toBe(200);
    } finally {
      await app.close();
      empty.cleanup();
    }
  });
});

describe("logs", () => {
  it("are JSON lines with the request id, and never hold credentials", async () => {
    const secret = "Bearer sk-live-0123456789abcdef";
    const awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    t.logs.lines.length = 0;
    t.logs.raw.length = 0;
    await post(t.app, "point", { data: { x: 5, category: 9 } }, { authorization: secret, "x-request-id": "trace-1", cookie: `session=${awsSecret}` });
    await post(t.app, "point", SEED_BODY, { authorization: secret, "x-amz-security-token": awsSecret, "x-request-id": "trace-2" });
    // A handler that logs a request object in full must still not leak its headers.
    t.logger.info(
      { req: { headers: { authorization: secret, "x-api-key": awsSecret } }, AWS_SECRET_ACCESS_KEY: awsSecret, env: { AWS_SECRET_ACCESS_KEY: awsSecret } },
      "probe",
    );
    const all = t.logs.raw.join("\n");
    expect(all).not.toContain("sk-live");
    expect(all).not.toContain(awsSecret);
    const clientError = t.logs.lines.find((l) => l.msg === "client error");
    expect(clientError).toMatchObject({ reqId: "trace-1", level: "info", status: 422 });
    const access = t.logs.lines.filter((l) => l.msg === "request");
    expect(access.map((l) => [l.reqId, l.status])).toEqual([
      ["trace-1", 422],
      ["trace-2", 200],
    ]);
    expect(access[1]).toMatchObject({ level: "debug", method: "POST", url: "/predict/v1.0.0/point", service: "bayes-serve" });
    expect(typeof access[1].time).toBe("string");
  });
});
