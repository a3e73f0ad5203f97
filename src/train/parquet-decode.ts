// Decoding training data from Parquet (hyparquet, pure JS), on the Parquet worker thread (parquet-worker.ts; parquet.ts
// starts it and bounds its time): the file's schema must hold every one of the model's inputs (other columns are
// ignored, and listed); each is read by itself, and every value must be a number — not null, finite, of the declared
// type, inside the column's bounds. Errors name the file, the row and the column.
import { type FileMetaData, parquetMetadata, parquetRead, parquetSchema } from "hyparquet";
import { BayesServeError } from "../errors.js";
import type { ColumnSpec } from "./csv.js";
import { valueProblem } from "./value-check.js";

/** The model's columns as read from a Parquet file (the table less its row numbers, which are 1..rows). */
export interface DecodedParquet {
  columns: Record<string, Float64Array>;
  rows: number;
  /** The file's other columns, in schema order. */
  ignored: string[];
}

export interface DecodeOptions {
  /** Told the footer's row count, before the columns are read. */
  onRows?: (rows: number) => void;
}

function fail(file: string, row: number | null, column: string | null, msg: string): never {
  const where = [file, row !== null ? `row ${row}` : null, column !== null ? `column "${column}"` : null].filter(Boolean).join(", ");
  throw new BayesServeError("PARQUET_FORMAT", `${where}: ${msg}`);
}

/** Decodes the model's columns of a Parquet file held in `bytes`; synchronous work inside, so bound it from outside. */
export async function decodeParquet(bytes: ArrayBuffer, file: string, spec: ColumnSpec[], options: DecodeOptions = {}): Promise<DecodedParquet> {
  let metadata: FileMetaData;
  let names: string[];
  try {
    metadata = parquetMetadata(bytes);
    names = parquetSchema(metadata).children.map((c) => c.element.name);
  } catch (err) {
    return fail(file, null, null, `not a readable Parquet file (${(err as Error).message})`);
  }
  const rows = Number(metadata.num_rows);
  const wanted = spec.map((s) => s.name);
  const missing = wanted.filter((w) => !names.includes(w));
  if (missing.length > 0) fail(file, null, null, `missing column(s) ${missing.map((m) => `"${m}"`).join(", ")}; the model reads ${wanted.join(",")}`);
  if (rows === 0) fail(file, null, null, "no rows");
  options.onRows?.(rows);
  const columns: Record<string, Float64Array> = {};
  for (const s of spec) {
    const out = new Float64Array(rows).fill(Number.NaN);
    // Values that are not plain numbers, kept as read, checked in row order once the column is in (nothing may be
    // thrown from inside the reader's callback).
    const odd = new Map<number, unknown>();
    const filled = new Uint8Array(rows);
    try {
      await parquetRead({
        file: bytes,
        metadata,
        columns: [s.name],
        onChunk: (chunk) => {
          const data = chunk.columnData as ArrayLike<unknown>;
          for (let i = 0; i < data.length && chunk.rowStart + i < rows; i++) {
            const r = chunk.rowStart + i;
            const value = data[i];
            if (typeof value === "number") out[r] = value;
            else odd.set(r, value);
            filled[r] = 1;
          }
        },
      });
    } catch (err) {
      fail(file, null, s.name, `cannot be read (${(err as Error).message})`);
    }
    for (let r = 0; r < rows; r++) {
      if (filled[r] === 0) fail(file, r + 1, s.name, "has no value");
      out[r] = odd.has(r) ? numberOf(odd.get(r), file, r + 1, s) : out[r];
      checkValue(out[r], file, r + 1, s);
    }
    columns[s.name] = out;
  }
  return { columns, rows, ignored: names.filter((n) => !wanted.includes(n)) };
}

function numberOf(value: unknown, file: string, row: number, spec: ColumnSpec): number {
  if (typeof value === "bigint") {
    const v = Number(value);
    if (!Number.isSafeInteger(v)) fail(file, row, spec.name, `${value} is too large to be read exactly`);
    return v;
  }
  if (value === null || value === undefined) return fail(file, row, spec.name, "is null");
  return fail(file, row, spec.name, `${JSON.stringify(value)} is not a number (the column's type is not numeric)`);
}

function checkValue(v: number, file: string, row: number, spec: ColumnSpec): void {
  if (!Number.isFinite(v)) fail(file, row, spec.name, `${v} is not finite`);
  const problem = valueProblem(spec, v);
  if (problem !== null) fail(file, row, spec.name, `${v} ${problem}`);
}
