// Reading training data from CSV, streamed: the file is parsed as it is read (csv-parse, RFC 4180) and each value of a
// column the model reads goes straight into that column's typed array, so that memory holds the columns and not the
// text (2 million rows of the seed's three columns: 48 MB of columns from a 77 MB file). The header must name every
// one of the model's inputs (features and target; other columns are ignored, and listed); every value must be a
// decimal number — finite, of the declared type, inside the column's bounds (the bounds the model declares, and for an
// observed column its family's support). Errors name the file, the line and the column.
import { createReadStream } from "node:fs";
import { Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CsvError, parse, type Options } from "csv-parse";
import { parse as parseSync } from "csv-parse/sync";
import { BayesServeError } from "../errors.js";
import { DECIMAL } from "../schema/decimal.js";
import type { ValueBounds } from "../model/value-bounds.js";
import type { FeatureSpec } from "../predict/features.js";
import type { Table } from "./table.js";
import { valueProblem } from "./value-check.js";

/**
 * One CSV column the model reads, by its header name, into a numeric column of the same name. A data input that
 * reads several CSV columns (a matrix, say) is given one spec per column.
 */
export interface ColumnSpec {
  name: string;
  type: FeatureSpec["type"];
  levels?: number;
  /** The values allowed, and why (said in an error): "declared by the model", "the Bernoulli likelihood of y". */
  bounds?: { bounds: ValueBounds; why: string };
}

/** The longest record (line) read: far beyond any row of numbers. */
export const MAX_RECORD_BYTES = 1024 * 1024;

const NON_FINITE_WORD = /^[+-]?(nan|inf|infinity)$/i;

function fail(file: string, line: number | null, column: string | null, msg: string, cause?: unknown): never {
  const where = [file, line !== null ? `line ${line}` : null, column !== null ? `column "${column}"` : null].filter(Boolean).join(", ");
  throw new BayesServeError("CSV_FORMAT", `${where}: ${msg}`, cause === undefined ? undefined : { cause });
}

/** A table read from CSV: the model's columns, the line of each row, and the columns it ignored. */
export interface CsvTable extends Table {
  /** 1-based line number of each row in the file (for a quoted value spanning lines: the line the row ends on). */
  lines: Int32Array;
  /** Header columns the model does not use, in file order. */
  ignored: string[];
}

/**
 * The parser's settings: RFC 4180 quotes, a byte-order mark dropped, blank lines skipped, any line ending (LF, CRLF, or
 * the CR alone of old Mac spreadsheets), and a bound on one record's size, so that a quote left open (which makes the
 * rest of the file one value) fails at once instead of buffering the whole file.
 */
const PARSER_OPTIONS: Options = {
  bom: true,
  relax_column_count: true,
  skip_empty_lines: true,
  record_delimiter: ["\r\n", "\n", "\r"],
  max_record_size: MAX_RECORD_BYTES,
};

/** A growable typed column: doubled when full, cut to length at the end. */
class Growing<T extends Float64Array | Int32Array> {
  length = 0;
  constructor(
    private values: T,
    private readonly make: (n: number) => T,
  ) {}

  push(v: number): void {
    if (this.length === this.values.length) {
      const bigger = this.make(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = v;
  }

  /** The values, in an array of their own length (the spare capacity released). */
  done(): T {
    return this.values.slice(0, this.length) as T;
  }
}

const INITIAL_ROWS = 4096;

/**
 * Takes the file's records one by one (the header first), checks them, and keeps the model's columns. The same code
 * reads a stream (readCsv) and a string (parseCsv).
 */
class ColumnsReader {
  private header: string[] | null = null;
  private positions: number[] = [];
  private ignoredColumns: string[] = [];
  private readonly columns: Growing<Float64Array>[];
  private readonly lineNumbers = new Growing(new Int32Array(INITIAL_ROWS), (n) => new Int32Array(n));

  constructor(
    private readonly file: string,
    private readonly spec: readonly ColumnSpec[],
  ) {
    this.columns = spec.map(() => new Growing(new Float64Array(INITIAL_ROWS), (n) => new Float64Array(n)));
  }

  /** One record, at `line` (the line it ends on). */
  record(fields: string[], line: number): void {
    // A line of blanks is a blank line (as a line with nothing on it, which the parser skips).
    if (fields.length === 1 && fields[0].trim() === "") return;
    if (this.header === null) return this.readHeader(fields, line);
    const { file, spec, header } = this;
    if (fields.length !== header.length) fail(file, line, null, `has ${fields.length} fields, the header has ${header.length}`);
    for (let k = 0; k < spec.length; k++) {
      const s = spec[k];
      const raw = fields[this.positions[k]].trim();
      if (raw === "") fail(file, line, s.name, "is empty");
      if (NON_FINITE_WORD.test(raw)) fail(file, line, s.name, `${raw} is not finite`);
      if (!DECIMAL.test(raw)) fail(file, line, s.name, `"${raw}" is not a number`);
      const v = Number(raw);
      if (!Number.isFinite(v)) fail(file, line, s.name, `${raw} is not finite`);
      // A double holds neither every decimal between two integers nor one below ~5e-324: "2.0000000000000001" would be
      // read as the integer 2, "1e-400" as 0.
      if (v === 0 && /[1-9]/.test(raw.split(/[eE]/)[0])) fail(file, line, s.name, `${raw} is too small for a double, which would read it as 0`);
      if ((s.type !== "float" || s.bounds?.bounds.integer === true) && Number.isInteger(v) && mayRound(raw) && !writesInteger(raw))
        fail(file, line, s.name, `${raw} is not an integer`);
      const problem = valueProblem(s, v);
      if (problem !== null) fail(file, line, s.name, `${raw} ${problem}`);
      this.columns[k].push(v);
    }
    this.lineNumbers.push(line);
  }

  private readHeader(fields: string[], line: number): void {
    const header = fields.map((h) => h.trim());
    const wanted = this.spec.map((s) => s.name);
    // Each name's first position, in one pass: a header of 100,000 columns (a wide export) is read in linear time.
    const position = new Map<string, number>();
    const wantedSet = new Set(wanted);
    for (const [i, h] of header.entries()) {
      if (!position.has(h)) position.set(h, i);
      else if (wantedSet.has(h)) fail(this.file, line, h, "appears twice in the header");
    }
    const missing = wanted.filter((w) => !position.has(w));
    if (missing.length)
      fail(this.file, line, null, `missing column(s) ${missing.map((m) => `"${m}"`).join(", ")}; the model reads ${wanted.join(",")}${delimiterHint(header)}`);
    this.header = header;
    this.ignoredColumns = header.filter((h) => !wantedSet.has(h));
    this.positions = wanted.map((w) => position.get(w)!);
  }

  /** The table, once every record has been taken. */
  table(): CsvTable {
    if (this.header === null) fail(this.file, null, null, "the file is empty (expected a header line)");
    const rows = this.lineNumbers.length;
    if (rows === 0) fail(this.file, null, null, "no data rows after the header");
    const columns: Record<string, Float64Array> = {};
    this.spec.forEach((s, k) => (columns[s.name] = this.columns[k].done()));
    return { columns, rows, source: this.file, lines: this.lineNumbers.done(), ignored: this.ignoredColumns };
  }
}

/** Digits alone (the usual count or level) write an integer exactly: only a point or an exponent can round to one. */
const mayRound = (raw: string): boolean => raw.includes(".") || raw.includes("e") || raw.includes("E");

/**
 * Whether a decimal (DECIMAL) writes a whole number exactly — "2", "2.0", "-0", "1e3", "0.1e1" — and not one that a
 * double merely rounds to a whole number ("2.0000000000000001", "1e-400").
 */
export function writesInteger(text: string): boolean {
  const m = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (m === null) return false;
  const digits = m[1] + (m[2] ?? "");
  // Where the point falls among the digits once the exponent is applied: every digit after it must be 0.
  const point = m[1].length + Number(m[3] ?? 0);
  return !/[1-9]/.test(digits.slice(Math.max(0, point)));
}

/**
 * Why a header may lack the model's columns, said after "missing column(s)": NUL characters between its letters are
 * UTF-16 read as UTF-8 (big-endian, or without the byte-order mark that tells it; UTF-16LE with one is read); a header
 * read as one column holding semicolons or tabs is a file written with another delimiter (a European spreadsheet's
 * ";", a tab-separated export).
 */
function delimiterHint(header: string[]): string {
  if (header.some((h) => h.includes("\0")))
    return " (the header holds NUL characters: the file seems to be UTF-16 without a byte-order mark, or big-endian; save it as UTF-8)";
  if (header.length !== 1) return "";
  const other = header[0].includes(";") ? ";" : header[0].includes("\t") ? "\t" : header[0].includes("|") ? "|" : null;
  if (other === null) return "";
  return ` (the header line is read as one column, ${JSON.stringify(header[0])}: fields are separated by "," only, and this file seems to use ${JSON.stringify(other)})`;
}

/** The parser's own errors (a stray quote, say) as ours, naming the file and the line. */
function parserProblem(file: string, err: unknown): unknown {
  if (!(err instanceof CsvError)) return err;
  const line = (err as CsvError & { lines?: number }).lines;
  const what =
    err.code === "CSV_MAX_RECORD_SIZE"
      ? `a record is longer than ${MAX_RECORD_BYTES / (1024 * 1024)} MiB by here (a quote left open makes the rest of the file one value)`
      : err.message;
  return new BayesServeError("CSV_FORMAT", `${file}${typeof line === "number" ? `, line ${line}` : ""}: ${what}`, { cause: err });
}

/** Reads CSV text already in memory (tests, small inputs). */
export function parseCsv(text: string, file: string, spec: ColumnSpec[]): CsvTable {
  const reader = new ColumnsReader(file, spec);
  try {
    parseSync(text, {
      ...PARSER_OPTIONS,
      on_record: (fields: string[], info) => {
        reader.record(fields, info.lines);
        return null;
      },
    });
  } catch (err) {
    throw parserProblem(file, err);
  }
  return reader.table();
}

/**
 * Reads CSV from any byte stream (a file, an S3 object's body, an HTTP response, a gunzip stream...) into the model's
 * columns: memory holds the columns, not the text. `name` is how errors name the source.
 */
export function readCsvStream(stream: NodeJS.ReadableStream | Readable, name: string, spec: ColumnSpec[]): Promise<CsvTable> {
  return readColumns(stream, name, spec, "the data");
}

/** Reads a CSV file as a stream: memory holds the model's columns, not the file. */
export function readCsv(file: string, spec: ColumnSpec[]): Promise<CsvTable> {
  return readColumns(createReadStream(file), file, spec, "the file");
}

async function readColumns(stream: NodeJS.ReadableStream | Readable, name: string, spec: ColumnSpec[], source: string): Promise<CsvTable> {
  const reader = new ColumnsReader(name, spec);
  const parser = parse({
    ...PARSER_OPTIONS,
    on_record: (fields: string[], info) => {
      reader.record(fields, info.lines);
      return null;
    },
  });
  // Every record is taken by on_record: nothing reaches the sink, which is there so that pipeline() settles once the
  // parser has taken the last record, and destroys every stream on an error.
  const sink = new Writable({ objectMode: true, write: (_record, _encoding, done) => done() });
  try {
    await pipeline(stream, parser, sink);
  } catch (err) {
    if (err instanceof BayesServeError) throw err;
    if (err instanceof CsvError) throw parserProblem(name, err);
    const e = err as Partial<NodeJS.ErrnoException> | null;
    throw new BayesServeError("CSV_FORMAT", `${name}: cannot read ${source} (${e?.code ?? e?.message ?? String(err)})`, { cause: err });
  }
  return reader.table();
}

export function toCsv(table: Table, order: string[]): string {
  const lines = [order.join(",")];
  for (let r = 0; r < table.rows; r++) lines.push(order.map((c) => String(table.columns[c][r])).join(","));
  return lines.join("\n") + "\n";
}
