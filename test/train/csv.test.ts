import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { createGzip, createGunzip } from "node:zlib";
import { describe, expect, it } from "vitest";
import { BayesServeError } from "../../src/errors.js";
import { parseCsv, readCsv, readCsvStream, type ColumnSpec } from "../../src/train/csv.js";
import { SEED_COLUMNS } from "../support/seed-columns.js";

const SPEC = SEED_COLUMNS;

function error(text: string): BayesServeError {
  try {
    parseCsv(text, "data.csv", SPEC);
  } catch (err) {
    expect(err).toBeInstanceOf(BayesServeError);
    return err as BayesServeError;
  }
  throw new Error("expected an error");
}

describe("CSV reader", () => {
  it("reads the seed's columns in any order, with quotes and CRLF", () => {
    const t = parseCsv('y,x,category\r\n1.5,"2",0\r\n3,4.5,2\r\n', "data.csv", SPEC);
    expect(t.rows).toBe(2);
    expect(Array.from(t.columns.x)).toEqual([2, 4.5]);
    expect(Array.from(t.columns.category)).toEqual([0, 2]);
    expect(Array.from(t.columns.y)).toEqual([1.5, 3]);
  });

  it("names the file, line and column of every kind of bad value", () => {
    expect(error("x,category,y\n1,0,2\n1,abc,2\n").message).toBe('data.csv, line 3, column "category": "abc" is not a number');
    expect(error("x,category,y\n1,3,2\n").message).toMatch(/line 2, column "category": 3 is outside the model's categories 0..2/);
    expect(error("x,category,y\n1,-1,2\n").message).toMatch(/line 2, column "category": -1 is outside/);
    expect(error("x,category,y\n1,1.5,2\n").message).toMatch(/line 2, column "category": 1.5 is not an integer/);
    expect(error("x,category,y\nNaN,1,2\n").message).toMatch(/line 2, column "x": NaN is not finite/);
    expect(error("x,category,y\n1,1,Infinity\n").message).toMatch(/line 2, column "y": Infinity is not finite/);
    expect(error("x,category,y\n1,1,\n").message).toMatch(/line 2, column "y": is empty/);
    expect(error("x,category,y\n1,1\n").message).toMatch(/line 2: has 2 fields, the header has 3/);
  });

  it("rejects missing columns, duplicates and empty files; ignores columns the model does not read, listing them", () => {
    expect(error("x,y\n1,2\n").message).toMatch(/line 1: missing column\(s\) "category"/);
    const t = parseCsv("id,x,category,note,y\n7,1,0,a,2\n8,2,1,b,3\n", "data.csv", SPEC);
    expect(t.ignored).toEqual(["id", "note"]);
    expect(Array.from(t.columns.y)).toEqual([2, 3]);
    expect(Array.from(t.lines)).toEqual([2, 3]);
    expect(error("x,category,y,y\n1,0,2,3\n").message).toMatch(/column "y": appears twice/);
    expect(error("").message).toMatch(/data.csv: the file is empty/);
    expect(error("x,category,y\n").message).toMatch(/no data rows/);
    expect(error("x,category,y\n").code).toBe("CSV_FORMAT");
  });

  it("reads numbers strictly: decimal only, no hex, binary or separators", () => {
    for (const raw of ["0x10", "0b1", "1_000", "1,5", "--1", "1e", ".", "12abc"])
      expect(error(`x,category,y\n${JSON.stringify(raw)},0,2\n`).message).toMatch(/column "x": ".*" is not a number/);
    const t = parseCsv("x,category,y\n+1.5e2,0,-.5\n1.,1,3E-1\n", "data.csv", SPEC);
    expect(Array.from(t.columns.x)).toEqual([150, 1]);
    expect(Array.from(t.columns.y)).toEqual([-0.5, 0.3]);
  });

  it("checks each column against its bounds, saying why", () => {
    const spec: ColumnSpec[] = [
      { name: "exposure", type: "float", bounds: { bounds: { lower: 0 }, why: "the bounds the model declares" } },
      { name: "y", type: "integer", bounds: { bounds: { lower: 0, upper: 1, integer: true }, why: 'observation "obs" has a BernoulliLogit likelihood' } },
    ];
    const bad = (text: string): string => {
      try {
        parseCsv(text, "d.csv", spec);
      } catch (err) {
        return (err as Error).message;
      }
      return "read";
    };
    expect(bad("exposure,y\n1,0\n-2,1\n")).toBe(
      'd.csv, line 3, column "exposure": -2 is outside what the model allows: it must be a number ≥ 0 (the bounds the model declares)',
    );
    expect(bad("exposure,y\n1,0\n2,2\n")).toBe(
      'd.csv, line 3, column "y": 2 is outside what the model allows: it must be an integer in 0..1 (observation "obs" has a BernoulliLogit likelihood)',
    );
    expect(bad("exposure,y\n0,1\n")).toBe("read");
  });

  it("names a file it cannot read", async () => {
    await expect(readCsv("/nonexistent/data.csv", SPEC)).rejects.toThrow(/\/nonexistent\/data.csv: cannot read the file \(ENOENT\)/);
    const dir = mkdtempSync(path.join(tmpdir(), "csv-"));
    const file = path.join(dir, "d.csv");
    writeFileSync(file, "x,category,y\n1,0,2\n");
    expect((await readCsv(file, SPEC)).rows).toBe(1);
  });

  it("reads a stream in pieces of any size, a gzip stream included, into typed columns", async () => {
    const rows = 10_000;
    let text = "id,x,category,y\n";
    for (let r = 0; r < rows; r++) text += `${r},${(r / 8).toFixed(3)},${r % 3},"${r % 7}"\n`;
    const bytes = Buffer.from(text);
    // 1..97-byte pieces: records, quotes, numbers and line ends are cut at every place.
    const pieces: Buffer[] = [];
    for (let at = 0, k = 0; at < bytes.length; k++) pieces.push(bytes.subarray(at, (at += 1 + ((k * 37) % 97))));
    const t = await readCsvStream(Readable.from(pieces), "pieces.csv", SPEC);
    expect(t.rows).toBe(rows);
    expect(t.columns.x).toBeInstanceOf(Float64Array);
    expect(t.columns.x[rows - 1]).toBe(Number(((rows - 1) / 8).toFixed(3)));
    expect(t.columns.category[4]).toBe(1);
    expect(t.columns.y[13]).toBe(6);
    expect(t.lines[rows - 1]).toBe(rows + 1);
    expect(t.ignored).toEqual(["id"]);
    const gz = Readable.from([bytes]).pipe(createGzip()).pipe(createGunzip());
    expect((await readCsvStream(gz, "data.csv.gz", SPEC)).rows).toBe(rows);
  });

  it("reads CR-only line endings (old Mac spreadsheets) and CRLF cut between its two bytes, keeping line numbers", async () => {
    const rows = 300;
    for (const eol of ["\r", "\r\n"]) {
      let text = `x,category,y${eol}`;
      for (let r = 0; r < rows; r++) text += `${r / 8},${r % 3},${r % 7}${eol}`;
      text += `oops,0,1${eol}`;
      const bytes = Buffer.from(text);
      const pieces: Buffer[] = [];
      for (let at = 0, k = 0; at < bytes.length; k++) pieces.push(bytes.subarray(at, (at += 1 + ((k * 37) % 97))));
      await expect(readCsvStream(Readable.from(pieces), "eol.csv", SPEC)).rejects.toThrow(`eol.csv, line ${rows + 2}, column "x": "oops" is not a number`);
      const good = await readCsvStream(Readable.from([text.slice(0, text.lastIndexOf("oops"))]), "eol.csv", SPEC);
      expect(good.rows).toBe(rows);
      expect(good.columns.y[13]).toBe(6);
      expect(good.lines[rows - 1]).toBe(rows + 1);
    }
  });

  it("names the source and line of a bad value, a malformed quote or a failing stream", async () => {
    await expect(readCsvStream(Readable.from(["x,category,y\n1,0,2\n", "1,0,0x10\n"]), "s3://b/d.csv", SPEC)).rejects.toThrow(
      's3://b/d.csv, line 3, column "y": "0x10" is not a number',
    );
    await expect(readCsvStream(Readable.from(['x,category,y\n1,0,2\n"1"x,0,2\n']), "q.csv", SPEC)).rejects.toThrow(/^q\.csv, line 3: .*quote/i);
    expect(() => parseCsv('x,category,y\n1,0,"2\n', "q.csv", SPEC)).toThrow(/^q\.csv, line 2: .*quote/i);
    const failing = new Readable({
      read() {
        this.push("x,category,y\n1,0,2\n");
        this.destroy(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
      },
    });
    const err = await readCsvStream(failing, "https://h/d.csv", SPEC).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BayesServeError);
    expect((err as BayesServeError).message).toBe("https://h/d.csv: cannot read the data (ECONNRESET)");
    const gzErr = await readCsvStream(Readable.from([Buffer.from("not gzip at all")]).pipe(createGunzip()), "d.csv.gz", SPEC).catch((e: unknown) => e);
    expect((gzErr as BayesServeError).message).toMatch(/^d\.csv\.gz: cannot read the data \(Z_DATA_ERROR\)$/);
  });

  it("refuses a record over 1 MiB (a quote left open) as soon as it passes the bound, naming the line", async () => {
    const open = Readable.from(
      (function* () {
        yield 'x,category,y\n1,0,2\n"1,0,2\n';
        for (let i = 0; i < 64; i++) yield `${"1,0,2\n".repeat(5000)}`;
      })(),
    );
    await expect(readCsvStream(open, "open.csv", SPEC)).rejects.toThrow(
      /^open\.csv, line \d+: a record is longer than 1 MiB by here \(a quote left open makes the rest of the file one value\)$/,
    );
  });

  it("refuses what a double would misread: an integer beyond 2^53, a fraction rounding to an integer, a nonzero value underflowing to 0", () => {
    const spec: ColumnSpec[] = [
      { name: "n", type: "integer", bounds: { bounds: { lower: 0 }, why: "the bounds the model declares" } },
      { name: "y", type: "float", bounds: { bounds: { lower: 0, integer: true }, why: 'observation "obs" has a Poisson likelihood' } },
      { name: "x", type: "float" },
    ];
    const bad = (row: string): string => {
      try {
        parseCsv(`n,y,x\n${row}\n`, "d.csv", spec);
      } catch (err) {
        return (err as Error).message;
      }
      return "read";
    };
    // Number() reads these as 9007199254740992, 2, 0: a count, a category or a value other than the file's.
    expect(bad("9007199254740993,1,1")).toBe(
      'd.csv, line 2, column "n": 9007199254740993 is too large to be read exactly (beyond 2^53 a double does not hold every integer)',
    );
    expect(bad("1,1e300,1")).toMatch(/column "y": 1e300 is too large to be read exactly/);
    expect(bad("2.0000000000000001,1,1")).toBe('d.csv, line 2, column "n": 2.0000000000000001 is not an integer');
    expect(bad("1,3.00000000000000001,1")).toMatch(/column "y": 3.00000000000000001 is not an integer/);
    expect(bad("1,1,1e-400")).toBe('d.csv, line 2, column "x": 1e-400 is too small for a double, which would read it as 0');
    expect(error("x,category,y\n1,1.0000000000000001,2\n").message).toMatch(/column "category": 1.0000000000000001 is not an integer/);
    // Whole numbers written otherwise, and a double's smallest values, are read as written.
    const t = parseCsv("n,y,x\n2.0,0.1e1,4e-320\n9007199254740991,1E3,0e-400\n-0,12.5e1,-0.0\n", "d.csv", spec);
    expect(Array.from(t.columns.n)).toEqual([2, 9007199254740991, -0]);
    expect(Array.from(t.columns.y)).toEqual([1, 1000, 125]);
    expect(Array.from(t.columns.x)).toEqual([4e-320, 0, -0]);
  });

  it("reads a header of 150,000 columns in linear time, and says when the header is one column holding ';' or tabs", () => {
    const names = Array.from({ length: 150_000 }, (_, i) => `g${i}`);
    const started = Date.now();
    const t = parseCsv(`${names.join(",")},x,category,y\n${names.map(() => "0").join(",")},1,2,3\n`, "wide.csv", SPEC);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(t.ignored.length).toBe(150_000);
    expect(Array.from(t.columns.category)).toEqual([2]);
    expect(error("x,category,y,g1,x\n1,0,2,3,4\n").message).toBe('data.csv, line 1, column "x": appears twice in the header');
    expect(error("x;category;y\n1,5;0;2\n").message).toBe(
      'data.csv, line 1: missing column(s) "x", "category", "y"; the model reads x,category,y (the header line is read as one column, "x;category;y": fields are separated by "," only, and this file seems to use ";")',
    );
    expect(error("x\tcategory\ty\n1\t0\t2\n").message).toMatch(/read as one column, "x\\tcategory\\ty".*seems to use "\\t"\)$/);
    expect(error("a,b\n1,2\n").message).toBe('data.csv, line 1: missing column(s) "x", "category", "y"; the model reads x,category,y');
  });

  it("reads UTF-16LE with its byte-order mark (Excel's Unicode CSV), and says a header of NULs is UTF-16 it cannot read", async () => {
    const text = "x,category,y\r\n1.5,0,2\r\n3,2,4\r\n";
    const excel = await readCsvStream(Readable.from([Buffer.from("\ufeff" + text, "utf16le")]), "excel.csv", SPEC);
    expect(Array.from(excel.columns.x)).toEqual([1.5, 3]);
    expect(Array.from(excel.columns.category)).toEqual([0, 2]);
    for (const bytes of [Buffer.from(text, "utf16le"), Buffer.from("\ufeff" + text, "utf16le").swap16()])
      await expect(readCsvStream(Readable.from([bytes]), "u16.csv", SPEC)).rejects.toThrow(
        /^u16\.csv, line 1: missing column\(s\) .* \(the header holds NUL characters: the file seems to be UTF-16 without a byte-order mark, or big-endian; save it as UTF-8\)$/,
      );
  });

  it("numbers a row by the line it ends on when a quoted header or value spans lines", () => {
    const t = parseCsv('x,category,"note"\n1,0,"a\nb"\n2,1,c\n', "d.csv", [SPEC[0], SPEC[1]]);
    expect(Array.from(t.lines)).toEqual([3, 4]);
  });
});
