// Pure rendering: a checked Pipeline → the Kubernetes objects that run it. No I/O, no clock, no randomness (the run id
// and git commit come in as options), so `bayes-serve deploy render` prints exactly what `create`/`update` apply.
// This module renders a pipeline as a whole (its namespace, then its DAG's stages) and writes objects as YAML; each
// kind of object has its own renderer: a batch stage's Job (render-job.ts), a service stage's objects
// (render-service.ts), the pod either runs in (stage-pod.ts), the retraining CronJob (render-retraining.ts); the labels
// they share are labels.ts's. Everything they export is exported from here too: the rendering API in one import.
import { stringify } from "yaml";
import type {
  KubernetesObject,
  V1Deployment,
  V1Ingress,
  V1Job,
  V1Namespace,
  V1PodDisruptionBudget,
  V1Service,
  V2HorizontalPodAutoscaler,
} from "@kubernetes/client-node";
import { BayesServeError } from "../errors.js";
import { checkGitCommitLabel, FIELD_MANAGER } from "./labels.js";
import type { BatchStage, Pipeline, ServiceStage } from "./pipeline.js";
import { renderBatchStage } from "./render-job.js";
import { renderServiceStage } from "./render-service.js";

export { cronJobSchedule } from "./cron-schedule.js";
export { ANNOTATION_RESTARTED_AT, FIELD_MANAGER, LABEL_GIT_COMMIT, LABEL_PIPELINE, LABEL_RUN, LABEL_STAGE, selectorLabels, stageLabels } from "./labels.js";
export { renderBatchStage } from "./render-job.js";
export {
  IN_CLUSTER_PIPELINE_DIR,
  IN_CLUSTER_PIPELINE_FILE,
  renderRetraining,
  retrainingName,
  retrainingObjects,
  type RenderedRetraining,
  type RetrainingOptions,
} from "./render-retraining.js";
export { renderServiceStage } from "./render-service.js";
export { container, cpuQuantity, podSpec, PRESTOP_DELAY_SECONDS, serviceTerminationSeconds, stageArgs } from "./stage-pod.js";
export { GRACE_SECONDS, pipelineBudgetSeconds } from "./time-budget.js";

export interface RenderOptions {
  /** Goes into the `bayes-serve/git-commit` label; "unknown" when not in a git checkout. */
  gitCommit: string;
  /** Suffix of this run's Job names: lower-case letters and digits, at most 10 characters. */
  runId: string;
  /** Overrides `pipeline.image` (e.g. an image tagged by CI). */
  image?: string;
  /** Adds a pod-template annotation so every service stage rolls out again even if nothing else changed. */
  restartedAt?: string;
}

export interface RenderedBatchStage {
  type: "batch";
  stage: BatchStage;
  name: string;
  job: V1Job;
  /** With chains as pods (chains-as-pods.ts): `job` runs the chains, this Job then merges them. */
  mergeJob?: V1Job;
}

export interface RenderedServiceStage {
  type: "service";
  stage: ServiceStage;
  name: string;
  deployment: V1Deployment;
  service: V1Service;
  ingress?: V1Ingress;
  hpa?: V2HorizontalPodAutoscaler;
  pdb?: V1PodDisruptionBudget;
}

export type RenderedStage = RenderedBatchStage | RenderedServiceStage;

export interface RenderedPipeline {
  namespace: V1Namespace;
  /** One entry per DAG step, in order; the stages of a step run side by side. */
  steps: RenderedStage[][];
}

/** A new run id: seconds since the epoch in base 36 plus three random base-36 characters (10 characters). */
export function newRunId(nowMs: number = Date.now(), random: () => number = Math.random): string {
  const time = Math.floor(nowMs / 1000)
    .toString(36)
    .padStart(7, "0")
    .slice(-7);
  let rand = "";
  for (let i = 0; i < 3; i++) rand += Math.floor(random() * 36).toString(36);
  return `${time}${rand}`;
}

export function renderPipeline(pipeline: Pipeline, options: RenderOptions): RenderedPipeline {
  checkOptions(options);
  const steps = pipeline.dag.map((step) =>
    step.map((name): RenderedStage => {
      const stage = pipeline.stages[name];
      if (stage === undefined) throw new Error(`internal: DAG names unknown stage ${name}`);
      return stage.type === "batch" ? renderBatchStage(pipeline, stage, options) : renderServiceStage(pipeline, stage, options);
    }),
  );
  return { namespace: renderNamespace(pipeline), steps };
}

/** Every object of a rendered pipeline in apply order (namespace first, then the DAG). */
export function renderedObjects(rendered: RenderedPipeline): KubernetesObject[] {
  return [rendered.namespace, ...rendered.steps.flat().flatMap(stageObjects)];
}

export function stageObjects(rs: RenderedStage): KubernetesObject[] {
  if (rs.type === "batch") return rs.mergeJob !== undefined ? [rs.job, rs.mergeJob] : [rs.job];
  return [rs.deployment, rs.service, rs.ingress, rs.hpa, rs.pdb].filter((o): o is NonNullable<typeof o> => o !== undefined);
}

export function renderNamespace(pipeline: Pipeline): V1Namespace {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: pipeline.namespace,
      labels: {
        "app.kubernetes.io/managed-by": FIELD_MANAGER,
        // Warn and audit (never enforce: the namespace may be shared) against the "restricted" Pod Security Standard,
        // which every pod rendered here meets.
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
      },
    },
  };
}

/** Multi-document YAML, one document per object, ready for `kubectl apply -f -`. */
export function toYaml(objects: KubernetesObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
}

function checkOptions(options: RenderOptions): void {
  checkGitCommitLabel(options.gitCommit);
  if (!/^[a-z0-9]{1,10}$/.test(options.runId)) {
    throw new BayesServeError("CONFIG", `run id "${options.runId}" must be 1-10 lower-case letters or digits`);
  }
  if (options.image !== undefined && !/^[^\s]+$/.test(options.image)) {
    throw new BayesServeError("CONFIG", `--image "${options.image}" is not a container image reference`);
  }
}
