// `chains_as_pods: true`: the train stage as an Indexed Job of chain pods and a merge Job — validated against the
// Kubernetes v1.36 OpenAPI schemas (kubernetes-models) and @kubernetes/client-node's serializer as render.test.ts does,
// checked by `deploy validate`, and run in order by the orchestrator against the API server stand-in.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { V1Job } from "@kubernetes/client-node";
import { BayesServeError } from "../../src/errors.js";
import { asSerialized, validateK8s } from "./k8s-schemas.js";
import { renderKServe, renderKServeRetraining } from "../../src/deploy/kserve.js";
import { createKubeApi } from "../../src/deploy/kube-client.js";
import { runPipeline } from "../../src/deploy/orchestrate.js";
import { parsePipeline } from "../../src/deploy/pipeline.js";
import { checkPipelineText } from "../../src/deploy/pipeline-checks.js";
import { pipelineBudgetSeconds, renderPipeline, renderRetraining, renderedObjects, retrainingObjects } from "../../src/deploy/render.js";
import { startCluster, stopClusters } from "./cluster.js";
import type { Obj } from "./fake-apiserver.js";
import { quickPipeline } from "./fixtures.js";

afterEach(stopClusters);

const seedText = readFileSync(resolve(import.meta.dirname, "../../bayes-serve.yaml"), "utf8");
const podsText = seedText
  .replace(
    "args: [train, --simulate, --store, s3://your-bucket/bayes-serve]",
    'args: [train, --simulate, --store, s3://your-bucket/bayes-serve, --chains, "4"]',
  )
  .replace("    cpu_request: 1.0\n    memory_request_mb: 750\n    secrets:", "    cpu_request: 4.0\n    cpu_limit: 6\n    memory_request_mb: 750\n    secrets:")
  .replace("      retries: 2\n", "      retries: 2\n      chains_as_pods: true\n");
const loaded = parsePipeline(podsText, "pods.yaml");
const opts = { gitCommit: "0123456789abcdef0123456789abcdef01234567", runId: "t1abc2def" };

describe("a train stage with chains as pods renders as an Indexed Job of chains, then a merge Job", () => {
  const rendered = renderPipeline(loaded.pipeline, opts);
  const stage = rendered.steps[0][0];
  if (stage.type !== "batch" || stage.mergeJob === undefined) throw new Error("expected a batch stage with a merge Job");
  const chains: V1Job = stage.job;
  const merge: V1Job = stage.mergeJob;
  const chainContainer = chains.spec!.template.spec!.containers[0];
  const mergeContainer = merge.spec!.template.spec!.containers[0];
  const staging = "s3://your-bucket/bayes-serve/staging/train-t1abc2def";

  it("every object (and the retraining CronJob with its RBAC) validates against the v1.36 schemas and the client's models", () => {
    expect(podsText).toContain("chains_as_pods: true");
    const objects = [
      ...renderedObjects(rendered),
      ...retrainingObjects(
        renderRetraining(loaded.pipeline, { schedule: "0 3 * * *", timeZone: "Etc/UTC", gitCommit: opts.gitCommit, pipelineText: loaded.text }),
      ),
    ];
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`).slice(0, 3)).toEqual([
      "Namespace/pymc",
      "Job/bayes-serve--train-t1abc2def-chains",
      "Job/bayes-serve--train-t1abc2def-merge",
    ]);
    for (const o of objects) {
      expect(() => validateK8s(o), `${o.kind}/${o.metadata?.name}`).not.toThrow();
      expect(asSerialized(o), `${o.kind}/${o.metadata?.name}`).toEqual(JSON.parse(JSON.stringify(o)));
    }
    // The validator is live for these fields: a wrong completion mode is rejected.
    const broken = JSON.parse(JSON.stringify(chains)) as V1Job;
    broken.spec!.completions = "two" as unknown as number;
    expect(() => validateK8s(broken)).toThrow();
  });

  it("one completion per chain, all at once, each index retried on its own and none given up on", () => {
    expect(chains.spec).toMatchObject({
      completionMode: "Indexed",
      completions: 4,
      parallelism: 4,
      backoffLimitPerIndex: 2,
      maxFailedIndexes: 0,
      activeDeadlineSeconds: 900,
    });
    expect(chains.spec?.backoffLimit).toBeUndefined();
    expect(chains.spec?.template.spec?.restartPolicy).toBe("Never");
    expect(chains.spec?.podFailurePolicy?.rules).toEqual([{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] }]);
  });

  it("pod i runs chain i into the run's own staging prefix, with the index from the Job controller's annotation", () => {
    expect(chainContainer.args).toEqual([
      "train",
      "--simulate",
      "--store",
      "s3://your-bucket/bayes-serve",
      "--chains",
      "4",
      "--chain-index",
      "$(JOB_COMPLETION_INDEX)",
      "--stage",
      staging,
    ]);
    expect(chainContainer.env?.[0]).toEqual({
      name: "JOB_COMPLETION_INDEX",
      valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
    });
    expect(chainContainer.env?.map((e) => e.name)).toEqual(expect.arrayContaining(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "HOME"]));
    expect(chains.spec?.template.metadata?.labels?.["bayes-serve/part"]).toBe("chain");
  });

  it("each chain pod gets its share of the stage's CPU and all of its memory; the merge pod gets the stage's", () => {
    expect(chainContainer.resources).toEqual({ requests: { cpu: "1", memory: "750M" }, limits: { cpu: "1500m", memory: "750M" } });
    expect(mergeContainer.resources).toEqual({ requests: { cpu: "4", memory: "750M" }, limits: { cpu: "6", memory: "750M" } });
  });

  it("the merge reads the same prefix and is not retried when it refuses the chains (4) or the gate refuses the fit (3)", () => {
    expect(mergeContainer.args).toEqual(["train", "--simulate", "--store", "s3://your-bucket/bayes-serve", "--chains", "4", "--merge", staging]);
    expect(merge.spec).toMatchObject({ completions: 1, parallelism: 1, backoffLimit: 2, activeDeadlineSeconds: 900 });
    expect(merge.spec?.podFailurePolicy?.rules[0]).toEqual({ action: "FailJob", onExitCodes: { containerName: "train", operator: "In", values: [3, 4] } });
    expect(merge.spec?.template.metadata?.labels?.["bayes-serve/part"]).toBe("merge");
  });

  it("a run's staging prefix is its own; the retraining CronJob allows for both Jobs", () => {
    const other = renderPipeline(loaded.pipeline, { ...opts, runId: "t1abc2xyz" }).steps[0][0];
    expect(other.type === "batch" && other.job.spec?.template.spec?.containers[0].args?.at(-1)).toBe("s3://your-bucket/bayes-serve/staging/train-t1abc2xyz");
    const plain = parsePipeline(seedText).pipeline;
    expect(pipelineBudgetSeconds(loaded.pipeline) - pipelineBudgetSeconds(plain)).toBe(900 + 30);
  });

  it("KServe: both Jobs are rendered; its one-pod retraining CronJob refuses chains as pods, saying what to use", () => {
    const k = renderKServe(loaded.pipeline, opts);
    expect(k.jobs.map((j) => j.metadata?.name)).toEqual(["bayes-serve--train-t1abc2def-chains", "bayes-serve--train-t1abc2def-merge"]);
    let err: unknown;
    try {
      renderKServeRetraining(loaded.pipeline, { schedule: "0 3 * * *", gitCommit: "abc", pipelineText: loaded.text, runId: "t1abc2def" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BayesServeError);
    expect((err as Error).message).toMatch(/stage train runs its chains as pods.*bayes-serve deploy cronjob create/);
  });
});

describe("deploy validate checks a chains_as_pods stage", () => {
  // Each message begins with the field's path; each problem has the line it is on.
  const problems = (text: string) =>
    checkPipelineText(text).problems.map((p) => {
      expect(p.line).toBeGreaterThan(0);
      return p.message;
    });

  it("accepts the example, and warns about a single chain", () => {
    expect(problems(podsText)).toEqual([]);
    expect(checkPipelineText(podsText.replace('--chains, "4"', '--chains, "1"')).warnings).toEqual([
      expect.stringMatching(/stages\.train\.batch\.chains_as_pods: --chains 1/),
    ]);
  });

  it("refuses a store the pods cannot share, a non-train stage, a command, flags it sets itself and a bad chain count", () => {
    expect(problems(podsText.replace("--store, s3://your-bucket/bayes-serve, --chains", "--store, ./artifacts, --chains"))).toEqual([
      expect.stringMatching(
        /^stages\.train\.args: the chains' pods and the merge share no disk: --store must be s3:\/\/bucket\/prefix \(got "\.\/artifacts"\)/,
      ),
    ]);
    expect(problems(podsText.replace('args: [train, --simulate, --store, s3://your-bucket/bayes-serve, --chains, "4"]', "args: [train, --simulate]"))).toEqual([
      expect.stringMatching(/--store must be s3:\/\/bucket\/prefix \(got none, the default \.\/artifacts\)/),
    ]);
    expect(problems(podsText.replace("args: [train, --simulate,", "args: [serve, --simulate,"))).toEqual([
      expect.stringMatching(/needs a `train` stage: args must begin with train \(got "serve"\)/),
    ]);
    expect(problems(podsText.replace("    cpu_request: 4.0\n", "    command: [node, dist/cli/main.js]\n    cpu_request: 4.0\n"))).toEqual([
      expect.stringMatching(/^stages\.train\.command: runs `bayes-serve train` itself/),
    ]);
    expect(problems(podsText.replace('--chains, "4"]', '--chains, "4", --stage, s3://x/y]'))).toEqual([
      expect.stringMatching(/passes --stage, which chains_as_pods sets for each pod itself/),
    ]);
    expect(problems(podsText.replace('--chains, "4"', '--chains, "0"'))).toEqual([
      expect.stringMatching(/--chains must be an integer from 1 to 64 \(got "0"\)/),
    ]);
    expect(problems(podsText.replace("chains_as_pods: true", "chains_as_pods: yes please"))).toEqual([
      expect.stringMatching(/^stages\.train\.batch\.chains_as_pods: .*boolean/),
    ]);
  });

  it("refuses names too long for the chain pods' host names", () => {
    const long = podsText.replace("  train:\n", "  train-the-model-with-a-long-name:\n").replace("DAG: train >>", "DAG: train-the-model-with-a-long-name >>");
    expect(problems(long)).toEqual([
      expect.stringMatching(/host names "bayes-serve--train-the-model-with-a-long-name-<run id>-chains-<index>" would exceed Kubernetes' 63 characters/),
    ]);
  });
});

describe("deploy create runs the chains' Job, then the merge's", () => {
  const text = quickPipeline().replace("      retries: 1\n", "      retries: 1\n      chains_as_pods: true\n");

  async function run(job: (j: Obj) => "succeed" | "fail" | "stage-refused") {
    const srv = await startCluster({ job });
    const lines: string[] = [];
    const api = createKubeApi(srv.kubeConfig(), { timeoutMs: 5000 });
    const result = runPipeline(api, parsePipeline(text).pipeline, {
      mode: "create",
      gitCommit: "c1",
      runId: "r1abcdefgh",
      pollIntervalMs: 10,
      graceSeconds: 1,
      log: (l) => lines.push(l),
    });
    const applied = () =>
      srv
        .writes()
        .filter((w) => w.query.dryRun === undefined && w.path.includes("/jobs/"))
        .map((w) => w.path.split("/").pop());
    return { result, lines, applied };
  }

  it("applies the merge Job only once the chains' Job has completed, and reports both", async () => {
    const { result, lines, applied } = await run(() => "succeed");
    const done = await result;
    expect(applied()).toEqual(["bayes-serve--train-r1abcdefgh-chains", "bayes-serve--train-r1abcdefgh-merge"]);
    expect(done.stages[0]).toMatchObject({
      stage: "train",
      type: "batch",
      objects: ["Job/bayes-serve--train-r1abcdefgh-chains", "Job/bayes-serve--train-r1abcdefgh-merge"],
    });
    expect(lines.join("\n")).toMatch(/-chains succeeded in \d+ s[\s\S]*-merge succeeded/);
  });

  it("a failed chain fails the stage without a merge; a merge that refuses the chains says so", async () => {
    const failedChain = await run((j) => (String(j.metadata.name).endsWith("-chains") ? "fail" : "succeed"));
    const err1 = await failedChain.result.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err1).toBeInstanceOf(BayesServeError);
    expect((err1 as Error).message).toContain("Job/bayes-serve--train-r1abcdefgh-chains");
    expect(failedChain.applied()).toEqual(["bayes-serve--train-r1abcdefgh-chains"]);

    const refused = await run((j) => (String(j.metadata.name).endsWith("-merge") ? "stage-refused" : "succeed"));
    const err2 = await refused.result.then(
      () => null,
      (e: unknown) => e,
    );
    expect((err2 as Error).message).toContain("Job/bayes-serve--train-r1abcdefgh-merge: the merge refused the staged chains (exit 4");
  });
});
