// Issue 13, failure 3: training data beyond ~450,000 rows crashed ("Maximum call stack size exceeded" in the split,
// naming no file), and the CSV was read whole. Here half a million rows are read from a file as a stream and trained
// on (short chains: the rows are the point), and an unexpected error names the model, the data and the step.
import { createWriteStream, mkdtempSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { seedRegression } from "../../src/models/seed-regression.js";
import { SEED_SIMULATION, train } from "../../src/train/pipeline.js";
import { seedCsvChunks } from "../../src/train/simulate.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "large-data-"));

async function writeSeedCsv(file: string, rows: number): Promise<void> {
  await pipeline(Readable.from(seedCsvChunks({ ...SEED_SIMULATION, rows })), createWriteStream(file));
}

describe("training on large data", () => {
  it("trains on 500,000 rows read from a CSV file", async () => {
    const dir = tmp();
    const csv = path.join(dir, "big.csv");
    await writeSeedCsv(csv, 500_000);
    const lines: string[] = [];
    const result = await train({
      model: seedRegression,
      source: { data: csv },
      store: path.join(dir, "store"),
      seed: 5,
      draws: 40,
      tune: 40,
      chains: 1,
      maxTreeDepth: 4,
      testFraction: 0.01,
      progress: false,
      report: false,
      log: (l) => lines.push(l),
    });
    expect(lines).toContain(`data: 500000 rows from ${csv} (495000 train, 5000 test)`);
    expect(result.published).toBe(true);
    expect(result.metrics.test_rows).toBe(5000);
    expect(result.summary.find((r) => r.name === "beta[2]")!.mean).toBeCloseTo(1.5, 1);
  });

  it("names the model, the data and the step of an unexpected error, keeping the error as its cause", async () => {
    const failure = new TypeError("Cannot read properties of undefined (reading 'rows')");
    const err = await train({
      model: seedRegression,
      source: { simulate: SEED_SIMULATION },
      store: path.join(tmp(), "store"),
      seed: 5,
      draws: 40,
      tune: 40,
      chains: 1,
      testFraction: 0.2,
      progress: false,
      report: false,
      log: () => {
        throw failure;
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`training model "${seedRegression.name}" on simulated data: preparing the training data failed`);
    expect((err as Error).cause).toBe(failure);
  });
});
