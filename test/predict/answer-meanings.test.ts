// What /model and the V2 metadata say each answer means: a Student-t's /mean is its location, a mean only where ν > 1.
import { describe, expect, it } from "vitest";
import { answerMeanings } from "../../src/predict/index.js";

describe("answerMeanings", () => {
  it("says that a Student-t's /mean is the location, E[y | x, θ] only for draws with ν > 1", () => {
    expect(answerMeanings("continuous", "StudentT").mean).toMatch(/location μ of every draw: its mean only where ν > 1/);
    expect(answerMeanings("continuous", "Normal").mean).toBe(answerMeanings("continuous").mean);
    expect(answerMeanings("continuous", "StudentT").point).toBe(answerMeanings("continuous").point);
  });
});
