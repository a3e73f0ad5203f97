// Reading training data from Parquet: decoded on a worker thread of its own (parquet-worker.ts, parquet-decode.ts),
// stopped past a deadline. hyparquet decodes synchronously, and a damaged page header can send its page loop round
// forever: on this thread nothing could end it, so the file is refused as damaged once its decoding has taken far
// longer than a sound file of its size would. Errors name the file, the row and the column.
import type { Worker } from "node:worker_threads";
import { BayesServeError } from "../errors.js";
import { startWorker } from "../inference/worker-start.js";
import type { ColumnSpec, CsvTable } from "./csv.js";
import type { ParquetJob, ParquetMessage } from "./parquet-worker.js";

/** Decoding time any file is allowed: starting the thread and loading the reader on a busy machine, with room to spare. */
export const PARQUET_DEADLINE_FLOOR_MS = 30_000;
/** Added per byte of the file: a rate far below the reader's own for reading and decompressing pages. */
export const PARQUET_MIN_BYTES_PER_S = 1024 * 1024;
/**
 * Added per value of the model's columns (the footer's rows times the columns read): an order of magnitude below the
 * reader's slowest type, 64-bit integers made BigInts. A small file may hold many rows (a constant column is a few
 * bytes a page), so its size alone would not do.
 */
export const PARQUET_MIN_VALUES_PER_S = 100_000;

/** The decoding deadline for a file of `bytes` bytes of which `values` values are read (0 before the footer is read). */
export function parquetDeadlineMs(bytes: number, values: number): number {
  return PARQUET_DEADLINE_FLOOR_MS + Math.ceil((bytes / PARQUET_MIN_BYTES_PER_S) * 1000 + (values / PARQUET_MIN_VALUES_PER_S) * 1000);
}

export interface ParquetOptions {
  /** The decoding deadline, in place of parquetDeadlineMs's (tests). */
  deadlineMs?: number;
}

/**
 * A table read from Parquet; `lines` holds the 1-based row of each row (Parquet has no lines). `bytes` moves to the
 * decoding thread: the caller's ArrayBuffer is detached.
 */
export function parseParquet(bytes: ArrayBuffer, file: string, spec: ColumnSpec[], options: ParquetOptions = {}): Promise<CsvTable> {
  const size = bytes.byteLength;
  const job: ParquetJob = { bytes, file, spec };
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = startWorker(import.meta.url, "parquet-worker", { workerData: job, transferList: [bytes] });
    } catch (err) {
      reject(err as Error);
      return;
    }
    let allowed = options.deadlineMs ?? parquetDeadlineMs(size, 0);
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      finish();
    };
    const expire = (): void =>
      settle(() => {
        void worker.terminate();
        const seconds = Number((allowed / 1000).toFixed(1));
        reject(new BayesServeError("PARQUET_FORMAT", `${file}: did not finish decoding in ${seconds} s: the file is damaged or not Parquet`));
      });
    let timer = setTimeout(expire, allowed);
    worker.on("message", (msg: ParquetMessage) => {
      if (msg.type === "rows") {
        // The footer read and its row count checked: the deadline now counts the values to decode too.
        if (options.deadlineMs !== undefined) return;
        clearTimeout(timer);
        allowed = parquetDeadlineMs(size, msg.rows * spec.length);
        timer = setTimeout(expire, Math.max(0, started + allowed - Date.now()));
      } else if (msg.type === "done") {
        const { columns, rows, ignored } = msg.table;
        const lines = new Int32Array(rows);
        for (let r = 0; r < rows; r++) lines[r] = r + 1;
        settle(() => resolve({ columns, rows, source: file, lines, ignored }));
      } else
        settle(() => {
          if (msg.code !== null) return reject(new BayesServeError(msg.code, msg.message));
          const err = new Error(msg.message);
          if (msg.stack !== undefined) err.stack = msg.stack;
          reject(err);
        });
    });
    worker.on("error", (err: NodeJS.ErrnoException) =>
      settle(() => {
        // Its heap full (columns of strings, say): the file's contents, not a fault of ours.
        if (err.code === "ERR_WORKER_OUT_OF_MEMORY") reject(new BayesServeError("PARQUET_FORMAT", `${file}: decoding ran out of memory (${err.message})`));
        else reject(err);
      }),
    );
    worker.on("exit", (code) => settle(() => reject(new Error(`${file}: the Parquet decoding thread exited with code ${code} before it answered`))));
  });
}
