// The report says when its figures were drawn from a random sample of the rows: a note at the top of the page and the
// sample in each caption of a figure drawn from rows (not the trace, drawn from the draws); without samples, neither.
import { describe, expect, it } from "vitest";
import { reportHtml, reportPlots } from "../../src/report/index.js";
import { syntheticInput } from "./fixture.js";

describe("the report's sample labels", () => {
  const sampled = {
    ...syntheticInput({ rows: 300, testRows: 100, draws: 50 }),
    samples: { train: { rows: 300, of: 8_000_000, seed: 42 }, test: { rows: 100, of: 2_000_000, seed: 42 } },
  };

  it("names the sample in every caption of a figure drawn from rows", () => {
    const captions = Object.fromEntries(reportPlots(sampled).map((p) => [p.name, p.caption]));
    expect(captions.data).toMatch(/ \(on a random sample of 300 of 8000000 training rows, seed 42\)\.$/);
    expect(captions.ppc).toMatch(/ \(on a random sample of 300 of 8000000 training rows, seed 42\)\.$/);
    expect(captions["predicted-vs-actual"]).toMatch(/ \(on a random sample of 100 of 2000000 held-out rows, seed 42\)\.$/);
    expect(captions.trace).not.toMatch(/sample/);
  });

  it("says at the top of the page what was computed on which sample", () => {
    const html = reportHtml(sampled, []);
    const note = /<div class="sample" id="sample">([\s\S]*?)<\/div>/.exec(html)?.[1] ?? "";
    expect(note).toContain("a random sample of 300 of 8000000 training rows (seed 42)");
    expect(note).toContain("a random sample of 100 of 2000000 held-out rows (seed 42); elpd_holdout is over every held-out row");
    expect(html.indexOf('id="sample"')).toBeLessThan(html.indexOf('id="gate"'));
  });

  it("says nothing of samples when every row was used", () => {
    const whole = syntheticInput({ rows: 300, testRows: 100, draws: 50 });
    expect(reportHtml(whole, [])).not.toContain('class="sample"');
    expect(reportPlots(whole).map((p) => p.caption)).toEqual(reportPlots({ ...whole, samples: {} }).map((p) => p.caption));
    expect(reportPlots(whole).some((p) => /sample of/.test(p.caption))).toBe(false);
  });
});
