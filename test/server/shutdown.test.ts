// The real command, `bayes-serve serve`, in its own process: it becomes ready, and on SIGTERM it drains (issue 13,
// failure 4): readiness 503 at once, the listener open for the grace period, then closed; the request in flight
// finishes, a client stalled mid-body is cut at the deadline, and the process exits 0.
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeWithSeedModel, type TempStore } from "./fixtures.js";

const ROOT = join(import.meta.dirname, "..", "..");

let store: TempStore & { version: string };

beforeAll(async () => {
  store = await storeWithSeedModel();
});

afterAll(() => store.cleanup());

interface Started {
  child: ChildProcess;
  url: string;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
}

async function serve(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "serve", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = "";
  let buffered = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() === "") continue;
        const parsed = JSON.parse(line) as Record<string, unknown>;
        lines.push(parsed);
        if (parsed.msg === "ready") {
          const listening = lines.find((l) => l.msg === "listening; loading the model");
          resolve(String(listening?.url));
        }
      }
    });
    void exited.then((code) => reject(new Error(`serve exited (${code}) before ready: ${stderr}`)));
  });
  return { child, url: await ready, lines, exited };
}

describe("bayes-serve serve", () => {
  it("on SIGTERM: not ready at once, accepting through the grace period, then finishes the request in flight and exits 0", async () => {
    // A drain deadline far beyond the request's second of work, so that a busy CI machine cannot make it cut the request.
    const s = await serve([
      "--model",
      store.dir,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--poll-interval",
      "0",
      "--log-level",
      "info",
      "--shutdown-grace",
      "1",
      "--shutdown-timeout",
      "30",
    ]);
    try {
      const ok = await fetch(`${s.url}/predict/v1.0.0/point`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"data": {"x": 5, "category": 2}}',
      });
      expect(ok.status).toBe(200);
      expect((await fetch(`${s.url}/health/ready`)).status).toBe(200);

      // About a second of sampling on the worker: 60 instances × 100,000 samples.
      const heavyBody = JSON.stringify({ data: Array.from({ length: 60 }, (_, i) => ({ x: i / 6, category: i % 3 })), algo_param: { n_samples: 100_000 } });
      const inFlight = fetch(`${s.url}/predict/v1.0.0/interval`, { method: "POST", headers: { "content-type": "application/json" }, body: heavyBody });
      await new Promise((r) => setTimeout(r, 200));
      const signalled = performance.now();
      s.child.kill("SIGTERM");

      // Readiness goes 503 while the listener still takes new connections. Polled rather than probed once after a
      // fixed wait: on a loaded CI machine the signal can take a while to be handled, and a probe that early is
      // rightly answered 200.
      let ready = 200;
      for (const deadline = Date.now() + 5_000; ready === 200 && Date.now() < deadline;) {
        ready = (await fetch(`${s.url}/health/ready`, { headers: { connection: "close" } })).status;
        if (ready === 200) await new Promise((r) => setTimeout(r, 20));
      }
      expect(ready).toBe(503);
      // After the grace period new connections are refused.
      let refused = false;
      for (const deadline = Date.now() + 10_000; !refused && Date.now() < deadline;) {
        refused = await fetch(`${s.url}/health/live`, { headers: { connection: "close" } }).then(
          () => false,
          () => true,
        );
        if (!refused) await new Promise((r) => setTimeout(r, 50));
      }
      expect(refused).toBe(true);
      expect(performance.now() - signalled).toBeGreaterThanOrEqual(950);

      const res = await inFlight;
      expect(res.status).toBe(200);
      const body = (await res.json()) as { y_pred_lower: number[]; y_pred_upper: number[]; algo_param: number };
      expect(body.y_pred_lower).toHaveLength(60);
      expect(body.algo_param).toBe(100_000);
      const code = await s.exited;
      expect(code, JSON.stringify(s.lines.slice(-6))).toBe(0);
      expect(s.lines.some((l) => String(l.msg).startsWith("shutting down: not ready") && l.signal === "SIGTERM" && l.graceMs === 1000)).toBe(true);
      const last = s.lines.find((l) => l.msg === "shut down cleanly") as { closedAtDeadline: number; graceMs: number } | undefined;
      expect(last?.closedAtDeadline).toBe(0);
      expect(last?.graceMs).toBeGreaterThanOrEqual(990);
    } finally {
      if (s.child.exitCode === null) s.child.kill("SIGKILL");
    }
  });

  it("a client stalled mid-body is cut at the drain deadline, and the process still exits 0", async () => {
    const s = await serve([
      "--model",
      store.dir,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--poll-interval",
      "0",
      "--shutdown-grace",
      "0.3",
      "--shutdown-timeout",
      "1",
    ]);
    try {
      const { hostname, port } = new URL(s.url);
      const stalled = connect(Number(port), hostname);
      await new Promise((r) => stalled.once("connect", r));
      stalled.on("error", () => undefined);
      stalled.write('POST /predict/v1.0.0/point HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"data":');
      const stalledClosed = new Promise<number>((resolve) => stalled.once("close", () => resolve(performance.now())));
      await new Promise((r) => setTimeout(r, 100));
      const signalled = performance.now();
      s.child.kill("SIGTERM");
      expect(await s.exited, JSON.stringify(s.lines.slice(-4))).toBe(0);
      // Grace 0.3 s, then 1 s for in-flight requests: the stalled upload was cut then, not before.
      expect((await stalledClosed) - signalled).toBeGreaterThanOrEqual(1_290);
      expect(s.lines.find((l) => l.msg === "shut down: connections still open at the drain deadline were closed")).toMatchObject({ closedAtDeadline: 1 });
    } finally {
      if (s.child.exitCode === null) s.child.kill("SIGKILL");
    }
  });

  it("refuses to start, with a clear message, when the store holds no model", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "serve", "--model", join(store.dir, "nothing-here"), "--port", "0", "--host", "127.0.0.1"],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/has no model yet \(no latest version\): train and publish one first/);
  });

  it("rejects bad flags", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "serve", "--port", "99999"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/--port must be an integer in 0\.\.65535/);
  });
});
