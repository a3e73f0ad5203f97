// Worker-thread entry: decodes one Parquet file (parquet-decode.ts) for parquet.ts, which ends this thread past its
// deadline — hyparquet decodes synchronously, and a damaged page header can keep it looping out of reach of any timer
// on its own thread. The file's bytes come transferred, the columns go back transferred: neither is copied.
import { parentPort, workerData } from "node:worker_threads";
import { BayesServeError, type ErrorCode } from "../errors.js";
import type { ColumnSpec } from "./csv.js";
import { type DecodedParquet, decodeParquet } from "./parquet-decode.js";

export interface ParquetJob {
  bytes: ArrayBuffer;
  file: string;
  spec: ColumnSpec[];
}

export type ParquetMessage =
  | { type: "rows"; rows: number }
  | { type: "done"; table: DecodedParquet }
  | { type: "error"; code: ErrorCode | null; message: string; stack: string | undefined };

const port = parentPort;
if (port) {
  const job = workerData as ParquetJob;
  try {
    const table = await decodeParquet(job.bytes, job.file, job.spec, {
      onRows: (rows) => port.postMessage({ type: "rows", rows } satisfies ParquetMessage),
    });
    port.postMessage(
      { type: "done", table } satisfies ParquetMessage,
      Object.values(table.columns).map((c) => c.buffer as ArrayBuffer),
    );
  } catch (err) {
    const e = err as Error;
    port.postMessage({ type: "error", code: err instanceof BayesServeError ? err.code : null, message: e.message, stack: e.stack } satisfies ParquetMessage);
  }
}
