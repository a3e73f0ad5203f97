// Issue 13, failure 2: a one-byte edit of manifest.json — an argument index in the model graph, `"args": [8, 6]` →
// `[8, 5]` — was accepted by `models promote` and served, moving the seed payload's interval. Now the manifest's
// digest, recorded at publish, is checked on promote, on every reload and at start: the edited version is refused and
// the old one keeps serving. Someone who also rewrites the digest is stopped by a signing key.
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifest } from "../../src/artifact/manifest.js";
import { encodeSeal, makeSeal } from "../../src/artifact/seal.js";
import { openStore } from "../../src/artifact/store.js";
import type { RunningServer } from "../../src/server/server.js";
import { LogCapture, seedBundle, storeWithSeedModel, type TempStore, startTestServer } from "./fixtures.js";

let store: TempStore & { version: string };
let server: RunningServer;
const logs = new LogCapture();
const KEY = "0123456789abcdef0123456789abcdef-signing";

beforeAll(async () => {
  store = await storeWithSeedModel();
  server = await startTestServer(store.dir, { pollInterval: 0.1, logStream: logs.stream, workers: 0 });
});

afterAll(async () => {
  await server.close();
  store.cleanup();
});

/** The seed payload's 95 % interval, seeded, from a server. */
async function interval(url: string): Promise<[number, number]> {
  const r = await fetch(`${url}/predict/v1.0.0/interval`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ data: { x: 5, category: 2 }, algo_param: { n_samples: 4000, seed: 7 } }),
  });
  expect(r.status).toBe(200);
  const body = (await r.json()) as { y_pred_lower: number; y_pred_upper: number };
  return [body.y_pred_lower, body.y_pred_upper];
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) if (await cond()) return;
  throw new Error("timed out");
}

/** Changes the second argument of the node whose args are [8, 6] to 5: one byte of manifest.json. */
async function editArgs(dir: string, version: string): Promise<Uint8Array> {
  const file = join(dir, "versions", version, "manifest.json");
  const text = await fs.readFile(file, "utf8");
  const edited = text.replace(/("args": \[\s*8,\s*)6(\s*\])/, "$15$2");
  expect(edited).not.toBe(text);
  expect([...edited].filter((c, i) => c !== text[i])).toEqual(["5"]);
  parseManifest(edited, "the edited manifest"); // a valid manifest: nothing but its digest tells
  await fs.writeFile(file, edited);
  return new TextEncoder().encode(edited);
}

describe("a manifest edited by one byte", () => {
  it("is refused by promote, by hot reload and at start; the old version keeps serving", async () => {
    const before = await interval(server.url);
    const edited = await store.store.publish(await seedBundle(), { promote: false });
    await editArgs(store.dir, edited);

    await expect(store.store.setLatest(edited)).rejects.toThrow(/manifest\.json does not match the digest recorded when version \S+ was published/);
    expect(await store.store.readLatest()).toBe(store.version);

    // Someone moves `latest` by hand (no digest in the pointer): the reload checks the version's seal and refuses it.
    await fs.writeFile(join(store.dir, "latest"), JSON.stringify({ version: edited, updatedAt: new Date().toISOString() }));
    await waitFor(() => logs.lines.some((l) => l.level === "error" && l.version === edited));
    const err = logs.lines.find((l) => l.level === "error" && l.version === edited) as { msg: string; err: { type: string; message: string; stack?: string } };
    expect(err.msg).toBe("cannot load the new model version; the old one keeps serving");
    // Our own error as the holder logs it: its type, no stack (pino's serialiser had made it {"type":"Object","stack":""}).
    expect(err.err.type).toBe("BayesServeError");
    expect(err.err.stack).toBeUndefined();
    expect(err.err.message).toMatch(/does not match the digest recorded when version \S+ was published .*: the manifest was modified or is corrupt/);
    expect(((await (await fetch(`${server.url}/model`)).json()) as { version: string }).version).toBe(store.version);
    expect(await interval(server.url)).toEqual(before);

    // Nor will a new server start on it.
    await expect(startTestServer(`${store.dir}@${edited}`, { workers: 0 })).rejects.toThrow(/does not match the digest recorded/);
    await fs.writeFile(join(store.dir, "latest"), JSON.stringify({ version: store.version, updatedAt: new Date().toISOString() }));
  });

  it("with its digest rewritten too, would change the answers — which a signing key prevents", async () => {
    const signed = openStore(store.dir, { signingKey: KEY });
    const version = await signed.publish(await seedBundle(), { promote: false });
    const genuine = await startTestServer(`${store.dir}@${version}`, { workers: 0, storeOptions: { signingKey: KEY } });
    const answer = await interval(genuine.url);
    await genuine.close();

    // The edit, and a seal recomputed for it (the HMAC cannot be, without the key).
    const sealFile = join(store.dir, "versions", version, "seal.json");
    const hmac = (JSON.parse(await fs.readFile(sealFile, "utf8")) as { hmacSha256: string }).hmacSha256;
    const bytes = await editArgs(store.dir, version);
    await fs.writeFile(sealFile, encodeSeal({ ...makeSeal(version, bytes, null), hmacSha256: hmac }));

    // Without the key only the digest is checked, and it matches: the edited model is served and answers differently
    // (the issue measured [6.38, 8.75] becoming [4.24, 10.82]).
    const unkeyed = await startTestServer(`${store.dir}@${version}`, { workers: 0, storeOptions: { signingKey: null } });
    const [lower, upper] = await interval(unkeyed.url);
    await unkeyed.close();
    expect(upper - lower).toBeGreaterThan((answer[1] - answer[0]) * 1.5);

    // With the key, it is refused.
    await expect(startTestServer(`${store.dir}@${version}`, { workers: 0, storeOptions: { signingKey: KEY } })).rejects.toThrow(
      /the signature of version \S+ does not match/,
    );
  });
});
