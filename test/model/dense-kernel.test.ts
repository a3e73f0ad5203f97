// The SIMD kernel for dense design matrices: its bytes are the assembled .wat source, its two products equal plain
// sums for every shape its padding and pairing have edge cases for, and a model compiled with it has the log-density
// of the interpreter and the gradient of finite differences and of the plain JavaScript products.
import { describe, expect, it } from "vitest";
import { assembleWat } from "../../scripts/assemble-wat.js";
import { bindModel } from "../../src/model/bind.js";
import { compileModel } from "../../src/model/compile.js";
import { DenseMatrixKernel } from "../../src/model/dense-kernel.js";
import { DENSE_KERNEL_BASE64 } from "../../src/model/dense-kernel-wasm.js";
import { emitRegisterProduct, REGISTER_PRODUCT_MAX_STRIDE } from "../../src/model/dense-product-emit.js";
import wabt from "wabt";
import { Bernoulli, BernoulliLogit, model, Normal, StudentT } from "../../src/model/index.js";
import { Rng } from "../../src/random/rng.js";
import { expectGradientMatchesFiniteDifferences, gradient, interpretedLogDensity } from "./helpers.js";

function matrix(rows: number, cols: number, seed: number): Float64Array {
  const rng = new Rng(seed, 1);
  return Float64Array.from({ length: rows * cols }, () => 4 * rng.uniform() - 2);
}

describe("dense-kernel.wat", () => {
  it("dense-kernel-wasm.ts holds the bytes the .wat source assembles to", async () => {
    const assembled = await assembleWat("src/model/dense-kernel.wat");
    expect(Buffer.from(DENSE_KERNEL_BASE64, "base64").equals(assembled)).toBe(true);
  });
});

describe("dense-product-emit.ts", () => {
  const strides = Array.from({ length: REGISTER_PRODUCT_MAX_STRIDE / 4 }, (_, k) => 4 * (k + 1));

  it.each(strides)("stride %i: a module that wabt reads back and validates, exporting product", async (stride) => {
    const bytes = emitRegisterProduct(stride);
    expect(WebAssembly.validate(bytes)).toBe(true);
    const tools = await wabt();
    const read = tools.readWasm(bytes, { simd: true });
    try {
      read.validate();
      const text = read.toText({});
      expect(text).toContain('(export "product" (func 0))');
      expect(text.match(/f64x2\.mul/g)).toHaveLength(3 * (stride / 2)); // a pair of rows and an odd last row
    } finally {
      read.destroy();
    }
  });

  it.each([0, 2, 6, REGISTER_PRODUCT_MAX_STRIDE + 4, 4.5])("refuses a stride of %s", (stride) => {
    expect(() => emitRegisterProduct(stride)).toThrow(RangeError);
  });
});

describe("DenseMatrixKernel", () => {
  // Odd and even row counts (rows go in pairs), columns below, at and past multiples of 4 and 8 (padding, blocks), and
  // on both sides of the widest row whose vector is kept in registers (24: dense-product-emit.ts).
  const shapes = [1, 2, 3, 8, 33].flatMap((rows) => [1, 3, 4, 5, 8, 9, 12, 13, 20, 24, 25, 31, 40].map((cols) => [rows, cols] as const));

  it.each(shapes)("%i × %i: X·v and Xᵀ·a equal plain sums", (rows, cols) => {
    const X = matrix(rows, cols, rows * 100 + cols);
    const kernel = DenseMatrixKernel.create(X, rows, cols);
    expect(kernel).not.toBeNull();
    const k = kernel!;
    const rng = new Rng(cols, rows);
    for (let j = 0; j < cols; j++) k.vector[j] = rng.uniform() - 0.5;
    for (let i = 0; i < rows; i++) k.adjoint[i] = rng.uniform() - 0.5;
    k.clearGradient();
    k.forward(0, rows);
    k.backward(0, rows);
    for (let i = 0; i < rows; i++) {
      let s = 0;
      let scale = 0;
      for (let j = 0; j < cols; j++) {
        s += X[i * cols + j] * k.vector[j];
        scale += Math.abs(X[i * cols + j] * k.vector[j]);
      }
      expect(Math.abs(k.product[i] - s)).toBeLessThanOrEqual(1e-15 * cols * scale);
    }
    for (let j = 0; j < cols; j++) {
      let s = 0;
      let scale = 0;
      for (let i = 0; i < rows; i++) {
        s += k.adjoint[i] * X[i * cols + j];
        scale += Math.abs(k.adjoint[i] * X[i * cols + j]);
      }
      expect(Math.abs(k.gradient[j] - s)).toBeLessThanOrEqual(1e-15 * rows * scale);
    }
  });

  it("gives each matrix its own memory, and the copy leaves the caller's matrix alone", () => {
    const A = matrix(5, 12, 1);
    const before = A.slice();
    const a = DenseMatrixKernel.create(A, 5, 12)!;
    const b = DenseMatrixKernel.create(matrix(5, 12, 2), 5, 12)!;
    a.vector.fill(1);
    b.vector.fill(1);
    a.forward(0, 5);
    b.forward(0, 5);
    expect(a.product).not.toEqual(b.product);
    expect(A).toEqual(before);
  });

  it("over blocks of rows: the same products, the gradient summed over the blocks, nothing for an empty block", () => {
    const rows = 37;
    const cols = 13;
    const whole = DenseMatrixKernel.create(matrix(rows, cols, 7), rows, cols)!;
    const blocked = DenseMatrixKernel.create(matrix(rows, cols, 7), rows, cols)!;
    for (const k of [whole, blocked]) {
      k.vector.set(Array.from({ length: cols }, (_, j) => Math.cos(j)));
      k.adjoint.set(Array.from({ length: rows }, (_, i) => Math.sin(i)));
      k.gradient.fill(Number.NaN);
      k.clearGradient();
    }
    whole.forward(0, rows);
    whole.backward(0, rows);
    for (const [lo, hi] of [
      [0, 5],
      [5, 5],
      [5, 20],
      [20, 37],
    ]) {
      blocked.forward(lo, hi);
      blocked.backward(lo, hi);
    }
    expect(Array.from(blocked.product)).toEqual(Array.from(whole.product));
    for (let j = 0; j < cols; j++) expect(blocked.gradient[j]).toBeCloseTo(whole.gradient[j], 12);
  });

  it("declines an empty matrix rather than running loops that assume a row", () => {
    expect(DenseMatrixKernel.create(new Float64Array(0), 0, 12)).toBeNull();
  });
});

describe("a model whose design matrix has enough columns for the kernel", () => {
  const rows = 2100; // two blocks of KERNEL_BLOCK_ROWS and part of a third
  const cols = 13;
  const rng = new Rng(5, 2);
  const X = Array.from({ length: rows }, () => Array.from({ length: cols }, () => 2 * rng.uniform() - 1));
  const y = Array.from({ length: rows }, () => 3 * rng.uniform() - 1.5);
  const yb = Array.from({ length: rows }, () => (rng.uniform() < 0.4 ? 1 : 0));

  const linear = model("dense-linear", (m) => {
    const Xd = m.data("X", { shape: "matrix" });
    const b = m.param("b", Normal(0, 1), { shape: cols });
    const a = m.param("a", Normal(0, 2));
    const s = m.param("s", StudentT(3, 0, 1), { lower: 0 });
    m.observe("yobs", Normal(Xd.matvec(b).add(a), s), m.data("y"));
  });
  // The product read twice in the row (through the logit and again in a second term), the vector a transformed one.
  const logistic = model("dense-logistic", (m) => {
    const Xd = m.data("X", { shape: "matrix" });
    const b = m.param("b", Normal(0, 1), { shape: cols });
    const eta = Xd.matvec(b.mul(0.5));
    m.observe("ybobs", BernoulliLogit(eta), m.data("yb"));
    m.observe("yobs", Normal(eta.mul(eta).mul(0.1), 2), m.data("y"));
  });

  for (const [name, mdl] of [
    ["Normal, identity link", linear],
    ["logit link, the product read twice", logistic],
  ] as const) {
    describe(name, () => {
      const bound = bindModel(mdl.json, { X, y, yb });
      const withKernel = compileModel(bound);
      const plain = compileModel(bound, { denseKernels: false });

      it("is compiled to the kernel (not with denseKernels: false, nor in the sharded form)", () => {
        expect(withKernel.source).toMatch(/K\d+\.forward\(/);
        expect(plain.source).not.toMatch(/K\d+\.forward\(/);
        expect(compileModel(bound, { shards: true }).source).not.toMatch(/K\d+\.forward\(/);
      });

      it("has the interpreter's log-density, and the plain products' gradient", () => {
        const r = new Rng(9, 3);
        for (let point = 0; point < 4; point++) {
          const theta = Array.from({ length: withKernel.dim }, () => 2 * r.uniform() - 1);
          const k = gradient(withKernel, theta);
          const p = gradient(plain, theta);
          expect(k.lp).toBeCloseTo(interpretedLogDensity(bound, theta), 9);
          expect(k.lp).toBeCloseTo(p.lp, 10);
          for (let i = 0; i < withKernel.dim; i++) expect(Math.abs(k.grad[i] - p.grad[i])).toBeLessThan(1e-10 * (1 + Math.abs(p.grad[i])));
        }
      });

      it("has the gradient of finite differences", () => {
        expectGradientMatchesFiniteDifferences(withKernel);
      });

      it("gives the same answer on every call (no state left from the one before)", () => {
        const theta = Array.from({ length: withKernel.dim }, (_, i) => 0.1 * Math.sin(i + 1));
        const first = gradient(withKernel, theta);
        gradient(
          withKernel,
          theta.map((t) => -2 * t),
        );
        const again = gradient(withKernel, theta);
        expect(again.lp).toBe(first.lp);
        expect(again.grad).toEqual(first.grad);
      });
    });
  }

  it("a matrix with fewer columns keeps the written-out row", () => {
    const narrow = model("narrow", (m) => {
      const Xd = m.data("X", { shape: "matrix" });
      const b = m.param("b", Normal(0, 1), { shape: 4 });
      m.observe("ybobs", Bernoulli(Xd.matvec(b).logistic()), m.data("yb"));
    });
    const c = compileModel(bindModel(narrow.json, { X: X.map((r) => r.slice(0, 4)), yb }));
    expect(c.source).not.toMatch(/K\d+\.forward\(/);
  });
});
