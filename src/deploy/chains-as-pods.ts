// A `train` stage with `chains_as_pods: true` as two Jobs, run one after the other (orchestrate.ts):
//
// - an Indexed Job, one completion per chain, all in parallel: pod i runs `train --chain-index i --chains n --stage
//   <store>/staging/<stage>-<run id>` with the stage's args — chain i of the fit with its own seed stream — and writes
//   it to the staging prefix. Each index is retried on its own (backoffLimitPerIndex, Kubernetes ≥ 1.29 beta, GA in
//   1.33): a retried pod runs its chain again and replaces only its own object. One index out of retries fails the Job
//   at once (maxFailedIndexes 0): a merge without it could not succeed. Evictions and pre-emptions (the
//   DisruptionTarget condition) do not count against a chain's retries.
// - a Job that runs `train --merge <the same prefix>` with the same args: it checks every chain is there, whole and of
//   this fit, then diagnoses, gates, evaluates, reports and publishes as a one-pod training Job does (except that it
//   cannot fit again at a higher target acceptance when the fit diverges: `--divergence-retries` needs one process).
//
// Each chain pod gets its share of the stage's CPU (the stage's request and limit divided by the chains: a stage that
// asked for 2 cores for 2 chains in one pod gets a core per chain pod) and the stage's memory (every pod reads all the
// data); the merge pod gets the stage's resources. The staging prefix is the run's own, so chains of two runs never
// mix; the merge also refuses any chain whose fingerprint (model, data, settings) is not its own.
import type { V1EnvVar, V1Job, V1PodFailurePolicyRule } from "@kubernetes/client-node";
import { EXIT_NOT_PROMOTED, EXIT_STAGE_REFUSED } from "../train/promotion.js";
import { CHAINS_JOB_SUFFIX, MERGE_JOB_SUFFIX } from "./pipeline-schema.js";
import { stageResourceName, type BatchStage, type Pipeline, type Resources } from "./pipeline.js";
import { LABEL_RUN, stageLabels } from "./labels.js";
import type { RenderedBatchStage, RenderOptions } from "./render.js";
import { podSpec } from "./stage-pod.js";

/** Label telling a chain pod from the merge pod. */
export const LABEL_PART = "bayes-serve/part";

/** Where a run's chains are staged: under the stage's store, a prefix of this run's own. */
export function stagingUri(store: string, stageName: string, runId: string): string {
  return `${store.replace(/\/+$/, "")}/staging/${stageName}-${runId}`;
}

/** The stage's CPU divided among its chains (to the millicore, at least 1m); memory as the stage's. */
function chainShare(r: Resources, chains: number): Resources {
  const share = (cores: number | undefined) => (cores === undefined ? undefined : Math.max(0.001, Math.round((cores / chains) * 1000) / 1000));
  const cpuRequest = share(r.cpuRequest);
  const cpuLimit = share(r.cpuLimit);
  return { ...r, ...(cpuRequest !== undefined ? { cpuRequest } : {}), ...(cpuLimit !== undefined ? { cpuLimit } : {}) };
}

export function renderChainsAsPods(pipeline: Pipeline, stage: BatchStage, options: RenderOptions): RenderedBatchStage {
  const pods = stage.batch.chainsAsPods;
  if (pods === undefined) throw new Error(`internal: stage ${stage.name} does not run chains as pods`);
  const name = `${stageResourceName(pipeline, stage.name)}-${options.runId}`;
  const staging = stagingUri(pods.store, stage.name, options.runId);
  const labels = { ...stageLabels(pipeline, stage, options.gitCommit), [LABEL_RUN]: options.runId };
  const meta = (jobName: string) => ({ name: jobName, namespace: pipeline.namespace, labels });

  const chainStage: BatchStage = {
    ...stage,
    args: [...stage.args, "--chain-index", "$(JOB_COMPLETION_INDEX)", "--stage", staging],
    resources: chainShare(stage.resources, pods.chains),
  };
  const chainPod = podSpec(pipeline, chainStage, options, "Never");
  // The index of this pod's completion, from the annotation the Job controller sets (declared here, not left to the
  // controller's injection, so that `$(JOB_COMPLETION_INDEX)` in the args expands on any version that runs Indexed Jobs).
  const index: V1EnvVar = {
    name: "JOB_COMPLETION_INDEX",
    valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
  };
  chainPod.containers[0].env = [index, ...(chainPod.containers[0].env ?? [])];
  const ignoreDisruptions: V1PodFailurePolicyRule = { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] };
  const chainsJob: V1Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta(`${name}${CHAINS_JOB_SUFFIX}`),
    spec: {
      completionMode: "Indexed",
      completions: pods.chains,
      parallelism: pods.chains,
      backoffLimitPerIndex: stage.batch.retries,
      maxFailedIndexes: 0,
      activeDeadlineSeconds: stage.batch.maxCompletionTimeSeconds,
      podFailurePolicy: { rules: [ignoreDisruptions] },
      template: { metadata: { labels: { ...labels, [LABEL_PART]: "chain" } }, spec: chainPod },
    },
  };

  const mergeStage: BatchStage = { ...stage, args: [...stage.args, "--merge", staging] };
  const mergeJob: V1Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta(`${name}${MERGE_JOB_SUFFIX}`),
    spec: {
      backoffLimit: stage.batch.retries,
      activeDeadlineSeconds: stage.batch.maxCompletionTimeSeconds,
      // Neither a fit the gate refused nor chains the merge refused get better by running the merge again.
      podFailurePolicy: {
        rules: [
          { action: "FailJob", onExitCodes: { containerName: stage.name, operator: "In", values: [EXIT_NOT_PROMOTED, EXIT_STAGE_REFUSED] } },
          ignoreDisruptions,
        ],
      },
      completions: 1,
      parallelism: 1,
      template: { metadata: { labels: { ...labels, [LABEL_PART]: "merge" } }, spec: podSpec(pipeline, mergeStage, options, "Never") },
    },
  };
  return { type: "batch", stage, name: `${name}${MERGE_JOB_SUFFIX}`, job: chainsJob, mergeJob };
}
