// The pod a stage runs in, for its Job or its Deployment: the container with the stage's image, args, environment and
// resources, the restricted security settings, and for a service stage its port, probes and the stopping sequence
// (preStop delay, then `serve`'s grace period and drain within the pod's termination allowance).
import type { V1Container, V1EnvVar, V1PodSpec, V1Probe, V1ResourceRequirements } from "@kubernetes/client-node";
import { DEFAULT_SHUTDOWN_TIMEOUT_SECONDS, SERVING_NODE_OPTIONS, SHUTDOWN_GRACE_SECONDS } from "../server/constants.js";
import type { Pipeline, ServiceStage, Stage } from "./pipeline.js";
import { restrictedContainerSecurity, restrictedPodSecurity } from "./pod-security.js";
import type { RenderOptions } from "./render.js";

/** The preStop delay of a service stage's pods: what `serve` takes for its own grace period by default. */
export const PRESTOP_DELAY_SECONDS = SHUTDOWN_GRACE_SECONDS;

export function podSpec(pipeline: Pipeline, stage: Stage, options: RenderOptions, restartPolicy: "Never" | "Always"): V1PodSpec {
  return {
    restartPolicy,
    // The workloads never talk to the Kubernetes API: no token in their pods.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: stage.type === "service" ? serviceTerminationSeconds(stage) : 30,
    securityContext: restrictedPodSecurity(pipeline.runAsUser),
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
    securityContext: restrictedContainerSecurity(),
    // The root filesystem is read-only; /tmp is the one writable place (and HOME points there).
    volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
  };
  if (stage.type === "service") Object.assign(c, servingFields(stage));
  return c;
}

/** A service stage's container: its port, its probes and its preStop delay. */
function servingFields(stage: ServiceStage): Pick<V1Container, "ports" | "startupProbe" | "readinessProbe" | "livenessProbe" | "lifecycle"> {
  const svc = stage.service;
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
  return {
    ports: [{ name: "http", containerPort: svc.port, protocol: "TCP" }],
    startupProbe,
    readinessProbe: { ...get(svc.readinessPath), periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    livenessProbe: { ...get(svc.livenessPath), periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
    // Kubernetes takes a terminating pod out of the Service's endpoints while it stops it; kube-proxy, ingress
    // controllers and clients hear of it over the next seconds. The preStop delay holds SIGTERM back that long, so
    // the pod keeps serving while the news spreads; then `serve` drains (src/server/server.ts). (An exec of the
    // image's `sleep`, not the newer `sleep` action, which clusters before 1.30 lack.)
    lifecycle: { preStop: { exec: { command: ["sleep", String(PRESTOP_DELAY_SECONDS)] } } },
  };
}

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
