// KServe as a deploy target (`deploy render --target kserve`): each service stage becomes a ServingRuntime (our image
// speaking the Open Inference Protocol, v2) and an InferenceService whose storageUri is the stage's S3 store; the batch
// stages are the same Jobs as for the plain target. Pure, like render.ts.
//
// How the store reaches the server: for any storageUri KServe injects its storage initializer, which copies every
// object under s3://bucket/prefix (with KServe's S3 credentials) into /mnt/models before the server starts, keys less
// the prefix: the store's own layout, versions/ and latest, which `serve` reads as a local store. The runtime serves
// that copy, `serve --model /mnt/models[@VERSION]`, with polling off (the copy never changes): a new version reaches a
// KServe deployment as a new revision of the InferenceService, which is what KServe's canary rollout
// (canaryTrafficPercent) works on. A pinned version is in the predictor's args, so changing it makes a new revision.
//
// Deployment modes: "RawDeployment" (a Deployment per revision, as the plain target) unless a canary is asked for,
// which KServe implements only by Knative's traffic split ("Serverless"). These are the modes' long-standing names;
// KServe 0.15+ reads them as Standard and Knative. Knative refuses some pod fields the plain target sets (a preStop
// hook, the grace period, the pod's securityContext, a startup probe): Knative's queue-proxy drains a stopping pod
// itself, and the container's own securityContext keeps it non-root.
import type { KubernetesObject, V1Container, V1CronJob, V1Job, V1Namespace, V1Probe } from "@kubernetes/client-node";
import { isVersionId } from "../artifact/version-id.js";
import { EXIT_NOT_PROMOTED } from "../train/promotion.js";
import { parseModelRef } from "../artifact/store.js";
import { BayesServeError } from "../errors.js";
import {
  container,
  cronJobSchedule,
  renderBatchStage,
  renderNamespace,
  retrainingName,
  serviceTerminationSeconds,
  stageLabels,
  type RenderOptions,
  type RetrainingOptions,
} from "./render.js";
import { stageResourceName, type BatchStage, type Pipeline, type ServiceStage } from "./pipeline.js";
import { restrictedPodSecurity } from "./pod-security.js";

export const KSERVE_API_VERSION = "serving.kserve.io/v1beta1";
export const SERVING_RUNTIME_API_VERSION = "serving.kserve.io/v1alpha1";
/** The model format our runtime declares and our InferenceServices ask for. */
export const KSERVE_MODEL_FORMAT = "bayes-serve";
/** Where KServe's storage initializer puts the storageUri's contents, and the port KServe expects a runtime on. */
export const KSERVE_MODEL_DIR = "/mnt/models";
export const KSERVE_PORT = 8080;

/** A ServingRuntime (serving.kserve.io/v1alpha1); its shape is checked against KServe's CRD schema in the tests. */
export interface ServingRuntime extends KubernetesObject {
  spec: {
    supportedModelFormats: { name: string; version: string; autoSelect: boolean; priority: number }[];
    protocolVersions: string[];
    multiModel: boolean;
    annotations: Record<string, string>;
    containers: V1Container[];
    volumes: { name: string; emptyDir: { sizeLimit: string } }[];
    imagePullSecrets?: { name: string }[];
  };
}

/** An InferenceService (serving.kserve.io/v1beta1). */
export interface InferenceService extends KubernetesObject {
  spec: { predictor: Record<string, unknown> };
}

export interface RenderedKServeStage {
  stage: ServiceStage;
  name: string;
  runtime: ServingRuntime;
  inferenceService: InferenceService;
}

export interface RenderedKServe {
  namespace: V1Namespace;
  /** The batch stages' Jobs, in the DAG's order. */
  jobs: V1Job[];
  services: RenderedKServeStage[];
}

/** KServe's deployment modes, by the names every KServe release reads. */
export const KSERVE_DEPLOYMENT_MODES = ["RawDeployment", "Serverless"] as const;
export type KServeDeploymentMode = (typeof KSERVE_DEPLOYMENT_MODES)[number];

export interface KServeOptions extends RenderOptions {
  /** The predictor's canaryTrafficPercent: the share of traffic the new revision gets while the last ready one keeps the rest. */
  canaryTrafficPercent?: number;
  /** Default RawDeployment, or Serverless when a canary is asked for (the only mode KServe splits traffic in). */
  deploymentMode?: KServeDeploymentMode;
  /** Pins this version of the store (instead of the stage's `--model …@VERSION`, or its latest). */
  modelVersion?: string;
  /** The predictor's service account: the one KServe's storage initializer takes its S3 credentials from. */
  serviceAccountName?: string;
}

/** The value of `--flag V` or `--flag=V` in args, and the args without it. */
function takeFlag(args: readonly string[], flag: string): { value: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) {
      value = args[i + 1];
      i++;
    } else if (args[i].startsWith(`${flag}=`)) value = args[i].slice(flag.length + 1);
    else rest.push(args[i]);
  }
  return { value, rest };
}

/** The store a service stage serves (its `--model`), which must be on S3 for KServe's storageUri. */
export function kserveStorage(stage: ServiceStage): { storageUri: string; version: string | null } {
  const { value } = takeFlag(stage.args, "--model");
  if (stage.command !== undefined || stage.args[0] !== "serve" || value === undefined)
    throw new BayesServeError(
      "CONFIG",
      `stage "${stage.name}": --target kserve needs a service stage that runs \`serve --model s3://bucket/prefix[@VERSION]\``,
    );
  const { storeUri, version } = parseModelRef(value);
  if (!/^s3:\/\/[^/]+/.test(storeUri))
    throw new BayesServeError(
      "CONFIG",
      `stage "${stage.name}": --model ${value}: KServe's storageUri must be the S3 store (s3://bucket/prefix), which its storage initializer copies into ${KSERVE_MODEL_DIR}`,
    );
  return { storageUri: storeUri.replace(/\/+$/, ""), version };
}

export function renderKServeStage(pipeline: Pipeline, stage: ServiceStage, options: KServeOptions): RenderedKServeStage {
  const name = stageResourceName(pipeline, stage.name);
  const labels = stageLabels(pipeline, stage, options.gitCommit);
  const meta = { name, namespace: pipeline.namespace, labels };
  const storage = kserveStorage(stage);
  const { storageUri } = storage;
  const version = options.modelVersion ?? storage.version;
  const mode = deploymentModeOf(options);
  const knative = mode === "Serverless";
  // The stage's serve flags, less those KServe decides: where the model is, the port, polling (the copy is fixed).
  let args = stage.args.slice(1);
  for (const flag of ["--model", "--port", "--poll-interval", "--model-name"]) args = takeFlag(args, flag).rest;
  const plain = container(pipeline, { ...stage, args: ["serve", ...args] }, options);
  const port = KSERVE_PORT;
  const probe = (p: V1Probe | undefined): V1Probe | undefined => (p === undefined || p.httpGet === undefined ? p : { ...p, httpGet: { ...p.httpGet, port } });
  const runtimeContainer: V1Container = {
    ...plain,
    // KServe merges the InferenceService's container into the runtime's by this name.
    name: "kserve-container",
    // {{.Name}}: KServe puts the InferenceService's name here, the name V2 clients call the model by.
    args: [...(plain.args ?? []), "--port", String(port), "--poll-interval", "0", "--model-name", "{{.Name}}"],
    ports: [{ containerPort: port, protocol: "TCP" }],
    startupProbe: probe(plain.startupProbe),
    readinessProbe: probe(plain.readinessProbe),
    livenessProbe: probe(plain.livenessProbe),
  };
  if (knative) {
    // What Knative's admission refuses (its PodSpec and Container masks): a lifecycle hook, a startup probe, a
    // privilege-escalation setting. The startup allowance moves to the liveness probe's initial delay.
    delete runtimeContainer.lifecycle;
    delete runtimeContainer.startupProbe;
    const startup = plain.startupProbe;
    if (runtimeContainer.livenessProbe !== undefined && startup !== undefined)
      runtimeContainer.livenessProbe = {
        ...runtimeContainer.livenessProbe,
        initialDelaySeconds: (startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3),
      };
    // Knative has no pod securityContext here (see above): the container's own carries the user and stays non-root.
    runtimeContainer.securityContext = {
      runAsNonRoot: true,
      runAsUser: pipeline.runAsUser,
      runAsGroup: pipeline.runAsUser,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    };
  }
  const runtime: ServingRuntime = {
    apiVersion: SERVING_RUNTIME_API_VERSION,
    kind: "ServingRuntime",
    metadata: meta,
    spec: {
      supportedModelFormats: [{ name: KSERVE_MODEL_FORMAT, version: "1", autoSelect: true, priority: 1 }],
      protocolVersions: ["v2"],
      multiModel: false,
      annotations: { "prometheus.kserve.io/port": String(port), "prometheus.kserve.io/path": "/metrics" },
      containers: [runtimeContainer],
      volumes: [{ name: "tmp", emptyDir: { sizeLimit: "1Gi" } }],
      ...(pipeline.imagePullSecrets.length > 0 ? { imagePullSecrets: pipeline.imagePullSecrets.map((n) => ({ name: n })) } : {}),
    },
  };
  const svc = stage.service;
  const replicas =
    svc.autoscaling === undefined
      ? { minReplicas: svc.replicas, maxReplicas: svc.replicas }
      : { minReplicas: svc.autoscaling.minReplicas, maxReplicas: svc.autoscaling.maxReplicas };
  const inferenceService: InferenceService = {
    apiVersion: KSERVE_API_VERSION,
    kind: "InferenceService",
    metadata: { ...meta, annotations: { "serving.kserve.io/deploymentMode": mode } },
    spec: {
      predictor: {
        ...replicas,
        ...(svc.autoscaling !== undefined ? { scaleMetric: "cpu", scaleTarget: svc.autoscaling.targetCpuUtilization } : {}),
        ...(options.canaryTrafficPercent !== undefined ? { canaryTrafficPercent: options.canaryTrafficPercent } : {}),
        // As the plain target's pods: no API token; (RawDeployment) the preStop delay and drain within the grace period.
        ...(options.serviceAccountName !== undefined ? { serviceAccountName: options.serviceAccountName } : {}),
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        ...(knative
          ? {}
          : {
              terminationGracePeriodSeconds: serviceTerminationSeconds(stage),
              securityContext: restrictedPodSecurity(pipeline.runAsUser),
            }),
        model: {
          modelFormat: { name: KSERVE_MODEL_FORMAT, version: "1" },
          runtime: name,
          protocolVersion: "v2",
          storageUri,
          // Appended to the runtime's args: the copy, pinned to a version or following its `latest`.
          args: ["--model", version === null ? KSERVE_MODEL_DIR : `${KSERVE_MODEL_DIR}@${version}`],
        },
      },
    },
  };
  return { stage, name, runtime, inferenceService };
}

function deploymentModeOf(options: KServeOptions): KServeDeploymentMode {
  return options.deploymentMode ?? (options.canaryTrafficPercent !== undefined ? "Serverless" : "RawDeployment");
}

export function renderKServe(pipeline: Pipeline, options: KServeOptions): RenderedKServe {
  if (
    options.canaryTrafficPercent !== undefined &&
    !(Number.isInteger(options.canaryTrafficPercent) && options.canaryTrafficPercent >= 0 && options.canaryTrafficPercent <= 100)
  )
    throw new BayesServeError("CONFIG", `--canary-traffic-percent ${options.canaryTrafficPercent}: an integer from 0 to 100`);
  if (options.deploymentMode !== undefined && !KSERVE_DEPLOYMENT_MODES.includes(options.deploymentMode))
    throw new BayesServeError("CONFIG", `--deployment-mode ${String(options.deploymentMode)}: one of ${KSERVE_DEPLOYMENT_MODES.join(", ")}`);
  if (options.canaryTrafficPercent !== undefined && deploymentModeOf(options) !== "Serverless")
    throw new BayesServeError(
      "CONFIG",
      "--canary-traffic-percent: KServe splits traffic between revisions only in Serverless (Knative) mode; leave out --deployment-mode RawDeployment",
    );
  if (
    options.serviceAccountName !== undefined &&
    !(options.serviceAccountName.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(options.serviceAccountName))
  )
    throw new BayesServeError(
      "CONFIG",
      `--service-account ${options.serviceAccountName}: not a Kubernetes object name (lower-case letters, digits, '-' and '.')`,
    );
  if (options.modelVersion !== undefined && !isVersionId(options.modelVersion))
    throw new BayesServeError("CONFIG", `--model-version ${options.modelVersion}: not a version id (bayes-serve models list shows them)`);
  const jobs: V1Job[] = [];
  const services: RenderedKServeStage[] = [];
  for (const step of pipeline.dag) {
    for (const name of step) {
      const stage = pipeline.stages[name];
      if (stage === undefined) throw new Error(`internal: DAG names unknown stage ${name}`);
      if (stage.type === "batch") {
        const rendered = renderBatchStage(pipeline, stage, options);
        jobs.push(rendered.job, ...(rendered.mergeJob !== undefined ? [rendered.mergeJob] : []));
      } else services.push(renderKServeStage(pipeline, stage, options));
    }
  }
  return { namespace: renderNamespace(pipeline), jobs, services };
}

export function kserveObjects(r: RenderedKServe): KubernetesObject[] {
  return [r.namespace, ...r.jobs, ...r.services.flatMap((s) => [s.runtime, s.inferenceService])];
}

/**
 * Scheduled retraining for KServe: a CronJob that runs the pipeline's batch stages in the DAG's order (each an init
 * container of one pod, the last its container) and publishes to the store; the InferenceService picks the new version
 * up at its next revision. It needs no Kubernetes API rights, unlike the plain target's in-cluster `deploy update`.
 */
export function renderKServeRetraining(pipeline: Pipeline, options: RetrainingOptions & { runId: string }): V1CronJob {
  const batch = pipeline.dag
    .flat()
    .map((n) => pipeline.stages[n])
    .filter((s): s is BatchStage => s?.type === "batch");
  if (batch.length === 0) throw new BayesServeError("CONFIG", "--schedule with --target kserve: the pipeline has no batch stage to run");
  const podsPerChain = batch.find((s) => s.batch.chainsAsPods !== undefined);
  if (podsPerChain !== undefined)
    throw new BayesServeError(
      "CONFIG",
      `--schedule with --target kserve: stage ${podsPerChain.name} runs its chains as pods, but KServe's retraining CronJob runs the batch stages as the containers of one pod; retrain with the plain target's CronJob (\`bayes-serve deploy cronjob create\`, which runs the chains' and the merge's Jobs), or drop chains_as_pods`,
    );
  const jobs = batch.map(
    (s) =>
      renderBatchStage(pipeline, s, { gitCommit: options.gitCommit, runId: options.runId, ...(options.image !== undefined ? { image: options.image } : {}) })
        .job,
  );
  const pods = jobs.map((j) => j.spec?.template.spec);
  const containers = pods.map((p) => p?.containers[0] as V1Container);
  const first = pods[0];
  if (first === undefined) throw new Error("internal: a batch Job without a pod");
  const name = retrainingName(pipeline);
  const labels = { ...stageLabels(pipeline, batch[0], options.gitCommit), "app.kubernetes.io/component": "retraining", "app.kubernetes.io/instance": name };
  const schedule = cronJobSchedule(options);
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name, namespace: pipeline.namespace, labels },
    spec: {
      ...schedule,
      jobTemplate: {
        metadata: { labels },
        spec: {
          backoffLimit: Math.max(...batch.map((s) => s.batch.retries)),
          activeDeadlineSeconds: batch.reduce((t, s) => t + s.batch.maxCompletionTimeSeconds, 0),
          // As each stage's Job: a fit the gate refused (exit 3, in any of the stages' containers) is not run again.
          podFailurePolicy: { rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [EXIT_NOT_PROMOTED] } }] },
          template: {
            metadata: { labels },
            spec: {
              ...first,
              restartPolicy: "Never",
              // The stages share the pod's /tmp volume; each keeps its own image, args, env, secrets and resources.
              ...(containers.length > 1 ? { initContainers: containers.slice(0, -1) } : {}),
              containers: containers.slice(-1),
            },
          },
        },
      },
    },
  };
}
