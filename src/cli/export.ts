// `bayes-serve export [--store URI] [--version V] --out FILE.nc`: the posterior as netCDF for xarray and ArviZ.
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { BayesServeError } from "../errors.js";
import { posteriorToNetcdf } from "../artifact/netcdf.js";
import { DEFAULT_STORE_URI, openStore } from "../artifact/store.js";
import { processOutput, resolveVersion, type ModelsCommandOptions } from "./models.js";

/** Writes `bytes` to `path` through a temporary file and a rename: the file is whole or untouched. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await fs.writeFile(temp, bytes);
    await fs.rename(temp, path);
  } catch (err) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    throw new BayesServeError("ARTIFACT", `cannot write ${path}: ${(err as Error).message}${code === undefined ? "" : ` (${code})`}`, {
      cause: err,
    });
  }
}

export function register(program: Command, options: ModelsCommandOptions = {}): void {
  const out = options.output ?? processOutput;
  // The root's -V/--version would otherwise also claim `export --version V` (commander recognises program options
  // after a subcommand by default). With positional options, program options count only before the subcommand.
  program.enablePositionalOptions();
  program
    .command("export")
    .description("write a version's posterior as netCDF (dimensions chain, draw, <param>_dim_<axis>) for xarray / ArviZ")
    .option("--store <uri>", "artefact store: a folder, file:// URL or s3://bucket/prefix", DEFAULT_STORE_URI)
    .option("--version <version>", "version id (default: latest)")
    .requiredOption("--out <file.nc>", "netCDF file to write")
    .action(async (opts: { store: string; version?: string; out: string }) => {
      const store = openStore(opts.store, options.storeOptions);
      const version = await resolveVersion(store, opts.version);
      const bundle = await store.readBundle(version, { files: "posterior" });
      const bytes = posteriorToNetcdf(bundle);
      const path = resolve(opts.out);
      await writeFileAtomic(path, bytes);
      const shapes = Object.entries(bundle.manifest.parameters.shapes)
        .map(([name, shape]) => (shape.length === 0 ? name : `${name}[${shape.join(",")}]`))
        .join(", ");
      out.stdout(
        `wrote ${path} (${bytes.byteLength} bytes): version ${version}, ${bundle.manifest.draws.chains} chains × ` +
          `${bundle.manifest.draws.drawsPerChain} draws of ${shapes}\n`,
      );
    });
}
