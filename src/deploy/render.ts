// Pure rendering: a checked Pipeline → the Kubernetes objects that run it. No I/O, no clock, no randomness (the run id
// and git commit come in as options), so `bayes-serve deploy render` prints exactly what `create`/`update` apply.
import { stringify } from "yaml";
import type {
  KubernetesObject,
  V1ConfigMap,
  V1Container,
  V1CronJob,
  V1Deployment,
  V1EnvVar,
  V1Ingress,
  V1Job,
  V1Namespace,
  V1PodDisruptionBudget,
  V1PodSpec,
  V1Probe,
  V1ResourceRequirements,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
  V2HorizontalPodAutoscaler,
} from "@kubernetes/client-node";
import { BayesServeError } from "../errors.js";
import { DEFAULT_SHUTDOWN_TIMEOUT_SECONDS, SERVING_NODE_OPTIONS, SHUTDOWN_GRACE_SECONDS } from "../server/constants.js";
import { CRONJOB_NAME_SUFFIX } from "./pipeline-schema.js";
import { EXIT_NOT_PROMOTED } from "../train/promotion.js";
import { renderChainsAsPods } from "./chains-as-pods.js";
import { referencedSecrets, stageResourceName, type BatchStage, type Pipeline, type ServiceStage, type Stage } from "./pipeline.js";

export const FIELD_MANAGER = "bayes-serve";
export const LABEL_PIPELINE = "bayes-serve/pipeline";
export const LABEL_STAGE = "bayes-serve/stage";
export const LABEL_GIT_COMMIT = "bayes-serve/git-commit";
export const LABEL_RUN = "bayes-serve/run";
export const ANNOTATION_RESTARTED_AT = "bayes-serve/restarted-at";
/** Where the in-cluster retraining job finds the pipeline file (mounted from a ConfigMap). */
export const IN_CLUSTER_PIPELINE_DIR = "/etc/bayes-serve";
export const IN_CLUSTER_PIPELINE_FILE = `${IN_CLUSTER_PIPELINE_DIR}/bayes-serve.yaml`;
/** Extra seconds allowed on top of a stage's own budget before the orchestrator gives up waiting. */
export const GRACE_SECONDS = 30;

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

export interface RenderedRetraining {
  serviceAccount: V1ServiceAccount;
  role: V1Role;
  roleBinding: V1RoleBinding;
  configMap: V1ConfigMap;
  cronJob: V1CronJob;
}

const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

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

/** Labels on every object of a stage. The selector uses only the pipeline and stage labels, which never change. */
export function stageLabels(pipeline: Pipeline, stage: Stage, gitCommit: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "bayes-serve",
    "app.kubernetes.io/instance": stageResourceName(pipeline, stage.name),
    "app.kubernetes.io/component": stage.type,
    "app.kubernetes.io/part-of": pipeline.name,
    "app.kubernetes.io/managed-by": FIELD_MANAGER,
    [LABEL_PIPELINE]: pipeline.name,
    [LABEL_STAGE]: stage.name,
    [LABEL_GIT_COMMIT]: gitCommit,
  };
}

export function selectorLabels(pipeline: Pipeline, stageName: string): Record<string, string> {
  return { [LABEL_PIPELINE]: pipeline.name, [LABEL_STAGE]: stageName };
}

export function renderBatchStage(pipeline: Pipeline, stage: BatchStage, options: RenderOptions): RenderedBatchStage {
  if (stage.batch.chainsAsPods !== undefined) return renderChainsAsPods(pipeline, stage, options);
  const base = stageResourceName(pipeline, stage.name);
  const name = `${base}-${options.runId}`;
  const labels = { ...stageLabels(pipeline, stage, options.gitCommit), [LABEL_RUN]: options.runId };
  const job: V1Job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: pipeline.namespace, labels },
    spec: {
      backoffLimit: stage.batch.retries,
      activeDeadlineSeconds: stage.batch.maxCompletionTimeSeconds,
      // A fit the gate refused is stored and reported; running it again would store another refused fit. Retries are
      // for crashes and lost nodes (batch/v1 podFailurePolicy, Kubernetes ≥ 1.26).
      podFailurePolicy: {
        rules: [{ action: "FailJob", onExitCodes: { containerName: stage.name, operator: "In", values: [EXIT_NOT_PROMOTED] } }],
      },
      completions: 1,
      parallelism: 1,
      template: {
        metadata: { labels },
        spec: podSpec(pipeline, stage, options, "Never"),
      },
    },
  };
  return { type: "batch", stage, name, job };
}

export function renderServiceStage(pipeline: Pipeline, stage: ServiceStage, options: RenderOptions): RenderedServiceStage {
  const name = stageResourceName(pipeline, stage.name);
  const labels = stageLabels(pipeline, stage, options.gitCommit);
  const selector = selectorLabels(pipeline, stage.name);
  const meta = { name, namespace: pipeline.namespace, labels };
  const svc = stage.service;

  const deployment: V1Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { ...meta, annotations: { "bayes-serve/port": String(svc.port) } },
    spec: {
      // With an autoscaler the replica count is left to it; applying one here would fight it on every update.
      ...(svc.autoscaling === undefined ? { replicas: svc.replicas } : {}),
      revisionHistoryLimit: 5,
      progressDeadlineSeconds: svc.maxStartupTimeSeconds,
      selector: { matchLabels: selector },
      // Surge one new pod at a time and never take an old one down first: the old version keeps serving until the
      // new one is ready, so a failed rollout costs nothing and the rollback is instant.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels,
          ...(options.restartedAt !== undefined ? { annotations: { [ANNOTATION_RESTARTED_AT]: options.restartedAt } } : {}),
        },
        spec: podSpec(pipeline, stage, options, "Always"),
      },
    },
  };

  const service: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta,
    spec: {
      type: "ClusterIP",
      selector,
      ports: [{ name: "http", port: svc.port, targetPort: "http", protocol: "TCP" }],
    },
  };

  const out: RenderedServiceStage = { type: "service", stage, name, deployment, service };

  if (svc.ingress !== undefined) {
    const ing = svc.ingress;
    const rewrite = ing.stripPrefix && ing.path !== "/";
    const prefix = ing.path.replace(/\/+$/, "");
    const annotations: Record<string, string> = {
      // ingress-nginx: `/pymc/name/predict/...` reaches the service as `/predict/...`.
      ...(rewrite ? { "nginx.ingress.kubernetes.io/rewrite-target": "/$2" } : {}),
      ...ing.annotations,
    };
    out.ingress = {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { ...meta, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
      spec: {
        ingressClassName: ing.className,
        rules: [
          {
            ...(ing.host !== undefined ? { host: ing.host } : {}),
            http: {
              paths: [
                {
                  path: rewrite ? `${prefix}(/|$)(.*)` : ing.path,
                  pathType: rewrite ? "ImplementationSpecific" : "Prefix",
                  backend: { service: { name, port: { name: "http" } } },
                },
              ],
            },
          },
        ],
      },
    };
  }

  if (svc.autoscaling !== undefined) {
    out.hpa = {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: meta,
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
        minReplicas: svc.autoscaling.minReplicas,
        maxReplicas: svc.autoscaling.maxReplicas,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: svc.autoscaling.targetCpuUtilization } },
          },
        ],
      },
    };
  }

  if (svc.podDisruptionBudget !== undefined) {
    const b = svc.podDisruptionBudget;
    out.pdb = {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: meta,
      spec: {
        selector: { matchLabels: selector },
        ...(b.minAvailable !== undefined ? { minAvailable: b.minAvailable } : {}),
        ...(b.maxUnavailable !== undefined ? { maxUnavailable: b.maxUnavailable } : {}),
      },
    };
  }
  return out;
}

export function podSpec(pipeline: Pipeline, stage: Stage, options: RenderOptions, restartPolicy: "Never" | "Always"): V1PodSpec {
  const uid = pipeline.runAsUser;
  return {
    restartPolicy,
    // The workloads never talk to the Kubernetes API: no token in their pods.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: stage.type === "service" ? serviceTerminationSeconds(stage) : 30,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: uid,
      runAsGroup: uid,
      fsGroup: uid,
      seccompProfile: { type: "RuntimeDefault" },
    },
    ...(pipeline.imagePullSecrets.length > 0 ? { imagePullSecrets: pipeline.imagePullSecrets.map((name) => ({ name })) } : {}),
    containers: [container(pipeline, stage, options)],
    volumes: [{ name: "tmp", emptyDir: { sizeLimit: "1Gi" } }],
  };
}

export function container(pipeline: Pipeline, stage: Stage, options: RenderOptions): V1Container {
  const c: V1Container = {
    name: stage.name,
    image: options.image ?? pipeline.image,
    ...(pipeline.imagePullPolicy !== undefined ? { imagePullPolicy: pipeline.imagePullPolicy } : {}),
    ...(stage.command !== undefined ? { command: stage.command } : {}),
    args: stageArgs(pipeline, stage),
    env: envVars(pipeline, stage),
    resources: resources(stage),
    securityContext: {
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    // The root filesystem is read-only; /tmp is the one writable place (and HOME points there).
    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
  };
  if (stage.type === "service") {
    const svc = stage.service;
    c.ports = [{ name: "http", containerPort: svc.port, protocol: "TCP" }];
    const get = (path: string) => ({ httpGet: { path, port: "http" as const } });
    const period = 5;
    // The startup probe holds off liveness and readiness until the process answers, for up to the stage's startup
    // allowance; readiness then waits for a loaded model (GET /health/ready answers 200 only once one is).
    const startupProbe: V1Probe = {
      ...get(svc.livenessPath),
      periodSeconds: period,
      timeoutSeconds: 3,
      failureThreshold: Math.max(1, Math.ceil(svc.maxStartupTimeSeconds / period)),
    };
    c.startupProbe = startupProbe;
    c.readinessProbe = { ...get(svc.readinessPath), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 };
    c.livenessProbe = { ...get(svc.livenessPath), periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 };
    // Kubernetes takes a terminating pod out of the Service's endpoints while it stops it; kube-proxy, ingress
    // controllers and clients hear of it over the next seconds. The preStop delay holds SIGTERM back that long, so
    // the pod keeps serving while the news spreads; then `serve` drains (src/server/server.ts). (An exec of the
    // image's `sleep`, not the newer `sleep` action, which clusters before 1.30 lack.)
    c.lifecycle = { preStop: { exec: { command: ["sleep", String(PRESTOP_DELAY_SECONDS)] } } };
  }
  return c;
}

/** The preStop delay of a service stage's pods: what `serve` takes for its own grace period by default. */
export const PRESTOP_DELAY_SECONDS = SHUTDOWN_GRACE_SECONDS;

/** The value of `--flag N` or `--flag=N` in a stage's args, if given. */
function flagSeconds(args: readonly string[], flag: string): number | undefined {
  const i = args.indexOf(flag);
  const given = i >= 0 ? args[i + 1] : args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
  const n = Number(given);
  return given !== undefined && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * How long Kubernetes lets a service pod stop before killing it: the preStop delay, then `serve`'s grace period and
 * drain deadline (its flags, or their defaults), and 10 s to spare; at least Kubernetes' default 30 s.
 */
export function serviceTerminationSeconds(stage: Stage): number {
  const grace = flagSeconds(stage.args, "--shutdown-grace") ?? SHUTDOWN_GRACE_SECONDS;
  const drain = flagSeconds(stage.args, "--shutdown-timeout") ?? DEFAULT_SHUTDOWN_TIMEOUT_SECONDS;
  return Math.max(30, Math.ceil(PRESTOP_DELAY_SECONDS + grace + drain + 10));
}

/** The stage's args; `bayes-serve serve` also gets the pipeline's log level (unless the args already set one). */
export function stageArgs(pipeline: Pipeline, stage: Stage): string[] {
  const a = stage.args;
  const setsLevel = a.some((x) => x === "--log-level" || x.startsWith("--log-level="));
  return stage.command === undefined && a[0] === "serve" && !setsLevel ? [...a, "--log-level", pipeline.logLevel] : a;
}

function envVars(pipeline: Pipeline, stage: Stage): V1EnvVar[] {
  const env: V1EnvVar[] = [];
  const taken = new Set<string>();
  const push = (v: V1EnvVar) => {
    if (taken.has(v.name)) return;
    taken.add(v.name);
    env.push(v);
  };
  for (const [name, value] of Object.entries(stage.env)) push({ name, value });
  for (const [name, ref] of Object.entries(stage.secrets)) {
    push({ name, valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } } });
  }
  push({ name: "LOG_LEVEL", value: pipeline.logLevel });
  push({ name: "HOME", value: "/tmp" });
  push({ name: "TMPDIR", value: "/tmp" });
  // The service's V8 heap settings (unless the stage sets NODE_OPTIONS itself, which was pushed first).
  if (stage.command === undefined && stage.args[0] === "serve") push({ name: "NODE_OPTIONS", value: SERVING_NODE_OPTIONS });
  return env;
}

/** 1 → "1", 0.5 → "500m"; megabytes → "750M" (decimal, as the seed's memory_request_mb). */
export function cpuQuantity(cores: number): string {
  return Number.isInteger(cores) ? String(cores) : `${Math.round(cores * 1000)}m`;
}

function resources(stage: Stage): V1ResourceRequirements {
  const r = stage.resources;
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (r.cpuRequest !== undefined) requests.cpu = cpuQuantity(r.cpuRequest);
  if (r.memoryRequestMb !== undefined) requests.memory = `${r.memoryRequestMb}M`;
  if (r.cpuLimit !== undefined) limits.cpu = cpuQuantity(r.cpuLimit);
  // Memory is not compressible: without a limit one pod can starve its node. Default the limit to the request.
  const memLimit = r.memoryLimitMb ?? r.memoryRequestMb;
  if (memLimit !== undefined) limits.memory = `${memLimit}M`;
  return {
    ...(Object.keys(requests).length > 0 ? { requests } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
}

// ---- Scheduled retraining ----

export interface RetrainingOptions {
  /** Cron schedule, e.g. "0 3 * * *". */
  schedule: string;
  /** IANA time zone for the schedule (CronJob spec.timeZone); the controller's zone when absent. */
  timeZone?: string;
  gitCommit: string;
  /** The pipeline file's text, shipped to the cluster in a ConfigMap. */
  pipelineText: string;
  image?: string;
}

export function retrainingName(pipeline: Pipeline): string {
  return `${pipeline.name}${CRONJOB_NAME_SUFFIX}`;
}

/** Seconds a whole pipeline run may take: every step's largest budget plus grace, plus a margin for the deployer. */
export function pipelineBudgetSeconds(pipeline: Pipeline): number {
  let total = 120;
  for (const step of pipeline.dag) {
    let longest = 0;
    for (const name of step) {
      const s = pipeline.stages[name];
      if (s === undefined) continue;
      const budget = s.type === "batch" ? s.batch.maxCompletionTimeSeconds : s.service.maxStartupTimeSeconds;
      // Chains as pods: the chains' Job, then the merge's, each with the stage's budget.
      longest = Math.max(longest, (budget + GRACE_SECONDS) * (s.type === "batch" && s.batch.chainsAsPods !== undefined ? 2 : 1));
    }
    total += longest;
  }
  return total;
}

const CRON_FIELD = /^[-*/,0-9A-Za-z?]+$/;

/** A CronJob (batch/v1) that runs `bayes-serve deploy update` in the cluster, with just the rights it needs. */
/**
 * The schedule part of a retraining CronJob's spec (this target's and KServe's): the cron schedule, checked, its time
 * zone, one run at a time, three runs of each outcome kept, and a run that could not start within 10 minutes skipped.
 */
export function cronJobSchedule(options: Pick<RetrainingOptions, "schedule" | "timeZone">) {
  const fields = options.schedule.trim().split(/\s+/);
  const macro = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(options.schedule.trim());
  if (!macro && (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f)))) {
    throw new BayesServeError(
      "CONFIG",
      `--schedule "${options.schedule}" is not a cron schedule: expected five fields "minute hour day-of-month month day-of-week", e.g. "0 3 * * *" (03:00 every day), or @daily/@hourly/…`,
    );
  }
  return {
    schedule: options.schedule.trim(),
    ...(options.timeZone !== undefined ? { timeZone: options.timeZone } : {}),
    concurrencyPolicy: "Forbid",
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 3,
    startingDeadlineSeconds: 600,
  } as const;
}

export function renderRetraining(pipeline: Pipeline, options: RetrainingOptions): RenderedRetraining {
  checkLabelValue(options.gitCommit);
  const schedule = cronJobSchedule(options);
  const name = retrainingName(pipeline);
  const namespace = pipeline.namespace;
  const labels = {
    "app.kubernetes.io/name": "bayes-serve",
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/component": "retraining",
    "app.kubernetes.io/part-of": pipeline.name,
    "app.kubernetes.io/managed-by": FIELD_MANAGER,
    [LABEL_PIPELINE]: pipeline.name,
    [LABEL_GIT_COMMIT]: options.gitCommit,
  };
  const meta = { name, namespace, labels };
  const image = options.image ?? pipeline.image;
  const secretNames = [...referencedSecrets(pipeline).keys()].sort();
  const manage = ["get", "list", "create", "patch", "delete"];

  const serviceAccount: V1ServiceAccount = { apiVersion: "v1", kind: "ServiceAccount", metadata: meta };
  const role: V1Role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: meta,
    rules: [
      { apiGroups: [""], resources: ["services"], verbs: manage },
      { apiGroups: [""], resources: ["pods", "pods/log", "events"], verbs: ["get", "list"] },
      ...(secretNames.length > 0 ? [{ apiGroups: [""], resources: ["secrets"], resourceNames: secretNames, verbs: ["get"] }] : []),
      { apiGroups: ["apps"], resources: ["deployments"], verbs: manage },
      { apiGroups: ["batch"], resources: ["jobs"], verbs: manage },
      { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: manage },
      { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: manage },
      { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: manage },
    ],
  };
  const roleBinding: V1RoleBinding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: meta,
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
    subjects: [{ kind: "ServiceAccount", name, namespace }],
  };
  const configMap: V1ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta,
    data: { "bayes-serve.yaml": options.pipelineText },
  };
  const args = ["deploy", "update", "--file", IN_CLUSTER_PIPELINE_FILE, "--git-commit", options.gitCommit, "--skip-namespace"];
  if (options.image !== undefined) args.push("--image", options.image);
  const cronJob: V1CronJob = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: meta,
    spec: {
      ...schedule,
      jobTemplate: {
        metadata: { labels },
        spec: {
          // A failed run has already rolled back and reported; the next schedule tries again.
          backoffLimit: 0,
          activeDeadlineSeconds: pipelineBudgetSeconds(pipeline),
          template: {
            metadata: { labels },
            spec: {
              serviceAccountName: name,
              automountServiceAccountToken: true,
              restartPolicy: "Never",
              enableServiceLinks: false,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: pipeline.runAsUser,
                runAsGroup: pipeline.runAsUser,
                fsGroup: pipeline.runAsUser,
                seccompProfile: { type: "RuntimeDefault" },
              },
              ...(pipeline.imagePullSecrets.length > 0 ? { imagePullSecrets: pipeline.imagePullSecrets.map((n) => ({ name: n })) } : {}),
              containers: [
                {
                  name: "deployer",
                  image,
                  ...(pipeline.imagePullPolicy !== undefined ? { imagePullPolicy: pipeline.imagePullPolicy } : {}),
                  args,
                  env: [
                    { name: "LOG_LEVEL", value: pipeline.logLevel },
                    { name: "HOME", value: "/tmp" },
                    { name: "TMPDIR", value: "/tmp" },
                  ],
                  resources: { requests: { cpu: "100m", memory: "256M" }, limits: { memory: "256M" } },
                  securityContext: {
                    runAsNonRoot: true,
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                  },
                  volumeMounts: [
                    { name: "pipeline", mountPath: IN_CLUSTER_PIPELINE_DIR, readOnly: true },
                    { name: "tmp", mountPath: "/tmp" },
                  ],
                },
              ],
              volumes: [
                { name: "pipeline", configMap: { name } },
                { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
              ],
            },
          },
        },
      },
    },
  };
  return { serviceAccount, role, roleBinding, configMap, cronJob };
}

export function retrainingObjects(r: RenderedRetraining): KubernetesObject[] {
  return [r.serviceAccount, r.role, r.roleBinding, r.configMap, r.cronJob];
}

// ---- Output ----

/** Multi-document YAML, one document per object, ready for `kubectl apply -f -`. */
export function toYaml(objects: KubernetesObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
}

function checkOptions(options: RenderOptions): void {
  checkLabelValue(options.gitCommit);
  if (!/^[a-z0-9]{1,10}$/.test(options.runId)) {
    throw new BayesServeError("CONFIG", `run id "${options.runId}" must be 1-10 lower-case letters or digits`);
  }
  if (options.image !== undefined && !/^[^\s]+$/.test(options.image)) {
    throw new BayesServeError("CONFIG", `--image "${options.image}" is not a container image reference`);
  }
}

function checkLabelValue(gitCommit: string): void {
  if (gitCommit === "" || !LABEL_VALUE.test(gitCommit)) {
    throw new BayesServeError(
      "CONFIG",
      `--git-commit "${gitCommit}" cannot be a Kubernetes label value: expected at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
    );
  }
}
