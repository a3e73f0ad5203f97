// `deploy status`: the pipeline's stages, their objects, ready replicas and the last Job results, as a table or JSON.
import type {
  V1CronJob,
  V1Deployment,
  V2HorizontalPodAutoscaler,
  V1Ingress,
  V1Job,
  V1Namespace,
  V1PodDisruptionBudget,
  V1Service,
} from "@kubernetes/client-node";
import type { KubeApi } from "./kube-client.js";
import { stageResourceName, type Pipeline } from "./pipeline.js";
import { LABEL_GIT_COMMIT, LABEL_PIPELINE, LABEL_STAGE, retrainingName } from "./render.js";
import { rolloutState } from "./orchestrate.js";

export interface StageStatus {
  stage: string;
  type: "batch" | "service";
  /** e.g. "1/1" for a service, "-" for a batch stage. */
  ready: string;
  /** The last Job's result for a batch stage, the rollout state for a service. */
  state: string;
  gitCommit?: string;
  objects: string[];
}

export interface RetrainingStatus {
  name: string;
  schedule: string;
  timeZone?: string;
  suspended: boolean;
  lastSchedule?: string;
  lastSuccess?: string;
  active: number;
}

export interface PipelineStatus {
  pipeline: string;
  namespace: string;
  namespaceExists: boolean;
  stages: StageStatus[];
  retraining?: RetrainingStatus;
}

export async function pipelineStatus(api: KubeApi, pipeline: Pipeline): Promise<PipelineStatus> {
  const ns = pipeline.namespace;
  const namespaceExists = (await api.read<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: ns })) !== undefined;
  const out: PipelineStatus = { pipeline: pipeline.name, namespace: ns, namespaceExists, stages: [] };
  if (!namespaceExists) return out;

  for (const name of pipeline.dag.flat()) {
    const stage = pipeline.stages[name];
    if (stage === undefined) continue;
    const resource = stageResourceName(pipeline, name);
    if (stage.type === "batch") {
      const jobs = await api.list<V1Job>("batch/v1", "Job", ns, { labelSelector: `${LABEL_PIPELINE}=${pipeline.name},${LABEL_STAGE}=${name}` });
      jobs.sort((a, b) => time(b.metadata?.creationTimestamp) - time(a.metadata?.creationTimestamp));
      const last = jobs[0];
      out.stages.push({
        stage: name,
        type: "batch",
        ready: "-",
        state: last === undefined ? "never run" : jobResult(last),
        ...(last?.metadata?.labels?.[LABEL_GIT_COMMIT] !== undefined ? { gitCommit: last.metadata.labels[LABEL_GIT_COMMIT] } : {}),
        objects: jobs.map((j) => `Job/${j.metadata?.name}`),
      });
      continue;
    }
    const ref = (apiVersion: string, kind: string) => ({ apiVersion, kind, name: resource, namespace: ns });
    const d = await api.read<V1Deployment>(ref("apps/v1", "Deployment"));
    const svc = await api.read<V1Service>(ref("v1", "Service"));
    const ing = await api.read<V1Ingress>(ref("networking.k8s.io/v1", "Ingress"));
    const hpa = await api.read<V2HorizontalPodAutoscaler>(ref("autoscaling/v2", "HorizontalPodAutoscaler"));
    const pdb = await api.read<V1PodDisruptionBudget>(ref("policy/v1", "PodDisruptionBudget"));
    const objects: string[] = [];
    if (d) objects.push(`Deployment/${resource}`);
    if (svc) objects.push(`Service/${resource}:${svc.spec?.ports?.[0]?.port ?? "?"}`);
    if (ing) objects.push(`Ingress/${resource} ${ing.spec?.rules?.[0]?.host ?? ""}${ing.spec?.rules?.[0]?.http?.paths?.[0]?.path ?? ""}`);
    if (hpa) objects.push(`HorizontalPodAutoscaler/${resource} ${hpa.spec?.minReplicas ?? 1}-${hpa.spec?.maxReplicas}`);
    if (pdb) objects.push(`PodDisruptionBudget/${resource}`);
    let state = "not deployed";
    if (d !== undefined) {
      const r = rolloutState(d, d.metadata?.generation ?? 0);
      state = r.done
        ? `available, revision ${d.metadata?.annotations?.["deployment.kubernetes.io/revision"] ?? "?"}`
        : r.failed
          ? `FAILED: ${r.message}`
          : `rolling out: ${r.message}`;
    }
    out.stages.push({
      stage: name,
      type: "service",
      ready: d === undefined ? "-" : `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`,
      state,
      ...(d?.metadata?.labels?.[LABEL_GIT_COMMIT] !== undefined ? { gitCommit: d.metadata.labels[LABEL_GIT_COMMIT] } : {}),
      objects,
    });
  }

  const cj = await api.read<V1CronJob>({ apiVersion: "batch/v1", kind: "CronJob", name: retrainingName(pipeline), namespace: ns });
  if (cj !== undefined) {
    out.retraining = {
      name: cj.metadata?.name ?? "",
      schedule: cj.spec?.schedule ?? "",
      ...(cj.spec?.timeZone !== undefined ? { timeZone: cj.spec.timeZone } : {}),
      suspended: cj.spec?.suspend === true,
      ...(cj.status?.lastScheduleTime !== undefined ? { lastSchedule: iso(cj.status.lastScheduleTime) } : {}),
      ...(cj.status?.lastSuccessfulTime !== undefined ? { lastSuccess: iso(cj.status.lastSuccessfulTime) } : {}),
      active: cj.status?.active?.length ?? 0,
    };
  }
  return out;
}

export function jobResult(job: V1Job): string {
  const conds = job.status?.conditions ?? [];
  const complete = conds.find((c) => c.type === "Complete" && c.status === "True");
  const failed = conds.find((c) => c.type === "Failed" && c.status === "True");
  const start = job.status?.startTime;
  if (complete !== undefined) {
    const end = job.status?.completionTime;
    const took = start !== undefined && end !== undefined ? ` in ${duration(time(end) - time(start))}` : "";
    return `Succeeded ${end !== undefined ? iso(end) : ""}${took}`.trim();
  }
  if (failed !== undefined) return `Failed: ${failed.reason ?? ""}${failed.message ? ` (${failed.message})` : ""}`;
  if ((job.status?.active ?? 0) > 0) return `Running since ${start !== undefined ? iso(start) : "?"}`;
  return "Pending";
}

export function formatStatus(s: PipelineStatus): string {
  const lines = [`pipeline ${s.pipeline} in namespace ${s.namespace}`];
  if (!s.namespaceExists) {
    lines.push(`namespace ${s.namespace} does not exist: nothing is deployed (run \`bayes-serve deploy create\`)`);
    return lines.join("\n");
  }
  const header = ["STAGE", "TYPE", "READY", "COMMIT", "STATE", "OBJECTS"];
  const rows = s.stages.map((st) => [
    st.stage,
    st.type,
    st.ready,
    (st.gitCommit ?? "-").slice(0, 12),
    st.state,
    st.objects.length === 0 ? "-" : st.objects.join(", "),
  ]);
  lines.push(table([header, ...rows]));
  if (s.retraining !== undefined) {
    const r = s.retraining;
    lines.push(
      `retraining: CronJob/${r.name} "${r.schedule}"${r.timeZone ? ` (${r.timeZone})` : ""}${r.suspended ? " SUSPENDED" : ""}; ` +
        `last scheduled ${r.lastSchedule ?? "never"}, last succeeded ${r.lastSuccess ?? "never"}${r.active > 0 ? `, ${r.active} running` : ""}`,
    );
  } else {
    lines.push('retraining: not scheduled (bayes-serve deploy cronjob create --schedule "0 3 * * *")');
  }
  return lines.join("\n");
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n");
}

function time(t: Date | string | undefined): number {
  return t === undefined ? 0 : new Date(t).getTime();
}

function iso(t: Date | string): string {
  return new Date(t).toISOString().replace(/\.\d+Z$/, "Z");
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
