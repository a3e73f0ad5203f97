// A training table: named numeric columns of equal length, as read from CSV or simulated.
import type { Instance, InstanceRows } from "../predict/index.js";

export interface Table {
  columns: Record<string, Float64Array>;
  rows: number;
  /** Where it came from, for messages: a file path or "simulated". */
  source: string;
}

/**
 * The given rows of the table, in that order. `shared`: the columns on SharedArrayBuffers, so that worker threads
 * given them (the chains of a fit) read this copy instead of each receiving one of its own.
 */
export function selectRows(table: Table, rows: Int32Array | number[], options: { shared?: boolean } = {}): Table {
  const columns: Record<string, Float64Array> = {};
  for (const [name, col] of Object.entries(table.columns)) {
    const out = options.shared === true ? new Float64Array(new SharedArrayBuffer(8 * rows.length)) : new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = col[rows[i]];
    columns[name] = out;
  }
  return { columns, rows: rows.length, source: table.source };
}

/** The table's rows as instances of the given columns, each made when asked for (none held). */
export function tableRows(table: Table, columns: readonly string[]): InstanceRows {
  const values = columns.map((c) => table.columns[c]);
  return {
    length: table.rows,
    at(index: number): Instance | undefined {
      if (!(index >= 0 && index < table.rows)) return undefined;
      const instance: Instance = {};
      for (let k = 0; k < columns.length; k++) instance[columns[k]] = values[k][index];
      return instance;
    },
  };
}
