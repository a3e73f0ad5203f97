// status, scheduled retraining, secrets, logs and delete against the API server stand-in.
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1CronJob, V1Secret } from "@kubernetes/client-node";
import { BayesServeError } from "../../src/errors.js";
import { createRetraining, deleteRetraining } from "../../src/deploy/cronjob.js";
import { deletePipeline } from "../../src/deploy/delete.js";
import { createKubeApi, type KubeApi } from "../../src/deploy/kube-client.js";
import { stageLogs } from "../../src/deploy/logs.js";
import { runPipeline } from "../../src/deploy/orchestrate.js";
import { parsePipeline, type Pipeline } from "../../src/deploy/pipeline.js";
import { createSecret, deleteSecret, formatSecrets, listSecrets, secretData } from "../../src/deploy/secrets.js";
import { formatStatus, pipelineStatus } from "../../src/deploy/status.js";
import { startCluster, stopClusters } from "./cluster.js";
import type { FakeApiServer } from "./fake-apiserver.js";
import { quickPipeline } from "./fixtures.js";

afterEach(stopClusters);

const TEXT = quickPipeline();
const pipeline: Pipeline = parsePipeline(TEXT).pipeline;

async function deployed(options: Parameters<typeof startCluster>[0] = {}): Promise<{ srv: FakeApiServer; api: KubeApi }> {
  const srv = await startCluster(options);
  const api = createKubeApi(srv.kubeConfig());
  await runPipeline(api, pipeline, { mode: "create", gitCommit: "0123456789abcdef", pollIntervalMs: 10, graceSeconds: 1 });
  return { srv, api };
}

describe("status", () => {
  it("a table of stages, their objects, ready replicas and the last job result", async () => {
    const { api } = await deployed();
    const s = await pipelineStatus(api, pipeline);
    expect(s.stages).toEqual([
      {
        stage: "train",
        type: "batch",
        ready: "-",
        state: expect.stringMatching(/^Succeeded \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ in \d+s$/),
        gitCommit: "0123456789abcdef",
        objects: [expect.stringMatching(/^Job\/bayes-serve--train-[a-z0-9]{10}$/)],
      },
      {
        stage: "scoring-service",
        type: "service",
        ready: "1/1",
        state: "available, revision 1",
        gitCommit: "0123456789abcdef",
        objects: [
          "Deployment/bayes-serve--scoring-service",
          "Service/bayes-serve--scoring-service:8000",
          "Ingress/bayes-serve--scoring-service /pymc/bayes-serve--scoring-service(/|$)(.*)",
        ],
      },
    ]);
    const table = formatStatus(s).split("\n");
    expect(table[0]).toBe("pipeline bayes-serve in namespace pymc");
    expect(table[1]).toMatch(/^STAGE\s+TYPE\s+READY\s+COMMIT\s+STATE\s+OBJECTS$/);
    expect(table[2]).toMatch(/^train\s+batch\s+-\s+0123456789ab\s+Succeeded .* Job\/bayes-serve--train-/);
    expect(table[3]).toMatch(/^scoring-service\s+service\s+1\/1\s+0123456789ab\s+available, revision 1\s+Deployment\/bayes-serve--scoring-service, Service/);
    expect(table[4]).toBe('retraining: not scheduled (bayes-serve deploy cronjob create --schedule "0 3 * * *")');
  });

  it("shows a failed job and a rollout in progress", async () => {
    const srv = await startCluster({ job: () => "fail" });
    const api = createKubeApi(srv.kubeConfig());
    await expect(runPipeline(api, pipeline, { mode: "update", gitCommit: "c1", pollIntervalMs: 10, graceSeconds: 1 })).rejects.toThrow(BayesServeError);
    const s = await pipelineStatus(api, pipeline);
    expect(s.stages[0].state).toBe("Failed: BackoffLimitExceeded (Job has reached the specified backoff limit)");
    expect(s.stages[1]).toMatchObject({ ready: "-", state: "not deployed", objects: [] });
  });

  it("says plainly when nothing is deployed", async () => {
    const srv = await startCluster({}, { namespace: false });
    const s = await pipelineStatus(createKubeApi(srv.kubeConfig()), pipeline);
    expect(s.namespaceExists).toBe(false);
    expect(formatStatus(s)).toBe(
      "pipeline bayes-serve in namespace pymc\nnamespace pymc does not exist: nothing is deployed (run `bayes-serve deploy create`)",
    );
  });
});

describe("scheduled retraining", () => {
  it("creates a batch/v1 CronJob with its ServiceAccount, Role, RoleBinding and ConfigMap; status reports it; delete removes them", async () => {
    const { srv, api } = await deployed();
    const lines: string[] = [];
    const applied = await createRetraining(api, pipeline, { schedule: "0 3 * * *", timeZone: "Europe/London", gitCommit: "abc1234", pipelineText: TEXT }, (l) =>
      lines.push(l),
    );
    expect(applied).toEqual([
      "ServiceAccount/bayes-serve--retrain",
      "Role/bayes-serve--retrain",
      "RoleBinding/bayes-serve--retrain",
      "ConfigMap/bayes-serve--retrain",
      "CronJob/bayes-serve--retrain",
    ]);
    const cj = srv.get("CronJob", "pymc", "bayes-serve--retrain") as unknown as V1CronJob;
    expect(cj.apiVersion).toBe("batch/v1");
    expect(cj.spec).toMatchObject({
      schedule: "0 3 * * *",
      timeZone: "Europe/London",
      concurrencyPolicy: "Forbid",
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    expect((srv.get("ConfigMap", "pymc", "bayes-serve--retrain")?.data as Record<string, string>)["bayes-serve.yaml"]).toBe(TEXT);
    expect(lines[0]).toBe('retraining scheduled: CronJob/bayes-serve--retrain "0 3 * * *" (Europe/London) runs `bayes-serve deploy update` in namespace pymc');

    // Idempotent: scheduling again just re-applies.
    await createRetraining(api, pipeline, { schedule: "30 2 * * 1", gitCommit: "abc1234", pipelineText: TEXT });
    expect((srv.get("CronJob", "pymc", "bayes-serve--retrain")?.spec as { schedule: string }).schedule).toBe("30 2 * * 1");

    const s = await pipelineStatus(api, pipeline);
    expect(s.retraining).toEqual({ name: "bayes-serve--retrain", schedule: "30 2 * * 1", suspended: false, active: 0 });
    expect(formatStatus(s)).toMatch(/retraining: CronJob\/bayes-serve--retrain "30 2 \* \* 1"; last scheduled never, last succeeded never$/);

    expect(await deleteRetraining(api, pipeline)).toEqual([
      "CronJob/bayes-serve--retrain",
      "ConfigMap/bayes-serve--retrain",
      "RoleBinding/bayes-serve--retrain",
      "Role/bayes-serve--retrain",
      "ServiceAccount/bayes-serve--retrain",
    ]);
    await expect(deleteRetraining(api, pipeline)).rejects.toThrow(/no retraining is scheduled for pipeline bayes-serve in namespace pymc/);
  });

  it("refuses to schedule a pipeline whose namespace or secrets are missing, applying nothing", async () => {
    const none = await startCluster({}, { namespace: false });
    await expect(createRetraining(createKubeApi(none.kubeConfig()), pipeline, { schedule: "@daily", gitCommit: "a", pipelineText: TEXT })).rejects.toThrow(
      /namespace pymc does not exist: deploy the pipeline first \(`bayes-serve deploy create`\), then schedule it; nothing was applied/,
    );
    expect(none.writes()).toEqual([]);
    const noSecret = await startCluster({}, { secret: false });
    await expect(createRetraining(createKubeApi(noSecret.kubeConfig()), pipeline, { schedule: "@daily", gitCommit: "a", pipelineText: TEXT })).rejects.toThrow(
      /secret "aws-credentials" missing in namespace pymc \(the scheduled runs would fail\); nothing was applied/,
    );
    expect(noSecret.writes()).toEqual([]);
  });

  it("the in-cluster run the CronJob makes (update --skip-namespace) works without touching namespaces", async () => {
    const { srv, api } = await deployed();
    const before = srv.requests.length;
    await runPipeline(api, pipeline, { mode: "update", gitCommit: "0123456789abcdef", skipNamespace: true, pollIntervalMs: 10, graceSeconds: 1 });
    expect(srv.requests.slice(before).some((r) => r.path.startsWith("/api/v1/namespaces/pymc") && !r.path.startsWith("/api/v1/namespaces/pymc/"))).toBe(false);
    expect(srv.all("Job", "pymc")).toHaveLength(2);
  });
});

describe("secrets", () => {
  it("create (and the namespace with it), list keys but never values, delete", async () => {
    const srv = await startCluster({}, { namespace: false });
    const api = createKubeApi(srv.kubeConfig());
    expect(await createSecret(api, "pymc", "aws-credentials", { AWS_SECRET_ACCESS_KEY: "s3cr3t", AWS_ACCESS_KEY_ID: "AKIA" })).toEqual([
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
    ]);
    expect(srv.get("Namespace", undefined, "pymc")).toBeDefined();
    const stored = srv.get("Secret", "pymc", "aws-credentials") as unknown as V1Secret;
    expect(stored.type).toBe("Opaque");
    expect(Buffer.from(stored.data?.AWS_SECRET_ACCESS_KEY ?? "", "base64").toString()).toBe("s3cr3t");

    const listed = await listSecrets(api, "pymc");
    expect(listed).toEqual([{ name: "aws-credentials", type: "Opaque", keys: ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], created: expect.any(String) }]);
    const table = formatSecrets("pymc", listed);
    expect(table).toMatch(/^NAME\s+TYPE\s+KEYS\s+CREATED\naws-credentials\s+Opaque\s+AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY\s+\d{4}-/);
    expect(table).not.toContain("s3cr3t");

    // Replacing a secret is an apply, not an error.
    await createSecret(api, "pymc", "aws-credentials", { AWS_ACCESS_KEY_ID: "AKIB" });
    expect((await listSecrets(api, "pymc"))[0].keys).toEqual(["AWS_ACCESS_KEY_ID"]);

    await deleteSecret(api, "pymc", "aws-credentials");
    expect(await listSecrets(api, "pymc")).toEqual([]);
    expect(formatSecrets("pymc", [])).toBe("no secrets in namespace pymc");
    await expect(deleteSecret(api, "pymc", "aws-credentials")).rejects.toThrow(/secret "aws-credentials" does not exist in namespace pymc/);
    await expect(createSecret(api, "pymc", "Bad_Name", { A: "b" })).rejects.toThrow(/"Bad_Name" is not a valid Secret name/);
  });

  it("secret data from literals, from environment variables and from env files; mistakes are named", () => {
    const dir = mkdtempSync(join(tmpdir(), "bs-secret-"));
    const file = join(dir, "aws.env");
    writeFileSync(file, '# comment\nexport AWS_DEFAULT_REGION="eu-west-2"\n\nAWS_ENDPOINT_URL_S3=http://minio:9000\n');
    expect(secretData({ literals: ["A=x=y"], fromEnv: ["AWS_ACCESS_KEY_ID"], envFiles: [file] }, { AWS_ACCESS_KEY_ID: "AKIA" })).toEqual({
      A: "x=y",
      AWS_ACCESS_KEY_ID: "AKIA",
      AWS_DEFAULT_REGION: "eu-west-2",
      AWS_ENDPOINT_URL_S3: "http://minio:9000",
    });
    expect(() => secretData({ fromEnv: ["NOPE"] }, {})).toThrow(/--from-env NOPE: the environment variable NOPE is not set/);
    expect(() => secretData({ literals: ["novalue"] })).toThrow(/--from-literal "novalue…": expected KEY=VALUE/);
    expect(() => secretData({ literals: ["A=1", "A=2"] })).toThrow(/key A is given twice/);
    expect(() => secretData({})).toThrow(/no secret data/);
    writeFileSync(file, "GOOD=1\nthis line is wrong\n");
    expect(() => secretData({ envFiles: [file] })).toThrow(new RegExp(`${file.replace(/[.]/g, "\\.")}:2: expected KEY=VALUE`));
  });
});

describe("logs", () => {
  it("a service stage's pods, and the last run of a batch stage", async () => {
    const { api } = await deployed();
    const svc = await stageLogs(api, pipeline, "scoring-service");
    expect(svc).toHaveLength(1);
    expect(svc[0].pod).toMatch(/^bayes-serve--scoring-service-/);
    expect(svc[0].text).toBe("listening on :8000\nmodel v1 loaded\n");
    const tail = await stageLogs(api, pipeline, "scoring-service", { tailLines: 1 });
    expect(tail[0].text).toBe("model v1 loaded\n");
    const train = await stageLogs(api, pipeline, "train");
    expect(train[0].pod).toMatch(/^bayes-serve--train-[a-z0-9]{10}-/);
    await expect(stageLogs(api, pipeline, "nope")).rejects.toThrow(/no stage "nope" in pipeline bayes-serve \(stages: train, scoring-service\)/);
  });
});

describe("delete", () => {
  it("removes every object of the pipeline (by label), one stage, or the namespace too", async () => {
    const { srv, api } = await deployed();
    await createRetraining(api, pipeline, { schedule: "@daily", gitCommit: "a", pipelineText: TEXT });
    expect(await deletePipeline(api, pipeline, { stage: "train" })).toEqual([expect.stringMatching(/^Job\/bayes-serve--train-/)]);
    const deleted = await deletePipeline(api, pipeline);
    expect(deleted).toEqual([
      "CronJob/bayes-serve--retrain",
      "Ingress/bayes-serve--scoring-service",
      "Service/bayes-serve--scoring-service",
      "Deployment/bayes-serve--scoring-service",
      "ConfigMap/bayes-serve--retrain",
      "RoleBinding/bayes-serve--retrain",
      "Role/bayes-serve--retrain",
      "ServiceAccount/bayes-serve--retrain",
    ]);
    expect(srv.all("Pod", "pymc")).toEqual([]);
    expect(srv.get("Secret", "pymc", "aws-credentials")).toBeDefined();
    expect(await deletePipeline(api, pipeline, { namespace: true })).toEqual(["Namespace/pymc"]);
    expect(srv.get("Secret", "pymc", "aws-credentials")).toBeUndefined();
  });
});
