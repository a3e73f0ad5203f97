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
  for (const key of [...groups.keys()].sort((a, b) => a - b)) {
    const g = groups.get(key)!;
    // Fisher–Yates with the seeded stream.
    for (let i = g.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [g[i], g[j]] = [g[j], g[i]];
    }
    const nTest = Math.round(g.length * testFraction);
    test.push(...g.slice(0, nTest));
    train.push(...g.slice(nTest));
  }
  train.sort((a, b) => a - b);
  test.sort((a, b) => a - b);
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}
