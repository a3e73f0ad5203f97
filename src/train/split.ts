// Train/test split, stratified by a category column when the model has one (as the seed's
// train_test_split(stratify=category)), seeded.
import { Rng } from "../model/random.js";

export interface Split {
  train: Int32Array;
  test: Int32Array;
}

export function stratifiedSplit(rows: number, testFraction: number, seed: number, strata: Float64Array | null): Split {
  const rng = new Rng(seed, 2_000_003);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < rows; i++) {
    const key = strata ? strata[i] : 0;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(i);
  }
  const train: number[] = [];
  const test: number[] = [];
  const keys = [...groups.keys()].sort((a, b) => a - b);
  // As scikit-learn: ceil(fraction·n) test rows in all, shared among strata in proportion (largest remainder first).
  const totalTest = Math.min(rows, Math.ceil(testFraction * rows - 1e-9));
  const exact = keys.map((k) => (groups.get(k)!.length * totalTest) / rows);
  const counts = exact.map(Math.floor);
  let left = totalTest - counts.reduce((a, b) => a + b, 0);
  const byRemainder = keys.map((_, i) => i).sort((a, b) => exact[b] - counts[b] - (exact[a] - counts[a]) || a - b);
  for (const i of byRemainder) {
    if (left <= 0) break;
    counts[i]++;
    left--;
  }
  keys.forEach((key, i) => {
    const g = groups.get(key)!;
    // Fisher–Yates with the seeded stream.
    for (let a = g.length - 1; a > 0; a--) {
      const b = rng.int(a + 1);
      [g[a], g[b]] = [g[b], g[a]];
    }
    test.push(...g.slice(0, counts[i]));
    train.push(...g.slice(counts[i]));
  });
  train.sort((a, b) => a - b);
  test.sort((a, b) => a - b);
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}
