// `deploy delete`: remove everything the pipeline created in its namespace (found by the bayes-serve/pipeline label),
// or one stage of it; optionally the namespace too. Secrets are the user's and stay unless the namespace goes.
import type { KubernetesObject } from "@kubernetes/client-node";
import { BayesServeError } from "../errors.js";
import { refOf, type KubeApi } from "./kube-client.js";
import type { Pipeline } from "./pipeline.js";
import { LABEL_PIPELINE, LABEL_STAGE } from "./render.js";

/** In deletion order: the scheduler first (so it cannot start a run), workloads, then what they use. */
const KINDS: [string, string][] = [
  ["batch/v1", "CronJob"],
  ["autoscaling/v2", "HorizontalPodAutoscaler"],
  ["policy/v1", "PodDisruptionBudget"],
  ["networking.k8s.io/v1", "Ingress"],
  ["v1", "Service"],
  ["apps/v1", "Deployment"],
  ["batch/v1", "Job"],
  ["v1", "ConfigMap"],
  ["rbac.authorization.k8s.io/v1", "RoleBinding"],
  ["rbac.authorization.k8s.io/v1", "Role"],
  ["v1", "ServiceAccount"],
];

export async function deletePipeline(api: KubeApi, pipeline: Pipeline, options: { stage?: string; namespace?: boolean } = {}): Promise<string[]> {
  if (options.stage !== undefined && options.namespace) {
    throw new BayesServeError("USAGE", "--stage and --namespace cannot be combined (deleting the namespace deletes every stage)");
  }
  await api.version();
  const ns = pipeline.namespace;
  const selector = `${LABEL_PIPELINE}=${pipeline.name}${options.stage !== undefined ? `,${LABEL_STAGE}=${options.stage}` : ""}`;
  const deleted: string[] = [];
  for (const [apiVersion, kind] of KINDS) {
    const items = await api.list<KubernetesObject>(apiVersion, kind, ns, { labelSelector: selector });
    for (const obj of items) {
      const ref = { ...refOf(obj), apiVersion, kind };
      if (await api.delete(ref, { propagationPolicy: "Background" })) deleted.push(`${kind}/${ref.name}`);
    }
  }
  if (options.namespace) {
    if (await api.delete({ apiVersion: "v1", kind: "Namespace", name: ns }, { propagationPolicy: "Background" })) deleted.push(`Namespace/${ns}`);
  }
  return deleted;
}
