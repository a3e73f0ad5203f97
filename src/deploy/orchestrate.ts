// `deploy create` / `deploy update`: preflight checks, then the namespace, then the DAG step by step.
//
// - Preflight (nothing is applied unless all pass): the API server answers; every Secret the stages read exists and
//   has the keys they need; for `create`, the pipeline is not deployed yet; every object passes a server-side dry run.
// - Batch stages: apply a Job named for this run, wait until it completes (the Job itself retries, backoffLimit =
//   retries, and stops at activeDeadlineSeconds = the stage's max completion time), fail with its pods' last events.
//   A stage with chains as pods (chains-as-pods.ts) runs two: the chains' Indexed Job, then the merge's Job.
// - Service stages: remember what is there, apply Deployment + Service (+ Ingress, HPA, PDB), wait for the rollout
//   (observedGeneration, updatedReplicas, availableReplicas) within the stage's max startup time; on failure or
//   timeout roll back — re-apply the previous objects, or delete the ones this run created — and fail with the reason
//   and the pods' last events.
// A failed step is rolled back as a whole (every service stage in it); earlier steps have completed and stay.
import { EXIT_NOT_PROMOTED, EXIT_STAGE_REFUSED } from "../train/promotion.js";
import type { KubernetesObject, V1Deployment, V1Job, V1Namespace, V1Pod, V1Secret } from "@kubernetes/client-node";
import { BayesServeError } from "../errors.js";
import { collectDiagnostics, fatalPodProblem } from "./diagnostics.js";
import { KubeApiError, describe, refOf, type KubeApi, type ObjectRef } from "./kube-client.js";
import { referencedSecrets, type Pipeline } from "./pipeline.js";
import {
  GRACE_SECONDS,
  LABEL_PIPELINE,
  LABEL_STAGE,
  newRunId,
  renderPipeline,
  renderedObjects,
  stageObjects,
  type RenderedBatchStage,
  type RenderedPipeline,
  type RenderedServiceStage,
  type RenderedStage,
} from "./render.js";

export interface RunOptions {
  mode: "create" | "update";
  gitCommit: string;
  runId?: string;
  image?: string;
  /** Assume the namespace exists and do not apply it (the in-cluster CronJob's Role cannot manage namespaces). */
  skipNamespace?: boolean;
  /** Roll every service stage out again even if its pod template did not change. */
  restart?: boolean;
  /** Between status polls. Default 2000 ms. */
  pollIntervalMs?: number;
  /** Added to each stage's own time budget before giving up. Default GRACE_SECONDS. */
  graceSeconds?: number;
  /** Finished Jobs kept per batch stage. Default 3. */
  jobHistory?: number;
  log?: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface StageOutcome {
  stage: string;
  type: "batch" | "service";
  objects: string[];
  detail: string;
}

export interface RunResult {
  namespace: string;
  runId: string;
  stages: StageOutcome[];
}

interface Ctx {
  api: KubeApi;
  pipeline: Pipeline;
  log: (line: string) => void;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  pollMs: number;
  grace: number;
  jobHistory: number;
}

type StageResult = { ok: true; outcome: StageOutcome } | { ok: false; stage: string; reason: string; diagnostics: string[]; rollback?: Snapshot };

/** What existed before a service stage was applied, so it can be put back. */
interface Snapshot {
  rendered: RenderedServiceStage;
  previous: Map<string, KubernetesObject | undefined>;
  applied: boolean;
}

/** Run the pipeline against the cluster. Throws BayesServeError("DEPLOY") with the reason when anything fails. */
export async function runPipeline(api: KubeApi, pipeline: Pipeline, options: RunOptions): Promise<RunResult> {
  const runId = options.runId ?? newRunId();
  const ctx: Ctx = {
    api,
    pipeline,
    log: options.log ?? (() => {}),
    now: options.now ?? Date.now,
    sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    pollMs: options.pollIntervalMs ?? 2000,
    grace: options.graceSeconds ?? GRACE_SECONDS,
    jobHistory: options.jobHistory ?? 3,
  };
  const rendered = renderPipeline(pipeline, {
    gitCommit: options.gitCommit,
    runId,
    ...(options.image !== undefined ? { image: options.image } : {}),
    ...(options.restart ? { restartedAt: new Date(ctx.now()).toISOString() } : {}),
  });

  await preflight(ctx, rendered, options);

  if (!options.skipNamespace) {
    await ctx.api.apply(rendered.namespace);
    ctx.log(`namespace ${pipeline.namespace}: applied`);
  }

  const outcomes: StageOutcome[] = [];
  for (const [i, step] of rendered.steps.entries()) {
    const names = step.map((s) => s.stage.name).join(", ");
    ctx.log(`step ${i + 1}/${rendered.steps.length}: ${names}`);
    const snapshots: Snapshot[] = [];
    const results = await Promise.all(
      step.map(async (rs): Promise<StageResult> => {
        try {
          return rs.type === "batch" ? await runBatchStage(ctx, rs) : await runServiceStage(ctx, rs, snapshots);
        } catch (err) {
          return { ok: false, stage: rs.stage.name, reason: (err as Error).message, diagnostics: [] };
        }
      }),
    );
    const failures = results.filter((r): r is Extract<StageResult, { ok: false }> => !r.ok);
    if (failures.length === 0) {
      for (const r of results) if (r.ok) outcomes.push(r.outcome);
      continue;
    }
    // Roll back every service stage of the failed step that got as far as being applied.
    const rollbackNotes: string[] = [];
    for (const snap of snapshots) {
      if (!snap.applied) continue;
      rollbackNotes.push(await rollback(ctx, snap));
    }
    const parts = failures.map((f) => [`stage "${f.stage}" failed: ${f.reason}`, ...f.diagnostics.map((d) => `  ${d}`)].join("\n"));
    const done = outcomes.length > 0 ? `\nearlier steps completed and were kept: ${outcomes.map((o) => o.stage).join(", ")}` : "";
    const rb = rollbackNotes.length > 0 ? `\n${rollbackNotes.join("\n")}` : "";
    throw new BayesServeError("DEPLOY", `deployment of pipeline "${pipeline.name}" failed at step ${i + 1} (${names}):\n${parts.join("\n")}${rb}${done}`);
  }
  await warnAboutOrphanStages(ctx);
  ctx.log(`pipeline ${pipeline.name} deployed to namespace ${pipeline.namespace} (run ${runId}, git commit ${options.gitCommit})`);
  return { namespace: pipeline.namespace, runId, stages: outcomes };
}

// ---- Preflight ----

async function preflight(ctx: Ctx, rendered: RenderedPipeline, options: RunOptions): Promise<void> {
  const { api, pipeline } = ctx;
  const nothing = "nothing was applied";
  let version: string;
  try {
    version = await api.version();
  } catch (err) {
    throw new BayesServeError("DEPLOY", `${(err as Error).message}; ${nothing}`, { cause: err });
  }
  ctx.log(`cluster ${api.server} answers (Kubernetes ${version})`);

  const problems: string[] = [];
  let namespaceExists = true;
  if (!options.skipNamespace) {
    namespaceExists = (await api.read<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: pipeline.namespace })) !== undefined;
  }

  // Every Secret the stages read, with every key they need.
  for (const [secretName, keys] of referencedSecrets(pipeline)) {
    const users = Object.values(pipeline.stages)
      .filter((s) => Object.values(s.secrets).some((r) => r.secret === secretName))
      .map((s) => s.name);
    const secret = namespaceExists
      ? await api.read<V1Secret>({ apiVersion: "v1", kind: "Secret", name: secretName, namespace: pipeline.namespace })
      : undefined;
    const keyList = [...keys].sort();
    if (secret === undefined) {
      problems.push(
        `secret "${secretName}" does not exist in namespace ${pipeline.namespace}${namespaceExists ? "" : " (the namespace does not exist yet)"}; ` +
          `stage${users.length === 1 ? "" : "s"} ${users.join(", ")} read ${keyList.join(", ")} from it. Create it with:\n` +
          `      bayes-serve deploy secret create ${secretName} ${keyList.map((k) => `--from-env ${k}`).join(" ")}`,
      );
      continue;
    }
    const present = new Set([...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})]);
    const missing = keyList.filter((k) => !present.has(k));
    if (missing.length > 0) {
      problems.push(
        `secret "${secretName}" in namespace ${pipeline.namespace} has no key${missing.length === 1 ? "" : "s"} ${missing.join(", ")} (it has: ${[...present].sort().join(", ") || "none"}); stages ${users.join(", ")} need ${missing.length === 1 ? "it" : "them"}`,
      );
    }
  }

  if (options.mode === "create" && namespaceExists) {
    // Deployed = a service stage is there. Jobs alone (e.g. a first `create` whose training failed) do not count,
    // so fixing the problem and running `create` again works.
    const selector = `${LABEL_PIPELINE}=${pipeline.name}`;
    const existing = await api.list<V1Deployment>("apps/v1", "Deployment", pipeline.namespace, { labelSelector: selector });
    if (existing.length > 0) {
      problems.push(
        `pipeline "${pipeline.name}" is already deployed in namespace ${pipeline.namespace} (${existing.map((o) => `${o.kind}/${o.metadata?.name}`).join(", ")}): use \`bayes-serve deploy update\``,
      );
    }
  }
  if (problems.length > 0) {
    throw new BayesServeError("DEPLOY", `preflight failed, ${nothing}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }

  // The server's own validation and admission, without persisting anything.
  const objects = namespaceExists ? renderedObjects(rendered).filter((o) => !(options.skipNamespace && o.kind === "Namespace")) : [rendered.namespace];
  const rejected: string[] = [];
  for (const obj of objects) {
    try {
      await api.apply(obj, { dryRun: true });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 0) throw new BayesServeError("DEPLOY", `${err.message}; ${nothing}`, { cause: err });
      rejected.push((err as Error).message);
    }
  }
  if (rejected.length > 0) {
    throw new BayesServeError(
      "DEPLOY",
      `the API server rejected the pipeline's objects in a dry run, ${nothing}:\n${rejected.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  ctx.log(
    `preflight passed: ${objects.length} object${objects.length === 1 ? "" : "s"} accepted in a dry run${namespaceExists ? "" : " (namespace is new: the rest are checked as they are applied)"}`,
  );
}

// ---- Batch stages ----

async function runBatchStage(ctx: Ctx, rs: RenderedBatchStage): Promise<StageResult> {
  const selector = `${LABEL_PIPELINE}=${ctx.pipeline.name},${LABEL_STAGE}=${rs.stage.name}`;
  // With chains as pods: the chains' Indexed Job, then (once every chain is staged) the Job that merges them.
  const jobs = rs.mergeJob !== undefined ? [rs.job, rs.mergeJob] : [rs.job];
  const names = jobs.map((j) => j.metadata?.name ?? rs.name);
  let result: StageResult | undefined;
  const details: string[] = [];
  for (const job of jobs) {
    result = await runJob(ctx, rs, job);
    if (!result.ok) break;
    details.push(result.outcome.detail);
  }
  if (result?.ok === true && jobs.length > 1)
    result = { ok: true, outcome: { stage: rs.stage.name, type: "batch", objects: names.map((n) => `Job/${n}`), detail: details.join("; ") } };
  await pruneJobs(ctx, selector, names);
  if (result === undefined) throw new Error(`internal: batch stage ${rs.stage.name} has no Job`);
  return result;
}

async function runJob(ctx: Ctx, rs: RenderedBatchStage, job: V1Job): Promise<StageResult> {
  const { api, pipeline } = ctx;
  const jobName = job.metadata?.name ?? rs.name;
  const fail = async (reason: string): Promise<StageResult> => ({
    ok: false,
    stage: rs.stage.name,
    reason,
    diagnostics: await collectDiagnostics(api, pipeline.namespace, `job-name=${jobName}`, { ownerNames: [jobName] }),
  });
  try {
    await api.apply(job);
  } catch (err) {
    return fail((err as Error).message);
  }
  ctx.log(`  ${rs.stage.name}: Job/${jobName} started (retries ${rs.stage.batch.retries}, deadline ${rs.stage.batch.maxCompletionTimeSeconds} s)`);
  const started = ctx.now();
  const budgetMs = (rs.stage.batch.maxCompletionTimeSeconds + ctx.grace) * 1000;
  let result: StageResult | undefined;
  while (result === undefined) {
    const current = await api.read<V1Job>({ apiVersion: "batch/v1", kind: "Job", name: jobName, namespace: pipeline.namespace });
    if (current === undefined) {
      result = await fail(`Job/${jobName} disappeared while running`);
      break;
    }
    const conds = current.status?.conditions ?? [];
    const complete = conds.find((c) => c.type === "Complete" && c.status === "True");
    const failed = conds.find((c) => c.type === "Failed" && c.status === "True");
    if (complete !== undefined) {
      const secs = Math.round((ctx.now() - started) / 1000);
      const detail = `Job/${jobName} succeeded in ${secs} s`;
      ctx.log(`  ${rs.stage.name}: ${detail}`);
      result = { ok: true, outcome: { stage: rs.stage.name, type: "batch", objects: [`Job/${jobName}`], detail } };
    } else if (failed !== undefined) {
      const attempts = (current.status?.failed ?? 0) + (current.status?.succeeded ?? 0);
      if (failed.reason === "PodFailurePolicy" && (failed.message ?? "").includes(`exit code ${EXIT_STAGE_REFUSED}`))
        result = await fail(
          `Job/${jobName}: the merge refused the staged chains (exit ${EXIT_STAGE_REFUSED}: a chain missing, damaged or of another fit — its log names the chain); nothing was published`,
        );
      else if (failed.reason === "PodFailurePolicy" && (failed.message ?? "").includes(`exit code ${EXIT_NOT_PROMOTED}`))
        result = await fail(
          `Job/${jobName}: the new fit was stored but not promoted (exit ${EXIT_NOT_PROMOTED}: the quality gate or the comparison with latest refused it; latest keeps serving — \`bayes-serve models history\` says why)`,
        );
      else
        result = await fail(
          `Job/${jobName}: ${failed.reason ?? "Failed"} — ${failed.message ?? "the job failed"} (${attempts} attempt${attempts === 1 ? "" : "s"}, retries ${rs.stage.batch.retries})`,
        );
    } else if (ctx.now() - started > budgetMs) {
      result = await fail(`Job/${jobName} did not finish within ${rs.stage.batch.maxCompletionTimeSeconds} s (+${ctx.grace} s grace)`);
    } else {
      await ctx.sleep(ctx.pollMs);
    }
  }
  return result;
}

/** Keep the newest `jobHistory` runs' Jobs of a stage (always including this run's). */
async function pruneJobs(ctx: Ctx, selector: string, current: string[]): Promise<void> {
  try {
    const jobs = await ctx.api.list<V1Job>("batch/v1", "Job", ctx.pipeline.namespace, { labelSelector: selector });
    const time = (j: V1Job) => new Date(j.metadata?.creationTimestamp ?? 0).getTime();
    const keep = Math.max(0, ctx.jobHistory - 1) * current.length;
    const old = jobs
      .filter((j) => !current.includes(j.metadata?.name ?? ""))
      .sort((a, b) => time(b) - time(a))
      .slice(keep);
    for (const j of old) await ctx.api.delete(refOf(j), { propagationPolicy: "Background" });
  } catch (err) {
    ctx.log(`  (could not prune old Jobs: ${(err as Error).message})`);
  }
}

// ---- Service stages ----

async function runServiceStage(ctx: Ctx, rs: RenderedServiceStage, snapshots: Snapshot[]): Promise<StageResult> {
  const { api, pipeline } = ctx;
  const objects = stageObjects(rs);
  const snap: Snapshot = { rendered: rs, previous: new Map(), applied: false };
  snapshots.push(snap);
  const selector = `${LABEL_PIPELINE}=${pipeline.name},${LABEL_STAGE}=${rs.stage.name}`;
  const fail = async (reason: string): Promise<StageResult> => ({
    ok: false,
    stage: rs.stage.name,
    reason,
    diagnostics: await collectDiagnostics(api, pipeline.namespace, selector, { ownerNames: [rs.name] }),
    rollback: snap,
  });

  for (const obj of objects) snap.previous.set(keyOf(obj), await api.read(refOf(obj)));
  const before = snap.previous.get(keyOf(rs.deployment)) as V1Deployment | undefined;
  const beforeRevision = before?.metadata?.annotations?.["deployment.kubernetes.io/revision"];

  let applied: V1Deployment;
  try {
    snap.applied = true;
    applied = await api.apply(rs.deployment);
    for (const obj of objects) if (obj !== rs.deployment) await api.apply(obj);
  } catch (err) {
    return fail((err as Error).message);
  }
  const generation = applied.metadata?.generation ?? 0;
  ctx.log(
    `  ${rs.stage.name}: ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(", ")} applied` +
      (before === undefined ? " (new)" : beforeRevision !== undefined ? ` (previous revision ${beforeRevision})` : ""),
  );

  const budgetS = rs.stage.service.maxStartupTimeSeconds;
  const wait = await awaitRollout(ctx, rs.name, generation, (budgetS + ctx.grace) * 1000, selector);
  if (!wait.ok) return fail(wait.reason);

  await removeStaleOptionals(ctx, rs);
  const detail = `Deployment/${rs.name} rolled out: ${wait.detail}`;
  ctx.log(`  ${rs.stage.name}: ${detail}`);
  return { ok: true, outcome: { stage: rs.stage.name, type: "service", objects: objects.map((o) => `${o.kind}/${o.metadata?.name}`), detail } };
}

type RolloutWait = { ok: true; detail: string } | { ok: false; reason: string };

/** Poll a Deployment until its rollout of `generation` completes, fails, or `budgetMs` runs out. */
async function awaitRollout(ctx: Ctx, name: string, generation: number, budgetMs: number, podSelector: string): Promise<RolloutWait> {
  const started = ctx.now();
  let last = "waiting for the Deployment controller";
  for (;;) {
    const d = await ctx.api.read<V1Deployment>({ apiVersion: "apps/v1", kind: "Deployment", name, namespace: ctx.pipeline.namespace });
    if (d === undefined) return { ok: false, reason: `Deployment/${name} disappeared during the rollout` };
    const state = rolloutState(d, generation);
    if (state.done) return { ok: true, detail: state.message };
    if (state.failed) return { ok: false, reason: state.message };
    last = state.message;
    const pods = await ctx.api.list<V1Pod>("v1", "Pod", ctx.pipeline.namespace, { labelSelector: podSelector });
    const fatal = fatalPodProblem(pods);
    if (fatal !== undefined) return { ok: false, reason: `the new pods cannot start: ${fatal}` };
    const elapsed = ctx.now() - started;
    if (elapsed > budgetMs) {
      return { ok: false, reason: `rollout did not complete within ${Math.round(budgetMs / 1000)} s (max startup time + grace): ${last}` };
    }
    await ctx.sleep(ctx.pollMs);
  }
}

/** kubectl's `rollout status` rules, plus the controller's ProgressDeadlineExceeded verdict. */
export function rolloutState(d: V1Deployment, generation: number): { done: boolean; failed: boolean; message: string } {
  const observed = d.status?.observedGeneration ?? 0;
  const wanted = Math.max(generation, d.metadata?.generation ?? 0);
  if (observed < wanted) return { done: false, failed: false, message: `waiting for the Deployment controller to observe generation ${wanted}` };
  const progressing = (d.status?.conditions ?? []).find((c) => c.type === "Progressing");
  if (progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded") {
    return {
      done: false,
      failed: true,
      message: `the rollout exceeded its progress deadline (${d.spec?.progressDeadlineSeconds ?? "?"} s): ${progressing.message ?? ""}`.trim(),
    };
  }
  const desired = d.spec?.replicas ?? 1;
  const updated = d.status?.updatedReplicas ?? 0;
  const replicas = d.status?.replicas ?? 0;
  const available = d.status?.availableReplicas ?? 0;
  if (updated < desired) return { done: false, failed: false, message: `${updated} of ${desired} replicas updated` };
  if (replicas > updated)
    return {
      done: false,
      failed: false,
      message: `${replicas - updated} old replica${replicas - updated === 1 ? "" : "s"} still running (new ones not ready yet)`,
    };
  if (available < updated) return { done: false, failed: false, message: `${available} of ${updated} updated replicas available` };
  return {
    done: true,
    failed: false,
    message: `${available}/${desired} replicas available (revision ${d.metadata?.annotations?.["deployment.kubernetes.io/revision"] ?? "?"})`,
  };
}

/** Ingress/HPA/PDB this stage had before but no longer configures. */
async function removeStaleOptionals(ctx: Ctx, rs: RenderedServiceStage): Promise<void> {
  const kinds: [string, string, KubernetesObject | undefined][] = [
    ["networking.k8s.io/v1", "Ingress", rs.ingress],
    ["autoscaling/v2", "HorizontalPodAutoscaler", rs.hpa],
    ["policy/v1", "PodDisruptionBudget", rs.pdb],
  ];
  for (const [apiVersion, kind, wanted] of kinds) {
    if (wanted !== undefined) continue;
    const ref: ObjectRef = { apiVersion, kind, name: rs.name, namespace: ctx.pipeline.namespace };
    const existing = await ctx.api.read(ref);
    if (existing?.metadata?.labels?.[LABEL_PIPELINE] === ctx.pipeline.name && (await ctx.api.delete(ref))) {
      ctx.log(`  ${rs.stage.name}: ${kind}/${rs.name} removed (no longer configured)`);
    }
  }
}

/** Put a service stage back the way it was: re-apply what existed, delete what this run created. */
async function rollback(ctx: Ctx, snap: Snapshot): Promise<string> {
  const rs = snap.rendered;
  const notes: string[] = [];
  const objects = stageObjects(rs);
  // Dependants first when deleting (the Deployment last), the Deployment first when restoring.
  const previousDeployment = snap.previous.get(keyOf(rs.deployment)) as V1Deployment | undefined;
  try {
    if (previousDeployment !== undefined) {
      const restored = await ctx.api.apply(restorable(previousDeployment));
      const rev = previousDeployment.metadata?.annotations?.["deployment.kubernetes.io/revision"];
      const image = previousDeployment.spec?.template?.spec?.containers?.[0]?.image;
      notes.push(`rolled back Deployment/${rs.name} to its previous revision${rev ? ` ${rev}` : ""}${image ? ` (image ${image})` : ""}`);
      for (const obj of objects) {
        if (obj === rs.deployment) continue;
        const prev = snap.previous.get(keyOf(obj));
        if (prev !== undefined) await ctx.api.apply(restorable(prev));
        else if (await ctx.api.delete(refOf(obj))) notes.push(`deleted ${obj.kind}/${obj.metadata?.name} (new in this run)`);
      }
      const selector = `${LABEL_PIPELINE}=${ctx.pipeline.name},${LABEL_STAGE}=${rs.stage.name}`;
      const wait = await awaitRollout(ctx, rs.name, restored.metadata?.generation ?? 0, (rs.stage.service.maxStartupTimeSeconds + ctx.grace) * 1000, selector);
      notes.push(wait.ok ? `the previous revision is serving: ${wait.detail}` : `WARNING: the previous revision is not healthy either: ${wait.reason}`);
    } else {
      for (const obj of [...objects].reverse()) {
        const prev = snap.previous.get(keyOf(obj));
        if (prev !== undefined) await ctx.api.apply(restorable(prev));
        else if (await ctx.api.delete(refOf(obj), { propagationPolicy: "Background" })) notes.push(`deleted ${obj.kind}/${obj.metadata?.name}`);
      }
      notes.unshift(`removed the new service stage "${rs.stage.name}" (it had no previous revision)`);
    }
  } catch (err) {
    notes.push(`ROLLBACK FAILED: ${(err as Error).message} — inspect with \`bayes-serve deploy status\``);
  }
  const text = `rollback of stage "${rs.stage.name}": ${notes.join("; ")}`;
  ctx.log(`  ${text}`);
  return text;
}

/** An object as read from the server, reduced to what can be applied back (no status, no server-set metadata). */
export function restorable<T extends KubernetesObject>(obj: T): T {
  const meta = obj.metadata ?? {};
  const annotations = Object.fromEntries(
    Object.entries(meta.annotations ?? {}).filter(
      ([k]) => !k.startsWith("deployment.kubernetes.io/") && k !== "kubectl.kubernetes.io/last-applied-configuration",
    ),
  );
  const out: Record<string, unknown> = {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      ...(meta.labels !== undefined ? { labels: meta.labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
  };
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (k !== "apiVersion" && k !== "kind" && k !== "metadata" && k !== "status") out[k] = v;
  }
  return out as T;
}

async function warnAboutOrphanStages(ctx: Ctx): Promise<void> {
  try {
    const inDag = new Set(ctx.pipeline.dag.flat());
    const deployments = await ctx.api.list<V1Deployment>("apps/v1", "Deployment", ctx.pipeline.namespace, {
      labelSelector: `${LABEL_PIPELINE}=${ctx.pipeline.name}`,
    });
    for (const d of deployments) {
      const stage = d.metadata?.labels?.[LABEL_STAGE];
      if (stage !== undefined && !inDag.has(stage)) {
        ctx.log(
          `note: Deployment/${d.metadata?.name} belongs to stage "${stage}", which is no longer in the pipeline; remove it with \`bayes-serve deploy delete --stage ${stage}\``,
        );
      }
    }
  } catch {
    // advisory only
  }
}

function keyOf(obj: KubernetesObject): string {
  return describe(obj);
}

export type { RenderedStage };
