// The exported posterior read back by xarray (Debian's python3-xarray under /usr/bin/python3), as a person with
// ArviZ would: dimensions, shapes, coordinates, attributes, and every value bit for bit.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildBundle } from "../../src/artifact/bundle.js";
import { encodeNetcdfClassic, posteriorToNetcdf } from "../../src/artifact/netcdf.js";
import { sampleBundle, sampleInput, seeded } from "./fixtures/bundles.js";

const PYTHON = "/usr/bin/python3";

/** Which xarray engines can read netCDF classic here (netcdf4, scipy), or why none can. */
function xarrayEngines(): { engines: string[]; problem: string | null } {
  const probe = spawnSync(
    PYTHON,
    ["-c", "import json, xarray; from xarray.backends import list_engines; print(json.dumps([e for e in ('netcdf4', 'scipy') if e in list_engines()]))"],
    { encoding: "utf8" },
  );
  if (probe.error !== undefined) return { engines: [], problem: `${PYTHON} is not available (${probe.error.message})` };
  if (probe.status !== 0) return { engines: [], problem: `${PYTHON} cannot import xarray (install python3-xarray): ${probe.stderr.trim().split("\n").at(-1)}` };
  const engines = JSON.parse(probe.stdout) as string[];
  return engines.length > 0 ? { engines, problem: null } : { engines, problem: "xarray has no netCDF3 engine (install python3-netcdf4 or python3-scipy)" };
}

const READ_BACK = `
import json, sys, xarray as xr
ds = xr.open_dataset(sys.argv[1], engine=sys.argv[2])
out = {
  "dims": {k: int(v) for k, v in ds.sizes.items()},
  "coords": {k: [int(x) for x in ds.coords[k].values] for k in ds.coords},
  "attrs": {k: str(v) for k, v in ds.attrs.items()},
  "vars": {k: {"dims": list(v.dims), "shape": list(v.shape), "dtype": str(v.dtype), "values": v.values.ravel().tolist()} for k, v in ds.data_vars.items()},
}
print(json.dumps(out))
`;

interface ReadBack {
  dims: Record<string, number>;
  coords: Record<string, number[]>;
  attrs: Record<string, string>;
  vars: Record<string, { dims: string[]; shape: number[]; dtype: string; values: number[] }>;
}

const dir = mkdtempSync(join(tmpdir(), "bayes-serve-nc-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readBack(bytes: Uint8Array, engine: string): ReadBack {
  const file = join(dir, `p-${Math.random().toString(16).slice(2)}.nc`);
  writeFileSync(file, bytes);
  const res = spawnSync(PYTHON, ["-c", READ_BACK, file, engine], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (res.status !== 0) throw new Error(`xarray (${engine}) could not read the file: ${res.stderr}`);
  return JSON.parse(res.stdout) as ReadBack;
}

const { engines, problem } = xarrayEngines();

describe("netCDF export", () => {
  it("writes a CDF-1 header with the magic number and no record dimension", () => {
    const bytes = posteriorToNetcdf(sampleBundle());
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x43, 0x44, 0x46, 0x01, 0, 0, 0, 0]);
  });

  it("rejects names netCDF cannot hold and clashing names", () => {
    expect(() => encodeNetcdfClassic({ dimensions: [{ name: "1bad", size: 1 }], attributes: {}, variables: [] })).toThrow(/not a valid netCDF name/);
    const input = sampleInput();
    const clash = buildBundle({
      ...input,
      manifest: { ...input.manifest, parameters: { names: ["draw[0]", "draw[1]", "draw[2]", "sigma"], shapes: { draw: [3], sigma: [] } } },
    });
    expect(() => posteriorToNetcdf(clash)).toThrow(/parameter "draw" clashes/);
  });

  if (problem !== null) {
    it.skip(`xarray read-back skipped: ${problem}`, () => undefined);
    return;
  }

  it.each(engines)("is read by xarray (%s engine): dims, shapes, coordinates, attributes, exact values", (engine) => {
    // The seed's model at full size, 2 chains × 5000 draws.
    const bundle = sampleBundle({ drawsPerChain: 5000 });
    const got = readBack(posteriorToNetcdf(bundle), engine);
    expect(got.dims).toEqual({ chain: 2, draw: 5000, beta_dim_0: 3 });
    expect(got.coords.chain).toEqual([0, 1]);
    expect(got.coords.draw).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(got.coords.beta_dim_0).toEqual([0, 1, 2]);
    expect(got.attrs).toEqual({
      created_at: bundle.manifest.createdAt,
      inference_library: "bayes-serve",
      bayes_serve_artifact_version: bundle.manifest.version,
    });
    expect(Object.keys(got.vars).sort()).toEqual(["beta", "sigma"]);
    expect(got.vars.beta).toMatchObject({ dims: ["chain", "draw", "beta_dim_0"], shape: [2, 5000, 3], dtype: "float64" });
    expect(got.vars.sigma).toMatchObject({ dims: ["chain", "draw"], shape: [2, 5000], dtype: "float64" });
    const d = bundle.draws;
    const beta: number[] = [];
    const sigma: number[] = [];
    for (let row = 0; row < 2 * 5000; row++) {
      beta.push(d[row * 4], d[row * 4 + 1], d[row * 4 + 2]);
      sigma.push(d[row * 4 + 3]);
    }
    expect(got.vars.beta.values).toEqual(beta);
    expect(got.vars.sigma.values).toEqual(sigma);
  });

  it.each(engines)("handles matrix parameters and any column order (%s engine)", (engine) => {
    const rand = seeded(3);
    const names = ["L[1, 2]", "mu", "L[0, 0]", "L[0, 1]", "L[0, 2]", "L[1, 0]", "L[1, 1]"];
    const chains = 3;
    const perChain = 7;
    const draws = Float64Array.from({ length: chains * perChain * names.length }, () => (rand() - 0.5) * 1e-300 * rand() * 1e305);
    const input = sampleInput();
    const bundle = buildBundle({
      manifest: {
        ...input.manifest,
        sampler: { ...input.manifest.sampler, chains, draws: perChain },
        parameters: { names, shapes: { L: [2, 3], mu: [] } },
        draws: { chains, drawsPerChain: perChain },
        sampleStats: undefined,
      },
      draws,
    });
    const got = readBack(posteriorToNetcdf(bundle), engine);
    expect(got.dims).toEqual({ chain: 3, draw: 7, L_dim_0: 2, L_dim_1: 3 });
    expect(got.vars.L).toMatchObject({ dims: ["chain", "draw", "L_dim_0", "L_dim_1"], shape: [3, 7, 2, 3] });
    const columnOf = (i: number, j: number): number => names.indexOf(`L[${i}, ${j}]`);
    const expected: number[] = [];
    for (let row = 0; row < chains * perChain; row++) {
      for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expected.push(draws[row * names.length + columnOf(i, j)]);
    }
    expect(got.vars.L.values).toEqual(expected);
    expect(got.vars.mu.values).toEqual(Array.from({ length: chains * perChain }, (_, row) => draws[row * names.length + 1]));
  });
});
