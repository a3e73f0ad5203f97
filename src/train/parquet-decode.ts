// Decoding training data from Parquet (hyparquet, pure JS), on the Parquet worker thread (parquet-worker.ts; parquet.ts
// starts it and bounds its time): the file's schema must hold every one of the model's inputs (other columns are
// ignored, and listed); each is read by itself, and every value must be a number — not null, finite, of the declared
// type, inside the column's bounds. The footer's row count is checked before any column is made that size. Errors name
// the file, the row and the column.
import { totalmem } from "node:os";
import { type FileMetaData, parquetMetadata, parquetRead, parquetSchema, type SchemaElement } from "hyparquet";
import { BayesServeError } from "../errors.js";
import type { ColumnSpec } from "./csv.js";
import { valueProblem } from "./value-check.js";

/**
 * The most rows a Parquet file may hold: a table numbers its rows in an Int32Array (CsvTable.lines, as a CSV file's
 * lines are), and each of its columns is a Float64Array of that length — far below the longest one V8 allows.
 */
export const MAX_PARQUET_ROWS = 2 ** 31 - 1;

/** The model's columns as read from a Parquet file (the table less its row numbers, which are 1..rows). */
export interface DecodedParquet {
  columns: Record<string, Float64Array>;
  rows: number;
  /** The file's other columns, in schema order. */
  ignored: string[];
}

export interface DecodeOptions {
  /** Bytes of memory the process may use: the footer's row count must leave the model's columns room in it. */
  memory?: number;
  /** Told the row count once the footer is checked, before the columns are read. */
  onRows?: (rows: number) => void;
}

function fail(file: string, row: number | null, column: string | null, msg: string): never {
  const where = [file, row !== null ? `row ${row}` : null, column !== null ? `column "${column}"` : null].filter(Boolean).join(", ");
  throw new BayesServeError("PARQUET_FORMAT", `${where}: ${msg}`);
}

/** The memory this process may have: a container's limit where one is set, else the machine's. */
export function availableMemory(): number {
  const limit = process.constrainedMemory?.() ?? 0;
  return limit > 0 ? Math.min(limit, totalmem()) : totalmem();
}

/** Decodes the model's columns of a Parquet file held in `bytes`; synchronous work inside, so bound it from outside. */
export async function decodeParquet(bytes: ArrayBuffer, file: string, spec: ColumnSpec[], options: DecodeOptions = {}): Promise<DecodedParquet> {
  let metadata: FileMetaData;
  let names: string[];
  let elements: SchemaElement[];
  try {
    metadata = parquetMetadata(bytes);
    elements = parquetSchema(metadata).children.map((c) => c.element);
    names = elements.map((e) => e.name);
  } catch (err) {
    return fail(file, null, null, `not a readable Parquet file (${(err as Error).message})`);
  }
  const rows = rowCount(metadata, file, spec.length, options.memory ?? availableMemory());
  const wanted = spec.map((s) => s.name);
  const missing = wanted.filter((w) => !names.includes(w));
  if (missing.length > 0) fail(file, null, null, `missing column(s) ${missing.map((m) => `"${m}"`).join(", ")}; the model reads ${wanted.join(",")}`);
  // Two columns of one name (pyarrow writes them): the reader would take one of them unsaid, as a CSV header's twice
  // named column is refused.
  for (const w of wanted) if (names.indexOf(w) !== names.lastIndexOf(w)) fail(file, null, w, "appears twice in the schema");
  // A time of day comes as its count of milliseconds, microseconds or nanoseconds since midnight, not as the time a
  // person reads in it (dates and timestamps come as dates, and are refused below as not numbers).
  for (const e of elements) {
    const time = e.converted_type === "TIME_MILLIS" || e.converted_type === "TIME_MICROS" || e.logical_type?.type === "TIME";
    if (time && wanted.includes(e.name)) fail(file, null, e.name, "is a time of day (Parquet TIME), not a number");
  }
  if (rows === 0) fail(file, null, null, "no rows");
  options.onRows?.(rows);
  const columns: Record<string, Float64Array> = {};
  for (const s of spec) {
    // Not filled beforehand: a row no chunk reaches is refused below, so memory is written only as rows are read.
    const out = new Float64Array(rows);
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
            // An INT64 column's values (pandas' default integers) come as BigInts: those a double holds exactly are
            // plain numbers, so that `odd` keeps only what must be refused (a Map holds at most 2^24 entries).
            else if (typeof value === "bigint" && value >= -MAX_SAFE && value <= MAX_SAFE) out[r] = Number(value);
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

/**
 * The footer's row count, once it is a count the file can hold: a whole number, not negative, the sum of its row
 * groups' counts, at most MAX_PARQUET_ROWS, and small enough that the model's columns fit in `memory` — each column is
 * a Float64Array of that length, made before a page is read (a damaged count would otherwise throw from the typed
 * array, or take gigabytes for rows the file does not have).
 */
function rowCount(metadata: FileMetaData, file: string, columns: number, memory: number): number {
  const claimed = integer(metadata.num_rows);
  if (claimed === null) fail(file, null, null, `the footer's row count (${String(metadata.num_rows)}) is not a whole number`);
  if (claimed < 0n) fail(file, null, null, `the footer's row count ${claimed} is negative`);
  let inGroups = 0n;
  for (const [k, group] of metadata.row_groups.entries()) {
    const n = integer(group.num_rows);
    if (n === null || n < 0n) fail(file, null, null, `row group ${k + 1}'s row count (${String(group.num_rows)}) is not a count`);
    inGroups += n;
  }
  if (claimed !== inGroups) fail(file, null, null, `the footer's row count ${claimed} does not match its row groups' ${inGroups} (the footer is damaged)`);
  if (claimed > BigInt(MAX_PARQUET_ROWS))
    fail(file, null, null, `the footer's row count ${claimed} is more than the ${MAX_PARQUET_ROWS} rows a table can hold`);
  const rows = Number(claimed);
  const needed = rows * Float64Array.BYTES_PER_ELEMENT * columns;
  if (needed > memory)
    fail(file, null, null, `its ${rows} rows need ${gib(needed)} GiB for the model's ${columns} column(s), more than the ${gib(memory)} GiB of memory here`);
  return rows;
}

function integer(v: unknown): bigint | null {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  return null;
}

const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(1);

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

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
