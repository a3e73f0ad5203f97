// Chains run apart and merged (train --chain-index/--stage, then train --merge), against a folder and a real
// S3-compatible server: the merged fit is the in-process fit with the same seed, bit for bit; a missing, damaged,
// duplicated or foreign chain is refused naming the chain and its file; a re-run chain replaces only its own file.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openStageStore } from "../../src/artifact/stage-store.js";
import { openStore } from "../../src/artifact/store.js";
import { seedRegression } from "../../src/models/seed-regression.js";
import { chainFileName, decodeChain, EXIT_STAGE_REFUSED, mergeChains, trainChain } from "../../src/train/chain-stage.js";
import { SEED_SIMULATION, train, type TrainOptions } from "../../src/train/pipeline.js";
import { useS3Server } from "../support/s3-server.js";
import { refusal } from "../support/refusal.js";

const tmp = () => mkdtempSync(path.join(tmpdir(), "chain-stage-"));
const gate = { maxRhat: 1.05, minEssBulk: 100, minEssTail: 100, maxDivergences: 0 };
const base = (store: string): TrainOptions => ({
  model: seedRegression,
  source: { simulate: SEED_SIMULATION },
  store,
  seed: 11,
  draws: 300,
  tune: 250,
  chains: 2,
  testFraction: 0.2,
  progress: false,
  report: false,
  gate,
});

describe("chains run apart and merged, staged in a folder", () => {
  it("gives the in-process fit's draws, sample stats, step sizes, metrics and diagnostics for the same seed", async () => {
    const stage = path.join(tmp(), "stage");
    const store = tmp();
    const staged = [await trainChain(base(store), 1, stage), await trainChain(base(store), 0, stage)];
    expect(staged.map((s) => s.file)).toEqual([path.join(stage, "chain-1.bin"), path.join(stage, "chain-0.bin")]);
    expect(staged[0].fingerprint).toBe(staged[1].fingerprint);
    expect(readdirSync(stage).sort()).toEqual(["chain-0.bin", "chain-1.bin"]);
    const merged = await mergeChains(base(store), stage);
    const inProcess = await train({ ...base(tmp()), compare: false });
    expect(merged.posterior.values).toEqual(inProcess.posterior.values);
    expect(merged.posterior.stats).toEqual(inProcess.posterior.stats);
    expect(merged.posterior.stepSizes).toEqual(inProcess.posterior.stepSizes);
    expect(merged.posterior.invMetrics).toEqual(inProcess.posterior.invMetrics);
    expect(merged.posterior.finalPositions).toEqual(inProcess.posterior.finalPositions);
    expect(merged.posterior.gradients).toEqual(inProcess.posterior.gradients);
    expect(merged.posterior.warmupDivergences).toEqual(inProcess.posterior.warmupDivergences);
    expect(merged.summary).toEqual(inProcess.summary);
    expect(merged.metrics).toEqual(inProcess.metrics);
    expect(merged.gate.passed).toBe(true);
    expect(merged.promoted).toBe(true);
    // Published as any fit is: verifiable, with the sampler record a warm start reads.
    const s = openStore(store);
    expect(await s.readLatest()).toBe(merged.version);
    expect((await s.verify(merged.version!)).problems).toEqual([]);
    const m = await s.readManifest(merged.version!);
    expect(m.sampler).toMatchObject({ chains: 2, draws: 300, tune: 250, seed: 11, stepSizes: inProcess.posterior.stepSizes });
    expect(m.draws).toMatchObject({ chains: 2, drawsPerChain: 300 });
  });

  it("warm-started chains keep the published fit's target acceptance, and the merge records it", async () => {
    const store = tmp();
    const at09 = await train({ ...base(store), targetAccept: 0.9, compare: false });
    const stage = path.join(tmp(), "stage");
    const warm = { ...base(store), seed: 12, warmStart: "latest" };
    await trainChain(warm, 0, stage);
    await trainChain(warm, 1, stage);
    const file = path.join(stage, "chain-1.bin");
    expect(decodeChain(readFileSync(file), file).header).toMatchObject({ targetAccept: 0.9, warmStart: { version: at09.version } });
    const merged = await mergeChains(warm, stage);
    expect(merged.posterior.settings.targetAccept).toBe(0.9);
    expect((await openStore(store).readManifest(merged.version!)).sampler).toMatchObject({ targetAccept: 0.9, warmStart: { version: at09.version } });
  });

  it("refuses a merge with a chain missing, naming the chain, the file expected and the command that stages it", async () => {
    const stage = path.join(tmp(), "stage");
    const store = tmp();
    await trainChain(base(store), 0, stage);
    const err = await refusal(mergeChains(base(store), stage));
    expect(err.code).toBe("STAGE");
    expect(err.exitCode).toBe(EXIT_STAGE_REFUSED);
    expect(err.message).toContain(`chain 1 of 2 missing from staging ${stage}`);
    expect(err.message).toContain(path.join(stage, "chain-1.bin"));
    expect(err.message).toContain(`--chain-index 1 --chains 2 --stage ${stage}`);
    expect(await openStore(store).list()).toEqual([]);
    // An empty staging area: every chain named.
    const none = await refusal(mergeChains(base(store), path.join(tmp(), "empty")));
    expect(none.message).toMatch(/chains 0, 1 of 2 missing/);
  });

  it("refuses a half-written or altered chain file, naming the chain's file; re-running that chain replaces only its file", async () => {
    const stage = path.join(tmp(), "stage");
    const store = tmp();
    await trainChain(base(store), 0, stage);
    await trainChain(base(store), 1, stage);
    const file1 = path.join(stage, "chain-1.bin");
    const file0 = path.join(stage, "chain-0.bin");
    const whole = readFileSync(file1);
    const chain0Bytes = readFileSync(file0);
    const chain0Mtime = statSync(file0).mtimeMs;

    writeFileSync(file1, whole.subarray(0, Math.floor(whole.length / 2)));
    let err = await refusal(mergeChains(base(store), stage));
    expect(err.exitCode).toBe(EXIT_STAGE_REFUSED);
    expect(err.message).toContain(`staged chain file ${file1} is damaged`);
    expect(err.message).toMatch(/cut short/);

    const flipped = Buffer.from(whole);
    flipped[flipped.length - 100] ^= 0x01; // one bit of a draw
    writeFileSync(file1, flipped);
    err = await refusal(mergeChains(base(store), stage));
    expect(err.message).toContain(`staged chain file ${file1} is damaged: its sha256 does not match`);

    writeFileSync(file1, "");
    err = await refusal(mergeChains(base(store), stage));
    expect(err.message).toContain(`${file1} is damaged`);
    expect(await openStore(store).list()).toEqual([]);

    // The pod retried: chain 1 again, with the same options, replaces its file and no other.
    await trainChain(base(store), 1, stage);
    // The same draws as before (its timings and time of staging differ).
    expect(decodeChain(readFileSync(file1), file1).result.unconstrained).toEqual(decodeChain(whole, file1).result.unconstrained);
    expect(readFileSync(file0).equals(chain0Bytes)).toBe(true);
    expect(statSync(file0).mtimeMs).toBe(chain0Mtime);
    expect(readdirSync(stage).sort()).toEqual(["chain-0.bin", "chain-1.bin"]); // no temporary file left
    const merged = await mergeChains(base(store), stage);
    expect(merged.published).toBe(true);
  });

  it("refuses chains of another fit (other data, seed, settings), a duplicated chain and a stray chain index", async () => {
    const stage = path.join(tmp(), "stage");
    const store = tmp();
    await trainChain(base(store), 0, stage);
    await trainChain({ ...base(store), source: { simulate: { ...SEED_SIMULATION, rows: 1500 } } }, 1, stage);
    let err = await refusal(mergeChains(base(store), stage));
    expect(err.message).toContain(`chain 1 (${path.join(stage, "chain-1.bin")}) is of another fit than this merge: the data differ`);

    await trainChain({ ...base(store), targetAccept: 0.9 }, 1, stage);
    err = await refusal(mergeChains(base(store), stage));
    expect(err.message).toMatch(/chain 1 .* is of another fit than this merge: setting targetAccept differs \(0\.9 ≠ null\)/);

    // The merge's own options are checked the same way: chains of seed 11, a merge that says seed 12.
    await trainChain(base(store), 1, stage);
    err = await refusal(mergeChains({ ...base(store), seed: 12 }, stage));
    expect(err.message).toMatch(/chain 0 .* is of another fit than this merge/);

    // chain-1.bin holding a copy of chain 0.
    writeFileSync(path.join(stage, "chain-1.bin"), readFileSync(path.join(stage, "chain-0.bin")));
    err = await refusal(mergeChains(base(store), stage));
    expect(err.message).toContain(`staged chain file ${path.join(stage, "chain-1.bin")} holds chain 0, not chain 1: a duplicate of chain 0`);

    await trainChain(base(store), 1, stage);
    writeFileSync(path.join(stage, "chain-2.bin"), readFileSync(path.join(stage, "chain-0.bin")));
    err = await refusal(mergeChains(base(store), stage));
    expect(err.message).toMatch(/holds chain 2 .* but this fit has --chains 2/);
    expect(await openStore(store).list()).toEqual([]);
  });

  it("checks the chain index and the staging area before sampling", async () => {
    const store = tmp();
    const err = await refusal(trainChain(base(store), 2, path.join(tmp(), "s")));
    expect(err.message).toContain("--chain-index must be an integer in 0..1 for --chains 2 (got 2)");
    const file = path.join(tmp(), "a-file");
    writeFileSync(file, "x");
    const notDir = await refusal(trainChain(base(store), 0, path.join(file, "stage")));
    expect(notDir.code).toBe("STORE");
    expect(notDir.message).toContain(`staging ${path.join(file, "stage")}`);
  });
});

describe("the command line: train --chain-index/--stage, train --merge", () => {
  const repo = path.resolve(import.meta.dirname, "../..");
  const cli = (args: string[]) =>
    spawnSync(
      process.execPath,
      ["--import", "tsx", path.join(repo, "src/cli/main.ts"), "train", "--simulate", "--seed", "4", "--draws", "200", "--tune", "150", "--no-report", ...args],
      {
        cwd: repo,
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1" },
      },
    );

  it("stages a chain, refuses a merge with the other missing (exit 4, naming it), and refuses mixed flags", () => {
    const stage = path.join(tmp(), "stage");
    const store = tmp();
    const staged = cli(["--store", store, "--chain-index", "1", "--stage", stage, "--json"]);
    expect(staged.status).toBe(0);
    expect(JSON.parse(staged.stdout.trim())).toMatchObject({ chain: 1, chains: 2, file: path.join(stage, "chain-1.bin") });
    const merge = cli(["--store", store, "--merge", stage]);
    expect(merge.status).toBe(EXIT_STAGE_REFUSED);
    expect(merge.stderr).toContain(`bayes-serve: chain 0 of 2 missing from staging ${stage}`);
    const mixed = cli(["--store", store, "--merge", stage, "--chain-index", "0"]);
    expect(mixed.status).toBe(1);
    expect(mixed.stderr).toContain("--merge URI merges staged chains; --chain-index/--stage run one");
    const alone = cli(["--store", store, "--chain-index", "0"]);
    expect(alone.stderr).toContain("--chain-index and --stage go together");
  });
});

describe("chains staged in S3 (s3rver)", () => {
  const s3 = useS3Server({ buckets: ["models"], setProcessEnv: true });

  it("stages each chain as one object, merges them into the in-process fit, and names a missing chain's object", async () => {
    const stage = "s3://models/staging/run-1";
    const store = "s3://models/seed";
    await trainChain(base(store), 0, stage);
    let err = await refusal(mergeChains(base(store), stage));
    expect(err.message).toContain("chain 1 of 2 missing from staging s3://models/staging/run-1 (expected s3://models/staging/run-1/chain-1.bin)");
    await trainChain(base(store), 1, stage);
    expect(await openStageStore(stage).list()).toEqual(["chain-0.bin", "chain-1.bin"]);
    const bytes = (await openStageStore(stage).get(chainFileName(1)))!;
    expect(decodeChain(bytes, "chain-1.bin").header).toMatchObject({ chain: 1, chains: 2, draws: 300, tune: 250 });

    const merged = await mergeChains(base(store), stage);
    const inProcess = await train({ ...base(tmp()), compare: false });
    expect(merged.posterior.values).toEqual(inProcess.posterior.values);
    expect(merged.summary).toEqual(inProcess.summary);
    expect(await openStore(store).readLatest()).toBe(merged.version);

    // A damaged object is refused by name.
    await openStageStore(stage).put(chainFileName(0), bytes.subarray(0, 1000));
    err = await refusal(mergeChains(base(store), stage));
    expect(err.message).toContain("staged chain file s3://models/staging/run-1/chain-0.bin is damaged");
    expect(s3.current.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });
});
