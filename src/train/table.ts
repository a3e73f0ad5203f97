// A training table: named numeric columns of equal length, as read from CSV or simulated.
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
