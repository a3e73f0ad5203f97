// Compiles a bound model into one JavaScript function computing the log-density and its exact gradient (reverse
// mode), by generating code. Elementwise expressions over data rows are fused into one loop per density term that runs
// the forward pass and the adjoint pass for a row together, so the seed's regression costs a few nanoseconds per row
// and nothing is allocated per call. Nodes that cannot be fused (reductions, gathered vectors, matrices) are
// "materialised" into preallocated buffers with adjoint buffers beside them, and back-propagated after the terms.
import { BayesServeError } from "../errors.js";
import { type BoundModel, describeNode, type IntegerData, nodeInputs, type ParamLayout } from "./bind.js";
import { familyOf, type EmitContext } from "./families.js";
import type { DistJSON, NodeJSON } from "./graph.js";
import { LINALG } from "./linalg-wasm.js";
import { SPECIAL } from "./special.js";
import { transformCode } from "./transforms.js";
import { binaryCode, unaryCode } from "./ops.js";
import { evaluateNodes } from "./evaluate.js";
import { optimiseLoop, type LoopContext } from "./hoist.js";
import { factorSums } from "./factor-sums.js";
import { DenseMatrixKernel } from "./dense-kernel.js";

/** Partial sums per index-scatter target in a row loop (a power of two: the lane is row & (lanes − 1)). Four covers
 * the latency of a dependent floating-point add through memory. */
const SCATTER_LANES = 4;

/**
 * Chains of adds a written-out row of X · v is summed in: a floating-point add waits ~4 cycles for the one before it
 * (Agner Fog, instruction tables: ADDSD latency 3–4 on current x86), so one chain over 24 columns is bound by latency
 * at ~100 cycles a row; four chains keep four adds in flight.
 */
const DOT_LANES = 4;

/** Matrix-vector products with at most this many columns are written out column by column (emitMatvecUnrolled). */
const UNROLLED_COLUMNS = 64;

/**
 * A data matrix with at least this many columns, in a term's row loop, has its products computed by the SIMD kernel
 * (dense-kernel.ts) rather than in the loop. Below it the written-out row keeps its coefficients and partial gradients
 * in registers, and the kernel's fixed costs (two calls, copies of the vector and gradient, a store and a load per
 * row) are not repaid; bench/README.md, "Dense design matrices", has the measurements behind the figure.
 */
const KERNEL_MIN_COLUMNS = 10;

/**
 * A row loop with kernel products runs in blocks of this many rows, each through the kernel's forward pass, the rows,
 * and its backward pass, so that the backward pass reads the block's rows of X while they are still in the cache (a
 * 1,024 × 24 block is 192 kB, within a core's L2). bench/README.md, "Dense design matrices", has the block sizes tried.
 */
const KERNEL_BLOCK_ROWS = 1024;

export interface CompiledModel {
  readonly bound: BoundModel;
  /** Number of unconstrained (= constrained) scalar parameters. */
  readonly dim: number;
  /** Scalar parameter names, 0-based (beta[0]). */
  readonly paramNames: string[];
  /** log p(θ | data) up to a constant, at unconstrained θ, Jacobian included; writes ∂/∂θ into `grad`. */
  logDensityGradient(theta: Float64Array, grad: Float64Array): number;
  /** The constrained values of θ into `out`. */
  constrain(theta: Float64Array, out: Float64Array): void;
  /** The generated source, for debugging. */
  readonly source: string;
  /** The same log-density split over row shards (CompileOptions.shards), for evaluation on several threads. */
  readonly shardCode: ShardCode | null;
  /**
   * How much row work one gradient does: Σ over the row loops a shard would split of rows × operations per row (the
   * loop body's arithmetic operators and calls). Deterministic, so a thread count chosen from it (inference/fit-options.ts) does not
   * depend on the machine's load.
   */
  readonly rowWork: number;
}

/**
 * The log-density in pieces that threads evaluate together (inference/sharded-density.ts): `forward(T)` maps θ to
 * the constrained P and returns the log-Jacobian; `partial(s, S, first)` reads P, adds the terms of shard s of S to its
 * own GP (∂/∂P) and returns their log-density — the observations' and factors' rows [⌊n·s/S⌋, ⌊n·(s+1)/S⌋) of each
 * row loop of length n, and, with `first`, the terms that are not per row (priors, scalars, MvNormal) — and
 * `backward(G)` maps the summed GP to ∂/∂θ. Everything in `shared` is on SharedArrayBuffers; each thread makes its own
 * `scratch` buffers and P/GP views (instantiateShardCode), so the data are held once however many threads read them.
 */
export interface ShardCode {
  /** A factory's body: `return { forward, partial, backward }` over the closure names of `shared`, `scratch`, P, GP, F, LA. */
  readonly source: string;
  readonly dim: number;
  readonly shared: Record<string, Float64Array | IntegerData>;
  /** Per-thread buffers (materialised nodes, adjoints, scatter lanes): their lengths. */
  readonly scratch: Record<string, number>;
}

export interface ShardFunctions {
  forward(T: Float64Array): number;
  partial(shard: number, shards: number, first: boolean): number;
  backward(G: Float64Array): void;
}

/** A thread's own copy of the shard functions, reading P and adding to GP (views its caller chooses). */
export function instantiateShardCode(code: ShardCode, P: Float64Array, GP: Float64Array): ShardFunctions {
  const closure = new Map<string, unknown>([
    ["P", P],
    ["GP", GP],
    ["F", SPECIAL],
    ["LA", LINALG],
  ]);
  for (const [name, arr] of Object.entries(code.shared)) closure.set(name, arr);
  for (const [name, len] of Object.entries(code.scratch)) closure.set(name, new Float64Array(len));
  const names = [...closure.keys()];
  return new Function(...names.map(closureParameter), code.source)(...names.map((n) => closure.get(n))) as ShardFunctions;
}

/**
 * Code that runs once per evaluation with Math's exp, log and log1p in place of F's (special.ts, from elementary.ts).
 * F's exist to be inlined into row loops, where a call per row would cost more than the row; once per evaluation a
 * call costs nothing, while every inlined copy is more for TurboFan to compile in each fresh chain worker — eight
 * schools' gradient 8.4 → 5.8 ms of a ~70 ms chain (bench/README.md, "A chain's first milliseconds"). Both are
 * accurate to within an ulp or so (test/model/elementary.test.ts), so only the last bit of a value can change.
 */
function callsOnce(code: string): string {
  return code.replace(/\bF\.(exp|log|log1p)\(/g, "Math.$1(");
}

/** A parameter's transform, unconstrained T to constrained P (a scalar's loop runs once: callsOnce). */
function transformForward(p: ParamLayout): string {
  const code = transformCode(p.decl.transform).forward(p.offset, p.size);
  return p.size === 1 ? callsOnce(code) : code;
}

/** The generated functions' closure: the factory's parameter that carries `name`'s value. */
function closureParameter(name: string): string {
  return `${name}$c`;
}

/**
 * The closure's values copied into the generated function's own `const`s at its start. Read from the closure in a loop,
 * an array is reloaded from the context, its map checked and its bounds fetched on every row (TurboFan does not hoist
 * context loads out of loops); a local is loaded once. bench/README.md, "Measurements behind the code", has the figures.
 * The generated body follows in a block of its own, so that its declarations may shadow these names as they shadowed
 * the closure's parameters before.
 */
function closureLocals(names: readonly string[]): string {
  return names.map((n) => `const ${n} = ${closureParameter(n)};`).join("\n");
}

type Kind = "const" | "static" | "param" | "mat" | "inline";

interface Term {
  /** A node whose elements are summed into lp. */
  root: number;
  what: string;
  /** Rows of it may be split over shards (observations, factors); priors are evaluated once, by shard 0. */
  perRow: boolean;
}

/**
 * What a row loop collects while emitLoop emits its element (one per loop, not flags set and reset around it): the
 * terms whose loop-invariant constant is added once after the loop, those constants, code to run after the loop (lane
 * reductions, row-sum forms), whether index scatters go to lane buffers, and the loop's row count as code.
 */
interface LoopInProgress {
  readonly splitConst: ReadonlySet<number>;
  readonly constants: string[];
  readonly epilogue: string[];
  readonly laneScatter: boolean;
  /** Set when the term's lp is summed by its family's row-sum form (see EmittedDensity.rowSum), not per row. */
  summedByRowSum: boolean;
  /** Kernel calls run before and after each block of rows (b$lo, b$hi); the loop runs in blocks when there are any. */
  readonly blockStart: string[];
  readonly blockEnd: string[];
  readonly rowCount: string | null;
}

export interface CompileOptions {
  /** Hoist loop-invariant and data-only subexpressions out of row loops (hoist.ts). Default true; the results are
   * identical either way, to the bit (the tests compare them). */
  hoist?: boolean;
  /**
   * Also generate the sharded form (CompiledModel.shardCode), with the data and what is computed from them on
   * SharedArrayBuffers. The unsharded function is then the same code as with `denseKernels: false`.
   */
  shards?: boolean;
  /**
   * Take the products of dense data matrices with the SIMD kernel (dense-kernel.ts) where it pays. Default true;
   * always off with `shards`, whose threads share the data on SharedArrayBuffers and each sum only their rows. The
   * values agree either way up to rounding (the sums are taken in a different order).
   */
  denseKernels?: boolean;
  /**
   * Take loop-invariant factors out of the row loops' sums (factor-sums.ts; with `hoist` only). Default true; the
   * results differ from the plain loop's in the last bits.
   */
  factorSums?: boolean;
}

export function compileModel(bound: BoundModel, options: CompileOptions = {}): CompiledModel {
  const shards = options.shards === true;
  const hoist = options.hoist !== false;
  return new Codegen(bound, hoist, shards, !shards && options.denseKernels !== false, hoist && options.factorSums !== false).build();
}

// Row-loop bounds and counts in generated code are written as markers, filled in per variant: the whole range for the
// unsharded function (the same text as without markers), the shard's range for the sharded one.
const MARK = "\u0001";
const loMark = (n: number) => `${MARK}LO:${n}${MARK}`;
const hiMark = (n: number) => `${MARK}HI:${n}${MARK}`;
const countMark = (n: number) => `${MARK}N:${n}${MARK}`;
// eslint-disable-next-line no-control-regex -- the marker is a control character so that no generated code can hold it
const MARKER = /\u0001(LO|HI|N):(\d+)\u0001/g;
const wholeRange = (code: string) => code.replace(MARKER, (_, kind: string, n: string) => (kind === "LO" ? "0" : n));
const shardRange = (code: string) =>
  code.replace(MARKER, (_, kind: string, n: string) => (kind === "LO" ? `i$lo${n}` : kind === "HI" ? `i$hi${n}` : `(i$hi${n} - i$lo${n})`));

/** A SharedArrayBuffer-backed copy of a typed array. */
function sharedCopy<T extends Float64Array | IntegerData>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

/** Operations per row of a loop body, for CompiledModel.rowWork: arithmetic operators and calls. */
function operationsPerRow(body: string[]): number {
  let ops = 0;
  for (const line of body) ops += (line.match(/[-+*/]|\b(?:Math|F)\.\w+\(/g) ?? []).length;
  return Math.max(1, ops);
}

class Codegen {
  private readonly nodes: NodeJSON[];
  private readonly shapes: number[][];
  private readonly dep: boolean[];
  private readonly closure = new Map<string, unknown>();
  private readonly kinds: Kind[] = [];
  private readonly staticValues: Float64Array[] = [];
  /** Closure names bound to parameter-free arrays (data, values computed from it), which hoisting may read early. */
  private readonly staticArrays = new Set<string>();
  private counter = 0;
  /** The loop emitLoop is emitting now, and what it collects; null outside one. */
  private loop: LoopInProgress | null = null;
  /** In the element being emitted: how many of its nodes read each node. */
  private readers = new Map<number, number>();
  /** The SIMD kernel of each matrix-vector product node that has one (null: it cannot run here). */
  private readonly denseKernels = new Map<number, DenseMatrixKernel | null>();

  /** Row loops the sharded form splits: their lengths, and Σ rows × operations per row. */
  private readonly shardedLengths = new Set<number>();
  private rowWork = 0;

  constructor(
    private readonly bound: BoundModel,
    private readonly hoist: boolean,
    private readonly shared: boolean,
    private readonly denseKernelsOn: boolean,
    private readonly factor: boolean,
  ) {
    // Terms get synthetic logp nodes appended; copy so the model's JSON is untouched.
    this.nodes = bound.json.nodes.slice();
    this.shapes = bound.shapes.slice();
    this.dep = bound.dependsOnParams.slice();
  }

  private len(id: number): number {
    return this.shapes[id].reduce((a, b) => a * b, 1);
  }

  private addLogpNode(dist: DistJSON, value: number): number {
    const id = this.nodes.length;
    this.nodes.push({ op: "logp", dist, value });
    const parts = [value, ...dist.args];
    let shape: number[] = [];
    for (const p of parts) if (this.shapes[p].length > shape.length) shape = this.shapes[p];
    this.shapes.push(shape);
    this.dep.push(parts.some((p) => this.dep[p]));
    return id;
  }

  build(): CompiledModel {
    const b = this.bound;
    const json = b.json;
    const terms: Term[] = [];
    const mvTerms: { name: string; value: number; mean: number; cov: number }[] = [];
    const paramNode = new Map<string, number>();
    json.nodes.forEach((n, id) => {
      if (n.op === "param" && !paramNode.has(n.name)) paramNode.set(n.name, id);
    });
    for (const p of b.params) {
      if (p.decl.prior.family === "Flat") continue;
      let pid = paramNode.get(p.decl.name);
      if (pid === undefined) {
        pid = this.nodes.length;
        this.nodes.push({ op: "param", name: p.decl.name });
        this.shapes.push(p.decl.shape as number[]);
        this.dep.push(true);
      }
      terms.push({ root: this.addLogpNode(p.decl.prior, pid), what: `prior of "${p.decl.name}"`, perRow: false });
    }
    for (const o of json.observes) {
      if (o.dist.family === "MvNormal") {
        mvTerms.push({ name: o.name, value: o.value, mean: o.dist.args[0], cov: o.dist.args[1] });
        continue;
      }
      terms.push({ root: this.addLogpNode(o.dist, o.value), what: `observation "${o.name}"`, perRow: true });
    }
    for (const f of json.factors) terms.push({ root: f.node, what: `factor "${f.name}"`, perRow: true });

    // Which nodes are needed at all (deterministics are evaluated separately, after sampling).
    const needed = new Array<boolean>(this.nodes.length).fill(false);
    const mark = (id: number) => {
      if (needed[id]) return;
      needed[id] = true;
      for (const r of nodeInputs(this.nodes[id])) mark(r);
    };
    for (const t of terms) mark(t.root);
    for (const t of mvTerms) [t.value, t.mean, t.cov].forEach(mark);

    // Materialise what cannot be inlined into an elementwise loop.
    const materialise = new Array<boolean>(this.nodes.length).fill(false);
    const syntheticFrom = json.nodes.length; // term nodes appended above have no consumers: never materialised
    this.nodes.forEach((n, id) => {
      if (!needed[id] || !this.dep[id] || n.op === "param" || id >= syntheticFrom) return;
      if (this.shapes[id].length !== 1) materialise[id] = true; // scalars and matrices
      if (n.op === "sum" || n.op === "covExpQuad" || n.op === "addDiag") materialise[id] = true;
    });
    this.nodes.forEach((n, id) => {
      if (!needed[id]) return;
      const force = (k: number) => {
        if (this.dep[k] && this.nodes[k].op !== "param") materialise[k] = true;
      };
      if (n.op === "index" || n.op === "element") force(n.a);
      if (n.op === "matvec") force(n.v);
      if (n.op === "covExpQuad") {
        if (this.dep[n.x]) throw new BayesServeError("MODEL_DEFINITION", `${describeNode(json, id)}: the points x must be data`);
      }
      if (n.op === "addDiag") force(n.d);
    });
    // A covariance node is a matrix, materialised above when it depends on parameters.
    for (const t of mvTerms) {
      if (this.dep[t.mean] && this.shapes[t.mean].length === 1) materialise[t.mean] = true;
      if (this.dep[t.value]) throw new BayesServeError("MODEL_DEFINITION", `observation "${t.name}": MvNormal must observe data`);
    }

    // Static (parameter-free) values, computed once.
    const staticNeeded = needed.map((n, id) => n && !this.dep[id]);
    // The term nodes appended above are included: an observation whose distribution has no parameter in it is a
    // constant term, and its value is needed as one (S<id>).
    const statics = evaluateNodes({ ...b, json: { ...json, nodes: this.nodes }, shapes: this.shapes }, null, 0, this.nodes.length - 1, staticNeeded);
    this.nodes.forEach((n, id) => {
      if (!needed[id]) return;
      if (!this.dep[id]) {
        this.kinds[id] = n.op === "const" ? "const" : "static";
        this.staticValues[id] = statics[id];
        if (n.op !== "const" && this.shapes[id].length > 0) {
          this.closure.set(`S${id}`, this.shared ? sharedCopy(statics[id]) : statics[id]);
          this.staticArrays.add(`S${id}`);
        }
      } else if (n.op === "param") this.kinds[id] = "param";
      else this.kinds[id] = materialise[id] ? "mat" : "inline";
    });
    for (const [name, d] of b.data)
      if (d.ints) {
        this.closure.set(`I_${name}`, this.shared ? sharedCopy(d.ints) : d.ints);
        this.staticArrays.add(`I_${name}`);
      }

    const matIds = this.nodes.map((_, id) => id).filter((id) => needed[id] && this.kinds[id] === "mat");
    const scalarParamOffsets = b.params.filter((p) => p.decl.shape.length === 0).map((p) => p.offset);

    const forward = ["let lp = 0;", ...b.params.map(transformForward)];
    const backward = b.params.map((p) => transformCode(p.decl.transform).backward(p.offset, p.size));
    // The terms and what they need, between the transforms: `once` parts are not split over shards.
    const body: { code: string; once: boolean }[] = [];
    const always = (code: string) => body.push({ code, once: false });
    always("GP.fill(0);");
    for (const o of scalarParamOffsets) always(`let gp${o} = 0;`);
    for (const id of matIds) {
      if (this.shapes[id].length === 0) always(`let s${id} = 0, as${id} = 0;`);
      else {
        this.closure.set(`M${id}`, new Float64Array(this.len(id)));
        this.closure.set(`A${id}`, new Float64Array(this.len(id)));
        always(`A${id}.fill(0);`);
      }
    }
    // Materialised nodes forward, in order.
    for (const id of matIds) always(this.emitMaterialisedForward(id));
    // Terms: forward and backward fused, adjoint seed 1.
    for (const t of terms) {
      const perRow = t.perRow && this.shapes[t.root].length > 0;
      body.push({ code: `// ${t.what}\n` + this.emitLoop(t.root, "1", true, perRow), once: !perRow });
    }
    for (const t of mvTerms) body.push({ code: `// observation "${t.name}" (MvNormal)\n` + this.emitMvNormal(t), once: true });
    // Materialised nodes backward, in reverse order.
    for (const id of [...matIds].reverse()) always(this.emitMaterialisedBackward(id));
    for (const o of scalarParamOffsets) always(`GP[${o}] += gp${o};`);
    const out = [...forward, ...body.map((p) => wholeRange(p.code)), ...backward, "return lp;"];
    const dim = b.dim;
    this.closure.set("P", new Float64Array(dim));
    this.closure.set("GP", new Float64Array(dim));
    this.closure.set("E", new Float64Array(dim));
    this.closure.set("F", SPECIAL);
    this.closure.set("LA", LINALG);
    const names = [...this.closure.keys()];
    const source = `"use strict";\nreturn function logDensityGradient(T, G) {\n${closureLocals(names)}\n{\n${out.join("\n")}\n}\n};`;
    let fn: (T: Float64Array, G: Float64Array) => number;
    try {
      fn = new Function(...names.map(closureParameter), source)(...names.map((n) => this.closure.get(n)));
    } catch (err) {
      throw new Error(`internal error: generated code for model "${json.name}" does not parse: ${(err as Error).message}\n${source}`);
    }

    const constrainBody = ["let lp = 0;", ...b.params.map(transformForward), "OUT.set(P);"].join("\n");
    const constrainFn = new Function("P", "E", "F", `"use strict";\nreturn function (T, OUT) {\n${constrainBody}\n};`)(
      new Float64Array(dim),
      new Float64Array(dim),
      SPECIAL,
    ) as (T: Float64Array, OUT: Float64Array) => void;

    let shardCode: ShardCode | null = null;
    if (this.shared) {
      const ranges = [...this.shardedLengths].map((n) => `const i$lo${n} = Math.floor(${n} * s / S), i$hi${n} = Math.floor(${n} * (s + 1) / S);`);
      const partial = ["let lp = 0;", ...ranges, ...body.map((p) => (p.once ? `if (first) {\n${wholeRange(p.code)}\n}` : shardRange(p.code))), "return lp;"];
      const locals = closureLocals(names);
      const factory =
        `"use strict";\nreturn {\nforward(T) {\n${locals}\n{\n${forward.join("\n")}\nreturn lp;\n}\n},\n` +
        `partial(s, S, first) {\n${locals}\n{\n${partial.join("\n")}\n}\n},\nbackward(G) {\n${locals}\n{\n${backward.join("\n")}\n}\n},\n};`;
      const sharedArrays: Record<string, Float64Array | IntegerData> = {};
      const scratch: Record<string, number> = {};
      for (const [name, value] of this.closure) {
        if (name === "P" || name === "GP" || name === "F" || name === "LA") continue;
        if (this.staticArrays.has(name)) sharedArrays[name] = value as Float64Array | IntegerData;
        else scratch[name] = (value as Float64Array).length;
      }
      shardCode = { source: factory, dim, shared: sharedArrays, scratch };
    }

    return {
      bound: b,
      dim,
      paramNames: b.params.flatMap((p) => p.elementNames),
      logDensityGradient: fn,
      constrain: constrainFn,
      source,
      shardCode,
      rowWork: this.rowWork,
    };
  }

  // ---- access to values and adjoints -------------------------------------------------------------------------------

  private val(id: number, ix: string): string {
    const scalar = this.shapes[id].length === 0;
    switch (this.kinds[id]) {
      case "inline":
        return `v${id}`;
      case "const":
        return lit((this.nodes[id] as { value: number }).value);
      case "static":
        return scalar ? lit(this.staticValues[id][0]) : `S${id}[${ix}]`;
      case "param": {
        const o = this.bound.paramByName.get((this.nodes[id] as { name: string }).name)!.offset;
        return scalar ? `P[${o}]` : `P[${o} + ${ix}]`;
      }
      case "mat":
        return scalar ? `s${id}` : `M${id}[${ix}]`;
    }
  }

  private acc(id: number, ix: string, expr: string): string {
    if (!this.dep[id]) return "";
    const scalar = this.shapes[id].length === 0;
    switch (this.kinds[id]) {
      case "inline":
        return `a${id} += ${expr};`;
      case "param": {
        const o = this.bound.paramByName.get((this.nodes[id] as { name: string }).name)!.offset;
        return scalar ? `gp${o} += ${expr};` : `GP[${o} + ${ix}] += ${expr};`;
      }
      case "mat":
        return scalar ? `as${id} += ${expr};` : `A${id}[${ix}] += ${expr};`;
      default:
        return "";
    }
  }

  // ---- one element of an expression tree --------------------------------------------------------------------------

  /**
   * Code for one element (index `ix`) of node `root`, with the inlined nodes beneath it: `fwd` defines `v<root>`;
   * `bwd` (given the adjoint expression `seed`) pushes adjoints to the inputs. `pre` holds loop-invariant hoists.
   */
  private emitElement(root: number, ix: string, seed: string, isTerm = false): { pre: string[]; fwd: string[]; bwd: string[]; value: string } {
    const pre: string[] = [];
    const fwd: string[] = [];
    const bwd: string[] = [];
    const order: number[] = [];
    const seen = new Set<number>();
    const visit = (id: number, isRoot: boolean) => {
      if (seen.has(id)) return;
      if (!isRoot && this.kinds[id] !== "inline") return;
      seen.add(id);
      for (const r of nodeInputs(this.nodes[id])) visit(r, false);
      order.push(id);
    };
    // A materialised node is computed here when this is its own materialisation; as a term's root it is read.
    const rootComputed = this.kinds[root] === "inline" || (this.kinds[root] === "mat" && !isTerm);
    if (!rootComputed) {
      // A leaf as a term (a factor on a parameter, say), or a value materialised before the terms (a factor on a
      // sum): nothing to compute; its adjoint goes where that value's backward pass reads it.
      return { pre, fwd, bwd: [this.acc(root, ix, seed)], value: this.val(root, ix) };
    }
    visit(root, true);
    this.readers = new Map();
    for (const id of order) for (const r of nodeInputs(this.nodes[id])) this.readers.set(r, (this.readers.get(r) ?? 0) + 1);
    const backward: string[][] = [];
    for (const id of order) {
      const { f, b } = this.emitNode(id, ix, pre);
      fwd.push(...f);
      backward.push(b);
    }
    for (const id of order) if (id !== root) bwd.push(`let a${id} = 0;`);
    bwd.push(`const a${root} = ${seed};`);
    for (let k = order.length - 1; k >= 0; k--) bwd.push(...backward[k]);
    return { pre, fwd, bwd, value: `v${root}` };
  }

  private hoistable(id: number): boolean {
    return this.shapes[id].length === 0;
  }

  private emitNode(id: number, ix: string, pre: string[]): { f: string[]; b: string[] } {
    const n = this.nodes[id];
    const v = `v${id}`;
    const a = `a${id}`;
    const V = (k: number) => this.val(k, ix);
    switch (n.op) {
      case "unary": {
        const x = V(n.a);
        const [expr, deriv] = unaryCode(n.fn, x, v);
        return { f: [`const ${v} = ${expr};`], b: [this.acc(n.a, ix, `${a} * ${deriv}`)] };
      }
      case "binary": {
        const x = V(n.a);
        const y = V(n.b);
        const [expr, dx, dy] = binaryCode(n.fn, x, y, v);
        return { f: [`const ${v} = ${expr};`], b: [this.acc(n.a, ix, `${a} * ${dx}`), this.acc(n.b, ix, `${a} * ${dy}`)] };
      }
      case "index": {
        const idxName = (this.nodes[n.index] as { name: string }).name;
        const k = `k${id}`;
        const f = [`const ${k} = I_${idxName}[${ix}];`, `const ${v} = ${this.val(n.a, k)};`];
        if (!this.loop?.laneScatter || ix !== "i" || !this.dep[n.a]) return { f, b: [this.acc(n.a, k, a)] };
        // The adjoint scatters into a[k] row by row; consecutive rows with the same k would chain their additions
        // through memory (store → load → add). Spreading rows over SCATTER_LANES partial sums (lane = row mod
        // lanes) breaks the chain; the lanes are summed once after the loop.
        const size = this.len(n.a);
        const lanes = `L${id}`;
        this.closure.set(lanes, new Float64Array(size * SCATTER_LANES));
        pre.push(`${lanes}.fill(0);`);
        const sum = Array.from({ length: SCATTER_LANES }, (_, l) => `${lanes}[q * ${SCATTER_LANES} + ${l}]`).join(" + ");
        this.loop.epilogue.push(`for (let q = 0; q < ${size}; q++) { ${this.acc(n.a, "q", sum)} }`);
        return { f, b: [`${lanes}[${k} * ${SCATTER_LANES} + (i & ${SCATTER_LANES - 1})] += ${a};`] };
      }
      case "element":
        return { f: [`const ${v} = ${this.val(n.a, String(n.k))};`], b: [this.acc(n.a, String(n.k), a)] };
      case "matvec": {
        const c = this.shapes[n.m][1];
        const kernel = this.denseKernelFor(id, n.m, c, ix);
        if (kernel) return this.emitMatvecKernel(id, n.v, c, kernel, pre);
        if (c <= UNROLLED_COLUMNS) return this.emitMatvecUnrolled(id, n.m, n.v, c, ix, pre);
        const m = (j: string) => this.val(n.m, `(${ix}) * ${c} + ${j}`);
        const back = this.acc(n.v, "j", `${a} * ${m("j")}`);
        return {
          f: [`let ${v} = 0;`, `for (let j = 0; j < ${c}; j++) ${v} += ${m("j")} * ${this.val(n.v, "j")};`],
          b: back ? [`for (let j = 0; j < ${c}; j++) { ${back} }`] : [],
        };
      }
      case "logSumExp": {
        const xs = n.args.map((k) => V(k));
        const mx = `m${id}`;
        // ∂/∂xⱼ = e^(xⱼ − v) = eⱼ / Σe, with eⱼ = e^(xⱼ − max) from the forward pass: one exponential per argument
        // and one logarithm per element instead of two exponentials per argument.
        const es = xs.map((_, j) => `e${id}_${j}`);
        const sum = `se${id}`;
        return {
          f: [
            `const ${mx} = Math.max(${xs.join(", ")});`,
            ...xs.map((x, j) => `const ${es[j]} = F.exp(${x} - ${mx});`),
            `const ${sum} = ${es.join(" + ")};`,
            `const ${v} = ${mx} === -Infinity ? -Infinity : ${mx} + F.log(${sum});`,
          ],
          b: n.args.map((k, j) => this.acc(k, ix, `(${v} === -Infinity ? 0 : ${a} * (${es[j]} / ${sum}))`)),
        };
      }
      case "logp": {
        const fam = familyOf(n.dist.family);
        const f: string[] = [];
        const argIds = n.dist.args;
        const cx: EmitContext = {
          local: (expr) => {
            const t = `t${this.counter++}`;
            f.push(`const ${t} = ${expr};`);
            return t;
          },
          hoist: (expr, deps) => {
            if (!deps.every((k) => this.hoistable(argIds[k]))) return cx.local(expr);
            const h = `h${this.counter++}`;
            pre.push(`const ${h} = ${expr};`);
            return h;
          },
        };
        const out = fam.emit(
          V(n.value),
          argIds.map((k) => V(k)),
          cx,
        );
        const loop = this.loop;
        const split = loop !== null && out.lpConst && loop.splitConst.has(id) && out.lpConst.args.every((k) => this.hoistable(argIds[k]));
        // A term root (adjoint 1) whose lp and invariant arguments' gradients come from the sum of one statistic
        // (EmittedDensity.rowSum): accumulate the statistic per row, the rest after the loop.
        const rowSum = split && ix === "i" && out.rowSum?.args.every((k) => this.hoistable(argIds[k])) ? out.rowSum : null;
        if (rowSum) {
          const S = `S${id}`;
          pre.push(`let ${S} = 0;`);
          f.push(`${S} += ${rowSum.stat};`);
          loop!.epilogue.push(`lp += ${rowSum.lp(S)};`);
          const summed = rowSum.da(S, loop!.rowCount ?? String(this.len(id)));
          for (const j of rowSum.args) if (summed[j] !== null) loop!.epilogue.push(this.acc(argIds[j], "0", summed[j]));
          loop!.summedByRowSum = true;
        } else if (split) f.push(`const ${v} = ${out.lp};`);
        else f.push(`const ${v} = ${out.lpConst ? `${out.lp} + (${out.lpConst.expr})` : out.lp};`);
        // A term summed into lp with its normalising constant loop-invariant: add the constant once per loop.
        if (split) loop!.constants.push(out.lpConst!.expr);
        const b: string[] = [];
        if (out.dy !== undefined && !fam.discrete) b.push(this.acc(n.value, ix, `${a} * (${out.dy})`));
        argIds.forEach((k, j) => {
          const d = out.da[j];
          if (d !== null && d !== undefined && !rowSum?.args.includes(j)) b.push(this.acc(k, ix, `${a} * (${d})`));
        });
        return { f, b };
      }
      case "sum":
      case "covExpQuad":
      case "addDiag":
      case "const":
      case "param":
      case "data":
        throw new Error(`internal error: ${n.op} node ${id} cannot be emitted elementwise`);
    }
  }

  /**
   * One row of X · v written out column by column: the row's elements read at fixed offsets from its start, v's
   * elements (loop-invariant) hoisted, the sum taken in DOT_LANES chains added pairwise (so it can differ from the
   * looped product's left-to-right sum in the last bits). Backward, when this row loop is a term's and nothing else in it reads v, v's adjoint is accumulated in
   * one local per column, loaded before the loop and stored after it, instead of through memory per element.
   */
  private emitMatvecUnrolled(id: number, m: number, vec: number, c: number, ix: string, pre: string[]): { f: string[]; b: string[] } {
    const r = `r${id}`;
    const x = (j: number) => this.val(m, `${r} + ${j}`);
    const term = (j: number) => `${x(j)} * ${this.val(vec, String(j))}`;
    // DOT_LANES independent chains of adds (column j in chain j mod lanes), added pairwise at the end; at most ⌊c/2⌋
    // chains, and at least one: for a single column ⌊c/2⌋ is 0, and a chain stepping by 0 columns never ended.
    const lanes = Math.max(1, Math.min(DOT_LANES, Math.floor(c / 2)));
    const chains = Array.from({ length: lanes }, (_, l) => {
      let sum = c > 0 ? term(l) : "0";
      for (let j = l + lanes; j < c; j += lanes) sum = `(${sum} + ${term(j)})`;
      return sum;
    });
    let sums = chains;
    while (sums.length > 1)
      sums = Array.from({ length: Math.ceil(sums.length / 2) }, (_, k) => (2 * k + 1 < sums.length ? `(${sums[2 * k]} + ${sums[2 * k + 1]})` : sums[2 * k]));
    const f = [`const ${r} = (${ix}) * ${c};`, `const v${id} = ${sums[0]};`];
    if (!this.dep[vec]) return { f, b: [] };
    const kind = this.kinds[vec];
    const target =
      kind === "param"
        ? { array: "GP", offset: this.bound.paramByName.get((this.nodes[vec] as { name: string }).name)!.offset }
        : kind === "mat"
          ? { array: `A${vec}`, offset: 0 }
          : null;
    const loop = this.loop;
    if (target === null || loop === null || !loop.laneScatter || ix !== "i" || (this.readers.get(vec) ?? 0) !== 1) {
      return { f, b: Array.from({ length: c }, (_, j) => this.acc(vec, String(j), `a${id} * ${x(j)}`)) };
    }
    const b: string[] = [];
    for (let j = 0; j < c; j++) {
      const g = `g${id}_${j}`;
      pre.push(`let ${g} = ${target.array}[${target.offset + j}];`);
      loop.epilogue.push(`${target.array}[${target.offset + j}] = ${g};`);
      b.push(`${g} += a${id} * ${x(j)};`);
    }
    return { f, b };
  }

  /**
   * The SIMD kernel for X · v when X is data with KERNEL_MIN_COLUMNS or more columns and the product is read row by row
   * in a term's loop (which runs every row once, so that each row's adjoint is written once), unless kernels are off
   * (CompileOptions.denseKernels). Null otherwise, or where the kernel cannot run. A product read in two terms' loops
   * has one kernel: the loops run one after the other, each through forward and backward.
   */
  private denseKernelFor(id: number, m: number, c: number, ix: string): DenseMatrixKernel | null {
    if (!this.denseKernelsOn || this.kinds[m] !== "static" || c < KERNEL_MIN_COLUMNS || ix !== "i" || !this.loop?.laneScatter) return null;
    if (!this.denseKernels.has(id)) this.denseKernels.set(id, DenseMatrixKernel.create(this.staticValues[m], this.shapes[m][0], c));
    return this.denseKernels.get(id)!;
  }

  /**
   * X · v by the kernel: v copied in before the loop; each block of rows takes its product first, each row reads its
   * element and writes its adjoint, and the block adds its Xᵀ · adjoint last; after the loop the sum is added to v's
   * gradient.
   */
  private emitMatvecKernel(id: number, vec: number, c: number, kernel: DenseMatrixKernel, pre: string[]): { f: string[]; b: string[] } {
    const [k, kv, kp, ka, kg] = ["K", "KV", "KP", "KA", "KG"].map((prefix) => `${prefix}${id}`);
    this.closure.set(k, kernel);
    this.closure.set(kv, kernel.vector);
    this.closure.set(kp, kernel.product);
    this.closure.set(ka, kernel.adjoint);
    this.closure.set(kg, kernel.gradient);
    pre.push(`for (let j = 0; j < ${c}; j++) ${kv}[j] = ${this.val(vec, "j")};`, `${k}.clearGradient();`);
    this.loop!.blockStart.push(`${k}.forward(b$lo, b$hi);`);
    this.loop!.blockEnd.push(`${k}.backward(b$lo, b$hi);`);
    this.loop!.epilogue.push(`for (let j = 0; j < ${c}; j++) { ${this.acc(vec, "j", `${kg}[j]`)} }`);
    return { f: [`const v${id} = ${kp}[i];`], b: [`${ka}[i] = a${id};`] };
  }

  // ---- loops --------------------------------------------------------------------------------------------------------

  /**
   * A loop over `len` rows (`len` null: straight-line code), its invariant and data-only subexpressions hoisted
   * (hoist.ts): `pre` runs once, `body` per row, `after` once after it.
   */
  private loopCode(
    pre: string[],
    body: string[],
    len: number | null,
    after: string[] = [],
    perRow = false,
    blocks: { start: string[]; end: string[] } | null = null,
  ): string {
    let o = this.hoist ? optimiseLoop(pre, body, this.loopContext(len)) : { pre, body };
    if (this.factor && len !== null) {
      const f = factorSums(o.pre, o.body, { loopVar: "i", rowCount: perRow ? countMark(len) : String(len), fresh: (p) => `${p}${this.counter++}` });
      // The factored sums' accumulations first: what runs after the loop may read the accumulators.
      if (f) {
        o = f;
        after = [...f.after, ...after];
      }
    }
    const tail = after.filter(Boolean).join("\n");
    if (len === null) return callsOnce(`{\n${o.pre.join("\n")}\n${o.body.join("\n")}\n${tail}\n}`);
    if (perRow) {
      this.shardedLengths.add(len);
      this.rowWork += len * operationsPerRow(o.body);
    }
    const [lo, hi] = perRow ? [loMark(len), hiMark(len)] : ["0", String(len)];
    const rows = `for (let i = ${blocks ? "b$lo" : lo}; i < ${blocks ? "b$hi" : hi}; i++) {\n${o.body.join("\n")}\n}`;
    const loop = blocks
      ? `for (let b$lo = ${lo}; b$lo < ${hi}; b$lo += ${KERNEL_BLOCK_ROWS}) {\nconst b$hi = Math.min(b$lo + ${KERNEL_BLOCK_ROWS}, ${hi});\n` +
        `${blocks.start.join("\n")}\n${rows}\n${blocks.end.join("\n")}\n}`
      : rows;
    return `{\n${o.pre.join("\n")}\n${loop}\n${tail}\n}`;
  }

  private loopContext(len: number | null): LoopContext {
    // A constant folded now is the value the code it replaces would compute: in straight-line code, with Math's calls.
    const evaluate = (code: string): number => {
      const names = [...this.closure.keys()].filter((n) => n !== "F");
      const folded = len === null ? callsOnce(code) : code;
      const f = new Function(...names, "F", `"use strict";\nreturn (${folded});`) as (...a: unknown[]) => number;
      return f(...names.map((n) => this.closure.get(n)), SPECIAL);
    };
    return {
      loopVar: len === null ? null : "i",
      staticArrays: this.staticArrays,
      evaluate,
      precompute: (code: string): string => {
        const name = `D${this.counter++}`;
        const values = this.shared ? new Float64Array(new SharedArrayBuffer(8 * (len ?? 0))) : new Float64Array(len ?? 0);
        const names = [...this.closure.keys()].filter((n) => n !== "F");
        const fill = new Function(...names, "F", `"use strict";\nreturn function (D, n) { for (let i = 0; i < n; i++) D[i] = ${code}; };`);
        (fill(...names.map((n) => this.closure.get(n)), SPECIAL) as (d: Float64Array, n: number) => void)(values, values.length);
        this.closure.set(name, values);
        this.staticArrays.add(name);
        return name;
      },
      fresh: (prefix: string) => `${prefix}${this.counter++}`,
    };
  }

  /**
   * A loop over the elements of `root`: with `isTerm`, adds each element to lp and back-propagates seed. A `perRow`
   * loop's bounds and row count are markers (MARKER) for the sharded form.
   */
  private emitLoop(root: number, seed: string, isTerm: boolean, perRow = false): string {
    const scalar = this.shapes[root].length === 0;
    const ix = scalar ? "0" : "i";
    const len = this.len(root);
    const count = perRow ? countMark(len) : String(len);
    const loop: LoopInProgress = {
      splitConst: isTerm ? new Set([root]) : new Set(),
      constants: [],
      epilogue: [],
      laneScatter: isTerm && !scalar,
      summedByRowSum: false,
      rowCount: isTerm && !scalar ? count : null,
      blockStart: [],
      blockEnd: [],
    };
    this.loop = loop;
    const e = this.emitElement(root, ix, seed, isTerm);
    this.loop = null;
    const after = [...loop.constants.map((c) => `lp += ${count} * (${c});`), ...loop.epilogue].join("\n");
    const perRowLp = isTerm && !loop.summedByRowSum;
    const body = [...e.fwd, perRowLp ? `lp += ${e.value};` : "", ...e.bwd].filter(Boolean);
    const blocks = loop.blockStart.length > 0 ? { start: loop.blockStart, end: loop.blockEnd } : null;
    return this.loopCode(e.pre, body, scalar ? null : len, [after], perRow && !scalar, blocks);
  }

  private emitMaterialisedForward(id: number): string {
    const n = this.nodes[id];
    if (n.op === "sum") {
      const src = n.a;
      const inner = this.kinds[src] === "inline" ? this.emitElement(src, "i", "0") : null;
      const value = inner ? inner.value : this.val(src, "i");
      const L = this.len(src);
      if (this.shapes[src].length === 0) return `s${id} = ${this.val(src, "0")};`;
      return this.loopCode([...(inner ? inner.pre : []), "let t = 0;"], [...(inner ? inner.fwd : []), `t += ${value};`], L, [`s${id} = t;`]);
    }
    if (n.op === "covExpQuad") {
      const k = this.shapes[id][0];
      const alpha = this.val(n.alpha, "0");
      const rho = this.val(n.rho, "0");
      const d2 = this.squaredDistances(n.x, k);
      // Symmetric: (xᵢ − xⱼ)² = (xⱼ − xᵢ)² exactly, so each off-diagonal exponential serves both halves. The points are
      // finite (squaredDistances), so every diagonal entry is α²·exp(c·0), computed once: NaN, as the entries beside it,
      // when c is not finite (ρ² underflowed), so that the factorisation refuses K.
      return `{\nconst a2 = ${alpha} * ${alpha}, c = -0.5 / (${rho} * ${rho}), kii = a2 * F.exp(c * 0);\nfor (let i = 0; i < ${k}; i++) { for (let j = 0; j < i; j++) { const kij = a2 * F.exp(c * ${d2}[i * ${k} + j]); M${id}[i * ${k} + j] = kij; M${id}[j * ${k} + i] = kij; } M${id}[i * ${k + 1}] = kii; }\n}`;
    }
    if (n.op === "addDiag") {
      const k = this.shapes[id][0];
      return `{\nfor (let q = 0; q < ${k * k}; q++) M${id}[q] = ${this.val(n.m, "q")};\nfor (let i = 0; i < ${k}; i++) M${id}[i * ${k + 1}] += ${this.val(n.d, "i")};\n}`;
    }
    const scalar = this.shapes[id].length === 0;
    const e = this.emitElement(id, scalar ? "0" : "i", "0");
    if (scalar) return this.loopCode(e.pre, [...e.fwd, `s${id} = v${id};`], null);
    return this.loopCode(e.pre, [...e.fwd, `M${id}[i] = v${id};`], this.len(id));
  }

  private emitMaterialisedBackward(id: number): string {
    const n = this.nodes[id];
    const scalar = this.shapes[id].length === 0;
    if (n.op === "sum") {
      const src = n.a;
      if (this.shapes[src].length === 0) return this.acc(src, "0", `as${id}`);
      if (this.kinds[src] !== "inline") return `for (let i = 0; i < ${this.len(src)}; i++) { ${this.acc(src, "i", `as${id}`)} }`;
      const e = this.emitElement(src, "i", `as${id}`);
      return this.loopCode(e.pre, [...e.fwd, ...e.bwd], this.len(src));
    }
    if (n.op === "covExpQuad") {
      const k = this.shapes[id][0];
      const alpha = this.val(n.alpha, "0");
      const rho = this.val(n.rho, "0");
      const d2 = this.squaredDistances(n.x, k);
      // ∂K/∂α = 2K/α; ∂K/∂ρ = K·d²/ρ³.
      return `{\nlet ga = 0, gr = 0;\nfor (let i = 0; i < ${k}; i++) for (let j = 0; j < ${k}; j++) { const w = A${id}[i * ${k} + j] * M${id}[i * ${k} + j]; ga += w; gr += w * ${d2}[i * ${k} + j]; }\n${this.acc(n.alpha, "0", `2 * ga / ${alpha}`)}\n${this.acc(n.rho, "0", `gr / (${rho} * ${rho} * ${rho})`)}\n}`;
    }
    if (n.op === "addDiag") {
      const k = this.shapes[id][0];
      const toM = this.acc(n.m, "q", `A${id}[q]`);
      return `{\n${toM ? `for (let q = 0; q < ${k * k}; q++) { ${toM} }` : ""}\nfor (let i = 0; i < ${k}; i++) { ${this.acc(n.d, "i", `A${id}[i * ${k + 1}]`)} }\n}`;
    }
    const e = this.emitElement(id, scalar ? "0" : "i", scalar ? `as${id}` : `A${id}[i]`);
    if (scalar) return this.loopCode(e.pre, [...e.fwd, ...e.bwd], null);
    return this.loopCode(e.pre, [...e.fwd, ...e.bwd], this.len(id));
  }

  /**
   * The name of a k × k table of (xᵢ − xⱼ)² over a covariance's points x (data: the constructor refuses anything else),
   * made once when the model is compiled and shared by the forward and backward passes. Points computed from data
   * (log x, say) must come out finite: a covariance over an infinite point is no covariance.
   */
  private squaredDistances(x: number, k: number): string {
    const name = `DD${x}`;
    if (this.closure.has(name)) return name;
    if (this.kinds[x] !== "static") throw new Error(`internal error: covariance points (node ${x}) are not data`);
    const xs = this.staticValues[x];
    const bad = xs.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0)
      throw new BayesServeError("DATA_VALUE", `${describeNode(this.bound.json, x)}[${bad}] is ${xs[bad]}: the points of a covariance must be finite`);
    const table = this.shared ? new Float64Array(new SharedArrayBuffer(8 * k * k)) : new Float64Array(k * k);
    for (let i = 0; i < k; i++)
      for (let j = 0; j < k; j++) {
        const d = xs[i] - xs[j];
        table[i * k + j] = d * d;
      }
    this.closure.set(name, table);
    this.staticArrays.add(name);
    return name;
  }

  private emitMvNormal(t: { value: number; mean: number; cov: number }): string {
    const k = this.shapes[t.value][0];
    // Its workspace is named L…mv<n>, apart from every name built from a node id (the scatter lanes are L<id>).
    const tag = `mv${this.counter++}`;
    const withInverse = this.dep[t.cov];
    for (const name of ["L", "R", "Z", "AL", ...(withInverse ? ["KI"] : [])])
      this.closure.set(`${name}${tag}`, new Float64Array(name === "L" || name === "KI" ? k * k : k));
    const K = this.kinds[t.cov] === "mat" ? `M${t.cov}` : `S${t.cov}`;
    const lines = [
      `for (let i = 0; i < ${k}; i++) R${tag}[i] = ${this.val(t.value, "i")} - ${this.val(t.mean, "i")};`,
      // L (K = L Lᵀ), Z = L⁻¹ R, AL = α = K⁻¹ R and, for the gradient in K, KI = K⁻¹.
      `if (!LA.gaussianFactors(${K}, R${tag}, ${k}, L${tag}, Z${tag}, AL${tag}, ${withInverse ? `KI${tag}` : "null"})) return -Infinity;`,
      `{ let q = 0, ld = 0; for (let i = 0; i < ${k}; i++) { q += Z${tag}[i] * Z${tag}[i]; ld += F.log(L${tag}[i * ${k + 1}]); } lp += -0.5 * q - ld - ${k * 0.9189385332046727}; }`,
    ];
    // ∂/∂K = ½(ααᵀ − K⁻¹); ∂/∂μ = α, where α = K⁻¹(y − μ).
    if (withInverse)
      lines.push(
        `for (let i = 0; i < ${k}; i++) for (let j = 0; j < ${k}; j++) A${t.cov}[i * ${k} + j] += 0.5 * (AL${tag}[i] * AL${tag}[j] - KI${tag}[i * ${k} + j]);`,
      );
    if (this.dep[t.mean]) lines.push(`for (let i = 0; i < ${k}; i++) { ${this.acc(t.mean, "i", `AL${tag}[i]`)} }`);
    return `{\n${lines.join("\n")}\n}`;
  }
}

function lit(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  return v < 0 || Object.is(v, -0) ? `(${v})` : String(v);
}
