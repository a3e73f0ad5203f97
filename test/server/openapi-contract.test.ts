// The request schemas /openapi.json documents state exactly what the server accepts: a client that validates a body
// against the document gets the server's verdict (200 or 422) for it. Unseen levels of a category are the case where
// the two could differ, since what the server accepts there depends on allow_new_levels and `serve --allow-new-levels`.
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, schoolsBundle, schoolsModel, tempStore, testApp, type TempStore, type TestApp } from "./fixtures.js";

const schools = schoolsModel({ lower: 0 });

type OpenApi = {
  paths: Record<
    string,
    {
      post: {
        requestBody: { content: { "application/json": { schema: object } } };
        responses: Record<string, { content?: { "application/json"?: { schema: object } } }>;
      };
    }
  >;
};

let store: TempStore;
const apps: Record<"byRequest" | "byDefault", TestApp | null> = { byRequest: null, byDefault: null };

beforeAll(async () => {
  store = tempStore();
  await store.store.publish(schoolsBundle(schools, 200));
  apps.byRequest = await testApp(store.store);
  apps.byDefault = await testApp(store.store, { allowNewLevels: true });
});

afterAll(async () => {
  for (const t of Object.values(apps)) await t?.close();
  store.cleanup();
});

const BODIES: Record<string, unknown>[] = [
  { data: { hours: 5, school: 3 } },
  { data: { hours: 5, school: 4 } },
  { data: { hours: 5, school: 9 }, allow_new_levels: true },
  { data: { hours: 5, school: 9 }, allow_new_levels: false },
  { data: { hours: 5, school: 2 }, allow_new_levels: false },
  {
    data: [
      { hours: 5, school: 1 },
      { hours: 0, school: 7 },
    ],
    allow_new_levels: true,
  },
  {
    data: [
      { hours: 5, school: 1 },
      { hours: 0, school: 7 },
    ],
  },
  { data: { hours: -1, school: 9 }, allow_new_levels: true },
  { data: { hours: 5, school: -1 }, allow_new_levels: true },
  { data: { hours: 5, school: 2.5 }, allow_new_levels: true },
];

describe("/openapi.json's request schemas", () => {
  for (const which of ["byRequest", "byDefault"] as const) {
    it(`accept and refuse what the server does, unseen levels included (${which === "byDefault" ? "serve --allow-new-levels" : "allow_new_levels in the request"})`, async () => {
      const t = apps[which]!;
      const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json() as OpenApi;
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      for (const kind of ["point", "interval", "density", "mean"]) {
        const validate = ajv.compile(doc.paths[`/predict/v1.0.0/${kind}`].post.requestBody.content["application/json"].schema);
        for (const body of BODIES) {
          const r = await post(t.app, kind, body);
          expect([200, 422], r.body).toContain(r.status);
          expect(validate(body), `${kind} ${JSON.stringify(body)}: the server answered ${r.status} ${r.body}`).toBe(r.status === 200);
        }
      }
    });
  }
});

describe("/openapi.json's responses", () => {
  it("document every status a prediction or inference route answers a malformed, oversized or non-JSON body with", async () => {
    const t = apps.byRequest!;
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json() as OpenApi;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const bodies: [string, Record<string, string>][] = [
      ["{bad", { "content-type": "application/json" }],
      ["{}", { "content-type": "text/plain" }],
      [`{"data": "${"x".repeat(1_100_000)}"}`, { "content-type": "application/json" }],
    ];
    const routes = ["/predict/v1.0.0/point", "/predict/v1.0.0/interval", "/predict/v1.0.0/density", "/predict/v1.0.0/mean", "/v2/models/{model_name}/infer"];
    for (const route of routes) {
      for (const [payload, headers] of bodies) {
        const r = await t.app.inject({ method: "POST", url: route.replace("{model_name}", "schools"), payload, headers });
        expect(r.statusCode).toBeGreaterThanOrEqual(400);
        const documented = doc.paths[route].post.responses[String(r.statusCode)];
        expect(documented, `${route} answers ${r.statusCode} (${r.body}), which /openapi.json does not list`).toBeDefined();
        const validate = ajv.compile(documented.content!["application/json"]!.schema);
        expect(validate(r.json()), `${route} ${r.statusCode}: ${r.body}`).toBe(true);
      }
    }
  });

  it("document the V2 readiness routes' statuses: 200, 400 when not ready, 404 for a model not served", async () => {
    const t = apps.byRequest!;
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<string, { get: { responses: Record<string, unknown> } }>;
    };
    const listed = (route: string) => Object.keys(doc.paths[route].get.responses).sort();
    expect(listed("/v2/health/ready")).toEqual(["200", "400"]);
    expect(listed("/v2/models/{model_name}/ready")).toEqual(["200", "400", "404"]);
    expect(listed("/v2/models/{model_name}/versions/{model_version}/ready")).toEqual(["200", "400", "404"]);
    expect((await t.app.inject({ method: "GET", url: "/v2/models/schools/ready" })).statusCode).toBe(200);
    expect((await t.app.inject({ method: "GET", url: "/v2/models/other/ready" })).statusCode).toBe(404);
  });
});
