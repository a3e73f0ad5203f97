// Two scheduled retraining runs of examples/deploy/retrain-from-s3.yaml against a real S3-compatible server (s3rver),
// with the scoring service running after the first: each run executes the command its rendered training Job would run (the Job's
// container args, the bucket swapped for the test's, shorter chains). Day 1's fit is promoted and the service
// hot-reloads it; on day 2 the model was changed to a worse one, the fit is stored but refused (exit 3), and the
// service keeps serving day 1's version. No Kubernetes here: the Job's own behaviour on exit 3 is the fake API
// server's concern (orchestrate.test.ts).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3Settings } from "../../src/artifact/s3-store.js";
import { openStore } from "../../src/artifact/store.js";
import { loadPipelineFile } from "../../src/deploy/pipeline.js";
import { renderBatchStage } from "../../src/deploy/render.js";
import { EXIT_NOT_PROMOTED } from "../../src/train/promotion.js";
import { SEED_SIMULATION, seedCsv } from "../../src/train/simulate.js";
import { useS3Server } from "../support/s3-server.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "src/cli/main.ts");
const s3 = useS3Server({ buckets: ["your-bucket"], setProcessEnv: false });
const dir = mkdtempSync(join(tmpdir(), "retraining-runs-"));
const SHORT = ["--draws", "400", "--tune", "400", "--seed", "5"];

const dayCsv = (seed: number): string => seedCsv({ ...SEED_SIMULATION, rows: 800, seed });

/** The command the training Job of this pipeline file runs. */
function trainingArgs(file: string): string[] {
  const { pipeline } = loadPipelineFile(file);
  const stage = pipeline.stages.train;
  if (stage.type !== "batch") throw new Error("train is not a batch stage");
  const job = renderBatchStage(pipeline, stage, { gitCommit: "abc1234", runId: "r1" });
  return job.job.spec!.template.spec!.containers[0].args!;
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    child.once("exit", (code) => resolve({ code, stderr }));
  });
}

async function servedVersion(url: string): Promise<string | null> {
  const res = await fetch(`${url}/model`).catch(() => null);
  if (res === null || res.status !== 200) return null;
  return ((await res.json()) as { version: string }).version;
}

async function waitFor<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  let last = await probe();
  while (!ok(last)) {
    if (Date.now() > until) throw new Error(`${what}: still ${JSON.stringify(last)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 250));
    last = await probe();
  }
  return last;
}

describe("scheduled retraining from S3 data, two runs", () => {
  let server: ChildProcess | undefined;
  let url = "";
  let serverLog = "";
  let client: S3Client;
  const put = (key: string, body: string) => client.send(new PutObjectCommand({ Bucket: "your-bucket", Key: key, Body: body }));

  beforeAll(() => {
    client = new S3Client(s3Settings({ env: s3.current.env }).config);
  });

  /** The scoring service, started after the first training run as the pipeline's DAG orders them. */
  async function startService(): Promise<void> {
    server = spawn(
      process.execPath,
      ["--import", "tsx", CLI, "serve", "--model", "s3://your-bucket/bayes-serve", "--port", "0", "--host", "127.0.0.1", "--poll-interval", "1"],
      {
        cwd: ROOT,
        env: { ...process.env, ...s3.current.env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    server.stderr?.on("data", (d: Buffer) => (serverLog += d.toString()));
    url = await new Promise<string>((resolve, reject) => {
      server!.stdout!.on("data", (d: Buffer) => {
        serverLog += d.toString();
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(serverLog);
        if (m !== null) resolve(m[1]);
      });
      server!.once("exit", (code) => reject(new Error(`serve exited ${code}: ${serverLog}`)));
    });
  }

  afterAll(() => {
    server?.kill("SIGKILL");
  });

  it("promotes day 1's fit and serves it; stores day 2's worse model without promoting it, and keeps serving day 1's", async () => {
    const args = trainingArgs(join(ROOT, "examples/deploy/retrain-from-s3.yaml"));
    expect(args).toEqual(["train", "--data", "s3://your-bucket/data/daily/", "--store", "s3://your-bucket/bayes-serve", "--warm-start", "latest"]);
    const store = openStore("s3://your-bucket/bayes-serve", { env: s3.current.env });

    await put("data/daily/2026-12-05.csv", dayCsv(1));
    const day1 = await run([...args, ...SHORT], s3.current.env);
    expect(day1.code, day1.stderr).toBe(0);
    expect(day1.stderr).toMatch(/warm start: none, a cold start \(.*\)/); // nothing published yet
    const v1 = await store.readLatest();
    expect(v1).not.toBeNull();
    expect((await store.readManifest(v1!)).data.objects?.map((o) => o.uri)).toEqual(["s3://your-bucket/data/daily/2026-12-05.csv"]);
    await startService();
    await waitFor(
      "the service's version after day 1",
      () => servedVersion(url),
      (v) => v === v1,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nserver log:\n${serverLog.slice(-3000)}`);
    });

    // Day 2: new data, and someone replaced the model with one slope for every category (an intercept for each: the
    // same requests as the seed's model, so that the comparison decides).
    await put("data/daily/2026-12-06.csv", dayCsv(2));
    const oneSlope = join(dir, "one-slope.ts");
    writeFileSync(
      oneSlope,
      `import { model, Normal, HalfNormal } from "bayes-serve";
export default model("one-slope", (m) => {
  const x = m.data("x");
  const category = m.data("category", { levels: 3 });
  const alpha = m.param("alpha", Normal(0, 2), { shape: 3 });
  const beta = m.param("beta", Normal(0, 2));
  const sigma = m.param("sigma", HalfNormal(2));
  m.observe("obs", Normal(alpha.at(category).add(beta.mul(x)), sigma), m.data("y"));
});
`,
    );
    const day2 = await run([...args, ...SHORT, "--model", oneSlope], s3.current.env);
    expect(day2.code, day2.stderr).toBe(EXIT_NOT_PROMOTED);
    expect(day2.stderr).toMatch(/warm start: none, a cold start \(.*\)/); // another model: latest's metric does not apply
    expect(day2.stderr).toMatch(/predicts worse than \S+: elpd -\d+\.\d+ \(SE \d+\.\d+\)/);
    const versions = (await store.list()).map((v) => v.version);
    expect(versions).toHaveLength(2);
    const v2 = versions.find((v) => v !== v1)!;
    const m2 = await store.readManifest(v2);
    expect(m2.gate.passed).toBe(false);
    expect(m2.data.objects?.map((o) => o.uri)).toEqual(["s3://your-bucket/data/daily/2026-12-06.csv"]);
    expect(await store.readLatest()).toBe(v1);
    // Several polls later the service still serves day 1's version.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await servedVersion(url)).toBe(v1);
  }, 600_000);
});
