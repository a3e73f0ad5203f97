// Test helpers for the model language: compiling with data, finite-difference gradients, and an independent
// log-density computed with the forward interpreter (evaluate.ts) and scalarLogp, transforms written out by hand.
import { expect } from "vitest";
import { bindModel, type BoundModel, type DataInput } from "../../src/model/bind.js";
import type { Model } from "../../src/model/builder.js";
import { compileModel, type CompiledModel } from "../../src/model/compile.js";
import { evaluateNodes } from "../../src/model/evaluate.js";
import { Rng } from "../../src/random/rng.js";
import { scalarLogp } from "../../src/model/scalar-logp.js";

export function compile(m: Model, data: DataInput = {}): CompiledModel {
  return compileModel(bindModel(m.json, data));
}

export function logDensity(c: CompiledModel, theta: ArrayLike<number>): number {
  return c.logDensityGradient(Float64Array.from(theta), new Float64Array(c.dim));
}

export function gradient(c: CompiledModel, theta: ArrayLike<number>): { lp: number; grad: Float64Array } {
  const grad = new Float64Array(c.dim);
  const lp = c.logDensityGradient(Float64Array.from(theta), grad);
  return { lp, grad };
}

/**
 * Central finite differences with the five-point stencil (−f(x+2h) + 8f(x+h) − 8f(x−h) + f(x−2h)) / 12h, whose
 * truncation error is O(h⁴): with h = 1e-3·max(1, |θ|) both it and the rounding error stay near 1e-12 relative.
 */
export function finiteDifference(f: (theta: Float64Array) => number, theta: ArrayLike<number>, step = 1e-3): Float64Array {
  const x = Float64Array.from(theta);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    const h = step * Math.max(1, Math.abs(x0));
    const at = (d: number) => {
      x[i] = x0 + d;
      const v = f(x);
      x[i] = x0;
      return v;
    };
    out[i] = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
  }
  return out;
}

export interface GradientCheckOptions {
  /** Relative tolerance on each component. */
  rel?: number;
  /** Absolute floor, scaled by 1 + |lp| (rounding in a sum of many terms). */
  abs?: number;
  points?: number;
  /** Unconstrained points are uniform(−radius, radius). */
  radius?: number;
  seed?: number;
}

/** The compiled gradient against finite differences at a few random points; returns the worst relative error. */
export function expectGradientMatchesFiniteDifferences(c: CompiledModel, options: GradientCheckOptions = {}): number {
  const { rel = 1e-6, abs = 1e-8, points = 3, radius = 1, seed = 7 } = options;
  const rng = new Rng(seed, 99);
  let worst = 0;
  for (let p = 0; p < points; p++) {
    const theta = Float64Array.from({ length: c.dim }, () => (2 * rng.uniform() - 1) * radius);
    const { lp, grad } = gradient(c, theta);
    expect(Number.isFinite(lp), `lp is ${lp} at [${Array.from(theta)}]`).toBe(true);
    const fd = finiteDifference((t) => logDensity(c, t), theta);
    const floor = abs * (1 + Math.abs(lp));
    for (let i = 0; i < c.dim; i++) {
      const err = Math.abs(grad[i] - fd[i]);
      const scale = Math.max(Math.abs(grad[i]), Math.abs(fd[i]));
      const ok = err <= rel * scale + floor;
      if (!ok)
        expect.fail(
          `∂lp/∂${c.paramNames[i]} = ${grad[i]} but finite differences give ${fd[i]} (error ${err.toExponential(2)}) at θ = [${Array.from(theta).map((v) => v.toFixed(3))}]`,
        );
      worst = Math.max(worst, scale > 0 ? err / scale : err);
    }
  }
  return worst;
}

/** The constrained value and log|Jacobian| of each unconstrained coordinate, written out independently of transforms.ts. */
export function constrainByHand(bound: BoundModel, theta: ArrayLike<number>): { x: Float64Array; logJacobian: number } {
  const x = new Float64Array(bound.dim);
  let logJacobian = 0;
  for (const p of bound.params) {
    const t = p.decl.transform;
    for (let k = 0; k < p.size; k++) {
      const i = p.offset + k;
      const u = theta[i];
      switch (t.kind) {
        case "identity":
          x[i] = u;
          break;
        case "lower":
          x[i] = t.lower + Math.exp(u);
          logJacobian += u;
          break;
        case "upper":
          x[i] = t.upper - Math.exp(u);
          logJacobian += u;
          break;
        case "interval": {
          const s = 1 / (1 + Math.exp(-u));
          x[i] = t.lower + (t.upper - t.lower) * s;
          logJacobian += Math.log(t.upper - t.lower) + Math.log(s) + Math.log(1 - s);
          break;
        }
        case "ordered":
          if (k === 0) x[i] = u;
          else {
            x[i] = x[i - 1] + Math.exp(u);
            logJacobian += u;
          }
          break;
      }
    }
  }
  return { x, logJacobian };
}

/** Multivariate normal log-density by a plain Cholesky (for the interpreter's side of the comparison). */
export function mvNormalLogpdf(y: ArrayLike<number>, mean: ArrayLike<number>, cov: ArrayLike<number>, n: number): number {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = cov[j * n + j];
    for (let k = 0; k < j; k++) s -= L[j * n + k] ** 2;
    if (!(s > 0)) return -Infinity;
    L[j * n + j] = Math.sqrt(s);
    for (let i = j + 1; i < n; i++) {
      let t = cov[i * n + j];
      for (let k = 0; k < j; k++) t -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = t / L[j * n + j];
    }
  }
  const z = new Float64Array(n);
  let q = 0;
  let logDet = 0;
  for (let i = 0; i < n; i++) {
    let s = y[i] - (mean.length === 1 ? mean[0] : mean[i]);
    for (let k = 0; k < i; k++) s -= L[i * n + k] * z[k];
    z[i] = s / L[i * n + i];
    q += z[i] * z[i];
    logDet += Math.log(L[i * n + i]);
  }
  return -0.5 * q - logDet - 0.5 * n * Math.log(2 * Math.PI);
}

/**
 * The log-density by the forward interpreter: node values from evaluateNodes, densities from scalarLogp, the
 * Jacobian from constrainByHand. Shares no code with compile.ts.
 */
export function interpretedLogDensity(bound: BoundModel, theta: ArrayLike<number>): number {
  const { x, logJacobian } = constrainByHand(bound, theta);
  const vals = evaluateNodes(bound, x);
  const at = (v: Float64Array, i: number) => (v.length === 1 ? v[0] : v[i]);
  let lp = logJacobian;
  const density = (family: string, value: Float64Array, argIds: number[]) => {
    const args = argIds.map((a) => vals[a]);
    const n = Math.max(value.length, ...args.map((a) => a.length));
    const buf = new Float64Array(args.length);
    let s = 0;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < args.length; k++) buf[k] = at(args[k], i);
      s += scalarLogp(family, at(value, i), buf);
    }
    return s;
  };
  for (const p of bound.params) {
    if (p.decl.prior.family === "Flat") continue;
    lp += density(p.decl.prior.family, x.subarray(p.offset, p.offset + p.size), p.decl.prior.args);
  }
  for (const o of bound.json.observes) {
    if (o.dist.family === "MvNormal") {
      const y = vals[o.value];
      lp += mvNormalLogpdf(y, vals[o.dist.args[0]], vals[o.dist.args[1]], y.length);
    } else lp += density(o.dist.family, vals[o.value], o.dist.args);
  }
  for (const f of bound.json.factors) for (const v of vals[f.node]) lp += v;
  return lp;
}

/** A small data set shared by the gradient and log-density tests: seven rows of every kind of input. */
export function sampleData(seed = 3): DataInput & Record<string, number[] | number[][] | number> {
  const rng = new Rng(seed, 5);
  const n = 7;
  const u = (lo: number, hi: number) => lo + (hi - lo) * rng.uniform();
  const x = Array.from({ length: n }, () => u(-1, 1));
  const xpos = Array.from({ length: n }, () => u(0.5, 2));
  const category = [0, 1, 2, 1, 0, 2, 2];
  const yreal = Array.from({ length: n }, () => u(-2, 2));
  const ypos = Array.from({ length: n }, () => u(0.2, 3));
  const yunit = Array.from({ length: n }, () => u(0.05, 0.95));
  const ybin = [0, 1, 1, 0, 1, 0, 1];
  const trials = [5, 8, 3, 10, 1, 6, 70];
  const ysucc = [2, 8, 0, 4, 1, 3, 41];
  const ycount = [0, 3, 1, 7, 2, 0, 12];
  const X = Array.from({ length: n }, () => [u(-1, 1), u(-1, 1), u(-1, 1)]);
  const gx = [-2, -1.1, -0.3, 0.4, 1.2, 2.5, 3.1];
  return { x, xpos, category, yreal, ypos, yunit, ybin, trials, ysucc, ycount, X, gx };
}
