// Hot reload on a real listening server: requests fired without pause while `latest` moves get no failure and switch
// to the new version; a corrupt or unloadable version is logged and leaves the old one serving, and is retried with
// backoff (or at once when `latest` is rewritten) until it loads (issue 13, failure 5).
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/server/logging.js";
import { ModelHolder, publicReloadError } from "../../src/server/model-holder.js";
import { DEFAULT_LIMITS } from "../../src/server/schemas.js";
import type { RunningServer } from "../../src/server/server.js";
import { LogCapture, seedBundle, storeWithSeedModel, tempStore, type TempStore, startTestServer } from "./fixtures.js";

let store: TempStore & { version: string };
let server: RunningServer;
const logs = new LogCapture();

beforeAll(async () => {
  store = await storeWithSeedModel();
  server = await startTestServer(store.dir, { pollInterval: 0.1, logStream: logs.stream, workers: 1 });
});

afterAll(async () => {
  await server.close();
  store.cleanup();
});

const version = async (): Promise<string> => ((await (await fetch(`${server.url}/model`)).json()) as { version: string }).version;

async function waitFor(cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("timed out");
}

/** Fires requests back to back on `lanes` connections until stopped; counts statuses and errors. */
function hammer(lanes: number): { versionsSeen: Set<number>; stop(): Promise<{ ok: number; failed: string[]; versionsSeen: Set<number> }> } {
  let running = true;
  const failed: string[] = [];
  let ok = 0;
  const medians = new Set<number>();
  const bodies = [
    { kind: "point", body: { data: { x: 5, category: 2 }, algo_param: { n_samples: 100, seed: 1 } } },
    {
      kind: "interval",
      body: {
        data: [
          { x: 5, category: 2 },
          { x: 1, category: 0 },
        ],
      },
    },
    // Heavy: runs on the worker thread, which must also cope with the swap.
    { kind: "density", body: { data: { x: 5, category: 2 }, algo_param: { n_samples: 30_000 }, bins: 20 } },
  ];
  const lane = async (i: number): Promise<void> => {
    let k = i;
    while (running) {
      const { kind, body } = bodies[k++ % bodies.length];
      try {
        const r = await fetch(`${server.url}/predict/v1.0.0/${kind}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        const text = await r.text();
        if (r.status !== 200) failed.push(`${r.status} ${text}`);
        else {
          ok++;
          if (kind === "point") medians.add((JSON.parse(text) as { y_pred: number }).y_pred);
        }
      } catch (err) {
        failed.push(String(err));
      }
    }
  };
  const all = Promise.all(Array.from({ length: lanes }, (_, i) => lane(i)));
  return {
    versionsSeen: medians,
    async stop() {
      running = false;
      await all;
      return { ok, failed, versionsSeen: medians };
    },
  };
}

describe("hot reload", () => {
  it("swaps a newly promoted version in with no failed request", async () => {
    expect(await version()).toBe(store.version);
    const load = hammer(6);
    // Wait for answers from the old version (not a fixed delay: a loaded machine may take longer)...
    await waitFor(async () => load.versionsSeen.size >= 1);
    // A posterior fitted on other data: same model, different draws, so the seeded point answer changes.
    const next = await store.store.publish(await seedBundle({ seed: 2 }));
    await waitFor(async () => (await version()) === next);
    // ...and from the new one, while requests keep flowing.
    await waitFor(async () => load.versionsSeen.size >= 2);
    const { ok, failed, versionsSeen } = await load.stop();
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(10);
    // Answers came from both versions.
    expect(versionsSeen.size).toBe(2);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain(`bayes_serve_model_info{version="${next}",model="seed-regression"} 1`);
    expect(metrics).not.toContain(`version="${store.version}"`);
    expect(logs.lines.some((l) => l.msg === "model version swapped in" && l.version === next)).toBe(true);
  });

  it("a corrupt new version is logged, counted, the old one keeps serving, and it is retried until it is whole", async () => {
    const serving = await version();
    const bad = await store.store.publish(await seedBundle({ seed: 3 }), { promote: false });
    // Flip bytes of its draws: the checksum no longer matches.
    const file = join(store.dir, "versions", bad, "draws.bin");
    const original = await fs.readFile(file);
    const bytes = Buffer.from(original);
    bytes[10] ^= 0xff;
    await fs.writeFile(file, bytes);
    const load = hammer(3);
    await store.store.setLatest(bad);
    await waitFor(async () => logs.lines.some((l) => l.level === "error" && l.version === bad));
    // Retried with backoff (poll interval 0.1 s: then 0.2, 0.4 …), logged once at error, then at warn.
    await waitFor(async () => logs.lines.filter((l) => l.level === "warn" && l.version === bad).length >= 2);
    const { failed, ok } = await load.stop();
    expect(logs.lines.filter((l) => l.level === "error" && l.version === bad)).toHaveLength(1);
    const retries = logs.lines.filter((l) => l.version === bad && (l.level === "error" || l.level === "warn")) as {
      attempts: number;
      retryInSeconds: number;
    }[];
    expect(retries.slice(0, 3).map((l) => [l.attempts, l.retryInSeconds])).toEqual([
      [1, 0.1],
      [2, 0.2],
      [3, 0.4],
    ]);
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(0);
    expect(await version()).toBe(serving);
    const err = logs.lines.find((l) => l.level === "error" && l.version === bad) as { msg: string; err: { message: string }; serving: string };
    expect(err.msg).toBe("cannot load the new model version; the old one keeps serving");
    expect(err.serving).toBe(serving);
    expect(err.err.message).toMatch(/checksum mismatch for draws\.bin/);

    // What clients see says what is wrong, but not where the store is: operators have the log.
    const modelResponse = await fetch(`${server.url}/model`);
    const modelText = await modelResponse.text();
    const model = JSON.parse(modelText) as {
      reload: { last_error: { version: string; kind: string; message: string; attempts: number; next_retry_at: string } };
    };
    expect(model.reload.last_error).toMatchObject({
      version: bad,
      kind: "damaged",
      message: `version ${bad} cannot be loaded: the version is damaged or cannot be served (details in the server log)`,
    });
    expect(model.reload.last_error.attempts).toBeGreaterThanOrEqual(3);
    expect(Date.parse(model.reload.last_error.next_retry_at)).toBeGreaterThan(Date.now() - 1000);
    expect(modelText).not.toContain(store.dir);
    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(200);
    const readyText = await ready.text();
    expect(JSON.parse(readyText)).toEqual({
      status: "stale",
      version: serving,
      detail: `version ${bad} cannot be loaded: the version is damaged or cannot be served (details in the server log); serving ${serving}, retrying`,
    });
    expect(readyText).not.toContain(store.dir);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/bayes_serve_model_reload_failures_total [1-9]/);

    // The file is restored: the next retry loads it, and it serves.
    await fs.writeFile(file, original);
    await waitFor(async () => (await version()) === bad);
    expect(await (await fetch(`${server.url}/health/ready`)).json()).toEqual({ status: "ready", version: bad });
    expect(((await (await fetch(`${server.url}/model`)).json()) as { reload: { last_error: unknown } }).reload.last_error).toBeNull();
  });

  it("a store with nothing published yet is said to be empty, not damaged, and polled at every interval", async () => {
    const empty = tempStore();
    try {
      const holder = new ModelHolder({
        store: empty.store,
        pinned: null,
        limits: DEFAULT_LIMITS,
        log: createLogger({ stream: new LogCapture().stream }),
        pollIntervalSeconds: 60,
      });
      await expect(holder.loadInitial()).rejects.toThrow(/has no model yet \(no latest version\)/);
      expect(holder.status.lastError).toMatchObject({ version: null, kind: "empty", attempts: 1 });
      // Not the backoff of a damaged version: the next poll looks again.
      expect(Date.parse(holder.status.lastError!.nextRetryAt!) - Date.parse(holder.status.lastError!.at)).toBe(60_000);
      expect(publicReloadError(holder.status.lastError)?.message).toBe("no model to load: nothing has been published to the store yet");
      await empty.store.publish(await seedBundle());
      expect(await holder.check()).toBe("swapped");
      expect(holder.status.lastError).toBeNull();
    } finally {
      empty.cleanup();
    }
  });

  it("a version that failed is retried at once when latest is rewritten (promoted again), however long the backoff", async () => {
    // A store of its own: the server above polls the shared one.
    const own = await storeWithSeedModel();
    const logsHere = new LogCapture();
    const holder = new ModelHolder({
      store: own.store,
      pinned: null,
      limits: DEFAULT_LIMITS,
      log: createLogger({ stream: logsHere.stream }),
      pollIntervalSeconds: 600,
    });
    await holder.loadInitial();
    const serving = holder.current?.version;
    const bad = await own.store.publish(await seedBundle({ seed: 6 }), { promote: false });
    const file = join(own.dir, "versions", bad, "draws.bin");
    const original = await fs.readFile(file);
    await fs.rm(file);
    await own.store.setLatest(bad);
    expect(await holder.check()).toBe("failed");
    expect(holder.status.lastError).toMatchObject({ version: bad, kind: "damaged", attempts: 1 });
    expect(holder.status.lastError?.message).toMatch(/draws\.bin is missing/);
    await fs.writeFile(file, original);
    // Within the backoff (600 s) a check does not try it again...
    expect(await holder.check()).toBe("failed");
    expect(holder.current?.version).toBe(serving);
    // ...but `models promote` rewrites latest, and that is tried at once.
    await new Promise((r) => setTimeout(r, 5));
    await own.store.setLatest(bad);
    expect(await holder.check()).toBe("swapped");
    expect(holder.current?.version).toBe(bad);
    expect(holder.status.lastError).toBeNull();
    await holder.stop();
    own.cleanup();
  });

  it("a version whose model cannot be served is refused the same way", async () => {
    const serving = await version();
    // A manifest that is valid as a manifest but holds no servable model.
    const broken = await seedBundle({ seed: 4, model: { format: "bayes-serve/model@1", name: "nothing" } });
    await store.store.publish(broken);
    await waitFor(async () => logs.lines.some((l) => l.level === "error" && l.version === broken.manifest.version));
    expect(await version()).toBe(serving);
    const err = logs.lines.find((l) => l.level === "error" && l.version === broken.manifest.version) as { err: { message: string } };
    expect(err.err.message).toMatch(/cannot serve its model/);
    // And once a good version is promoted, it is picked up.
    const good = await store.store.publish(await seedBundle({ seed: 5 }));
    await waitFor(async () => (await version()) === good);
  });
});
