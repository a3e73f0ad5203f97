// The store contract, run against a local folder and against a real S3-compatible server (s3rver in its own
// process): round trip, latest/promote/rollback, partial versions, tampering, and failures part-way through publish.
import { mkdtempSync, rmSync } from "node:fs";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { BayesServeError } from "../../src/errors.js";
import { bundleEntries } from "../../src/artifact/bundle.js";
import { nodeLocalIo, type LocalIo } from "../../src/artifact/local-store.js";
import { s3Settings } from "../../src/artifact/s3-store.js";
import { encodeSeal, makeSeal } from "../../src/artifact/seal.js";
import { openStore, parseModelRef, type ArtifactStore } from "../../src/artifact/store.js";
import { useS3Server } from "../support/s3-server.js";
import { sampleBundle, sampleInput, versionIds } from "./fixtures/bundles.js";

const s3 = useS3Server({ buckets: ["models"] });
const tmpRoot = mkdtempSync(join(tmpdir(), "bayes-serve-store-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** Raw access to a store's objects, bypassing the store, to tamper and to inspect. */
interface Raw {
  write(key: string, bytes: Uint8Array): Promise<void>;
  remove(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

interface Harness {
  store: ArtifactStore;
  raw: Raw;
  /** A store on the same location whose N+1-th write of a version file (or pointer) fails. */
  failingAfter(n: number): ArtifactStore;
}

let counter = 0;

function localHarness(): Harness {
  const root = join(tmpRoot, `s${counter++}`);
  const failingIo = (n: number): LocalIo => {
    let writes = 0;
    return {
      ...nodeLocalIo,
      async writeFile(path, bytes) {
        if (writes++ >= n) throw Object.assign(new Error(`injected I/O error, write ${writes}`), { code: "EIO" });
        await nodeLocalIo.writeFile(path, bytes);
      },
    };
  };
  const listAll = async (dir: string, prefix = ""): Promise<string[]> => {
    const out: string[] = [];
    for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) out.push(...(await listAll(join(dir, e.name), `${prefix}${e.name}/`)));
      else out.push(`${prefix}${e.name}`);
    }
    return out;
  };
  return {
    store: openStore(root),
    raw: {
      async write(key, bytes) {
        await fs.mkdir(join(root, key, ".."), { recursive: true });
        await fs.writeFile(join(root, key), bytes);
      },
      remove: (key) => fs.rm(join(root, key), { force: true }),
      keys: () => listAll(root),
    },
    failingAfter: (n) => openStore(root, { localIo: failingIo(n) }),
  };
}

function s3Harness(): Harness {
  const prefix = `run-${counter++}/models`;
  const uri = `s3://models/${prefix}`;
  const env = s3.current.env;
  const client = new S3Client(s3Settings({ env }).config);
  const failingClient = (n: number): S3Client => {
    const c = new S3Client(s3Settings({ env }).config);
    const send = c.send.bind(c) as (command: unknown) => Promise<unknown>;
    let puts = 0;
    (c as unknown as { send: (command: unknown) => Promise<unknown> }).send = async (command) => {
      if (command instanceof PutObjectCommand && puts++ >= n) {
        throw Object.assign(new Error("injected failure"), { name: "InternalError", $metadata: { httpStatusCode: 500 } });
      }
      return send(command);
    };
    return c;
  };
  return {
    store: openStore(uri, { env }),
    raw: {
      async write(key, bytes) {
        await client.send(new PutObjectCommand({ Bucket: "models", Key: `${prefix}/${key}`, Body: bytes }));
      },
      async remove(key) {
        await client.send(new DeleteObjectCommand({ Bucket: "models", Key: `${prefix}/${key}` }));
      },
      async keys() {
        const res = await client.send(new ListObjectsV2Command({ Bucket: "models", Prefix: `${prefix}/` }));
        return (res.Contents ?? []).map((o) => (o.Key ?? "").slice(prefix.length + 1)).sort();
      },
    },
    failingAfter: (n) => openStore(uri, { env, s3: { client: failingClient(n) } }),
  };
}

async function rejection(p: Promise<unknown>): Promise<BayesServeError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BayesServeError);
    return err as BayesServeError;
  }
  throw new Error("expected a rejection");
}

describe.each([
  ["local", localHarness],
  ["s3", s3Harness],
] as const)("%s store", (kind, harness) => {
  it("starts empty", async () => {
    const { store } = harness();
    expect(await store.readLatest()).toBeNull();
    expect(await store.list()).toEqual([]);
  });

  it("round-trips a bundle: manifest, draws, stats and report files, byte for byte", async () => {
    const { store, raw } = harness();
    const input = sampleInput();
    const bundle = sampleBundle();
    const version = await store.publish(bundle);
    expect(version).toBe(bundle.manifest.version);
    expect(await store.readLatest()).toBe(version);
    expect(await raw.keys()).toEqual([
      "latest",
      `versions/${version}/draws.bin`,
      `versions/${version}/manifest.json`,
      `versions/${version}/report/report.html`,
      `versions/${version}/report/trace.png`,
      `versions/${version}/sample-stats.bin`,
      `versions/${version}/seal.json`,
    ]);
    const back = await store.readBundle(version);
    expect(back.manifest).toEqual(bundle.manifest);
    expect(Array.from(back.draws)).toEqual(Array.from(input.draws));
    expect(Array.from(back.sampleStats ?? [])).toEqual(Array.from(input.sampleStats ?? []));
    for (const [path, bytes] of bundle.files) expect(back.files.get(path)).toEqual(bytes);
    expect(await store.readManifest(version)).toEqual(bundle.manifest);
    expect(new TextDecoder().decode(await store.readFile(version, "report/report.html"))).toContain("<title>report</title>");
    expect(JSON.parse(new TextDecoder().decode(await store.readFile(version, "manifest.json")))).toEqual(bundle.manifest);
    const posterior = await store.readBundle(version, { files: "posterior" });
    expect([...posterior.files.keys()].sort()).toEqual(["draws.bin", "sample-stats.bin"]);
    const list = await store.list();
    expect(list).toEqual([{ version, latest: true, createdAt: bundle.manifest.createdAt, gatePassed: true, problem: null }]);
  });

  it("moves latest on publish, promotes and rolls back, and refuses unknown versions", async () => {
    const { store } = harness();
    const [v1, v2, v3] = versionIds(3);
    await store.publish(sampleBundle({ version: v1, seed: 1 }));
    await store.publish(sampleBundle({ version: v2, seed: 2 }));
    expect(await store.readLatest()).toBe(v2);
    await store.publish(sampleBundle({ version: v3, seed: 3 }), { promote: false });
    expect(await store.readLatest()).toBe(v2);
    expect((await store.list()).map((v) => [v.version, v.latest])).toEqual([
      [v1, false],
      [v2, true],
      [v3, false],
    ]);
    await store.setLatest(v3);
    expect(await store.readLatest()).toBe(v3);
    await store.setLatest(v1); // rollback
    expect(await store.readLatest()).toBe(v1);
    expect((await store.readBundle(v1)).manifest.version).toBe(v1);

    const unknown = await rejection(store.setLatest("20300101T000000Z-ffffff"));
    expect(unknown.code).toBe("ARTIFACT");
    expect(unknown.message).toContain(`store ${store.uri}: cannot move latest to 20300101T000000Z-ffffff: version 20300101T000000Z-ffffff not found`);
    const malformed = await rejection(store.setLatest("../../etc"));
    expect(malformed.message).toContain('"../../etc" is not a version id');
    expect(await store.readLatest()).toBe(v1);
  });

  it("refuses to publish a version twice", async () => {
    const { store } = harness();
    const bundle = sampleBundle();
    await store.publish(bundle);
    const err = await rejection(store.publish(bundle));
    expect(err.message).toMatch(/already exists/);
  });

  it("ignores partial versions (files but no manifest) and will not promote them", async () => {
    const { store, raw } = harness();
    const good = await store.publish(sampleBundle());
    const [partial] = versionIds(1, "20991231T235959Z");
    await raw.write(`versions/${partial}/draws.bin`, new Uint8Array(64));
    await raw.write(`versions/${partial}/report/report.html`, new TextEncoder().encode("half"));
    expect((await store.list()).map((v) => v.version)).toEqual([good]);
    expect((await rejection(store.setLatest(partial))).message).toMatch(/not found/);
    expect(await store.readLatest()).toBe(good);
  });

  it("detects tampered files on read and names them", async () => {
    const { store, raw } = harness();
    const bundle = sampleBundle();
    const version = await store.publish(bundle);
    const draws = (bundle.files.get("draws.bin") as Uint8Array).slice();
    draws[100] ^= 0x01;
    await raw.write(`versions/${version}/draws.bin`, draws);
    const err = await rejection(store.readBundle(version));
    expect(err.code).toBe("ARTIFACT");
    expect(err.message).toMatch(new RegExp(`checksum mismatch for draws\\.bin of version ${version}`));
    expect(err.message).toContain(kind === "local" ? join(store.uri, "versions", version, "draws.bin") : `${store.uri}/versions/${version}/draws.bin`);

    await raw.write(`versions/${version}/report/report.html`, new TextEncoder().encode("<p>defaced</p>"));
    expect((await rejection(store.readFile(version, "report/report.html"))).message).toMatch(/checksum mismatch for report\/report\.html/);

    await raw.remove(`versions/${version}/report/trace.png`);
    expect((await rejection(store.readFile(version, "report/trace.png"))).message).toMatch(/trace\.png is missing/);
  });

  it("reports an invalid manifest or pointer by name, and still lists the rest", async () => {
    const { store, raw } = harness();
    const [v1, v2] = versionIds(2);
    await store.publish(sampleBundle({ version: v1 }));
    const manifest = JSON.parse(new TextDecoder().decode(bundleEntries(sampleBundle({ version: v2 })).at(-1)?.bytes)) as Record<string, unknown>;
    delete manifest.draws;
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    // Sealed as written, so that what is reported is the manifest's own problem, not a mismatch with its seal.
    await raw.write(`versions/${v2}/seal.json`, encodeSeal(makeSeal(v2, bytes, null)));
    await raw.write(`versions/${v2}/manifest.json`, bytes);
    const err = await rejection(store.readManifest(v2));
    expect(err.message).toMatch(/manifest .*manifest\.json is invalid: missing required field `draws`/);
    const list = await store.list();
    expect(list.map((v) => [v.version, v.problem === null])).toEqual([
      [v1, true],
      [v2, false],
    ]);
    await raw.write("latest", new TextEncoder().encode("{oops"));
    expect((await rejection(store.readLatest())).message).toMatch(/latest pointer .*latest is not valid JSON/);
    expect((await store.list()).length).toBe(2);
  });

  it("leaves the previous latest intact and readable when publishing fails part-way", async () => {
    const { store, raw, failingAfter } = harness();
    const [v1] = versionIds(1);
    await store.publish(sampleBundle({ version: v1 }));
    const keysBefore = await raw.keys();
    const next = sampleBundle({ seed: 7 });
    const writes = bundleEntries(next).length + 2; // every file, the seal, the manifest, then the pointer
    for (let n = 0; n < writes; n++) {
      const err = await rejection(failingAfter(n).publish(next));
      expect(err.code).toBe("STORE");
      expect(err.message).toContain(`store ${store.uri}: cannot publish version ${next.manifest.version}`);
      expect(await store.readLatest()).toBe(v1);
      expect((await store.readBundle(v1)).manifest.version).toBe(v1);
      if (n < writes - 1) {
        // The version never became visible, and what was written was cleaned up.
        expect((await store.list()).map((v) => v.version)).toEqual([v1]);
        expect(await raw.keys()).toEqual(keysBefore);
      } else {
        // Every file was written; only moving the pointer failed: the version is complete but not latest.
        expect((await store.list()).map((v) => [v.version, v.latest])).toEqual([
          [v1, true],
          [next.manifest.version, false],
        ]);
      }
    }
  });
});

describe("parseModelRef: URI[@VERSION]", () => {
  it("pins a version id, follows latest for @latest, keeps other @s in the path, and refuses a mistyped id", () => {
    expect(parseModelRef("s3://b/p@20261201T003000Z-a1b2c3")).toEqual({ storeUri: "s3://b/p", version: "20261201T003000Z-a1b2c3" });
    expect(parseModelRef("./models@latest")).toEqual({ storeUri: "./models", version: null });
    expect(parseModelRef("/data/team@org/models")).toEqual({ storeUri: "/data/team@org/models", version: null });
    expect(() => parseModelRef("./models@20261201T003000Z-a1b2c")).toThrow(
      '--model ./models@20261201T003000Z-a1b2c: "20261201T003000Z-a1b2c" is not a version id (they look like 20261201T003000Z-a1b2c3)',
    );
  });
});
