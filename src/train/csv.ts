// Reading training data from CSV: the header must name exactly the model's inputs (features and target); every
// value must parse as a finite number of the declared type. Errors name the file, the line and the column.
import { readFile } from "node:fs/promises";
import { BayesServeError } from "../errors.js";
import type { FeatureSpec } from "../predict/features.js";
import type { Table } from "./table.js";

export interface ColumnSpec {
  name: string;
  type: FeatureSpec["type"];
  levels?: number;
}

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

export function parseCsv(text: string, file: string, spec: ColumnSpec[]): Table {
  const lines = text.split(/\r?\n/);
  let headerLine = 0;
  while (headerLine < lines.length && lines[headerLine].trim() === "") headerLine++;
  if (headerLine >= lines.length) fail(file, null, null, "the file is empty (expected a header line)");
  const header = splitRecord(lines[headerLine].replace(/^\uFEFF/, "")).map((h) => h.trim());
  const wanted = spec.map((s) => s.name);
  const missing = wanted.filter((w) => !header.includes(w));
  const extra = header.filter((h) => !wanted.includes(h));
  if (missing.length || extra.length) {
    const parts = [];
    if (missing.length) parts.push(`missing column(s) ${missing.map((m) => `"${m}"`).join(", ")}`);
    if (extra.length) parts.push(`unexpected column(s) ${extra.map((m) => `"${m}"`).join(", ")}`);
    fail(file, headerLine + 1, null, `${parts.join("; ")}; the header must be ${wanted.join(",")}`);
  }
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup) fail(file, headerLine + 1, dup, "appears twice in the header");
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
      const v = raw === "" ? NaN : Number(raw);
      if (raw === "") fail(file, lineNumbers[r], s.name, "is empty");
      if (Number.isNaN(v) && !/^nan$/i.test(raw)) fail(file, lineNumbers[r], s.name, `"${raw}" is not a number`);
      if (!Number.isFinite(v)) fail(file, lineNumbers[r], s.name, `${raw} is not finite`);
      if (s.type !== "float" && !Number.isInteger(v)) fail(file, lineNumbers[r], s.name, `${raw} is not an integer`);
      if (s.type === "category" && (v < 0 || v >= (s.levels ?? 0)))
        fail(file, lineNumbers[r], s.name, `${raw} is outside the model's categories 0..${(s.levels ?? 0) - 1}`);
      columns[s.name][r] = v;
    });
  }
  return { columns, rows: body.length, source: file };
}

export async function readCsv(file: string, spec: ColumnSpec[]): Promise<Table> {
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
