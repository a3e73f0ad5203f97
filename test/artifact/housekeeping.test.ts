// Housekeeping, on a local folder and on S3: `prune` keeps the newest N versions, `latest` and the pinned ones and
// removes every object of the others; a publish removes what interrupted publishes and removals left behind, once it
// is old enough not to be a publish running in another process.
import { mkdtempSync, rmSync } from "node:fs";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useS3Server } from "../support/s3-server.js";
import { sampleBundle, versionIds } from "./fixtures/bundles.js";
import { localRawStore, s3RawStore, type RawStore } from "./fixtures/raw-store.js";

const s3 = useS3Server({ buckets: ["models"], setProcessEnv: false });
const tmpRoot = mkdtempSync(join(tmpdir(), "bayes-serve-housekeeping-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

let counter = 0;
const harness = (kind: "local" | "s3"): RawStore =>
  kind === "local" ? localRawStore(join(tmpRoot, `s${counter++}`)) : s3RawStore(s3.current.env, "models", `housekeeping-${counter++}`);

describe.each(["local", "s3"] as const)("%s store", (kind) => {
  it("prune keeps the newest N, latest and the pinned versions, and removes every object of the others", async () => {
    const { store, raw } = harness(kind);
    const ids = versionIds(5);
    for (const [i, v] of ids.entries()) await store.publish(sampleBundle({ version: v, seed: i + 1 }));
    const [v1, v2, v3, v4, v5] = ids;
    await store.setLatest(v2);
    const before = await raw.keys();

    const dry = await store.prune({ keep: 2, pinned: [v1], dryRun: true });
    expect(dry).toEqual({ removed: [v3], kept: [v1, v2, v4, v5], leftovers: [] });
    expect(await raw.keys()).toEqual(before);

    expect(await store.prune({ keep: 2, pinned: [v1] })).toEqual({ removed: [v3], kept: [v1, v2, v4, v5], leftovers: [] });
    expect((await raw.keys()).filter((k) => k.includes(v3))).toEqual([]);
    expect((await store.list()).map((v) => v.version)).toEqual([v1, v2, v4, v5]);
    for (const v of [v1, v2, v4, v5]) expect((await store.verify(v)).problems).toEqual([]);

    // Never latest, whatever N.
    expect((await store.prune({ keep: 0 })).removed).toEqual([v1, v4, v5]);
    expect((await store.list()).map((v) => [v.version, v.latest])).toEqual([[v2, true]]);
    expect(await store.readLatest()).toBe(v2);
  });

  it("prune refuses a bad count or version id", async () => {
    const { store } = harness(kind);
    await expect(store.prune({ keep: -1 })).rejects.toThrow(/--keep must be a whole number/);
    await expect(store.prune({ keep: 1, pinned: ["../x"] })).rejects.toThrow(/"\.\.\/x" is not a version id/);
  });

  it("a publish removes what interrupted publishes left, once it is old enough", async () => {
    const { store, raw, open, uri } = harness(kind);
    const [stale, fresh] = versionIds(2, "20200101T000000Z");
    const good = await store.publish(sampleBundle());
    if (kind === "local") {
      await raw.write(`versions/.partial-${stale}-0a0b0c0d/draws.bin`, new Uint8Array(8));
      await raw.write(`versions/.partial-${fresh}-0a0b0c0e/draws.bin`, new Uint8Array(8));
      await raw.write(`versions/.removing-${stale}-0a0b0c0f/draws.bin`, new Uint8Array(8));
      await raw.write(".latest-0badf00d.tmp", new Uint8Array(8));
      const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
      await fs.utimes(join(uri, "versions", `.partial-${stale}-0a0b0c0d`), twoHoursAgo, twoHoursAgo);
      await fs.utimes(join(uri, ".latest-0badf00d.tmp"), twoHoursAgo, twoHoursAgo);
      await store.publish(sampleBundle({ seed: 2 }));
      // The stale partial, the half-removed version and the old pointer file are gone; the fresh partial may be a
      // publish in progress, and stays.
      const hidden = (await raw.keys()).filter((k) => k.split("/").some((part) => part.startsWith(".")));
      expect(hidden).toEqual([`versions/.partial-${fresh}-0a0b0c0e/draws.bin`]);
    } else {
      // Objects of a version with no manifest: a publish killed part-way (s3rver dates every object now, so the
      // store's leftover age stands in for the hour).
      await raw.write(`versions/${stale}/draws.bin`, new Uint8Array(8));
      await raw.write(`versions/${stale}/report/report.html`, new Uint8Array(8));
      await store.publish(sampleBundle({ seed: 2 }));
      expect((await raw.keys()).filter((k) => k.includes(stale))).toHaveLength(2);
      await open({ leftoverAgeMs: 0 }).publish(sampleBundle({ seed: 3 }));
      expect((await raw.keys()).filter((k) => k.includes(stale))).toEqual([]);
    }
    expect((await store.verify(good)).problems).toEqual([]);
    expect((await store.list()).length).toBe(kind === "local" ? 2 : 3);
  });
});
