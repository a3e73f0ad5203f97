// The gradient-based adaptation's estimates in WebAssembly (grad-estimate.wat through grad-estimate-wasm.ts) give the
// JavaScript functions' numbers bit for bit: fed the same draws, gradients and usable flags through a whole warm-up
// (switches of estimators, resets, clamps, coordinates whose variance is 0 or whose gradient never varies), the
// inverse metric after every iteration and the estimates at the end are identical.
import { describe, expect, it } from "vitest";
import { assembleWat } from "../../scripts/assemble-wat.js";
import { DRAW_GRAD_OPS, GRAD_ADAPTATION_DEFAULTS, gradAdaptationInit, learnFromGradients } from "../../src/inference/grad-adaptation.js";
import { wasmDrawGradOps } from "../../src/inference/grad-estimate-wasm.js";
import { GRAD_ESTIMATE_BASE64 } from "../../src/inference/grad-estimate-wasm-binary.js";
import { Rng } from "../../src/random/rng.js";

const bits = (xs: Float64Array) => Array.from(new BigUint64Array(Float64Array.from(xs).buffer), (b) => b.toString(16));

describe("grad-estimate.wat", () => {
  it("is the assembled source", async () => {
    expect((await assembleWat("src/inference/grad-estimate.wat")).toString("base64")).toBe(GRAD_ESTIMATE_BASE64);
  });

  it.each([1, 7, 40])("gives grad-adaptation.ts's inverse metric bit for bit through a warm-up (dim %i)", (dim) => {
    const rng = new Rng(dim);
    const tune = 400;
    // Coordinate scales from 1e-12 to 1e12 (clamps at the extremes), one coordinate whose draws never change and
    // one whose gradient never does (their ratios 0 and ∞: left as they were).
    const scale = Array.from({ length: dim }, (_, i) => 10 ** (-12 + (24 * i) / Math.max(1, dim - 1)));
    const q0 = Float64Array.from(scale, (s) => s * rng.normal());
    const g0 = Float64Array.from(scale, (s) => rng.normal() / s);
    const wasm = wasmDrawGradOps(dim);
    expect(wasm).not.toBeNull();
    const a = gradAdaptationInit(q0, g0, tune, GRAD_ADAPTATION_DEFAULTS, DRAW_GRAD_OPS);
    const b = gradAdaptationInit(q0, g0, tune, GRAD_ADAPTATION_DEFAULTS, wasm!);
    const mA = new Float64Array(dim).fill(1);
    const mB = new Float64Array(dim).fill(1);
    for (let it = 0; it < tune; it++) {
      const q = Float64Array.from(scale, (s) => s * rng.normal());
      const g = Float64Array.from(scale, (s) => rng.normal() / s);
      if (dim > 1) {
        q[0] = 0.5; // draws that never move
        g[1] = -2; // a gradient that never changes
      }
      if (it === 123) q[dim - 1] = Number.NaN; // a NaN draw poisons its coordinate's estimate until the next switch
      const usable = rng.uniform() > 0.1;
      expect(learnFromGradients(b, it, q, g, usable, mB)).toBe(learnFromGradients(a, it, q, g, usable, mA));
      expect(bits(mB)).toEqual(bits(mA));
    }
    for (const k of ["drawMean", "drawM2", "gradMean", "gradM2"] as const) {
      expect(bits(b.foreground[k])).toEqual(bits(a.foreground[k]));
      expect(bits(b.background[k])).toEqual(bits(a.background[k]));
    }
    expect(b.foreground.n).toBe(a.foreground.n);
  });

  it("keeps a chain's two estimates apart, and refuses a third", () => {
    const ops = wasmDrawGradOps(3)!;
    const e1 = ops.estimate(3);
    const e2 = ops.estimate(3);
    ops.add(e1, Float64Array.of(1, 2, 3), Float64Array.of(4, 5, 6));
    expect(Array.from(e1.drawMean)).toEqual([1, 2, 3]);
    expect(Array.from(e2.drawMean)).toEqual([0, 0, 0]);
    expect(() => ops.estimate(3)).toThrow(/third estimate/);
  });
});
