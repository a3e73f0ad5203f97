// Progress bars: one per chain on a terminal, updated as the chains (on worker threads) report; nothing at all, and
// no progress messages from the workers, when stderr is not a terminal.
import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fit } from "../../src/inference/index.js";
import { createProgress } from "../../src/inference/progress.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { simulateSeedData, SEED_SIMULATION } from "../../src/train/simulate.js";

function fakeStream(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  let out = "";
  const s = new Writable({
    write(chunk, _enc, done) {
      out += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text: () => string };
  (s as { isTTY: boolean }).isTTY = isTTY;
  s.text = () => out;
  return s;
}

const d = simulateSeedData({ ...SEED_SIMULATION, rows: 200, seed: 1 });
const data = { x: d.x, category: Float64Array.from(d.category), y: d.y };

/** Makes process.stderr look like a terminal (or not) for one test. */
function stderrIsTTY(value: boolean): void {
  const had = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
  Object.defineProperty(process.stderr, "isTTY", { value, configurable: true, writable: true });
  restore.push(() => (had ? Object.defineProperty(process.stderr, "isTTY", had) : delete (process.stderr as { isTTY?: boolean }).isTTY));
}
const restore: (() => void)[] = [];

/** Collects what is written to process.stderr (which looks like a terminal or not) during one test. */
function captureStderr(isTTY: boolean): string[] {
  stderrIsTTY(isTTY);
  const writes: string[] = [];
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  });
  return writes;
}

afterEach(() => {
  vi.restoreAllMocks();
  for (const r of restore.splice(0)) r();
});

describe("progress", () => {
  it("draws a bar per chain on a terminal and nothing elsewhere", () => {
    expect(createProgress(2, fakeStream(false))).toBeNull();
    const tty = fakeStream(true);
    const p = createProgress(2, tty);
    p?.update(0, 50, 100, true);
    p?.update(1, 100, 100, false);
    p?.finish();
    expect(tty.text()).toMatch(/chain 0 .* 50% warm-up/);
    expect(tty.text()).toMatch(/chain 1 .*100% done/);
  });

  it("fit on worker threads shows each chain reaching 100 % on a terminal", async () => {
    const writes = captureStderr(true);
    await fit(seedRegression, data, { chains: 2, draws: 200, tune: 200, seed: 1 });
    const text = writes.join("");
    expect(text).toMatch(/chain 0 .*100% done/);
    expect(text).toMatch(/chain 1 .*100% done/);
  });

  it("fit writes nothing when stderr is not a terminal", async () => {
    const writes = captureStderr(false);
    await fit(seedRegression, data, { chains: 2, draws: 200, tune: 200, seed: 1 });
    expect(writes).toEqual([]);
  });
});
