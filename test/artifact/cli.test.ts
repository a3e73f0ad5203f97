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
    expect(lines[0]).toMatch(/^ {2}VERSION\s+CREATED\s+GATE$/);
    expect(lines[1]).toMatch(new RegExp(`^  ${v1}\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+passed$`));
    expect(lines[2]).toMatch(new RegExp(`^\\* ${v2}\\s+\\S+\\s+passed$`));
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
