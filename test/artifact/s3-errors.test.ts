// Bad stores fail fast with a STORE error naming the store, the operation and the cause: a bucket that does not
// exist, an endpoint nobody listens on, one that accepts connections and never answers, one that sends its headers and
// then drips the body (never idle long enough for the idle timeout), wrong credentials.
//
// About wrong credentials: s3rver knows one key pair (S3RVER/S3RVER). It refuses an unknown access key id
// (InvalidAccessKeyId, tested against the real server below) but does not verify SigV4 signatures, so a wrong
// *secret* key is accepted by it; SignatureDoesNotMatch is therefore only tested through the error mapping.
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BayesServeError } from "../../src/errors.js";
import { explainS3Error, s3Settings } from "../../src/artifact/s3-store.js";
import { openStageStore } from "../../src/artifact/stage-store.js";
import { openStore } from "../../src/artifact/store.js";
import { useS3Server } from "../support/s3-server.js";
import { sampleBundle } from "./fixtures/bundles.js";
import { sendInParts } from "../support/slow-answer.js";

const s3 = useS3Server({ buckets: ["models"] });

// The time bounds below are not speed goals: they tell a failure that comes at once (one request, no backoff) from one
// that waits on the SDK's defaults (10 s idle timeout, retries with backoff), with room for a loaded machine.
const AT_ONCE_MS = 8000;

async function timedRejection(p: Promise<unknown>): Promise<{ err: BayesServeError; ms: number }> {
  const t0 = performance.now();
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BayesServeError);
    expect((err as BayesServeError).code).toBe("STORE");
    return { err: err as BayesServeError, ms: performance.now() - t0 };
  }
  throw new Error("expected a rejection");
}

function listen(server: Server | HttpServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
}

describe("S3 store failures", () => {
  it("a bucket that does not exist", async () => {
    const store = openStore("s3://no-such-bucket/models", { env: s3.current.env });
    const { err, ms } = await timedRejection(store.readLatest());
    expect(err.message).toBe(
      `store s3://no-such-bucket/models: cannot read latest: bucket "no-such-bucket" does not exist at ${s3.current.endpoint} ` +
        "(NoSuchBucket) (object s3://no-such-bucket/models/latest)",
    );
    expect(ms).toBeLessThan(AT_ONCE_MS);
    const bundle = sampleBundle();
    const pub = await timedRejection(store.publish(bundle));
    expect(pub.err.message).toContain(`cannot publish version ${bundle.manifest.version}: bucket "no-such-bucket" does not exist`);
    expect((await timedRejection(store.list())).err.message).toContain("cannot list versions");
  });

  it("an endpoint nobody listens on fails in well under the default timeouts", async () => {
    const probe = createServer();
    const port = await listen(probe);
    await new Promise((r) => probe.close(r));
    const store = openStore("s3://models/x", { env: { ...s3.current.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` } });
    const { err, ms } = await timedRejection(store.readLatest());
    expect(err.message).toContain("store s3://models/x: cannot read latest: cannot reach the S3 endpoint");
    expect(err.message).toContain(`http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(ms).toBeLessThan(AT_ONCE_MS);
    const pub = await timedRejection(store.publish(sampleBundle()));
    expect(pub.err.message).toMatch(/cannot publish version .*: cannot reach the S3 endpoint/);
    expect(pub.ms).toBeLessThan(AT_ONCE_MS);
  });

  describe("an endpoint that accepts connections and never answers", () => {
    const sockets: Socket[] = [];
    const hung = createServer((s) => sockets.push(s));
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => hung.close(r));
    });

    it("times out on the idle timer", async () => {
      const port = await listen(hung);
      const store = openStore("s3://models/x", {
        env: { ...s3.current.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` },
        s3: { idleTimeoutMs: 500, maxAttempts: 1 },
      });
      const { err, ms } = await timedRejection(store.readLatest());
      expect(err.message).toContain(`cannot read latest: the S3 endpoint http://127.0.0.1:${port} did not answer in time (TimeoutError)`);
      expect(ms).toBeLessThan(AT_ONCE_MS);
    });
  });

  describe("an endpoint that sends its headers and then drips the body", () => {
    const sockets: Socket[] = [];
    const timers: NodeJS.Timeout[] = [];
    let requests = 0;
    let closed = 0;
    /** One byte of a 1 MB body every 100 ms: never idle for the idle timeout, never done. */
    const drip = createHttpServer((req, res) => {
      requests++;
      sockets.push(req.socket);
      req.socket.once("close", () => closed++);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "1000000" });
      res.write("{");
      timers.push(setInterval(() => res.write(" "), 100));
    });
    afterAll(async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise((r) => drip.close(r));
    });

    let port = 0;
    beforeAll(async () => {
      port = await listen(drip);
    });

    it("aborts the read at its deadline and says which object it was", async () => {
      const store = openStore("s3://models/x", {
        env: { ...s3.current.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` },
        // The idle timeout far beyond the deadline: only the deadline can end this read.
        s3: { idleTimeoutMs: 60_000, maxAttempts: 2, transfer: { deadlineMs: 500, minBytesPerSecond: 1e9 } },
      });
      const { err, ms } = await timedRejection(store.readLatest());
      expect(err.message).toBe(
        `store s3://models/x: cannot read latest: s3://models/x/latest was not read whole within 0.5 s: the S3 endpoint ` +
          `http://127.0.0.1:${port} is too slow or stalled mid-answer; the request was aborted`,
      );
      expect(ms).toBeGreaterThanOrEqual(450);
      expect(ms).toBeLessThan(AT_ONCE_MS);
      // The request was given up, its connection closed, and not tried again.
      for (const deadline = Date.now() + AT_ONCE_MS; closed < 1 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
      expect(closed).toBe(1);
      expect(requests).toBe(1);
    }, 15_000);

    it("aborts a list and a publish at their deadlines too, so no command waits on it forever", async () => {
      const store = openStore("s3://models/x", {
        env: { ...s3.current.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` },
        s3: { idleTimeoutMs: 60_000, maxAttempts: 2, transfer: { deadlineMs: 500, minBytesPerSecond: 1e9 } },
      });
      const list = await timedRejection(store.list());
      expect(list.err.message).toBe(
        `store s3://models/x: cannot list versions: s3://models/x/versions/ was not listed within 0.5 s: the S3 endpoint ` +
          `http://127.0.0.1:${port} is too slow or stalled mid-answer; the request was aborted`,
      );
      expect(list.ms).toBeLessThan(AT_ONCE_MS);
      // A publish first reads (the version must not exist): this endpoint answers reads "no such key" at once and
      // drips its answers to writes and deletes.
      const writesDrip = createHttpServer((req, res) => {
        if (req.method === "GET" && !(req.url ?? "").includes("list-type")) {
          res.writeHead(404, { "content-type": "application/xml" });
          res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>no</Message></Error>');
          return;
        }
        drip.emit("request", req, res);
      });
      const writesPort = await listen(writesDrip);
      try {
        const writer = openStore("s3://models/x", {
          env: { ...s3.current.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${writesPort}` },
          s3: { idleTimeoutMs: 60_000, maxAttempts: 2, transfer: { deadlineMs: 500, minBytesPerSecond: 1e9 } },
        });
        const bundle = sampleBundle();
        const pub = await timedRejection(writer.publish(bundle));
        expect(pub.err.message).toMatch(
          new RegExp(`^store s3://models/x: cannot publish version ${bundle.manifest.version}: s3://models/x/versions/\\S+ was not written within 0\\.5 s`),
        );
        // The writes time out together (four at a time), then the best-effort clean-up's deletes do.
        expect(pub.ms).toBeLessThan(AT_ONCE_MS);
      } finally {
        writesDrip.closeAllConnections();
        await new Promise((r) => writesDrip.close(r));
      }
    }, 20_000);

    it("aborts a staging area's reads, writes and lists at their deadlines, naming the object", async () => {
      const stage = openStageStore("s3://models/stage", {
        env: { ...s3.current.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` },
        s3: { idleTimeoutMs: 60_000, maxAttempts: 2, transfer: { deadlineMs: 300, minBytesPerSecond: 1e9 } },
      });
      const stalled = `not done within 0.3 s: the S3 endpoint http://127.0.0.1:${port} is too slow or stalled mid-answer; the request was aborted`;
      expect((await timedRejection(stage.get("chain-0.bin"))).err.message).toBe(
        `staging s3://models/stage: cannot read chain-0.bin: ${stalled} (object s3://models/stage/chain-0.bin)`,
      );
      expect((await timedRejection(stage.put("chain-0.bin", new Uint8Array(10)))).err.message).toBe(
        `staging s3://models/stage: cannot write chain-0.bin: ${stalled} (object s3://models/stage/chain-0.bin)`,
      );
      expect((await timedRejection(stage.list())).err.message).toBe(
        `staging s3://models/stage: cannot list the staged objects: ${stalled} (object s3://models/stage/)`,
      );
    }, 20_000);
  });

  it("a slow read's deadline grows with the object's size, so a large object read at the slowest accepted rate completes", async () => {
    const pointer = JSON.stringify({ version: "20261201T000000Z-a1b2c3", updatedAt: "2026-12-01T00:00:00.000Z" });
    const body = Buffer.from(pointer.padEnd(2000, " "));
    const cancels: (() => void)[] = [];
    // 2000 bytes in four parts 150 ms apart: longer than the 200 ms deadline, well within 200 ms + 2000 B at 1000 B/s.
    const slow = createHttpServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(body.length) });
      cancels.push(sendInParts(res, body, 4, 150));
    });
    const port = await listen(slow);
    try {
      const store = openStore("s3://models/x", {
        env: { ...s3.current.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` },
        s3: { maxAttempts: 1, transfer: { deadlineMs: 200, minBytesPerSecond: 1000 } },
      });
      const t0 = performance.now();
      expect(await store.readLatest()).toBe("20261201T000000Z-a1b2c3");
      expect(performance.now() - t0).toBeGreaterThan(400);
    } finally {
      for (const cancel of cancels) cancel();
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  });

  it("an access key id the store does not know", async () => {
    const store = openStore("s3://models/x", { env: { ...s3.current.env, AWS_ACCESS_KEY_ID: "NOT-A-KEY" } });
    const { err, ms } = await timedRejection(store.readLatest());
    expect(err.message).toContain("store s3://models/x: cannot read latest: wrong credentials");
    expect(err.message).toContain("(InvalidAccessKeyId); check AWS_ACCESS_KEY_ID");
    expect(ms).toBeLessThan(AT_ONCE_MS);
    const bundle = sampleBundle();
    const pub = await timedRejection(store.publish(bundle));
    expect(pub.err.message).toContain(`cannot publish version ${bundle.manifest.version}: wrong credentials`);
    // Nothing was published: with the right key the store is still empty.
    expect(await openStore("s3://models/x", { env: s3.current.env }).list()).toEqual([]);
  });

  it("maps the SDK's other errors to causes a person can act on", () => {
    const where = { bucket: "b", endpoint: "https://s3.example" };
    const sdkError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    expect(explainS3Error(sdkError("SignatureDoesNotMatch", 403), where)).toMatch(/^wrong credentials: the secret key does not match .*AWS_SECRET_ACCESS_KEY/);
    expect(explainS3Error(sdkError("AccessDenied", 403), where)).toMatch(/^access denied \(AccessDenied\)/);
    expect(explainS3Error(sdkError("ExpiredToken", 400), where)).toMatch(/expired/);
    expect(explainS3Error(sdkError("PermanentRedirect", 301), where)).toMatch(/another region .*AWS_REGION/);
    expect(explainS3Error(Object.assign(new Error("getaddrinfo ENOTFOUND s3.example"), { code: "ENOTFOUND" }), where)).toMatch(
      /^cannot reach the S3 endpoint https:\/\/s3\.example \(ENOTFOUND\)/,
    );
    expect(explainS3Error(sdkError("SlowDown", 503), where)).toBe("SlowDown (HTTP 503): SlowDown");
  });

  it("reads endpoint, region and credentials from the standard variables", () => {
    const a = s3Settings({
      env: { AWS_ENDPOINT_URL: "http://minio:9000", AWS_DEFAULT_REGION: "eu-west-1", AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" },
    });
    expect(a.config).toMatchObject({
      endpoint: "http://minio:9000",
      forcePathStyle: true,
      region: "eu-west-1",
      credentials: { accessKeyId: "k", secretAccessKey: "s" },
    });
    const b = s3Settings({ env: { AWS_ENDPOINT_URL: "http://a", AWS_ENDPOINT_URL_S3: "http://b", AWS_REGION: "us-west-2", AWS_DEFAULT_REGION: "eu-west-1" } });
    expect(b.config).toMatchObject({ endpoint: "http://b", region: "us-west-2" });
    expect(b.config.credentials).toBeUndefined(); // the SDK's default chain (profile, SSO, instance role)
    const c = s3Settings({ env: {} });
    expect(c.config.region).toBe("us-east-1");
    expect(c.config.endpoint).toBeUndefined();
    expect(c.config.forcePathStyle).toBeUndefined();
    expect(c.endpoint).toBe("AWS S3 (region us-east-1)");
  });
});
