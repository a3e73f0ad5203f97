// Train/test split, stratified by a category column when the model has one (as the seed's
// train_test_split(stratify=category)), seeded.
import { Rng } from "../random/rng.js";

export interface Split {
  train: Int32Array;
  test: Int32Array;
}

export function stratifiedSplit(rows: number, testFraction: number, seed: number, strata: Float64Array | null): Split {
  const rng = new Rng(seed, 2_000_003);
  const sizes = new Map<number, number>();
  for (let i = 0; i < rows; i++) {
    const key = strata ? strata[i] : 0;
    sizes.set(key, (sizes.get(key) ?? 0) + 1);
  }
  const keys = [...sizes.keys()].sort((a, b) => a - b);
  // The rows of each stratum, in file order, one stratum after another (in key order) in one typed array: no per-row
  // objects, and no spreading of millions of indices into a call's arguments (which overflows the stack).
  const start = new Map<number, number>();
  const bounds = new Int32Array(keys.length + 1);
  keys.forEach((key, i) => {
    bounds[i + 1] = bounds[i] + sizes.get(key)!;
    start.set(key, bounds[i]);
  });
  const order = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const key = strata ? strata[i] : 0;
    const at = start.get(key)!;
    order[at] = i;
    start.set(key, at + 1);
  }
  // As scikit-learn: ceil(fraction·n) test rows in all, shared among strata in proportion (largest remainder first).
  const totalTest = Math.min(rows, Math.ceil(testFraction * rows - 1e-9));
  const exact = keys.map((k) => (sizes.get(k)! * totalTest) / rows);
  const counts = exact.map(Math.floor);
  let left = totalTest - counts.reduce((a, b) => a + b, 0);
  const byRemainder = keys.map((_, i) => i).sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b);
  for (const i of byRemainder) {
    if (left <= 0) break;
    counts[i]++;
    left--;
  }
  const inTest = new Uint8Array(rows);
  keys.forEach((_, i) => {
    const from = bounds[i];
    // Fisher–Yates with the seeded stream, over this stratum's rows.
    for (let a = bounds[i + 1] - from - 1; a > 0; a--) {
      const b = rng.int(a + 1);
      const t = order[from + a];
      order[from + a] = order[from + b];
      order[from + b] = t;
    }
    for (let k = 0; k < counts[i]; k++) inTest[order[from + k]] = 1;
  });
  const test = new Int32Array(totalTest);
  const train = new Int32Array(rows - totalTest);
  for (let i = 0, te = 0, tr = 0; i < rows; i++) {
    if (inTest[i]) test[te++] = i;
    else train[tr++] = i;
  }
  return { train, test };
}
