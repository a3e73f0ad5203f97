#!/usr/bin/env node
// A real S3-compatible server (s3rver) on loopback, for integration tests and trying S3 stores by hand.
//
//   node scripts/s3-server.mjs [--port 0] [--address 127.0.0.1] [--directory DIR] [--bucket NAME]... [--exit-with-stdin]
//
// --port 0 (the default) takes a free port. Without --directory the data lives in a temporary folder that is removed
// on exit. When listening it prints one JSON line to stdout:
//   {"endpoint":"http://127.0.0.1:PORT","port":PORT,"directory":"...","buckets":[...],"accessKeyId":"S3RVER","secretAccessKey":"S3RVER"}
// Use it with AWS_ENDPOINT_URL_S3=<endpoint> AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1.
// s3rver knows one key pair, S3RVER/S3RVER: an unknown access key id is refused (InvalidAccessKeyId), but with SigV4
// it does not check the signature, so a wrong secret key for S3RVER is accepted.
// Stops on SIGTERM / SIGINT, and with --exit-with-stdin when its stdin closes (so it dies with the process that
// spawned it, even if that one is killed).
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import S3rver from "s3rver";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    address: { type: "string", default: "127.0.0.1" },
    directory: { type: "string" },
    bucket: { type: "string", multiple: true, default: [] },
    "exit-with-stdin": { type: "boolean", default: false },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`s3-server: --port must be 0 … 65535, not ${values.port}\n`);
  process.exit(2);
}
const ownDirectory = values.directory === undefined;
const directory = ownDirectory ? mkdtempSync(join(tmpdir(), "bayes-serve-s3rver-")) : values.directory;
mkdirSync(directory, { recursive: true });

const server = new S3rver({
  address: values.address,
  port,
  directory,
  silent: true,
  configureBuckets: values.bucket.map((name) => ({ name, configs: [] })),
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try {
    await server.close();
  } catch {
    // not running
  }
  if (ownDirectory) rmSync(directory, { recursive: true, force: true });
  process.exit(code);
}
process.on("SIGTERM", () => void stop(0));
process.on("SIGINT", () => void stop(0));
if (values["exit-with-stdin"]) {
  process.stdin.on("end", () => void stop(0));
  process.stdin.on("close", () => void stop(0));
  process.stdin.resume();
}

try {
  const address = await server.run();
  const endpoint = `http://${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}`;
  process.stdout.write(
    `${JSON.stringify({
      endpoint,
      port: address.port,
      directory,
      buckets: values.bucket,
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
    })}\n`,
  );
} catch (err) {
  process.stderr.write(`s3-server: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  await stop(1);
}
