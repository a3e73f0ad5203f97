// `bayes-serve deploy …` end to end: the commander program with a kubeconfig file pointing at the API server stand-in.
import { afterEach, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { parseAllDocuments } from "yaml";
import { BayesServeError } from "../../src/errors.js";
import { registerDeploy } from "../../src/cli/deploy.js";
import { startCluster, stopClusters } from "./cluster.js";
import type { FakeApiServer } from "./fake-apiserver.js";
import { quickPipeline } from "./fixtures.js";

afterEach(stopClusters);

const ROOT = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "bs-deploy-cli-"));
const pipelineFile = join(dir, "bayes-serve.yaml");
writeFileSync(pipelineFile, quickPipeline());

function kubeconfigFor(server: string, name = "kubeconfig.yaml"): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
  - name: stand-in
    cluster: {server: "${server}", insecure-skip-tls-verify: true}
users:
  - name: tester
    user: {token: test-token}
contexts:
  - name: stand-in
    context: {cluster: stand-in, user: tester}
current-context: stand-in
`,
  );
  return path;
}

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ out: string; err: string }> {
  let out = "";
  let err = "";
  const program = new Command().name("bayes-serve").exitOverride();
  registerDeploy(program, { out: (t) => (out += t), err: (t) => (err += t), env });
  program.commands.forEach((c) => c.exitOverride());
  await program.parseAsync(["node", "bayes-serve", "deploy", ...args]);
  return { out, err };
}

async function cliError(args: string[], code: string): Promise<BayesServeError> {
  try {
    await cli(args);
  } catch (e) {
    expect(e).toBeInstanceOf(BayesServeError);
    expect((e as BayesServeError).code).toBe(code);
    return e as BayesServeError;
  }
  throw new Error(`expected ${args.join(" ")} to fail`);
}

describe("deploy validate and render (no cluster)", () => {
  it("validate summarises a valid file", async () => {
    const { out } = await cli(["validate", "--file", join(ROOT, "bayes-serve.yaml")]);
    expect(out).toMatch(/bayes-serve\.yaml: valid pipeline "bayes-serve" → namespace pymc, image ghcr.io\/your-org\/bayes-serve:0\.1\.0/);
    expect(out).toMatch(
      / {2}train \(batch, 2 retries, 900 s\)\n {2}>> scoring-service \(service, port 8000, 1 replica, ingress \/pymc\/bayes-serve--scoring-service\)/,
    );
  });

  it("validate's summary of an autoscaled service gives the autoscaler's range, not the replicas it ignores", async () => {
    const scaled = join(dir, "scaled.yaml");
    writeFileSync(scaled, quickPipeline().replace("      replicas: 1\n", "      autoscaling:\n        min_replicas: 2\n        max_replicas: 5\n"));
    const { out } = await cli(["validate", "--file", scaled]);
    expect(out).toContain("scoring-service (service, port 8000, 2–5 replicas (autoscaled at 80 % CPU), ingress");
  });

  it("validate fails with a CONFIG error listing each problem", async () => {
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, quickPipeline().replace("DAG: train >> scoring-service", "DAG: train >> scoring"));
    const err = await cliError(["validate", "--file", bad], "CONFIG");
    expect(err.message).toContain(`${bad}:6:8: pipeline.DAG: unknown stage "scoring" in step 2`);
  });

  it("render prints every manifest, with the git commit from `git rev-parse HEAD` by default", async () => {
    const { out } = await cli(["render", "--file", join(ROOT, "bayes-serve.yaml"), "--run-id", "r1", "--schedule", "0 3 * * *"]);
    const docs = parseAllDocuments(out).map((d) => d.toJS() as { kind: string; metadata: { name: string; labels?: Record<string, string> } });
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      "Namespace/pymc",
      "Job/bayes-serve--train-r1",
      "Deployment/bayes-serve--scoring-service",
      "Service/bayes-serve--scoring-service",
      "Ingress/bayes-serve--scoring-service",
      "ServiceAccount/bayes-serve--retrain",
      "Role/bayes-serve--retrain",
      "RoleBinding/bayes-serve--retrain",
      "ConfigMap/bayes-serve--retrain",
      "CronJob/bayes-serve--retrain",
    ]);
    const head = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    expect(docs[2].metadata.labels?.["bayes-serve/git-commit"]).toBe(head);
    const custom = await cli(["render", "--file", pipelineFile, "--git-commit", "feedbeef", "--image", "ghcr.io/x/y:ci-7"]);
    expect(custom.out).toContain("bayes-serve/git-commit: feedbeef");
    expect(custom.out).toContain("image: ghcr.io/x/y:ci-7");
  });
});

describe("deploy against a cluster", () => {
  let srv: FakeApiServer;
  let kc: string;
  const withCluster = (...args: string[]) => [...args, "--kubeconfig", kc, "--file", pipelineFile];

  it("secret create / list, create, status, logs, cronjob create, delete", async () => {
    srv = await startCluster({}, { namespace: false });
    kc = kubeconfigFor(srv.url);

    const env = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "very-secret-value" };
    const sec = await cli(withCluster("secret", "create", "aws-credentials", "--from-env", "AWS_ACCESS_KEY_ID", "--from-env", "AWS_SECRET_ACCESS_KEY"), env);
    expect(sec.out).toBe("secret aws-credentials in namespace pymc: keys AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\n");
    const list = await cli(withCluster("secret", "list"));
    expect(list.out).toMatch(/aws-credentials\s+Opaque\s+AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY/);
    expect(sec.out + sec.err + list.out).not.toContain("very-secret-value");

    const created = await cli(withCluster("create", "--git-commit", "c0ffee", "--poll-interval-ms", "10", "--grace-seconds", "1"));
    expect(created.out).toMatch(
      /^train: Job\/bayes-serve--train-[a-z0-9]{10} succeeded in \d+ s\nscoring-service: Deployment\/bayes-serve--scoring-service rolled out: 1\/1 replicas available \(revision 1\)\n$/,
    );
    expect(created.err).toMatch(/^cluster http:\/\/127\.0\.0\.1:\d+ answers \(Kubernetes v1\.36\.0-fake\)\npreflight passed/);

    const status = await cli(withCluster("status", "--json"));
    const s = JSON.parse(status.out) as { stages: { stage: string; ready: string; gitCommit: string }[] };
    expect(s.stages.map((x) => [x.stage, x.ready, x.gitCommit])).toEqual([
      ["train", "-", "c0ffee"],
      ["scoring-service", "1/1", "c0ffee"],
    ]);
    expect((await cli(withCluster("status"))).out).toMatch(/scoring-service\s+service\s+1\/1/);

    expect((await cli(withCluster("logs", "scoring-service"))).out).toBe("listening on :8000\nmodel v1 loaded\n");

    const cron = await cli(withCluster("cronjob", "create", "--schedule", "0 3 * * *", "--git-commit", "c0ffee"));
    expect(cron.out).toContain("applied CronJob/bayes-serve--retrain\n");
    expect(srv.get("CronJob", "pymc", "bayes-serve--retrain")).toBeDefined();

    const del = await cli(withCluster("delete", "--with-namespace"));
    expect(del.out).toContain("deleted Deployment/bayes-serve--scoring-service\n");
    expect(del.out).toContain("deleted Namespace/pymc\n");
  });

  it("a failing update exits with the rollback in the error", async () => {
    srv = await startCluster();
    kc = kubeconfigFor(srv.url);
    await cli(withCluster("create", "--git-commit", "c1", "--poll-interval-ms", "10", "--grace-seconds", "1"));
    const err = await cliError(
      withCluster("update", "--image", "ghcr.io/example/bayes-serve:bad", "--poll-interval-ms", "10", "--grace-seconds", "1"),
      "DEPLOY",
    );
    expect(err.message).toMatch(/rolled back Deployment\/bayes-serve--scoring-service to its previous revision 1/);
  });

  it("invalid input: nothing is sent to the cluster", async () => {
    srv = await startCluster();
    kc = kubeconfigFor(srv.url);
    const bad = join(dir, "noport.yaml");
    writeFileSync(bad, quickPipeline().replace("      port: 8000\n", "").replace('"8000"', '"8001"'));
    const err = await cliError(["create", "--kubeconfig", kc, "--file", bad], "CONFIG");
    expect(err.message).toMatch(/stages.scoring-service.service: a service stage needs a port/);
    expect(srv.requests).toEqual([]);
  });

  it("an unreachable cluster", async () => {
    srv = await startCluster();
    kc = kubeconfigFor(srv.url, "dead.yaml");
    await stopClusters();
    const err = await cliError(withCluster("update", "--request-timeout", "5"), "DEPLOY");
    expect(err.message).toMatch(
      /^cannot reach the Kubernetes API server at http:\/\/127\.0\.0\.1:\d+ \(while trying to read the server version\): ECONNREFUSED; nothing was applied$/,
    );
  });

  it("an unknown kubeconfig context", async () => {
    srv = await startCluster();
    kc = kubeconfigFor(srv.url);
    const err = await cliError(withCluster("status", "--context", "prod"), "DEPLOY");
    expect(err.message).toBe('kubeconfig has no context "prod" (contexts: stand-in)');
  });
});

describe("the bayes-serve binary", () => {
  it("exits non-zero with the message on stderr", () => {
    const bad = join(dir, "bad-binary.yaml");
    writeFileSync(bad, "version: '1.0'\npipeline: {name: x}\n");
    const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "deploy", "validate", "--file", bad], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`bayes-serve: ${bad} is not a valid pipeline file (4 problems):`);
    expect(r.stderr).toContain("pipeline: missing required field `namespace`");
    expect(r.stdout).toBe("");
  });
});
