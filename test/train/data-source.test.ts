// Training data from where teams keep them: local files (CSV, gzip'd CSV, Parquet), a loopback HTTP server started
// here, and S3 (s3rver): one key, the newest object under a prefix, every object under it; what was read recorded
// (URI, bytes, sha256, ETag); and every failure named — the object, the row, the column, the HTTP status.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { parquetWriteBuffer } from "hyparquet-writer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { s3Settings } from "../../src/artifact/s3-store.js";
import { openStore } from "../../src/artifact/store.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { parseCsv, type ColumnSpec } from "../../src/train/csv.js";
import { readSourceTable, resolveSource } from "../../src/train/data-source.js";
import { train } from "../../src/train/pipeline.js";
import { simulateSeedData, SEED_SIMULATION } from "../../src/train/simulate.js";
import { useS3Server } from "../support/s3-server.js";
import { refusal } from "../support/refusal.js";
import { SEED_COLUMNS } from "../support/seed-columns.js";
import { sendInParts } from "../support/slow-answer.js";

const SPEC = SEED_COLUMNS;

const dir = mkdtempSync(path.join(tmpdir(), "data-source-"));
const data = simulateSeedData({ ...SEED_SIMULATION, rows: 500 });
const csvOf = (from: number, to: number, extra = false): string =>
  `x,category,y${extra ? ",note" : ""}\n${Array.from({ length: to - from }, (_, k) => `${data.x[from + k]},${data.category[from + k]},${data.y[from + k]}${extra ? ",n" : ""}`).join("\n")}\n`;
const CSV = csvOf(0, 500);
const sha = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

function parquetOf(columns: { name: string; data: unknown[]; type: string }[]): Buffer {
  return Buffer.from(parquetWriteBuffer({ columnData: columns as Parameters<typeof parquetWriteBuffer>[0]["columnData"] }));
}

const PARQUET = parquetOf([
  { name: "x", data: Array.from(data.x), type: "DOUBLE" },
  { name: "category", data: Array.from(data.category, (c) => BigInt(c)), type: "INT64" },
  { name: "y", data: Array.from(data.y), type: "DOUBLE" },
  { name: "region", data: Array.from(data.x, () => "north"), type: "STRING" },
]);

describe("local files", () => {
  it("reads CSV, gzip'd CSV and Parquet into the same table, recording each object", async () => {
    const csv = path.join(dir, "d.csv");
    const gz = path.join(dir, "d.csv.gz");
    const pq = path.join(dir, "d.parquet");
    writeFileSync(csv, CSV);
    writeFileSync(gz, gzipSync(CSV));
    writeFileSync(pq, PARQUET);
    const plain = await readSourceTable(csv, SPEC);
    expect(plain.table.rows).toBe(500);
    expect(Array.from(plain.table.columns.x)).toEqual(Array.from(data.x));
    expect(plain.objects).toEqual([{ uri: csv, bytes: Buffer.byteLength(CSV), sha256: sha(CSV), format: "csv", lastModified: expect.any(String) }]);
    expect(plain.where(0)).toBe(`${csv}, line 2`);

    const zipped = await readSourceTable(pathToFileURL(gz).href, SPEC);
    expect(zipped.table.columns).toEqual(plain.table.columns);
    expect(zipped.objects[0]).toMatchObject({ uri: gz, format: "csv+gzip", bytes: readFileSync(gz).length, sha256: sha(readFileSync(gz)) });

    const parquet = await readSourceTable(pq, SPEC);
    expect(parquet.table.columns).toEqual(plain.table.columns);
    expect(parquet.ignored).toEqual(["region"]);
    expect(parquet.objects[0]).toMatchObject({ format: "parquet", sha256: sha(PARQUET) });
    expect(parquet.where(9)).toBe(`${pq}, row 10`);
  });

  it("names the object, row and column of a bad Parquet value", async () => {
    const cases: [string, { name: string; data: unknown[]; type: string }[], RegExp][] = [
      ["missing.parquet", [{ name: "x", data: [1], type: "DOUBLE" }], /missing\.parquet: missing column\(s\) "category", "y"; the model reads x,category,y$/],
      [
        "null.parquet",
        [
          { name: "x", data: [1, null], type: "DOUBLE" },
          { name: "category", data: [0, 1], type: "INT32" },
          { name: "y", data: [1, 2], type: "DOUBLE" },
        ],
        /null\.parquet, row 2, column "x": is null$/,
      ],
      [
        "text.parquet",
        [
          { name: "x", data: [1], type: "DOUBLE" },
          { name: "category", data: ["a"], type: "STRING" },
          { name: "y", data: [1], type: "DOUBLE" },
        ],
        /text\.parquet, row 1, column "category": "a" is not a number/,
      ],
      [
        "level.parquet",
        [
          { name: "x", data: [1, 2], type: "DOUBLE" },
          { name: "category", data: [0, 3], type: "INT32" },
          { name: "y", data: [1, 2], type: "DOUBLE" },
        ],
        /level\.parquet, row 2, column "category": 3 is outside the model's categories 0\.\.2$/,
      ],
      [
        "nan.parquet",
        [
          { name: "x", data: [Number.NaN], type: "DOUBLE" },
          { name: "category", data: [0], type: "INT32" },
          { name: "y", data: [1], type: "DOUBLE" },
        ],
        /nan\.parquet, row 1, column "x": NaN is not finite$/,
      ],
    ];
    for (const [name, columns, message] of cases) {
      const file = path.join(dir, name);
      writeFileSync(file, parquetOf(columns));
      const err = await refusal(readSourceTable(file, SPEC));
      expect(err.code, name).toBe("PARQUET_FORMAT");
      expect(err.message, name).toMatch(message);
    }
    const cut = path.join(dir, "cut.parquet");
    writeFileSync(cut, PARQUET.subarray(0, PARQUET.length - 100));
    expect((await refusal(readSourceTable(cut, SPEC))).message).toMatch(/cut\.parquet: not a readable Parquet file/);
  });

  it("refuses damaged gzip, missing files and unknown schemes, naming them", async () => {
    const bad = path.join(dir, "bad.csv.gz");
    const zipped = gzipSync(CSV);
    writeFileSync(bad, zipped.subarray(0, zipped.length / 2));
    const err = await refusal(readSourceTable(bad, SPEC));
    expect(err.code).toBe("DATA_SOURCE");
    expect(err.message).toMatch(/bad\.csv\.gz: the gzip data are damaged \(Z_BUF_ERROR\)/);
    expect((await refusal(readSourceTable(path.join(dir, "none.csv"), SPEC))).message).toBe(`${path.join(dir, "none.csv")}: cannot read the file (ENOENT)`);
    expect((await refusal(resolveSource("ftp://host/data.csv"))).message).toBe(
      'ftp://host/data.csv: unsupported scheme "ftp" (use a path, file://, s3:// or https://)',
    );
    expect((await refusal(resolveSource(path.join(dir, "d.csv"), { all: true }))).message).toMatch(/--data-all reads every object under an s3:\/\/ prefix/);
  });

  it("reads a gzip followed by zero padding (as gzip(1) does) and records the whole object's size and sha256", async () => {
    const padded = path.join(dir, "padded.csv.gz");
    // Megabytes of padding: still arriving after gunzip has ended and the table is read.
    const bytes = Buffer.concat([gzipSync(CSV), Buffer.alloc(3 << 20)]);
    writeFileSync(padded, bytes);
    const read = await readSourceTable(padded, SPEC);
    expect(read.table.rows).toBe(500);
    expect(read.objects[0]).toMatchObject({ bytes: bytes.length, sha256: sha(bytes), format: "csv+gzip" });
  });

  it("reads every member of a multi-member gzip; refuses gzip'd Parquet and gzip twice saying so, and a gzip cut in its header", async () => {
    const multi = path.join(dir, "multi.csv.gz");
    // `cat a.gz b.gz`, the text cut inside a number.
    const cut = CSV.indexOf(".", CSV.length / 2);
    writeFileSync(multi, Buffer.concat([gzipSync(CSV.slice(0, cut)), gzipSync(CSV.slice(cut))]));
    const members = await readSourceTable(multi, SPEC);
    expect(members.table.rows).toBe(500);
    expect(members.table.columns).toEqual(parseCsv(CSV, "d.csv", SPEC).columns);
    const cases: [string, Buffer, string][] = [
      ["data.parquet.gz", gzipSync(PARQUET), "is gzip-compressed Parquet, which is not read: give the Parquet file itself (Parquet compresses its own pages)"],
      ["twice.csv.gz", gzipSync(gzipSync(CSV)), "is gzip-compressed twice: decompress it once (gzip -d) and give that"],
      ["header.csv.gz", gzipSync(CSV).subarray(0, 12), "the gzip data are damaged (Z_BUF_ERROR)"],
    ];
    for (const [name, bytes, message] of cases) {
      const file = path.join(dir, name);
      writeFileSync(file, bytes);
      const err = await refusal(readSourceTable(file, SPEC));
      expect(err.code, name).toBe("DATA_SOURCE");
      // Before: "data.parquet.gz, line 1: missing column(s) "x", "category", "y"", as if a CSV had the wrong header.
      expect(err.message, name).toBe(`${file}: ${message}`);
    }
  });

  it("refuses a Parquet column named twice, a TIME column, and a DECIMAL integer beyond 2^53, naming the column", async () => {
    const root = { name: "root", num_children: 3 };
    const write = (name: string, options: Parameters<typeof parquetWriteBuffer>[0]): string => {
      const file = path.join(dir, name);
      writeFileSync(file, Buffer.from(parquetWriteBuffer(options)));
      return file;
    };
    const twice = write("twice.parquet", {
      columnData: [
        { name: "x", data: [1, 2], type: "DOUBLE" },
        { name: "category", data: [0, 1], type: "INT32" },
        { name: "y", data: [1, 2], type: "DOUBLE" },
        { name: "x", data: [10, 20], type: "DOUBLE" },
      ],
    });
    // Before: the first "x" was read, the other left unsaid.
    expect((await refusal(readSourceTable(twice, SPEC))).message).toBe(`${twice}, column "x": appears twice in the schema`);
    const time = write("time.parquet", {
      columnData: [
        { name: "x", data: [3_600_000, 7_200_000] },
        { name: "category", data: [0, 1] },
        { name: "y", data: [1, 2] },
      ],
      schema: [
        root,
        { name: "x", type: "INT32", repetition_type: "REQUIRED", converted_type: "TIME_MILLIS" },
        { name: "category", type: "INT32", repetition_type: "REQUIRED" },
        { name: "y", type: "DOUBLE", repetition_type: "REQUIRED" },
      ],
    });
    // Before: read as 3600000 and 7200000, the milliseconds since midnight of 01:00 and 02:00.
    expect((await refusal(readSourceTable(time, SPEC))).message).toBe(`${time}, column "x": is a time of day (Parquet TIME), not a number`);
    const counts: ColumnSpec[] = [{ name: "n", type: "integer", bounds: { bounds: { lower: 0 }, why: "the bounds the model declares" } }];
    const decimal = write("decimal.parquet", {
      columnData: [{ name: "n", data: [3n, 9007199254740993n] }],
      schema: [
        { name: "root", num_children: 1 },
        { name: "n", type: "FIXED_LEN_BYTE_ARRAY", type_length: 16, repetition_type: "REQUIRED", converted_type: "DECIMAL", precision: 38, scale: 0 },
      ],
    });
    // Before: read as the count 9007199254740992 (an INT64 of that value was already refused).
    expect((await refusal(readSourceTable(decimal, counts))).message).toMatch(
      new RegExp(`^${decimal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}, row 2, column "n": 9007199254740992 is too large to be read exactly`),
    );
  });
});

describe("over HTTP", () => {
  let server: Server;
  let base = "";
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/data.csv.gz") {
        res.writeHead(200, { "content-type": "application/gzip", etag: '"v7"', "last-modified": "Sun, 06 Dec 2026 10:00:00 GMT" });
        res.end(gzipSync(CSV));
      } else if (req.url === "/slow.csv") {
        setTimeout(() => res.end(CSV), 2000);
      } else if (req.url === "/large.csv" || req.url === "/large-chunked.csv") {
        // The whole CSV in four parts 150 ms apart: longer than the tests' 200 ms allowance, within it and the bytes at
        // 10 kB/s. With its length given up front, or (chunked) without.
        const body = Buffer.from(CSV);
        res.writeHead(200, { "content-type": "text/csv", ...(req.url === "/large.csv" ? { "content-length": String(body.length) } : {}) });
        sendInParts(res, body, 4, 150);
      } else if (req.url === "/drip.csv") {
        // Headers and the first line at once, then nothing more for longer than the test's deadline.
        res.writeHead(200, { "content-type": "text/csv" });
        res.write(CSV.split("\n")[0] + "\n");
        setTimeout(() => res.end(), 2000);
      } else {
        res.writeHead(404, "Not Found");
        res.end("no");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("reads a gzip'd CSV with its ETag and modification time", async () => {
    const read = await readSourceTable(`${base}/data.csv.gz`, SPEC);
    expect(read.table.rows).toBe(500);
    expect(read.objects[0]).toMatchObject({ uri: `${base}/data.csv.gz`, format: "csv+gzip", etag: '"v7"', lastModified: "2026-12-06T10:00:00.000Z" });
  });

  it("names the URL and the status, or the time it waited", async () => {
    expect((await refusal(readSourceTable(`${base}/missing.csv`, SPEC))).message).toBe(`${base}/missing.csv: HTTP 404 Not Found`);
    const slow = (await resolveSource(`${base}/slow.csv`, { transfer: { deadlineMs: 200 } }))[0];
    expect((await refusal(slow.open())).message).toBe(`${base}/slow.csv: no answer within 0.2 s`);
    // Headers in time, the body not: the deadline covers the whole answer, and says so.
    expect((await refusal(readSourceTable(`${base}/drip.csv`, SPEC, { transfer: { deadlineMs: 300 } }))).message).toBe(
      `${base}/drip.csv: the answer did not finish within 0.3 s`,
    );
  });

  it("gives a large answer the time its bytes take at the slowest accepted rate, known up front or as they arrive", async () => {
    const limits = { transfer: { deadlineMs: 200, minBytesPerSecond: 10_000 } };
    for (const name of ["large.csv", "large-chunked.csv"]) {
      const t0 = performance.now();
      expect((await readSourceTable(`${base}/${name}`, SPEC, limits)).table.rows).toBe(500);
      expect(performance.now() - t0).toBeGreaterThan(400);
    }
    // The same answer at a rate it does not reach is refused, at a deadline grown by the bytes that came.
    const refused = await refusal(readSourceTable(`${base}/large-chunked.csv`, SPEC, { transfer: { deadlineMs: 200, minBytesPerSecond: 1e7 } }));
    expect(refused.message).toBe(`${base}/large-chunked.csv: the answer did not finish within 0.2 s`);
  });
});

describe("from S3", () => {
  const s3 = useS3Server({ buckets: ["data", "models"], setProcessEnv: true });
  let client: S3Client;
  const put = (key: string, body: string | Buffer) => client.send(new PutObjectCommand({ Bucket: "data", Key: key, Body: body }));

  beforeAll(async () => {
    client = new S3Client(s3Settings({ env: s3.current.env }).config);
    await put("daily/2026-12-04.csv", csvOf(0, 200));
    await put("daily/2026-12-05.csv.gz", gzipSync(csvOf(200, 400, true)));
    await put("daily/2026-12-06.parquet", PARQUET);
    await put("one.csv", CSV);
  });

  it("reads one key, recording its ETag", async () => {
    const read = await readSourceTable("s3://data/one.csv", SPEC);
    expect(read.table.rows).toBe(500);
    expect(read.objects[0]).toMatchObject({ uri: "s3://data/one.csv", sha256: sha(CSV), etag: `"${createHash("md5").update(CSV).digest("hex")}"` });
  });

  it("reads the newest object under a prefix, or all of them in key order", async () => {
    expect((await resolveSource("s3://data/daily/")).map((o) => o.uri)).toEqual(["s3://data/daily/2026-12-06.parquet"]);
    const all = await readSourceTable("s3://data/daily/", SPEC, { all: true });
    expect(all.objects.map((o) => [o.uri, o.format])).toEqual([
      ["s3://data/daily/2026-12-04.csv", "csv"],
      ["s3://data/daily/2026-12-05.csv.gz", "csv+gzip"],
      ["s3://data/daily/2026-12-06.parquet", "parquet"],
    ]);
    expect(all.table.rows).toBe(900);
    expect(Array.from(all.table.columns.y.subarray(0, 400))).toEqual(Array.from(data.y.subarray(0, 400)));
    expect(Array.from(all.table.columns.y.subarray(400))).toEqual(Array.from(data.y));
    expect(all.ignored).toEqual(["note", "region"]);
    expect(all.where(0)).toBe("s3://data/daily/2026-12-04.csv, line 2");
    expect(all.where(250)).toBe("s3://data/daily/2026-12-05.csv.gz, line 52");
    expect(all.where(899)).toBe("s3://data/daily/2026-12-06.parquet, row 500");
  });

  it("aborts an object or a listing that drips its answer, naming it", async () => {
    const sockets: import("node:net").Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    // Headers at once, then one byte of a 1 MB body every 100 ms: never idle, never done.
    const drip = createServer((req, res) => {
      sockets.push(req.socket);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "1000000" });
      res.write("x");
      timers.push(setInterval(() => res.write(" "), 100));
    });
    await new Promise<void>((resolve) => drip.listen(0, "127.0.0.1", resolve));
    const env = { ...s3.current.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(drip.address() as AddressInfo).port}` };
    const limits = { env, transfer: { deadlineMs: 300, minBytesPerSecond: 1e9 } };
    try {
      expect((await refusal(readSourceTable("s3://data/one.csv", SPEC, limits))).message).toBe("s3://data/one.csv: the answer did not finish within 0.3 s");
      expect((await refusal(resolveSource("s3://data/daily/", limits))).message).toBe("s3://data/daily/: listing the prefix did not finish within 0.3 s");
    } finally {
      for (const t of timers) clearInterval(t);
      for (const socket of sockets) socket.destroy();
      await new Promise((r) => drip.close(r));
    }
  });

  it("says what is missing", async () => {
    expect((await refusal(readSourceTable("s3://data/nothing.csv", SPEC))).message).toBe("s3://data/nothing.csv: no such object");
    expect((await refusal(resolveSource("s3://data/empty/"))).message).toBe("s3://data/empty/: no objects under this prefix");
    expect((await refusal(resolveSource("s3://nobucket/x/"))).message).toMatch(/^s3:\/\/nobucket\/x\/: bucket "nobucket" does not exist/);
  });

  it("trains from a prefix and records the source in the manifest", async () => {
    const store = "s3://models/history";
    const result = await train({
      model: seedRegression,
      source: { data: "s3://data/daily/", all: true },
      store,
      seed: 1,
      draws: 300,
      tune: 300,
      chains: 2,
      testFraction: 0.2,
      progress: false,
      report: false,
    });
    const manifest = await openStore(store).readManifest(result.version!);
    expect(manifest.data.source).toBe("s3://data/daily/");
    expect(manifest.data.rows).toBe(900);
    expect(manifest.data.objects!.map((o) => o.uri)).toEqual([
      "s3://data/daily/2026-12-04.csv",
      "s3://data/daily/2026-12-05.csv.gz",
      "s3://data/daily/2026-12-06.parquet",
    ]);
    expect(manifest.data.objects![2].sha256).toBe(sha(PARQUET));
  }, 300_000);
});
