// Vega-Lite spec → Vega → SVG (headless, renderer "none") → PNG through resvg. No canvas, no browser.
import { existsSync } from "node:fs";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { renderAsync, type ResvgRenderOptions } from "@resvg/resvg-js";
import { installTextMetrics } from "./text-metrics.js";

installTextMetrics();

export interface CompiledSpec {
  vega: vega.Spec;
  /** Warnings from the Vega-Lite compiler (an empty list for a clean spec). */
  warnings: string[];
}

export interface RenderedPlot {
  svg: string;
  png: Uint8Array;
  /** PNG size in pixels. */
  width: number;
  height: number;
}

export interface RenderPlotOptions {
  /** PNG pixels per SVG unit. Default 1.25. */
  pngScale?: number;
  /** Font files for resvg. Default: DejaVu Sans if found (see defaultFontFiles), else every system font. */
  fontFiles?: string[];
}

/** Collects log messages instead of printing them. */
function collectingLogger(sink: string[]): vega.LoggerInterface {
  const base = vega.logger(vega.Warn);
  const collect = (...args: readonly unknown[]): void => {
    sink.push(args.map(String).join(" "));
  };
  return Object.assign(base, {
    warn: (...args: readonly unknown[]) => (collect(...args), base),
    error: (...args: readonly unknown[]) => (collect("error:", ...args), base),
  }) as vega.LoggerInterface;
}

/** Compile a Vega-Lite spec to Vega. Throws on an invalid spec; warnings are returned, not printed. */
export function compileSpec(spec: TopLevelSpec): CompiledSpec {
  const warnings: string[] = [];
  const { spec: vg } = compile(spec, { logger: collectingLogger(warnings) });
  return { vega: vg, warnings };
}

/** Vega-Lite spec → standalone SVG text. */
export async function specToSvg(spec: TopLevelSpec): Promise<string> {
  const { vega: vg } = compileSpec(spec);
  const warnings: string[] = [];
  const view = new vega.View(vega.parse(vg), { renderer: "none", logger: collectingLogger(warnings) });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT_CANDIDATES = [
  // Debian / Ubuntu fonts-dejavu-core
  "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
  // Fedora / Arch / Alpine
  "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/TTF/DejaVuSans.ttf",
  "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans.ttf",
  "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
];

let cachedFonts: string[] | undefined;

/** DejaVu Sans (regular and bold) where installed; an empty list means "fall back to every system font". */
export function defaultFontFiles(): string[] {
  cachedFonts ??= FONT_CANDIDATES.filter((f) => existsSync(f));
  return cachedFonts;
}

function resvgOptions(options: RenderPlotOptions): ResvgRenderOptions {
  const files = options.fontFiles ?? defaultFontFiles();
  return {
    background: "white",
    fitTo: { mode: "zoom", value: options.pngScale ?? 1.25 },
    font:
      files.length > 0
        ? {
            // Loading two named files is much faster than scanning every system font for each image.
            loadSystemFonts: false,
            fontFiles: files,
            defaultFontFamily: "DejaVu Sans",
            sansSerifFamily: "DejaVu Sans",
          }
        : { loadSystemFonts: true },
    logLevel: "off",
  };
}

/** SVG text → PNG bytes, on a white background. Runs on libuv's thread pool. */
export async function svgToPng(svg: string, options: RenderPlotOptions = {}): Promise<{ png: Uint8Array; width: number; height: number }> {
  const image = await renderAsync(svg, resvgOptions(options));
  const png = image.asPng();
  return { png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), width: image.width, height: image.height };
}

/** Vega-Lite spec → SVG and PNG. */
export async function renderPlot(spec: TopLevelSpec, options: RenderPlotOptions = {}): Promise<RenderedPlot> {
  const svg = await specToSvg(spec);
  const { png, width, height } = await svgToPng(svg, options);
  return { svg, png, width, height };
}
