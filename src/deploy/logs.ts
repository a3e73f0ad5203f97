// `deploy logs STAGE`: the logs of a stage's pods — a service stage's current pods, or the last run of a batch stage.
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { BayesServeError } from "../errors.js";
import type { KubeApi } from "./kube-client.js";
import type { Pipeline } from "./pipeline.js";
import { LABEL_PIPELINE, LABEL_STAGE } from "./render.js";

export interface PodLog {
  pod: string;
  text: string;
}

export async function stageLogs(
  api: KubeApi,
  pipeline: Pipeline,
  stageName: string,
  options: { tailLines?: number; previous?: boolean } = {},
): Promise<PodLog[]> {
  const stage = pipeline.stages[stageName];
  if (stage === undefined) {
    throw new BayesServeError("USAGE", `no stage "${stageName}" in pipeline ${pipeline.name} (stages: ${Object.keys(pipeline.stages).join(", ")})`);
  }
  const ns = pipeline.namespace;
  const stageSelector = `${LABEL_PIPELINE}=${pipeline.name},${LABEL_STAGE}=${stageName}`;
  let selector = stageSelector;
  if (stage.type === "batch") {
    const jobs = await api.list<V1Job>("batch/v1", "Job", ns, { labelSelector: stageSelector });
    const t = (j: V1Job) => new Date(j.metadata?.creationTimestamp ?? 0).getTime();
    const last = jobs.sort((a, b) => t(b) - t(a))[0];
    if (last === undefined) throw new BayesServeError("DEPLOY", `batch stage "${stageName}" has no Jobs in namespace ${ns} (never run, or pruned)`);
    selector = `job-name=${last.metadata?.name}`;
  }
  const pods = await api.list<V1Pod>("v1", "Pod", ns, { labelSelector: selector });
  if (pods.length === 0) throw new BayesServeError("DEPLOY", `stage "${stageName}" has no pods in namespace ${ns}`);
  pods.sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""));
  const out: PodLog[] = [];
  for (const p of pods) {
    const name = p.metadata?.name ?? "";
    const text = await api.podLogs(ns, name, {
      ...(options.tailLines !== undefined ? { tailLines: options.tailLines } : {}),
      ...(options.previous ? { previous: true } : {}),
    });
    out.push({ pod: name, text });
  }
  return out;
}
