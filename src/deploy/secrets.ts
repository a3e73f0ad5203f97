// `deploy secret create | list | delete`: named Secrets in the pipeline's namespace, whose keys the stages map to
// environment variables. Values are only ever written, never printed.
import { readFileSync } from "node:fs";
import type { V1Namespace, V1Secret } from "@kubernetes/client-node";
import { BayesServeError } from "../errors.js";
import type { KubeApi } from "./kube-client.js";
import { FIELD_MANAGER } from "./render.js";

export interface SecretSummary {
  name: string;
  type: string;
  keys: string[];
  created?: string;
}

const KEY = /^[-._a-zA-Z0-9]+$/;
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Gather secret data from `KEY=VALUE` literals, names of variables in `env`, and dotenv-style files. */
export function secretData(
  sources: { literals?: string[]; fromEnv?: string[]; envFiles?: string[] },
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const data: Record<string, string> = {};
  const put = (k: string, v: string, where: string) => {
    if (!KEY.test(k)) throw new BayesServeError("USAGE", `${where}: "${k}" is not a valid secret key (letters, digits, '-', '_' and '.')`);
    if (k in data) throw new BayesServeError("USAGE", `${where}: key ${k} is given twice`);
    data[k] = v;
  };
  for (const lit of sources.literals ?? []) {
    const i = lit.indexOf("=");
    if (i <= 0) throw new BayesServeError("USAGE", `--from-literal "${lit.split("=")[0]}…": expected KEY=VALUE`);
    put(lit.slice(0, i), lit.slice(i + 1), "--from-literal");
  }
  for (const name of sources.fromEnv ?? []) {
    const v = env[name];
    if (v === undefined) throw new BayesServeError("USAGE", `--from-env ${name}: the environment variable ${name} is not set`);
    put(name, v, "--from-env");
  }
  for (const file of sources.envFiles ?? []) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new BayesServeError("USAGE", `--from-env-file ${file}: ${(err as Error).message}`, { cause: err });
    }
    text.split(/\r?\n/).forEach((line, n) => {
      const t = line.trim();
      if (t === "" || t.startsWith("#")) return;
      const m = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(t);
      if (m === null) throw new BayesServeError("USAGE", `${file}:${n + 1}: expected KEY=VALUE`);
      put(m[1], m[2].replace(/^"(.*)"$/, "$1").replace(/^'(.*)'$/, "$1"), `${file}:${n + 1}`);
    });
  }
  if (Object.keys(data).length === 0) {
    throw new BayesServeError("USAGE", "no secret data: give --from-literal KEY=VALUE, --from-env VAR or --from-env-file FILE");
  }
  return data;
}

/** Create or replace a Secret (creating the namespace if needed). Returns its keys. */
export async function createSecret(api: KubeApi, namespace: string, name: string, data: Record<string, string>): Promise<string[]> {
  if (!NAME.test(name)) throw new BayesServeError("USAGE", `"${name}" is not a valid Secret name (lower-case letters, digits, '-' and '.')`);
  await api.version();
  const ns = await api.read<V1Namespace>({ apiVersion: "v1", kind: "Namespace", name: namespace });
  if (ns === undefined) {
    await api.apply<V1Namespace>({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace, labels: { "app.kubernetes.io/managed-by": FIELD_MANAGER } },
    });
  }
  const secret: V1Secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace, labels: { "app.kubernetes.io/managed-by": FIELD_MANAGER } },
    type: "Opaque",
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")])),
  };
  await api.apply(secret);
  return Object.keys(data).sort();
}

export async function listSecrets(api: KubeApi, namespace: string): Promise<SecretSummary[]> {
  const items = await api.list<V1Secret>("v1", "Secret", namespace);
  return items
    .filter((s) => s.type !== "kubernetes.io/service-account-token" && !(s.type ?? "").startsWith("helm.sh/"))
    .map((s) => ({
      name: s.metadata?.name ?? "",
      type: s.type ?? "Opaque",
      keys: Object.keys(s.data ?? {}).sort(),
      ...(s.metadata?.creationTimestamp !== undefined ? { created: new Date(s.metadata.creationTimestamp).toISOString().replace(/\.\d+Z$/, "Z") } : {}),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function deleteSecret(api: KubeApi, namespace: string, name: string): Promise<void> {
  const deleted = await api.delete({ apiVersion: "v1", kind: "Secret", name, namespace });
  if (!deleted) throw new BayesServeError("DEPLOY", `secret "${name}" does not exist in namespace ${namespace}`);
}

export function formatSecrets(namespace: string, secrets: SecretSummary[]): string {
  if (secrets.length === 0) return `no secrets in namespace ${namespace}`;
  const rows = [["NAME", "TYPE", "KEYS", "CREATED"], ...secrets.map((s) => [s.name, s.type, s.keys.join(",") || "-", s.created ?? "-"])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n");
}
