// What went wrong with a stage's pods, in a few lines: each pod's phase and container states, the last events about
// them, and the tail of the most telling pod's log. Best effort: collecting diagnostics never throws.
import type { CoreV1Event, V1Pod } from "@kubernetes/client-node";
import type { KubeApi } from "./kube-client.js";

export interface DiagnosticsOptions {
  /** Also consider events about these objects (e.g. the Job or Deployment itself). */
  ownerNames?: string[];
  maxEvents?: number;
  logLines?: number;
}

/** Container waiting reasons that no amount of waiting will fix. */
export const FATAL_WAITING_REASONS = new Set(["InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError"]);

export function podSummary(pod: V1Pod): string {
  const phase = pod.status?.phase ?? "Unknown";
  const ready = (pod.status?.conditions ?? []).find((c) => c.type === "Ready")?.status === "True";
  const containers = (pod.status?.containerStatuses ?? []).map((cs) => {
    const parts: string[] = [];
    const st = cs.state;
    if (st?.waiting) parts.push(`waiting: ${st.waiting.reason ?? "?"}${st.waiting.message ? ` (${oneLine(st.waiting.message)})` : ""}`);
    else if (st?.terminated) parts.push(`terminated: ${st.terminated.reason ?? "?"}, exit code ${st.terminated.exitCode}`);
    else if (st?.running) parts.push("running");
    const last = cs.lastState?.terminated;
    if (last) parts.push(`last exit: ${last.reason ?? "?"} (code ${last.exitCode})`);
    if (cs.restartCount > 0) parts.push(`${cs.restartCount} restart${cs.restartCount === 1 ? "" : "s"}`);
    return `container ${cs.name}: ${parts.join(", ")}`;
  });
  const phaseText = phase === "Running" ? (ready ? "Running, ready" : "Running, not ready") : phase;
  return `pod/${pod.metadata?.name}: ${phaseText}${containers.length > 0 ? `; ${containers.join("; ")}` : ""}`;
}

/** A fatal container state in any of these pods, e.g. "CreateContainerConfigError: secret "x" not found". */
export function fatalPodProblem(pods: V1Pod[]): string | undefined {
  for (const pod of pods) {
    for (const cs of pod.status?.containerStatuses ?? []) {
      const w = cs.state?.waiting;
      if (w?.reason !== undefined && FATAL_WAITING_REASONS.has(w.reason)) {
        return `pod/${pod.metadata?.name} container ${cs.name}: ${w.reason}${w.message ? ` (${oneLine(w.message)})` : ""}`;
      }
    }
  }
  return undefined;
}

function eventTime(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t === undefined ? 0 : new Date(t).getTime();
}

export function formatEvent(e: CoreV1Event): string {
  const t = eventTime(e);
  const when = t > 0 ? new Date(t).toISOString().replace(/\.\d+Z$/, "Z") : "-";
  const count = (e.count ?? 1) > 1 ? ` (x${e.count})` : "";
  return `${when} ${e.type ?? "?"} ${e.reason ?? "?"} ${(e.involvedObject.kind ?? "").toLowerCase()}/${e.involvedObject.name}: ${oneLine(e.message ?? "")}${count}`;
}

/** Lines describing the pods matching `labelSelector` in `namespace`. */
export async function collectDiagnostics(api: KubeApi, namespace: string, labelSelector: string, options: DiagnosticsOptions = {}): Promise<string[]> {
  const out: string[] = [];
  try {
    const pods = await api.list<V1Pod>("v1", "Pod", namespace, { labelSelector });
    pods.sort((a, b) => Number(isReady(a)) - Number(isReady(b))); // troubled pods first
    out.push(pods.length === 0 ? "no pods found (not scheduled yet, or already removed)" : "pods:");
    for (const p of pods.slice(0, 5)) out.push(`  ${podSummary(p)}`);
    if (pods.length > 5) out.push(`  … and ${pods.length - 5} more`);

    // Events about the troubled pods (all pods when none is troubled), and about the owning Job or Deployment.
    const troubled = pods.filter((p) => !isReady(p));
    const names = new Set([...(troubled.length > 0 ? troubled : pods).map((p) => p.metadata?.name ?? ""), ...(options.ownerNames ?? [])]);
    const events = (await api.events(namespace)).filter((e) => names.has(e.involvedObject.name ?? "")).sort((a, b) => eventTime(a) - eventTime(b));
    const max = options.maxEvents ?? 10;
    if (events.length > 0) {
      out.push(`last ${Math.min(max, events.length)} event${events.length === 1 ? "" : "s"}:`);
      for (const e of events.slice(-max)) out.push(`  ${formatEvent(e)}`);
    } else {
      out.push("no events recorded for these pods");
    }

    const telling = pods.find((p) => !isReady(p) && p.status?.phase !== "Pending") ?? pods.find((p) => p.status?.phase !== "Pending");
    const lines = options.logLines ?? 15;
    if (telling !== undefined && lines > 0) {
      const name = telling.metadata?.name ?? "";
      const crashed = (telling.status?.containerStatuses ?? []).some((c) => c.restartCount > 0);
      let text = "";
      try {
        text = await api.podLogs(namespace, name, { tailLines: lines, ...(crashed ? { previous: true } : {}) });
      } catch {
        try {
          text = await api.podLogs(namespace, name, { tailLines: lines });
        } catch {
          text = "";
        }
      }
      const logLines = text.split("\n").filter((l) => l.trim() !== "");
      if (logLines.length > 0) {
        out.push(`last ${logLines.length} log line${logLines.length === 1 ? "" : "s"} of pod/${name}${crashed ? " (previous container)" : ""}:`);
        for (const l of logLines.slice(-lines)) out.push(`  ${l}`);
      }
    }
  } catch (err) {
    out.push(`(could not collect pod diagnostics: ${(err as Error).message})`);
  }
  return out;
}

function isReady(p: V1Pod): boolean {
  return (p.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True") || p.status?.phase === "Succeeded";
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}
