// The WebAssembly NUTS kernel (nuts.wat) against the JavaScript one (nuts.ts): its bytes are the assembled source, and
// from the same state and random stream every transition gives bit-identical results — the selected point, its
// momentum and gradient, every statistic, and the stream left behind — over targets that reach each branch: long
// trees and the depth cap, divergences (an energy error past MAX_DELTA_H, a NaN log-density), the ziggurat's rare
// path, one coordinate and many, a compiled model; runs of draws recorded by `transitions` alike. A whole chain
// through runChain (its sampling in runs of draws) is the JavaScript kernel's draw for draw.
import { describe, expect, it } from "vitest";
import { assembleWat } from "../../scripts/assemble-wat.js";
import { createNutsKernel, type NutsKernel, SAMPLE_STATS, type TransitionInfo } from "../../src/inference/nuts.js";
import { createWasmNutsKernel, drawsPerCall } from "../../src/inference/nuts-wasm.js";
import { NUTS_KERNEL_BASE64 } from "../../src/inference/nuts-wasm-binary.js";
import { createPoint, type LogDensityGradient, type PhasePoint } from "../../src/inference/point.js";
import { DEFAULT_SAMPLER_SETTINGS, runChain } from "../../src/inference/sampler.js";
import { bindModel } from "../../src/model/bind.js";
import { compileModel } from "../../src/model/compile.js";
import { Rng } from "../../src/random/rng.js";
import { eightSchoolsNoncentered } from "../../src/models/posteriordb/eight-schools-noncentered.js";

/** A Gaussian with correlation `r` between neighbours (tridiagonal precision), scales 1..dim. */
function correlatedGaussian(dim: number, r: number): LogDensityGradient {
  return (q, g) => {
    let lp = 0;
    for (let i = 0; i < dim; i++) {
      const x = q[i] / (i + 1);
      const left = i > 0 ? q[i - 1] / i : 0;
      lp -= 0.5 * x * x - r * x * left;
      g[i] = -x / (i + 1);
      if (i > 0) g[i] += (r * left) / (i + 1);
      if (i + 1 < dim) g[i] += (r * q[i + 1]) / (i + 2) / (i + 1);
    }
    return lp;
  };
}

/** Neal's funnel in `dim` − 1 + 1 coordinates: divergences at large steps; NaN beyond |v| > 9 (an undefined region). */
function funnel(dim: number): LogDensityGradient {
  return (q, g) => {
    const v = q[0];
    if (Math.abs(v) > 9) {
      g.fill(0);
      return NaN;
    }
    let lp = -(v * v) / 18;
    g[0] = -v / 9;
    for (let i = 1; i < dim; i++) {
      const s = Math.exp(-v);
      lp += -0.5 * q[i] * q[i] * s - 0.5 * v;
      g[i] = -q[i] * s;
      g[0] += 0.5 * q[i] * q[i] * s - 0.5;
    }
    return lp;
  };
}

function startAt(dim: number, f: LogDensityGradient): PhasePoint {
  const z = createPoint(dim);
  for (let i = 0; i < dim; i++) z.q[i] = 0.3 * Math.sin(i + 1);
  z.logp = f(z.q, z.grad);
  return z;
}

function samePoint(a: PhasePoint, b: PhasePoint): boolean {
  const same = (x: Float64Array, y: Float64Array) => x.every((v, i) => Object.is(v, y[i]));
  return Object.is(a.logp, b.logp) && same(a.q, b.q) && same(a.p, b.p) && same(a.grad, b.grad);
}

/**
 * Runs both kernels side by side for `transitions` transitions with step sizes cycling through `steps`; returns the
 * index of the first transition that differs (−1: none) and what the runs went through.
 */
function compareKernels(dim: number, maxDepth: number, f: LogDensityGradient, steps: number[], transitions: number) {
  const js = createNutsKernel(dim, maxDepth);
  const wasm = createWasmNutsKernel(dim, maxDepth);
  if (wasm === null) throw new Error("the WebAssembly kernel did not start");
  const run = (kernel: NutsKernel) => ({ kernel, z: startAt(dim, f), rng: new Rng(11, 2), info: [] as TransitionInfo[] });
  const a = run(js);
  const b = run(wasm);
  const invMetric = Float64Array.from({ length: dim }, (_, i) => 0.5 + (i % 3) * 0.25);
  let firstDifference = -1;
  let leapfrogs = 0;
  let divergences = 0;
  let capped = 0;
  for (let t = 0; t < transitions && firstDifference < 0; t++) {
    const eps = steps[t % steps.length];
    const ia = a.kernel.transition(a.z, eps, invMetric, f, a.rng);
    const ib = b.kernel.transition(b.z, eps, invMetric, f, b.rng);
    leapfrogs += ia.nLeapfrog;
    if (ia.divergent) divergences++;
    if (ia.treeDepth === maxDepth) capped++;
    const sameInfo = (Object.keys(ia) as (keyof TransitionInfo)[]).every((k) => Object.is(ia[k], ib[k]));
    // The stream each leaves behind: the next draws agree.
    const sameStream = a.rng.nextUint32() === b.rng.nextUint32();
    if (!(sameInfo && samePoint(a.z, b.z) && sameStream)) firstDifference = t;
  }
  return { firstDifference, leapfrogs, divergences, capped };
}

/** Draws recorded by `kernel.transitions` over `runs`, from the same start and stream, into room for `draws` draws. */
function recordRuns(kernel: NutsKernel, f: LogDensityGradient, invMetric: Float64Array, draws: number, runs: { n: number; epsilon: number; at: number }[]) {
  const dim = invMetric.length;
  const z = startAt(dim, f);
  const rng = new Rng(5, 3);
  const positions = new Float64Array(draws * dim);
  const stats = new Float64Array(draws * SAMPLE_STATS.length);
  for (const { n, epsilon, at } of runs) kernel.transitions(z, n, epsilon, invMetric, f, rng, positions, stats, at);
  return { z, positions, stats, next: rng.nextUint32() };
}

describe("nuts.wat", () => {
  it("nuts-wasm-binary.ts holds the bytes the .wat source assembles to", async () => {
    const assembled = await assembleWat("src/inference/nuts.wat");
    expect(Buffer.from(NUTS_KERNEL_BASE64, "base64").equals(assembled)).toBe(true);
  });

  it("a correlated Gaussian in 12 coordinates: every transition identical to nuts.ts, long trees included", () => {
    const r = compareKernels(12, 10, correlatedGaussian(12, 0.45), [0.02, 0.3, 0.9, 0.05], 1200);
    expect(r.firstDifference).toBe(-1);
    expect(r.capped).toBeGreaterThan(0); // ε = 0.02 runs into the depth cap
    expect(r.leapfrogs).toBeGreaterThan(100_000);
  });

  it("a funnel with a NaN region: divergent transitions identical too", () => {
    const r = compareKernels(6, 8, funnel(6), [0.1, 1.5, 3, 0.4], 1500);
    expect(r.firstDifference).toBe(-1);
    expect(r.divergences).toBeGreaterThan(100);
  });

  it("one coordinate, and a tree depth cap of 1", () => {
    expect(compareKernels(1, 10, correlatedGaussian(1, 0), [0.1, 1, 2.5], 2000).firstDifference).toBe(-1);
    const r = compareKernels(4, 1, correlatedGaussian(4, 0.2), [0.05, 0.5], 1000);
    expect(r.firstDifference).toBe(-1);
    expect(r.capped).toBeGreaterThan(0);
  });

  it("a compiled model (eight schools, non-centred)", () => {
    const m = eightSchoolsNoncentered;
    const compiled = compileModel(bindModel(m.json, { J: 8, y: [28, 8, -3, 7, -1, 1, 18, 12], sigma: [15, 10, 16, 11, 9, 11, 10, 18] }));
    const r = compareKernels(compiled.dim, 10, compiled.logDensityGradient, [0.2, 0.45, 0.8], 2000);
    expect(r.firstDifference).toBe(-1);
  });

  it("transitions: runs of draws (several calls' worth) recorded as nuts.ts records them, at an offset", () => {
    const dim = 7;
    const invMetric = Float64Array.from({ length: dim }, (_, i) => 0.6 + 0.1 * i);
    const runs = [
      { n: 150, epsilon: 0.35, at: 10 },
      { n: 1, epsilon: 1.9, at: 160 },
      { n: 200, epsilon: 0.35, at: 161 },
    ];
    const js = recordRuns(createNutsKernel(dim, 10), correlatedGaussian(dim, 0.3), invMetric, 400, runs);
    const wasm = recordRuns(createWasmNutsKernel(dim, 10)!, correlatedGaussian(dim, 0.3), invMetric, 400, runs);
    expect(Array.from(wasm.positions)).toEqual(Array.from(js.positions));
    expect(Array.from(wasm.stats)).toEqual(Array.from(js.stats));
    expect(samePoint(wasm.z, js.z)).toBe(true);
    expect(wasm.next).toBe(js.next);
    expect(js.stats[10 * SAMPLE_STATS.length + SAMPLE_STATS.indexOf("step_size")]).toBe(0.35);
    expect(js.positions.subarray(0, 10 * dim).every((v) => v === 0)).toBe(true); // before `at`: untouched
  });

  it("transitions with long rows (40,000 coordinates: a few draws a call) records what nuts.ts records", () => {
    const dim = 40_000;
    expect(drawsPerCall(dim)).toBe(3);
    expect(drawsPerCall(7)).toBe(64);
    const f = correlatedGaussian(dim, 0.2);
    const invMetric = new Float64Array(dim).fill(1);
    const runs = [{ n: 7, epsilon: 0.05, at: 0 }];
    const js = recordRuns(createNutsKernel(dim, 4), f, invMetric, 7, runs);
    const wasm = recordRuns(createWasmNutsKernel(dim, 4)!, f, invMetric, 7, runs);
    expect(Array.from(wasm.stats)).toEqual(Array.from(js.stats));
    expect(wasm.positions.every((v, i) => Object.is(v, js.positions[i]))).toBe(true);
    expect(samePoint(wasm.z, js.z)).toBe(true);
  });

  it("its log1p is Math.log1p, bit for bit, on [0, 1] (logSumExp's arguments) and around each branch's threshold", () => {
    const module = new WebAssembly.Module(Buffer.from(NUTS_KERNEL_BASE64, "base64"));
    const imports = { memory: new WebAssembly.Memory({ initial: 1 }), gradient: () => 0, normalBeyondLayer: () => 0, exp: Math.exp, log1p: Math.log1p };
    const log1pUnit = new WebAssembly.Instance(module, { nuts: imports }).exports.log1pUnit as (x: number) => number;
    const rng = new Rng(17, 4);
    const words = new DataView(new ArrayBuffer(8));
    const atHighWord = (high: number, low: number) => {
      words.setUint32(0, high);
      words.setUint32(4, low);
      return words.getFloat64(0);
    };
    const args = [0, -0, 1, 0.5, 2 ** -54, 2 ** -53, 2 ** -29, Math.SQRT2 - 1, 1 - 2 ** -53, 5e-324, NaN, -0.5, 2, Infinity, -1];
    for (let i = 0; i < 200_000; i++) args.push(rng.uniform(), Math.exp(-40 * rng.uniform()), Math.exp(-700 * rng.uniform()));
    // √2 − 1 (k = 0 or the reduction), 2^-29 and 2^-54 (the short cuts), and 1 + x near √2 (u normalised or halved).
    for (const high of [0x3fda827a, 0x3e200000, 0x3c900000, 0x3fda8279])
      for (let i = -3000; i < 3000; i++) args.push(atHighWord(high + (i >> 6), (i & 63) * 0x04000001));
    for (let i = 0; i <= 100_000; i++) args.push(0.4 + (0.6 * i) / 100_000);
    const differ = args.filter((x) => !Object.is(log1pUnit(x), Math.log1p(x)));
    expect(differ.slice(0, 5)).toEqual([]);
  });

  it("an error thrown by the gradient reaches the caller as it was thrown", () => {
    const kernel = createWasmNutsKernel(3, 10)!;
    const failure = new Error("gradient failed");
    let calls = 0;
    const f: LogDensityGradient = (q, g) => {
      if (++calls > 5) throw failure;
      g.fill(0);
      return 0;
    };
    const z = startAt(3, f);
    expect(() => kernel.transition(z, 0.1, new Float64Array(3).fill(1), f, new Rng(1))).toThrow(failure);
  });

  it("no kernel (null) where its memory would be too large: the sampler keeps nuts.ts's", () => {
    expect(createWasmNutsKernel(50_000_000, 10)).toBeNull();
  });

  it("runChain with it gives the draws of a chain of nuts.ts transitions", () => {
    // A chain with no warm-up from a fixed start: runChain's draws against the same loop written with nuts.ts.
    const dim = 5;
    const f = correlatedGaussian(dim, 0.3);
    const settings = { ...DEFAULT_SAMPLER_SETTINGS, tune: 0, draws: 300, seed: 9 };
    const start = { position: Float64Array.from({ length: dim }, (_, i) => 0.1 * i), invMetric: new Float64Array(dim).fill(1), stepSize: 0.4 };
    const chain = runChain({ dim, paramNames: ["a", "b", "c", "d", "e"], logDensityGradient: f }, settings, 0, undefined, start);
    const rng = new Rng(settings.seed, 0);
    const kernel = createNutsKernel(dim, settings.maxTreeDepth);
    const z = createPoint(dim);
    z.q.set(start.position);
    z.logp = f(z.q, z.grad);
    const nStats = SAMPLE_STATS.length;
    for (let d = 0; d < settings.draws; d++) {
      const info = kernel.transition(z, start.stepSize, start.invMetric, f, rng);
      expect(Array.from(chain.unconstrained.subarray(d * dim, (d + 1) * dim)), `draw ${d}`).toEqual(Array.from(z.q));
      const stats = [z.logp, info.acceptStat, start.stepSize, info.treeDepth, info.nLeapfrog, info.divergent ? 1 : 0, info.energy];
      expect(Array.from(chain.stats.subarray(d * nStats, (d + 1) * nStats)), `draw ${d}'s statistics`).toEqual(stats);
    }
  });
});
