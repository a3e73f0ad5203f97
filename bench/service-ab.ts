// A/B of two builds of the prediction server, for judging a change to the request path: both servers share one vCPU
// (taskset), two wrk processes load them at the same time from the other vCPU, and each round reports CPU time per
// request (from /proc) for each. On this shared machine, where a vCPU's speed changes by tens of percent within
// seconds, taking turns (as bench/service.ts must, to give each server the whole machine) cannot resolve a 3 %
// change; sharing one vCPU at the same moment makes both see the same machine, and the per-round ratio of CPU per
// request held within ±1–2 % when both builds were the same (six rounds, 2026-12-01).
//
// What it cannot judge: changes to memory footprint (two servers on one vCPU share its caches, so a bigger young
// generation or table hurts both) or to parallelism (GC helper threads are pinned too). Use bench/service.ts for those.
//
//   npx tsx bench/service-ab.ts --a DIST_A --b DIST_B [--flags-b "--max-semi-space-size=8"] [--rounds 6]
//                               [--duration 4] [--connections 16] [--model .tmp/bench-service/store]
//                               [--path /v2/models/seed-regression/infer --body '{"inputs": …}']
//
// DIST_A and DIST_B are build outputs (`npx tsc -p tsconfig.build.json --outDir X && node scripts/bundle-server.mjs X`);
// the model store is the one `npm run bench:service` trains. Needs Linux (taskset, /proc) and wrk.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SERVING_NODE_OPTIONS } from "../src/server/constants.js";

const ROOT = resolve(import.meta.dirname, "..");
const PEERS = join(ROOT, "bench", "peers");

function option(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  if (fallback === undefined) throw new Error(`--${name} is required (see the head of bench/service-ab.ts)`);
  return fallback;
}
const A = resolve(option("a"));
const B = resolve(option("b"));
const FLAGS_A = option("flags-a", "").split(" ").filter(Boolean);
const FLAGS_B = option("flags-b", "").split(" ").filter(Boolean);
const ROUNDS = Number(option("rounds", "6"));
const DURATION = Number(option("duration", "4"));
const CONNECTIONS = Number(option("connections", "16"));
const MODEL = resolve(option("model", join(ROOT, ".tmp", "bench-service", "store")));
/** The request both servers are loaded with (default: the seed's /interval with its default payload, post.lua's). */
const PATH = option("path", "/predict/v1.0.0/interval");
const BODY = option("body", "");
/** The servers' vCPU and the load generators'. */
const SERVER_CPU = "0";
const LOAD_CPU = "1";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** utime + stime of a process, in clock ticks. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
}
const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

function startServer(dist: string, flags: string[], port: number): ChildProcess {
  const main = join(dist, "server", "main.js");
  if (!existsSync(main)) throw new Error(`${main} does not exist: build into ${dist} first`);
  const args = [
    ...SERVING_NODE_OPTIONS.split(" "),
    ...flags,
    main,
    "--model",
    MODEL,
    "--port",
    String(port),
    "--host",
    "127.0.0.1",
    "--log-level",
    "warn",
    "--poll-interval",
    "0",
  ];
  return spawn("taskset", ["-c", SERVER_CPU, process.execPath, ...args], { stdio: ["ignore", "ignore", "inherit"] });
}

async function ready(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`the server on port ${port} did not become ready`);
}

/** Requests answered by one wrk run on the load vCPU. */
function load(port: number, seconds: number): Promise<number> {
  return new Promise((done, fail) => {
    const wrk = spawn(
      "taskset",
      ["-c", LOAD_CPU, "wrk", "-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "-s", join(PEERS, "post.lua"), `http://127.0.0.1:${port}${PATH}`],
      {
        env: BODY === "" ? process.env : { ...process.env, BODY },
      },
    );
    let out = "";
    wrk.stdout.on("data", (d: Buffer) => (out += d.toString()));
    wrk.on("error", fail);
    wrk.on("close", () => {
      const m = /(\d+) requests in/.exec(out);
      if (m === null) fail(new Error(`wrk on port ${port} printed no count:\n${out}`));
      else done(Number(m[1]));
    });
  });
}

const [portA, portB] = [8601, 8602];
const a = startServer(A, FLAGS_A, portA);
const b = startServer(B, FLAGS_B, portB);
try {
  await Promise.all([ready(portA), ready(portB)]);
  await Promise.all([load(portA, 4), load(portB, 4)]); // warm-up: both reach their steady rate
  const ratios: number[] = [];
  console.log(`A = ${A} ${FLAGS_A.join(" ")}\nB = ${B} ${FLAGS_B.join(" ")}\n`);
  console.log("round |  A req/s |  B req/s | A µs CPU/req | B µs CPU/req | B/A CPU per request");
  for (let round = 1; round <= ROUNDS; round++) {
    const [ta, tb] = [cpuTicks(a.pid!), cpuTicks(b.pid!)];
    const [na, nb] = await Promise.all([load(portA, DURATION), load(portB, DURATION)]);
    await sleep(200); // the last responses' CPU
    const ca = ((cpuTicks(a.pid!) - ta) / TICKS_PER_SECOND / na) * 1e6;
    const cb = ((cpuTicks(b.pid!) - tb) / TICKS_PER_SECOND / nb) * 1e6;
    ratios.push(cb / ca);
    console.log(
      `${String(round).padStart(5)} | ${String(Math.round(na / DURATION)).padStart(8)} | ${String(Math.round(nb / DURATION)).padStart(8)} | ${ca.toFixed(1).padStart(12)} | ${cb.toFixed(1).padStart(12)} | ${(cb / ca).toFixed(3)}`,
    );
  }
  const r = median(ratios);
  console.log(`\nB/A CPU per request: median ${r.toFixed(3)} over ${ROUNDS} rounds (${(Math.abs(1 - r) * 100).toFixed(1)} % ${r < 1 ? "less" : "more"} for B)`);
} finally {
  a.kill();
  b.kill();
}
