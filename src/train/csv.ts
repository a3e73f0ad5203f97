// Reading training data from CSV: the header must name every one of the model's inputs (features and target; other
// columns are ignored, and listed); every value must be a decimal number — finite, of the declared type, inside the
// column's bounds (the bounds the model declares, and for an observed column its family's support). Errors name the
// file, the line and the column.
import { readFile } from "node:fs/promises";
import { BayesServeError } from "../errors.js";
import { boundsProblem, type ValueBounds } from "../model/value-bounds.js";
import type { FeatureSpec } from "../predict/features.js";
import type { Table } from "./table.js";

export interface ColumnSpec {
  name: string;
  type: FeatureSpec["type"];
  levels?: number;
  /** The values allowed, and why (said in an error): "declared by the model", "the Bernoulli likelihood of y". */
  bounds?: { bounds: ValueBounds; why: string };
}

/** A decimal number as people write them (no hex, binary or octal literals, no `_` separators, no blank padding). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE_WORD = /^[+-]?(nan|inf|infinity)$/i;

function fail(file: string, line: number | null, column: string | null, msg: string): never {
  const where = [file, line !== null ? `line ${line}` : null, column !== null ? `column "${column}"` : null].filter(Boolean).join(", ");
  throw new BayesServeError("CSV_FORMAT", `${where}: ${msg}`);
}

/** Splits one CSV record (RFC 4180 quotes allowed, no embedded newlines). */
function splitRecord(line: string): string[] {
  if (!line.includes('"')) return line.split(",");
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** A table read from CSV: the model's columns, the line of each row, and the columns it ignored. */
export interface CsvTable extends Table {
  /** 1-based line number of each row in the file. */
  lines: Int32Array;
  /** Header columns the model does not use, in file order. */
  ignored: string[];
}

export function parseCsv(text: string, file: string, spec: ColumnSpec[]): CsvTable {
  const lines = text.split(/\r?\n/);
  let headerLine = 0;
  while (headerLine < lines.length && lines[headerLine].trim() === "") headerLine++;
  if (headerLine >= lines.length) fail(file, null, null, "the file is empty (expected a header line)");
  const header = splitRecord(lines[headerLine].replace(/^\uFEFF/, "")).map((h) => h.trim());
  const wanted = spec.map((s) => s.name);
  const missing = wanted.filter((w) => !header.includes(w));
  if (missing.length)
    fail(file, headerLine + 1, null, `missing column(s) ${missing.map((m) => `"${m}"`).join(", ")}; the model reads ${wanted.join(",")}`);
  const dup = header.find((h, i) => header.indexOf(h) !== i && wanted.includes(h));
  if (dup) fail(file, headerLine + 1, dup, "appears twice in the header");
  const ignored = header.filter((h) => !wanted.includes(h));
  const positions = spec.map((s) => header.indexOf(s.name));
  const body: string[] = [];
  const lineNumbers: number[] = [];
  for (let i = headerLine + 1; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    body.push(lines[i]);
    lineNumbers.push(i + 1);
  }
  if (body.length === 0) fail(file, null, null, "no data rows after the header");
  const columns: Record<string, Float64Array> = {};
  for (const s of spec) columns[s.name] = new Float64Array(body.length);
  for (let r = 0; r < body.length; r++) {
    const fields = splitRecord(body[r]);
    if (fields.length !== header.length) fail(file, lineNumbers[r], null, `has ${fields.length} fields, the header has ${header.length}`);
    spec.forEach((s, k) => {
      const raw = fields[positions[k]].trim();
      if (raw === "") fail(file, lineNumbers[r], s.name, "is empty");
      if (NON_FINITE_WORD.test(raw)) fail(file, lineNumbers[r], s.name, `${raw} is not finite`);
      if (!DECIMAL.test(raw)) fail(file, lineNumbers[r], s.name, `"${raw}" is not a number`);
      const v = Number(raw);
      if (!Number.isFinite(v)) fail(file, lineNumbers[r], s.name, `${raw} is not finite`);
      if (s.type !== "float" && !Number.isInteger(v)) fail(file, lineNumbers[r], s.name, `${raw} is not an integer`);
      if (s.type === "category" && (v < 0 || v >= (s.levels ?? 0)))
        fail(file, lineNumbers[r], s.name, `${raw} is outside the model's categories 0..${(s.levels ?? 0) - 1}`);
      if (s.bounds !== undefined) {
        const problem = boundsProblem(s.bounds.bounds, v);
        if (problem !== null) fail(file, lineNumbers[r], s.name, `${raw} is outside what the model allows: it ${problem} (${s.bounds.why})`);
      }
      columns[s.name][r] = v;
    });
  }
  return { columns, rows: body.length, source: file, lines: Int32Array.from(lineNumbers), ignored };
}

export async function readCsv(file: string, spec: ColumnSpec[]): Promise<CsvTable> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new BayesServeError("CSV_FORMAT", `${file}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseCsv(text, file, spec);
}

export function toCsv(table: Table, order: string[]): string {
  const lines = [order.join(",")];
  for (let r = 0; r < table.rows; r++) lines.push(order.map((c) => String(table.columns[c][r])).join(","));
  return lines.join("\n") + "\n";
}
