// Text widths for Vega's layout. Headless Vega (no canvas) guesses every character at 0.8 em, which makes titles,
// legends and axis titles take far more room than they do in the rendered PNG (truncated legend labels, blank margins).
// These are DejaVu Sans's advance widths in em (read from the font's hmtx table; DejaVu Sans is the font the PNG
// renderer loads), so layout matches what resvg draws. Kerning is ignored.
import * as vega from "vega";

type Widths = { ascii: number[]; latin1: number[]; extra: Record<number, number> };

// Code points 32..126, then 160..255, then a few others (dashes, minus, ellipsis, middle dot, ≤ ≥ ≈, ✔ ✘, arrows, Greek).
const REGULAR: Widths = {
  ascii: [
    0.3179, 0.4009, 0.46, 0.8379, 0.6362, 0.9502, 0.7798, 0.2749, 0.3901, 0.3901, 0.5, 0.8379, 0.3179, 0.3608, 0.3179, 0.3369, 0.6362, 0.6362, 0.6362, 0.6362,
    0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.6362, 0.3369, 0.3369, 0.8379, 0.8379, 0.8379, 0.5308, 1, 0.6841, 0.686, 0.6982, 0.77, 0.6318, 0.5752, 0.7749,
    0.752, 0.2949, 0.2949, 0.6558, 0.5571, 0.8628, 0.748, 0.7871, 0.603, 0.7871, 0.6948, 0.6348, 0.6108, 0.7319, 0.6841, 0.9888, 0.6851, 0.6108, 0.6851, 0.3901,
    0.3369, 0.3901, 0.8379, 0.5, 0.5, 0.6128, 0.6348, 0.5498, 0.6348, 0.6152, 0.3521, 0.6348, 0.6338, 0.2778, 0.2778, 0.5791, 0.2778, 0.9741, 0.6338, 0.6118,
    0.6348, 0.6348, 0.4111, 0.521, 0.3921, 0.6338, 0.5918, 0.8179, 0.5918, 0.5918, 0.5249, 0.6362, 0.3369, 0.6362, 0.8379,
  ],
  latin1: [
    0.3179, 0.4009, 0.6362, 0.6362, 0.6362, 0.6362, 0.3369, 0.5, 0.5, 1, 0.4712, 0.6118, 0.8379, 0.3608, 1, 0.5, 0.5, 0.8379, 0.4009, 0.4009, 0.5, 0.6362,
    0.6362, 0.3179, 0.5, 0.4009, 0.4712, 0.6118, 0.9692, 0.9692, 0.9692, 0.5308, 0.6841, 0.6841, 0.6841, 0.6841, 0.6841, 0.6841, 0.9741, 0.6982, 0.6318, 0.6318,
    0.6318, 0.6318, 0.2949, 0.2949, 0.2949, 0.2949, 0.7749, 0.748, 0.7871, 0.7871, 0.7871, 0.7871, 0.7871, 0.8379, 0.7871, 0.7319, 0.7319, 0.7319, 0.7319,
    0.6108, 0.605, 0.6299, 0.6128, 0.6128, 0.6128, 0.6128, 0.6128, 0.6128, 0.9819, 0.5498, 0.6152, 0.6152, 0.6152, 0.6152, 0.2778, 0.2778, 0.2778, 0.2778,
    0.6118, 0.6338, 0.6118, 0.6118, 0.6118, 0.6118, 0.6118, 0.8379, 0.6118, 0.6338, 0.6338, 0.6338, 0.6338, 0.5918, 0.6348, 0.5918,
  ],
  extra: {
    0x391: 0.6841,
    0x392: 0.686,
    0x393: 0.5571,
    0x394: 0.6841,
    0x395: 0.6318,
    0x396: 0.6851,
    0x397: 0.752,
    0x398: 0.7871,
    0x399: 0.2949,
    0x39a: 0.6558,
    0x39b: 0.6841,
    0x39c: 0.8628,
    0x39d: 0.748,
    0x39e: 0.6318,
    0x39f: 0.7871,
    0x3a0: 0.752,
    0x3a1: 0.603,
    0x3a3: 0.6318,
    0x3a4: 0.6108,
    0x3a5: 0.6108,
    0x3a6: 0.7871,
    0x3a7: 0.6851,
    0x3a8: 0.7871,
    0x3a9: 0.7642,
    0x3aa: 0.2949,
    0x3ab: 0.6108,
    0x3ac: 0.6592,
    0x3ad: 0.5405,
    0x3ae: 0.6338,
    0x3af: 0.3384,
    0x3b0: 0.5786,
    0x3b1: 0.6592,
    0x3b2: 0.6382,
    0x3b3: 0.5918,
    0x3b4: 0.6118,
    0x3b5: 0.5405,
    0x3b6: 0.5439,
    0x3b7: 0.6338,
    0x3b8: 0.6118,
    0x3b9: 0.3384,
    0x3ba: 0.5894,
    0x3bb: 0.5918,
    0x3bc: 0.6362,
    0x3bd: 0.5586,
    0x3be: 0.5576,
    0x3bf: 0.6118,
    0x3c0: 0.6021,
    0x3c1: 0.6348,
    0x3c2: 0.5869,
    0x3c3: 0.6338,
    0x3c4: 0.6021,
    0x3c5: 0.5786,
    0x3c6: 0.6597,
    0x3c7: 0.5776,
    0x3c8: 0.6597,
    0x3c9: 0.8374,
    0x2013: 0.5,
    0x2014: 1,
    0x2026: 1,
    0x2190: 0.8379,
    0x2192: 0.8379,
    0x2212: 0.8379,
    0x2248: 0.8379,
    0x2264: 0.8379,
    0x2265: 0.8379,
    0x2714: 0.8379,
    0x2718: 0.8379,
  },
};
const BOLD: Widths = {
  ascii: [
    0.3481, 0.4561, 0.521, 0.8379, 0.6958, 1.002, 0.8721, 0.3062, 0.457, 0.457, 0.5229, 0.8379, 0.3799, 0.415, 0.3799, 0.3652, 0.6958, 0.6958, 0.6958, 0.6958,
    0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.6958, 0.3999, 0.3999, 0.8379, 0.8379, 0.8379, 0.5801, 1, 0.7739, 0.7622, 0.7339, 0.8301, 0.6831, 0.6831, 0.8208,
    0.8369, 0.3721, 0.3721, 0.7749, 0.6372, 0.9951, 0.8369, 0.8501, 0.7329, 0.8501, 0.77, 0.7202, 0.6821, 0.812, 0.7739, 1.103, 0.771, 0.7241, 0.7251, 0.457,
    0.3652, 0.457, 0.8379, 0.5, 0.5, 0.6748, 0.7158, 0.5928, 0.7158, 0.6782, 0.4351, 0.7158, 0.7119, 0.3428, 0.3428, 0.665, 0.3428, 1.042, 0.7119, 0.687,
    0.7158, 0.7158, 0.4932, 0.5952, 0.478, 0.7119, 0.6519, 0.9238, 0.645, 0.6519, 0.582, 0.7119, 0.3652, 0.7119, 0.8379,
  ],
  latin1: [
    0.3481, 0.4561, 0.6958, 0.6958, 0.6362, 0.6958, 0.3652, 0.5, 0.5, 1, 0.564, 0.646, 0.8379, 0.415, 1, 0.5, 0.5, 0.8379, 0.438, 0.438, 0.5, 0.7358, 0.6362,
    0.3799, 0.5, 0.438, 0.564, 0.646, 1.0352, 1.0352, 1.0352, 0.5801, 0.7739, 0.7739, 0.7739, 0.7739, 0.7739, 0.7739, 1.085, 0.7339, 0.6831, 0.6831, 0.6831,
    0.6831, 0.3721, 0.3721, 0.3721, 0.3721, 0.8379, 0.8369, 0.8501, 0.8501, 0.8501, 0.8501, 0.8501, 0.8379, 0.8501, 0.812, 0.812, 0.812, 0.812, 0.7241, 0.7378,
    0.7192, 0.6748, 0.6748, 0.6748, 0.6748, 0.6748, 0.6748, 1.0479, 0.5928, 0.6782, 0.6782, 0.6782, 0.6782, 0.3428, 0.3428, 0.3428, 0.3428, 0.687, 0.7119,
    0.687, 0.687, 0.687, 0.687, 0.687, 0.8379, 0.687, 0.7119, 0.7119, 0.7119, 0.7119, 0.6519, 0.7158, 0.6519,
  ],
  extra: {
    0x391: 0.7739,
    0x392: 0.7622,
    0x393: 0.6372,
    0x394: 0.7739,
    0x395: 0.6831,
    0x396: 0.7251,
    0x397: 0.8369,
    0x398: 0.8501,
    0x399: 0.3721,
    0x39a: 0.7749,
    0x39b: 0.7739,
    0x39c: 0.9951,
    0x39d: 0.8369,
    0x39e: 0.6318,
    0x39f: 0.8501,
    0x3a0: 0.8369,
    0x3a1: 0.7329,
    0x3a3: 0.6831,
    0x3a4: 0.6821,
    0x3a5: 0.7241,
    0x3a6: 0.8501,
    0x3a7: 0.771,
    0x3a8: 0.8496,
    0x3a9: 0.8501,
    0x3aa: 0.3721,
    0x3ab: 0.7241,
    0x3ac: 0.687,
    0x3ad: 0.5566,
    0x3ae: 0.7119,
    0x3af: 0.3896,
    0x3b0: 0.6753,
    0x3b1: 0.687,
    0x3b2: 0.7158,
    0x3b3: 0.6812,
    0x3b4: 0.687,
    0x3b5: 0.5566,
    0x3b6: 0.5908,
    0x3b7: 0.7119,
    0x3b8: 0.687,
    0x3b9: 0.3896,
    0x3ba: 0.7104,
    0x3bb: 0.6328,
    0x3bc: 0.7358,
    0x3bd: 0.6812,
    0x3be: 0.5908,
    0x3bf: 0.687,
    0x3c0: 0.791,
    0x3c1: 0.7158,
    0x3c2: 0.5928,
    0x3c3: 0.7788,
    0x3c4: 0.6382,
    0x3c5: 0.6753,
    0x3c6: 0.7822,
    0x3c7: 0.645,
    0x3c8: 0.7939,
    0x3c9: 0.8691,
    0x2013: 0.5,
    0x2014: 1,
    0x2026: 1,
    0x2190: 0.8379,
    0x2192: 0.8379,
    0x2212: 0.8379,
    0x2248: 0.8379,
    0x2264: 0.8379,
    0x2265: 0.8379,
    0x2714: 0.8379,
    0x2718: 0.8379,
  },
};

/** Width of a character the tables lack: about an average DejaVu Sans glyph. */
const FALLBACK = 0.62;

function charWidth(table: Widths, code: number): number {
  if (code >= 32 && code <= 126) return table.ascii[code - 32];
  if (code >= 160 && code <= 255) return table.latin1[code - 160];
  return table.extra[code] ?? FALLBACK;
}

function isBold(weight: unknown): boolean {
  if (typeof weight === "number") return weight >= 600;
  return weight === "bold" || weight === "bolder" || (typeof weight === "string" && Number(weight) >= 600);
}

/** Width in pixels of `text` set in DejaVu Sans at `fontSize`, bold or not. */
export function textWidth(text: string, fontSize: number, bold = false): number {
  const table = bold ? BOLD : REGULAR;
  let em = 0;
  for (const ch of text) em += charWidth(table, ch.codePointAt(0) ?? 32);
  return em * fontSize;
}

/** The fields of a Vega text item that text measurement reads. */
interface TextItem {
  fontSize?: number | string;
  fontWeight?: number | string;
  limit?: number;
  ellipsis?: string;
}

interface VegaTextMetrics {
  width: (item: TextItem, text: unknown) => number;
}

function itemWidth(item: TextItem, text: unknown): number {
  const size = item.fontSize != null ? Number(item.fontSize) || 0 : 11;
  if (size <= 0 || text == null) return 0;
  const bold = isBold(item.fontWeight);
  let s = String(text).trim();
  // Vega truncates to item.limit with an ellipsis before drawing; measure what will be drawn.
  const limit = Number(item.limit);
  if (limit > 0 && s.length > 0 && textWidth(s, size, bold) >= limit) {
    const ellipsis = item.ellipsis ?? "\u2026";
    const room = limit - textWidth(ellipsis, size, bold);
    while (s.length > 0 && textWidth(s, size, bold) > room) s = s.slice(0, -1);
    s += ellipsis;
  }
  return textWidth(s, size, bold);
}

let installed = false;

/**
 * Make Vega measure text with DejaVu Sans's widths instead of its 0.8 em guess. Vega supports replacing
 * textMetrics.width for exactly this (vl-convert does the same); it is process-wide, and idempotent here.
 */
export function installTextMetrics(): void {
  if (installed) return;
  const metrics = (vega as unknown as { textMetrics?: VegaTextMetrics }).textMetrics;
  if (!metrics) return;
  metrics.width = itemWidth;
  installed = true;
}
