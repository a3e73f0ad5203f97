// A thin interface over @kubernetes/client-node: the few calls the deploy commands make, with errors turned into
// BayesServeErrors that say which call failed against which server and why. Writes are server-side apply
// (PATCH application/apply-patch+yaml, fieldManager "bayes-serve", force), so every apply is idempotent.
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  VersionApi,
  createConfiguration,
  type CoreV1Event,
  type KubernetesObject,
  type RequestContext,
  type ResponseContext,
} from "@kubernetes/client-node";
import { BayesServeError } from "../errors.js";
import { FIELD_MANAGER } from "./render.js";

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface LogOptions {
  container?: string;
  tailLines?: number;
  previous?: boolean;
}

/** What the deploy commands need from a Kubernetes API server. */
export interface KubeApi {
  /** The API server's URL, for messages. */
  readonly server: string;
  /** The server's version (e.g. "v1.36.0"); also the reachability check. */
  version(): Promise<string>;
  /** Server-side apply; returns the object as stored. With dryRun nothing is persisted. */
  apply<T extends KubernetesObject>(obj: T, options?: { dryRun?: boolean }): Promise<T>;
  /** The object, or undefined when it does not exist. */
  read<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined>;
  list<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string | undefined, options?: ListOptions): Promise<T[]>;
  /** True when something was deleted, false when it was already gone. */
  delete(ref: ObjectRef, options?: { propagationPolicy?: "Background" | "Foreground" | "Orphan" }): Promise<boolean>;
  podLogs(namespace: string, pod: string, options?: LogOptions): Promise<string>;
  events(namespace: string, options?: ListOptions): Promise<CoreV1Event[]>;
}

/** An API call that failed; `status` is the HTTP status (0 when the server could not be reached). */
export class KubeApiError extends BayesServeError {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(message: string, status: number, reason?: string, cause?: unknown) {
    super("DEPLOY", message, { cause });
    this.status = status;
    this.reason = reason;
  }
}

export interface KubeConfigOptions {
  /** A kubeconfig file; otherwise $KUBECONFIG, ~/.kube/config, or the in-cluster service account. */
  kubeconfig?: string;
  context?: string;
}

/** Load the kubeconfig the way kubectl does, failing clearly when there is none. */
export function loadKubeConfig(options: KubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig !== undefined) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    throw new BayesServeError("DEPLOY", `cannot load the kubeconfig${options.kubeconfig ? ` ${options.kubeconfig}` : ""}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (options.context !== undefined) {
    if (!kc.contexts.some((c) => c.name === options.context)) {
      const known = kc.contexts.map((c) => c.name).join(", ") || "none";
      throw new BayesServeError("DEPLOY", `kubeconfig has no context "${options.context}" (contexts: ${known})`);
    }
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  // loadFromDefault falls back to an unauthenticated http://localhost:8080 when it finds nothing at all.
  if (cluster === null || (cluster.name === "cluster" && cluster.server === "http://localhost:8080" && kc.contexts.length <= 1)) {
    throw new BayesServeError(
      "DEPLOY",
      "no Kubernetes configuration found: set KUBECONFIG or --kubeconfig, create ~/.kube/config (kind, minikube and k3s write one), or run inside a cluster",
    );
  }
  return kc;
}

/** A KubeApi over @kubernetes/client-node; every request is abandoned after `timeoutMs`. */
export function createKubeApi(kc: KubeConfig, options: { timeoutMs?: number } = {}): KubeApi {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new BayesServeError("DEPLOY", "kubeconfig has no current cluster");
  const timeoutMs = options.timeoutMs ?? 30_000;
  const config = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [
      {
        pre: async (ctx: RequestContext) => {
          ctx.setSignal(AbortSignal.timeout(timeoutMs));
          return ctx;
        },
        post: async (res: ResponseContext) => res,
      },
    ],
  });
  return new ClientNodeKubeApi(cluster.server, new KubernetesObjectApi(config), new CoreV1Api(config), new VersionApi(config), timeoutMs);
}

class ClientNodeKubeApi implements KubeApi {
  constructor(
    readonly server: string,
    private readonly objects: KubernetesObjectApi,
    private readonly core: CoreV1Api,
    private readonly versions: VersionApi,
    private readonly timeoutMs: number,
  ) {}

  async version(): Promise<string> {
    const info = await this.call("read the server version", () => this.versions.getCode());
    return info.gitVersion;
  }

  async apply<T extends KubernetesObject>(obj: T, options: { dryRun?: boolean } = {}): Promise<T> {
    const body = { ...obj, metadata: { ...obj.metadata } } as T;
    return this.call(`apply ${describe(obj)}${options.dryRun ? " (dry run)" : ""}`, () =>
      this.objects.patch<T>(body, undefined, options.dryRun ? "All" : undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
    );
  }

  async read<T extends KubernetesObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await this.call(`read ${describeRef(ref)}`, () =>
        this.objects.read<T>({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } } as T & {
          apiVersion: string;
          kind: string;
          metadata: { name: string; namespace?: string };
        }),
      );
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async list<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string | undefined, options: ListOptions = {}): Promise<T[]> {
    const where = namespace ? ` in namespace ${namespace}` : "";
    const res = await this.call(`list ${kind}s${where}`, () =>
      this.objects.list<T>(apiVersion, kind, namespace, undefined, undefined, undefined, options.fieldSelector, options.labelSelector),
    );
    return res.items;
  }

  async delete(ref: ObjectRef, options: { propagationPolicy?: "Background" | "Foreground" | "Orphan" } = {}): Promise<boolean> {
    try {
      await this.call(`delete ${describeRef(ref)}`, () =>
        this.objects.delete(
          { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } },
          undefined,
          undefined,
          undefined,
          undefined,
          options.propagationPolicy ?? "Background",
        ),
      );
      return true;
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return false;
      throw err;
    }
  }

  async podLogs(namespace: string, pod: string, options: LogOptions = {}): Promise<string> {
    return this.call(`read the logs of pod ${pod} in namespace ${namespace}`, () =>
      this.core.readNamespacedPodLog({
        name: pod,
        namespace,
        ...(options.container !== undefined ? { container: options.container } : {}),
        ...(options.tailLines !== undefined ? { tailLines: options.tailLines } : {}),
        ...(options.previous !== undefined ? { previous: options.previous } : {}),
      }),
    );
  }

  async events(namespace: string, options: ListOptions = {}): Promise<CoreV1Event[]> {
    const res = await this.call(`list events in namespace ${namespace}`, () =>
      this.core.listNamespacedEvent({
        namespace,
        ...(options.fieldSelector !== undefined ? { fieldSelector: options.fieldSelector } : {}),
        ...(options.labelSelector !== undefined ? { labelSelector: options.labelSelector } : {}),
      }),
    );
    return res.items;
  }

  private async call<R>(what: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      throw this.translate(what, err);
    }
  }

  private translate(what: string, err: unknown): KubeApiError {
    if (err instanceof KubeApiError) return err;
    if (err instanceof ApiException) {
      const fromBody = statusBody(err.body);
      // Generated APIs drop the body of some errors (e.g. 401); the exception's own message still names the status.
      const status = fromBody.message !== undefined ? fromBody : { ...fromBody, message: /\nMessage: ([^\n]+)/.exec(err.message)?.[1] };
      const code = typeof err.code === "number" ? err.code : 0;
      const hint =
        code === 401 ? " (your credentials were refused: check the kubeconfig's user)" : code === 403 ? " (you lack the RBAC permission for this)" : "";
      return new KubeApiError(
        `cannot ${what}: ${status.message ?? `HTTP ${code}`}${hint} [HTTP ${code}${status.reason ? ` ${status.reason}` : ""}]`,
        code,
        status.reason,
        err,
      );
    }
    const e = err as { name?: string; code?: string; message?: string; type?: string; cause?: unknown };
    if (e?.name === "AbortError" || e?.type === "aborted") {
      return new KubeApiError(
        `cannot ${what}: the Kubernetes API server at ${this.server} did not answer within ${this.timeoutMs >= 1000 ? `${Math.round(this.timeoutMs / 1000)} s` : `${this.timeoutMs} ms`}`,
        0,
        "Timeout",
        err,
      );
    }
    const detail = e?.code ?? (e?.cause as { code?: string } | undefined)?.code;
    const reason = e?.message ?? String(err);
    if (e?.name === "FetchError" || detail !== undefined) {
      return new KubeApiError(
        `cannot reach the Kubernetes API server at ${this.server} (while trying to ${what}): ${detail ?? reason}`,
        0,
        detail ?? "Unreachable",
        err,
      );
    }
    // Anything else (e.g. "Unrecognized API version and kind" from discovery) is still this call's failure.
    return new KubeApiError(`cannot ${what}: ${reason}`, 0, undefined, err);
  }
}

function statusBody(body: unknown): { message?: string; reason?: string } {
  let b: unknown = body;
  if (typeof body === "string") {
    try {
      b = JSON.parse(body);
    } catch {
      return body.trim() === "" ? {} : { message: body.trim().slice(0, 500) };
    }
  }
  if (b !== null && typeof b === "object") {
    const o = b as { message?: unknown; reason?: unknown };
    return {
      ...(typeof o.message === "string" ? { message: o.message } : {}),
      ...(typeof o.reason === "string" ? { reason: o.reason } : {}),
    };
  }
  return {};
}

export function describe(obj: KubernetesObject): string {
  return describeRef({ apiVersion: obj.apiVersion ?? "v1", kind: obj.kind ?? "?", name: obj.metadata?.name ?? "?", namespace: obj.metadata?.namespace });
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind}/${ref.name}${ref.namespace ? ` in namespace ${ref.namespace}` : ""}`;
}

export function refOf(obj: KubernetesObject): ObjectRef {
  return {
    apiVersion: obj.apiVersion ?? "v1",
    kind: obj.kind ?? "",
    name: obj.metadata?.name ?? "",
    ...(obj.metadata?.namespace !== undefined ? { namespace: obj.metadata.namespace } : {}),
  };
}
