// `--model s3://…` and `https://…`: a model's JSON form or one self-contained model file read as the data are, so
// that a Kubernetes Job trains a user's model without an image of its own; a prefix, another kind of object, an
// object too large to be a model and a relative import are refused, naming the URI.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3Settings } from "../../src/artifact/s3-store.js";
import { Model } from "../../src/model/index.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { MAX_REMOTE_MODEL_BYTES, resolveModel } from "../../src/train/models.js";
import { refusal } from "../support/refusal.js";
import { useS3Server } from "../support/s3-server.js";

const MODEL_TS = `
import { model, Normal, PoissonLog } from "bayes-serve";
const exposureTerm = (m: any) => m.data("exposure", { lower: 0 }).log();
export default model("counts", (m) => {
  const a = m.param("a", Normal(0, 2));
  m.observe("obs", PoissonLog(exposureTerm(m).add(a)), m.data("y", { kind: "integer" }));
});
`;

describe("a model read from S3", () => {
  const s3 = useS3Server({ buckets: ["models"], setProcessEnv: true });
  beforeAll(async () => {
    const client = new S3Client(s3Settings({ env: s3.current.env }).config);
    const put = (key: string, body: string) => client.send(new PutObjectCommand({ Bucket: "models", Key: key, Body: body }));
    await put("claims/model.ts", MODEL_TS);
    await put("seed.json", JSON.stringify(seedRegression.json));
    await put("relative.ts", `import { A } from "./a";\nexport default A;\n`);
    await put("huge.js", "//" + "x".repeat(MAX_REMOTE_MODEL_BYTES));
    await put("broken.json", "{ not json");
  });

  it("loads a TypeScript model file and a model's JSON form", async () => {
    const counts = await resolveModel("s3://models/claims/model.ts");
    expect(counts).toBeInstanceOf(Model);
    expect(counts.name).toBe("counts");
    expect((await resolveModel("s3://models/seed.json")).json).toEqual(seedRegression.json);
  });

  it("refuses a prefix, another kind of object, a missing one, a huge one, bad JSON and a relative import, naming the URI", async () => {
    expect((await refusal(resolveModel("s3://models/claims/"))).message).toBe("--model s3://models/claims/: name one object (a model file), not a prefix");
    expect((await refusal(resolveModel("s3://models/data.csv"))).message).toMatch(
      /^--model s3:\/\/models\/data\.csv: a model object must be a model's JSON form/,
    );
    expect((await refusal(resolveModel("s3://models/none.ts"))).message).toMatch(/^s3:\/\/models\/none\.ts: /);
    expect((await refusal(resolveModel("s3://models/huge.js"))).message).toBe(
      `--model s3://models/huge.js: more than ${MAX_REMOTE_MODEL_BYTES} bytes: not a model file`,
    );
    expect((await refusal(resolveModel("s3://models/broken.json"))).message).toMatch(/^s3:\/\/models\/broken\.json: not valid JSON/);
    expect((await refusal(resolveModel("s3://models/relative.ts"))).message).toMatch(
      /^s3:\/\/models\/relative\.ts: relative\.ts:1:\d+: Could not resolve "\.\/a"/,
    );
  });
});

describe("a model read over HTTPS (here HTTP on loopback)", () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/m.mts") res.end(MODEL_TS);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("loads it, and names the URL of one that is not there; a model is not fetched over http:// from another host", async () => {
    expect((await resolveModel(`${base}/m.mts`)).name).toBe("counts");
    expect((await refusal(resolveModel("http://models.example.com/m.ts"))).message).toBe(
      "--model http://models.example.com/m.ts: a model is code that training runs; fetch it over https:// (or s3://), not http://",
    );
    expect((await refusal(resolveModel(`${base}/gone.ts`))).message).toBe(`${base}/gone.ts: HTTP 404 Not Found`);
  });
});
