// `deploy cronjob create | delete`: scheduled retraining. A batch/v1 CronJob runs `bayes-serve deploy update` inside
// the cluster with the pipeline file from a ConfigMap and a ServiceAccount whose Role allows exactly what that needs.
// Each run trains and publishes a new version; the service picks it up by hot reload (its --poll-interval), or rolls
// out when the pipeline's pod template changed.
import type { V1Namespace, V1Secret } from "@kubernetes/client-node";
import { BayesServeError } from "../errors.js";
import { KubeApiError, refOf, type KubeApi } from "./kube-client.js";
import { referencedSecrets, type Pipeline } from "./pipeline.js";
import { renderRetraining, retrainingName, retrainingObjects, type RetrainingOptions } from "./render.js";

export async function createRetraining(
  api: KubeApi,
  pipeline: Pipeline,
  options: RetrainingOptions,
  log: (line: string) => void = () => {},
): Promise<string[]> {
  const rendered = renderRetraining(pipeline, options);
  const objects = retrainingObjects(rendered);
  const nothing = "nothing was applied";
  try {
    await api.version();
  } catch (err) {
    throw new BayesServeError("DEPLOY", `${(err as Error).message}; ${nothing}`, { cause: err });
  }
  const ns = pipeline.namespace;
  if ((await api.read<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: ns })) === undefined) {
    throw new BayesServeError(
      "DEPLOY",
      `namespace ${ns} does not exist: deploy the pipeline first (\`bayes-serve deploy create\`), then schedule it; ${nothing}`,
    );
  }
  const missing: string[] = [];
  for (const name of referencedSecrets(pipeline).keys()) {
    if ((await api.read<V1Secret>({ apiVersion: "v1", kind: "Secret", name, namespace: ns })) === undefined) missing.push(name);
  }
  if (missing.length > 0) {
    throw new BayesServeError(
      "DEPLOY",
      `secret${missing.length === 1 ? "" : "s"} ${missing.map((m) => `"${m}"`).join(", ")} missing in namespace ${ns} (the scheduled runs would fail); ${nothing}`,
    );
  }
  const rejected: string[] = [];
  for (const obj of objects) {
    try {
      await api.apply(obj, { dryRun: true });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 0) throw err;
      rejected.push((err as Error).message);
    }
  }
  if (rejected.length > 0) {
    throw new BayesServeError(
      "DEPLOY",
      `the API server rejected the retraining objects in a dry run, ${nothing}:\n${rejected.map((r) => `  - ${r}`).join("\n")}`,
    );
  }
  const applied: string[] = [];
  for (const obj of objects) {
    await api.apply(obj);
    applied.push(`${obj.kind}/${obj.metadata?.name}`);
  }
  log(
    `retraining scheduled: CronJob/${retrainingName(pipeline)} "${rendered.cronJob.spec?.schedule}"${options.timeZone ? ` (${options.timeZone})` : ""} runs \`bayes-serve deploy update\` in namespace ${ns}`,
  );
  return applied;
}

export async function deleteRetraining(api: KubeApi, pipeline: Pipeline): Promise<string[]> {
  const rendered = renderRetraining(pipeline, { schedule: "@daily", gitCommit: "unknown", pipelineText: "" });
  const deleted: string[] = [];
  for (const obj of [...retrainingObjects(rendered)].reverse()) {
    if (await api.delete(refOf(obj), { propagationPolicy: "Background" })) deleted.push(`${obj.kind}/${obj.metadata?.name}`);
  }
  if (deleted.length === 0) throw new BayesServeError("DEPLOY", `no retraining is scheduled for pipeline ${pipeline.name} in namespace ${pipeline.namespace}`);
  return deleted;
}
