// Rendered objects checked as the API server and the client would see them: against the Kubernetes OpenAPI schemas
// compiled into kubernetes-models, and through @kubernetes/client-node's serializer (which drops fields it does not
// know, so a typo in a field name shows as a difference).
import type { KubernetesObject } from "@kubernetes/client-node";
import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js";
import { ConfigMap, Namespace, Service, ServiceAccount } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { CronJob, Job } from "kubernetes-models/batch/v1";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";

type Validatable = { validate(): void };
const MODELS: Record<string, new (data: never) => Validatable> = {
  "v1/Namespace": Namespace,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "v1/ConfigMap": ConfigMap,
  "apps/v1/Deployment": Deployment,
  "batch/v1/Job": Job,
  "batch/v1/CronJob": CronJob,
  "networking.k8s.io/v1/Ingress": Ingress,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
};

/** Validate against the Kubernetes OpenAPI schema compiled into kubernetes-models. Throws with the schema's message. */
export function validateK8s(obj: KubernetesObject): void {
  const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (Model === undefined) throw new Error(`no schema model for ${obj.apiVersion}/${obj.kind}`);
  new Model(JSON.parse(JSON.stringify(obj)) as never).validate();
}

/** The object as @kubernetes/client-node would send it; fields its models do not know are dropped. */
export function asSerialized(obj: KubernetesObject): unknown {
  const version = (obj.apiVersion ?? "").split("/").pop() ?? "";
  const type = `${version.charAt(0).toUpperCase()}${version.slice(1)}${obj.kind}`;
  return JSON.parse(JSON.stringify(ObjectSerializer.serialize(obj, type, "")));
}
