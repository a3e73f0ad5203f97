// X·v for a dense matrix of a given width, emitted as WebAssembly bytes with v held in SIMD registers: the general
// loop in dense-kernel.wat loads v again for every pair of rows (18 loads a row at 24 columns), which bounds it by
// loads; with v in registers a row is its 12 loads of X. Emitted per width because WebAssembly has no indexable
// registers: each of v's pairs of doubles is its own local, and the column loop is written out.
//
// The binary encoding is that of the WebAssembly core specification 2.0 (§5, with the fixed-width SIMD opcodes of
// §5.4.8); the module imports the kernel's memory as "env" "memory" and exports `product(x, v, out, rows, stride)`
// with dense-kernel.wat's signature and byte-offset arguments.

/**
 * The widest row (in doubles, a multiple of 4) whose vector is kept in registers: 12 f64x2 locals. V8 on x64 allocates
 * 15 XMM registers to WebAssembly (xmm15 is its scratch); the row's sum and the load being multiplied take two more,
 * and wider rows spill v back to the stack, which is what the general loop already does.
 */
export const REGISTER_PRODUCT_MAX_STRIDE = 24;

// Opcodes (core specification 2.0, §5.4).
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  localGet: 0x20,
  localSet: 0x21,
  f64Store: 0x39,
  i32Const: 0x41,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32And: 0x71,
  i32Shl: 0x74,
  f64Add: 0xa0,
  simd: 0xfd,
  emptyBlockType: 0x40,
} as const;
// Sub-opcodes after OP.simd, as unsigned LEB128.
const SIMD = { v128Load: 0, f64x2ExtractLane: 33, f64x2Add: 240, f64x2Mul: 242 } as const;
const TYPE = { i32: 0x7f, v128: 0x7b, func: 0x60 } as const;
const SECTION = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;
const EXTERNAL = { func: 0x00, memory: 0x02 } as const;
/** log2 of the natural alignment, as memarg's first field: 16 bytes for v128, 8 for f64. */
const ALIGN = { v128: 4, f64: 3 } as const;

function unsignedLeb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function signedLeb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function section(id: number, content: number[]): number[] {
  return [id, ...unsignedLeb(content.length), ...content];
}

/** A vector (specification §5.1.3): its length, then its items. */
function vector(items: number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

// The function's parameters and locals, by index.
const X = 0;
const V = 1;
const OUT = 2;
const ROWS = 3;
// Parameter 4, the stride, is fixed at emission; it stays in the signature so that both kernels are called alike.
const P = 5;
const O = 6;
const PAIRS_END = 7;
const SUM = 8;
const FIRST_V = 9;

/** Instructions of the function body, written in stack order. */
class Body {
  readonly code: number[] = [];
  get(local: number): this {
    this.code.push(OP.localGet, ...unsignedLeb(local));
    return this;
  }
  set(local: number): this {
    this.code.push(OP.localSet, ...unsignedLeb(local));
    return this;
  }
  i32(value: number): this {
    this.code.push(OP.i32Const, ...signedLeb(value));
    return this;
  }
  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  simd(sub: number, ...rest: number[]): this {
    this.code.push(OP.simd, ...unsignedLeb(sub), ...rest);
    return this;
  }
  loadV128(offset: number): this {
    return this.simd(SIMD.v128Load, ALIGN.v128, ...unsignedLeb(offset));
  }
}

/**
 * One row's Σⱼ X[row, j]·v[j] stored at `out + storeOffset`, the row at `p + rowOffset`: one chain of f64x2 adds
 * (rows overlap in the out-of-order core, so the chain's latency is hidden) and the two lanes added at the end.
 */
function emitRow(body: Body, pairs: number, rowOffset: number, storeOffset: number): void {
  for (let k = 0; k < pairs; k++) {
    if (k > 0) body.get(SUM);
    body
      .get(P)
      .loadV128(rowOffset + 16 * k)
      .get(FIRST_V + k)
      .simd(SIMD.f64x2Mul);
    if (k > 0) body.simd(SIMD.f64x2Add);
    body.set(SUM);
  }
  body.get(O);
  body.get(SUM).simd(SIMD.f64x2ExtractLane, 0).get(SUM).simd(SIMD.f64x2ExtractLane, 1).op(OP.f64Add);
  body.op(OP.f64Store, ALIGN.f64, ...unsignedLeb(storeOffset));
}

/** The module's bytes for rows of `stride` doubles (a multiple of 4, at most REGISTER_PRODUCT_MAX_STRIDE). */
export function emitRegisterProduct(stride: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(stride) || stride < 4 || stride % 4 !== 0 || stride > REGISTER_PRODUCT_MAX_STRIDE) {
    throw new RangeError(`internal error: a register product needs a stride of 4..${REGISTER_PRODUCT_MAX_STRIDE} in steps of 4, not ${stride}`);
  }
  const pairs = stride / 2;
  const rowBytes = stride * 8;
  const b = new Body();
  for (let k = 0; k < pairs; k++)
    b.get(V)
      .loadV128(16 * k)
      .set(FIRST_V + k);
  b.get(X).set(P);
  b.get(OUT).set(O);
  // pairsEnd = out + (rows & ~1) · 8
  b.get(OUT).get(ROWS).i32(-2).op(OP.i32And).i32(3).op(OP.i32Shl).op(OP.i32Add).set(PAIRS_END);
  // Rows two a step, one after the other (their sums would not both fit beside v).
  b.op(OP.block, OP.emptyBlockType, OP.loop, OP.emptyBlockType);
  b.get(O).get(PAIRS_END).op(OP.i32GeU, OP.brIf, 1);
  emitRow(b, pairs, 0, 0);
  emitRow(b, pairs, rowBytes, 8);
  b.get(P)
    .i32(2 * rowBytes)
    .op(OP.i32Add)
    .set(P);
  b.get(O).i32(16).op(OP.i32Add).set(O);
  b.op(OP.br, 0, OP.end, OP.end);
  // An odd last row.
  b.get(ROWS).i32(1).op(OP.i32And, OP.if, OP.emptyBlockType);
  emitRow(b, pairs, 0, 0);
  b.op(OP.end, OP.end);

  const locals = vector([
    [...unsignedLeb(3), TYPE.i32],
    [...unsignedLeb(1 + pairs), TYPE.v128],
  ]);
  const functionBody = [...locals, ...b.code];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(SECTION.type, vector([[TYPE.func, ...vector([[TYPE.i32], [TYPE.i32], [TYPE.i32], [TYPE.i32], [TYPE.i32]]), ...vector([])]])),
    ...section(SECTION.import, vector([[...name("env"), ...name("memory"), EXTERNAL.memory, 0x00, ...unsignedLeb(1)]])),
    ...section(SECTION.function, vector([[0]])),
    ...section(SECTION.export, vector([[...name("product"), EXTERNAL.func, 0]])),
    ...section(SECTION.code, vector([[...unsignedLeb(functionBody.length), ...functionBody]])),
  ]);
}
