// The NUTS tree builder on its own, with mock integrators whose trajectories are known in advance (as Stan's
// base_nuts_test drives base_nuts with a mock integrator): a straight line never turns back, so the tree grows to the
// depth limit; an energy jump past MAX_DELTA_H is a divergence that ends the trajectory at once; a momentum that
// reverses is a U-turn after the first step.
import { describe, expect, it } from "vitest";
import { createNutsKernel, type Integrator, MAX_DELTA_H } from "../../src/inference/nuts.js";
import { createPoint, type PhasePoint } from "../../src/inference/point.js";
import { Rng } from "../../src/random/rng.js";

const DIM = 3;
const flat = () => 0;

/** A state at the origin with momentum to be drawn by the kernel, log-density 0 and no gradient. */
function origin(): PhasePoint {
  return createPoint(DIM);
}

/** Moves q along p and leaves p alone (a flat log-density: no force), counting its calls. */
function straightLine(calls: { n: number; signs: number[] }): Integrator {
  return (z, epsilon, invMetric) => {
    calls.n++;
    calls.signs.push(Math.sign(epsilon));
    for (let i = 0; i < z.q.length; i++) z.q[i] += epsilon * invMetric[i] * z.p[i];
    z.logp = 0;
  };
}

describe("the NUTS tree builder with mock integrators", () => {
  it("a straight line never makes a U-turn: the tree grows to the depth limit, every state equally likely", () => {
    for (const maxDepth of [1, 4, 7]) {
      const calls = { n: 0, signs: [] as number[] };
      const kernel = createNutsKernel(DIM, maxDepth, straightLine(calls));
      const z = origin();
      const info = kernel.transition(z, 0.5, new Float64Array(DIM).fill(1), flat, new Rng(1, 0));
      expect(info.treeDepth).toBe(maxDepth);
      expect(info.nLeapfrog).toBe(2 ** maxDepth - 1);
      expect(calls.n).toBe(info.nLeapfrog);
      expect(info.divergent).toBe(false);
      // The Hamiltonian never changes, so every proposal is accepted with probability 1.
      expect(info.acceptStat).toBe(1);
    }
  });

  it("extends in both directions, with the step's sign", () => {
    const calls = { n: 0, signs: [] as number[] };
    const kernel = createNutsKernel(DIM, 8, straightLine(calls));
    for (let t = 0; t < 20; t++) kernel.transition(origin(), 0.1, new Float64Array(DIM).fill(1), flat, new Rng(2, t));
    expect(calls.signs).toContain(1);
    expect(calls.signs).toContain(-1);
  });

  it("an energy error past MAX_DELTA_H is a divergence: the trajectory stops and never returns the diverged state", () => {
    let n = 0;
    const diverging: Integrator = (z, epsilon, invMetric) => {
      n++;
      for (let i = 0; i < z.q.length; i++) z.q[i] += epsilon * invMetric[i] * z.p[i];
      z.logp = n === 3 ? -(MAX_DELTA_H + 1000) : 0;
      if (n === 3) z.q.fill(1e6);
    };
    const kernel = createNutsKernel(DIM, 10, diverging);
    const z = origin();
    const info = kernel.transition(z, 0.5, new Float64Array(DIM).fill(1), flat, new Rng(3, 0));
    expect(info.divergent).toBe(true);
    expect(info.nLeapfrog).toBe(3);
    // The first doubling (one step) was valid; the second (steps 2 and 3) diverged and is discarded.
    expect(info.treeDepth).toBe(1);
    expect(Array.from(z.q).every((q) => Math.abs(q) < 1e3)).toBe(true);
  });

  it("a momentum that reverses is a U-turn after the first step", () => {
    let n = 0;
    const reversing: Integrator = (z, epsilon, invMetric) => {
      n++;
      for (let i = 0; i < z.q.length; i++) {
        z.q[i] += epsilon * invMetric[i] * z.p[i];
        z.p[i] = -z.p[i];
      }
      z.logp = 0;
    };
    const kernel = createNutsKernel(DIM, 10, reversing);
    const info = kernel.transition(origin(), 0.5, new Float64Array(DIM).fill(1), flat, new Rng(4, 0));
    expect(n).toBe(1);
    expect(info.nLeapfrog).toBe(1);
    expect(info.treeDepth).toBe(1);
    expect(info.divergent).toBe(false);
  });
});
