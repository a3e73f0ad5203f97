// An in-process stand-in for the Kubernetes API server: a real HTTP server on loopback that keeps objects in memory and
// answers the REST calls @kubernetes/client-node makes — discovery, GET/LIST (label and field selectors), DELETE with
// propagation, server-side apply (PATCH application/apply-patch+yaml, fieldManager required, dryRun), status
// subresources, pod logs, events — plus a toy Deployment and Job controller whose behaviour the tests choose
// (a rollout that never becomes ready, a crash loop, a job that fails or hangs past its deadline).
//
// It is faithful where our code depends on it (404 for a missing namespace, immutable Job templates and selectors,
// observedGeneration lag, Deployment revisions, Jobs orphaning pods unless a propagation policy is given, bearer-token
// auth) and simple elsewhere (no managedFields, no watches, no admission).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes, createHash } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { KubeConfig } from "@kubernetes/client-node";

export type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    [k: string]: unknown;
  };
  spec?: Record<string, unknown> & { [k: string]: unknown };
  status?: Record<string, unknown>;
  [k: string]: unknown;
};

interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const TYPES: ResourceType[] = [
  { group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false },
  { group: "", version: "v1", kind: "Pod", plural: "pods", namespaced: true },
  { group: "", version: "v1", kind: "Service", plural: "services", namespaced: true },
  { group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true },
  { group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true },
  { group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true },
  { group: "", version: "v1", kind: "Event", plural: "events", namespaced: true },
  { group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true },
  { group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets", namespaced: true },
  { group: "batch", version: "v1", kind: "Job", plural: "jobs", namespaced: true },
  { group: "batch", version: "v1", kind: "CronJob", plural: "cronjobs", namespaced: true },
  { group: "networking.k8s.io", version: "v1", kind: "Ingress", plural: "ingresses", namespaced: true },
  { group: "autoscaling", version: "v2", kind: "HorizontalPodAutoscaler", plural: "horizontalpodautoscalers", namespaced: true },
  { group: "policy", version: "v1", kind: "PodDisruptionBudget", plural: "poddisruptionbudgets", namespaced: true },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "Role", plural: "roles", namespaced: true },
  { group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding", plural: "rolebindings", namespaced: true },
];

export type RolloutBehaviour = "ready" | "never-ready" | "crash-loop" | "image-pull-error" | "config-error";
/** "not-promoted": the container exits 3, as `train` does when the gate refuses the fit ("stage-refused": 4, as
 *  `train --merge` refusing staged chains); the Job's podFailurePolicy
 *  decides whether that fails the Job at once (as Kubernetes does) or counts against backoffLimit. */
export type JobBehaviour = "succeed" | "fail" | "hang" | "not-promoted" | "stage-refused";

export interface FakeApiServerOptions {
  token?: string;
  /** How a Deployment's pods behave, decided from the Deployment (e.g. by image). Default "ready". */
  rollout?: (deployment: Obj) => RolloutBehaviour;
  /** How a Job's pods behave. Default "succeed". */
  job?: (job: Obj) => JobBehaviour;
  /** A ready rollout takes this long (ms) after the apply. Default 0. */
  rolloutDurationMs?: number;
  /** A Job runs this long (ms) before its outcome. Default 0. */
  jobDurationMs?: number;
  /** The Deployment controller notices a new generation this long (ms) after the apply. Default 0. */
  controllerLagMs?: number;
  /** Log text for a pod. */
  logs?: (pod: Obj) => string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
}

interface RolloutState {
  hashes: string[]; // template hashes by revision (index = revision - 1)
  stableHash?: string; // the last template that became fully available
  appliedAt: number;
  podsByHash: Map<string, string[]>;
}

export class FakeApiServer {
  readonly requests: RecordedRequest[] = [];
  readonly options: FakeApiServerOptions;
  private readonly store = new Map<string, Obj>();
  private readonly lastApplied = new Map<string, Obj>();
  private readonly rollouts = new Map<string, RolloutState>();
  private readonly jobStarted = new Map<string, number>();
  private readonly podLogs = new Map<string, string>();
  private server: Server | undefined;
  private rv = 1000;
  private ipCounter = 10;
  url = "";

  constructor(options: FakeApiServerOptions = {}) {
    this.options = { token: "test-token", ...options };
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        send(res, 500, status(500, "InternalError", `fake apiserver: ${(err as Error).stack ?? String(err)}`));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** A KubeConfig whose current context points here. */
  kubeConfig(token = this.options.token ?? "test-token"): KubeConfig {
    return kubeConfigFor(this.url, token);
  }

  // ---- Direct access for tests ----

  get(kind: string, namespace: string | undefined, name: string): Obj | undefined {
    this.tick();
    const t = typeByKind(kind);
    return clone(this.store.get(key(t, namespace, name)));
  }

  all(kind: string, namespace?: string): Obj[] {
    this.tick();
    const t = typeByKind(kind);
    return [...this.store.entries()].filter(([k]) => k.startsWith(`${t.group}/${t.plural}/${namespace ?? ""}`)).map(([, v]) => clone(v)!);
  }

  /** Put an object straight into the store (e.g. a Secret or Namespace the user created earlier). */
  seed(obj: Obj): void {
    const t = typeByKind(obj.kind ?? "");
    const now = new Date().toISOString();
    const stored: Obj = {
      ...clone(obj)!,
      apiVersion: apiVersionOf(t),
      kind: t.kind,
      metadata: { ...obj.metadata, uid: uid(), resourceVersion: String(++this.rv), creationTimestamp: now, generation: 1 },
    };
    if (t.kind === "Namespace") stored.status = { phase: "Active" };
    this.store.set(key(t, obj.metadata.namespace, obj.metadata.name), stored);
  }

  /** Mutating requests that were not dry runs. */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== "GET" && r.query.dryRun === undefined);
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const query = Object.fromEntries(url.searchParams.entries());
    const method = req.method ?? "GET";
    const contentType = req.headers["content-type"];
    this.requests.push({ method, path: url.pathname, query, contentType });
    const body = await readBody(req);

    if (req.headers.authorization !== `Bearer ${this.options.token}`) {
      return send(res, 401, status(401, "Unauthorized", "Unauthorized"));
    }
    this.tick();

    const path = url.pathname;
    if (path === "/version") {
      return send(res, 200, { major: "1", minor: "36", gitVersion: "v1.36.0-fake", platform: "linux/amd64" });
    }
    const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))(?:\/(.*))?$/.exec(path);
    if (m === null) return send(res, 404, status(404, "NotFound", `the server could not find the requested resource (${path})`));
    const group = m[2] ?? "";
    const version = m[1] ?? m[3];
    const rest = (m[4] ?? "").split("/").filter((s) => s !== "");
    if (rest.length === 0) return send(res, 200, discovery(group, version));

    let namespace: string | undefined;
    let plural: string;
    let name: string | undefined;
    let sub: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3) {
      [, namespace, plural, name, sub] = rest;
    } else {
      [plural, name, sub] = rest;
    }
    const t = TYPES.find((x) => x.group === group && x.version === version && x.plural === plural);
    if (t === undefined) return send(res, 404, status(404, "NotFound", `the server could not find the requested resource`));

    if (name === undefined) {
      if (method === "GET") return send(res, 200, this.list(t, namespace, query));
      if (method === "POST") return this.create(res, t, namespace, body, query);
      return send(res, 405, status(405, "MethodNotAllowed", `${method} is not supported on a collection here`));
    }
    const k = key(t, namespace, name);
    if (sub === "log" && t.kind === "Pod" && method === "GET") {
      const pod = this.store.get(k);
      if (pod === undefined) return send(res, 404, status(404, "NotFound", `pods "${name}" not found`));
      let text = this.podLogs.get(k) ?? "";
      const tail = query.tailLines !== undefined ? Number(query.tailLines) : undefined;
      if (tail !== undefined)
        text =
          text
            .split("\n")
            .filter((l) => l !== "")
            .slice(-tail)
            .join("\n") + "\n";
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(text);
      return;
    }
    if (sub !== undefined && sub !== "status") return send(res, 404, status(404, "NotFound", `subresource ${sub} not found`));
    if (method === "GET") {
      const obj = this.store.get(k);
      if (obj === undefined) return send(res, 404, notFound(t, name));
      return send(res, 200, obj);
    }
    if (method === "DELETE") return this.remove(res, t, namespace, name, query);
    if (method === "PATCH") {
      if (contentType !== "application/apply-patch+yaml") {
        return send(res, 415, status(415, "UnsupportedMediaType", `the stand-in only implements server-side apply, not ${contentType}`));
      }
      if (sub === "status") return send(res, 405, status(405, "MethodNotAllowed", "status is written by controllers here"));
      return this.apply(res, t, namespace, name, body, query);
    }
    return send(res, 405, status(405, "MethodNotAllowed", `${method} not supported`));
  }

  private list(t: ResourceType, namespace: string | undefined, query: Record<string, string>): unknown {
    const prefix = `${t.group}/${t.plural}/`;
    const items = [...this.store.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .map(([, v]) => v)
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .filter((o) => matchesLabels(o.metadata.labels ?? {}, query.labelSelector))
      .filter((o) => matchesFields(o, query.fieldSelector));
    return { apiVersion: apiVersionOf(t), kind: `${t.kind}List`, metadata: { resourceVersion: String(this.rv) }, items };
  }

  private create(res: ServerResponse, t: ResourceType, namespace: string | undefined, body: string, query: Record<string, string>): void {
    const obj = JSON.parse(body) as Obj;
    const k = key(t, namespace, obj.metadata.name);
    if (this.store.has(k)) return send(res, 409, status(409, "AlreadyExists", `${t.plural} "${obj.metadata.name}" already exists`));
    return this.apply(res, t, namespace, obj.metadata.name, body, { ...query, fieldManager: query.fieldManager ?? "create" });
  }

  private apply(res: ServerResponse, t: ResourceType, namespace: string | undefined, name: string, body: string, query: Record<string, string>): void {
    if (query.fieldManager === undefined || query.fieldManager === "") {
      return send(res, 400, status(400, "BadRequest", "PATCH /apply requests require fieldManager"));
    }
    let applied: Obj;
    try {
      applied = parseYaml(body) as Obj;
    } catch (err) {
      return send(res, 400, status(400, "BadRequest", `error decoding YAML: ${(err as Error).message}`));
    }
    if (applied?.metadata?.name !== name) {
      return send(res, 400, status(400, "BadRequest", `the name of the object (${applied?.metadata?.name}) does not match the name on the URL (${name})`));
    }
    if (applied.kind !== t.kind || applied.apiVersion !== apiVersionOf(t)) {
      return send(res, 400, status(400, "BadRequest", `${applied.apiVersion}/${applied.kind} sent to ${apiVersionOf(t)} ${t.plural}`));
    }
    if (t.namespaced) {
      if (applied.metadata.namespace !== undefined && applied.metadata.namespace !== namespace) {
        return send(res, 400, status(400, "BadRequest", "the namespace of the object does not match the namespace on the request"));
      }
      if (!this.store.has(key(typeByKind("Namespace"), undefined, namespace ?? ""))) {
        return send(res, 404, status(404, "NotFound", `namespaces "${namespace}" not found`, { name: namespace ?? "", kind: "namespaces" }));
      }
    }
    const k = key(t, namespace, name);
    const existing = this.store.get(k);
    const previous = this.lastApplied.get(k);
    const invalid = immutableViolation(t, previous, applied, existing);
    if (invalid !== undefined) {
      return send(res, 422, status(422, "Invalid", `${t.kind}.${t.group || "core"} "${name}" is invalid: ${invalid}: field is immutable`));
    }
    const now = new Date().toISOString();
    const dryRun = query.dryRun !== undefined;
    const next: Obj = defaulted(t, clone(applied)!);
    const controllerAnnotations = Object.fromEntries(
      Object.entries(existing?.metadata.annotations ?? {}).filter(([a]) => a.startsWith("deployment.kubernetes.io/")),
    );
    next.metadata = {
      ...next.metadata,
      namespace,
      uid: existing?.metadata.uid ?? uid(),
      creationTimestamp: existing?.metadata.creationTimestamp ?? now,
      resourceVersion: dryRun ? (existing?.metadata.resourceVersion ?? "0") : String(++this.rv),
      generation: existing === undefined ? 1 : (existing.metadata.generation ?? 1) + (deepEqual(existing.spec, next.spec) ? 0 : 1),
      ...(Object.keys({ ...next.metadata.annotations, ...controllerAnnotations }).length > 0
        ? { annotations: { ...next.metadata.annotations, ...controllerAnnotations } }
        : {}),
    };
    if (!t.namespaced) delete next.metadata.namespace;
    if (t.kind === "Service") {
      const spec = next.spec as { clusterIP?: string; clusterIPs?: string[] };
      const ip = (existing?.spec as { clusterIP?: string } | undefined)?.clusterIP ?? `10.96.0.${this.ipCounter++}`;
      spec.clusterIP = ip;
      spec.clusterIPs = [ip];
    }
    if (t.kind === "Namespace") next.status = { phase: "Active" };
    else if (existing?.status !== undefined) next.status = existing.status;
    if (dryRun) return send(res, existing === undefined ? 201 : 200, next);

    this.store.set(k, next);
    this.lastApplied.set(k, clone(applied)!);
    if (t.kind === "Deployment") this.onDeploymentApplied(k, next);
    if (t.kind === "Job" && existing === undefined) this.jobStarted.set(k, Date.now());
    this.tick();
    return send(res, existing === undefined ? 201 : 200, this.store.get(k));
  }

  private remove(res: ServerResponse, t: ResourceType, namespace: string | undefined, name: string, query: Record<string, string>): void {
    const k = key(t, namespace, name);
    const obj = this.store.get(k);
    if (obj === undefined) return send(res, 404, notFound(t, name));
    this.store.delete(k);
    this.lastApplied.delete(k);
    this.rollouts.delete(k);
    this.jobStarted.delete(k);
    // Jobs orphan their pods unless asked otherwise (the batch/v1 default over the REST API); others cascade.
    const policy = query.propagationPolicy ?? (t.kind === "Job" ? "Orphan" : "Background");
    if (policy !== "Orphan") this.deleteOwnedBy(obj.metadata.uid ?? "");
    if (t.kind === "Namespace") {
      for (const [k2, o] of [...this.store.entries()]) if (o.metadata.namespace === name) this.store.delete(k2);
    }
    return send(res, 200, { apiVersion: "v1", kind: "Status", status: "Success", details: { name, kind: t.plural, uid: obj.metadata.uid } });
  }

  private deleteOwnedBy(ownerUid: string): void {
    for (const [k, o] of [...this.store.entries()]) {
      if ((o.metadata.ownerReferences ?? []).some((r) => r.uid === ownerUid)) {
        this.store.delete(k);
        this.deleteOwnedBy(o.metadata.uid ?? "");
      }
    }
  }

  // ---- Toy controllers ----

  private onDeploymentApplied(k: string, d: Obj): void {
    const hash = templateHash(d);
    let st = this.rollouts.get(k);
    if (st === undefined) {
      st = { hashes: [], appliedAt: Date.now(), podsByHash: new Map() };
      this.rollouts.set(k, st);
    }
    if (st.hashes[st.hashes.length - 1] !== hash) {
      st.hashes.push(hash);
      st.appliedAt = Date.now();
      d.metadata.annotations = { ...d.metadata.annotations, "deployment.kubernetes.io/revision": String(st.hashes.length) };
    }
  }

  /** Bring every Deployment's and Job's status (and pods) up to date with the clock. */
  private tick(): void {
    const now = Date.now();
    for (const [k, obj] of this.store.entries()) {
      if (obj.kind === "Deployment") this.reconcileDeployment(k, obj, now);
      if (obj.kind === "Job") this.reconcileJob(k, obj, now);
    }
  }

  private reconcileDeployment(k: string, d: Obj, now: number): void {
    const st = this.rollouts.get(k);
    if (st === undefined) return;
    const spec = d.spec as { replicas?: number; progressDeadlineSeconds?: number; template: { metadata?: { labels?: Record<string, string> } } };
    const generation = d.metadata.generation ?? 1;
    const observed = (d.status?.observedGeneration as number | undefined) ?? 0;
    if (observed < generation && now - st.appliedAt < (this.options.controllerLagMs ?? 0)) return; // not noticed yet
    const desired = spec.replicas ?? 1;
    const hash = st.hashes[st.hashes.length - 1];
    const behaviour = this.options.rollout?.(d) ?? "ready";
    const elapsed = now - st.appliedAt;
    const settled = behaviour === "ready" && elapsed >= (this.options.rolloutDurationMs ?? 0);
    const old = st.stableHash !== undefined && st.stableHash !== hash ? st.stableHash : undefined;

    if (settled) {
      st.stableHash = hash;
      this.setPods(k, d, st, hash, desired, "ready");
      for (const h of [...st.podsByHash.keys()]) if (h !== hash) this.setPods(k, d, st, h, 0, "ready");
      d.status = {
        observedGeneration: generation,
        replicas: desired,
        updatedReplicas: desired,
        readyReplicas: desired,
        availableReplicas: desired,
        conditions: [
          cond("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
          cond("Progressing", "True", "NewReplicaSetAvailable", `ReplicaSet "${d.metadata.name}-${hash}" has successfully progressed.`),
        ],
      };
      return;
    }
    // maxSurge 1 / maxUnavailable 0: one new pod that is not ready; the old ones keep serving.
    const newPods = Math.min(desired, 1);
    this.setPods(k, d, st, hash, newPods, behaviour === "ready" ? "starting" : behaviour);
    const oldReady = old !== undefined ? desired : 0;
    if (old !== undefined) this.setPods(k, d, st, old, desired, "ready");
    for (const h of [...st.podsByHash.keys()]) if (h !== hash && h !== old) this.setPods(k, d, st, h, 0, "ready");
    const deadline = (spec.progressDeadlineSeconds ?? 600) * 1000;
    const progressing =
      elapsed > deadline
        ? cond("Progressing", "False", "ProgressDeadlineExceeded", `ReplicaSet "${d.metadata.name}-${hash}" has timed out progressing.`)
        : cond("Progressing", "True", "ReplicaSetUpdated", `ReplicaSet "${d.metadata.name}-${hash}" is progressing.`);
    d.status = {
      observedGeneration: generation,
      replicas: oldReady + newPods,
      updatedReplicas: newPods,
      readyReplicas: oldReady,
      availableReplicas: oldReady,
      unavailableReplicas: newPods,
      conditions: [
        oldReady > 0
          ? cond("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
          : cond("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
        progressing,
      ],
    };
  }

  private setPods(k: string, d: Obj, st: RolloutState, hash: string, count: number, state: RolloutBehaviour | "starting"): void {
    const names = st.podsByHash.get(hash) ?? [];
    while (names.length > count) {
      const gone = names.pop()!;
      this.store.delete(key(typeByKind("Pod"), d.metadata.namespace, gone));
    }
    const template = (d.spec as { template: { metadata?: { labels?: Record<string, string> }; spec: { containers: { name: string; image: string }[] } } })
      .template;
    while (names.length < count) {
      const name = `${d.metadata.name}-${hash}-${randomBytes(3).toString("hex").slice(0, 5)}`;
      names.push(name);
      const labels = { ...(template.metadata?.labels ?? {}), "pod-template-hash": hash };
      this.putPod(d, name, labels, template.spec.containers, state);
    }
    st.podsByHash.set(hash, names);
    // Update the state of pods that already exist (e.g. a starting pod that became ready).
    for (const n of names) {
      const pk = key(typeByKind("Pod"), d.metadata.namespace, n);
      const pod = this.store.get(pk);
      if (pod !== undefined) pod.status = podStatus(template.spec.containers, state);
    }
    void k;
  }

  private putPod(
    owner: Obj,
    name: string,
    labels: Record<string, string>,
    containers: { name: string; image: string }[],
    state: RolloutBehaviour | "starting" | "succeeded" | "failed" | "not-promoted" | "running",
  ): void {
    const ns = owner.metadata.namespace ?? "default";
    const pod: Obj = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        namespace: ns,
        uid: uid(),
        labels,
        creationTimestamp: new Date().toISOString(),
        resourceVersion: String(++this.rv),
        ownerReferences: [
          { apiVersion: owner.apiVersion ?? "", kind: owner.kind ?? "", name: owner.metadata.name, uid: owner.metadata.uid ?? "", controller: true },
        ],
      },
      spec: { containers },
      status: podStatus(containers, state),
    };
    const pk = key(typeByKind("Pod"), ns, name);
    this.store.set(pk, pod);
    const custom = this.options.logs?.(pod);
    const c = containers[0];
    const event = (type: string, reason: string, message: string) =>
      this.putEvent(ns, { kind: "Pod", name, namespace: ns, uid: pod.metadata.uid ?? "" }, type, reason, message);
    event("Normal", "Scheduled", `Successfully assigned ${ns}/${name} to node-1`);
    if (state === "image-pull-error") {
      event("Warning", "Failed", `Failed to pull image "${c?.image}": rpc error: code = NotFound desc = manifest unknown`);
      event("Warning", "Failed", "Error: ErrImagePull");
    } else if (state === "config-error") {
      event("Warning", "Failed", `Error: couldn't find key AWS_REGION in Secret ${ns}/aws-credentials`);
    } else {
      event("Normal", "Pulled", `Container image "${c?.image}" already present on machine`);
      event("Normal", "Started", `Started container ${c?.name}`);
    }
    if (state === "never-ready") event("Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503");
    if (state === "crash-loop") event("Warning", "BackOff", `Back-off restarting failed container ${c?.name} in pod ${name}`);
    if (state === "failed") event("Warning", "Failed", "Error: container exited with code 1");
    if (state === "not-promoted") event("Warning", "Failed", "Error: container exited with code 3");
    const defaultLogs =
      state === "crash-loop" || state === "failed"
        ? "starting bayes-serve\nerror: cannot read s3://your-bucket/bayes-serve/latest: AccessDenied\n"
        : state === "never-ready"
          ? "listening on :8000\nmodel not loaded yet: waiting for s3://your-bucket/bayes-serve/latest\n"
          : state === "not-promoted"
            ? "quality gate failed; stored as v2 but not promoted:\n  predicts worse than v1: elpd -41.2 (SE 9.8) against the newest data's held-out rows\n"
            : "listening on :8000\nmodel v1 loaded\n";
    this.podLogs.set(pk, custom ?? defaultLogs);
  }

  private putEvent(
    namespace: string,
    involved: { kind: string; name: string; namespace: string; uid: string },
    type: string,
    reason: string,
    message: string,
  ): void {
    const now = new Date().toISOString();
    const name = `${involved.name}.${randomBytes(8).toString("hex")}`;
    this.store.set(key(typeByKind("Event"), namespace, name), {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace, uid: uid(), resourceVersion: String(++this.rv), creationTimestamp: now },
      involvedObject: { apiVersion: "v1", ...involved },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: involved.kind === "Pod" ? "kubelet" : "job-controller" },
    });
  }

  private reconcileJob(k: string, job: Obj, now: number): void {
    const started = this.jobStarted.get(k);
    if (started === undefined) return;
    const spec = job.spec as {
      backoffLimit?: number;
      activeDeadlineSeconds?: number;
      template: { metadata?: { labels?: Record<string, string> }; spec: { containers: { name: string; image: string }[] } };
    };
    const existing = (job.status ?? {}) as { conditions?: { type: string; status: string }[] };
    if ((existing.conditions ?? []).some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True")) return;
    const behaviour = this.options.job?.(job) ?? "succeed";
    const ns = job.metadata.namespace ?? "default";
    const labels = { ...(spec.template.metadata?.labels ?? {}), "batch.kubernetes.io/job-name": job.metadata.name, "job-name": job.metadata.name };
    const startTime = new Date(started).toISOString();
    const podName = (i: number) => `${job.metadata.name}-${createHash("sha1").update(`${job.metadata.uid}${i}`).digest("hex").slice(0, 5)}`;
    const elapsed = now - started;
    const deadline = spec.activeDeadlineSeconds !== undefined ? spec.activeDeadlineSeconds * 1000 : Infinity;
    const done = elapsed >= (this.options.jobDurationMs ?? 0);

    if (behaviour === "succeed" && done) {
      if (!this.store.has(key(typeByKind("Pod"), ns, podName(0)))) this.putPod(job, podName(0), labels, spec.template.spec.containers, "succeeded");
      job.status = {
        startTime,
        completionTime: new Date(now).toISOString(),
        succeeded: 1,
        conditions: [
          cond("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
          cond("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
        ],
      };
      return;
    }
    if ((behaviour === "not-promoted" || behaviour === "stage-refused") && done) {
      // `train --merge` exits 4 when it refuses the staged chains; the gate's refusal is 3.
      const code = behaviour === "not-promoted" ? 3 : 4;
      const policy = (
        job.spec as { podFailurePolicy?: { rules: { action: string; onExitCodes?: { containerName?: string; operator: string; values: number[] } }[] } }
      ).podFailurePolicy;
      const index = (policy?.rules ?? []).findIndex(
        (r) =>
          r.action === "FailJob" &&
          r.onExitCodes?.operator === "In" &&
          r.onExitCodes.values.includes(code) &&
          (r.onExitCodes.containerName ?? spec.template.spec.containers[0].name) === spec.template.spec.containers[0].name,
      );
      const attempts = index >= 0 ? 1 : (spec.backoffLimit ?? 6) + 1;
      for (let i = 0; i < attempts; i++) {
        if (!this.store.has(key(typeByKind("Pod"), ns, podName(i)))) this.putPod(job, podName(i), labels, spec.template.spec.containers, "not-promoted");
      }
      const [reason, message] =
        index >= 0
          ? [
              "PodFailurePolicy",
              `Container ${spec.template.spec.containers[0].name} for pod ${ns}/${podName(0)} failed with exit code ${code} matching FailJob rule at index ${index}`,
            ]
          : ["BackoffLimitExceeded", "Job has reached the specified backoff limit"];
      this.putEvent(ns, { kind: "Job", name: job.metadata.name, namespace: ns, uid: job.metadata.uid ?? "" }, "Warning", reason, message);
      job.status = { startTime, failed: attempts, conditions: [cond("FailureTarget", "True", reason, message), cond("Failed", "True", reason, message)] };
      return;
    }
    if (behaviour === "fail" && done) {
      const attempts = (spec.backoffLimit ?? 6) + 1;
      for (let i = 0; i < attempts; i++) {
        if (!this.store.has(key(typeByKind("Pod"), ns, podName(i)))) this.putPod(job, podName(i), labels, spec.template.spec.containers, "failed");
      }
      this.putEvent(
        ns,
        { kind: "Job", name: job.metadata.name, namespace: ns, uid: job.metadata.uid ?? "" },
        "Warning",
        "BackoffLimitExceeded",
        "Job has reached the specified backoff limit",
      );
      job.status = {
        startTime,
        failed: attempts,
        conditions: [
          cond("FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
          cond("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
        ],
      };
      return;
    }
    if (elapsed >= deadline) {
      this.putEvent(
        ns,
        { kind: "Job", name: job.metadata.name, namespace: ns, uid: job.metadata.uid ?? "" },
        "Warning",
        "DeadlineExceeded",
        "Job was active longer than specified deadline",
      );
      this.store.delete(key(typeByKind("Pod"), ns, podName(0)));
      job.status = {
        startTime,
        failed: 1,
        conditions: [
          cond("FailureTarget", "True", "DeadlineExceeded", "Job was active longer than specified deadline"),
          cond("Failed", "True", "DeadlineExceeded", "Job was active longer than specified deadline"),
        ],
      };
      return;
    }
    if (!this.store.has(key(typeByKind("Pod"), ns, podName(0)))) this.putPod(job, podName(0), labels, spec.template.spec.containers, "running");
    job.status = { startTime, active: 1, ready: 0 };
  }
}

export function kubeConfigFor(server: string, token = "test-token"): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server, skipTLSVerify: true }],
    users: [{ name: "tester", token }],
    contexts: [{ name: "fake", cluster: "fake", user: "tester", namespace: "default" }],
    currentContext: "fake",
  });
  return kc;
}

// ---- helpers ----

function podStatus(containers: { name: string }[], state: string): Record<string, unknown> {
  const now = new Date().toISOString();
  const cs = (extra: Record<string, unknown>) => containers.map((c) => ({ name: c.name, image: "", imageID: "", restartCount: 0, ...extra }));
  switch (state) {
    case "ready":
      return {
        phase: "Running",
        conditions: [cond("Ready", "True", "", "")],
        containerStatuses: cs({ ready: true, started: true, state: { running: { startedAt: now } } }),
      };
    case "starting":
    case "never-ready":
    case "running":
      return {
        phase: "Running",
        conditions: [cond("Ready", "False", "ContainersNotReady", "containers with unready status")],
        containerStatuses: cs({ ready: false, started: true, state: { running: { startedAt: now } } }),
      };
    case "crash-loop":
      return {
        phase: "Running",
        conditions: [cond("Ready", "False", "ContainersNotReady", "containers with unready status")],
        containerStatuses: cs({
          ready: false,
          started: false,
          restartCount: 4,
          state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container" } },
          lastState: { terminated: { exitCode: 1, reason: "Error", startedAt: now, finishedAt: now } },
        }),
      };
    case "image-pull-error":
      return {
        phase: "Pending",
        containerStatuses: cs({ ready: false, started: false, state: { waiting: { reason: "ImagePullBackOff", message: "Back-off pulling image" } } }),
      };
    case "config-error":
      return {
        phase: "Pending",
        containerStatuses: cs({
          ready: false,
          started: false,
          state: { waiting: { reason: "CreateContainerConfigError", message: "couldn't find key AWS_REGION in Secret pymc/aws-credentials" } },
        }),
      };
    case "succeeded":
      return {
        phase: "Succeeded",
        containerStatuses: cs({ ready: false, started: false, state: { terminated: { exitCode: 0, reason: "Completed", startedAt: now, finishedAt: now } } }),
      };
    case "failed":
      return {
        phase: "Failed",
        containerStatuses: cs({ ready: false, started: false, state: { terminated: { exitCode: 1, reason: "Error", startedAt: now, finishedAt: now } } }),
      };
    case "not-promoted":
      return {
        phase: "Failed",
        containerStatuses: cs({ ready: false, started: false, state: { terminated: { exitCode: 3, reason: "Error", startedAt: now, finishedAt: now } } }),
      };
    default:
      return { phase: "Unknown" };
  }
}

function immutableViolation(t: ResourceType, previous: Obj | undefined, applied: Obj, existing: Obj | undefined): string | undefined {
  if (existing === undefined) return undefined;
  const p = ((previous ?? existing).spec ?? {}) as Record<string, unknown>;
  const a = (applied.spec ?? {}) as Record<string, unknown>;
  if (t.kind === "Job") {
    if (!deepEqual(p.template, a.template)) return "spec.template";
    if (!deepEqual(p.selector, a.selector)) return "spec.selector";
    if (!deepEqual(p.completions, a.completions)) return "spec.completions";
  }
  if (t.kind === "Deployment" && a.selector !== undefined && !deepEqual((existing.spec as Record<string, unknown>).selector, a.selector)) {
    return "spec.selector";
  }
  return undefined;
}

/** A little of what the real API server's defaulting does, so re-applied reads look like the real thing. */
function defaulted(t: ResourceType, o: Obj): Obj {
  const spec = o.spec as Record<string, unknown> | undefined;
  if (spec === undefined) return o;
  const podSpec = (tpl: unknown) => {
    const s = (tpl as { spec?: Record<string, unknown> } | undefined)?.spec;
    if (s === undefined) return;
    s.dnsPolicy ??= "ClusterFirst";
    s.schedulerName ??= "default-scheduler";
    for (const c of (s.containers as Record<string, unknown>[] | undefined) ?? []) {
      c.terminationMessagePath ??= "/dev/termination-log";
      c.terminationMessagePolicy ??= "File";
      c.imagePullPolicy ??= String(c.image ?? "").endsWith(":latest") ? "Always" : "IfNotPresent";
    }
  };
  if (t.kind === "Deployment") {
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    podSpec(spec.template);
  }
  if (t.kind === "Job") {
    spec.completionMode ??= "NonIndexed";
    spec.suspend ??= false;
    podSpec(spec.template);
  }
  return o;
}

function discovery(group: string, version: string): unknown {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group === "" ? version : `${group}/${version}`,
    resources: TYPES.filter((t) => t.group === group && t.version === version).flatMap((t) => [
      {
        name: t.plural,
        singularName: t.kind.toLowerCase(),
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ["create", "delete", "get", "list", "patch", "update"],
      },
      { name: `${t.plural}/status`, singularName: "", namespaced: t.namespaced, kind: t.kind, verbs: ["get", "patch", "update"] },
    ]),
  };
}

function typeByKind(kind: string): ResourceType {
  const t = TYPES.find((x) => x.kind === kind);
  if (t === undefined) throw new Error(`fake apiserver: unknown kind ${kind}`);
  return t;
}

function apiVersionOf(t: ResourceType): string {
  return t.group === "" ? t.version : `${t.group}/${t.version}`;
}

function key(t: ResourceType, namespace: string | undefined, name: string): string {
  return `${t.group}/${t.plural}/${t.namespaced ? (namespace ?? "") : ""}/${name}`;
}

function templateHash(d: Obj): string {
  return createHash("sha256")
    .update(JSON.stringify((d.spec as { template?: unknown }).template ?? {}))
    .digest("hex")
    .slice(0, 10);
}

function cond(type: string, statusValue: string, reason: string, message: string): Record<string, string> {
  const now = new Date().toISOString();
  return { type, status: statusValue, reason, message, lastTransitionTime: now, lastUpdateTime: now };
}

function status(code: number, reason: string, message: string, details?: Record<string, string>): unknown {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code, ...(details ? { details } : {}) };
}

function notFound(t: ResourceType, name: string): unknown {
  return status(404, "NotFound", `${t.plural}${t.group ? `.${t.group}` : ""} "${name}" not found`, { name, kind: t.plural });
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function uid(): string {
  const h = randomBytes(16).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function clone<T>(o: T): T {
  return o === undefined ? o : (JSON.parse(JSON.stringify(o)) as T);
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** Label selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`. */
export function matchesLabels(labels: Record<string, string>, selector: string | undefined): boolean {
  if (selector === undefined || selector.trim() === "") return true;
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return terms.every((raw) => {
    const term = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term))) {
      const values = m[3].split(",").map((s) => s.trim());
      const has = m[1] in labels && values.includes(labels[m[1]]);
      return m[2] === "in" ? has : !has;
    }
    if ((m = /^([^\s!=]+)\s*!=\s*(.*)$/.exec(term))) return labels[m[1]] !== m[2];
    if ((m = /^([^\s!=]+)\s*==?\s*(.*)$/.exec(term))) return labels[m[1]] === m[2];
    if ((m = /^!\s*(\S+)$/.exec(term))) return !(m[1] in labels);
    return term in labels;
  });
}

function matchesFields(obj: Obj, selector: string | undefined): boolean {
  if (selector === undefined || selector.trim() === "") return true;
  return selector.split(",").every((term) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(term.trim());
    if (m === null) return false;
    let v: unknown = obj;
    for (const part of m[1].split(".")) v = (v as Record<string, unknown> | undefined)?.[part];
    const equal = String(v ?? "") === m[3];
    return m[2] === "!=" ? !equal : equal;
  });
}
