// The real command, `bayes-serve serve`, in its own process: it becomes ready, and on SIGTERM it stops accepting,
// finishes the request in flight, and exits 0.
import { spawn, type ChildProcess } from "node:child_process";
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
  it("answers, and on SIGTERM finishes the request in flight, refuses new ones, and exits 0", async () => {
    const s = await serve(["--model", store.dir, "--port", "0", "--host", "127.0.0.1", "--poll-interval", "0", "--log-level", "info"]);
    try {
      const ok = await fetch(`${s.url}/predict/v1.0.0/point`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"data": {"x": 5, "category": 2}}' });
      expect(ok.status).toBe(200);
      expect((await fetch(`${s.url}/health/ready`)).status).toBe(200);

      // About a second of sampling on the worker: 60 instances × 100,000 samples.
      const heavyBody = JSON.stringify({ data: Array.from({ length: 60 }, (_, i) => ({ x: i / 6, category: i % 3 })), algo_param: { n_samples: 100_000 } });
      const started = performance.now();
      const inFlight = fetch(`${s.url}/predict/v1.0.0/interval`, { method: "POST", headers: { "content-type": "application/json" }, body: heavyBody });
      await new Promise((r) => setTimeout(r, 200));
      s.child.kill("SIGTERM");

      // New connections are refused (or, on a connection that was already open, answered 503) once the shutdown has
      // begun. Polled rather than probed once after a fixed wait: on a loaded CI machine the signal can take longer
      // than 100 ms to be handled, and a probe that early is rightly answered 200.
      let after: number | string = 200;
      for (const deadline = Date.now() + 5_000; after === 200 && Date.now() < deadline; ) {
        after = await fetch(`${s.url}/health/live`, { headers: { connection: "close" } }).then(
          (r) => r.status,
          () => "refused",
        );
        if (after === 200) await new Promise((r) => setTimeout(r, 20));
      }
      expect(["refused", 503]).toContain(after);

      const res = await inFlight;
      expect(res.status).toBe(200);
      const body = (await res.json()) as { y_pred_lower: number[]; y_pred_upper: number[]; algo_param: number };
      expect(body.y_pred_lower).toHaveLength(60);
      expect(body.algo_param).toBe(100_000);
      const code = await s.exited;
      expect(code, JSON.stringify(s.lines.slice(-6))).toBe(0);
      expect(performance.now() - started).toBeLessThan(15_000);
      expect(s.lines.some((l) => l.msg === "shutting down: finishing in-flight requests" && l.signal === "SIGTERM")).toBe(true);
      expect(s.lines.some((l) => l.msg === "shut down cleanly")).toBe(true);
    } finally {
      if (s.child.exitCode === null) s.child.kill("SIGKILL");
    }
  });

  it("refuses to start, with a clear message, when the store holds no model", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "serve", "--model", join(store.dir, "nothing-here"), "--port", "0", "--host", "127.0.0.1"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/has no model yet \(no latest version\): train and publish one first/);
  });

  it("rejects bad flags", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "serve", "--port", "99999"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/--port must be an integer in 0\.\.65535/);
  });
});
