// create / update / rollback / preflight against the in-process API server stand-in, through the real
// @kubernetes/client-node over HTTP.
import { afterEach, describe, expect, it } from "vitest";
import type { V1Deployment, V1Ingress, V1Job, V1Service } from "@kubernetes/client-node";
import { BayesServeError } from "../../src/errors.js";
import { createKubeApi, loadKubeConfig, type KubeApi } from "../../src/deploy/kube-client.js";
import { runPipeline, type RunOptions } from "../../src/deploy/orchestrate.js";
import { parsePipeline } from "../../src/deploy/pipeline.js";
import { kubeConfigFor, type FakeApiServer, type Obj } from "./fake-apiserver.js";
import { startCluster, stopClusters, templateText } from "./cluster.js";
import { quickPipeline } from "./fixtures.js";

afterEach(stopClusters);

const cluster = startCluster;
const image = templateText;

interface Run {
  lines: string[];
  run: (overrides?: Partial<RunOptions> & { text?: string }) => ReturnType<typeof runPipeline>;
  api: KubeApi;
}

function runner(srv: FakeApiServer, text = quickPipeline()): Run {
  const lines: string[] = [];
  const api = createKubeApi(srv.kubeConfig(), { timeoutMs: 5000 });
  return {
    lines,
    api,
    run: (o = {}) =>
      runPipeline(api, parsePipeline(o.text ?? text).pipeline, {
        mode: "update",
        gitCommit: "c1",
        pollIntervalMs: 10,
        // The stand-in reports ProgressDeadlineExceeded at max_startup_time; our own deadline adds this grace.
        graceSeconds: 1,
        log: (l) => lines.push(l),
        ...o,
      }),
  };
}

async function deployError(p: Promise<unknown>): Promise<BayesServeError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BayesServeError);
    expect((err as BayesServeError).code).toBe("DEPLOY");
    return err as BayesServeError;
  }
  throw new Error("expected the deployment to fail");
}

const DEPLOY = "bayes-serve--scoring-service";
const containerImage = (d: Obj | undefined) => (d?.spec as V1Deployment["spec"])?.template.spec?.containers[0].image;

describe("create and update", () => {
  it("create: checks first, then the namespace, then the DAG in order, by server-side apply", async () => {
    const srv = await cluster();
    const { run, lines } = runner(srv);
    const result = await run({ mode: "create" });

    expect(result.stages.map((s) => [s.stage, s.type])).toEqual([
      ["train", "batch"],
      ["scoring-service", "service"],
    ]);
    // Reads and dry runs come before any write.
    const firstWrite = srv.requests.findIndex((r) => r.method === "PATCH" && r.query.dryRun === undefined);
    expect(srv.requests[0].path).toBe("/version");
    expect(
      srv.requests
        .slice(0, firstWrite)
        .filter((r) => r.method === "PATCH")
        .every((r) => r.query.dryRun === "All"),
    ).toBe(true);
    expect(srv.requests.slice(0, firstWrite).some((r) => r.path === "/api/v1/namespaces/pymc/secrets/aws-credentials")).toBe(true);
    // Every write is a forced server-side apply by the "bayes-serve" field manager.
    const writes = srv.writes();
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes) {
      expect(w.method).toBe("PATCH");
      expect(w.contentType).toBe("application/apply-patch+yaml");
      expect(w.query).toMatchObject({ fieldManager: "bayes-serve", force: "true" });
    }
    // Namespace, then the Job (awaited), then the service's objects.
    const paths = writes.map((w) => w.path.replace(/-[a-z0-9]{10}$/, "-<run>"));
    expect(paths).toEqual([
      "/api/v1/namespaces/pymc",
      "/apis/batch/v1/namespaces/pymc/jobs/bayes-serve--train-<run>",
      `/apis/apps/v1/namespaces/pymc/deployments/${DEPLOY}`,
      `/api/v1/namespaces/pymc/services/${DEPLOY}`,
      `/apis/networking.k8s.io/v1/namespaces/pymc/ingresses/${DEPLOY}`,
    ]);
    const jobPolls = srv.requests.filter((r) => r.method === "GET" && r.path.includes("/jobs/bayes-serve--train-"));
    expect(srv.requests.indexOf(jobPolls[jobPolls.length - 1])).toBeLessThan(srv.requests.indexOf(writes[2]));

    const d = srv.get("Deployment", "pymc", DEPLOY);
    expect(d?.metadata.labels).toMatchObject({ "bayes-serve/git-commit": "c1", "bayes-serve/stage": "scoring-service" });
    expect(d?.status).toMatchObject({ availableReplicas: 1, observedGeneration: 1 });
    expect((srv.get("Service", "pymc", DEPLOY)?.spec as V1Service["spec"])?.clusterIP).toMatch(/^10\.96\./);
    expect(srv.get("Ingress", "pymc", DEPLOY)).toBeDefined();
    const jobs = srv.all("Job", "pymc");
    expect(jobs).toHaveLength(1);
    expect((jobs[0].status as V1Job["status"])?.succeeded).toBe(1);
    expect(lines.join("\n")).toMatch(/preflight passed: 5 objects accepted in a dry run/);
    expect(lines.join("\n")).toMatch(/rolled out: 1\/1 replicas available \(revision 1\)/);
  });

  it("update is idempotent: the same commit again leaves the Deployment alone and runs the batch stage as a new Job", async () => {
    const srv = await cluster();
    const { run } = runner(srv);
    await run({ mode: "create" });
    const before = srv.get("Deployment", "pymc", DEPLOY);
    await run();
    const after = srv.get("Deployment", "pymc", DEPLOY);
    expect(after?.metadata.generation).toBe(before?.metadata.generation);
    expect(after?.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("1");
    expect(srv.all("Job", "pymc")).toHaveLength(2);
  });

  it("an update with a new commit rolls the service out to a new revision", async () => {
    const srv = await cluster({ rolloutDurationMs: 150 });
    const { run, lines } = runner(srv);
    await run({ mode: "create" });
    await run({ gitCommit: "c2", image: "ghcr.io/example/bayes-serve:v2" });
    const d = srv.get("Deployment", "pymc", DEPLOY);
    expect(d?.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("2");
    expect(containerImage(d)).toBe("ghcr.io/example/bayes-serve:v2");
    expect(d?.metadata.labels?.["bayes-serve/git-commit"]).toBe("c2");
    expect(lines.join("\n")).toMatch(/applied \(previous revision 1\)/);
  });

  it("create refuses a pipeline that is already deployed, and applies nothing", async () => {
    const srv = await cluster();
    const { run } = runner(srv);
    await run({ mode: "create" });
    const writesBefore = srv.writes().length;
    const err = await deployError(run({ mode: "create" }));
    expect(err.message).toMatch(
      /preflight failed, nothing was applied:\n {2}- pipeline "bayes-serve" is already deployed in namespace pymc \(Deployment\/bayes-serve--scoring-service\): use `bayes-serve deploy update`/,
    );
    expect(srv.writes().length).toBe(writesBefore);
  });

  it("a first create whose training failed can simply be run again", async () => {
    let fail = true;
    const srv = await cluster({ job: () => (fail ? "fail" : "succeed") });
    const { run } = runner(srv);
    await deployError(run({ mode: "create" }));
    fail = false;
    const result = await run({ mode: "create" });
    expect(result.stages.map((s) => s.stage)).toEqual(["train", "scoring-service"]);
  });

  it("old Jobs are pruned (the last three kept), and their pods go with them", async () => {
    const srv = await cluster();
    const { run } = runner(srv);
    for (let i = 0; i < 5; i++) await run();
    const jobs = srv.all("Job", "pymc");
    expect(jobs).toHaveLength(3);
    const jobPods = srv.all("Pod", "pymc").filter((p) => p.metadata.labels?.["job-name"] !== undefined);
    expect(new Set(jobPods.map((p) => p.metadata.labels?.["job-name"]))).toEqual(new Set(jobs.map((j) => j.metadata.name)));
    const deletes = srv.requests.filter((r) => r.method === "DELETE");
    expect(deletes).toHaveLength(2);
    for (const d of deletes) expect(d.query.propagationPolicy).toBe("Background");
  });

  it("an Ingress no longer in the file is removed by the next successful update", async () => {
    const srv = await cluster();
    const { run, lines } = runner(srv);
    await run({ mode: "create" });
    await run({ text: quickPipeline().replace("      ingress: true\n", "") });
    expect(srv.get("Ingress", "pymc", DEPLOY)).toBeUndefined();
    expect(lines.join("\n")).toMatch(/Ingress\/bayes-serve--scoring-service removed \(no longer configured\)/);
  });

  it("update --restart rolls the service out again with nothing else changed", async () => {
    const srv = await cluster();
    const { run } = runner(srv);
    await run({ mode: "create" });
    await run({ restart: true });
    const d = srv.get("Deployment", "pymc", DEPLOY);
    expect(d?.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("2");
    expect((d?.spec as V1Deployment["spec"])?.template.metadata?.annotations?.["bayes-serve/restarted-at"]).toMatch(/^\d{4}-/);
  });
});

describe("failed rollouts are rolled back", () => {
  it("a rollout that never becomes ready: back to the previous revision, with the reason and the last pod events", async () => {
    const srv = await cluster();
    const { run } = runner(srv);
    await run({ mode: "create" });
    const err = await deployError(run({ gitCommit: "c2", image: "ghcr.io/example/bayes-serve:bad" }));

    expect(err.message).toMatch(/^deployment of pipeline "bayes-serve" failed at step 2 \(scoring-service\):/);
    expect(err.message).toMatch(/stage "scoring-service" failed: the rollout exceeded its progress deadline \(2 s\)/);
    expect(err.message).toMatch(/pod\/bayes-serve--scoring-service-[0-9a-f]+-[0-9a-f]+: Running, not ready/);
    expect(err.message).toMatch(/Warning Unhealthy pod\/bayes-serve--scoring-service-\S+: Readiness probe failed: HTTP probe failed with statuscode: 503/);
    expect(err.message).toMatch(/last 2 log lines of pod\/\S+:\n\s+listening on :8000\n\s+model not loaded yet/);
    expect(err.message).toMatch(/rolled back Deployment\/bayes-serve--scoring-service to its previous revision 1 \(image ghcr.io\/example\/bayes-serve:good\)/);
    expect(err.message).toMatch(/the previous revision is serving: 1\/1 replicas available/);
    expect(err.message).toMatch(/earlier steps completed and were kept: train/);

    const d = srv.get("Deployment", "pymc", DEPLOY);
    expect(containerImage(d)).toBe("ghcr.io/example/bayes-serve:good");
    expect(d?.metadata.labels?.["bayes-serve/git-commit"]).toBe("c1");
    expect(d?.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("3");
    expect(d?.status).toMatchObject({ availableReplicas: 1, updatedReplicas: 1, replicas: 1 });
    const pods = srv.all("Pod", "pymc").filter((p) => p.metadata.labels?.["bayes-serve/stage"] === "scoring-service");
    expect(pods).toHaveLength(1);
    expect(JSON.stringify(pods[0].spec)).toContain(":good");
  });

  it("a new service stage that fails is removed with its Service and Ingress; the completed batch stage stays", async () => {
    const srv = await cluster();
    const { run } = runner(srv);
    const err = await deployError(run({ mode: "create", image: "ghcr.io/example/bayes-serve:bad" }));
    expect(err.message).toMatch(/removed the new service stage "scoring-service" \(it had no previous revision\)/);
    expect(err.message).toMatch(
      /deleted Ingress\/bayes-serve--scoring-service; deleted Service\/bayes-serve--scoring-service; deleted Deployment\/bayes-serve--scoring-service/,
    );
    expect(srv.get("Deployment", "pymc", DEPLOY)).toBeUndefined();
    expect(srv.get("Service", "pymc", DEPLOY)).toBeUndefined();
    expect(srv.get("Ingress", "pymc", DEPLOY)).toBeUndefined();
    expect(srv.all("Pod", "pymc").filter((p) => p.metadata.labels?.["bayes-serve/stage"] === "scoring-service")).toEqual([]);
    expect(srv.all("Job", "pymc")).toHaveLength(1);
  });

  it("a crash loop: the reason, the restarts and the crashed container's last log lines", async () => {
    const srv = await cluster();
    const { run } = runner(srv);
    await run({ mode: "create" });
    const err = await deployError(run({ image: "ghcr.io/example/bayes-serve:crash" }));
    expect(err.message).toMatch(
      /container scoring-service: waiting: CrashLoopBackOff \(back-off 40s restarting failed container\), last exit: Error \(code 1\), 4 restarts/,
    );
    expect(err.message).toMatch(/Warning BackOff pod\/\S+: Back-off restarting failed container/);
    expect(err.message).toMatch(/\(previous container\):\n(.*\n)*\s+error: cannot read s3:\/\/your-bucket\/bayes-serve\/latest: AccessDenied/);
    expect(containerImage(srv.get("Deployment", "pymc", DEPLOY))).toBe("ghcr.io/example/bayes-serve:good");
  });

  it("an image that cannot be pulled: the pull errors are in the report", async () => {
    const srv = await cluster();
    const { run } = runner(srv);
    await run({ mode: "create" });
    const err = await deployError(run({ image: "ghcr.io/example/bayes-serve:missing" }));
    expect(err.message).toMatch(/Pending; container scoring-service: waiting: ImagePullBackOff/);
    expect(err.message).toMatch(
      /Warning Failed pod\/\S+: Failed to pull image "ghcr.io\/example\/bayes-serve:missing": rpc error: code = NotFound desc = manifest unknown/,
    );
    expect(containerImage(srv.get("Deployment", "pymc", DEPLOY))).toBe("ghcr.io/example/bayes-serve:good");
  });

  it("a pod that can never start (CreateContainerConfigError) fails at once, without waiting out the startup time", async () => {
    const srv = await cluster();
    const { run } = runner(srv, quickPipeline({ startup: 120 }));
    await run({ mode: "create" });
    const started = Date.now();
    const err = await deployError(run({ image: "ghcr.io/example/bayes-serve:no-key" }));
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(err.message).toMatch(
      /stage "scoring-service" failed: the new pods cannot start: pod\/\S+ container scoring-service: CreateContainerConfigError \(couldn't find key AWS_REGION in Secret pymc\/aws-credentials\)/,
    );
    expect(err.message).toMatch(/the previous revision is serving/);
  });

  it("the previous generation's ready status is not mistaken for the new one's", async () => {
    // The controller takes 400 ms to notice each new generation; meanwhile the status still says 1/1 available.
    const srv = await cluster({ controllerLagMs: 400 });
    const { run } = runner(srv);
    await run({ mode: "create" });
    const err = await deployError(run({ image: "ghcr.io/example/bayes-serve:bad" }));
    expect(err.message).toMatch(/stage "scoring-service" failed/);
    expect(containerImage(srv.get("Deployment", "pymc", DEPLOY))).toBe("ghcr.io/example/bayes-serve:good");
  });

  it("a failed step is rolled back as a whole: a healthy service updated beside a failing one goes back too", async () => {
    const two = quickPipeline({
      dag: "train >> scoring-service, admin",
      extraStages: `  admin:\n    args: [serve, --port, "9000", --admin-broken]\n    service: {max_startup_time_seconds: 1, port: 9000}\n`,
    });
    const srv = await cluster({ rollout: (d) => (image(d).includes("--admin-broken") ? "never-ready" : "ready") });
    const { run } = runner(srv);
    await run({ mode: "create" });
    const err = await deployError(run({ text: two, gitCommit: "c2" }));
    expect(err.message).toMatch(/failed at step 2 \(scoring-service, admin\)/);
    expect(err.message).toMatch(/stage "admin" failed: the rollout exceeded its progress deadline \(1 s\)/);
    expect(err.message).not.toMatch(/stage "scoring-service" failed/);
    expect(err.message).toMatch(/rollback of stage "scoring-service": rolled back Deployment\/bayes-serve--scoring-service to its previous revision 1/);
    expect(err.message).toMatch(/rollback of stage "admin": removed the new service stage "admin"/);
    expect(srv.get("Deployment", "pymc", DEPLOY)?.metadata.labels?.["bayes-serve/git-commit"]).toBe("c1");
    expect(srv.get("Deployment", "pymc", "bayes-serve--admin")).toBeUndefined();
  });
});

describe("failed batch stages", () => {
  it("a Job that fails stops the pipeline before the service stage, with its reason, events and log", async () => {
    const srv = await cluster({ job: () => "fail" });
    const { run } = runner(srv);
    const err = await deployError(run({ mode: "create" }));
    expect(err.message).toMatch(
      /failed at step 1 \(train\):\nstage "train" failed: Job\/bayes-serve--train-[a-z0-9]+: BackoffLimitExceeded — Job has reached the specified backoff limit \(2 attempts, retries 1\)/,
    );
    expect(err.message).toMatch(/Warning BackoffLimitExceeded job\/bayes-serve--train-\S+: Job has reached the specified backoff limit/);
    expect(err.message).toMatch(/pod\/bayes-serve--train-\S+: Failed; container train: terminated: Error, exit code 1/);
    expect(err.message).toMatch(/AccessDenied/);
    expect(srv.get("Deployment", "pymc", DEPLOY)).toBeUndefined();
    expect(srv.requests.some((r) => r.method === "PATCH" && r.path.includes("/deployments/") && r.query.dryRun === undefined)).toBe(false);
  });

  it("a fit the gate refuses (exit 3) fails the Job at once, without retries, and says latest keeps serving", async () => {
    const srv = await cluster({ job: () => "not-promoted" });
    const { run } = runner(srv);
    const err = await deployError(run({ mode: "create" }));
    expect(err.message).toMatch(
      /stage "train" failed: Job\/bayes-serve--train-[a-z0-9]+: the new fit was stored but not promoted \(exit 3: the quality gate or the comparison with latest refused it; latest keeps serving — `bayes-serve models history` says why\)/,
    );
    expect(err.message).toMatch(/predicts worse than v1/);
    const pods = srv.all("Pod", "pymc").filter((p) => p.metadata.name.startsWith("bayes-serve--train-"));
    expect(pods).toHaveLength(1); // retries 1 in this pipeline, not used
  });

  it("a Job that runs past its deadline fails with DeadlineExceeded", async () => {
    const srv = await cluster({ job: () => "hang" });
    const { run } = runner(srv, quickPipeline({ completion: 1 }));
    const err = await deployError(run());
    expect(err.message).toMatch(/stage "train" failed: Job\/\S+: DeadlineExceeded — Job was active longer than specified deadline/);
  });

  it("side by side: one failing batch stage fails the step, after both have finished", async () => {
    const text = quickPipeline({
      dag: "train, features >> scoring-service",
      extraStages: "  features:\n    args: [train, --simulate]\n    batch: {max_completion_time_seconds: 5}\n",
    });
    const srv = await cluster({ job: (j) => (j.metadata.name.includes("--features-") ? "fail" : "succeed"), jobDurationMs: 100 });
    const { run, lines } = runner(srv, text);
    const err = await deployError(run());
    expect(err.message).toMatch(/failed at step 1 \(train, features\)/);
    expect(err.message).toMatch(/stage "features" failed: Job\/bayes-serve--features-\S+: BackoffLimitExceeded/);
    expect(err.message).not.toMatch(/stage "train" failed/);
    expect(lines.join("\n")).toMatch(/train: Job\/bayes-serve--train-\S+ succeeded/);
  });
});

describe("bad input or environment: a clear error before anything is applied", () => {
  it("a missing secret", async () => {
    const srv = await cluster({}, { secret: false });
    const err = await deployError(runner(srv).run({ mode: "create" }));
    expect(err.message).toBe(
      "preflight failed, nothing was applied:\n" +
        '  - secret "aws-credentials" does not exist in namespace pymc; stages train, scoring-service read AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY from it. Create it with:\n' +
        "      bayes-serve deploy secret create aws-credentials --from-env AWS_ACCESS_KEY_ID --from-env AWS_SECRET_ACCESS_KEY",
    );
    expect(srv.writes()).toEqual([]);
  });

  it("a missing namespace (so no secret either)", async () => {
    const srv = await cluster({}, { namespace: false });
    const err = await deployError(runner(srv).run({ mode: "create" }));
    expect(err.message).toMatch(/secret "aws-credentials" does not exist in namespace pymc \(the namespace does not exist yet\)/);
    expect(srv.writes()).toEqual([]);
  });

  it("a secret without a key the stages need", async () => {
    const srv = await cluster({}, { secret: { AWS_ACCESS_KEY_ID: "x" } });
    const err = await deployError(runner(srv).run());
    expect(err.message).toMatch(
      /secret "aws-credentials" in namespace pymc has no key AWS_SECRET_ACCESS_KEY \(it has: AWS_ACCESS_KEY_ID\); stages train, scoring-service need it/,
    );
    expect(srv.writes()).toEqual([]);
  });

  it("an unreachable cluster", async () => {
    const srv = await cluster();
    const url = srv.url;
    await srv.stop();
    const api = createKubeApi(kubeConfigFor(url), { timeoutMs: 3000 });
    const err = await deployError(runPipeline(api, parsePipeline(quickPipeline()).pipeline, { mode: "create", gitCommit: "c1" }));
    expect(err.message).toMatch(
      new RegExp(
        `^cannot reach the Kubernetes API server at ${url.replace(/[.]/g, "\\.")} \\(while trying to read the server version\\): ECONNREFUSED; nothing was applied$`,
      ),
    );
  });

  it("a server that accepts connections but never answers times out clearly", async () => {
    const { createServer } = await import("node:net");
    const sockets: import("node:net").Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    try {
      const api = createKubeApi(kubeConfigFor(`http://127.0.0.1:${port}`), { timeoutMs: 300 });
      const err = await deployError(runPipeline(api, parsePipeline(quickPipeline()).pipeline, { mode: "create", gitCommit: "c1" }));
      expect(err.message).toMatch(
        /^cannot read the server version: the Kubernetes API server at http:\/\/127\.0\.0\.1:\d+ did not answer within 300 ms; nothing was applied$/,
      );
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it("credentials the server refuses", async () => {
    const srv = await cluster();
    const api = createKubeApi(kubeConfigFor(srv.url, "wrong-token"));
    const err = await deployError(runPipeline(api, parsePipeline(quickPipeline()).pipeline, { mode: "create", gitCommit: "c1" }));
    expect(err.message).toMatch(
      /cannot read the server version: Unauthorized \(your credentials were refused: check the kubeconfig's user\) \[HTTP 401\]; nothing was applied/,
    );
  });

  it("an object the server rejects (an immutable selector) is caught by the dry run, before any write", async () => {
    const srv = await cluster();
    srv.seed({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: DEPLOY, namespace: "pymc", labels: { "bayes-serve/pipeline": "bayes-serve" } },
      spec: {
        selector: { matchLabels: { app: "something-else" } },
        template: { metadata: { labels: { app: "something-else" } }, spec: { containers: [{ name: "x", image: "x" }] } },
      },
    });
    const err = await deployError(runner(srv).run());
    expect(err.message).toMatch(
      /^the API server rejected the pipeline's objects in a dry run, nothing was applied:\n {2}- cannot apply Deployment\/bayes-serve--scoring-service in namespace pymc \(dry run\): Deployment.apps "bayes-serve--scoring-service" is invalid: spec.selector: field is immutable \[HTTP 422 Invalid\]/,
    );
    expect(srv.writes()).toEqual([]);
  });

  it("no kubeconfig at all", () => {
    const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME };
    process.env.KUBECONFIG = "/nonexistent/kubeconfig";
    try {
      expect(() => loadKubeConfig()).toThrow(BayesServeError);
    } finally {
      if (saved.KUBECONFIG === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved.KUBECONFIG;
    }
    expect(() => loadKubeConfig({ kubeconfig: "/nonexistent/kubeconfig" })).toThrow(/cannot load the kubeconfig \/nonexistent\/kubeconfig/);
  });
});

describe("the stand-in answers like the API server where it matters", () => {
  it("apply needs a fieldManager; Jobs' templates are immutable; objects need their namespace", async () => {
    const srv = await cluster({}, { namespace: false });
    const api = createKubeApi(srv.kubeConfig());
    await expect(api.apply({ apiVersion: "v1", kind: "Service", metadata: { name: "s", namespace: "nowhere" }, spec: {} })).rejects.toThrow(
      /namespaces "nowhere" not found \[HTTP 404 NotFound\]/,
    );
    srv.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "pymc" } });
    const job = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "j", namespace: "pymc" },
      spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "a" }] } } },
    };
    await api.apply(job);
    await api.apply(job);
    const changed = { ...job, spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "b" }] } } } };
    await expect(api.apply(changed)).rejects.toThrow(/spec.template: field is immutable \[HTTP 422 Invalid\]/);
    const res = await fetch(`${srv.url}/api/v1/namespaces/pymc/services/x`, {
      method: "PATCH",
      headers: { authorization: "Bearer test-token", "content-type": "application/apply-patch+yaml" },
      body: "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n",
    });
    expect(res.status).toBe(400);
    expect(await api.read({ apiVersion: "v1", kind: "Service", name: "missing", namespace: "pymc" })).toBeUndefined();
    expect(await api.delete({ apiVersion: "v1", kind: "Service", name: "missing", namespace: "pymc" })).toBe(false);
    const ing: V1Ingress = { apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "i", namespace: "pymc" }, spec: {} };
    expect((await api.apply(ing, { dryRun: true })).metadata?.name).toBe("i");
    expect(await api.read({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: "i", namespace: "pymc" })).toBeUndefined();
  });
});
