// The NUTS transition of nuts.ts run as WebAssembly (nuts.wat): the same transition, draw for draw, without the tens
// of milliseconds TurboFan spends compiling the JavaScript kernel in every fresh chain worker. This module lays out
// the kernel's memory (the header nuts.wat's `setup` reads), copies the state in and out of it around each call (one
// transition in warm-up, a run of draws in sampling), and gives the module its imports: the model's gradient on the
// point being integrated, the ziggurat's rare path on the same random stream, and Math.exp and Math.log1p.
import { type Rng, ZIG_K, ZIG_W } from "../random/rng.js";
import { type NutsKernel, SAMPLE_STATS, type TransitionInfo } from "./nuts.js";
import { NUTS_KERNEL_BASE64 } from "./nuts-wasm-binary.js";
import { compiledOnce } from "../model/wasm-module.js";
import type { LogDensityGradient, PhasePoint } from "./point.js";

const PAGE_BYTES = 65536;
/** The kernel's memory stays below this (every byte offset a positive i32); larger models use the JavaScript kernel. */
const MAX_BYTES = 2 ** 30;
/** The i32 header nuts.wat's `setup` reads, in this order (byte offsets unless named otherwise). */
const HEADER = [
  "dim",
  "maxDepth",
  "zigK",
  "zigW",
  "rngState",
  "out",
  "minv",
  "weights",
  "levels",
  "levelBytes",
  "z0",
  "zFwd",
  "zBck",
  "zSample",
  "zPropose",
  "pFwdFwd",
  "pSharpFwdFwd",
  "pFwdBck",
  "pSharpFwdBck",
  "pBckFwd",
  "pSharpBckFwd",
  "pBckBck",
  "pSharpBckBck",
  "rho",
  "rhoFwd",
  "rhoBck",
  "draws",
  "drawStats",
] as const;
type Layout = Record<(typeof HEADER)[number], number> & { bytes: number };
/** The header's bytes, rounded up to whole doubles so that the blocks after it stay 8-byte aligned. */
const HEADER_BYTES = 8 * Math.ceil(HEADER.length / 2);
/** acceptStat, treeDepth, nLeapfrog, divergent, energy: the doubles `transition` leaves at `out`. */
const OUTPUTS = 5;
/**
 * Rows of position and statistics `transitions` records in one call: up to 64, fewer where rows are long, so that the
 * block stays within DRAWS_BLOCK_BYTES (for many coordinates a call's own cost is nothing beside its gradients).
 */
const DRAWS_PER_CALL = 64;
const DRAWS_BLOCK_BYTES = 2 ** 20;

/** Rows of `dim` coordinates and the statistics that one call of `transitions` records. */
export function drawsPerCall(dim: number): number {
  const rowBytes = 8 * (dim + SAMPLE_STATS.length);
  return Math.max(1, Math.min(DRAWS_PER_CALL, Math.floor(DRAWS_BLOCK_BYTES / rowBytes)));
}

interface NutsExports {
  setup(): void;
  transition(epsilon: number): void;
  transitions(n: number, epsilon: number): void;
}

/** The module; null where this engine cannot compile it (no bulk memory). */
const nutsModule = compiledOnce("nuts", NUTS_KERNEL_BASE64);

/** Byte offsets of every block for `dim` coordinates and trees up to `maxDepth` (nuts.wat's comment: the blocks). */
function layout(dim: number, maxDepth: number): Layout {
  const vector = 8 * dim;
  const point = 3 * vector + 8; // q, p, grad, logp
  const levelBytes = 6 * vector + point;
  let at = HEADER_BYTES;
  const take = (n: number) => {
    const start = at;
    at += n;
    return start;
  };
  const l = {
    dim,
    maxDepth,
    levelBytes,
    zigK: take(8 * 256),
    zigW: take(8 * 256),
    rngState: take(16),
    out: take(8 * OUTPUTS),
    weights: take(8 * (2 * (maxDepth + 1) + 1)),
    minv: take(vector),
    levels: take((maxDepth + 1) * levelBytes),
    z0: take(point),
    zFwd: take(point),
    zBck: take(point),
    zSample: take(point),
    zPropose: take(point),
    pFwdFwd: take(vector),
    pSharpFwdFwd: take(vector),
    pFwdBck: take(vector),
    pSharpFwdBck: take(vector),
    pBckFwd: take(vector),
    pSharpBckFwd: take(vector),
    pBckBck: take(vector),
    pSharpBckBck: take(vector),
    rho: take(vector),
    rhoFwd: take(vector),
    rhoBck: take(vector),
    draws: take(drawsPerCall(dim) * vector),
    drawStats: take(drawsPerCall(dim) * 8 * SAMPLE_STATS.length),
  };
  return { ...l, bytes: at };
}

class WasmNutsKernel implements NutsKernel {
  private readonly run: NutsExports;
  private readonly words: Int32Array;
  private readonly rngAt: number;
  private readonly minv: Float64Array;
  private readonly z0: { q: Float64Array; p: Float64Array; grad: Float64Array };
  private readonly z0LogpAt: number;
  private readonly doubles: Float64Array;
  private readonly outAt: number;
  private readonly drawsAt: number;
  private readonly drawStatsAt: number;
  private readonly dim: number;
  private readonly rowsPerCall: number;
  // The transition's model and random stream, for the imports.
  private logDensity: LogDensityGradient = () => 0;
  private rng: Rng | null = null;

  constructor(module: WebAssembly.Module, l: Layout) {
    const memory = new WebAssembly.Memory({ initial: Math.ceil(l.bytes / PAGE_BYTES) });
    const buffer = memory.buffer;
    const dim = l.dim;
    const vector = (at: number) => new Float64Array(buffer, at, dim);
    this.words = new Int32Array(buffer);
    this.doubles = new Float64Array(buffer);
    HEADER.forEach((name, i) => (this.words[i] = l[name]));
    this.doubles.set(ZIG_K, l.zigK / 8);
    this.doubles.set(ZIG_W, l.zigW / 8);
    this.rngAt = l.rngState / 4;
    this.outAt = l.out / 8;
    this.drawsAt = l.draws / 8;
    this.drawStatsAt = l.drawStats / 8;
    this.dim = dim;
    this.rowsPerCall = drawsPerCall(dim);
    this.minv = vector(l.minv);
    this.z0 = { q: vector(l.z0), p: vector(l.z0 + 8 * dim), grad: vector(l.z0 + 16 * dim) };
    this.z0LogpAt = (l.z0 + 24 * dim) / 8;
    // The kernel integrates only its two ends, zFwd and zBck: the gradient import gets the one it is on.
    const fwd = { q: vector(l.zFwd), grad: vector(l.zFwd + 16 * dim) };
    const bck = { q: vector(l.zBck), grad: vector(l.zBck + 16 * dim) };
    const zFwd = l.zFwd;
    const imports = {
      nuts: {
        memory,
        gradient: (at: number) => (at === zFwd ? this.logDensity(fwd.q, fwd.grad) : this.logDensity(bck.q, bck.grad)),
        normalBeyondLayer: (idx: number, sign: number, rabs: number) => {
          const rng = this.rng!;
          rng.restoreState(this.words, this.rngAt);
          const x = rng.normalBeyondLayer(idx, sign, rabs);
          rng.saveState(this.words, this.rngAt);
          return x;
        },
        exp: Math.exp,
        log1p: Math.log1p,
      },
    };
    this.run = new WebAssembly.Instance(module, imports).exports as unknown as NutsExports;
    this.run.setup();
  }

  transition(z: PhasePoint, epsilon: number, invMetric: Float64Array, logDensity: LogDensityGradient, rng: Rng): TransitionInfo {
    this.enter(z, invMetric, logDensity, rng);
    this.run.transition(epsilon);
    this.leave(z, rng);
    const out = this.outAt;
    return {
      acceptStat: this.doubles[out],
      treeDepth: this.doubles[out + 1],
      nLeapfrog: this.doubles[out + 2],
      divergent: this.doubles[out + 3] !== 0,
      energy: this.doubles[out + 4],
    };
  }

  readonly transitions: NutsKernel["transitions"] = (z, n, epsilon, invMetric, logDensity, rng, positions, stats, at) => {
    this.enter(z, invMetric, logDensity, rng);
    const dim = this.dim;
    const nStats = SAMPLE_STATS.length;
    const doubles = this.doubles;
    // Two block copies a call, no per-draw loop: a loop here would be one more function each fresh worker compiles.
    for (let done = 0; done < n;) {
      const m = Math.min(this.rowsPerCall, n - done);
      this.run.transitions(m, epsilon);
      positions.set(doubles.subarray(this.drawsAt, this.drawsAt + m * dim), (at + done) * dim);
      stats.set(doubles.subarray(this.drawStatsAt, this.drawStatsAt + m * nStats), (at + done) * nStats);
      done += m;
    }
    this.leave(z, rng);
  };

  /** The transition's state into the kernel's memory: the point, the metric, the model and the random stream. */
  private enter(z: PhasePoint, invMetric: Float64Array, logDensity: LogDensityGradient, rng: Rng): void {
    this.logDensity = logDensity;
    this.rng = rng;
    this.minv.set(invMetric);
    this.z0.q.set(z.q);
    this.z0.grad.set(z.grad);
    this.doubles[this.z0LogpAt] = z.logp;
    rng.saveState(this.words, this.rngAt);
  }

  /** The selected point and the advanced stream back out. */
  private leave(z: PhasePoint, rng: Rng): void {
    rng.restoreState(this.words, this.rngAt);
    z.q.set(this.z0.q);
    z.p.set(this.z0.p);
    z.grad.set(this.z0.grad);
    z.logp = this.doubles[this.z0LogpAt];
  }
}

/**
 * The WebAssembly NUTS kernel for `dim` coordinates and trees up to `maxDepth`, or null where it cannot run (this
 * engine cannot compile the module, or its memory would pass MAX_BYTES): the caller then uses nuts.ts's kernel.
 */
export function createWasmNutsKernel(dim: number, maxDepth: number): NutsKernel | null {
  const module = nutsModule();
  if (module === null) return null;
  const l = layout(dim, maxDepth);
  if (l.bytes > MAX_BYTES) return null;
  return new WasmNutsKernel(module, l);
}
