// Fuzzing the served answers of every likelihood family the model language offers: each family's arguments read
// features directly (a scale is a parameter times a feature, a location a parameter plus one), plus an integer index
// into a parameter vector and a category, so that ordinary and adversarial instances — 0, negatives, ±1e308, 1e-300,
// huge integers, indices out of range, wrong types — reach every argument. Every request must be answered 2xx or 422
// within 1 s, every 200 body must hold finite numbers of the right kind, and liveness must keep answering throughout.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAMILIES, responseKindOf } from "../../src/model/families.js";
import type { FamilyName } from "../../src/model/graph.js";
import { model, Dist, Normal, type ExprLike } from "../../src/model/index.js";
import { mulberry32 } from "../support/mulberry32.js";
import { madeUpBundle, tempStore, type TempStore } from "./fixtures.js";

const repo = path.resolve(import.meta.dirname, "..", "..");
const families = Object.keys(FAMILIES) as FamilyName[];
/** Arguments that must be positive (scales, shapes, rates, a negative binomial's mean). */
const POSITIVE = new Set(["sigma", "nu", "rate", "alpha", "beta", "phi", "kappa"]);

/** A model whose likelihood of `family` reads a feature in every argument, an integer index and a category. */
function familyModel(family: FamilyName) {
  const f = FAMILIES[family];
  return model(`fuzz-${family}`, (m) => {
    const g = m.data("g", { kind: "integer" });
    const c = m.data("c", { levels: 2 });
    const v = m.param("v", Normal(0, 1), { shape: 3 });
    const w = m.param("w", Normal(0, 1), { shape: 2 });
    const shift = v.at(g).add(w.at(c));
    const args: ExprLike[] = f.argNames.map((name, k) => {
      const x = m.data(`x${k}`);
      const p = m.param(`p${k}`, Normal(1, 0.1));
      if (name === "n") return m.data("trials", { kind: "integer" });
      if (family === "Uniform") return k === 0 ? p.add(x).add(shift) : p.add(x).add(shift).add(10);
      if (name === "p" || (family === "BetaProportion" && name === "mu")) return p.add(x).add(shift).logistic();
      if (POSITIVE.has(name) || (family === "NegativeBinomial" && name === "mu")) return p.mul(x).mul(shift.exp());
      return p.add(x).add(shift);
    });
    m.observe("likelihood", new Dist(family, args), m.data("y", { kind: f.discrete ? "integer" : "float" }));
  });
}

const ADVERSARIAL: unknown[] = [
  0,
  -0,
  1,
  -1,
  0.5,
  2,
  12,
  1e-300,
  -1e-300,
  1e308,
  -1e308,
  1e12,
  -1e12,
  1e13,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  3,
  -3,
  "1",
  null,
  true,
  [],
  {},
];

let stores: TempStore[] = [];
let host: ChildProcess;
let urls: string[] = [];

beforeAll(async () => {
  stores = [];
  for (const family of families) {
    const m = familyModel(family);
    const store = tempStore("bayes-serve-fuzz-");
    const columns: Record<string, (i: number) => number> = {};
    for (const p of m.json.params) {
      if (p.shape.length === 0) columns[p.name] = (i) => 1 + 0.01 * (i % 7);
      else for (let k = 0; k < (p.shape[0] as number); k++) columns[`${p.name}[${k}]`] = (i) => 0.1 * k + 0.001 * (i % 5);
    }
    await store.store.publish(madeUpBundle(m, columns));
    stores.push(store);
  }
  host = spawn(process.execPath, ["--import", "tsx", path.join(repo, "test", "server", "fuzz-host.ts"), ...stores.map((s) => s.dir)], {
    cwd: repo,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  host.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  urls = await new Promise<string[]>((resolve, reject) => {
    host.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /READY (.*)\n/.exec(out);
      if (m) resolve(JSON.parse(m[1]) as string[]);
    });
    host.on("exit", (code) => reject(new Error(`the fuzz host exited (${code}): ${err}`)));
  });
});

afterAll(() => {
  host?.kill("SIGKILL");
  for (const s of stores) s.cleanup();
});

type Json = Record<string, unknown>;

function instance(r: () => number, family: FamilyName, adversarial: boolean): Json {
  const f = FAMILIES[family];
  const pick = (ordinary: () => unknown): unknown => (adversarial && r() < 0.4 ? ADVERSARIAL[Math.floor(r() * ADVERSARIAL.length)] : ordinary());
  const out: Json = { g: pick(() => Math.floor(r() * 3)), c: pick(() => Math.floor(r() * 2)) };
  f.argNames.forEach((_, k) => (out[`x${k}`] = pick(() => 0.5 + r())));
  if (FAMILIES[family].argNames[0] === "n") {
    delete out.x0;
    out.trials = pick(() => Math.floor(r() * 30));
  }
  if (adversarial && r() < 0.05) delete out.g;
  if (adversarial && r() < 0.05) out.extra = 1;
  return out;
}

function request(r: () => number, family: FamilyName): { kind: string; body: Json } {
  const kinds = ["point", "interval", "density", "mean"];
  const kind = kinds[Math.floor(r() * kinds.length)];
  const adversarial = r() < 0.7;
  const batch = r() < 0.3;
  const data = batch ? Array.from({ length: 1 + Math.floor(r() * 5) }, () => instance(r, family, adversarial)) : instance(r, family, adversarial);
  const body: Json = { data };
  if (kind !== "mean" && r() < 0.7) body.algo_param = { n_samples: 1 + Math.floor(r() * 3000), ...(r() < 0.5 ? { seed: Math.floor(r() * 1e6) } : {}) };
  if ((kind === "interval" || kind === "mean") && r() < 0.5) body.hdi_probability = r() < 0.9 ? 0.01 + 0.98 * r() : [0, 1, -1, 2][Math.floor(r() * 4)];
  if (kind === "density" && r() < 0.5) body.bins = r() < 0.9 ? 1 + Math.floor(r() * 200) : [0, -1, 1e9][Math.floor(r() * 3)];
  return { kind, body };
}

/** Every number in a 200 body is finite; for a discrete family the answers are integers (not densities or means). */
function checkBody(kind: string, body: Json, discrete: boolean): void {
  const numbers = (v: unknown): number[] => (Array.isArray(v) ? v.flatMap(numbers) : typeof v === "number" ? [v] : []);
  for (const [k, v] of Object.entries(body)) for (const n of numbers(v)) expect(Number.isFinite(n), `${k}: ${n}`).toBe(true);
  if (discrete && (kind === "point" || kind === "interval")) {
    const answers = kind === "point" ? numbers(body.y_pred) : [...numbers(body.y_pred_lower), ...numbers(body.y_pred_upper)];
    for (const a of answers) expect(Number.isInteger(a), `${kind} ${a}`).toBe(true);
  }
}

describe("fuzzing every family's served answers", () => {
  it.each(families.map((family, i) => ({ family, i })))("$family: 2xx or 422 within 1 s, liveness throughout", async ({ family, i }) => {
    const url = urls[i];
    const r = mulberry32(1000 + i);
    const discrete = responseKindOf(FAMILIES[family]) !== "continuous";
    let probing = true;
    const liveness: number[] = [];
    const prober = (async () => {
      while (probing) {
        const t0 = performance.now();
        const res = await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(2000) });
        expect(res.status).toBe(200);
        liveness.push(performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const statuses: Record<number, number> = {};
    for (let n = 0; n < 60; n++) {
      const { kind, body } = request(r, family);
      const t0 = performance.now();
      const res = await fetch(`${url}/predict/v1.0.0/${kind}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      const ms = performance.now() - t0;
      const json = (await res.json()) as Json;
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      expect([200, 422], `${kind} ${JSON.stringify(body)} → ${res.status} ${JSON.stringify(json)}`).toContain(res.status);
      expect(ms, `${kind} ${JSON.stringify(body)}`).toBeLessThan(4000); // answered, not stuck (not a speed goal)
      if (res.status === 200) checkBody(kind, json, discrete);
      else expect(Array.isArray(json.detail), JSON.stringify(json)).toBe(true);
    }
    probing = false;
    await prober;
    // Both kinds of answer occur: the fuzzing reaches valid and invalid instances alike.
    expect(statuses[200] ?? 0, JSON.stringify(statuses)).toBeGreaterThan(5);
    expect(statuses[422] ?? 0, JSON.stringify(statuses)).toBeGreaterThan(5);
    expect(Math.max(...liveness)).toBeLessThan(1000);
  });
});
