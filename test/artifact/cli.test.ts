// `bayes-serve models list | show | promote` and `bayes-serve export`, run in-process through commander exactly as
// main.ts wires them (a root program with -V/--version), against a local store and against S3 (s3rver).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, describe, expect, it } from "vitest";
import { BayesServeError } from "../../src/errors.js";
import { openStore, type OpenStoreOptions } from "../../src/artifact/store.js";
import { register as registerExport } from "../../src/cli/export.js";
import { register as registerModels } from "../../src/cli/models.js";
import { useS3Server } from "../support/s3-server.js";
import { sampleBundle, versionIds } from "./fixtures/bundles.js";

const s3 = useS3Server({ buckets: ["models"], setProcessEnv: false });
const dir = mkdtempSync(join(tmpdir(), "bayes-serve-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], storeOptions?: OpenStoreOptions): Promise<string> {
  let out = "";
  const program = new Command().name("bayes-serve").version("0.1.0").exitOverride();
  const options = { output: { stdout: (s: string) => void (out += s) }, storeOptions };
  registerModels(program, options);
  registerExport(program, options);
  await program.parseAsync(args, { from: "user" });
  return out;
}

async function failure(args: string[], storeOptions?: OpenStoreOptions): Promise<BayesServeError> {
  try {
    await run(args, storeOptions);
  } catch (err) {
    expect(err).toBeInstanceOf(BayesServeError);
    return err as BayesServeError;
  }
  throw new Error("expected the command to fail");
}

describe("bayes-serve models", () => {
  const store = join(dir, "artifacts");
  const [v1, v2] = versionIds(2);

  it("lists an empty store", async () => {
    expect(await run(["models", "list", "--store", store])).toBe(`no versions in ${store}\n`);
    expect(JSON.parse(await run(["models", "list", "--store", store, "--json"]))).toEqual([]);
  });

  it("lists versions oldest first with latest marked", async () => {
    await openStore(store).publish(sampleBundle({ version: v1 }));
    await openStore(store).publish(sampleBundle({ version: v2, seed: 2 }));
    const text = await run(["models", "list", "--store", store]);
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ {2}VERSION\s+CREATED\s+GATE\s+STATUS$/);
    expect(lines[1]).toMatch(new RegExp(`^  ${v1}\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+passed\\s+ok$`));
    expect(lines[2]).toMatch(new RegExp(`^\\* ${v2}\\s+\\S+\\s+passed\\s+ok$`));
    const json = JSON.parse(await run(["models", "list", "--store", `file://${store}`, "--json"])) as { version: string; latest: boolean }[];
    expect(json.map((v) => [v.version, v.latest])).toEqual([
      [v1, false],
      [v2, true],
    ]);
  });

  it("shows a manifest, by id or as latest", async () => {
    const shown = JSON.parse(await run(["models", "show", v1, "--store", store])) as { version: string; files: object };
    expect(shown.version).toBe(v1);
    expect(Object.keys(shown.files)).toContain("draws.bin");
    expect((JSON.parse(await run(["models", "show", "latest", "--store", store])) as { version: string }).version).toBe(v2);
    expect((await failure(["models", "show", "20300101T000000Z-000000", "--store", store])).message).toMatch(/version 20300101T000000Z-000000 not found/);
  });

  it("promotes, rolls back, and refuses unknown or corrupt versions", async () => {
    expect(await run(["models", "promote", v1, "--store", store])).toBe(`latest: ${v2} -> ${v1} in ${store}\n`);
    expect(await openStore(store).readLatest()).toBe(v1);
    expect(await run(["models", "promote", v2, "--store", store])).toBe(`latest: ${v1} -> ${v2} in ${store}\n`);

    const unknown = await failure(["models", "promote", "20300101T000000Z-000000", "--store", store]);
    expect(unknown.code).toBe("ARTIFACT");
    expect(unknown.message).toContain(`store ${store}: cannot read version 20300101T000000Z-000000: version 20300101T000000Z-000000 not found`);
    expect(unknown.exitCode).not.toBe(0);

    const drawsFile = join(store, "versions", v1, "draws.bin");
    const bytes = readFileSync(drawsFile);
    bytes[8] ^= 0xff;
    writeFileSync(drawsFile, bytes);
    const corrupt = await failure(["models", "promote", v1, "--store", store]);
    expect(corrupt.message).toContain(`checksum mismatch for draws.bin of version ${v1} (${drawsFile})`);
    expect(await openStore(store).readLatest()).toBe(v2);
  });
});

/** Runs a command that is expected to fail: what it printed before failing, and the error. */
async function failing(args: string[], storeOptions?: OpenStoreOptions): Promise<{ out: string; err: BayesServeError }> {
  let out = "";
  const program = new Command().name("bayes-serve").version("0.1.0").exitOverride();
  registerModels(program, { output: { stdout: (s: string) => void (out += s) }, storeOptions });
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (err) {
    expect(err).toBeInstanceOf(BayesServeError);
    return { out, err: err as BayesServeError };
  }
  throw new Error(`expected the command to fail; it printed ${out}`);
}

describe("bayes-serve models verify | seal | prune, and damaged versions in list and show", () => {
  const store = join(dir, "damaged");
  const [v1, v2, v3] = versionIds(3, "20270101T000000Z");

  it("says which versions are damaged, and why, in list, show and verify", async () => {
    for (const [i, v] of [v1, v2, v3].entries()) await openStore(store).publish(sampleBundle({ version: v, seed: i + 1 }));
    expect(await run(["models", "verify", "--store", store])).toBe(`ok       ${v3}\n`);
    expect(await run(["models", "verify", "--all", "--store", store])).toBe(`ok       ${v1}\nok       ${v2}\nok       ${v3}\n`);

    // v1: draws corrupt; v2: draws missing and a one-byte edit of the manifest.
    const draws = join(store, "versions", v1, "draws.bin");
    const bytes = readFileSync(draws);
    bytes[40] ^= 0x10;
    writeFileSync(draws, bytes);
    rmSync(join(store, "versions", v2, "draws.bin"));
    const manifestFile = join(store, "versions", v2, "manifest.json");
    writeFileSync(manifestFile, readFileSync(manifestFile, "utf8").replace('"mape": 0.3886', '"mape": 0.3887'));

    const lines = (await run(["models", "list", "--store", store])).trimEnd().split("\n");
    expect(lines[1]).toMatch(new RegExp(`^  ${v1}\\s+\\S+\\s+passed\\s+DAMAGED: checksum mismatch for draws\\.bin of version ${v1}`));
    expect(lines[2]).toMatch(
      new RegExp(`^  ${v2}\\s+-\\s+-\\s+DAMAGED: store \\S+: cannot read version ${v2}: \\S+manifest\\.json does not match the digest recorded`),
    );
    expect(lines[3]).toMatch(new RegExp(`^\\* ${v3}\\s+\\S+\\s+passed\\s+ok$`));
    // --quick reads manifests and seals only: the edited manifest is still caught, the corrupt draws are not looked at.
    const quick = (await run(["models", "list", "--quick", "--store", store])).trimEnd().split("\n");
    expect(quick[1]).toMatch(/manifest ok$/);
    expect(quick[2]).toMatch(/DAMAGED/);
    const json = JSON.parse(await run(["models", "list", "--json", "--store", store])) as { version: string; problems: string[] }[];
    expect(json.map((v) => [v.version, v.problems.length])).toEqual([
      [v1, 1],
      [v2, 1],
      [v3, 0],
    ]);

    const shown = await failing(["models", "show", v1, "--store", store]);
    expect((JSON.parse(shown.out) as { version: string }).version).toBe(v1);
    expect(shown.err.message).toMatch(new RegExp(`^version ${v1} is damaged: checksum mismatch for draws\\.bin`));
    const unreadable = await failing(["models", "show", v2, "--store", store]);
    expect(unreadable.out).toBe("");
    expect(unreadable.err.message).toMatch(new RegExp(`^version ${v2} is damaged: .*does not match the digest recorded`));

    const all = await failing(["models", "verify", "--all", "--store", store]);
    expect(all.out).toMatch(
      new RegExp(`^DAMAGED  ${v1}: checksum mismatch for draws\\.bin.*\\nDAMAGED  ${v2}: .*does not match the digest recorded.*\\nok       ${v3}\\n$`),
    );
    expect(all.err.message).toBe(`2 of 3 version(s) damaged in ${store}: ${v1}, ${v2}`);
    expect((await failure(["models", "promote", v2, "--store", store])).message).toMatch(/does not match the digest recorded/);
    expect((await failure(["models", "verify", v1, "--all", "--store", store])).message).toBe("give a version or --all, not both");
  });

  it("seals a version published without a seal, once every file checks out", async () => {
    const legacy = join(dir, "legacy");
    const [v] = versionIds(1);
    await openStore(legacy).publish(sampleBundle({ version: v }));
    rmSync(join(legacy, "versions", v, "seal.json"));
    expect((await failure(["models", "promote", v, "--store", legacy])).message).toMatch(`has no seal`);
    expect(await run(["models", "seal", v, "--store", legacy])).toBe(`sealed ${v} in ${legacy}\n`);
    expect(await run(["models", "verify", v, "--store", legacy])).toBe(`ok       ${v}\n`);
  });

  it("prunes old versions, keeping latest and the pinned ones", async () => {
    const pruned = join(dir, "pruned");
    const ids = versionIds(4, "20280101T000000Z");
    for (const [i, v] of ids.entries()) await openStore(pruned).publish(sampleBundle({ version: v, seed: i + 1 }));
    await openStore(pruned).setLatest(ids[1]);
    expect(await run(["models", "prune", "--keep", "1", "--pinned", ids[0], "--dry-run", "--store", pruned])).toBe(
      `would remove ${ids[2]}\nkept 3 version(s) in ${pruned}: ${ids[0]}, ${ids[1]}, ${ids[3]}\n`,
    );
    expect(await run(["models", "prune", "--keep", "1", "--pinned", ids[0], "--store", pruned])).toBe(
      `removed ${ids[2]}\nkept 3 version(s) in ${pruned}: ${ids[0]}, ${ids[1]}, ${ids[3]}\n`,
    );
    expect((await openStore(pruned).list()).map((v) => v.version)).toEqual([ids[0], ids[1], ids[3]]);
    await expect(run(["models", "prune", "--keep", "two", "--store", pruned])).rejects.toThrow(/must be a whole number/);
  });
});

describe("bayes-serve export", () => {
  it("writes the latest version, or the one asked for, as netCDF", async () => {
    const store = join(dir, "export-store");
    const [a, b] = versionIds(2);
    await openStore(store).publish(sampleBundle({ version: a }));
    await openStore(store).publish(sampleBundle({ version: b, seed: 2 }));
    const out = join(dir, "posterior.nc");
    const msg = await run(["export", "--store", store, "--out", out]);
    expect(msg).toBe(`wrote ${out} (${readFileSync(out).byteLength} bytes): version ${b}, 2 chains × 50 draws of beta[3], sigma\n`);
    expect(readFileSync(out).subarray(0, 4).toString("latin1")).toBe("CDF\x01");
    // --version belongs to export here, not to the root program's -V/--version.
    expect(await run(["export", "--store", store, "--version", a, "--out", out])).toContain(`version ${a}`);
    expect(readFileSync(out).includes(Buffer.from(a))).toBe(true);
  });

  it("says so when there is nothing to export", async () => {
    const empty = join(dir, "empty-store");
    const err = await failure(["export", "--store", empty, "--out", join(dir, "x.nc")]);
    expect(err.message).toBe(`store ${empty} has no latest version (nothing was published)`);
  });

  it("works against an S3 store", async () => {
    const env = s3.current.env;
    const uri = "s3://models/cli/export";
    const version = await openStore(uri, { env }).publish(sampleBundle());
    const out = join(dir, "from-s3.nc");
    expect(await run(["export", "--store", uri, "--out", out], { env })).toContain(`version ${version}`);
    expect(await run(["models", "list", "--store", uri], { env })).toContain(`* ${version}`);
    const err = await failure(["models", "list", "--store", "s3://missing-bucket"], { env });
    expect(err.code).toBe("STORE");
    expect(err.message).toMatch(/^store s3:\/\/missing-bucket: cannot list versions: bucket "missing-bucket" does not exist/);
  });
});
