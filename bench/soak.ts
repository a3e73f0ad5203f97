// The load test of issue 13, item 1: the production build of the server under the project's heap settings
// (SERVING_NODE_OPTIONS), on loopback, for 60 s:
//   - 64 clients, each sending maximum-size requests one after another (every documented limit reached: a density of
//     20 instances × 10,000 bins × 100,000 samples, 10 million samples in one interval batch, a mean of 1,000
//     instances × every posterior draw, a point batch of 1,000 × 10,000, a density of 200,000 values from 10 million
//     samples), reading each answer and, when refused, retrying after Retry-After (at most 1 s, with jitter);
//   - 12 connections that pipeline 256 maximum-size densities each, then one a second, and never read (a new one when
//     the server closes one);
//   - light requests (the seed's /interval) at a steady pace on 4 connections of their own, from another process, timed.
// The heavy clients run at nice 10, as clients on other machines would not take the server's cores.
// It passes when the server never crashes, its resident memory (main thread and workers) stays under 400 MB, every
// heavy request is answered 200 or refused 503 with Retry-After, and the light requests' p99 is under 50 ms.
//
//   npm run test:soak  [-- --duration 60 --heavy 64 --pipeliners 12 --no-build]
//
// Prints the figures (RSS peak, light p50/p99, heavy answers and refusals, /metrics' shed counts) and exits 1 when a
// criterion fails. It uses the build and model of bench/service.ts (.tmp/bench-service).
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { loadavg, setPriority } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SERVING_NODE_OPTIONS } from "../src/server/constants.js";
import { build, DIST, ROOT, STORE, train } from "./serving-setup.js";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const option = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const has = (name: string): boolean => process.argv.includes(`--${name}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (s: string): void => void process.stderr.write(`${s}\n`);

const RSS_LIMIT_MB = 400;
const LIGHT_P99_LIMIT_MS = 50;
const LIGHT_BODY = '{"data": {"x": 5, "category": 2}}';
/** The heavy clients' nice value. */
const CLIENT_NICE = 10;
/** Requests each never-reading connection pipelines before it falls silent. */
const PIPELINED_BURST = 256;

/** The maximum-size requests, each at a documented limit (src/server/constants.ts, DEFAULT_LIMITS). */
function heavyRequests(): { path: string; body: string }[] {
  const instances = (n: number): { x: number; category: number }[] => Array.from({ length: n }, (_, i) => ({ x: (i % 100) / 10, category: i % 3 }));
  return [
    { path: "/predict/v1.0.0/density", body: JSON.stringify({ data: instances(20), bins: 10_000, algo_param: { n_samples: 100_000 } }) },
    { path: "/predict/v1.0.0/interval", body: JSON.stringify({ data: instances(100), algo_param: { n_samples: 100_000 } }) },
    { path: "/predict/v1.0.0/mean", body: JSON.stringify({ data: instances(1000) }) },
    { path: "/predict/v1.0.0/point", body: JSON.stringify({ data: instances(1000), algo_param: { n_samples: 10_000 } }) },
    { path: "/predict/v1.0.0/density", body: JSON.stringify({ data: instances(100), bins: 2000, algo_param: { n_samples: 100_000 } }) },
  ];
}

const pct = (sorted: number[], p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]);

// ---------------------------------------------------------------------------------------------------------------
// The heavy load (a process of its own).

interface HeavySummary {
  statuses: Record<string, number>;
  without_retry_after: number;
  socket_errors: number;
  bytes: number;
  answered_ms_p50: number;
  pipelined_requests_sent: number;
  pipeliner_connections: number;
}

async function heavyRole(url: URL, seconds: number, clients: number, pipeliners: number): Promise<void> {
  const mix = heavyRequests();
  const end = Date.now() + seconds * 1000;
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const statuses: Record<string, number> = {};
  let withoutRetryAfter = 0;
  let socketErrors = 0;
  let bytes = 0;
  const answeredMs: number[] = [];
  /** Resolves with the Retry-After seconds of a refusal (0.2 for a failure), or null for an answer. */
  const one = (path: string, body: string): Promise<number | null> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path,
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.on("data", (c: Buffer) => (bytes += c.length));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            statuses[status] = (statuses[status] ?? 0) + 1;
            if (status === 503 && res.headers["retry-after"] === undefined) withoutRetryAfter++;
            if (status === 200) answeredMs.push(performance.now() - t0);
            resolve(status === 200 ? null : Number(res.headers["retry-after"] ?? 0.2));
          });
          res.on("error", () => {
            socketErrors++;
            resolve(0.2);
          });
        },
      );
      req.on("error", () => {
        socketErrors++;
        resolve(0.2);
      });
      req.end(body);
    });
  const client = async (i: number): Promise<void> => {
    let k = i;
    while (Date.now() < end) {
      const { path, body } = mix[k++ % mix.length];
      const retryAfter = await one(path, body);
      // Refused: wait as asked, up to a second (a client in a hurry), with jitter; a failure: a moment.
      if (retryAfter !== null) await sleep(Math.min(1, retryAfter) * 1000 * (0.5 + Math.random() / 2));
    }
  };

  // Connections that pipeline maximum-size densities into a socket they never read: a burst of PIPELINED_BURST each,
  // then nothing; a new one when the server closes it.
  let pipelined = 0;
  let connections = 0;
  const { path: densityPath, body: densityBody } = mix[0];
  const raw = `POST ${densityPath} HTTP/1.1\r\nHost: soak\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(densityBody)}\r\n\r\n${densityBody}`;
  const pipeliner = (): void => {
    if (Date.now() >= end) return;
    connections++;
    const socket = connect(Number(url.port), url.hostname);
    socket.pause(); // never read
    socket.on("error", () => undefined);
    socket.on("close", () => void sleep(500).then(pipeliner));
    let burst = 0;
    const pump = (): void => {
      while (Date.now() < end && !socket.destroyed && burst < PIPELINED_BURST) {
        pipelined++;
        burst++;
        if (!socket.write(raw)) {
          socket.once("drain", pump);
          return;
        }
      }
    };
    socket.on("connect", pump);
    // Then one more request a second (unread too): a paused socket sees no end of file, a write to a closed one fails.
    const more = setInterval(() => {
      if (socket.destroyed || socket.writableLength > 0) return;
      pipelined++;
      socket.write(raw);
    }, 1000);
    const stop = setTimeout(() => socket.destroy(), Math.max(0, end - Date.now()));
    socket.on("close", () => {
      clearTimeout(stop);
      clearInterval(more);
    });
  };
  for (let i = 0; i < pipeliners; i++) pipeliner();
  await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
  agent.destroy();
  answeredMs.sort((a, b) => a - b);
  const summary: HeavySummary = {
    statuses,
    without_retry_after: withoutRetryAfter,
    socket_errors: socketErrors,
    bytes,
    answered_ms_p50: pct(answeredMs, 0.5),
    pipelined_requests_sent: pipelined,
    pipeliner_connections: connections,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------------------------
// The light requests, timed (a process of its own, so that the heavy clients' work does not delay its timing).

interface LightSummary {
  count: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
}

async function lightRole(url: URL, seconds: number, connections: number, pauseMs: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const end = Date.now() + seconds * 1000;
  const times: number[] = [];
  let failed = 0;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: "/predict/v1.0.0/interval",
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": LIGHT_BODY.length },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) times.push(performance.now() - t0);
            else failed++;
            resolve();
          });
        },
      );
      req.on("error", () => {
        failed++;
        resolve();
      });
      req.end(LIGHT_BODY);
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < end) {
        await one();
        await sleep(pauseMs);
      }
    }),
  );
  agent.destroy();
  times.sort((a, b) => a - b);
  const summary: LightSummary = { count: times.length, failed, p50: pct(times, 0.5), p99: pct(times, 0.99), max: times.at(-1) ?? NaN };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------------------------
// The driver.

/** Runs a role in a process of its own, at `nice` (see main). */
function role(args: string[], nice = 0): Promise<string> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ["--import", "tsx", self, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  if (nice !== 0 && child.pid !== undefined) setPriority(child.pid, nice);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => child.on("exit", (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${args[1]} load exited ${code}`)))));
}

function rssMb(pid: number): { rss: number; peak: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) of each of the process's threads, by thread name (main thread: "node"). */
function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  const tick = 100; // USER_HZ on Linux
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const seconds = (Number(fields[11]) + Number(fields[12])) / tick;
      const key = tid === String(pid) ? "main" : name;
      out[key] = (out[key] ?? 0) + seconds;
    }
  } catch {
    // gone
  }
  return out;
}

async function waitReady(url: string, proc: ChildProcess): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    if (proc.exitCode !== null) throw new Error(`the server exited (${proc.exitCode}) before it was ready`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error("the server was not ready within 60 s");
}

/** The samples of /metrics whose names start with `prefix` (read once: the event-loop figures reset at each read). */
function metric(text: string, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) if (line.startsWith(prefix)) out[line.slice(0, line.lastIndexOf(" "))] = Number(line.slice(line.lastIndexOf(" ") + 1));
  return out;
}

async function main(): Promise<void> {
  const seconds = flag("duration", 60);
  const clients = flag("heavy", 64);
  const pipeliners = flag("pipeliners", 12);
  build(has("no-build"));
  const version = train(false);
  const port = flag("port", 8231);
  const url = `http://127.0.0.1:${port}`;
  log(
    `model ${version}; ${seconds} s: ${clients} clients of maximum-size requests, ${pipeliners} pipelining connections that never read, light requests on 4 connections`,
  );
  const server = spawn(
    process.execPath,
    [
      ...SERVING_NODE_OPTIONS.split(" "),
      join(DIST, "server", "main.js"),
      "--model",
      STORE,
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--poll-interval",
      "0",
      "--shutdown-grace",
      "0",
      "--log-level",
      "warn",
    ],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let serverErr = "";
  server.stderr?.on("data", (d: Buffer) => (serverErr += d.toString()));
  let serverOut = "";
  server.stdout?.on("data", (d: Buffer) => (serverOut += d.toString()));
  const exited = new Promise<number | null>((resolve) => server.once("exit", (code, signal) => resolve(code ?? (signal === null ? null : 128))));
  let crashed: number | null = null;
  void exited.then((code) => (crashed = code));
  await waitReady(url, server);
  for (let i = 0; i < 200; i++)
    await fetch(`${url}/predict/v1.0.0/interval`, { method: "POST", headers: { "content-type": "application/json" }, body: LIGHT_BODY });
  const pid = server.pid as number;
  const idle = rssMb(pid);

  const cpuBefore = threadCpu(pid);
  let cpuAfter = cpuBefore;
  let peak = 0;
  const samples: number[] = [];
  const sampler = setInterval(() => {
    const r = rssMb(pid);
    if (r === null) return;
    samples.push(r.rss);
    peak = Math.max(peak, r.rss);
    cpuAfter = threadCpu(pid);
  }, 200);
  // The heavy clients run at a lower CPU priority than the server: on this two-core machine they would otherwise take
  // its cores (in production, clients are other machines). The light clients, which time the answers, do not.
  const [heavyOut, lightOut] = await Promise.all([
    role(["--role", "heavy", "--url", url, "--duration", String(seconds), "--heavy", String(clients), "--pipeliners", String(pipeliners)], CLIENT_NICE),
    sleep(1000).then(() => role(["--role", "light", "--url", url, "--duration", String(seconds - 2), "--connections", "4", "--pause", "10"])),
  ]);
  clearInterval(sampler);
  const alive =
    crashed === null &&
    (await fetch(`${url}/health/live`).then(
      (r) => r.ok,
      () => false,
    ));
  // (JSON writes NaN as null: back to NaN, so that the figures print.)
  const numbers = (_k: string, v: unknown): unknown => (v === null ? NaN : v);
  const heavy = JSON.parse(heavyOut, numbers) as HeavySummary;
  const light = JSON.parse(lightOut, numbers) as LightSummary;
  const metrics = alive ? await (await fetch(`${url}/metrics`)).text() : "";
  const shed = metric(metrics, "bayes_serve_requests_shed_total");
  const dropped = metric(metrics, "bayes_serve_heavy_answers_dropped_total");
  const lag = metric(metrics, "bayes_serve_nodejs_eventloop_lag_p99_seconds");
  const after = rssMb(pid);
  server.kill("SIGTERM");
  await Promise.race([exited, sleep(15_000)]);
  if (server.exitCode === null) server.kill("SIGKILL");

  samples.sort((a, b) => a - b);
  const heavyTotal = Object.values(heavy.statuses).reduce((a, b) => a + b, 0);
  const unexpected = Object.entries(heavy.statuses).filter(([s]) => s !== "200" && s !== "503");
  const checks: [string, boolean][] = [
    [`the server stayed up (exit: ${crashed ?? "none"})`, alive],
    [
      `resident memory peak ${peak.toFixed(0)} MB < ${RSS_LIMIT_MB} MB (median ${pct(samples, 0.5).toFixed(0)} MB; ${idle?.rss.toFixed(0)} MB before, ${after?.rss.toFixed(0) ?? "?"} MB after)`,
      peak > 0 && peak < RSS_LIMIT_MB,
    ],
    [
      `every heavy request answered 200 or refused 503 with Retry-After (${heavyTotal}: ${JSON.stringify(heavy.statuses)}, ${heavy.socket_errors} socket errors, ${heavy.without_retry_after} 503s without Retry-After)`,
      heavyTotal > 0 && unexpected.length === 0 && heavy.socket_errors === 0 && heavy.without_retry_after === 0,
    ],
    [
      `light requests: ${light.count} answered, ${light.failed} failed; p50 ${light.p50.toFixed(2)} ms, p99 ${light.p99.toFixed(2)} ms < ${LIGHT_P99_LIMIT_MS} ms (max ${light.max.toFixed(1)} ms)`,
      light.failed === 0 && light.count > 0 && light.p99 < LIGHT_P99_LIMIT_MS,
    ],
  ];
  const out: string[] = [];
  out.push(`soak: ${seconds} s, ${clients} heavy clients, ${pipeliners} pipelining connections that never read, the server with ${SERVING_NODE_OPTIONS}`);
  for (const [text, ok] of checks) out.push(`${ok ? "PASS" : "FAIL"}  ${text}`);
  out.push(
    `heavy answers: ${(heavy.bytes / 1e6).toFixed(0)} MB read by the clients, p50 ${heavy.answered_ms_p50.toFixed(0)} ms from request to the end of the answer`,
  );
  out.push(`pipelining connections: ${heavy.pipeliner_connections} opened, ${heavy.pipelined_requests_sent} requests written into them`);
  const cpu = Object.entries(cpuAfter)
    .map(([k, v]) => [k, v - (cpuBefore[k] ?? 0)] as const)
    .filter(([, v]) => v >= 0.5)
    .map(([k, v]) => `${k} ${((100 * v) / seconds).toFixed(0)} %`);
  out.push(
    `server CPU over the run, by thread (of one core): ${cpu.join(", ")}; machine load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  out.push(
    `/metrics shed: ${
      Object.entries(shed)
        .map(([k, v]) => `${k.replace("bayes_serve_requests_shed_total", "")} ${v}`)
        .join(", ") || "(not read)"
    }`,
  );
  out.push(
    `/metrics: answers dropped for clients not reading ${Object.values(dropped)[0] ?? "?"}; event-loop delay p99 over the run ${((Object.values(lag)[0] ?? NaN) * 1000).toFixed(1)} ms`,
  );
  process.stdout.write(`${out.join("\n")}\n`);
  if (!alive) process.stderr.write(`server stderr (tail):\n${serverErr.slice(-3000)}\n${serverOut.slice(-2000)}\n`);
  process.exit(checks.every(([, ok]) => ok) ? 0 : 1);
}

const which = option("role");
const target = new URL(option("url") ?? "http://127.0.0.1:8231");
if (which === "heavy") void heavyRole(target, flag("duration", 60), flag("heavy", 64), flag("pipeliners", 12));
else if (which === "light") void lightRole(target, flag("duration", 58), flag("connections", 4), flag("pause", 10));
else
  main().catch((err: unknown) => {
    log(`bench/soak: ${(err as Error).message}`);
    process.exit(1);
  });
