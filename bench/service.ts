// The prediction service beside its peers, in one run: `POST /predict/v1.0.0/interval` with the seed's default
// payload, 32 connections, against (a) bare Node (bench/peers/node_limit.cjs: parse the body, answer a constant —
// the ceiling for any Node service here), (b) our server, (c) our server's Open Inference Protocol route, POST
// /v2/models/seed-regression/infer, asked for the same interval (y_pred_lower and y_pred_upper of the same instance),
// and (d) the FastAPI peer (bench/peers/fastapi_peer.py, the seed's service done well in Python).
// Prints req/s, p50/p99, the ratios, our resident memory, time to ready, and the latency of light requests while heavy
// ones (n_samples 100,000) run.
//
//   npx tsx bench/service.ts [--duration 4] [--rounds 7] [--connections 32] [--no-build] [--retrain] [--no-fastapi]
//
// The machine is shared and its speed drifts within seconds, so the servers take turns in short windows and each
// ratio is taken within a round (neighbouring windows), then the median over rounds. Every server is warmed up under
// load first: our server reaches its steady rate only after ~3 s of load (1-s windows from a cold start: 15.7k,
// 20.1k, 22.5k req/s, then flat), and a 2-s warm-up left the first round ~35 % low.
//
// Needs Debian's wrk (or falls back to autocannon) and, for the FastAPI peer, /usr/bin/python3 with python3-fastapi,
// python3-uvicorn and python3-numpy (scripts/install-system-deps.sh installs all of them).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SERVING_NODE_OPTIONS } from "../src/server/constants.js";
import { build as buildDist, DIST, ROOT, STORE, train as trainModel, WORK } from "./serving-setup.js";

/** The V8 settings our server runs with wherever the project launches it (see SERVING_NODE_OPTIONS). */
const OUR_NODE_FLAGS = SERVING_NODE_OPTIONS.split(" ");
const PEERS = join(ROOT, "bench", "peers");
const PAYLOAD = '{"data": {"x": 5, "category": 2}}';
const PATH = "/predict/v1.0.0/interval";
/** The same question in the Open Inference Protocol: the instance as a tensor per feature, the interval's two outputs. */
const V2_PAYLOAD =
  '{"inputs": [{"name": "x", "shape": [1], "datatype": "FP64", "data": [5]}, {"name": "category", "shape": [1], "datatype": "INT64", "data": [2]}], ' +
  '"outputs": [{"name": "y_pred_lower"}, {"name": "y_pred_upper"}]}';
const V2_PATH = "/v2/models/seed-regression/infer";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const has = (name: string): boolean => process.argv.includes(`--${name}`);
const DURATION = flag("duration", 4);
const ROUNDS = flag("rounds", 7);
/** Seconds of load before measuring (see above). */
const WARM_UP_SECONDS = 5;
const CONNECTIONS = flag("connections", 32);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (s: string): void => void process.stderr.write(`${s}\n`);

function which(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Preparation: a compiled build (what production runs), a model trained like the seed's, its draws for the peer.

const build = (): void => buildDist(has("no-build"));
const train = (): string => trainModel(has("retrain"));

/** The posterior as the FastAPI peer reads it: {"beta": [[b0, b1, b2], …], "sigma": […]}. */
function peerDraws(version: string): string {
  const file = join(WORK, `draws-${version}.json`);
  if (existsSync(file)) return file;
  const manifest = JSON.parse(readFileSync(join(STORE, "versions", version, "manifest.json"), "utf8")) as {
    parameters: { names: string[] };
  };
  const bytes = readFileSync(join(STORE, "versions", version, "draws.bin"));
  const values = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  const names = manifest.parameters.names;
  const col = (n: string): number => names.indexOf(n);
  const [b0, b1, b2, s] = [col("beta[0]"), col("beta[1]"), col("beta[2]"), col("sigma")];
  const rows = values.length / names.length;
  const beta: number[][] = [];
  const sigma: number[] = [];
  for (let r = 0; r < rows; r++) {
    const o = r * names.length;
    beta.push([values[o + b0], values[o + b1], values[o + b2]]);
    sigma.push(values[o + s]);
  }
  writeFileSync(file, JSON.stringify({ beta, sigma }));
  return file;
}

// ---------------------------------------------------------------------------------------------------------------
// Servers

interface Server {
  name: string;
  url: string;
  /** What it is asked (default PATH with PAYLOAD). */
  path?: string;
  body?: string;
  proc: ChildProcess;
  /** ms from spawn to the first successful answer. */
  readyMs: number;
}

async function waitFor(url: string, init: RequestInit, proc: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${url}: the process exited (${proc.exitCode})`);
    try {
      const r = await fetch(url, init);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(5);
  }
  throw new Error(`${url} did not answer in ${timeoutMs} ms`);
}

async function start(name: string, cmd: string, args: string[], port: number, probe: string, probeInit: RequestInit = {}): Promise<Server> {
  const t0 = performance.now();
  const proc = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    await waitFor(`http://127.0.0.1:${port}${probe}`, probeInit, proc);
  } catch (err) {
    proc.kill("SIGKILL");
    throw new Error(`${name}: ${(err as Error).message}\n${stderr.slice(-2000)}`);
  }
  return { name, url: `http://127.0.0.1:${port}`, proc, readyMs: performance.now() - t0 };
}

async function stop(s: Server): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once("exit", r));
  s.proc.kill("SIGTERM");
  await Promise.race([exited, sleep(5000)]);
  if (s.proc.exitCode === null) s.proc.kill("SIGKILL");
}

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

// ---------------------------------------------------------------------------------------------------------------
// Load

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

function parseWrkLatency(text: string, pct: string): number {
  const m = new RegExp(`\\s${pct}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
  if (m === null) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

async function load(url: string, body: string, connections: number, seconds: number): Promise<Result> {
  if (which("wrk")) {
    const out = await new Promise<string>((resolvePromise, reject) => {
      const p = spawn("wrk", ["-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-s", join(PEERS, "post.lua"), url], {
        env: { ...process.env, BODY: body },
      });
      let text = "";
      p.stdout.on("data", (d: Buffer) => (text += d.toString()));
      p.on("error", reject);
      p.on("exit", () => resolvePromise(text));
    });
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const sockErr = /Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+)/.exec(out);
    const errors = non2xx + (sockErr === null ? 0 : sockErr.slice(1).reduce((a, b) => a + Number(b), 0));
    return { rps, p50: parseWrkLatency(out, "50"), p99: parseWrkLatency(out, "99"), errors };
  }
  // No type declarations ship with autocannon: describe the little used here.
  type Autocannon = (
    opts: Record<string, unknown>,
  ) => Promise<{ requests: { average: number }; latency: { p50: number; p99: number }; non2xx: number; errors: number }>;
  const moduleName = "autocannon";
  const autocannon = ((await import(moduleName)) as { default: Autocannon }).default;
  const r = await autocannon({ url, method: "POST", body, headers: { "content-type": "application/json" }, connections, duration: seconds });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.non2xx + r.errors };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Light requests' latency alone, then while `heavy` connections ask for 100,000 samples each. */
async function isolation(url: string): Promise<{ alone: Result; underHeavy: Result; heavy: Result }> {
  const heavyBody = '{"data": {"x": 5, "category": 2}, "algo_param": {"n_samples": 100000}}';
  const alone = await load(url + PATH, PAYLOAD, 1, 5);
  const heavyRun = load(url + PATH, heavyBody, 4, 6);
  await sleep(500);
  const underHeavy = await load(url + PATH, PAYLOAD, 1, 5);
  const heavy = await heavyRun;
  return { alone, underHeavy, heavy };
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  build();
  const version = train();
  const draws = peerDraws(version);
  const fastapi = !has("no-fastapi") && existsSync("/usr/bin/python3");
  log(`model ${version}; ${ROUNDS} rounds × ${DURATION}s, ${CONNECTIONS} connections, wrk ${which("wrk") ? "yes" : "no (autocannon)"}`);

  const postInit: RequestInit = { method: "POST", headers: { "content-type": "application/json" }, body: PAYLOAD };
  // Time to ready: process spawn → /health/ready answers 200 (model loaded). Three starts, the median; through the
  // lean entry (dist/server/main.js) and through the full CLI (`bayes-serve serve`).
  const readyLean: number[] = [];
  const readyCli: number[] = [];
  for (let i = 0; i < 3; i++) {
    const lean = await start(
      "ours",
      "node",
      [...OUR_NODE_FLAGS, join(DIST, "server", "main.js"), "--model", STORE, "--port", "8201", "--host", "127.0.0.1", "--shutdown-grace", "0"],
      8201,
      "/health/ready",
    );
    readyLean.push(lean.readyMs);
    await stop(lean);
    const cli = await start(
      "ours-cli",
      "node",
      [...OUR_NODE_FLAGS, join(DIST, "cli", "main.js"), "serve", "--model", STORE, "--port", "8202", "--host", "127.0.0.1", "--shutdown-grace", "0"],
      8202,
      "/health/ready",
    );
    readyCli.push(cli.readyMs);
    await stop(cli);
  }

  const servers: Server[] = [];
  servers.push(await start("bare Node", "node", [join(PEERS, "node_limit.cjs"), "8211"], 8211, PATH, postInit));
  const ours = await start(
    "bayes-serve",
    "node",
    [...OUR_NODE_FLAGS, join(DIST, "server", "main.js"), "--model", STORE, "--port", "8212", "--host", "127.0.0.1", "--shutdown-grace", "0"],
    8212,
    "/health/ready",
  );
  servers.push(ours);
  // Our server again, through its V2 route: the same process, taking its turn right beside our /interval in each round
  // (their ratio is the one that matters most, so their windows are neighbours, in alternating order: see below).
  const v2Check = await fetch(ours.url + V2_PATH, { method: "POST", headers: { "content-type": "application/json" }, body: V2_PAYLOAD });
  if (v2Check.status !== 200) throw new Error(`V2 infer: ${v2Check.status} ${await v2Check.text()}`);
  servers.push({ ...ours, name: "bayes-serve V2", path: V2_PATH, body: V2_PAYLOAD });
  if (fastapi) servers.push(await start("FastAPI peer", "/usr/bin/python3", [join(PEERS, "fastapi_peer.py"), draws, "8213"], 8213, PATH, postInit));
  await sleep(500);
  const rssIdle = rssMb(ours.proc.pid as number);

  const results = new Map<string, Result[]>(servers.map((s) => [s.name, []]));
  try {
    for (const s of servers) await load(s.url + (s.path ?? PATH), s.body ?? PAYLOAD, CONNECTIONS, WARM_UP_SECONDS);
    for (let round = 1; round <= ROUNDS; round++) {
      // Even rounds swap our two routes' turns, so that a drift in the machine's speed favours neither.
      const order =
        round % 2 === 0 ? servers.map((s, i) => (s.name === "bayes-serve" ? servers[i + 1] : s.name === "bayes-serve V2" ? servers[i - 1] : s)) : servers;
      for (const s of order) {
        const r = await load(s.url + (s.path ?? PATH), s.body ?? PAYLOAD, CONNECTIONS, DURATION);
        results.get(s.name)?.push(r);
        log(
          `round ${round}: ${s.name.padEnd(13)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms${r.errors ? `  errors ${r.errors}` : ""}`,
        );
      }
    }
    const rssLoaded = rssMb(ours.proc.pid as number);
    log("isolation: light requests alone, then beside 4 connections asking for n_samples = 100,000 …");
    const iso = await isolation(ours.url);
    const rssHeavy = rssMb(ours.proc.pid as number);

    const summary = servers.map((s) => {
      const rs = results.get(s.name) as Result[];
      return {
        name: s.name,
        rps: median(rs.map((r) => r.rps)),
        p50: median(rs.map((r) => r.p50)),
        p99: median(rs.map((r) => r.p99)),
        errors: rs.reduce((a, r) => a + r.errors, 0),
      };
    });
    const get = (n: string) => summary.find((s) => s.name === n);
    const bare = get("bare Node");
    const us = get("bayes-serve");
    const py = get("FastAPI peer");
    const v2 = get("bayes-serve V2");
    const line = (s: { name: string; rps: number; p50: number; p99: number; errors: number }): string =>
      `| ${s.name.padEnd(13)} | ${s.rps.toFixed(0).padStart(7)} | ${s.p50.toFixed(2).padStart(6)} | ${s.p99.toFixed(2).padStart(6)} | ${String(s.errors).padStart(6)} |`;
    const out: string[] = [];
    out.push(`POST ${PATH} ${PAYLOAD}, ${CONNECTIONS} connections, median of ${ROUNDS} rounds × ${DURATION}s (wrk -t1)`);
    out.push(`bayes-serve V2: POST ${V2_PATH} ${V2_PAYLOAD}`);
    out.push("| server        |   req/s | p50 ms | p99 ms | errors |");
    out.push("|---------------|---------|--------|--------|--------|");
    for (const s of summary) out.push(line(s));
    // Ratios within each round (the three ran back to back), then their median: robust to drift in the machine's load.
    const perRound = (a: string, b: string): number[] => {
      const ra = results.get(a) ?? [];
      const rb = results.get(b) ?? [];
      return ra.map((r, i) => r.rps / rb[i].rps);
    };
    if (bare && us) {
      const rounds = perRound("bayes-serve", "bare Node");
      out.push(
        `ours / bare Node: ${(100 * median(rounds)).toFixed(1)} % (rounds: ${rounds.map((x) => `${(100 * x).toFixed(0)} %`).join(", ")})  (goal ≥ 60 %)`,
      );
    }
    if (py && us) {
      const rounds = perRound("bayes-serve", "FastAPI peer");
      out.push(`ours / FastAPI:   ${median(rounds).toFixed(1)} × (rounds: ${rounds.map((x) => `${x.toFixed(1)} ×`).join(", ")})  (goal ≥ 15 ×)`);
    }
    if (v2 && us) {
      const rounds = perRound("bayes-serve V2", "bayes-serve");
      out.push(
        `V2 / /interval:   ${(100 * median(rounds)).toFixed(1)} % (rounds: ${rounds.map((x) => `${(100 * x).toFixed(0)} %`).join(", ")})  (goal ≥ 80 %)`,
      );
    }
    if (us) out.push(`our p99:          ${us.p99.toFixed(2)} ms  (goal < 5 ms)`);
    out.push(
      `our RSS:          ${rssIdle.rss.toFixed(1)} MB after start, ${rssLoaded.rss.toFixed(1)} MB after the load (peak so far ${rssLoaded.peak.toFixed(1)} MB), ` +
        `${rssHeavy.rss.toFixed(1)} MB with the sampling worker running after heavy requests  (goal < 120 MB)`,
    );
    out.push(
      `time to ready:    ${median(readyLean).toFixed(0)} ms (node dist/server/main.js), ${median(readyCli).toFixed(0)} ms (bayes-serve serve)  (goal < 1000 ms)`,
    );
    out.push(
      `isolation:        light p50/p99 ${iso.alone.p50.toFixed(2)}/${iso.alone.p99.toFixed(2)} ms alone, ` +
        `${iso.underHeavy.p50.toFixed(2)}/${iso.underHeavy.p99.toFixed(2)} ms beside heavy requests ` +
        `(heavy: ${iso.heavy.rps.toFixed(0)} req/s, p50 ${iso.heavy.p50.toFixed(1)} ms)`,
    );
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    for (const s of servers) if (s.path === undefined) await stop(s);
  }
}

mkdirSync(WORK, { recursive: true });
main().catch((err: unknown) => {
  log(`bench/service: ${(err as Error).message}`);
  process.exit(1);
});
