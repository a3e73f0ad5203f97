// A dense data matrix X held in WebAssembly memory with its two products for the generated log-density
// (compile.ts), taken over blocks of rows: for each block, `forward(lo, hi)` writes X·v into `product` for those rows
// (from `vector`); the row loop then writes those rows' adjoints into `adjoint`; `backward(lo, hi)` adds Xᵀ·adjoint
// over them into `gradient` (zeroed by `clearGradient()`). A block's rows are read by both passes while they are still
// in the cache. The products run as SIMD loops (dense-kernel.wat; X·v for rows of up to 24 doubles is emitted per width
// with v in registers, dense-product-emit.ts) with no bounds check per element, where the written-out JavaScript row is
// bound by register spills (24 partial gradients and 24 hoisted coefficients do not fit in 16 registers).
import { DENSE_KERNEL_BASE64 } from "./dense-kernel-wasm.js";
import { compiledOnce } from "./wasm-module.js";
import { emitRegisterProduct, REGISTER_PRODUCT_MAX_STRIDE } from "./dense-product-emit.js";

/** Columns are padded to a multiple of this (zeros in X and in the vector): the kernels take four at a time. */
const COLUMN_MULTIPLE = 4;
const PAGE_BYTES = 65536;
/** WebAssembly memory is addressed with 32 bits; stay below 2 GiB so every byte offset is a positive i32. */
const MAX_BYTES = 2 ** 31 - PAGE_BYTES;

type Product = (x: number, v: number, out: number, rows: number, stride: number) => void;

interface DenseExports {
  product: Product;
  transposedProduct: Product;
}

/** The module; null where this engine has no WebAssembly SIMD. */
const denseModule = compiledOnce("dense-kernel", DENSE_KERNEL_BASE64);

const registerProducts = new Map<number, WebAssembly.Module>();

/** X·v with v in registers for rows of `stride` doubles (dense-product-emit.ts), compiled once per width and thread. */
function registerProductModule(stride: number): WebAssembly.Module {
  let module = registerProducts.get(stride);
  if (module === undefined) {
    module = new WebAssembly.Module(emitRegisterProduct(stride));
    registerProducts.set(stride, module);
  }
  return module;
}

export class DenseMatrixKernel {
  /** v, `cols` long: write it before `forward`. */
  readonly vector: Float64Array;
  /** X·v, `rows` long: each block's rows after its `forward`. */
  readonly product: Float64Array;
  /** a, `rows` long: write a block's rows before its `backward`. */
  readonly adjoint: Float64Array;
  /** Σ over the blocks given to `backward` of Xᵀ·a, `cols` long. */
  readonly gradient: Float64Array;
  private readonly run: DenseExports;
  /** run.product, or the product emitted for this width where the vector fits in registers. */
  private readonly rowProduct: Product;
  private readonly stride: number;
  private readonly at: { x: number; vector: number; product: number; adjoint: number; gradient: number };

  private constructor(module: WebAssembly.Module, matrix: Float64Array, rows: number, cols: number) {
    const stride = Math.ceil(cols / COLUMN_MULTIPLE) * COLUMN_MULTIPLE;
    this.stride = stride;
    // Byte offsets: X, then the two stride-long vectors (kept 32-byte aligned), then the two row-long ones.
    const x = 0;
    const vector = x + rows * stride * 8;
    const gradient = vector + stride * 8;
    const product = gradient + stride * 8;
    const adjoint = product + rows * 8;
    const bytes = adjoint + rows * 8;
    const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / PAGE_BYTES) });
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    this.run = instance.exports as unknown as DenseExports;
    this.rowProduct =
      stride <= REGISTER_PRODUCT_MAX_STRIDE
        ? (new WebAssembly.Instance(registerProductModule(stride), { env: { memory } }).exports as unknown as { product: Product }).product
        : this.run.product;
    this.at = { x, vector, product, adjoint, gradient };
    const buffer = memory.buffer;
    const padded = new Float64Array(buffer, x, rows * stride);
    for (let i = 0; i < rows; i++) padded.set(matrix.subarray(i * cols, (i + 1) * cols), i * stride);
    this.vector = new Float64Array(buffer, vector, cols);
    this.gradient = new Float64Array(buffer, gradient, cols);
    this.product = new Float64Array(buffer, product, rows);
    this.adjoint = new Float64Array(buffer, adjoint, rows);
  }

  /**
   * A kernel over the row-major `rows` × `cols` matrix (copied), or null where it cannot run: no WebAssembly SIMD in
   * this engine, a matrix too large for 32-bit addressing, or no memory to be had for it. The caller then uses its
   * plain JavaScript products, which give the same values up to rounding.
   */
  static create(matrix: Float64Array, rows: number, cols: number): DenseMatrixKernel | null {
    const module = denseModule();
    if (module === null || rows < 1 || cols < 1) return null;
    const stride = Math.ceil(cols / COLUMN_MULTIPLE) * COLUMN_MULTIPLE;
    if ((rows * stride + 2 * stride + 2 * rows) * 8 > MAX_BYTES) return null;
    try {
      return new DenseMatrixKernel(module, matrix, rows, cols);
    } catch (err) {
      if (err instanceof RangeError) return null; // the memory could not be reserved
      throw err;
    }
  }

  /** product[lo, hi) = X[lo, hi) · vector. */
  forward(lo: number, hi: number): void {
    if (hi > lo) this.rowProduct(this.at.x + lo * this.stride * 8, this.at.vector, this.at.product + lo * 8, hi - lo, this.stride);
  }

  /** gradient += X[lo, hi)ᵀ · adjoint[lo, hi). */
  backward(lo: number, hi: number): void {
    if (hi > lo) this.run.transposedProduct(this.at.x + lo * this.stride * 8, this.at.adjoint + lo * 8, this.at.gradient, hi - lo, this.stride);
  }

  clearGradient(): void {
    this.gradient.fill(0);
  }
}
