// A data object's transfer deadline (artifact/transfer-deadline.ts) bounds the endpoint, not the reader: time the reader
// holds the bytes back, or spends on a body the server compressed, is not the transfer's; and a reader that stops early
// lets go of the connection at once instead of when the deadline passes.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TransferDeadline } from "../../src/artifact/transfer-deadline.js";
import type { ColumnSpec } from "../../src/train/csv.js";
import { readSourceTable, resolveSource } from "../../src/train/data-source.js";
import { refusal } from "../support/refusal.js";
import { sendInParts } from "../support/slow-answer.js";

const SPEC: ColumnSpec[] = [
  { name: "x", type: "float" },
  { name: "y", type: "float" },
];
const ROWS = 100_000;
const CSV = Buffer.from(`x,y\n${Array.from({ length: ROWS }, (_, i) => `${i % 97},${i % 13}`).join("\n")}\n`);
const GZIPPED = gzipSync(CSV);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let server: Server;
let base = "";
const requests: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req);
    if (req.url === "/whole.csv") {
      res.writeHead(200, { "content-type": "text/csv", "content-length": String(CSV.length) });
      res.end(CSV);
    } else if (req.url === "/encoded.csv") {
      // Compressed by the server: Content-Length is the gzip's, fetch hands over the CSV. In four parts 200 ms apart.
      res.writeHead(200, { "content-type": "text/csv", "content-encoding": "gzip", "content-length": String(GZIPPED.length) });
      sendInParts(res, GZIPPED, 4, 200);
    } else if (req.url === "/wrong-header.csv") {
      // A large object whose first line is already wrong; the rest never comes (a stalled or a very large answer).
      res.writeHead(200, { "content-type": "text/csv", "content-length": String(100 * 1024 * 1024) });
      res.write("a,b\n1,2\n");
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe("a data object's transfer deadline", () => {
  it("does not count the time a slow reader holds the bytes back", async () => {
    // Every byte is on the loopback at once; the reader takes its time (a parse, a gunzip slower than the link).
    const [object] = await resolveSource(`${base}/whole.csv`, { transfer: { deadlineMs: 300, minBytesPerSecond: 1e9 } });
    const { body } = await object.open();
    const t0 = performance.now();
    let bytes = 0;
    for await (const chunk of body) {
      bytes += (chunk as Buffer).length;
      await sleep((chunk as Buffer).length / 1024); // 1 MB/s
    }
    expect(bytes).toBe(CSV.length);
    expect(performance.now() - t0).toBeGreaterThan(400);
  });

  it("allows a server-compressed body's bytes as they arrive, beside its compressed Content-Length", async () => {
    // 0.1 s plus the gzip's 6 kB at 20 kB/s is 0.4 s, less than the 0.6 s the answer takes; its 0.5 MB of CSV at 20 kB/s
    // are 25 s more, given as they come.
    expect(GZIPPED.length).toBeLessThan(CSV.length / 50);
    const [object] = await resolveSource(`${base}/encoded.csv`, { transfer: { deadlineMs: 100, minBytesPerSecond: 20_000 } });
    const t0 = performance.now();
    const { body } = await object.open();
    let bytes = 0;
    for await (const chunk of body) bytes += (chunk as Buffer).length;
    expect(bytes).toBe(CSV.length);
    expect(performance.now() - t0).toBeGreaterThan(550);
  });

  it("lets go of the connection as soon as the reader refuses the data, not when the deadline passes", async () => {
    const before = requests.length;
    const err = await refusal(readSourceTable(`${base}/wrong-header.csv`, SPEC, { transfer: { deadlineMs: 60_000 } }));
    expect(err.message).toMatch(/missing column/);
    const socket = requests[before].socket;
    const closed = socket.destroyed || (await Promise.race([new Promise((r) => socket.once("close", () => r(true))), sleep(2000).then(() => false)]));
    expect(closed).toBe(true);
  });
});

describe("TransferDeadline", () => {
  it("stands still while paused", async () => {
    const deadline = new TransferDeadline({ deadlineMs: 100 });
    try {
      deadline.pause();
      await sleep(250);
      expect(deadline.expired).toBe(false);
      deadline.resume();
      await sleep(200);
      expect(deadline.expired).toBe(true);
    } finally {
      deadline.clear();
    }
  });

  it("keeps an allowance beyond setTimeout's 24.8 days (a 2.5 TB object) instead of expiring at once", async () => {
    const deadline = new TransferDeadline();
    try {
      deadline.allow(2.5e12);
      await sleep(50);
      expect(deadline.expired).toBe(false);
    } finally {
      deadline.clear();
    }
  });
});
