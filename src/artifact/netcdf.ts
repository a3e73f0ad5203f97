// The posterior as a netCDF classic file (CDF-1, or CDF-2 when offsets need 64 bits), written by hand, laid out as
// ArviZ lays out a posterior group: dimensions chain, draw and <param>_dim_<axis>; one variable per model parameter
// over (chain, draw, <param>_dim_0, …); integer coordinate variables for every dimension. xarray opens it directly
// (`xr.open_dataset`), and ArviZ takes it as a posterior (`az.convert_to_inference_data(ds)`).
//
// Format reference: "NetCDF Classic and 64-bit Offset Format" (NetCDF User's Guide, file format specification).
// Header: magic, numrecs, dim_list, gatt_list, var_list; then each variable's data, big-endian, padded to 4 bytes.
import { BayesServeError } from "../errors.js";
import type { Bundle } from "./bundle.js";
import { parameterGroups } from "./parameter-layout.js";

export type NcAttributeValue = string | number | { type: "int" | "double"; values: number[] };

export interface NcDimension {
  name: string;
  /** Fixed length ≥ 1 (classic files use 0 for the unlimited dimension, which this writer does not produce). */
  size: number;
}

export interface NcVariable {
  name: string;
  dims: string[];
  type: "int" | "double";
  attributes?: Record<string, NcAttributeValue>;
  /** Row-major over `dims`; length must equal the product of their sizes. */
  data: ArrayLike<number>;
}

export interface NcFile {
  dimensions: NcDimension[];
  attributes: Record<string, NcAttributeValue>;
  variables: NcVariable[];
}

const NC_CHAR = 2;
const NC_INT = 4;
const NC_DOUBLE = 6;
const NC_DIMENSION = 0x0a;
const NC_VARIABLE = 0x0b;
const NC_ATTRIBUTE = 0x0c;
const TYPE_CODE = { int: NC_INT, double: NC_DOUBLE } as const;
const TYPE_SIZE = { int: 4, double: 8 } as const;

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.@+-]*$/;
const pad4 = (n: number): number => (n + 3) & ~3;

function netcdfError(message: string): BayesServeError {
  return new BayesServeError("ARTIFACT", `netCDF export: ${message}`);
}

/** Grows as bytes are appended; big-endian throughout, as the format requires. */
class Writer {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  int32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.length, v, false);
    this.length += 4;
  }
  uint32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, v, false);
    this.length += 4;
  }
  offset(v: number, wide: boolean): void {
    if (wide) {
      this.ensure(8);
      this.view.setBigUint64(this.length, BigInt(v), false);
      this.length += 8;
    } else this.uint32(v);
  }
  bytes(b: Uint8Array): void {
    this.ensure(pad4(b.length));
    this.buf.set(b, this.length);
    this.buf.fill(0, this.length + b.length, this.length + pad4(b.length));
    this.length += pad4(b.length);
  }
  name(s: string): void {
    const b = new TextEncoder().encode(s);
    this.int32(b.length);
    this.bytes(b);
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

function writeAttributes(w: Writer, attributes: Record<string, NcAttributeValue>): void {
  const entries = Object.entries(attributes);
  if (entries.length === 0) {
    w.int32(0); // ABSENT
    w.int32(0);
    return;
  }
  w.int32(NC_ATTRIBUTE);
  w.int32(entries.length);
  for (const [name, value] of entries) {
    w.name(name);
    if (typeof value === "string") {
      const b = new TextEncoder().encode(value);
      w.int32(NC_CHAR);
      w.int32(b.length);
      w.bytes(b);
      continue;
    }
    const { type, values } = typeof value === "number" ? { type: "double" as const, values: [value] } : value;
    w.int32(TYPE_CODE[type]);
    w.int32(values.length);
    const b = new Uint8Array(pad4(values.length * TYPE_SIZE[type]));
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => (type === "int" ? dv.setInt32(i * 4, v, false) : dv.setFloat64(i * 8, v, false)));
    w.bytes(b);
  }
}

function checkName(kind: string, name: string): void {
  if (!NAME_RE.test(name)) throw netcdfError(`${kind} name "${name}" is not a valid netCDF name`);
}

/** Encodes a netCDF classic file. Picks CDF-1, or CDF-2 (64-bit offsets) when the data passes 2 GiB. */
export function encodeNetcdfClassic(file: NcFile): Uint8Array {
  const dimIndex = new Map<string, number>();
  file.dimensions.forEach((d, i) => {
    checkName("dimension", d.name);
    if (dimIndex.has(d.name)) throw netcdfError(`dimension "${d.name}" is defined twice`);
    if (!Number.isSafeInteger(d.size) || d.size < 1 || d.size > 0x7fffffff) {
      throw netcdfError(`dimension "${d.name}" has size ${d.size}; sizes must be 1 … 2^31-1`);
    }
    dimIndex.set(d.name, i);
  });
  for (const name of Object.keys(file.attributes)) checkName("attribute", name);
  const varNames = new Set<string>();
  const sizes = file.variables.map((v) => {
    checkName("variable", v.name);
    if (varNames.has(v.name)) throw netcdfError(`variable "${v.name}" is defined twice`);
    varNames.add(v.name);
    let n = 1;
    for (const d of v.dims) {
      const i = dimIndex.get(d);
      if (i === undefined) throw netcdfError(`variable "${v.name}" uses undefined dimension "${d}"`);
      n *= file.dimensions[i].size;
    }
    if (v.data.length !== n) throw netcdfError(`variable "${v.name}" has ${v.data.length} values, its dimensions need ${n}`);
    const bytes = n * TYPE_SIZE[v.type];
    if (bytes > 0xfffffffc) throw netcdfError(`variable "${v.name}" is ${bytes} bytes; netCDF classic allows under 4 GiB per variable`);
    return { count: n, vsize: pad4(bytes) };
  });

  const header = (wide: boolean, begins: number[]): Writer => {
    const w = new Writer();
    w.bytes(new Uint8Array([0x43, 0x44, 0x46, wide ? 2 : 1]));
    w.int32(0); // numrecs: no record dimension
    if (file.dimensions.length === 0) {
      w.int32(0);
      w.int32(0);
    } else {
      w.int32(NC_DIMENSION);
      w.int32(file.dimensions.length);
      for (const d of file.dimensions) {
        w.name(d.name);
        w.int32(d.size);
      }
    }
    writeAttributes(w, file.attributes);
    if (file.variables.length === 0) {
      w.int32(0);
      w.int32(0);
    } else {
      w.int32(NC_VARIABLE);
      w.int32(file.variables.length);
      file.variables.forEach((v, k) => {
        w.name(v.name);
        w.int32(v.dims.length);
        for (const d of v.dims) w.int32(dimIndex.get(d) as number);
        writeAttributes(w, v.attributes ?? {});
        w.int32(TYPE_CODE[v.type]);
        w.uint32(sizes[k].vsize);
        w.offset(begins[k], wide);
      });
    }
    return w;
  };

  const layout = (wide: boolean): { headerSize: number; begins: number[]; total: number } => {
    const headerSize = header(
      wide,
      file.variables.map(() => 0),
    ).length;
    const begins: number[] = [];
    let at = headerSize;
    for (const s of sizes) {
      begins.push(at);
      at += s.vsize;
    }
    return { headerSize, begins, total: at };
  };
  let wide = false;
  let plan = layout(false);
  if (plan.begins.some((b) => b > 0x7fffffff)) {
    wide = true;
    plan = layout(true);
  }
  if (!Number.isSafeInteger(plan.total)) throw netcdfError(`the file would be ${plan.total} bytes; too large`);

  const out = new Uint8Array(plan.total);
  out.set(header(wide, plan.begins).result(), 0);
  const view = new DataView(out.buffer);
  file.variables.forEach((v, k) => {
    let at = plan.begins[k];
    const n = sizes[k].count;
    if (v.type === "double") {
      for (let i = 0; i < n; i++, at += 8) view.setFloat64(at, v.data[i], false);
    } else {
      for (let i = 0; i < n; i++, at += 4) view.setInt32(at, v.data[i], false);
    }
  });
  return out;
}

const range = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/** The posterior group of the bundle as netCDF classic bytes (see the file comment for the layout). */
export function posteriorToNetcdf(bundle: Pick<Bundle, "manifest" | "draws">): Uint8Array {
  const { manifest, draws } = bundle;
  const chains = manifest.draws.chains;
  const perChain = manifest.draws.drawsPerChain;
  const nParams = manifest.parameters.names.length;
  const dimensions: NcDimension[] = [
    { name: "chain", size: chains },
    { name: "draw", size: perChain },
  ];
  const variables: NcVariable[] = [
    { name: "chain", dims: ["chain"], type: "int", data: range(chains) },
    { name: "draw", dims: ["draw"], type: "int", data: range(perChain) },
  ];
  const taken = new Set(["chain", "draw"]);
  const groups = parameterGroups(manifest.parameters);
  for (const g of groups) {
    if (taken.has(g.name)) throw netcdfError(`parameter "${g.name}" clashes with a dimension or variable of that name`);
    taken.add(g.name);
  }
  const paramVariables: NcVariable[] = [];
  for (const g of groups) {
    const dims = g.shape.map((size, axis) => ({ name: `${g.name}_dim_${axis}`, size }));
    for (const d of dims) {
      if (taken.has(d.name)) throw netcdfError(`dimension "${d.name}" clashes with a parameter or dimension of that name`);
      taken.add(d.name);
      dimensions.push(d);
      variables.push({ name: d.name, dims: [d.name], type: "int", data: range(d.size) });
    }
    const width = g.columns.length;
    const data = new Float64Array(chains * perChain * width);
    for (let row = 0; row < chains * perChain; row++) {
      const src = row * nParams;
      const dst = row * width;
      for (let k = 0; k < width; k++) data[dst + k] = draws[src + g.columns[k]];
    }
    paramVariables.push({ name: g.name, dims: ["chain", "draw", ...dims.map((d) => d.name)], type: "double", data });
  }
  return encodeNetcdfClassic({
    dimensions,
    attributes: {
      created_at: manifest.createdAt,
      inference_library: "bayes-serve",
      bayes_serve_artifact_version: manifest.version,
    },
    variables: [...variables, ...paramVariables],
  });
}
