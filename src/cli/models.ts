// `bayes-serve models list | show VERSION | promote VERSION`: what a store holds, one version's manifest, and moving
// `latest` (forward or back).
import type { Command } from "commander";
import { BayesServeError } from "../errors.js";
import { DEFAULT_STORE_URI, openStore, type ArtifactStore, type OpenStoreOptions } from "../artifact/store.js";

/** Where commands write; tests capture it. */
export interface CliOutput {
  stdout(text: string): void;
}

export const processOutput: CliOutput = { stdout: (text) => void process.stdout.write(text) };

export interface ModelsCommandOptions {
  output?: CliOutput;
  /** Passed to openStore (tests inject the environment). */
  storeOptions?: OpenStoreOptions;
}

const STORE_HELP = `artefact store: a folder, file:// URL or s3://bucket/prefix (default ${DEFAULT_STORE_URI})`;

/** Resolves "latest" (or a missing version) to the version `latest` names. */
export async function resolveVersion(store: ArtifactStore, version: string | undefined): Promise<string> {
  if (version !== undefined && version !== "latest") return version;
  const latest = await store.readLatest();
  if (latest === null) throw new BayesServeError("ARTIFACT", `store ${store.uri} has no latest version (nothing was published)`);
  return latest;
}

export function register(program: Command, options: ModelsCommandOptions = {}): void {
  const out = options.output ?? processOutput;
  const open = (uri: string): ArtifactStore => openStore(uri, options.storeOptions);
  const models = program.command("models").description("list, inspect and promote published model versions");

  models
    .command("list")
    .description("list the versions in a store, oldest first; * marks latest")
    .option("--store <uri>", STORE_HELP, DEFAULT_STORE_URI)
    .option("--json", "print one JSON array")
    .action(async (opts: { store: string; json?: boolean }) => {
      const store = open(opts.store);
      const versions = await store.list();
      if (opts.json === true) {
        out.stdout(`${JSON.stringify(versions)}\n`);
        return;
      }
      if (versions.length === 0) {
        out.stdout(`no versions in ${store.uri}\n`);
        return;
      }
      const rows = versions.map((v) => [
        `${v.latest ? "*" : " "} ${v.version}`,
        v.createdAt ?? "-",
        v.gatePassed === null ? "-" : v.gatePassed ? "passed" : "FAILED",
        v.problem === null ? "" : `unreadable: ${v.problem}`,
      ]);
      const header = ["  VERSION", "CREATED", "GATE", ""];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
      const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
      out.stdout(`${[header, ...rows].map(line).join("\n")}\n`);
    });

  models
    .command("show")
    .description("print a version's manifest (VERSION may be 'latest')")
    .argument("<version>", "version id, or latest")
    .option("--store <uri>", STORE_HELP, DEFAULT_STORE_URI)
    .action(async (version: string, opts: { store: string }) => {
      const store = open(opts.store);
      const manifest = await store.readManifest(await resolveVersion(store, version));
      out.stdout(`${JSON.stringify(manifest, null, 2)}\n`);
    });

  models
    .command("promote")
    .description("point latest at VERSION (also how to roll back); the version is verified first")
    .argument("<version>", "version id")
    .option("--store <uri>", STORE_HELP, DEFAULT_STORE_URI)
    .action(async (version: string, opts: { store: string }) => {
      const store = open(opts.store);
      const previous = await store.readLatest().catch(() => null);
      // Every checksum, so that latest never names a version that cannot be served.
      await store.readBundle(version);
      await store.setLatest(version);
      out.stdout(`latest: ${previous ?? "(none)"} -> ${version} in ${store.uri}\n`);
    });
}
