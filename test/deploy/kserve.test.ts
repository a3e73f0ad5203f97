// KServe as a deploy target: the ServingRuntime and InferenceService validate against KServe's own CRD schemas
// (test/fixtures/kserve, from kserve/kserve's config/crd), with no field KServe's API server would prune as unknown;
// the Jobs and CronJob against the Kubernetes schemas as render.test.ts does; they say what the pipeline says; and the
// server the runtime starts, given the store as KServe's storage initializer copies it (every object under the
// prefix, keys less the prefix, as kserve_storage.py's _download_s3 does), answers the Open Inference Protocol under
// the InferenceService's name, for the latest version and a pinned one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { Command } from "commander";
import { parseAllDocuments } from "yaml";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import type { KubernetesObject, V1Container } from "@kubernetes/client-node";
import { Namespace } from "kubernetes-models/v1";
import { CronJob, Job } from "kubernetes-models/batch/v1";
import { openStore } from "../../src/artifact/store.js";
import { s3Settings } from "../../src/artifact/s3-store.js";
import { registerDeploy } from "../../src/cli/deploy.js";
import {
  KSERVE_MODEL_DIR,
  kserveObjects,
  renderKServe,
  renderKServeRetraining,
  type InferenceService,
  type KServeOptions,
  type ServingRuntime,
} from "../../src/deploy/kserve.js";
import { loadPipelineFile, parsePipeline } from "../../src/deploy/pipeline.js";
import { SERVING_NODE_OPTIONS } from "../../src/server/constants.js";
import { BayesServeError } from "../../src/errors.js";
import { useS3Server } from "../support/s3-server.js";
import { OpenInferenceClient } from "../support/open-inference-client.js";
import { seedBundle } from "../server/fixtures.js";
import { FULL_PIPELINE } from "./fixtures.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CRDS = JSON.parse(readFileSync(resolve(ROOT, "test/fixtures/kserve/crd-schemas.json"), "utf8")) as Record<string, Schema>;

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

// KServe's schemas use Kubernetes' formats (int32, int64, quantity...) and x-kubernetes-* keywords, which ajv does not
// know: validate the structure and types, not the formats.
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
const validators = new Map<string, ValidateFunction>();
function crdValidator(key: string): ValidateFunction {
  let v = validators.get(key);
  if (v === undefined) {
    const schema = CRDS[key];
    if (schema === undefined) throw new Error(`no KServe schema for ${key}`);
    v = ajv.compile(schema);
    validators.set(key, v);
  }
  return v;
}

/**
 * Fields the API server would drop: a structural CRD schema prunes every field its `properties` do not name (unless
 * x-kubernetes-preserve-unknown-fields or additionalProperties allows it), so a misspelt field vanishes silently.
 */
function pruned(value: unknown, schema: Schema | undefined, path = ""): string[] {
  if (schema === undefined || schema["x-kubernetes-preserve-unknown-fields"] === true) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => pruned(v, schema.items, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const sub = schema.properties?.[k] ?? (typeof schema.additionalProperties === "object" ? schema.additionalProperties : undefined);
    if (sub === undefined && schema.additionalProperties !== true && schema.properties !== undefined) out.push(`${path}.${k}`);
    else out.push(...pruned(v, sub, `${path}.${k}`));
  }
  return out;
}

const K8S: Record<string, new (data: never) => { validate(): void }> = { "v1/Namespace": Namespace, "batch/v1/Job": Job, "batch/v1/CronJob": CronJob };

/** Validates an object against KServe's CRD schema or the Kubernetes one; throws naming what is wrong. */
function validate(obj: KubernetesObject): void {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const plain = JSON.parse(JSON.stringify(obj)) as unknown;
  if (obj.apiVersion?.startsWith("serving.kserve.io/") === true) {
    const v = crdValidator(key);
    if (!v(plain)) throw new Error(`${key}: ${ajv.errorsText(v.errors)}`);
    const unknown = pruned(plain, CRDS[key]);
    if (unknown.length > 0) throw new Error(`${key}: fields KServe would prune: ${unknown.join(", ")}`);
    return;
  }
  const Model = K8S[key];
  if (Model === undefined) throw new Error(`no schema for ${key}`);
  new Model(plain as never).validate();
}

const seed = loadPipelineFile(resolve(ROOT, "bayes-serve.yaml"));
const VERSION = "20261201T003000Z-a1b2c3";
// Every option of the file format, its second service stage serving a pinned version of an S3 store as KServe needs.
const full = parsePipeline(
  FULL_PIPELINE.replace('args: [serve, --port, "9000"]', `args: [serve, --model, "s3://bucket/m@${VERSION}", --port, "9000"]`),
  "full.yaml",
);
const opts = { gitCommit: "0123456789abcdef0123456789abcdef01234567", runId: "t1abc2def" };
const render = (p = seed, o: Partial<KServeOptions> = {}) => renderKServe(p.pipeline, { ...opts, ...o });
const retraining = (p = seed) =>
  renderKServeRetraining(p.pipeline, { schedule: "0 3 * * *", timeZone: "Etc/UTC", gitCommit: opts.gitCommit, runId: opts.runId, pipelineText: p.text });
const runtimeContainer = (r: ServingRuntime): V1Container => r.spec.containers[0];
const predictorOf = (s: InferenceService) =>
  s.spec.predictor as {
    model: { args: string[]; storageUri: string; runtime: string; protocolVersion: string; modelFormat: { name: string } };
    [k: string]: unknown;
  };

describe("the manifests validate against KServe's CRD schemas (and the Jobs against Kubernetes')", () => {
  it("the schemas are KServe's InferenceService v1beta1 and ServingRuntime v1alpha1, with the fields we use", () => {
    expect(Object.keys(CRDS).sort()).toEqual(["serving.kserve.io/v1alpha1/ServingRuntime", "serving.kserve.io/v1beta1/InferenceService"]);
    const predictor = CRDS["serving.kserve.io/v1beta1/InferenceService"].properties?.spec?.properties?.predictor?.properties ?? {};
    for (const field of ["canaryTrafficPercent", "minReplicas", "maxReplicas", "model"]) expect(predictor).toHaveProperty(field);
    expect(predictor.model?.properties).toHaveProperty("storageUri");
    expect(CRDS["serving.kserve.io/v1alpha1/ServingRuntime"].properties?.spec?.properties).toHaveProperty("protocolVersions");
  });

  it("the validator is live: a wrong type and a field KServe would prune are refused", () => {
    const isvc = JSON.parse(JSON.stringify(render(seed).services[0].inferenceService)) as { spec: { predictor: Record<string, unknown> } };
    isvc.spec.predictor.canaryTrafficPercent = "10";
    expect(() => validate(isvc as KubernetesObject)).toThrow(/canaryTrafficPercent must be integer/);
    const typo = JSON.parse(JSON.stringify(render(seed).services[0].inferenceService)) as { spec: { predictor: Record<string, unknown> } };
    typo.spec.predictor.canaryTrafficPercentage = 10;
    expect(() => validate(typo as KubernetesObject)).toThrow(/prune: \.spec\.predictor\.canaryTrafficPercentage/);
    const runtime = JSON.parse(JSON.stringify(render(seed).services[0].runtime)) as { spec: { containers: Record<string, unknown>[] } };
    delete runtime.spec.containers[0].name;
    expect(() => validate(runtime as KubernetesObject)).toThrow(/must have required property 'name'/);
  });

  for (const [label, p] of [
    ["the repository's bayes-serve.yaml", seed],
    ["a pipeline using every option", full],
  ] as const) {
    for (const mode of [{}, { canaryTrafficPercent: 10, modelVersion: VERSION, serviceAccountName: "kserve-s3" }] as const) {
      it(`${label}, ${"canaryTrafficPercent" in mode ? "Serverless with a canary" : "RawDeployment"}: every object, and the retraining CronJob`, () => {
        const objects = [...kserveObjects(render(p, mode)), retraining(p)];
        expect(objects.map((o) => o.kind)).toContain("InferenceService");
        for (const o of objects) expect(() => validate(o), `${o.kind}/${o.metadata?.name}`).not.toThrow();
      });
    }
  }
});

describe("what the KServe manifests say", () => {
  it("the namespace, the batch stages' Jobs as for the plain target, then a runtime and an InferenceService per service stage", () => {
    expect(kserveObjects(render(full)).map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([
      "Namespace/models",
      "Job/full--prepare-t1abc2def",
      "Job/full--train-t1abc2def",
      "ServingRuntime/full--api",
      "InferenceService/full--api",
      "ServingRuntime/full--admin",
      "InferenceService/full--admin",
    ]);
    const admin = predictorOf(render(full).services[1].inferenceService);
    expect([admin.minReplicas, admin.maxReplicas, admin.model.storageUri, admin.model.args]).toEqual([
      3,
      3,
      "s3://bucket/m",
      ["--model", `${KSERVE_MODEL_DIR}@${VERSION}`],
    ]);
  });

  it("the runtime: our image, protocol v2, port 8080, the probes there, NODE_OPTIONS, the stage's resources and secrets", () => {
    const { runtime } = render(seed).services[0];
    expect(runtime.spec.protocolVersions).toEqual(["v2"]);
    expect(runtime.spec.supportedModelFormats).toEqual([{ name: "bayes-serve", version: "1", autoSelect: true, priority: 1 }]);
    const c = runtimeContainer(runtime);
    expect(c.name).toBe("kserve-container");
    expect(c.image).toBe("ghcr.io/your-org/bayes-serve:0.1.0");
    expect(c.ports).toEqual([{ containerPort: 8080, protocol: "TCP" }]);
    for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) expect(probe?.httpGet?.port).toBe(8080);
    expect(c.readinessProbe?.httpGet?.path).toBe("/health/ready");
    expect(c.env?.find((e) => e.name === "NODE_OPTIONS")?.value).toBe(SERVING_NODE_OPTIONS);
    expect(c.env?.find((e) => e.name === "AWS_ACCESS_KEY_ID")?.valueFrom?.secretKeyRef?.name).toBe("aws-credentials");
    expect(c.resources?.requests).toEqual({ cpu: "1", memory: "750M" });
    // The stage's flags less those KServe decides; the model's name is the InferenceService's; no polling of a fixed copy.
    expect(c.args).toEqual(["serve", "--log-level", "info", "--port", "8080", "--poll-interval", "0", "--model-name", "{{.Name}}"]);
    expect(c.lifecycle?.preStop?.exec?.command).toEqual(["sleep", "5"]);
  });

  it("the InferenceService: the S3 store as storageUri, our runtime, protocol v2, the store's copy served (latest or pinned)", () => {
    const isvc = render(seed).services[0].inferenceService;
    expect(isvc.metadata?.annotations).toEqual({ "serving.kserve.io/deploymentMode": "RawDeployment" });
    const p = predictorOf(isvc);
    expect(p.model).toEqual({
      modelFormat: { name: "bayes-serve", version: "1" },
      runtime: "bayes-serve--scoring-service",
      protocolVersion: "v2",
      storageUri: "s3://your-bucket/bayes-serve",
      args: ["--model", KSERVE_MODEL_DIR],
    });
    expect(p.minReplicas).toBe(1);
    expect(p.maxReplicas).toBe(1);
    expect(p.canaryTrafficPercent).toBeUndefined();
    // Pinned by the stage's --model …@VERSION, or by --model-version.
    const pinned = parsePipeline(seed.text.replace("s3://your-bucket/bayes-serve, --port", `s3://your-bucket/bayes-serve@${VERSION}, --port`), "p.yaml");
    expect(predictorOf(render(pinned).services[0].inferenceService).model.args).toEqual(["--model", `${KSERVE_MODEL_DIR}@${VERSION}`]);
    expect(predictorOf(render(pinned).services[0].inferenceService).model.storageUri).toBe("s3://your-bucket/bayes-serve");
    expect(predictorOf(render(seed, { modelVersion: VERSION }).services[0].inferenceService).model.args).toEqual(["--model", `${KSERVE_MODEL_DIR}@${VERSION}`]);
  });

  it("autoscaling: min and max replicas and a CPU target", () => {
    const p = predictorOf(render(full).services[0].inferenceService);
    expect([p.minReplicas, p.maxReplicas, p.scaleMetric, p.scaleTarget]).toEqual([2, 6, "cpu", 70]);
  });

  it("a canary: Serverless (the mode KServe splits traffic in), canaryTrafficPercent, and no pod field Knative refuses", () => {
    const { runtime, inferenceService } = render(seed, { canaryTrafficPercent: 10, modelVersion: VERSION }).services[0];
    expect(inferenceService.metadata?.annotations).toEqual({ "serving.kserve.io/deploymentMode": "Serverless" });
    const p = predictorOf(inferenceService);
    expect(p.canaryTrafficPercent).toBe(10);
    expect(p.terminationGracePeriodSeconds).toBeUndefined();
    expect(p.securityContext).toBeUndefined();
    const c = runtimeContainer(runtime);
    expect(c.lifecycle).toBeUndefined();
    expect(c.startupProbe).toBeUndefined();
    expect(c.livenessProbe?.initialDelaySeconds).toBe(300);
    expect(c.securityContext).toEqual({ runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
  });

  it("the retraining CronJob runs the batch stages in order in one pod, and a fit the gate refuses (exit 3) is not retried", () => {
    const cron = retraining(full);
    expect(cron.metadata?.name).toBe("full--retrain");
    const job = cron.spec?.jobTemplate.spec;
    expect(job?.template.spec?.initContainers?.map((c) => c.name)).toEqual(["prepare"]);
    expect(job?.template.spec?.containers.map((c) => c.name)).toEqual(["train"]);
    expect(job?.podFailurePolicy?.rules).toEqual([{ action: "FailJob", onExitCodes: { operator: "In", values: [3] } }]);
    expect(job?.backoffLimit).toBe(5);
  });

  it("refuses what KServe cannot do, naming it", () => {
    const local = parsePipeline(seed.text.replace("s3://your-bucket/bayes-serve, --port", "/data/store, --port"), "p.yaml");
    expect(() => render(local)).toThrow(/stage "scoring-service": --model \/data\/store: KServe's storageUri must be the S3 store/);
    expect(() => render(parsePipeline(FULL_PIPELINE, "full.yaml"))).toThrow(
      /stage "admin": --target kserve needs a service stage that runs `serve --model s3:\/\/bucket\/prefix\[@VERSION\]`/,
    );
    expect(() => render(seed, { canaryTrafficPercent: 10, deploymentMode: "RawDeployment" })).toThrow(/only in Serverless \(Knative\) mode/);
    expect(() => render(seed, { canaryTrafficPercent: 101 })).toThrow(/--canary-traffic-percent 101: an integer from 0 to 100/);
    expect(() => render(seed, { modelVersion: "v2" })).toThrow(/--model-version v2: not a version id/);
    expect(() => render(seed, { serviceAccountName: "S3 creds" })).toThrow(/--service-account S3 creds: not a Kubernetes object name/);
  });
});

async function cli(args: string[]): Promise<string> {
  let out = "";
  const program = new Command().name("bayes-serve").exitOverride();
  registerDeploy(program, { out: (t) => (out += t), err: () => undefined, env: {} });
  program.commands.forEach((c) => c.exitOverride());
  await program.parseAsync(["node", "bayes-serve", "deploy", ...args]);
  return out;
}

describe("deploy render --target kserve", () => {
  it("prints the Jobs, the runtime, the InferenceService and (with --schedule) the retraining CronJob, all valid", async () => {
    const file = resolve(ROOT, "bayes-serve.yaml");
    const out = await cli([
      "render",
      "--file",
      file,
      "--target",
      "kserve",
      "--git-commit",
      opts.gitCommit,
      "--run-id",
      "abc",
      "--schedule",
      "0 3 * * *",
      "--canary-traffic-percent",
      "25",
      "--model-version",
      VERSION,
    ]);
    const objects = parseAllDocuments(out).map((d) => d.toJSON() as KubernetesObject);
    expect(objects.map((o) => o.kind)).toEqual(["Namespace", "Job", "ServingRuntime", "InferenceService", "CronJob"]);
    for (const o of objects) expect(() => validate(o), `${o.kind}`).not.toThrow();
    expect(predictorOf(objects[3] as InferenceService).canaryTrafficPercent).toBe(25);
  });

  it("refuses KServe's options without --target kserve, and an unknown target", async () => {
    const file = resolve(ROOT, "bayes-serve.yaml");
    for (const [args, message] of [
      [["--canary-traffic-percent", "10"], /--canary-traffic-percent is for --target kserve/],
      [["--target", "kserve", "--canary-traffic-percent", "ten"], /--canary-traffic-percent ten: an integer from 0 to 100/],
      [["--target", "seldon"], /--target seldon: kubernetes or kserve/],
    ] as const) {
      const e = await cli(["render", "--file", file, "--git-commit", opts.gitCommit, ...args]).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(BayesServeError);
      expect((e as Error).message).toMatch(message);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The runtime's command on the store as KServe's storage initializer copies it.

const s3 = useS3Server({ buckets: ["models"], setProcessEnv: false });
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** kserve_storage.py's _download_s3: every object whose key starts with the prefix (but empty ones), keys less the prefix. */
async function storageInitializerCopy(storageUri: string, into: string): Promise<void> {
  const { bucket, prefix } = /^s3:\/\/(?<bucket>[^/]+)\/?(?<prefix>.*)$/.exec(storageUri)?.groups as { bucket: string; prefix: string };
  const client = new S3Client(s3Settings({ env: s3.current.env }).config);
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined || o.Key.endsWith("/") || o.Size === 0) continue;
      const target = join(into, o.Key === prefix ? (o.Key.split("/").pop() as string) : o.Key.slice(prefix.length).replace(/^\/+/, ""));
      mkdirSync(dirname(target), { recursive: true });
      const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      writeFileSync(target, await (body.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    }
    token = page.NextContinuationToken;
  } while (token !== undefined);
  client.destroy();
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

/** Runs the runtime's container args with the InferenceService's appended, as KServe merges them (runtime + isvc). */
async function runAsKServe(runtime: ServingRuntime, isvc: InferenceService, modelDir: string): Promise<{ url: string; logs: () => string }> {
  const port = await freePort();
  const args = [...(runtimeContainer(runtime).args ?? []), ...predictorOf(isvc).model.args].map((a) =>
    // KServe's placeholder; the port KServe's is taken; the copy's folder stands for KServe's volume.
    a === "{{.Name}}"
      ? (isvc.metadata?.name as string)
      : a === "8080"
        ? String(port)
        : a.startsWith(KSERVE_MODEL_DIR)
          ? modelDir + a.slice(KSERVE_MODEL_DIR.length)
          : a,
  );
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args, "--host", "127.0.0.1"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let logs = "";
  child.stdout?.on("data", (b: Buffer) => (logs += b.toString()));
  child.stderr?.on("data", (b: Buffer) => (logs += b.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${logs}`);
    const ready = await fetch(`${url}/v2/health/ready`).then(
      (r) => r.status,
      () => 0,
    );
    if (ready === 200) break;
    if (Date.now() > deadline) throw new Error(`serve did not become ready: ${logs}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, logs: () => logs };
}

describe("the runtime serves the store as KServe's storage initializer copies it", () => {
  let versions: string[] = [];
  beforeAll(async () => {
    const store = openStore("s3://models/team/bayes-serve", { env: s3.current.env });
    versions = [await store.publish(await seedBundle({ seed: 1 })), await store.publish(await seedBundle({ seed: 2 }))];
  }, 60_000);

  for (const pinned of [false, true]) {
    it(`${pinned ? "a pinned version" : "latest"}: ready, and infer answers under the InferenceService's name`, async () => {
      const text = seed.text.replaceAll("s3://your-bucket/bayes-serve", "s3://models/team/bayes-serve");
      const { runtime, inferenceService } = renderKServe(parsePipeline(text, "p.yaml").pipeline, { ...opts, ...(pinned ? { modelVersion: versions[0] } : {}) })
        .services[0];
      const dir = mkdtempSync(join(tmpdir(), "bs-kserve-mnt-models-"));
      dirs.push(dir);
      await storageInitializerCopy(predictorOf(inferenceService).model.storageUri, dir);
      const { url } = await runAsKServe(runtime, inferenceService, dir);
      const client = new OpenInferenceClient(url);
      const name = inferenceService.metadata?.name as string;
      const meta = await client.modelMetadata(name);
      expect(meta.versions).toEqual([pinned ? versions[0] : versions[1]]);
      const r = await client.infer(name, {
        parameters: { seed: 1 },
        inputs: [
          { name: "x", shape: [2], datatype: "FP64", data: [1, 5] },
          { name: "category", shape: [2], datatype: "INT64", data: [0, 2] },
        ],
        outputs: [{ name: "y_pred" }],
      });
      expect(r.model_name).toBe(name);
      expect(r.outputs[0].shape).toEqual([2]);
      for (const v of r.outputs[0].data as number[]) expect(Number.isFinite(v)).toBe(true);
    }, 90_000);
  }
});
