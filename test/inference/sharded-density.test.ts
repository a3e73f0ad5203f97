// Within-chain parallelism (src/inference/sharded-density.ts, the sharded form in src/model/compile.ts): the sharded
// log-density and gradient equal the unsharded ones to rounding on several model families, in turn and on threads;
// a seed gives the same draws for the same thread count, and 1 and 2 threads the same posterior within MCSE; a
// helper thread that throws fails the evaluation and the chain cleanly instead of hanging them.
import { describe, expect, it } from "vitest";
import { meanOfChains, sdOfChains } from "../../src/diagnostics/chains.js";
import { mcseMean, mcseSd } from "../../src/diagnostics/mcse.js";
import { fit } from "../../src/inference/fit.js";
import { defaultThreadsPerChain, SHARD_MIN_ROW_WORK } from "../../src/inference/fit-options.js";
import { runChain } from "../../src/inference/sampler.js";
import { startShardedDensity } from "../../src/inference/sharded-density.js";
import { bindModel, type DataInput } from "../../src/model/bind.js";
import type { Model } from "../../src/model/builder.js";
import { type CompiledModel, compileModel, instantiateShardCode } from "../../src/model/compile.js";
import { BernoulliLogit, HalfNormal, model, Normal, PoissonLog } from "../../src/model/index.js";
import { Rng } from "../../src/random/rng.js";
import { POSTERIORDB_MODELS } from "../../src/models/posteriordb/index.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { loadReference } from "../posteriordb/reference.js";
import { chainsOf, seedData } from "./helpers.js";

const rows = 997; // not a multiple of any shard count used

const logistic = model("logistic", (m) => {
  const x = m.data("x");
  const a = m.param("a", Normal(0, 2.5));
  const b = m.param("b", Normal(0, 1));
  m.observe("obs", BernoulliLogit(a.add(b.mul(x))), m.data("y", { kind: "integer" }));
});
const poisson = model("poisson", (m) => {
  const x = m.data("x");
  const exposure = m.data("exposure", { lower: 0 });
  const a = m.param("a", Normal(0, 2));
  const b = m.param("b", Normal(0, 1));
  m.observe("obs", PoissonLog(exposure.log().add(a).add(b.mul(x))), m.data("y", { kind: "integer" }));
});
// Non-centred: the group effects are a vector computed from parameters (materialised), then gathered per row.
const hierarchical = model("hierarchical", (m) => {
  const x = m.data("x");
  const g = m.data("g", { levels: 8 });
  const mu = m.param("mu", Normal(0, 5));
  const tau = m.param("tau", HalfNormal(2));
  const z = m.param("z", Normal(0, 1), { shape: 8 });
  const b = m.param("b", Normal(0, 1));
  const sigma = m.param("sigma", HalfNormal(2));
  const effect = mu.add(tau.mul(z));
  m.observe("obs", Normal(effect.at(g).add(b.mul(x)), sigma), m.data("y"));
});

function familyData(): [string, Model, DataInput][] {
  const rng = new Rng(5, 1);
  const x = Array.from({ length: rows }, () => 2 * rng.uniform() - 1);
  const exposure = x.map(() => 0.5 + rng.uniform());
  const g = x.map(() => rng.int(8));
  return [
    ["seed regression (Normal, gathered coefficients)", seedRegression, seedData(rows, 3)],
    ["logistic (BernoulliLogit)", logistic, { x, y: x.map((v) => (rng.uniform() < 1 / (1 + Math.exp(-0.5 - 2 * v)) ? 1 : 0)) }],
    [
      "Poisson with exposure (PoissonLog)",
      poisson,
      { x, exposure, y: x.map((v, i) => Math.min(40, Math.floor(exposure[i] * Math.exp(0.3 + v) * 2 * rng.uniform()))) },
    ],
    ["hierarchical, non-centred", hierarchical, { x, g, y: x.map((v, i) => g[i] * 0.3 + v + rng.normal()) }],
  ];
}

/** Shards 0..S−1 evaluated in turn on this thread, summed in shard order, as sharded-density.ts sums its chunks. */
function shardedInTurn(c: CompiledModel, shards: number, theta: Float64Array, grad: Float64Array): number {
  const code = c.shardCode!;
  const P = new Float64Array(c.dim);
  const slots = Array.from({ length: shards }, () => new Float64Array(c.dim));
  const fns = slots.map((g) => instantiateShardCode(code, P, g));
  const logJacobian = fns[0].forward(theta);
  let lp = 0;
  for (let s = 0; s < shards; s++) lp += fns[s].partial(s, shards, s === 0);
  for (let s = 1; s < shards; s++) for (let k = 0; k < c.dim; k++) slots[0][k] += slots[s][k];
  fns[0].backward(grad);
  return logJacobian + lp;
}

function expectClose(label: string, sharded: { lp: number; grad: Float64Array }, whole: { lp: number; grad: Float64Array }): void {
  expect(Number.isFinite(whole.lp), `${label}: lp finite`).toBe(true);
  expect(Math.abs(sharded.lp - whole.lp), `${label}: lp ${sharded.lp} vs ${whole.lp}`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(whole.lp)));
  const scale = Math.max(1, ...Array.from(whole.grad, Math.abs));
  for (let k = 0; k < whole.grad.length; k++)
    expect(Math.abs(sharded.grad[k] - whole.grad[k]), `${label}: ∂/∂θ[${k}] ${sharded.grad[k]} vs ${whole.grad[k]}`).toBeLessThanOrEqual(1e-12 * scale);
}

function points(dim: number, seed: number): Float64Array[] {
  const rng = new Rng(seed, 2);
  return Array.from({ length: 3 }, () => Float64Array.from({ length: dim }, () => rng.uniform() - 0.5));
}

function wholeAt(c: CompiledModel, theta: Float64Array) {
  const grad = new Float64Array(c.dim);
  return { lp: c.logDensityGradient(theta, grad), grad };
}

describe("the sharded log-density and gradient equal the unsharded ones", () => {
  const cases: [string, Model, DataInput][] = [
    ...familyData(),
    // posteriordb: design matrices (matvec), mixtures (logSumExp), a Gaussian process (MvNormal, not per row), …
    ...Object.values(POSTERIORDB_MODELS).map((d): [string, Model, DataInput] => [
      `posteriordb ${d.posterior}`,
      d.model,
      d.prepareData(loadReference(d.posterior).data),
    ]),
  ];
  for (const [label, m, data] of cases)
    it(`${label}: 2, 3 and 7 shards in turn`, () => {
      const sharded = compileModel(bindModel(m.json, data), { shards: true });
      // Compared with the default compile, which may take dense products by the SIMD kernel (equal up to rounding)…
      const whole = compileModel(bindModel(m.json, data));
      // …and, as code, with the same compile without it.
      expect(sharded.source).toBe(compileModel(bindModel(m.json, data), { denseKernels: false }).source);
      for (const theta of points(whole.dim, 11)) {
        const w = wholeAt(whole, theta);
        for (const shards of [2, 3, 7]) {
          const grad = new Float64Array(whole.dim);
          const lp = shardedInTurn(sharded, shards, theta, grad);
          expectClose(`${shards} shards`, { lp, grad }, w);
        }
      }
    });

  it("on helper threads: the same values as in turn, to the bit (2 threads; 3 for the hierarchical model)", async () => {
    for (const [label, m, data] of familyData()) {
      const c = compileModel(bindModel(m.json, data), { shards: true });
      for (const threads of label.startsWith("hierarchical") ? [2, 3] : [2]) {
        const density = await startShardedDensity(c.shardCode!, threads);
        try {
          for (const theta of points(c.dim, 12)) {
            const grad = new Float64Array(c.dim);
            const lp = density.logDensityGradient(theta, grad);
            const turnGrad = new Float64Array(c.dim);
            const turnLp = shardedInTurn(c, density.chunks, theta, turnGrad);
            expect(lp, `${label}, ${threads} threads`).toBe(turnLp);
            expect(Array.from(grad), `${label}, ${threads} threads`).toEqual(Array.from(turnGrad));
            expectClose(`${label}, ${threads} threads`, { lp, grad }, wholeAt(c, theta));
          }
        } finally {
          await density.close();
        }
      }
    }
  });
});

describe("sampling with threads per chain", () => {
  const data = seedData(3000, 9);
  const settings = { draws: 1000, tune: 500, progress: false } as const;

  it("a seed gives the same draws for the same thread count, on this thread or on chain workers", async () => {
    const a = await fit(seedRegression, data, { ...settings, draws: 200, tune: 200, chains: 2, seed: 4, threadsPerChain: 2, threads: false });
    const b = await fit(seedRegression, data, { ...settings, draws: 200, tune: 200, chains: 2, seed: 4, threadsPerChain: 2 });
    expect(a.threadsPerChain).toBe(2);
    expect(b.threadsPerChain).toBe(2);
    expect(Array.from(b.values)).toEqual(Array.from(a.values));
    expect(Array.from(b.stats)).toEqual(Array.from(a.stats));
  });

  it("1 and 2 threads per chain give the same posterior within MCSE", async () => {
    const one = await fit(seedRegression, data, { ...settings, chains: 2, seed: 5, threadsPerChain: 1, threads: false });
    const two = await fit(seedRegression, data, { ...settings, chains: 2, seed: 6, threadsPerChain: 2, threads: false });
    for (const name of one.names) {
      const c1 = chainsOf(one, name);
      const c2 = chainsOf(two, name);
      const meanZ = Math.abs(meanOfChains(c1) - meanOfChains(c2)) / Math.hypot(mcseMean(c1), mcseMean(c2));
      const sdZ = Math.abs(sdOfChains(c1) - sdOfChains(c2)) / Math.hypot(mcseSd(c1), mcseSd(c2));
      expect(meanZ, `${name} mean`).toBeLessThan(4);
      expect(sdZ, `${name} sd`).toBeLessThan(4);
    }
  });

  it("by default a fit below the measured crossover runs on one thread per chain", async () => {
    const p = await fit(seedRegression, seedData(500, 1), { draws: 50, tune: 50, chains: 1, progress: false });
    expect(p.threadsPerChain).toBe(1);
    expect(defaultThreadsPerChain(SHARD_MIN_ROW_WORK - 1, 1)).toBe(1);
    expect(defaultThreadsPerChain(SHARD_MIN_ROW_WORK, 1)).toBeGreaterThanOrEqual(1);
    expect(defaultThreadsPerChain(SHARD_MIN_ROW_WORK, 1000)).toBe(1);
  });

  it("a thread count that is not a positive integer is refused, naming the option", async () => {
    await expect(fit(seedRegression, data, { ...settings, chains: 1, threadsPerChain: 0 })).rejects.toThrow(/threadsPerChain must be an integer/);
    await expect(fit(seedRegression, data, { ...settings, chains: 1, threadsPerChain: 1.5 })).rejects.toThrow(/threadsPerChain/);
  });
});

describe("a helper thread that fails", () => {
  const c = compileModel(bindModel(seedRegression.json, seedData(100_000, 2)), { shards: true });
  // Marks this (the chain's) thread: injected code below throws on every other thread, as a bug or an exhausted
  // resource in a helper would.
  (globalThis as { chainThreadForTest?: boolean }).chainThreadForTest = true;
  const onHelpers = (statement: string) => ({ ...c.shardCode!, source: `if (!globalThis.chainThreadForTest) ${statement}\n${c.shardCode!.source}` });

  it("fails the evaluation with its message, and the chain that uses it, without hanging", async () => {
    // The factory returns the shard functions; on helpers, a partial that throws instead.
    const code = onHelpers('return { forward() { return 0; }, backward() {}, partial() { throw new RangeError("helper broke"); } };');
    const density = await startShardedDensity(code, 2, "chain 0");
    try {
      const theta = new Float64Array(c.dim);
      // The chain's thread takes the chunks the helper has not taken yet: call until the helper has taken one.
      let failure: unknown = null;
      for (let i = 0; i < 10_000 && failure === null; i++) {
        try {
          density.logDensityGradient(theta, new Float64Array(c.dim));
        } catch (err) {
          failure = err;
        }
      }
      expect(String(failure)).toMatch(/chain 0: a row-shard thread failed: row-shard thread 1: helper broke/);
      const target = { dim: c.dim, paramNames: c.paramNames, logDensityGradient: density.logDensityGradient };
      expect(() => runChain(target, { draws: 10, tune: 10, seed: 1, maxTreeDepth: 10, targetAccept: 0.8, initRadius: 2, adaptation: "stan" }, 0)).toThrow(
        /row-shard thread failed/,
      );
    } finally {
      await density.close();
    }
  });

  it("one that cannot start rejects the start with the reason", async () => {
    await expect(startShardedDensity(onHelpers('throw new Error("no scratch memory");'), 3, "chain 3")).rejects.toThrow(
      /chain 3: row-shard thread \d failed to start: no scratch memory/,
    );
  });
});
