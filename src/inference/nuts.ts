// The No-U-Turn Sampler transition as Stan implements it (stan/mcmc/hmc/nuts/base_nuts.hpp): trajectories grow by
// doubling in a random direction; states are chosen by multinomial sampling — biased progressive sampling between
// the old tree and the new subtree at the top level, uniform (weights ∝ e^{−H}) inside subtrees; growth stops on the
// generalised U-turn criterion, checked across each merged subtree and twice more across the seam between its halves;
// a leapfrog step whose energy error exceeds MAX_DELTA_H is a divergence and ends the trajectory.
// Every buffer is allocated once per kernel, so a transition allocates nothing.
// Chains run this transition as nuts.wat (nuts-wasm.ts), written from it statement for statement, so that a fresh chain
// worker does not spend its first tens of milliseconds in TurboFan compiling it; this file stays the readable
// reference and the kernel of tests that pass their own integrator. A change here is a change there:
// test/inference/nuts-wasm.test.ts fails on the first transition where the two differ.
import { SAMPLER_DEFAULTS } from "../defaults.js";
import type { Rng } from "../random/rng.js";
import { leapfrog } from "./integrator.js";
import { hamiltonian, sampleMomentum } from "./metric.js";
import { copyPoint, createPoint, type LogDensityGradient, type PhasePoint } from "./point.js";
import { mergedTreePersists } from "./termination.js";

/** Stan's max_deltaH: an energy error above this marks a divergent transition. */
export const MAX_DELTA_H = 1000;
export const DEFAULT_MAX_TREE_DEPTH: number = SAMPLER_DEFAULTS.maxTreeDepth;

export interface TransitionInfo {
  /** Mean Metropolis acceptance probability over the whole trajectory (Stan's accept_stat__). */
  acceptStat: number;
  treeDepth: number;
  nLeapfrog: number;
  divergent: boolean;
  /** Hamiltonian at the selected state (Stan's energy__). */
  energy: number;
}

interface Level {
  pInitEnd: Float64Array;
  pSharpInitEnd: Float64Array;
  rhoInit: Float64Array;
  zProposeFinal: PhasePoint;
  pFinalBeg: Float64Array;
  pSharpFinalBeg: Float64Array;
  rhoFinal: Float64Array;
}

function logSumExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

/** Stan's per-draw statistics, in this column order (Stan's names without the trailing "__"). */
export const SAMPLE_STATS = ["lp", "accept_stat", "step_size", "tree_depth", "n_leapfrog", "diverging", "energy"] as const;

export interface NutsKernel {
  /** One transition from `z` (q, grad, logp set); on return `z` holds the selected state. */
  transition(z: PhasePoint, epsilon: number, invMetric: Float64Array, logDensity: LogDensityGradient, rng: Rng): TransitionInfo;
  /**
   * `n` transitions from `z` with the step size and metric fixed (sampling), recorded as draws at..at+n−1: draw d's
   * position at positions[d·dim], its SAMPLE_STATS row at stats[d·SAMPLE_STATS.length]. `z` ends on the last.
   */
  transitions(
    z: PhasePoint,
    n: number,
    epsilon: number,
    invMetric: Float64Array,
    logDensity: LogDensityGradient,
    rng: Rng,
    positions: Float64Array,
    stats: Float64Array,
    at: number,
  ): void;
}

// The per-dimension work is written as few passes over the state as the algorithm allows (one after each leapfrog
// step, one per merge): with the handful of dimensions typical here a pass costs more in loop overhead than in
// arithmetic, and every extra loop is more code for each chain worker's JIT to compile. The arithmetic, and so every
// draw, is the same as with one helper call per step of the algorithm.

/** One integration step of size ε from z, in place (the leapfrog; a test may pass a mock, as Stan's base_nuts_test). */
export type Integrator = (z: PhasePoint, epsilon: number, invMetric: Float64Array, logDensity: LogDensityGradient) => void;

export function createNutsKernel(dim: number, maxDepth = DEFAULT_MAX_TREE_DEPTH, integrate: Integrator = leapfrog): NutsKernel {
  const vec = () => new Float64Array(dim);
  const levels: Level[] = Array.from({ length: maxDepth + 1 }, () => ({
    pInitEnd: vec(),
    pSharpInitEnd: vec(),
    rhoInit: vec(),
    zProposeFinal: createPoint(dim),
    pFinalBeg: vec(),
    pSharpFinalBeg: vec(),
    rhoFinal: vec(),
  }));
  const zFwd = createPoint(dim);
  const zBck = createPoint(dim);
  const zSample = createPoint(dim);
  const zPropose = createPoint(dim);
  const pFwdFwd = vec();
  const pSharpFwdFwd = vec();
  const pFwdBck = vec();
  const pSharpFwdBck = vec();
  const pBckFwd = vec();
  const pSharpBckFwd = vec();
  const pBckBck = vec();
  const pSharpBckBck = vec();
  const rho = vec();
  const rhoFwd = vec();
  const rhoBck = vec();
  /** Log-sums of multinomial weights: two slots per tree level (initial, final subtree), the top-level subtree last. */
  const weights = new Float64Array(2 * (maxDepth + 1) + 1);
  const TOP = weights.length - 1;

  // Mutable per-transition state shared by the recursion.
  let z: PhasePoint = zFwd;
  let eps = 0;
  let minv: Float64Array = vec();
  let logDensityFn: LogDensityGradient = () => 0;
  let random: Rng;
  let nLeapfrog = 0;
  let sumMetroProb = 0;
  let divergent = false;
  let H0 = 0;

  /** Returns whether the subtree is valid. Writes its proposal, its ends' (sharp) momenta, and adds its Σp to rhoOut. */
  function buildTree(
    depth: number,
    zProposeOut: PhasePoint,
    pSharpBeg: Float64Array,
    pSharpEnd: Float64Array,
    rhoOut: Float64Array,
    pBeg: Float64Array,
    pEnd: Float64Array,
    sign: number,
    /** Slot in `weights` holding the caller's log-sum of weights, which this subtree adds to. */
    slot: number,
  ): boolean {
    if (depth === 0) {
      integrate(z, sign * eps, minv, logDensityFn);
      nLeapfrog++;
      // One pass over the new state: its kinetic energy (½ pᵀM⁻¹p, as `hamiltonian`), and the one-state subtree —
      // proposal, both ends' momenta and velocities (p♯ = M⁻¹p, what the U-turn checks use), Σp.
      const { q, p, grad } = z;
      const proposeQ = zProposeOut.q;
      const proposeP = zProposeOut.p;
      const proposeGrad = zProposeOut.grad;
      let twiceKinetic = 0;
      for (let i = 0; i < dim; i++) {
        const pi = p[i];
        const sharp = minv[i] * pi;
        twiceKinetic += sharp * pi;
        proposeQ[i] = q[i];
        proposeP[i] = pi;
        proposeGrad[i] = grad[i];
        pSharpBeg[i] = sharp;
        pSharpEnd[i] = sharp;
        pBeg[i] = pi;
        pEnd[i] = pi;
        rhoOut[i] += pi;
      }
      zProposeOut.logp = z.logp;
      let h = -z.logp + 0.5 * twiceKinetic;
      if (Number.isNaN(h)) h = Infinity;
      if (h - H0 > MAX_DELTA_H) divergent = true;
      weights[slot] = logSumExp(weights[slot], H0 - h);
      sumMetroProb += H0 - h > 0 ? 1 : Math.exp(H0 - h);
      return !divergent;
    }
    const L = levels[depth];
    const initSlot = 2 * depth;
    const finalSlot = 2 * depth + 1;
    // The initial subtree.
    weights[initSlot] = -Infinity;
    L.rhoInit.fill(0);
    if (!buildTree(depth - 1, zProposeOut, pSharpBeg, L.pSharpInitEnd, L.rhoInit, pBeg, L.pInitEnd, sign, initSlot)) return false;
    // The final subtree.
    weights[finalSlot] = -Infinity;
    L.rhoFinal.fill(0);
    if (!buildTree(depth - 1, L.zProposeFinal, L.pSharpFinalBeg, pSharpEnd, L.rhoFinal, L.pFinalBeg, pEnd, sign, finalSlot)) return false;
    // Multinomial sample from the right subtree.
    const wFinal = weights[finalSlot];
    const wSubtree = logSumExp(weights[initSlot], wFinal);
    weights[slot] = logSumExp(weights[slot], wSubtree);
    if (wFinal > wSubtree || random.uniform() < Math.exp(wFinal - wSubtree)) copyPoint(L.zProposeFinal, zProposeOut);
    return mergedTreePersists(pSharpBeg, L.pSharpInitEnd, L.pInitEnd, L.rhoInit, L.pSharpFinalBeg, L.pFinalBeg, pSharpEnd, L.rhoFinal, rhoOut);
  }

  function transition(z0: PhasePoint, epsilon: number, invMetric: Float64Array, logDensity: LogDensityGradient, rng: Rng): TransitionInfo {
    eps = epsilon;
    minv = invMetric;
    logDensityFn = logDensity;
    random = rng;
    nLeapfrog = 0;
    sumMetroProb = 0;
    divergent = false;

    sampleMomentum(z0.p, minv, rng);
    // The trajectory starts as the one state z0: both ends, the sample, Σp = p; its energy H0 (as `hamiltonian`).
    let twiceKinetic = 0;
    for (let i = 0; i < dim; i++) {
      const pi = z0.p[i];
      const sharp = minv[i] * pi;
      twiceKinetic += sharp * pi;
      pSharpFwdFwd[i] = sharp;
      pSharpFwdBck[i] = sharp;
      pSharpBckFwd[i] = sharp;
      pSharpBckBck[i] = sharp;
      pFwdFwd[i] = pi;
      pFwdBck[i] = pi;
      pBckFwd[i] = pi;
      pBckBck[i] = pi;
      rho[i] = pi;
    }
    copyPoint(z0, zFwd);
    copyPoint(z0, zBck);
    copyPoint(z0, zSample);
    H0 = -z0.logp + 0.5 * twiceKinetic;
    let logSumWeight = 0; // log of the weight of the initial state, e^{H0 − H0}
    let depth = 0;

    while (depth < maxDepth) {
      weights[TOP] = -Infinity;
      let valid: boolean;
      if (rng.uniform() > 0.5) {
        // Extend forward from the forward end. The old trajectory becomes the backward subtree: its Σp is ρ and its
        // forward end is the old forward end.
        z = zFwd;
        for (let i = 0; i < dim; i++) {
          rhoFwd[i] = 0;
          rhoBck[i] = rho[i];
          pBckFwd[i] = pFwdFwd[i];
          pSharpBckFwd[i] = pSharpFwdFwd[i];
        }
        valid = buildTree(depth, zPropose, pSharpFwdBck, pSharpFwdFwd, rhoFwd, pFwdBck, pFwdFwd, 1, TOP);
      } else {
        // Extend backward; the old trajectory becomes the forward subtree, its backward end the old backward end.
        z = zBck;
        for (let i = 0; i < dim; i++) {
          rhoBck[i] = 0;
          rhoFwd[i] = rho[i];
          pFwdBck[i] = pBckBck[i];
          pSharpFwdBck[i] = pSharpBckBck[i];
        }
        valid = buildTree(depth, zPropose, pSharpBckFwd, pSharpBckBck, rhoBck, pBckFwd, pBckBck, -1, TOP);
      }
      if (!valid) break;
      depth++;
      // Biased progressive sampling: prefer the new subtree.
      const wSubtree = weights[TOP];
      if (wSubtree > logSumWeight || rng.uniform() < Math.exp(wSubtree - logSumWeight)) copyPoint(zPropose, zSample);
      logSumWeight = logSumExp(logSumWeight, wSubtree);

      rho.fill(0);
      if (!mergedTreePersists(pSharpBckBck, pSharpBckFwd, pBckFwd, rhoBck, pSharpFwdBck, pFwdBck, pSharpFwdFwd, rhoFwd, rho)) break;
    }

    copyPoint(zSample, z0);
    return {
      acceptStat: nLeapfrog > 0 ? sumMetroProb / nLeapfrog : 0,
      treeDepth: depth,
      nLeapfrog,
      divergent,
      energy: hamiltonian(z0, minv),
    };
  }

  return {
    transition,
    transitions(z0, n, epsilon, invMetric, logDensity, rng, positions, stats, at) {
      const nStats = SAMPLE_STATS.length;
      for (let d = at; d < at + n; d++) {
        const info = transition(z0, epsilon, invMetric, logDensity, rng);
        positions.set(z0.q, d * dim);
        const row = d * nStats;
        stats[row] = z0.logp;
        stats[row + 1] = info.acceptStat;
        // Stan records the step size used for the draw.
        stats[row + 2] = epsilon;
        stats[row + 3] = info.treeDepth;
        stats[row + 4] = info.nLeapfrog;
        stats[row + 5] = info.divergent ? 1 : 0;
        stats[row + 6] = info.energy;
      }
    },
  };
}
