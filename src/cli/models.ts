// `bayes-serve models list | show VERSION | promote VERSION | verify [VERSION|--all] | seal VERSION | prune --keep N`:
// what a store holds and whether each version is whole, one version's manifest, moving `latest` (forward or back),
// sealing versions published before seals existed, and retention; history, rollback and compare (models-history.ts).
import { type Command, InvalidArgumentError } from "commander";
import { BayesServeError } from "../errors.js";
import { DEFAULT_STORE_URI, openStore, type ArtifactStore, type OpenStoreOptions, type VersionCheck } from "../artifact/store.js";
import { registerHistoryCommands } from "./models-history.js";

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

const STORE_HELP = "artefact store: a folder, file:// URL or s3://bucket/prefix";

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
    .description("list the versions in a store, oldest first; * marks latest; each is verified (every file read) unless --quick")
    .option("--store <uri>", STORE_HELP, DEFAULT_STORE_URI)
    .option("--quick", "check only each version's manifest and seal, not its other files")
    .option("--json", "print one JSON array")
    .action(async (opts: { store: string; json?: boolean; quick?: boolean }) => {
      const store = open(opts.store);
      const versions = await store.list();
      const rows: ((typeof versions)[number] & { problems: string[] })[] = [];
      for (const v of versions) {
        const problems = v.problem !== null ? [v.problem] : opts.quick === true ? [] : (await store.verify(v.version)).problems;
        rows.push({ ...v, problems });
      }
      if (opts.json === true) {
        out.stdout(`${JSON.stringify(rows)}\n`);
        return;
      }
      if (versions.length === 0) {
        out.stdout(`no versions in ${store.uri}\n`);
        return;
      }
      const cells = rows.map((v) => [
        `${v.latest ? "*" : " "} ${v.version}`,
        v.createdAt ?? "-",
        v.gatePassed === null ? "-" : v.gatePassed ? "passed" : "FAILED",
        v.problems.length > 0 ? `DAMAGED: ${describeProblems(v.problems)}` : opts.quick === true ? "manifest ok" : "ok",
      ]);
      const header = ["  VERSION", "CREATED", "GATE", "STATUS"];
      const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
      const line = (r: string[]): string =>
        r
          .map((c, i) => c.padEnd(widths[i]))
          .join("  ")
          .trimEnd();
      out.stdout(`${[header, ...cells].map(line).join("\n")}\n`);
    });

  models
    .command("show")
    .description("print a version's manifest (VERSION may be 'latest'), and fail if any file of the version is damaged")
    .argument("<version>", "version id, or latest")
    .option("--store <uri>", STORE_HELP, DEFAULT_STORE_URI)
    .action(async (version: string, opts: { store: string }) => {
      const store = open(opts.store);
      const id = await resolveVersion(store, version);
      let manifest;
      try {
        manifest = await store.readManifest(id);
      } catch (err) {
        if (err instanceof BayesServeError && err.code === "ARTIFACT")
          throw new BayesServeError("ARTIFACT", `version ${id} is damaged: ${err.message}`, { cause: err });
        throw err;
      }
      out.stdout(`${JSON.stringify(manifest, null, 2)}\n`);
      const check = await store.verify(id);
      if (check.problems.length > 0) throw new BayesServeError("ARTIFACT", `version ${id} is damaged: ${check.problems.join("; ")}`);
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

  models
    .command("verify")
    .description(
      "check every byte of a version (default latest) or of every version: manifest against its seal, files against the manifest; exits 1 if any is damaged",
    )
    .argument("[version]", "version id, or latest (the default)")
    .option("--all", "every version in the store")
    .option("--store <uri>", STORE_HELP, DEFAULT_STORE_URI)
    .option("--json", "print one JSON array of {version, latest, problems}")
    .action(async (version: string | undefined, opts: { store: string; all?: boolean; json?: boolean }) => {
      if (opts.all === true && version !== undefined) throw new BayesServeError("USAGE", "give a version or --all, not both");
      const store = open(opts.store);
      const ids = opts.all === true ? (await store.list()).map((v) => v.version) : [await resolveVersion(store, version)];
      const checks: VersionCheck[] = [];
      for (const id of ids) checks.push(await store.verify(id));
      if (opts.json === true) out.stdout(`${JSON.stringify(checks)}\n`);
      else if (checks.length === 0) out.stdout(`no versions in ${store.uri}\n`);
      else for (const c of checks) out.stdout(c.problems.length === 0 ? `ok       ${c.version}\n` : `DAMAGED  ${c.version}: ${c.problems.join("; ")}\n`);
      const damaged = checks.filter((c) => c.problems.length > 0);
      if (damaged.length > 0) {
        throw new BayesServeError(
          "ARTIFACT",
          `${damaged.length} of ${checks.length} version(s) damaged in ${store.uri}: ${damaged.map((c) => c.version).join(", ")}`,
        );
      }
    });

  models
    .command("seal")
    .description(
      "record the manifest digest of a version published before bayes-serve recorded them (with BAYES_SERVE_SIGNING_KEY set: sign a sealed version), once every file matches its manifest",
    )
    .argument("<version>", "version id")
    .option("--store <uri>", STORE_HELP, DEFAULT_STORE_URI)
    .action(async (version: string, opts: { store: string }) => {
      const store = open(opts.store);
      await store.seal(version);
      out.stdout(`sealed ${version} in ${store.uri}\n`);
    });

  models
    .command("prune")
    .description("remove all but the newest N versions (never latest, nor a --pinned one), and what interrupted publishes left behind")
    .requiredOption("--keep <n>", "how many of the newest versions to keep", wholeNumber)
    .option(
      "--pinned <version>",
      "a version id a server is pinned to (its serve --model URI@VERSION): kept; repeat for more",
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option("--dry-run", "say what would be removed, remove nothing")
    .option("--store <uri>", STORE_HELP, DEFAULT_STORE_URI)
    .action(async (opts: { store: string; keep: number; pinned: string[]; dryRun?: boolean }) => {
      const store = open(opts.store);
      const result = await store.prune({ keep: opts.keep, pinned: opts.pinned, dryRun: opts.dryRun === true });
      const verb = opts.dryRun === true ? "would remove" : "removed";
      for (const v of result.removed) out.stdout(`${verb} ${v}\n`);
      for (const l of result.leftovers) out.stdout(`${verb} leftover ${l}\n`);
      out.stdout(`kept ${result.kept.length} version(s) in ${store.uri}${result.kept.length > 0 ? `: ${result.kept.join(", ")}` : ""}\n`);
    });

  registerHistoryCommands(models, out, open, resolveVersion);
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("must be a whole number ≥ 0");
  return n;
}

/** The first problem, and how many more: a table cell stays one line. */
function describeProblems(problems: string[]): string {
  return problems.length === 1 ? problems[0] : `${problems[0]} (and ${problems.length - 1} more)`;
}
