// The integrity of a whole version, on a local folder and on S3: the manifest's digest is recorded beside it (its
// seal) and in `latest`, and checked on every read; a one-byte edit of manifest.json is refused wherever the version
// is read, promoted or listed; `verify` names every missing or corrupt file; a version without a seal is refused
// until `seal` checks it; with a signing key, only versions signed with it are accepted.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/artifact/bundle.js";
import { parseManifest } from "../../src/artifact/manifest.js";
import { encodeSeal, makeSeal, signingKeyFromEnv } from "../../src/artifact/seal.js";
import { BayesServeError } from "../../src/errors.js";
import { useS3Server } from "../support/s3-server.js";
import { sampleBundle, versionIds } from "./fixtures/bundles.js";
import { localRawStore, s3RawStore, type RawStore } from "./fixtures/raw-store.js";

const s3 = useS3Server({ buckets: ["models"], setProcessEnv: false });
const tmpRoot = mkdtempSync(join(tmpdir(), "bayes-serve-integrity-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

let counter = 0;
const harness = (kind: "local" | "s3"): RawStore =>
  kind === "local" ? localRawStore(join(tmpRoot, `s${counter++}`)) : s3RawStore(s3.current.env, "models", `integrity-${counter++}`);

const KEY = "a signing key of forty characters, ok...";
const decode = (b: Uint8Array): string => new TextDecoder().decode(b);
const encode = (s: string): Uint8Array => new TextEncoder().encode(s);

/** manifest.json with one byte changed (0.3886 → 0.3887 in metrics.mape): still a valid manifest. */
function editOneByte(bytes: Uint8Array): Uint8Array {
  const text = decode(bytes);
  const edited = text.replace('"mape": 0.3886', '"mape": 0.3887');
  expect(edited).not.toBe(text);
  expect(edited.length).toBe(text.length);
  parseManifest(edited, "the edited manifest"); // only the seal can tell
  return encode(edited);
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

describe.each(["local", "s3"] as const)("%s store: every version is sealed", (kind) => {
  it("records the manifest's digest beside it and in latest", async () => {
    const { store, raw } = harness(kind);
    const v = await store.publish(sampleBundle());
    const digest = sha256Hex(await raw.read(`versions/${v}/manifest.json`));
    expect(JSON.parse(decode(await raw.read(`versions/${v}/seal.json`)))).toEqual({ version: v, manifestSha256: digest });
    expect((JSON.parse(decode(await raw.read("latest"))) as { manifestSha256: string }).manifestSha256).toBe(digest);
    expect(await store.readLatestPointer()).toMatchObject({ version: v, manifestSha256: digest });
    expect(await store.verify(v)).toEqual({ version: v, latest: true, problems: [] });
  });

  it("refuses a manifest edited by one byte wherever it is read: load, promote, read a file, list, verify", async () => {
    const { store, raw } = harness(kind);
    const [v1, v2] = versionIds(2);
    await store.publish(sampleBundle({ version: v1 }));
    await store.publish(sampleBundle({ version: v2, seed: 2 }), { promote: false });
    const key = `versions/${v2}/manifest.json`;
    await raw.write(key, editOneByte(await raw.read(key)));
    const refused =
      /manifest\.json does not match the digest recorded when version \S+ was published \(seal\.json says sha256 [0-9a-f]{64}, the file has [0-9a-f]{64}\): the manifest was modified or is corrupt/;
    // One at a time: started together, a later one may reject before it is awaited (an unhandled rejection).
    for (const attempt of [
      () => store.readManifest(v2),
      () => store.readBundle(v2),
      () => store.readBundle(v2, { files: "posterior" }),
      () => store.setLatest(v2),
      () => store.readFile(v2, "manifest.json"),
      () => store.readFile(v2, "report/report.html"),
    ]) {
      const err = await rejection(attempt());
      expect(err.code).toBe("ARTIFACT");
      expect(err.message).toMatch(refused);
    }
    expect(await store.readLatest()).toBe(v1);
    const listed = await store.list();
    expect(listed.map((v) => [v.version, v.problem === null])).toEqual([
      [v1, true],
      [v2, false],
    ]);
    expect(listed[1].problem).toMatch(refused);
    const check = await store.verify(v2);
    expect(check.problems).toHaveLength(1);
    expect(check.problems[0]).toMatch(refused);
  });

  it("refuses the version latest names when it changed after it was promoted, even with a matching seal", async () => {
    const { store, raw } = harness(kind);
    const v = await store.publish(sampleBundle());
    const pointer = await store.readLatestPointer();
    const edited = editOneByte(await raw.read(`versions/${v}/manifest.json`));
    await raw.write(`versions/${v}/seal.json`, encodeSeal(makeSeal(v, edited, null)));
    await raw.write(`versions/${v}/manifest.json`, edited);
    const err = await rejection(store.readBundle(v, { files: "posterior", manifestSha256: pointer?.manifestSha256 }));
    expect(err.message).toMatch(/is not the manifest that was promoted \(latest recorded sha256 [0-9a-f]{64}, the file and its seal have [0-9a-f]{64}\)/);
    expect((await store.verify(v)).problems[0]).toMatch(/is not the manifest that was promoted/);
  });

  it("names every missing or corrupt file of a version", async () => {
    const { store, raw } = harness(kind);
    const v = await store.publish(sampleBundle());
    const draws = await raw.read(`versions/${v}/draws.bin`);
    draws[17] ^= 0x40;
    await raw.write(`versions/${v}/draws.bin`, draws);
    await raw.remove(`versions/${v}/report/trace.png`);
    const { problems } = await store.verify(v);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(new RegExp(`checksum mismatch for draws\\.bin of version ${v} .*the file is corrupt or was modified`));
    expect(problems[1]).toMatch(/trace\.png is missing \(the manifest lists it\)/);
  });

  it("refuses a version without a seal until `seal` has checked every file of it", async () => {
    const { store, raw } = harness(kind);
    const v = await store.publish(sampleBundle());
    await raw.remove(`versions/${v}/seal.json`);
    const unsealed = await rejection(store.readBundle(v));
    expect(unsealed.message).toMatch(
      new RegExp(`version ${v} has no seal .*seal\\.json\\), so its manifest cannot be verified.*\`bayes-serve models seal ${v}\``),
    );
    expect((await store.list())[0].problem).toMatch(/has no seal/);
    expect((await store.verify(v)).problems[0]).toMatch(/has no seal/);

    const draws = await raw.read(`versions/${v}/draws.bin`);
    const corrupt = draws.slice();
    corrupt[3] ^= 1;
    await raw.write(`versions/${v}/draws.bin`, corrupt);
    expect((await rejection(store.seal(v))).message).toMatch(/checksum mismatch for draws\.bin/);
    await raw.write(`versions/${v}/draws.bin`, draws);
    await store.seal(v);
    expect((await store.readBundle(v)).manifest.version).toBe(v);
    expect((await rejection(store.seal(v))).message).toMatch(/already has a seal/);
  });

  it("with a signing key, accepts only versions signed with it", async () => {
    const { store, raw, open } = harness(kind);
    const signed = open({ signingKey: KEY });
    const [v1, v2] = versionIds(2);
    await signed.publish(sampleBundle({ version: v1 }));
    const seal = JSON.parse(decode(await raw.read(`versions/${v1}/seal.json`))) as { hmacSha256?: string };
    expect(seal.hmacSha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await signed.readBundle(v1)).manifest.version).toBe(v1);
    expect((await store.readBundle(v1)).manifest.version).toBe(v1); // no key: the digest is still checked
    expect((await rejection(open({ signingKey: KEY.replace("a", "b") }).readBundle(v1))).message).toMatch(
      /the signature of version \S+ does not match .* under the key in BAYES_SERVE_SIGNING_KEY/,
    );

    await store.publish(sampleBundle({ version: v2, seed: 2 }), { promote: false });
    expect((await rejection(signed.readBundle(v2))).message).toMatch(/is not signed, and BAYES_SERVE_SIGNING_KEY is set/);
    expect((await rejection(signed.setLatest(v2))).message).toMatch(/is not signed/);
    // Signed once checked (a key set after versions were published), and accepted from then on.
    await signed.seal(v2);
    expect((await signed.readBundle(v2)).manifest.version).toBe(v2);

    // Someone who can write to the store but has no key edits the manifest and recomputes its digest: the digest
    // alone cannot tell (documented), the signature can.
    const edited = editOneByte(await raw.read(`versions/${v1}/manifest.json`));
    await raw.write(`versions/${v1}/seal.json`, encodeSeal({ ...makeSeal(v1, edited, null), hmacSha256: seal.hmacSha256 }));
    await raw.write(`versions/${v1}/manifest.json`, edited);
    expect((await rejection(signed.readBundle(v1))).message).toMatch(/the signature of version/);
    // And `seal` with the key will not sign over a manifest that no longer matches its digest.
    await raw.write(`versions/${v1}/seal.json`, encodeSeal(makeSeal(v1, encode("something else"), null)));
    expect((await rejection(signed.seal(v1))).message).toMatch(/does not match the digest recorded/);
  });
});

describe("the signing key", () => {
  it("comes from BAYES_SERVE_SIGNING_KEY and must be long enough", () => {
    expect(signingKeyFromEnv({})).toBeNull();
    expect(signingKeyFromEnv({ BAYES_SERVE_SIGNING_KEY: KEY })).toBe(KEY);
    expect(() => signingKeyFromEnv({ BAYES_SERVE_SIGNING_KEY: "short" })).toThrow(/BAYES_SERVE_SIGNING_KEY is 5 characters long; use at least 32/);
  });
});
