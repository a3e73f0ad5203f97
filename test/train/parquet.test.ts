// Parquet decoded on a worker thread with a deadline: a file whose page loop never ends (one byte of a page header
// changed) is refused once its deadline passes, the thread ended; a footer whose row count is negative, disagrees with
// its row groups, or is more than a table or the memory can hold is refused naming the file and the count, before any
// column is made that long; a sound file reads as before, its bytes moved to the thread, not copied.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parquetMetadata } from "hyparquet";
import { ByteWriter, parquetWriteBuffer } from "hyparquet-writer";
import { writeMetadata } from "hyparquet-writer/src/metadata.js";
import { describe, expect, it } from "vitest";
import { BayesServeError } from "../../src/errors.js";
import { readSourceTable } from "../../src/train/data-source.js";
import { parquetDeadlineMs, parseParquet, PARQUET_DEADLINE_FLOOR_MS } from "../../src/train/parquet.js";
import { decodeParquet, MAX_PARQUET_ROWS } from "../../src/train/parquet-decode.js";
import { simulateSeedData, SEED_SIMULATION } from "../../src/train/simulate.js";
import { SEED_COLUMNS } from "../support/seed-columns.js";

const SPEC = SEED_COLUMNS;
const dir = mkdtempSync(path.join(tmpdir(), "parquet-"));
const data = simulateSeedData({ ...SEED_SIMULATION, rows: 300 });
const PARQUET = new Uint8Array(
  parquetWriteBuffer({
    columnData: [
      { name: "x", data: Array.from(data.x), type: "DOUBLE" },
      { name: "category", data: Array.from(data.category, (c) => BigInt(c)), type: "INT64" },
      { name: "y", data: Array.from(data.y), type: "DOUBLE" },
      { name: "region", data: Array.from(data.x, () => "north"), type: "STRING" },
    ],
  }),
);

/** A fresh ArrayBuffer of the bytes (parseParquet detaches the one it is given). */
const bufferOf = (bytes: Uint8Array): ArrayBuffer => bytes.slice().buffer;

/** The file with its footer written again, the file's and (if given) each row group's row count replaced. */
function withRowCounts(bytes: Uint8Array, fileRows: bigint, groupRows?: bigint): Uint8Array {
  const metadata = parquetMetadata(bufferOf(bytes));
  const footerStart = bytes.length - 8 - metadata.metadata_length;
  const writer = new ByteWriter();
  const rewritten = { ...metadata, num_rows: fileRows, row_groups: metadata.row_groups.map((g) => ({ ...g, num_rows: groupRows ?? g.num_rows })) };
  // hyparquet-writer holds its own copy of hyparquet's types.
  writeMetadata(writer, rewritten as unknown as Parameters<typeof writeMetadata>[1]);
  const footer = new Uint8Array(writer.getBuffer());
  const out = new Uint8Array(footerStart + footer.length + 8);
  out.set(bytes.subarray(0, footerStart));
  out.set(footer, footerStart);
  new DataView(out.buffer).setUint32(footerStart + footer.length, footer.length, true);
  out.set(new TextEncoder().encode("PAR1"), out.length - 4);
  return out;
}

async function failure(p: Promise<unknown>): Promise<BayesServeError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BayesServeError);
  expect((err as BayesServeError).code).toBe("PARQUET_FORMAT");
  return err as BayesServeError;
}

describe("Parquet on its worker thread", () => {
  it("reads a sound file as before, the bytes transferred to the thread", async () => {
    const bytes = bufferOf(PARQUET);
    const table = await parseParquet(bytes, "d.parquet", SPEC);
    expect(bytes.byteLength).toBe(0);
    expect(table.rows).toBe(300);
    expect(table.source).toBe("d.parquet");
    expect(table.columns).toEqual({ x: data.x, category: Float64Array.from(data.category), y: data.y });
    expect(table.lines).toEqual(Int32Array.from({ length: 300 }, (_, r) => r + 1));
    expect(table.ignored).toEqual(["region"]);
    // The same as decoded on this thread, and as the file with its footer written again (the helper below).
    const here = await decodeParquet(bufferOf(PARQUET), "d.parquet", SPEC);
    expect(here.columns).toEqual(table.columns);
    expect((await parseParquet(bufferOf(withRowCounts(PARQUET, 300n)), "d.parquet", SPEC)).columns).toEqual(table.columns);
  });

  it("reads INT64 values a double holds exactly as numbers, and refuses one beyond 2^53 naming its row", async () => {
    const big = (at: number, v: bigint) =>
      new Uint8Array(
        parquetWriteBuffer({
          columnData: [
            { name: "x", data: Array.from(data.x, (_, r) => (r === at ? v : BigInt(r))), type: "INT64" },
            { name: "category", data: Array.from(data.category, (c) => BigInt(c)), type: "INT64" },
            { name: "y", data: Array.from(data.y), type: "DOUBLE" },
          ],
        }),
      );
    const exact = await decodeParquet(bufferOf(big(5, 2n ** 53n - 1n)), "i.parquet", SPEC);
    expect(exact.columns.x[5]).toBe(2 ** 53 - 1);
    expect(exact.columns.x[6]).toBe(6);
    await expect(decodeParquet(bufferOf(big(7, 2n ** 53n + 1n)), "i.parquet", SPEC)).rejects.toThrow(
      /i\.parquet, row 8, column "x": 9007199254740993 is too large to be read exactly/,
    );
  });

  it("refuses a file whose decoding never ends once its deadline passes, naming it", async () => {
    // The first data page header's num_rows field (DataPageHeaderV2 field 3, then 300) as hyparquet-writer lays it
    // out: the reviewer's one changed byte makes it field 5, the definition levels' length, a negative one — and
    // hyparquet's level decoding loops for ever.
    const damaged = PARQUET.slice();
    expect([damaged[18], damaged[19], damaged[20]]).toEqual([0x15, 0xd8, 0x04]);
    damaged[18] = 0x33;
    const file = path.join(dir, "damaged.parquet");
    const deadline = 5000;
    // The sound file, with the same deadline, is read: the deadline is not what refuses the damaged one.
    expect((await parseParquet(bufferOf(PARQUET), file, SPEC, { deadlineMs: deadline })).rows).toBe(300);
    const started = Date.now();
    const err = await failure(parseParquet(bufferOf(damaged), file, SPEC, { deadlineMs: deadline }));
    const took = Date.now() - started;
    expect(err.message).toBe(`${file}: did not finish decoding in 5 s: the file is damaged or not Parquet`);
    expect(took).toBeGreaterThanOrEqual(deadline - 50);
    expect(took).toBeLessThan(deadline + 5000);
  });

  it("allows the floor, and more for a larger file or more values to decode", () => {
    expect(parquetDeadlineMs(5000, 1500)).toBeLessThan(PARQUET_DEADLINE_FLOOR_MS + 100);
    expect(parquetDeadlineMs(5000, 1500)).toBeGreaterThanOrEqual(PARQUET_DEADLINE_FLOOR_MS);
    expect(parquetDeadlineMs(1 << 30, 0)).toBeGreaterThan(parquetDeadlineMs(1 << 20, 0) + 60_000);
    // Many rows in few bytes (a constant column): the values count, not the size alone.
    expect(parquetDeadlineMs(5000, 3e8)).toBeGreaterThan(parquetDeadlineMs(5000, 0) + 600_000);
  });

  it("refuses a footer row count that is negative, not its row groups' or more than a table holds, naming the file", async () => {
    const cases: [string, Uint8Array, string][] = [
      ["negative.parquet", withRowCounts(PARQUET, -5n), "the footer's row count -5 is negative"],
      [
        "huge.parquet",
        withRowCounts(PARQUET, 2_000_000_000_000_000n),
        "the footer's row count 2000000000000000 does not match its row groups' 300 (the footer is damaged)",
      ],
      ["group.parquet", withRowCounts(PARQUET, 300n, -5n), "row group 1's row count (-5) is not a count"],
      [
        "table.parquet",
        withRowCounts(PARQUET, 3_000_000_000n, 3_000_000_000n),
        `the footer's row count 3000000000 is more than the ${MAX_PARQUET_ROWS} rows a table can hold`,
      ],
    ];
    for (const [name, bytes, message] of cases) {
      const file = path.join(dir, name);
      writeFileSync(file, bytes);
      expect((await failure(readSourceTable(file, SPEC))).message, name).toBe(`${file}: ${message}`);
    }
  });

  it("refuses a row count whose columns would not fit in memory before making them", async () => {
    const big = bufferOf(withRowCounts(PARQUET, 1_000_000_000n, 1_000_000_000n));
    const err = await failure(decodeParquet(big, "big.parquet", SPEC, { memory: 2 ** 30 }));
    expect(err.message).toBe("big.parquet: its 1000000000 rows need 22.4 GiB for the model's 3 column(s), more than the 1.0 GiB of memory here");
  });
});
