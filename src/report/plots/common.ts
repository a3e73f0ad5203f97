import type { Config, TopLevelSpec } from "vega-lite";

/** The font the figures ask for; DejaVu Sans is what the PNG renderer loads (see render.ts). */
export const FONT = "DejaVu Sans, Verdana, Arial, sans-serif";

/** ArviZ / matplotlib "tab10" colours, so chains look as they do in az.plot_trace. */
export const TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** matplotlib "tab20"'s light shades, in tab10's order: the colours of a category's 11th to 20th levels. */
export const TAB10_LIGHT = ["#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"];

/** Most levels of a category told apart by colour: beyond them colours would repeat, and two levels look one. */
export const MAX_COLOURED_LEVELS = TAB10.length + TAB10_LIGHT.length;

export const BASE_CONFIG: Config = {
  // No per-mark ARIA labels: for thousands of points they dominate both Vega's work and the SVG's size. The report
  // page gives every figure an alt text instead.
  aria: false,
  font: FONT,
  background: "white",
  padding: 12,
  view: { stroke: "#bbbbbb" },
  axis: {
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: "normal",
    gridColor: "#eeeeee",
    domainColor: "#666666",
    tickColor: "#666666",
  },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: "normal", labelLimit: 300, symbolOpacity: 1 },
  title: { fontSize: 15, subtitleFontSize: 11, subtitleColor: "#555555", anchor: "start", offset: 10 },
  range: { category: TAB10 },
};

/** A figure with no data to show: a framed box with a message, same size as the real thing. */
export function placeholderSpec(title: string, message: string, width = 480, height = 300): TopLevelSpec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width,
    height,
    data: { values: [{ message }] },
    mark: { type: "text", fontSize: 14, color: "#555555" },
    encoding: {
      text: { field: "message", type: "nominal" },
      x: { value: width / 2 },
      y: { value: height / 2 },
    },
    config: BASE_CONFIG,
  };
}

/** Round for compact inline data (the values end up in the SVG path strings, so fewer digits is smaller and faster). */
export function round(v: number, digits = 6): number {
  return Number(v.toPrecision(digits));
}
