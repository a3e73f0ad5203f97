import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BayesServeError } from "../../src/errors.js";
import { buildBundle, bundleEntries, decodeBundle, float64FromLittleEndian, sha256Hex } from "../../src/artifact/bundle.js";
import { parseManifest } from "../../src/artifact/manifest.js";
import { openStore } from "../../src/artifact/store.js";
import { sampleBundle, sampleInput } from "./fixtures/bundles.js";

function roundTrip(entries: { path: string; bytes: Uint8Array }[]) {
  const manifestEntry = entries.find((e) => e.path === "manifest.json");
  if (manifestEntry === undefined) throw new Error("no manifest");
  const manifest = parseManifest(manifestEntry.bytes, "memory");
  // Copies, as if read back from disk.
  const files = new Map(entries.filter((e) => e.path !== "manifest.json").map((e) => [e.path, e.bytes.slice()]));
  return decodeBundle(manifest, files, (p) => `memory/${p}`);
}

describe("bundle", () => {
  it("serialises every file, checksums it, and decodes to the same values", () => {
    const input = sampleInput();
    const bundle = buildBundle(input);
    const entries = bundleEntries(bundle);
    expect(entries.map((e) => e.path)).toEqual(["draws.bin", "sample-stats.bin", "report/report.html", "report/trace.png", "manifest.json"]);
    for (const e of entries) {
      if (e.path !== "manifest.json") expect(bundle.manifest.files[e.path]).toBe(sha256Hex(e.bytes));
    }
    expect(bundle.manifest.formatVersion).toBe(1);
    expect(bundle.manifest.draws).toEqual({ chains: 2, drawsPerChain: 50, file: "draws.bin", dtype: "float64", layout: "chain,draw,param" });
    const back = roundTrip(entries);
    expect(back.manifest).toEqual(bundle.manifest);
    expect(Array.from(back.draws)).toEqual(Array.from(input.draws));
    expect(Array.from(back.sampleStats ?? [])).toEqual(Array.from(input.sampleStats ?? []));
    expect(new TextDecoder().decode(back.files.get("report/report.html"))).toContain("<title>report</title>");
  });

  it("stores draws as little-endian float64, chain-major", () => {
    const bundle = sampleBundle();
    const bytes = bundle.files.get("draws.bin") as Uint8Array;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // chain 1, draw 3, param 2 (beta[2])
    const i = (1 * 50 + 3) * 4 + 2;
    expect(view.getFloat64(i * 8, true)).toBe(bundle.draws[i]);
  });

  it("is not changed by later changes to the caller's arrays", () => {
    const input = sampleInput();
    const bundle = buildBundle(input);
    input.draws[0] = 99;
    expect(bundle.draws[0]).not.toBe(99);
  });

  it("detects a tampered file and names it", () => {
    const entries = bundleEntries(sampleBundle());
    const draws = entries.find((e) => e.path === "draws.bin") as { bytes: Uint8Array };
    draws.bytes = draws.bytes.slice();
    draws.bytes[17] ^= 1;
    expect(() => roundTrip(entries)).toThrow(/checksum mismatch for draws\.bin of version .* \(memory\/draws\.bin\)/);
    const report = entries.find((e) => e.path === "report/report.html") as { bytes: Uint8Array };
    draws.bytes[17] ^= 1;
    report.bytes = new TextEncoder().encode("<p>changed</p>");
    expect(() => roundTrip(entries)).toThrow(/checksum mismatch for report\/report\.html/);
  });

  it("refuses inconsistent input before anything is written", () => {
    const input = sampleInput();
    expect(() => buildBundle({ ...input, draws: input.draws.subarray(1) })).toThrow(/expected chains × drawsPerChain × parameters = 2 × 50 × 4 = 400/);
    expect(() => buildBundle({ ...input, extraFiles: { "../x": "a" } })).toThrow(/not a relative path/);
    expect(() => buildBundle({ ...input, extraFiles: { "draws.bin": "a" } })).toThrow(/clashes/);
    expect(() => buildBundle({ ...input, manifest: { ...input.manifest, metrics: { mape: Number.NaN } } })).toThrow(
      /metrics\.mape is NaN, which JSON cannot hold/,
    );
    const { sampleStats: _, ...noStats } = input;
    expect(() => buildBundle(noStats)).toThrow(/sample stats need both/);
    try {
      buildBundle({ ...input, draws: new Float64Array(3) });
    } catch (err) {
      expect(err).toBeInstanceOf(BayesServeError);
      expect((err as BayesServeError).code).toBe("ARTIFACT");
    }
  });

  it("views aligned bytes without copying, and copies unaligned ones", () => {
    const aligned = new Uint8Array(new Float64Array([1.5, -2.25]).buffer);
    const view = float64FromLittleEndian(aligned);
    expect(view.buffer).toBe(aligned.buffer);
    expect(Array.from(view)).toEqual([1.5, -2.25]);
    const raw = new Uint8Array(17);
    raw.set(aligned, 1);
    const copy = float64FromLittleEndian(raw.subarray(1));
    expect(copy.buffer).not.toBe(raw.buffer);
    expect(Array.from(copy)).toEqual([1.5, -2.25]);
  });
});

describe("load speed", () => {
  const dir = mkdtempSync(join(tmpdir(), "bayes-serve-speed-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads and verifies a 2 chains × 5000 draws × 4 parameters bundle from a local store in milliseconds", async () => {
    const store = openStore(dir);
    const version = await store.publish(sampleBundle({ drawsPerChain: 5000 }));
    await store.readBundle(version); // warm up the code paths (JIT), not the data
    const time = async (files: "all" | "posterior"): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < 9; i++) {
        const t0 = performance.now();
        const b = await openStore(dir).readBundle(version, { files });
        times.push(performance.now() - t0);
        expect(b.draws.length).toBe(2 * 5000 * 4);
        expect(b.draws.buffer).toBe((b.files.get("draws.bin") as Uint8Array).buffer); // a view, not a copy
      }
      return times.sort((a, b) => a - b);
    };
    const all = await time("all");
    const posterior = await time("posterior");
    const fmt = (t: number[]): string => `min ${t[0].toFixed(2)} ms, median ${t[4].toFixed(2)} ms`;
    console.log(`readBundle 2×5000×4, every file verified (draws 320 kB, stats 560 kB, report): ${fmt(all)}; posterior only: ${fmt(posterior)}`);
    // The time is printed, not asserted: speed goals are measured in bench/, not as timed tests on shared machines.
  });
});
