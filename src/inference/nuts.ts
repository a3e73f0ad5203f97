// The No-U-Turn Sampler transition as Stan implements it (stan/mcmc/hmc/nuts/base_nuts.hpp): trajectories grow by
// doubling in a random direction; states are chosen by multinomial sampling — biased progressive sampling between
// the old tree and the new subtree at the top level, uniform (weights ∝ e^{−H}) inside subtrees; growth stops on the
// generalised U-turn criterion, checked across each merged subtree and twice more across the seam between its halves;
// a leapfrog step whose energy error exceeds MAX_DELTA_H is a divergence and ends the trajectory.
// Every buffer is allocated once per kernel, so a transition allocates nothing.
import type { Rng } from "../model/random.js";
import { leapfrog } from "./integrator.js";
import { hamiltonian, sampleMomentum, velocity } from "./metric.js";
import { copyPoint, copyVector, createPoint, type LogDensityGradient, type PhasePoint } from "./point.js";
import { noUTurn } from "./termination.js";

/** Stan's max_deltaH: an energy error above this marks a divergent transition. */
export const MAX_DELTA_H = 1000;
/** Stan's default max_depth. */
export const DEFAULT_MAX_TREE_DEPTH = 10;

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
  rhoSubtree: Float64Array;
}

function logSumExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

export interface NutsKernel {
  /** One transition from `z` (q, grad, logp set); on return `z` holds the selected state. */
  transition(z: PhasePoint, epsilon: number, invMetric: Float64Array, logDensity: LogDensityGradient, rng: Rng): TransitionInfo;
}

export function createNutsKernel(dim: number, maxDepth = DEFAULT_MAX_TREE_DEPTH): NutsKernel {
  const vec = () => new Float64Array(dim);
  const levels: Level[] = Array.from({ length: maxDepth + 1 }, () => ({
    pInitEnd: vec(),
    pSharpInitEnd: vec(),
    rhoInit: vec(),
    zProposeFinal: createPoint(dim),
    pFinalBeg: vec(),
    pSharpFinalBeg: vec(),
    rhoFinal: vec(),
    rhoSubtree: vec(),
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
  const rhoExtended = vec();
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

  /** Returns [valid, logSumWeight of the subtree]. Writes the subtree's ends and Σp into the given buffers. */
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
      leapfrog(z, sign * eps, minv, logDensityFn);
      nLeapfrog++;
      let h = hamiltonian(z, minv);
      if (Number.isNaN(h)) h = Infinity;
      if (h - H0 > MAX_DELTA_H) divergent = true;
      weights[slot] = logSumExp(weights[slot], H0 - h);
      sumMetroProb += H0 - h > 0 ? 1 : Math.exp(H0 - h);
      copyPoint(z, zProposeOut);
      velocity(z.p, minv, pSharpBeg);
      copyVector(pSharpBeg, pSharpEnd);
      for (let i = 0; i < dim; i++) rhoOut[i] += z.p[i];
      copyVector(z.p, pBeg);
      copyVector(z.p, pEnd);
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
    if (wFinal > wSubtree) copyPoint(L.zProposeFinal, zProposeOut);
    else if (random.uniform() < Math.exp(wFinal - wSubtree)) copyPoint(L.zProposeFinal, zProposeOut);
    const rhoSubtree = L.rhoSubtree;
    for (let i = 0; i < dim; i++) {
      rhoSubtree[i] = L.rhoInit[i] + L.rhoFinal[i];
      rhoOut[i] += rhoSubtree[i];
    }
    // Across the merged subtree.
    let persist = noUTurn(pSharpBeg, pSharpEnd, rhoSubtree);
    // Between the subtrees: (ρ_init + p_final_beg) and (ρ_final + p_init_end).
    for (let i = 0; i < dim; i++) rhoExtended[i] = L.rhoInit[i] + L.pFinalBeg[i];
    persist = persist && noUTurn(pSharpBeg, L.pSharpFinalBeg, rhoExtended);
    for (let i = 0; i < dim; i++) rhoExtended[i] = L.rhoFinal[i] + L.pInitEnd[i];
    persist = persist && noUTurn(L.pSharpInitEnd, pSharpEnd, rhoExtended);
    return persist;
  }

  return {
    transition(z0, epsilon, invMetric, logDensity, rng) {
      eps = epsilon;
      minv = invMetric;
      logDensityFn = logDensity;
      random = rng;
      nLeapfrog = 0;
      sumMetroProb = 0;
      divergent = false;

      sampleMomentum(z0.p, minv, rng);
      copyPoint(z0, zFwd);
      copyPoint(z0, zBck);
      copyPoint(z0, zSample);
      copyPoint(z0, zPropose);
      velocity(z0.p, minv, pSharpFwdFwd);
      pSharpFwdBck.set(pSharpFwdFwd);
      pSharpBckFwd.set(pSharpFwdFwd);
      pSharpBckBck.set(pSharpFwdFwd);
      pFwdFwd.set(z0.p);
      pFwdBck.set(z0.p);
      pBckFwd.set(z0.p);
      pBckBck.set(z0.p);
      rho.set(z0.p);
      H0 = hamiltonian(z0, minv);
      let logSumWeight = 0; // log of the weight of the initial state, e^{H0 − H0}
      let depth = 0;

      while (depth < maxDepth) {
        rhoFwd.fill(0);
        rhoBck.fill(0);
        weights[TOP] = -Infinity;
        let valid: boolean;
        if (rng.uniform() > 0.5) {
          // Extend forward from the forward end.
          z = zFwd;
          rhoBck.set(rho);
          // The old trajectory becomes the backward subtree: its forward end is the old forward end.
          pBckFwd.set(pFwdFwd);
          pSharpBckFwd.set(pSharpFwdFwd);
          valid = buildTree(depth, zPropose, pSharpFwdBck, pSharpFwdFwd, rhoFwd, pFwdBck, pFwdFwd, 1, TOP);
        } else {
          z = zBck;
          rhoFwd.set(rho);
          // The old trajectory becomes the forward subtree: its backward end is the old backward end.
          pFwdBck.set(pBckBck);
          pSharpFwdBck.set(pSharpBckBck);
          valid = buildTree(depth, zPropose, pSharpBckFwd, pSharpBckBck, rhoBck, pBckFwd, pBckBck, -1, TOP);
        }
        if (!valid) break;
        depth++;
        // Biased progressive sampling: prefer the new subtree.
        const wSubtree = weights[TOP];
        if (wSubtree > logSumWeight) copyPoint(zPropose, zSample);
        else if (rng.uniform() < Math.exp(wSubtree - logSumWeight)) copyPoint(zPropose, zSample);
        logSumWeight = logSumExp(logSumWeight, wSubtree);

        for (let i = 0; i < dim; i++) rho[i] = rhoBck[i] + rhoFwd[i];
        let persist = noUTurn(pSharpBckBck, pSharpFwdFwd, rho);
        for (let i = 0; i < dim; i++) rhoExtended[i] = rhoBck[i] + pFwdBck[i];
        persist = persist && noUTurn(pSharpBckBck, pSharpFwdBck, rhoExtended);
        for (let i = 0; i < dim; i++) rhoExtended[i] = rhoFwd[i] + pBckFwd[i];
        persist = persist && noUTurn(pSharpBckFwd, pSharpFwdFwd, rhoExtended);
        if (!persist) break;
      }

      copyPoint(zSample, z0);
      return {
        acceptStat: nLeapfrog > 0 ? sumMetroProb / nLeapfrog : 0,
        treeDepth: depth,
        nLeapfrog,
        divergent,
        energy: hamiltonian(z0, minv),
      };
    },
  };
}
