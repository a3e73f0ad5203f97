// A training table: named numeric columns of equal length, as read from CSV or simulated.
import type { Instance, InstanceRows } from "../predict/index.js";

export interface Table {
  columns: Record<string, Float64Array>;
  rows: number;
  /** Where it came from, for messages: a file path or "simulated". */
  source: string;
}

export function selectRows(table: Table, rows: Int32Array | number[]): Table {
  const columns: Record<string, Float64Array> = {};
  for (const [name, col] of Object.entries(table.columns)) columns[name] = Float64Array.from(rows, (r) => col[r]);
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
