import { describe, expect, it, beforeAll } from "vitest";
import { Resvg } from "@resvg/resvg-js";
import { renderReport, type RenderedReport, type ReportInput } from "../../src/report/index.js";
import { syntheticInput } from "./fixture.js";

const PLOTS = ["data", "trace", "predicted-vs-actual", "ppc"] as const;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngSize(png: Uint8Array): { width: number; height: number } {
  // IHDR is the first chunk: 8-byte signature, 4-byte length, "IHDR", then width and height, big-endian.
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  expect(String.fromCharCode(...png.subarray(12, 16))).toBe("IHDR");
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function bytes(files: RenderedReport["files"], name: string): Uint8Array {
  const f = files[name];
  expect(f, name).toBeInstanceOf(Uint8Array);
  return f as Uint8Array;
}

function text(files: RenderedReport["files"], name: string): string {
  const f = files[name];
  expect(typeof f, name).toBe("string");
  return f as string;
}

/** `haystack` contains `needle` (without printing a megabyte of HTML when it does not). */
function has(haystack: string, needle: string): void {
  expect(haystack.includes(needle), `expected to contain ${JSON.stringify(needle)}`).toBe(true);
}

/** Text content of every <text> element of an SVG. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

describe("renderReport on an input of the seed's shape", () => {
  let input: ReportInput;
  let report: RenderedReport;
  let seconds: number;

  beforeAll(async () => {
    input = syntheticInput();
    await renderReport(syntheticInput({ rows: 50, testRows: 10, draws: 100, replicates: 3 })); // warm up
    const t0 = performance.now();
    report = await renderReport(input);
    seconds = (performance.now() - t0) / 1000;
  });

  it("produces every file", () => {
    const names = Object.keys(report.files).sort();
    expect(names).toEqual([...PLOTS.flatMap((p) => [`${p}.png`, `${p}.svg`]), "report.html"].sort());
  });

  it("writes PNGs with the PNG signature and plausible dimensions", () => {
    for (const p of PLOTS) {
      const png = bytes(report.files, `${p}.png`);
      expect([...png.subarray(0, 8)], p).toEqual(PNG_SIGNATURE);
      const { width, height } = pngSize(png);
      expect(width, p).toBeGreaterThan(400);
      expect(width, p).toBeLessThan(3000);
      expect(height, p).toBeGreaterThan(300);
      expect(height, p).toBeLessThan(3000);
      expect(png.byteLength, p).toBeGreaterThan(10_000); // not a blank image
    }
    // Four parameter rows make the trace figure the tallest.
    expect(pngSize(bytes(report.files, "trace.png")).height).toBeGreaterThan(pngSize(bytes(report.files, "ppc.png")).height);
  });

  it("writes SVGs that parse, with the titles and axis labels in them", () => {
    for (const p of PLOTS) {
      const svg = text(report.files, `${p}.svg`);
      expect(svg.startsWith("<svg"), p).toBe(true);
      const tree = new Resvg(svg); // throws on malformed XML
      expect(tree.width, p).toBeGreaterThan(300);
    }
    const data = svgTexts(text(report.files, "data.svg"));
    expect(data).toEqual(expect.arrayContaining(["Training data", "x", "y", "category", "0", "1", "2"]));
    const trace = svgTexts(text(report.files, "trace.svg"));
    expect(trace).toEqual(expect.arrayContaining(["Trace plot", "beta[0]", "beta[1]", "beta[2]", "sigma", "chain", "draw"]));
    expect(trace.filter((t) => t === "sigma")).toHaveLength(2); // density and trace panels
    const pva = svgTexts(text(report.files, "predicted-vs-actual.svg"));
    expect(pva).toEqual(expect.arrayContaining(["Predicted vs actual", "actual y", "predicted y", "actual inside 94% HDI"]));
    const ppc = svgTexts(text(report.files, "ppc.svg"));
    expect(ppc).toEqual(expect.arrayContaining(["Posterior predictive check", "observed", "posterior predictive", "posterior predictive mean", "density"]));
    // No label was cut short by a width limit.
    for (const p of PLOTS) expect(svgTexts(text(report.files, `${p}.svg`)).join(" "), p).not.toContain("…");
  });

  it("draws the data: one mark per row, one trace line per chain and parameter, 50 replicated densities", () => {
    const data = text(report.files, "data.svg");
    expect(data.match(/<path[^>]*transform="translate/g)?.length).toBeGreaterThanOrEqual(1600);
    const trace = text(report.files, "trace.svg");
    // 4 parameters × 2 chains × (density + trace) line paths, each with many points.
    const longPaths = [...trace.matchAll(/ d="(M[^"]{2000,})"/g)];
    expect(longPaths.length).toBeGreaterThanOrEqual(16);
    // The replicated densities are one path of 50 sub-paths; the observed and mean curves are two more.
    const ppc = [...text(report.files, "ppc.svg").matchAll(/ d="(M[^"]{500,})"/g)].map((m) => m[1]);
    expect(ppc).toHaveLength(3);
    expect(Math.max(...ppc.map((d) => d.split("M").length - 1))).toBe(50);
  });

  it("writes one self-contained report.html with the verdict, metrics, summary table and every figure", () => {
    const html = text(report.files, "report.html");
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    has(html, `<title>${input.title}</title>`);
    expect(/https?:\/\//i.test(html)).toBe(false);
    expect(/(?:src|href)\s*=\s*(?!["']?(?:data:|#))/i.test(html)).toBe(false);
    expect(/<script|<link|@import|url\(/i.test(html)).toBe(false);
    has(html, 'class="gate pass"');
    has(html, "Quality gate passed");
    has(html, '<table class="summary">');
    for (const col of ["parameter", "mean", "sd", "hdi_3%", "hdi_97%", "ess_bulk", "ess_tail", "r_hat"]) {
      has(html, `>${col}</th>`);
    }
    for (const name of ["beta[0]", "beta[1]", "beta[2]", "sigma"]) has(html, `<th scope="row">${name}</th>`);
    has(html, "0.9993"); // posterior mean of beta[0]
    has(html, ">8827<"); // ESS rounded
    has(html, ">1.000<"); // R-hat to 3 decimals
    for (const m of ["mape", "rmse", "coverage_95", "crps"]) has(html, `>${m}</th>`);
    for (const k of ["version", "seed", "data_sha256"]) has(html, `>${k}</th>`);
    for (const p of PLOTS) {
      const fig = new RegExp(`<figure id="fig-${p}"><img src="data:image/svg\\+xml;base64,([A-Za-z0-9+/=]+)"`).exec(html);
      expect(fig, p).not.toBeNull();
      expect(Buffer.from(fig![1], "base64").toString("utf8")).toBe(report.files[`${p}.svg`]);
    }
  });

  it("reports how long rendering took", () => {
    // The target is well under 1.5 s (test/report/write-sample.ts measures it); no bound is asserted here because
    // the test machine is shared and wall-clock time under load says little.
    console.log(`renderReport (seed shape, after a warm-up): ${(seconds * 1000).toFixed(0)} ms`);
    expect(seconds).toBeGreaterThan(0);
  });
});

describe("renderReport edge cases", () => {
  it("shows a failed gate in red with every failure listed", async () => {
    const input = syntheticInput({ seed: 3, rows: 200, testRows: 50, draws: 300, replicates: 5, gatePassed: false });
    const html = (await renderReport(input)).files["report.html"] as string;
    has(html, 'class="gate fail"');
    has(html, "Quality gate failed");
    expect(html.includes("Quality gate passed")).toBe(false);
    for (const f of input.gate.failures) has(html, `<li>${f.replace(/>/g, "&gt;").replace(/</g, "&lt;")}</li>`);
  });

  it("copes with no test set, no category, a single chain, no replicates and non-finite values", async () => {
    const input = syntheticInput({ seed: 5, rows: 300, testRows: 0, draws: 400, chains: 1, replicates: 0 });
    input.data.category = null;
    input.data.y[3] = NaN;
    input.data.x[4] = Infinity;
    input.parameters[0].chains[0][10] = NaN;
    const report = await renderReport(input);
    expect(Object.keys(report.files)).toHaveLength(9);
    const pva = report.files["predicted-vs-actual.svg"] as string;
    expect(svgTexts(pva)).toContain("No held-out rows to score");
    const ppc = svgTexts(report.files["ppc.svg"] as string);
    expect(ppc).toContain("observed");
    expect(ppc.join(" ")).toContain("0 replicated datasets");
    expect(svgTexts(report.files["data.svg"] as string)).not.toContain("category");
    has(report.files["report.html"] as string, "No held-out metrics");
    for (const p of PLOTS) expect([...(report.files[`${p}.png`] as Uint8Array).subarray(0, 8)]).toEqual(PNG_SIGNATURE);
  });

  it("draws placeholders rather than failing when there is nothing to plot", async () => {
    const empty = new Float64Array(0);
    const input: ReportInput = {
      title: "empty",
      data: { x: empty, category: null, y: empty, xName: "x", yName: "y" },
      parameters: [],
      predictions: { actual: empty, mean: empty, lower: empty, upper: empty, hdiProb: 0.95 },
      ppc: { observed: empty, replicated: [] },
      summaryTable: [],
      gate: { passed: false, failures: [] },
      metrics: {},
      meta: {},
    };
    const report = await renderReport(input);
    expect(svgTexts(report.files["data.svg"] as string)).toContain("No data rows");
    expect(svgTexts(report.files["trace.svg"] as string)).toContain("No posterior draws");
    expect(svgTexts(report.files["ppc.svg"] as string)).toContain("No observed or replicated data");
    has(report.files["report.html"] as string, "Quality gate failed");
  });

  it("escapes text that comes from the input", async () => {
    const input = syntheticInput({ seed: 9, rows: 100, testRows: 20, draws: 200, replicates: 3, gatePassed: false });
    input.title = `<script>alert("x")</script> & co`;
    input.gate.failures = ["r_hat > 1.01 for <b>sigma</b>"];
    input.meta = { note: `"quoted" <tag>` };
    input.data.xName = "x <unit>";
    const report = await renderReport(input);
    const html = report.files["report.html"] as string;
    expect(html.includes("<script>")).toBe(false);
    has(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co");
    has(html, "r_hat &gt; 1.01 for &lt;b&gt;sigma&lt;/b&gt;");
    has(html, "&quot;quoted&quot; &lt;tag&gt;");
    expect(() => new Resvg(report.files["data.svg"] as string)).not.toThrow();
    expect(svgTexts(report.files["data.svg"] as string)).toContain("x &lt;unit&gt;");
  });

  it("caps the trace figure at maxTraceParameters and says so", async () => {
    const base = syntheticInput({ seed: 11, rows: 100, testRows: 20, draws: 200, replicates: 3 });
    const parameters = Array.from({ length: 6 }, (_, i) => ({ name: `theta[${i}]`, chains: base.parameters[i % 4].chains }));
    const report = await renderReport({ ...base, parameters }, { maxTraceParameters: 3 });
    const texts = svgTexts(report.files["trace.svg"] as string);
    expect(texts).toContain("theta[2]");
    expect(texts).not.toContain("theta[3]");
    expect(texts.join(" ")).toContain("first 3 of 6 parameters");
  });
});

describe("renderReport with PSIS-LOO and a comparison against the version serving", () => {
  it("adds the Pareto k̂ plot and the comparison, the better fit first as loo_compare orders them", async () => {
    const base = syntheticInput({ rows: 200, testRows: 40, draws: 200, replicates: 5 });
    const paretoK = Float64Array.from({ length: 160 }, (_, i) => (i === 17 ? 0.93 : i === 80 ? 0.61 : 0.1 + (i % 7) * 0.03));
    const input: ReportInput = {
      ...base,
      loo: { elpd: -176.9, se: 8.3, pLoo: 4.1, paretoK },
      gate: {
        passed: false,
        failures: ["predicts worse than 20261205T030009Z-9c2b41"],
        comparison: {
          against: "20261205T030009Z-9c2b41",
          rows: 40,
          elpd_new: -80.5,
          elpd_latest: -60.25,
          elpd_diff: -20.25,
          se_diff: 6.5,
          max_elpd_drop: 2,
          refused: true,
        },
      },
    };
    const report = await renderReport(input, { maxTracePoints: 200 });
    expect(Object.keys(report.files)).toEqual(expect.arrayContaining(["pareto-k.svg", "pareto-k.png"]));
    const k = svgTexts(text(report.files, "pareto-k.svg"));
    expect(k).toContain("PSIS-LOO diagnostics");
    has(k.join(" "), "160 training rows · elpd_loo -176.9 (SE 8.3) · p_loo 4.1 · 1 with 0.5 &lt; k̂ ≤ 0.7, 1 above 0.7"); // as the SVG escapes it
    const html = text(report.files, "report.html");
    has(
      html,
      "Against the version serving (20261205T030009Z-9c2b41) on 40 held-out rows of the new data — refused: more than 2 SE worse than 20261205T030009Z-9c2b41",
    );
    // The version serving first (difference 0), this fit second with the difference and its SE.
    expect(html.replace(/\s+/g, " ")).toMatch(
      /<th scope="row">20261205T030009Z-9c2b41<\/th><td class="num">0\.0<\/td><td class="num">0\.0<\/td><td class="num">-60\.3<\/td><\/tr> <tr><th scope="row">this fit<\/th><td class="num">-20\.3<\/td><td class="num">6\.5<\/td><td class="num">-80\.5<\/td>/,
    );
    has(html, 'id="fig-pareto-k"');
  });

  it("says when there was nothing to compare with", async () => {
    const input = syntheticInput({ rows: 50, testRows: 10, draws: 100, replicates: 3 });
    const html = text((await renderReport(input)).files, "report.html");
    has(html, "No version was serving: nothing to compare with.");
  });
});
