// The seed model's columns as the data readers take them (x, category with 3 levels, y).
import type { ColumnSpec } from "../../src/train/csv.js";

export const SEED_COLUMNS: ColumnSpec[] = [
  { name: "x", type: "float" },
  { name: "category", type: "category", levels: 3 },
  { name: "y", type: "float" },
];
