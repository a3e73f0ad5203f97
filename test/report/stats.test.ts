import { describe, expect, it } from "vitest";
import { commonGrid, gridPoint, kde, silvermanBandwidth, thinIndices } from "../../src/report/stats.js";
import { textWidth } from "../../src/report/text-metrics.js";
import { formatValue } from "../../src/report/html.js";
import { normal, rng } from "./fixture.js";

describe("kde", () => {
  const z = normal(rng(1));
  const sample = Float64Array.from({ length: 20_000 }, () => 3 + 2 * z());
  const bw = silvermanBandwidth(sample);
  const grid = commonGrid([sample], [bw], 400)!;
  const d = kde(sample, grid, bw);

  it("integrates to 1 and peaks at the mode", () => {
    const dx = (grid.hi - grid.lo) / (grid.n - 1);
    const area = d.reduce((s, v) => s + v, 0) * dx;
    expect(area).toBeCloseTo(1, 2);
    const peak = d.indexOf(Math.max(...d));
    expect(gridPoint(grid, peak)).toBeCloseTo(3, 0);
    expect(Math.max(...d)).toBeCloseTo(1 / (2 * Math.sqrt(2 * Math.PI)), 1.5);
  });

  it("uses Silverman's bandwidth", () => {
    expect(bw).toBeCloseTo(0.9 * 2 * 20_000 ** -0.2, 1);
  });

  it("survives degenerate samples", () => {
    const flat = new Float64Array(10).fill(4);
    const g = commonGrid([flat], [silvermanBandwidth(flat)], 50)!;
    expect(g.hi).toBeGreaterThan(g.lo);
    expect(kde(flat, g).every(Number.isFinite)).toBe(true);
    expect(commonGrid([new Float64Array(0)], [1], 50)).toBeNull();
  });
});

describe("helpers", () => {
  it("thinIndices keeps at most max evenly spaced items", () => {
    expect(thinIndices(10, 100)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(thinIndices(5000, 1000)).toHaveLength(1000);
    expect(thinIndices(5001, 1000).length).toBeLessThanOrEqual(1000);
  });

  it("textWidth uses DejaVu Sans advance widths", () => {
    expect(textWidth("A", 10)).toBeCloseTo(6.841, 3);
    expect(textWidth("A", 10, true)).toBeCloseTo(7.739, 3);
    expect(textWidth("beta[0]", 12)).toBeLessThan(0.8 * 7 * 12);
  });

  it("formatValue formats table cells", () => {
    expect(formatValue("mean", 0.99931234)).toBe("0.9993");
    expect(formatValue("sd", 0.0058)).toBe("0.0058");
    expect(formatValue("mcse_mean", 0.00005)).toBe("5e-5");
    expect(formatValue("ess_bulk", 8827.4)).toBe("8827");
    expect(formatValue("r_hat", 1.0004)).toBe("1.000");
    expect(formatValue("rows", 1600)).toBe("1600");
    expect(formatValue("x", NaN)).toBe("NaN");
    expect(formatValue("version", "v1")).toBe("v1");
  });
});

describe("the PNG renderer's font", () => {
  it("finds DejaVu Sans and draws text with it", async () => {
    const { defaultFontFiles, svgToPng } = await import("../../src/report/render.js");
    const { Resvg } = await import("@resvg/resvg-js");
    const files = defaultFontFiles();
    // Debian's fonts-dejavu-core; without it resvg falls back to scanning every system font.
    expect(
      files.some((f) => f.endsWith("DejaVuSans.ttf")),
      "DejaVu Sans not found: install fonts-dejavu-core",
    ).toBe(true);
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="30"><text x="4" y="22" font-family="DejaVu Sans" font-size="20">Trace</text></svg>';
    const { png, width, height } = await svgToPng(svg, { pngScale: 1 });
    expect([width, height]).toEqual([120, 30]);
    // Decode the PNG again and count dark pixels: text drawn means some.
    const pixels = new Resvg(
      `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="120" height="30"><image width="120" height="30" xlink:href="data:image/png;base64,${Buffer.from(png).toString("base64")}"/></svg>`,
    ).render().pixels;
    let dark = 0;
    for (let i = 0; i < pixels.length; i += 4) if (pixels[i] < 128 && pixels[i + 3] > 0) dark++;
    expect(dark).toBeGreaterThan(50);
  });
});
