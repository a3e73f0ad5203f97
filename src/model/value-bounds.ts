// The range a value may take — a data input's declared bounds (`m.data("exposure", { lower: 0 })`), the support of
// an observed family (0/1 for a Bernoulli, counts for a Poisson) — and the one check of a number against it, used
// wherever values come in: bound data, CSV rows and prediction requests.

export interface ValueBounds {
  lower?: number;
  upper?: number;
  /** The lower bound itself is excluded (a log-normal value must be > 0). */
  lowerOpen?: boolean;
  upperOpen?: boolean;
  /** Whole numbers only. */
  integer?: boolean;
}

/** The bounds in words: "an integer ≥ 0", "a number in (0, 1)". */
export function describeBounds(b: ValueBounds): string {
  const what = b.integer === true ? "an integer" : "a number";
  const lo = b.lower !== undefined ? `${b.lowerOpen === true ? ">" : "≥"} ${b.lower}` : null;
  const hi = b.upper !== undefined ? `${b.upperOpen === true ? "<" : "≤"} ${b.upper}` : null;
  if (lo !== null && hi !== null) {
    if (b.integer === true && b.lowerOpen !== true && b.upperOpen !== true) return `an integer in ${b.lower}..${b.upper}`;
    return `${what} in ${b.lowerOpen === true ? "(" : "["}${b.lower}, ${b.upper}${b.upperOpen === true ? ")" : "]"}`;
  }
  return lo !== null ? `${what} ${lo}` : hi !== null ? `${what} ${hi}` : what;
}

/** Why v is outside the bounds (a phrase to follow the value), or null when it is inside. NaN is never inside. */
export function boundsProblem(b: ValueBounds, v: number): string | null {
  const inside =
    (b.integer !== true || Number.isInteger(v)) &&
    (b.lower === undefined || (b.lowerOpen === true ? v > b.lower : v >= b.lower)) &&
    (b.upper === undefined || (b.upperOpen === true ? v < b.upper : v <= b.upper)) &&
    v === v;
  return inside ? null : `must be ${describeBounds(b)}`;
}

/** Both sets of bounds at once: the tighter bound on each side. */
export function intersectBounds(a: ValueBounds, b: ValueBounds): ValueBounds {
  const out: ValueBounds = {};
  if (a.integer === true || b.integer === true) out.integer = true;
  const lowers = [a, b].filter((x) => x.lower !== undefined);
  if (lowers.length > 0) {
    const tight = lowers.reduce((p, q) => ((q.lower as number) > (p.lower as number) || (q.lower === p.lower && q.lowerOpen === true) ? q : p));
    out.lower = tight.lower;
    if (tight.lowerOpen === true) out.lowerOpen = true;
  }
  const uppers = [a, b].filter((x) => x.upper !== undefined);
  if (uppers.length > 0) {
    const tight = uppers.reduce((p, q) => ((q.upper as number) < (p.upper as number) || (q.upper === p.upper && q.upperOpen === true) ? q : p));
    out.upper = tight.upper;
    if (tight.upperOpen === true) out.upperOpen = true;
  }
  return out;
}
