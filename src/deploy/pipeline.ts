// The deployment pipeline described by `bayes-serve.yaml`: its types, and loading/parsing the file into them.
// The file's shape (snake_case, as in the seed's bodywork.yaml) is pipeline-schema.ts's, the checks on it pipeline-checks.ts's; this
// file turns a checked document into the normalised, camelCase `Pipeline` the renderer and orchestrator use.
import { readFileSync } from "node:fs";
import { BayesServeError } from "../errors.js";
import { TRAIN_DEFAULTS } from "../defaults.js";
import { argValue, checkPipelineText, type ProblemReport } from "./pipeline-checks.js";
import type { PipelineFile, StageFile, SecretRefFile } from "./pipeline-schema.js";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

/** An environment variable filled from a key of a named Kubernetes Secret in the pipeline's namespace. */
export interface SecretRef {
  secret: string;
  key: string;
}

export interface Resources {
  /** CPU cores (1 = one core). */
  cpuRequest?: number;
  cpuLimit?: number;
  /** Megabytes (10^6 bytes), as in the seed's `memory_request_mb`. */
  memoryRequestMb?: number;
  memoryLimitMb?: number;
}

export interface BatchSettings {
  /** Pod retries after the first failure (the Job's backoffLimit). */
  retries: number;
  /** The whole Job's deadline, retries included (activeDeadlineSeconds). */
  maxCompletionTimeSeconds: number;
  /** Each chain of the `train` stage in its own pod, then a merge (`chains_as_pods: true`): how many, and the store. */
  chainsAsPods?: { chains: number; store: string };
}

export interface IngressSettings {
  /** The public path prefix, e.g. `/pymc/bayes-serve--scoring-service`. */
  path: string;
  /** Strip the prefix before the request reaches the service (ingress-nginx rewrite-target). */
  stripPrefix: boolean;
  className: string;
  host?: string;
  annotations: Record<string, string>;
}

export interface AutoscalingSettings {
  minReplicas: number;
  maxReplicas: number;
  targetCpuUtilization: number;
}

export interface DisruptionBudgetSettings {
  minAvailable?: number | string;
  maxUnavailable?: number | string;
}

export interface ServiceSettings {
  replicas: number;
  port: number;
  maxStartupTimeSeconds: number;
  livenessPath: string;
  readinessPath: string;
  ingress?: IngressSettings;
  autoscaling?: AutoscalingSettings;
  podDisruptionBudget?: DisruptionBudgetSettings;
}

interface StageCommon {
  name: string;
  /** Overrides the image's entrypoint (`bayes-serve`) when given. */
  command?: string[];
  args: string[];
  resources: Resources;
  env: Record<string, string>;
  secrets: Record<string, SecretRef>;
}

export interface BatchStage extends StageCommon {
  type: "batch";
  batch: BatchSettings;
}

export interface ServiceStage extends StageCommon {
  type: "service";
  service: ServiceSettings;
}

export type Stage = BatchStage | ServiceStage;

export interface Pipeline {
  version: "1.0";
  name: string;
  namespace: string;
  image: string;
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  imagePullSecrets: string[];
  /** Numeric uid/gid the containers run as (the image's non-root USER). */
  runAsUser: number;
  /** The DAG as written, e.g. `train >> scoring-service`. */
  dagText: string;
  /** The DAG as steps run in order; the stages inside one step run side by side. */
  dag: string[][];
  stages: Record<string, Stage>;
  logLevel: LogLevel;
}

export interface LoadedPipeline {
  pipeline: Pipeline;
  warnings: string[];
  /** The file's text exactly as read (the CronJob ships it to the cluster in a ConfigMap). */
  text: string;
  source: string;
}

export const DEFAULT_RETRIES = 2;
export const DEFAULT_RUN_AS_USER = 1000;
export const DEFAULT_INGRESS_CLASS = "nginx";
export const DEFAULT_LIVENESS_PATH = "/health/live";
export const DEFAULT_READINESS_PATH = "/health/ready";

/** `<pipeline>--<stage>`: the name of a service stage's Deployment/Service/Ingress, and the prefix of its Jobs. */
export function stageResourceName(pipeline: Pick<Pipeline, "name">, stage: string): string {
  return `${pipeline.name}--${stage}`;
}

/** Read and check a pipeline file; throws BayesServeError("CONFIG") naming every problem found. */
export function loadPipelineFile(path: string): LoadedPipeline {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : (err as Error).message;
    throw new BayesServeError("CONFIG", `cannot read pipeline file ${path}: ${why}`, { cause: err });
  }
  return parsePipeline(text, path);
}

/** Parse and check pipeline YAML text; `source` names it in error messages. */
export function parsePipeline(text: string, source = "bayes-serve.yaml"): LoadedPipeline {
  const report: ProblemReport = checkPipelineText(text);
  if (report.problems.length > 0 || report.document === undefined || report.dag === undefined) {
    const lines = report.problems.map((p) => `  - ${source}${p.line !== undefined ? `:${p.line}:${p.col}` : ""}: ${p.message}`);
    throw new BayesServeError(
      "CONFIG",
      `${source} is not a valid pipeline file (${report.problems.length} problem${report.problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}`,
    );
  }
  return { pipeline: normalise(report.document, report.dag), warnings: report.warnings, text, source };
}

function normalise(doc: PipelineFile, dag: string[][]): Pipeline {
  const stages: Record<string, Stage> = {};
  for (const [name, s] of Object.entries(doc.stages)) stages[name] = normaliseStage(doc, name, s);
  const level = (doc.logging?.log_level ?? "info").toLowerCase() as LogLevel;
  return {
    version: "1.0",
    name: doc.pipeline.name,
    namespace: doc.pipeline.namespace,
    image: doc.pipeline.image,
    ...(doc.pipeline.image_pull_policy !== undefined ? { imagePullPolicy: doc.pipeline.image_pull_policy } : {}),
    imagePullSecrets: doc.pipeline.image_pull_secrets ?? [],
    runAsUser: doc.pipeline.run_as_user ?? DEFAULT_RUN_AS_USER,
    dagText: doc.pipeline.DAG,
    dag,
    stages,
    logLevel: level,
  };
}

/** The chain count and store of a checked `train` stage with chains as pods. */
function chainsAsPodsOf(args: string[]): { chains: number; store: string } {
  const chains = argValue(args, "--chains");
  const store = argValue(args, "--store");
  if (store === undefined) throw new Error("internal: a chains_as_pods stage passed the checks without --store");
  return { chains: chains === undefined ? TRAIN_DEFAULTS.chains : Number(chains), store };
}

function normaliseStage(doc: PipelineFile, name: string, s: StageFile): Stage {
  const common: StageCommon = {
    name,
    ...(s.command !== undefined ? { command: s.command.map(String) } : {}),
    args: (s.args ?? []).map(String),
    resources: {
      ...(s.cpu_request !== undefined ? { cpuRequest: s.cpu_request } : {}),
      ...(s.cpu_limit !== undefined ? { cpuLimit: s.cpu_limit } : {}),
      ...(s.memory_request_mb !== undefined ? { memoryRequestMb: s.memory_request_mb } : {}),
      ...(s.memory_limit_mb !== undefined ? { memoryLimitMb: s.memory_limit_mb } : {}),
    },
    env: Object.fromEntries(Object.entries(s.env ?? {}).map(([k, v]) => [k, String(v)])),
    secrets: Object.fromEntries(Object.entries(s.secrets ?? {}).map(([envName, ref]) => [envName, secretRef(envName, ref)])),
  };
  if (s.batch !== undefined) {
    return {
      ...common,
      type: "batch",
      batch: {
        retries: s.batch.retries ?? DEFAULT_RETRIES,
        maxCompletionTimeSeconds: s.batch.max_completion_time_seconds,
        ...(s.batch.chains_as_pods === true ? { chainsAsPods: chainsAsPodsOf(common.args) } : {}),
      },
    };
  }
  const svc = s.service;
  if (svc === undefined || svc.port === undefined) throw new Error(`internal: stage ${name} passed the checks without a port`);
  const resourceName = stageResourceName(doc.pipeline, name);
  const ingressFile = svc.ingress;
  let ingress: IngressSettings | undefined;
  if (ingressFile === true || (typeof ingressFile === "object" && ingressFile !== null)) {
    const o = ingressFile === true ? {} : ingressFile;
    ingress = {
      path: o.path ?? `/${doc.pipeline.namespace}/${resourceName}`,
      stripPrefix: o.strip_prefix ?? true,
      className: o.class_name ?? DEFAULT_INGRESS_CLASS,
      ...(o.host !== undefined ? { host: o.host } : {}),
      annotations: o.annotations ?? {},
    };
  }
  const as = svc.autoscaling;
  const pdb = svc.pod_disruption_budget;
  return {
    ...common,
    type: "service",
    service: {
      replicas: svc.replicas ?? as?.min_replicas ?? 1,
      port: svc.port,
      maxStartupTimeSeconds: svc.max_startup_time_seconds,
      livenessPath: svc.probes?.liveness_path ?? DEFAULT_LIVENESS_PATH,
      readinessPath: svc.probes?.readiness_path ?? DEFAULT_READINESS_PATH,
      ...(ingress !== undefined ? { ingress } : {}),
      ...(as !== undefined
        ? {
            autoscaling: {
              minReplicas: as.min_replicas ?? 1,
              maxReplicas: as.max_replicas,
              targetCpuUtilization: as.target_cpu_utilization ?? 80,
            },
          }
        : {}),
      ...(pdb !== undefined
        ? {
            podDisruptionBudget: {
              ...(pdb.min_available !== undefined ? { minAvailable: pdb.min_available } : {}),
              ...(pdb.max_unavailable !== undefined ? { maxUnavailable: pdb.max_unavailable } : {}),
            },
          }
        : {}),
    },
  };
}

function secretRef(envName: string, ref: SecretRefFile): SecretRef {
  return typeof ref === "string" ? { secret: ref, key: envName } : { secret: ref.secret, key: ref.key ?? envName };
}

/** Every Secret the pipeline reads, with the keys it needs from each. */
export function referencedSecrets(pipeline: Pipeline): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const stage of Object.values(pipeline.stages)) {
    for (const ref of Object.values(stage.secrets)) {
      const keys = out.get(ref.secret) ?? new Set<string>();
      keys.add(ref.key);
      out.set(ref.secret, keys);
    }
  }
  return out;
}
