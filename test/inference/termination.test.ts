// The merge criterion takes Stan's three U-turn checks (base_nuts.hpp: across the merged tree, and across each seam
// between its two subtrees) in one pass; here it is compared with the checks written out one at a time, as Stan
// writes them, over random states in which every outcome occurs.
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/random/rng.js";
import { mergedTreePersists, noUTurn } from "../../src/inference/termination.js";

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i]);
}

describe("mergedTreePersists", () => {
  it("agrees with Stan's three checks written out, and adds ρ_A + ρ_B into ρ", () => {
    const rng = new Rng(11, 0);
    const outcomes = new Set<string>();
    for (let trial = 0; trial < 2000; trial++) {
      const dim = 1 + (trial % 5);
      const v = (): Float64Array => Float64Array.from({ length: dim }, () => rng.normal());
      const [sharpABeg, sharpAEnd, pAEnd, rhoA, sharpBBeg, pBBeg, sharpBEnd, rhoB, rhoStart] = [v(), v(), v(), v(), v(), v(), v(), v(), v()];
      const rhoOut = rhoStart.slice();
      const got = mergedTreePersists(sharpABeg, sharpAEnd, pAEnd, rhoA, sharpBBeg, pBBeg, sharpBEnd, rhoB, rhoOut);

      const rho = add(rhoA, rhoB);
      const whole = noUTurn(dot(sharpABeg, rho), dot(sharpBEnd, rho));
      const seamA = noUTurn(dot(sharpABeg, add(rhoA, pBBeg)), dot(sharpBBeg, add(rhoA, pBBeg)));
      const seamB = noUTurn(dot(sharpAEnd, add(rhoB, pAEnd)), dot(sharpBEnd, add(rhoB, pAEnd)));
      expect(got).toBe(whole && seamA && seamB);
      expect(Array.from(rhoOut)).toEqual(Array.from(add(rhoStart, rho)));
      outcomes.add(`${whole}${seamA}${seamB}`);
    }
    expect(outcomes.size).toBe(8);
  });

  it("stops when either end's velocity points against ρ", () => {
    expect(noUTurn(1, 1)).toBe(true);
    expect(noUTurn(-1, 1)).toBe(false);
    expect(noUTurn(1, -1)).toBe(false);
    expect(noUTurn(0, 1)).toBe(false);
    expect(noUTurn(Number.NaN, 1)).toBe(false);
  });
});
