/** Locating and reading the test vectors (test helper, not part of the library). */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (two levels above this file: test/diagnostics/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A file under test/fixtures (each folder there has a README saying where it comes from, and its licence). */
export function testdataPath(...parts: string[]): string {
  return path.resolve(repoRoot, "test/fixtures", ...parts);
}

/** A CmdStan output CSV: `#` comment lines and blank lines skipped, one column per header name. */
export function readCmdStanCsv(file: string): Map<string, Float64Array> {
  const lines = readFileSync(file, "utf8")
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "" && !l.startsWith("#"));
  const header = lines[0].split(",").map((h) => h.trim());
  const rows = lines.slice(1);
  const cols = header.map(() => new Float64Array(rows.length));
  rows.forEach((line, r) => {
    const cells = line.split(",");
    if (cells.length !== header.length) throw new Error(`${file}: row ${r + 1} has ${cells.length} cells, expected ${header.length}`);
    cells.forEach((cell, c) => {
      cols[c][r] = Number(cell);
    });
  });
  return new Map(header.map((h, i) => [h, cols[i]]));
}

/** Parameter columns only: CmdStan's sampler fields end in `__`. */
export function parameterNames(csv: Map<string, Float64Array>): string[] {
  return [...csv.keys()].filter((k) => !k.endsWith("__"));
}

/** A simple quoted CSV with a header row and a row-name first column (R's write.csv). */
export function readRTable(file: string): { columns: string[]; rows: Map<string, number[]> } {
  const unquote = (s: string) => s.trim().replace(/^"(.*)"$/, "$1");
  const lines = readFileSync(file, "utf8")
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "");
  const columns = lines[0].split(",").slice(1).map(unquote);
  const rows = new Map<string, number[]>();
  for (const line of lines.slice(1)) {
    const cells = line.split(",");
    rows.set(
      unquote(cells[0]),
      cells.slice(1).map((c) => Number(unquote(c))),
    );
  }
  return { columns, rows };
}
