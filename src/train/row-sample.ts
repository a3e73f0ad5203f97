// A seeded simple random sample of a table's rows, for the steps whose cost is per row × posterior draw (the report's
// figures, the held-out metrics made from predictive samples, PSIS-LOO): above the cap they run on the sample, and
// what they say is labelled with it. At or below the cap the table itself is used, so small data give the numbers
// they gave before sampling existed.
import { BayesServeError } from "../errors.js";
import { Rng } from "../random/rng.js";
import { selectRows, type Table } from "./table.js";

/** How a step's rows were chosen: all of them, or `rows` of `of` drawn with this seed and stream. */
export interface RowSampleRecord {
  rows: number;
  of: number;
  sampled: boolean;
  seed: number;
  stream: number;
}

export interface SampledTable {
  table: Table;
  record: RowSampleRecord;
  /** The rows taken, in increasing order (null when every row was). */
  indices: Int32Array | null;
}

/** Random streams of the two samples (the seed is train's): training rows (report, LOO) and held-out rows (metrics). */
export const TRAIN_SAMPLE_STREAM = 0x5a01;
export const TEST_SAMPLE_STREAM = 0x5a02;

/**
 * `size` of the `total` row indices 0..total-1, without replacement, in increasing order: Knuth's selection sampling
 * (TAOCP vol. 2, 3.4.2, Algorithm S): each index is taken with probability (still needed) / (still left), which
 * gives every subset of `size` rows the same chance, in one pass and memory for the sample only.
 */
export function sampleRowIndices(total: number, size: number, rng: Rng): Int32Array {
  if (!(Number.isSafeInteger(size) && size >= 0 && size <= total)) throw new RangeError(`sampleRowIndices: cannot take ${size} of ${total} rows`);
  const out = new Int32Array(size);
  let taken = 0;
  for (let i = 0; i < total && taken < size; i++) if ((total - i) * rng.uniform() < size - taken) out[taken++] = i;
  return out;
}

/** The table, or a seeded random sample of `cap` of its rows when it holds more. */
export function sampleTable(table: Table, cap: number, seed: number, stream: number): SampledTable {
  if (!(Number.isSafeInteger(cap) && cap >= 1)) throw new BayesServeError("USAGE", `--sample-rows must be a positive integer (got ${cap})`);
  if (table.rows <= cap) return { table, record: { rows: table.rows, of: table.rows, sampled: false, seed, stream }, indices: null };
  const rows = sampleRowIndices(table.rows, cap, new Rng(seed, stream));
  return { table: selectRows(table, rows), record: { rows: cap, of: table.rows, sampled: true, seed, stream }, indices: rows };
}

/** "a random sample of 10000 of 8000000 training rows" or "all 1600 training rows", for logs, captions and the report. */
export function describeSample(r: RowSampleRecord, what: string): string {
  return r.sampled ? `a random sample of ${r.rows} of ${r.of} ${what} (seed ${r.seed})` : `all ${r.of} ${what}`;
}
