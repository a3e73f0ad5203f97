// A store read that never ends — a hung network file system, a FIFO, an S3 endpoint that drips — must not freeze the
// server: a check of the store that outlasts its deadline is given up as a store failure (the old version serving on)
// and the next check starts afresh; what the given-up check was loading never swaps in; and shutdown neither waits for
// it nor hangs at exit on a thread blocked in the kernel.
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { join, sep } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeLocalIo, type LocalIo } from "../../src/artifact/local-store.js";
import { openStore } from "../../src/artifact/store.js";
import { createLogger } from "../../src/server/logging.js";
import { ModelHolder } from "../../src/server/model-holder.js";
import { DEFAULT_LIMITS } from "../../src/server/schemas.js";
import { LogCapture, seedBundle, startTestServer, storeWithSeedModel, type TempStore } from "./fixtures.js";

const ROOT = join(import.meta.dirname, "..", "..");

/** The time bound a hung check would overrun: generous for a loaded machine, short beside "never". */
const PROMPTLY_MS = 5_000;

async function within<T>(p: Promise<T>, ms = PROMPTLY_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(cond: () => boolean, ms = PROMPTLY_MS): Promise<void> {
  for (const deadline = Date.now() + ms; !cond();) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** File operations whose reads of matching paths wait until released, as reads on a hung file system do. */
function gatedIo(): { io: LocalIo; hold(match: (path: string) => boolean): void; release(): void; readonly held: number } {
  let match: ((path: string) => boolean) | null = null;
  const waiting: (() => void)[] = [];
  let held = 0;
  return {
    io: {
      ...nodeLocalIo,
      readFile(path) {
        if (match?.(path) !== true) return nodeLocalIo.readFile(path);
        held++;
        return new Promise<void>((resolve) => waiting.push(resolve)).then(() => nodeLocalIo.readFile(path));
      },
    },
    hold: (m) => (match = m),
    release() {
      match = null;
      for (const resume of waiting.splice(0)) resume();
    },
    get held() {
      return held;
    },
  };
}

/** A holder of the store at `dir` whose reads can be held (gatedIo), its log captured, polling off, checks given up at `timeout` s. */
function gatedHolder(dir: string, timeout: number): { gate: ReturnType<typeof gatedIo>; logs: LogCapture; holder: ModelHolder } {
  const gate = gatedIo();
  const logs = new LogCapture();
  const holder = new ModelHolder({
    store: openStore(dir, { localIo: gate.io }),
    pinned: null,
    limits: DEFAULT_LIMITS,
    log: createLogger({ stream: logs.stream }),
    pollIntervalSeconds: 60,
    checkTimeoutSeconds: timeout,
  });
  return { gate, logs, holder };
}

let store: TempStore & { version: string };

beforeAll(async () => {
  store = await storeWithSeedModel();
});

afterAll(() => store.cleanup());

describe("a check of the store stuck in a read", () => {
  it("is given up at its deadline as a store failure; the next check loads a newer version; the stuck one, when it ends, swaps nothing in", async () => {
    const { gate, logs, holder } = gatedHolder(store.dir, 0.3);
    try {
      expect((await holder.loadInitial()).version).toBe(store.version);
      const v2 = await store.store.publish(await seedBundle({ seed: 2 }));
      gate.hold((path) => path.endsWith(join(v2, "draws.bin")));
      expect(await within(holder.check())).toBe("failed");
      expect(gate.held).toBe(1);
      expect(holder.current?.version).toBe(store.version);
      expect(holder.status.lastError).toMatchObject({ version: v2, kind: "store", attempts: 1 });
      expect(holder.status.lastError?.message).toBe(
        `store ${store.dir}: loading version ${v2} did not finish within 0.3 s: a read of the store is stuck ` +
          "(a hung network file system, or an S3 endpoint that stalls?); given up, to be tried again at the next check",
      );
      expect(logs.lines.some((l) => l.level === "error" && l.version === v2 && l.msg === "cannot load the new model version; the old one keeps serving")).toBe(
        true,
      );

      // A newer version is promoted, and the next check (not held by the stuck one) loads it.
      const v3 = await store.store.publish(await seedBundle({ seed: 3 }));
      expect(await within(holder.check())).toBe("swapped");
      expect(holder.current?.version).toBe(v3);

      // The stuck read ends at last: what it loaded is older than what serves, and is not swapped in.
      gate.release();
      await waitFor(() => logs.lines.some((l) => l.msg === "a check given up at its deadline has ended"));
      expect(holder.current?.version).toBe(v3);
      expect(holder.status.lastError).toBeNull();
    } finally {
      gate.release();
      await holder.stop();
    }
  });

  it("a load that outlasts its deadline but finishes (a large version read slowly) is swapped in then, and not started twice meanwhile", async () => {
    const { gate, logs, holder } = gatedHolder(store.dir, 0.3);
    try {
      await holder.loadInitial();
      const v2 = await store.store.publish(await seedBundle({ seed: 4 }));
      gate.hold((path) => path.endsWith(join(v2, "draws.bin")));
      expect(await within(holder.check())).toBe("failed");
      // Later checks see the load still reading and leave it be: one read of the draws, not one more a poll.
      expect(await within(holder.check())).toBe("failed");
      expect(await within(holder.check())).toBe("failed");
      expect(gate.held).toBe(1);
      gate.release();
      await waitFor(() => holder.current?.version === v2);
      expect(logs.lines.some((l) => l.msg === "model version swapped in by a load that outlasted its check's deadline")).toBe(true);
      expect(holder.status.lastError).toBeNull();
    } finally {
      gate.release();
      await holder.stop();
    }
  });

  it("at most two stuck checks at a time: later polls start none until one of their reads ends", async () => {
    const own = await storeWithSeedModel();
    const { gate, holder } = gatedHolder(own.dir, 0.2);
    try {
      await holder.loadInitial();
      gate.hold((path) => path.endsWith(`${sep}latest`));
      expect(await within(holder.check())).toBe("failed");
      expect(await within(holder.check())).toBe("failed");
      expect(gate.held).toBe(2);
      expect(holder.status.lastError).toMatchObject({ version: null, kind: "store" });
      expect(holder.status.lastError?.message).toContain("reading latest did not finish within 0.2 s");
      // A third check does not read at all: it would only be stuck the same way.
      expect(await within(holder.check(), 1_000)).toBe("failed");
      expect(gate.held).toBe(2);

      const v2 = await own.store.publish(await seedBundle({ seed: 2 }));
      gate.release();
      await new Promise((r) => setTimeout(r, 50));
      expect(await within(holder.check())).toBe("swapped");
      expect(holder.current?.version).toBe(v2);
    } finally {
      gate.release();
      await holder.stop();
      own.cleanup();
    }
  });
});

describe("shutting down with a store read stuck", () => {
  it("close() does not wait for the stuck check", async () => {
    const gate = gatedIo();
    const server = await startTestServer(store.dir, { pollInterval: 0.05, workers: 0, storeOptions: { localIo: gate.io } });
    try {
      gate.hold((path) => path.endsWith(`${sep}latest`));
      await waitFor(() => gate.held > 0);
      await within(server.close());
    } finally {
      gate.release();
      await server.close();
    }
  });

  it.skipIf(process.platform === "win32")(
    "on SIGTERM the process exits even though a thread is blocked in the kernel on a read that never returns",
    async () => {
      const fifo = join(store.dir, "never-written");
      execFileSync("mkfifo", [fifo]);
      const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test/server/stuck-read-host.ts"), store.dir, fifo], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      let stdout = "";
      child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once("exit", (code, signal) => resolve({ code, signal })),
      );
      try {
        await waitFor(() => stderr.includes("STUCK"), 60_000);
        // Let the blocked open() take its thread.
        await new Promise((r) => setTimeout(r, 200));
        const signalled = performance.now();
        child.kill("SIGTERM");
        // Grace 0, drain deadline 0.5 s, then a second for file operations to end: well under the old backstop's
        // 5.5 s (after which the process hung in exit for good).
        const { signal } = await within(exited, 4_000);
        expect(performance.now() - signalled).toBeLessThan(4_000);
        expect(signal).toBe("SIGKILL");
        const lines = stdout
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as { msg: string; level: string });
        expect(lines.some((l) => l.msg === "shut down cleanly")).toBe(true);
        expect(lines.at(-1)).toMatchObject({
          level: "error",
          msg: "file operations still under way (a store read on a hung file system?) cannot be cancelled and a normal exit would wait for them for ever: exiting by SIGKILL",
        });
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      }
    },
    90_000,
  );
});
